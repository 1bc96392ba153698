"""The provincial ledger of surplus quota (台账, article 14): what each county produced, transferred (to whom, how
much, at what price) and has left, and what each using county received and from whom.

Plain DataFrames; `planner.export` only writes them. The small text helpers at the end (`fixed`, `display_names`)
are the ledger's way of printing quantities and county names; the exported documents print them the same way, so
a figure reads identically in the ledger, the agreements and the report.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner import schema
from planner.i18n import choice_label, has_key, t

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
    for rec in scn.counties.drop_duplicates("code").to_dict("records"):
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
        if produced > TOL and rec.get("poverty_class") not in schema.SELLER_CLASSES:
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
    """A cell as a float; `default` for blank or non-numeric."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(x) else x


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
    """The indicator change of a pairing that uses plan adjustment (article 6 ¶2, 10(五)), worded the same in the
    ledger, the agreements, the report and the workbook: 调减<产生县>建设用地总规模 X 亩、相应调增<使用县> X 亩."""
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
