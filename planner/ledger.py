"""The provincial ledger of surplus quota (台账, article 14): what each county produced, transferred (to whom, how
much, at what price) and has left, and what each using county received and from whom.

Plain DataFrames; `planner.export` only writes them. The small text helpers at the end (`fixed`, `display_names`)
are the ledger's way of printing quantities and county names; the exported documents print them the same way, so
a figure reads identically in the ledger, the agreements and the report.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import schema
from planner.csvio import parse_number
from planner.i18n import choice_label, has_key, t
from planner.model.market import supply_counties
from planner.model.rounding import rounding_residue_mu

TOL = 1e-6
LEDGER_COLUMNS = ["code", "name", "prefecture", "poverty_class", "produced_mu", "transferred_mu", "transferred_wan",
                  "remaining_mu", "partners_out", "transferred_to", "demand_mu", "received_mu", "received_wan",
                  "partners_in", "received_from", "plan_adjustment_mu", "note"]


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def _flow_text(rows: list[dict], partner: str, names: dict[str, str], lang: str, sep: str | None = None) -> str:
    parts = []
    for r in sorted(rows, key=lambda r: -r["quota_mu"]):
        parts.append(t("ledger.flow", lang, who=names.get(str(r[partner]), str(r[partner])), quota=fixed(r["quota_mu"]),
                       price=fixed(r["price_wan_per_mu"]), amount=fixed(r["amount_wan"])))
    return (sep or t("ledger.flow_sep", lang)).join(parts)


def _remaining(produced: float, transferred: float) -> float:
    """produced − transferred; the solver's last-digit noise (a few 1e-6 亩 oversold) shows as 0, not −0.00."""
    left = round(produced - transferred, 6)
    return 0.0 if -1e-4 < left <= 0 else left


def ledger(scn, result, lang: str = "zh", sep: str | None = None) -> pd.DataFrame:
    """The provincial ledger (台账, article 14): one row per county that produces, wants or moves quota, then a
    totals row. For every county produced_mu = transferred_mu + remaining_mu; transferred_to / received_from say
    to whom and from whom, how much and at what price (partners joined by `sep`, default "；" / "; ")."""
    lang = _lang(lang)
    p = result.pairings
    names = display_names(scn)
    out_groups: dict[str, list[dict]] = {}
    in_groups: dict[str, list[dict]] = {}
    for r in p.to_dict("records"):
        out_groups.setdefault(str(r["seller_code"]), []).append(r)
        in_groups.setdefault(str(r["buyer_code"]), []).append(r)
    rows = []
    # with lots.csv, a county's surplus is the net quota of its saleable lots
    for rec in supply_counties(scn).drop_duplicates("code").to_dict("records"):
        code = str(rec["code"])
        produced = number(rec.get("surplus_mu"))
        demand = number(rec.get("demand_mu"))
        out = out_groups.get(code, [])
        inn = in_groups.get(code, [])
        if produced <= TOL and demand <= TOL and not out and not inn:
            continue
        transferred = float(sum(r["quota_mu"] for r in out))
        adj = float(sum(number(r["plan_adjustment_mu"]) for r in out))
        notes = []
        if produced > TOL and not schema.may_sell_provincewide(rec.get("poverty_class")):
            notes.append(t("ledger.note_not_eligible", lang))
        changes = [plan_adjustment_sentence(names.get(code, code), names.get(str(r["buyer_code"]), r["buyer_code"]),
                                            r["plan_adjustment_mu"], lang)
                   for r in out if number(r["plan_adjustment_mu"]) > 0]
        if changes:
            notes.append(t("ledger.note_plan_adjusted", lang, changes=t("ledger.flow_sep", lang).join(changes)))
        rows.append({
            "code": code, "name": text(rec.get("name")), "prefecture": text(rec.get("prefecture")),
            "poverty_class": rec.get("poverty_class", "none"),
            "produced_mu": produced, "transferred_mu": transferred,
            "transferred_wan": float(sum(r["amount_wan"] for r in out)),
            "remaining_mu": _remaining(produced, transferred),
            "partners_out": int(len(out)), "transferred_to": _flow_text(out, "buyer_code", names, lang, sep),
            "demand_mu": demand, "received_mu": float(sum(r["quota_mu"] for r in inn)),
            "received_wan": float(sum(r["amount_wan"] for r in inn)), "partners_in": int(len(inn)),
            "received_from": _flow_text(inn, "seller_code", names, lang, sep),
            "plan_adjustment_mu": adj, "note": " ".join(notes),
        })
    df = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    total = {c: float(df[c].sum()) for c in ("produced_mu", "transferred_mu", "transferred_wan", "remaining_mu",
                                              "demand_mu", "received_mu", "received_wan", "plan_adjustment_mu")}
    n_pairs = int(len(p))
    total.update({
        "code": t("ledger.total_code", lang), "name": t("ledger.total_name", lang),
        "prefecture": "", "poverty_class": "",
        "partners_out": n_pairs, "partners_in": n_pairs,
        "transferred_to": t("ledger.total_pairings", lang, n=n_pairs), "received_from": "",
        "note": t("ledger.total_note", lang, producing=int((df["produced_mu"] > TOL).sum()),
                  using=int((df["demand_mu"] > TOL).sum())),
    })
    df = pd.concat([df, pd.DataFrame([total], columns=LEDGER_COLUMNS)], ignore_index=True)
    for c in ("partners_out", "partners_in"):
        df[c] = df[c].astype(int)
    return df


def ledger_view(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The ledger with headers (field.<name>) and poverty classes in `lang`, for the localised CSV."""
    lang = _lang(lang)
    out = df.copy()
    out["poverty_class"] = [choice_label("poverty_class", text(v), lang) for v in out["poverty_class"]]
    return out.rename(columns={c: t(f"field.{c}", lang) if has_key(f"field.{c}", lang) else c for c in out.columns})


# --------------------------------------------------------------------------- how quantities and counties read

def blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(float(value)):
        return True
    return isinstance(value, str) and not value.strip()


def number(value, default: float = 0.0) -> float:
    """A cell as a float; `default` for blank, non-numeric or ambiguous text (the one reading: csvio.parse_number)."""
    if isinstance(value, float):
        return default if not math.isfinite(value) else value
    try:
        x = parse_number(value)
    except (TypeError, ValueError):
        return default
    return default if x is None else x


def text(value) -> str:
    return "" if blank(value) else str(value).strip()


def fixed(x, decimals: int = 2) -> str:
    """Thousands separators and fixed decimals, as staff print 亩 and 万元; '—' for blank; never '-0.00'."""
    x = number(x, math.nan)
    if math.isnan(x):
        return "—"
    if abs(x) < 0.5 * 10 ** -decimals:
        x = 0.0
    return f"{x:,.{decimals}f}"


def plan_adjustment_sentence(seller: str, buyer: str, mu, lang: str = "zh") -> str:
    """The indicator change of a pairing that uses plan adjustment (article 6 ¶2, 10(五)), worded the same in
    the ledger, the agreements, the report and the workbook: 调减<产生县>建设用地总规模 X 亩、相应调增<使用县> X 亩."""
    return t("ledger.plan_adjustment", _lang(lang), seller=seller, buyer=buyer, mu=fixed(mu))


def display_names(scn) -> dict[str, str]:
    """County name, with the code added where the name is blank or shared by several counties."""
    c = scn.counties.drop_duplicates("code")
    names = [text(n) for n in c["name"]]
    counts = pd.Series(names).value_counts().to_dict()
    out = {}
    for code, name in zip(c["code"], names):
        if not name:
            out[str(code)] = str(code)
        else:
            out[str(code)] = name if counts.get(name, 0) == 1 else f"{name}（{code}）"
    return out


__all__ = ["LEDGER_COLUMNS", "ledger", "ledger_view", "fixed", "number", "text", "blank", "display_names",
           "plan_adjustment_sentence"]


# --------------------------------------------------------------------------- the quota ledger over the years
#
# Lots (articles 8, 14, 20, 23), deals and payments (article 16) and the years up to the measures' expiry (article
# 27): what the province's ledger keeps by lot, reconciled per county. All figures in 亩 and 万元, to 0.01.

LOT_LEDGER_COLUMNS = ["lot_id", "county_code", "county_name", "project_area", "approval_no", "status", "ready_year",
                      "area_mu", "used_locally_mu", "reserved_rural_mu", "turnover_owed_mu", "net_mu", "saleable",
                      "sold_mu", "remaining_mu"]
RECONCILIATION_COLUMNS = ["county_code", "county_name", "lots", "produced_mu", "used_locally_mu", "reserved_rural_mu",
                          "turnover_owed_mu", "net_mu", "not_saleable_mu", "saleable_mu", "sold_mu", "remaining_mu",
                          "unsold_saleable_mu", "difference_mu"]
DEAL_LEDGER_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "agreed_mu", "price_wan_per_mu",
                       "amount_wan", "year", "status", "filed_date", "filing_status", "in_plan", "planned_mu"]
PAYMENT_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "milestone", "share", "due_year",
                   "due_wan", "paid_wan", "outstanding_wan", "overdue", "paid_date", "deal_found"]
PAYMENT_DEAL_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "amount_wan", "scheduled_share",
                        "due_wan", "paid_wan", "outstanding_wan", "overdue_wan"]
PAYMENT_COUNTY_COLUMNS = ["county_code", "county_name", "receivable_wan", "received_wan", "outstanding_in_wan",
                          "overdue_in_wan", "payable_wan", "paid_out_wan", "outstanding_out_wan", "overdue_out_wan"]
TIMELINE_STATUS_COLUMNS = [f"ready_{s}_mu" for s in schema.LOT_STATUSES]
TIMELINE_COLUMNS = ["year", *TIMELINE_STATUS_COLUMNS, "saleable_ready_mu", "sold_mu", "deal_mu", "remaining_mu"]
EXPIRY_COLUMNS = ["county_code", "county_name", "end_year", "saleable_mu", "sold_mu", "unsold_mu"]
FILED_STATUSES = ("signed", "filed")  # a pairs.csv row in one of these is a deal (article 16)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _mu(x) -> float:
    return float(np.round(float(x), 2)) + 0.0


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df))
    return pd.to_numeric(df[name], errors="coerce").fillna(0.0).to_numpy(dtype=float)


def _lots(scn) -> pd.DataFrame:
    lots = getattr(scn, "lots", None)
    return lots if isinstance(lots, pd.DataFrame) else pd.DataFrame(columns=[c.name for c in schema.LOT_COLUMNS])


def _horizon(scn, result) -> tuple[int, int] | None:
    hz = getattr(result, "horizon", None)
    if hz is not None:
        return int(hz[0]), int(hz[1])
    from planner.model.market import horizon

    h = horizon(scn)
    return None if h is None else (h.start, h.end)


def _sold_by_lot(scn, result, lots: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(sold, saleable) per row of scn.lots, read from result.lots by position (they are built in that order)."""
    res = getattr(result, "lots", None)
    sold, saleable = np.zeros(len(lots)), np.zeros(len(lots), dtype=bool)
    if isinstance(res, pd.DataFrame) and len(res) == len(lots):
        sold = pd.to_numeric(res["sold_mu"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        saleable = res["saleable"].fillna(False).to_numpy(dtype=bool)
    return sold, saleable


def _years_split(lots: pd.DataFrame, sold: np.ndarray, pairings: pd.DataFrame, years: list[int]) -> np.ndarray:
    """Sold per lot and year (lots x years). The plan states quota per pair and year; a county's sales of a year are
    taken from its lots ready by then, first-ready first (always possible: a lot stays available once ready), so
    every lot's years add up to its sold quota and every county's lots to its sales of each year."""
    out = np.zeros((len(lots), len(years)))
    if not years or not len(lots) or "year" not in pairings.columns or pairings.empty:
        return out
    by = pairings.assign(seller_code=pairings["seller_code"].astype(str)).groupby(["seller_code", "year"])
    need = by["quota_mu"].sum().to_dict()
    ready = pd.to_numeric(lots["ready_year"], errors="coerce").to_numpy(dtype=float) \
        if "ready_year" in lots.columns else np.full(len(lots), np.nan)
    county = lots["county_code"].astype(str).to_numpy()
    left = sold.copy()
    for code in pd.unique(county[sold > 0]):
        idx = [i for i in np.nonzero((county == code) & (sold > 0))[0]]
        idx.sort(key=lambda i: (-math.inf if math.isnan(ready[i]) else ready[i], i))
        last = {}
        for j, year in enumerate(years):
            want = float(need.get((code, year), 0.0))
            for i in idx:
                if want <= 1e-9:
                    break
                if not (math.isnan(ready[i]) or ready[i] <= year) or left[i] <= 1e-9:
                    continue
                take = min(left[i], want)
                out[i, j] += take
                left[i] -= take
                want -= take
                last[i] = j
        for i in idx:  # what rounding left over stays with the lot, in the last year it sold (else its first)
            if left[i] > 1e-9:
                first = next((j for j, y in enumerate(years) if math.isnan(ready[i]) or ready[i] <= y), len(years) - 1)
                out[i, last.get(i, first)] += left[i]
    return np.round(out, 2) + 0.0


def lot_ledger(scn, result) -> pd.DataFrame:
    """The ledger by lot (台账, article 14): each project area's quota from its area to what is left, net =
    area − used locally − kept for rural use (article 20) − turnover owed (articles 14, 23), and net = sold +
    remaining; with a horizon, sold per year too (`sold_<year>_mu`). Empty without lots.csv."""
    from planner.model.market import lot_net_mu

    lots = _lots(scn)
    hz = _horizon(scn, result)
    years = list(range(hz[0], hz[1] + 1)) if hz else []
    columns = LOT_LEDGER_COLUMNS[:-1] + [f"sold_{y}_mu" for y in years] + ["remaining_mu"]
    if lots.empty:
        return pd.DataFrame(columns=columns)
    net = np.round(lot_net_mu(lots), 6)
    sold, saleable = _sold_by_lot(scn, result, lots)
    sold = np.where(np.abs(sold - net) < 0.01, np.minimum(sold, net), sold)  # 0.01 亩 of rounding never oversells
    names = display_names(scn)
    out = pd.DataFrame({
        "lot_id": lots["lot_id"].astype(str), "county_code": lots["county_code"].astype(str),
        "county_name": [names.get(str(c), str(c)) for c in lots["county_code"]],
        "project_area": [text(v) for v in lots.get("project_area", pd.Series([""] * len(lots)))],
        "approval_no": [text(v) for v in lots.get("approval_no", pd.Series([""] * len(lots)))],
        "status": lots["status"].astype(str),
        "ready_year": pd.to_numeric(lots.get("ready_year"), errors="coerce").astype("Int64"),
        "area_mu": _col(lots, "area_mu"), "used_locally_mu": _col(lots, "used_locally_mu"),
        "reserved_rural_mu": _col(lots, "reserved_rural_mu"), "turnover_owed_mu": _col(lots, "turnover_owed_mu"),
        "net_mu": net, "saleable": saleable, "sold_mu": sold})
    split = _years_split(lots, sold, getattr(result, "pairings", pd.DataFrame()), years)
    for j, y in enumerate(years):
        out[f"sold_{y}_mu"] = split[:, j]
    out["remaining_mu"] = np.round(net - sold, 6) + 0.0
    return out[columns].reset_index(drop=True)


def county_reconciliation(scn, result) -> pd.DataFrame:
    """Per producing county: produced (Σ area) = used locally + kept for rural use + turnover owed + sold +
    remaining, to the lot (`difference_mu` is 0). Without lots, a county's surplus_mu is what it produced."""
    led = lot_ledger(scn, result)
    names = display_names(scn)
    if led.empty:
        c = getattr(result, "counties", pd.DataFrame())
        if c is None or c.empty:
            return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
        c = c[c["surplus_mu"].fillna(0.0) > TOL]
        produced = c["surplus_mu"].fillna(0.0).to_numpy(dtype=float)
        sold = c["sold_mu"].fillna(0.0).to_numpy(dtype=float)
        saleable = np.where(c["eligible_seller"].to_numpy(dtype=bool), produced, 0.0)
        zero = np.zeros(len(c))
        out = pd.DataFrame({
            "county_code": c["code"].astype(str), "county_name": [names.get(str(x), str(x)) for x in c["code"]],
            "lots": zero.astype(int), "produced_mu": produced, "used_locally_mu": zero, "reserved_rural_mu": zero,
            "turnover_owed_mu": zero, "net_mu": produced, "not_saleable_mu": produced - saleable,
            "saleable_mu": saleable, "sold_mu": sold, "remaining_mu": np.round(produced - sold, 6) + 0.0,
            "unsold_saleable_mu": np.round(saleable - sold, 6) + 0.0})
    else:
        led = led.assign(saleable_net=np.where(led["saleable"], led["net_mu"], 0.0),
                         unsold_saleable=np.where(led["saleable"], led["remaining_mu"], 0.0))
        g = led.groupby("county_code", sort=False)
        out = g.agg(lots=("lot_id", "size"), produced_mu=("area_mu", "sum"), used_locally_mu=("used_locally_mu", "sum"),
                    reserved_rural_mu=("reserved_rural_mu", "sum"), turnover_owed_mu=("turnover_owed_mu", "sum"),
                    net_mu=("net_mu", "sum"), saleable_mu=("saleable_net", "sum"), sold_mu=("sold_mu", "sum"),
                    remaining_mu=("remaining_mu", "sum"), unsold_saleable_mu=("unsold_saleable", "sum")).reset_index()
        out["county_name"] = [names.get(str(x), str(x)) for x in out["county_code"]]
        out["not_saleable_mu"] = out["net_mu"] - out["saleable_mu"]
    parts = out[["used_locally_mu", "reserved_rural_mu", "turnover_owed_mu", "sold_mu", "remaining_mu"]].sum(axis=1)
    out["difference_mu"] = np.round(out["produced_mu"] - parts, 6) + 0.0
    for c in RECONCILIATION_COLUMNS[3:]:
        out[c] = np.round(out[c].astype(float), 6) + 0.0
    return out[RECONCILIATION_COLUMNS].reset_index(drop=True)


def filing_status(status: str, lang: str = "zh") -> str:
    """Where an agreement stands under article 16: signed, or filed with the prefecture and the province."""
    return t(f"qledger.filing.{status}", _lang(lang)) if status in FILED_STATUSES else ""


def deal_ledger(scn, result, lang: str = "zh") -> pd.DataFrame:
    """Every signed or filed agreement of pairs.csv (article 16): quantity, price, amount, year, filing status, and
    how much of it the plan carries (`planned_mu`; a deal needs agreed_mu > 0 to be fixed in the plan)."""
    pairs = getattr(scn, "pairs", pd.DataFrame())
    if pairs is None or pairs.empty or "status" not in pairs.columns:
        return pd.DataFrame(columns=DEAL_LEDGER_COLUMNS)
    deals = pairs[pairs["status"].isin(FILED_STATUSES)].copy()
    if deals.empty:
        return pd.DataFrame(columns=DEAL_LEDGER_COLUMNS)
    names = display_names(scn)
    p = getattr(result, "pairings", pd.DataFrame())
    planned, plan_price = {}, {}
    if p is not None and len(p):
        d = p[p["deal"].astype(bool)] if "deal" in p.columns else p.iloc[0:0]
        key = list(zip(d["seller_code"].astype(str), d["buyer_code"].astype(str)))
        for k, q, price in zip(key, d["quota_mu"], d["price_wan_per_mu"]):
            planned[k] = planned.get(k, 0.0) + float(q)
            plan_price[k] = float(price)
    rows = []
    for r in deals.to_dict("records"):
        k = (str(r["seller_code"]), str(r["buyer_code"]))
        mu = number(r.get("agreed_mu"), math.nan)
        price = number(r.get("agreed_price"), plan_price.get(k, math.nan))
        amount = round(mu * price, 2) if not (math.isnan(mu) or math.isnan(price)) else math.nan
        year = number(r.get("year"), math.nan)
        rows.append({"seller_code": k[0], "seller_name": names.get(k[0], k[0]), "buyer_code": k[1],
                     "buyer_name": names.get(k[1], k[1]), "agreed_mu": mu, "price_wan_per_mu": price,
                     "amount_wan": amount, "year": None if math.isnan(year) else int(year),
                     "status": r["status"], "filed_date": text(r.get("filed_date")),
                     "filing_status": filing_status(r["status"], lang), "in_plan": bool(mu > 0),
                     "planned_mu": _mu(planned.get(k, 0.0))})
    out = pd.DataFrame(rows, columns=DEAL_LEDGER_COLUMNS)
    out["year"] = out["year"].astype("Int64")
    return out


def current_year() -> int:
    """This year in Beijing time (the app's users are in Jilin, whatever the server's clock says)."""
    return dt.datetime.now(BEIJING).year


@dataclass
class PaymentLedger:
    """payments.csv against each deal: rows (one per instalment), per deal, per county; as of `as_of_year`."""

    rows: pd.DataFrame
    deals: pd.DataFrame
    counties: pd.DataFrame
    as_of_year: int


def payment_ledger(scn, result, as_of_year: int | None = None) -> PaymentLedger:
    """Due (share x the deal's agreed amount), paid, outstanding and overdue (due before `as_of_year` and not fully
    paid) per instalment, per deal and per county (article 16: payment in time). `as_of_year` defaults to this year
    in Beijing time, clipped to the horizon."""
    if as_of_year is None:
        as_of_year = current_year()
        hz = _horizon(scn, result)
        if hz is not None:
            as_of_year = min(max(as_of_year, hz[0]), hz[1])
    pay = getattr(scn, "payments", None)
    empty = PaymentLedger(pd.DataFrame(columns=PAYMENT_COLUMNS), pd.DataFrame(columns=PAYMENT_DEAL_COLUMNS),
                          pd.DataFrame(columns=PAYMENT_COUNTY_COLUMNS), int(as_of_year))
    if pay is None or pay.empty:
        return empty
    names = display_names(scn)
    deals = deal_ledger(scn, result)
    amount = {(s, b): a for s, b, a in zip(deals["seller_code"], deals["buyer_code"], deals["amount_wan"])}
    rows = []
    for r in pay.to_dict("records"):
        k = (str(r["seller_code"]), str(r["buyer_code"]))
        share = number(r.get("share"), math.nan)
        total = amount.get(k, math.nan)
        due = round(share * total, 2) if not (math.isnan(share) or math.isnan(total)) else math.nan
        paid = number(r.get("paid_wan"))
        outstanding = math.nan if math.isnan(due) else round(max(due - paid, 0.0), 2) + 0.0
        year = number(r.get("due_year"), math.nan)
        rows.append({"seller_code": k[0], "seller_name": names.get(k[0], k[0]), "buyer_code": k[1],
                     "buyer_name": names.get(k[1], k[1]), "milestone": r.get("milestone"), "share": share,
                     "due_year": None if math.isnan(year) else int(year), "due_wan": due, "paid_wan": paid,
                     "outstanding_wan": outstanding,
                     "overdue": bool(not math.isnan(year) and year < as_of_year and outstanding > 0.005),
                     "paid_date": text(r.get("paid_date")), "deal_found": k in amount})
    out = pd.DataFrame(rows, columns=PAYMENT_COLUMNS)
    out["due_year"] = out["due_year"].astype("Int64")
    od = out.assign(overdue_wan=np.where(out["overdue"], out["outstanding_wan"], 0.0))
    g = od.groupby(["seller_code", "buyer_code"], sort=False)
    per_deal = g.agg(scheduled_share=("share", "sum"), due_wan=("due_wan", "sum"), paid_wan=("paid_wan", "sum"),
                     outstanding_wan=("outstanding_wan", "sum"), overdue_wan=("overdue_wan", "sum")).reset_index()
    per_deal["seller_name"] = [names.get(c, c) for c in per_deal["seller_code"]]
    per_deal["buyer_name"] = [names.get(c, c) for c in per_deal["buyer_code"]]
    per_deal["amount_wan"] = [amount.get(k, math.nan) for k in zip(per_deal["seller_code"], per_deal["buyer_code"])]
    per_deal = per_deal[PAYMENT_DEAL_COLUMNS]
    money = ["due_wan", "paid_wan", "outstanding_wan", "overdue_wan"]
    inn = per_deal.groupby("seller_code")[money].sum()
    inn.columns = ["receivable_wan", "received_wan", "outstanding_in_wan", "overdue_in_wan"]
    outn = per_deal.groupby("buyer_code")[money].sum()
    outn.columns = ["payable_wan", "paid_out_wan", "outstanding_out_wan", "overdue_out_wan"]
    codes = list(dict.fromkeys([*per_deal["seller_code"], *per_deal["buyer_code"]]))
    counties = pd.concat([inn, outn], axis=1).reindex(codes).fillna(0.0)
    counties.index.name = "county_code"
    counties = counties.reset_index()
    counties["county_name"] = [names.get(c, c) for c in counties["county_code"]]
    for df in (per_deal, counties):
        for c in df.columns:
            if c.endswith("_wan"):
                df[c] = np.round(df[c].astype(float), 2) + 0.0
    return PaymentLedger(out, per_deal.reset_index(drop=True), counties[PAYMENT_COUNTY_COLUMNS], int(as_of_year))


def timeline(scn, result) -> pd.DataFrame:
    """Per year of the horizon: net quota becoming ready by lot status (quota ready before the start counts in the
    first year), saleable quota becoming ready, quota sold (of it in deals) and saleable quota unsold at the year's
    end. Without lots a county's surplus is ready in the first year; without a horizon the frame is empty."""
    hz = _horizon(scn, result)
    if hz is None:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    years = list(range(hz[0], hz[1] + 1))
    out = pd.DataFrame(0.0, index=pd.Index(years, name="year"), columns=TIMELINE_COLUMNS[1:])
    led = lot_ledger(scn, result)
    if len(led):
        ready = pd.to_numeric(led["ready_year"], errors="coerce").fillna(hz[0]).clip(lower=hz[0])
        for status, y, net, ok in zip(led["status"], ready, led["net_mu"], led["saleable"]):
            if y > hz[1]:
                continue  # ready only after the measures expire (article 27): never in the plan
            col = f"ready_{status}_mu"
            if col in out.columns:
                out.loc[int(y), col] += net
            if ok:
                out.loc[int(y), "saleable_ready_mu"] += net
    else:
        c = getattr(result, "counties", pd.DataFrame())
        if c is not None and len(c):
            out.loc[hz[0], "saleable_ready_mu"] = float(c.loc[c["eligible_seller"].astype(bool), "surplus_mu"].sum())
    p = getattr(result, "pairings", pd.DataFrame())
    if p is not None and len(p) and "year" in p.columns:
        y = pd.to_numeric(p["year"], errors="coerce")
        sold = p.groupby(y)["quota_mu"].sum()
        deal = p[p["deal"].astype(bool)].groupby(y[p["deal"].astype(bool)])["quota_mu"].sum() if "deal" in p.columns \
            else pd.Series(dtype=float)
        out["sold_mu"] = [float(sold.get(yr, 0.0)) for yr in years]
        out["deal_mu"] = [float(deal.get(yr, 0.0)) for yr in years]
    out["remaining_mu"] = (out["saleable_ready_mu"].cumsum() - out["sold_mu"].cumsum()).clip(lower=0.0)
    out = (np.round(out, 2) + 0.0).reset_index()
    out["year"] = out["year"].astype(int)
    return out[TIMELINE_COLUMNS]


def unsold_at_expiry(scn, result, residue: bool = False) -> pd.DataFrame:
    """Per producing county: saleable quota still unsold at the end of the horizon, when the measures expire
    (article 27) — quota the province must act on. Empty without a horizon or when everything sold.

    `residue`: instead, the counties left with a mere rounding residue, said apart and not warned about. Where a
    using county's quality balance (article 4(二)) binds at a fraction, no plan stated to 0.01 亩 may sell a lot to
    the last hundredth (planner.model.rounding states all it can); national-size plans left 0.01–0.04 亩 on 235 of
    1,557 lots. What counts as a residue is `rounding_residue_mu` of the county's pairing rows, as for its reason."""
    hz = _horizon(scn, result)
    if hz is None:
        return pd.DataFrame(columns=EXPIRY_COLUMNS)
    rec = county_reconciliation(scn, result)
    rows = result.pairings["seller_code"].astype(str).value_counts() if len(result.pairings) else pd.Series(dtype=int)
    limit = np.array([rounding_residue_mu(rows.get(str(c), 0)) for c in rec["county_code"]])
    small = rec["unsold_saleable_mu"].to_numpy(dtype=float) < limit - 1e-9
    rec = rec[(rec["unsold_saleable_mu"] > 0.005) & (small if residue else ~small)]
    out = pd.DataFrame({"county_code": rec["county_code"], "county_name": rec["county_name"], "end_year": hz[1],
                        "saleable_mu": rec["saleable_mu"], "sold_mu": rec["sold_mu"],
                        "unsold_mu": rec["unsold_saleable_mu"]}, columns=EXPIRY_COLUMNS)
    return out.sort_values("unsold_mu", ascending=False, kind="stable").reset_index(drop=True)


def residue_note(residue: pd.DataFrame, lang: str) -> str:
    """The one line that names the counties left with a mere rounding residue at expiry ('' when none)."""
    if residue.empty:
        return ""
    counties = t("ui.list_separator", lang).join(f"{r['county_name']} {fixed(r['unsold_mu'])} 亩"
                                                  for r in residue.to_dict("records"))
    return t("qledger.expiry_residue", lang, n=len(residue), counties=counties)


__all__ += ["LOT_LEDGER_COLUMNS", "RECONCILIATION_COLUMNS", "DEAL_LEDGER_COLUMNS", "TIMELINE_COLUMNS",
            "EXPIRY_COLUMNS", "PaymentLedger", "lot_ledger", "county_reconciliation", "deal_ledger", "filing_status",
            "payment_ledger", "current_year", "timeline", "unsold_at_expiry", "residue_note"]
