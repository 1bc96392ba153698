"""Files staff take away: formula-safe CSV for Chinese Excel, the Excel workbook, the transfer-agreement sheets
with the application-materials checklist, and the provincial ledger (台账).

Everything here returns bytes, text or DataFrames (no Streamlit), so the Export page and the command line share it.

- `csv_bytes(df)`: UTF-8 with BOM and CRLF (Excel on Chinese Windows opens it directly); text that a spreadsheet
  would run as a formula (=, +, -, @ ...) gets a leading apostrophe, so it stays visible text.
- `workbook_bytes(scn, result, allocation, comparison)`: one .xlsx with parameters, pairings, per-county summary
  with explanations, proceeds allocation, ledger, comparison, an audit sheet and one sheet per pairing agreement.
  No cell is ever a formula: text is written as string cells (formula-like text also gets Excel's quote prefix);
  totals are computed here and written as numbers.
- `agreement_markdown(scn, result, seller, buyer)`: the transfer-agreement sheet of one pairing (article 16) with
  the using county's application materials checklist (articles 9, 10); `agreements_zip` bundles one per pairing.
- `ledger(scn, result)`: produced, transferred (to whom, how much, at what price) and remaining quota per county,
  quota received per using county, and a totals row (article 14).
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner import schema

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_RISKY = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # a plain number, as Excel reads it ("-inf" is not)


def safe_cell(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe; numbers
    stay numbers. Text that already starts with apostrophes before such a character gets one more, so that
    `unsafe_cell` undoes exactly this and nothing else (a scenario folder round-trips whatever its cells hold)."""
    if isinstance(value, str) and _RISKY.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def unsafe_cell(text: str) -> str:
    """The inverse of `safe_cell` for text read back from a CSV this module wrote: "'=x" -> "=x", "''=x" -> "'=x"."""
    if isinstance(text, str) and text.startswith("'") and _RISKY.match(text[1:]):
        return text[1:]
    return text


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 6))
    return str(safe_cell(value) if isinstance(value, str) else value)


AUDIT_COLUMNS = {  # audit record key -> (zh header, en header)
    "scenario_name": ("审计_情景名称", "audit_scenario_name"),
    "scenario_hash": ("审计_情景指纹", "audit_scenario_hash"),
    "planner_version": ("审计_规划器版本", "audit_planner_version"),
    "solver": ("审计_求解器", "audit_solver"),
    "created_at": ("审计_生成时间", "audit_created_at"),
}


def with_audit(df: pd.DataFrame, audit: dict | None, lang: str = "en") -> pd.DataFrame:
    """The table with the audit record (planner.audit.audit_record) repeated in trailing columns, so a CSV that
    travels alone still says which inputs, planner version and solver produced it, and when."""
    if not audit:
        return df
    out = df.copy()
    for key, (zh, en) in AUDIT_COLUMNS.items():
        out[zh if lang == "zh" else en] = str(audit.get(key, ""))
    return out


def csv_bytes(df: pd.DataFrame, audit: dict | None = None, lang: str = "en") -> bytes:
    """UTF-8 with BOM, CRLF, formula-safe; with `audit`, the audit record in trailing columns."""
    df = with_audit(df, audit, lang)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([_cell(str(c)) for c in df.columns])
    for row in df.itertuples(index=False):
        w.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_csv(df: pd.DataFrame, path: Path, audit: dict | None = None) -> None:
    Path(path).write_bytes(csv_bytes(df, audit))


def write_json(obj, path: Path) -> None:
    Path(path).write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


# --------------------------------------------------------------------------- small helpers

TOL = 1e-6
CLASS_LABELS = {"national_key": ("国家扶贫开发重点县", "national key poverty county"),
                "provincial": ("省定片区县", "provincial poverty county"), "none": ("非贫困县", "not a poverty county")}
ROLE_LABELS = {"seller": ("出让县", "seller"), "buyer": ("使用县", "buyer"), "both": ("既出让又使用", "both"),
               "none": ("未参与", "none")}
MODE_LABELS = {"centralized": ("集中安置", "centralized"), "dispersed": ("分散安置", "dispersed"),
               "urban": ("进城安置", "urban"), "other": ("其他", "other")}


def _li(lang: str) -> int:
    return 1 if lang == "en" else 0


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(float(value)):
        return True
    return isinstance(value, str) and not value.strip()


def _num(value, default: float = 0.0) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(x) else x


def _text(value) -> str:
    return "" if _blank(value) else str(value).strip()


def _n(x, decimals: int = 2) -> str:
    """Thousands separators, fixed decimals ('—' for blank, '不限'/'open' is the caller's business)."""
    x = _num(x, math.nan)
    if math.isnan(x):
        return "—"
    if abs(x) < 0.5 * 10 ** -decimals:
        x = 0.0  # no "-0.00"
    return f"{x:,.{decimals}f}"


def _grade(value) -> str:
    x = _num(value, math.nan)
    if math.isnan(x):
        return ""
    return str(int(x)) if x.is_integer() else f"{x:g}"


def uses_plan_adjustment(mu) -> bool:
    """A pairing uses plan-indicator adjustment (article 6 ¶2, 10(5)) when its plan_adjustment_mu is above zero."""
    return _num(mu) > 0


def _county_info(scn) -> dict[str, dict]:
    c = scn.counties.drop_duplicates("code")
    return {str(r["code"]): r for r in c.to_dict("records")}


def _display_names(scn) -> dict[str, str]:
    """County name, with the code added where the name is blank or shared by several counties."""
    c = scn.counties.drop_duplicates("code")
    names = [_text(n) for n in c["name"]]
    counts = pd.Series(names).value_counts().to_dict()
    out = {}
    for code, name in zip(c["code"], names):
        if not name:
            out[str(code)] = str(code)
        else:
            out[str(code)] = name if counts.get(name, 0) == 1 else f"{name}（{code}）"
    return out


# --------------------------------------------------------------------------- column headers (units in headers)

# field -> (Chinese header, English header, kind); kind picks the number format and the column width rule.
HEADERS: dict[str, tuple[str, str, str]] = {
    "seq": ("序号", "No.", "int"),
    "code": ("代码", "Code", "code"),
    "name": ("县（市、区）", "County", "text"),
    "prefecture": ("市（州）", "Prefecture", "text"),
    "poverty_class": ("贫困县类别", "Poverty class", "text"),
    "role": ("角色", "Role", "text"),
    "eligible_seller": ("可省域内出让", "May sell province-wide", "text"),
    "seller_code": ("出让县代码", "Seller code", "code"),
    "seller_name": ("出让县", "Seller", "text"),
    "seller_prefecture": ("出让县所在市（州）", "Seller prefecture", "text"),
    "buyer_code": ("使用县代码", "Buyer code", "code"),
    "buyer_name": ("使用县", "Buyer", "text"),
    "buyer_prefecture": ("使用县所在市（州）", "Buyer prefecture", "text"),
    "quota_mu": ("流转指标（亩）", "Quota (亩)", "mu"),
    "price_wan_per_mu": ("价格（万元/亩）", "Price (万元/亩)", "price"),
    "amount_wan": ("金额（万元）", "Amount (万元)", "wan"),
    "plan_adjustment_mu": ("规划调整（亩）", "Plan adjustment (亩)", "mu"),
    "lo_price": ("价格区间下限（万元/亩）", "Band floor (万元/亩)", "price"),
    "hi_price": ("价格区间上限（万元/亩）", "Band ceiling (万元/亩)", "price"),
    "agreed": ("已商定价格", "Agreed price", "text"),
    "note": ("备注", "Note", "long"),
    "agreement_sheet": ("协议表", "Agreement sheet", "text"),
    "surplus_mu": ("节余指标（亩）", "Surplus (亩)", "mu"),
    "sold_mu": ("出让（亩）", "Sold (亩)", "mu"),
    "unsold_mu": ("未出让（亩）", "Unsold (亩)", "mu"),
    "proceeds_wan": ("流转收益（万元）", "Proceeds (万元)", "wan"),
    "demand_mu": ("需求（亩）", "Demand (亩)", "mu"),
    "bought_mu": ("购入（亩）", "Bought (亩)", "mu"),
    "unmet_mu": ("未满足（亩）", "Unmet (亩)", "mu"),
    "paid_wan": ("支付（万元）", "Paid (万元)", "wan"),
    "reason": ("说明", "Explanation", "long"),
    # ledger
    "produced_mu": ("节余指标（亩）", "Surplus produced (亩)", "mu"),
    "transferred_mu": ("流出（亩）", "Transferred out (亩)", "mu"),
    "transferred_wan": ("流出金额（万元）", "Transferred out (万元)", "wan"),
    "remaining_mu": ("结余（亩）", "Remaining (亩)", "mu"),
    "transferred_to": ("流向（使用县 亩数 价格 金额）", "Transferred to (buyer, 亩, price, amount)", "long"),
    "received_mu": ("流入（亩）", "Received (亩)", "mu"),
    "received_wan": ("流入支付（万元）", "Paid for received (万元)", "wan"),
    "received_from": ("来源（产生县 亩数 价格 金额）", "Received from (seller, 亩, price, amount)", "long"),
    "partners_out": ("流出对象数", "Buyers", "int"),
    "partners_in": ("来源县数", "Sellers", "int"),
    # proceeds
    "county_code": ("产生县代码", "Producing county code", "code"),
    "county_name": ("产生县", "Producing county", "text"),
    "group_id": ("搬迁组编号", "Group", "code"),
    "village": ("村", "Village", "text"),
    "resettlement_mode": ("安置方式", "Resettlement mode", "text"),
    "destination_code": ("安置地代码", "Destination code", "code"),
    "destination_name": ("安置地县", "Destination", "text"),
    "households": ("户数（户）", "Households", "int"),
    "persons": ("人数（人）", "Persons", "int"),
    "reclaimed_mu": ("复垦面积（亩）", "Reclaimed (亩)", "mu"),
    "household_wan": ("农户收益（万元）", "To households (万元)", "wan"),
    "collective_wan": ("村集体收益（万元）", "To collectives (万元)", "wan"),
    "total_wan": ("合计（万元）", "Total (万元)", "wan"),
    "per_person_wan": ("人均收益（万元/人）", "Per person (万元)", "per"),
    "per_household_wan": ("户均收益（万元/户）", "Per household (万元)", "per"),
    "gross_wan": ("流转收益（万元）", "Gross proceeds (万元)", "wan"),
    "reclamation_wan": ("复垦成本（万元）", "Reclamation (万元)", "wan"),
    "financing_wan": ("偿还搬迁融资（万元）", "Financing repaid (万元)", "wan"),
    "unallocated_wan": ("未分配（万元）", "Unallocated (万元)", "wan"),
    "groups": ("搬迁组数", "Groups", "int"),
    "from_elsewhere_wan": ("其中来自外县（万元）", "Of which from other counties (万元)", "wan"),
}


def header(field: str, lang: str = "zh") -> str:
    h = HEADERS.get(field)
    return h[_li(lang)] if h else field


# --------------------------------------------------------------------------- ledger (台账, article 14)

LEDGER_COLUMNS = ["code", "name", "prefecture", "poverty_class", "produced_mu", "transferred_mu", "transferred_wan",
                  "remaining_mu", "partners_out", "transferred_to", "demand_mu", "received_mu", "received_wan",
                  "partners_in", "received_from", "plan_adjustment_mu", "note"]
LEDGER_TOTAL_CODE = {"zh": "合计", "en": "TOTAL"}


def _flow_text(rows: list[dict], partner: str, names: dict[str, str], lang: str, sep: str | None = None) -> str:
    parts = []
    for r in sorted(rows, key=lambda r: -r["quota_mu"]):
        who = names.get(str(r[partner]), str(r[partner]))
        if lang == "en":
            parts.append(f"{who}: {_n(r['quota_mu'])} 亩 at {_n(r['price_wan_per_mu'])} 万元/亩 = "
                         f"{_n(r['amount_wan'])} 万元")
        else:
            parts.append(f"{who} {_n(r['quota_mu'])} 亩 × {_n(r['price_wan_per_mu'])} 万元/亩 = {_n(r['amount_wan'])} 万元")
    return (sep or ("; " if lang == "en" else "；")).join(parts)


def _remaining(produced: float, transferred: float) -> float:
    """produced − transferred; the solver's last-digit noise (a few 1e-6 亩 oversold) shows as 0, not −0.00."""
    left = round(produced - transferred, 6)
    return 0.0 if -1e-4 < left <= 0 else left


def ledger(scn, result, lang: str = "zh", sep: str | None = None) -> pd.DataFrame:
    """The provincial ledger (台账, article 14): one row per county that produces, wants or moves quota, then a
    totals row. For every county produced_mu = transferred_mu + remaining_mu; transferred_to / received_from say
    to whom and from whom, how much and at what price (partners joined by `sep`, default "；" / "; ")."""
    p = result.pairings
    names = _display_names(scn)
    out_groups: dict[str, list[dict]] = {}
    in_groups: dict[str, list[dict]] = {}
    for r in p.to_dict("records"):
        out_groups.setdefault(str(r["seller_code"]), []).append(r)
        in_groups.setdefault(str(r["buyer_code"]), []).append(r)
    rows = []
    for rec in scn.counties.drop_duplicates("code").to_dict("records"):
        code = str(rec["code"])
        produced = _num(rec.get("surplus_mu"))
        demand = _num(rec.get("demand_mu"))
        out = out_groups.get(code, [])
        inn = in_groups.get(code, [])
        if produced <= TOL and demand <= TOL and not out and not inn:
            continue
        transferred = float(sum(r["quota_mu"] for r in out))
        adj = float(sum(_num(r["plan_adjustment_mu"]) for r in out))
        notes = []
        if produced > TOL and rec.get("poverty_class") not in schema.SELLER_CLASSES:
            notes.append("Not a listed poverty county: its surplus cannot be transferred province-wide (article 2)."
                         if lang == "en" else "非国家扶贫开发重点县或省定片区县，节余指标不能在省域内流转（第二条）。")
        if adj > 0:
            notes.append(f"Plan indicators adjusted for {_n(adj)} 亩 (article 6 ¶2)." if lang == "en" else
                         f"协商调整规划主要指标 {_n(adj)} 亩（第六条第二款）。")
        rows.append({
            "code": code, "name": _text(rec.get("name")), "prefecture": _text(rec.get("prefecture")),
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
        "code": LEDGER_TOTAL_CODE["en" if lang == "en" else "zh"],
        "name": "Province" if lang == "en" else "全省",
        "prefecture": "", "poverty_class": "",
        "partners_out": n_pairs, "partners_in": n_pairs,
        "transferred_to": f"{n_pairs} pairings" if lang == "en" else f"共 {n_pairs} 对配对",
        "received_from": "",
        "note": (f"{int((df['produced_mu'] > TOL).sum())} producing and {int((df['demand_mu'] > TOL).sum())} using "
                 f"counties." if lang == "en" else
                 f"产生节余指标的县 {int((df['produced_mu'] > TOL).sum())} 个，有需求的县 "
                 f"{int((df['demand_mu'] > TOL).sum())} 个。"),
    })
    df = pd.concat([df, pd.DataFrame([total], columns=LEDGER_COLUMNS)], ignore_index=True)
    for c in ("partners_out", "partners_in"):
        df[c] = df[c].astype(int)
    return df


def ledger_view(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The ledger with headers and poverty classes in `lang` (for the localised CSV)."""
    out = df.copy()
    out["poverty_class"] = [CLASS_LABELS[v][_li(lang)] if v in CLASS_LABELS else _text(v) for v in out["poverty_class"]]
    return out.rename(columns={c: header(c, lang) for c in out.columns})


# --------------------------------------------------------------------------- agreements (articles 9, 10, 16, 17)

PLAN_ADJUSTMENT_CLAUSE = {
    "zh": "同意对本地土地利用总体规划主要指标进行调整",
    "en": "agrees to adjust the main indicators of its own land-use master plan",
}
NINE_PARTS = {  # article 9 (1)-(7): the new-construction implementation plan
    "zh": ("所在地经济社会发展概况", "建新区拟占地情况，包括位置、规模、地类、符合规划及耕地质量等级等情况",
           "建新区规划布局和建设进度安排", "节余指标情况，包括来源、规模、流转价格等", "投资估算与资金筹措",
           "土地利用总体规划实施影响评估，包括项目实施对耕地保有量、建设用地规模等指标的影响等内容", "规划实施保障措施"),
    "en": ("economic and social situation of the area",
           "land the new construction will occupy: location, size, land class, conformity with the plan and "
           "farmland quality grade",
           "layout and construction schedule of the new-construction area",
           "the surplus quota used: source, size, transfer price",
           "investment estimate and financing",
           "assessment of the effect on the land-use master plan, including cultivated-land retention and the "
           "construction-land total",
           "measures that secure the plan's implementation"),
}
CN_NUM = "一二三四五六七八九十"
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!$])")


def md_escape(text) -> str:
    """User text inside Markdown: no emphasis, links, HTML, tables or formulas (Streamlit renders $...$)."""
    return MD_SPECIAL.sub(r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", _text(text)))


def pairing_row(result, seller_code: str, buyer_code: str) -> dict:
    p = result.pairings
    hit = p[(p["seller_code"].astype(str) == str(seller_code)) & (p["buyer_code"].astype(str) == str(buyer_code))]
    if hit.empty:
        raise KeyError(f"no recommended pairing {seller_code} -> {buyer_code}")
    return hit.iloc[0].to_dict()


@dataclass
class Block:
    """One element of an agreement sheet, rendered to Markdown or to worksheet rows.

    kind: title | note | heading | field | check. For field/check: `label` and `text`; `level` for nested checks;
    `number`/`fmt` let the worksheet keep quantities as numbers."""

    kind: str
    text: str = ""
    label: str = ""
    level: int = 1
    number: float | None = None
    fmt: str | None = None


@dataclass
class _Facts:
    """What every agreement of one scenario reads, computed once per export (the content hash alone costs a
    noticeable fraction of a second on a national-sized scenario)."""

    info: dict
    hash: str

    @classmethod
    def of(cls, scn) -> _Facts:
        return cls(_county_info(scn), scn.content_hash())


def _agreement_blocks(scn, result, row: dict, lang: str, esc, generated: str,
                      facts: _Facts | None = None) -> list[Block]:
    en = lang == "en"
    facts = facts or _Facts.of(scn)
    info = facts.info
    s_code, b_code = str(row["seller_code"]), str(row["buyer_code"])
    s, b = info.get(s_code, {}), info.get(b_code, {})
    s_name = esc(s.get("name") or row.get("seller_name") or s_code)
    b_name = esc(b.get("name") or row.get("buyer_name") or b_code)
    s_pref_raw, b_pref_raw = _text(s.get("prefecture")), _text(b.get("prefecture"))
    s_pref = esc(s_pref_raw) if s_pref_raw else ("its prefecture" if en else "所在市（州）")
    b_pref = esc(b_pref_raw) if b_pref_raw else ("its prefecture" if en else "所在市（州）")
    quota, price, amount = _num(row["quota_mu"]), _num(row["price_wan_per_mu"]), _num(row["amount_wan"])
    adj = _num(row.get("plan_adjustment_mu"))
    uses_adj = uses_plan_adjustment(adj)
    lo, hi = _num(row.get("lo_price"), math.nan), _num(row.get("hi_price"), math.nan)
    band = f"{_n(lo)}–{_n(hi) if math.isfinite(hi) else ('open' if en else '不限')}"
    cls = CLASS_LABELS.get(s.get("poverty_class"), ("", ""))[_li(lang)]
    g_s, g_b = _grade(s.get("reclaimed_quality_grade")), _grade(b.get("occupied_quality_grade"))
    cost = _num(scn.param("proceeds", "reclamation_cost_per_mu"))
    reclaim = min(amount, cost * quota)
    prefs = list(dict.fromkeys(x for x in (s_pref_raw, b_pref_raw) if x))
    B = Block
    out: list[Block] = []
    if en:
        out += [
            B("title", f"Surplus quota transfer agreement: {s_name} → {b_name}"),
            B("note", "Generated by the quota transfer planner from the recommended plan. It lists what the Jilin "
                      "measures (linkage policy for poverty alleviation) require the two county governments to agree "
                      "and to submit; the formal agreement is the one the two governments sign. Fill in the blanks "
                      "(____) by negotiation."),
            B("field", esc(scn.name) or "—", "Scenario"),
            B("field", f"{facts.hash} (scenario content hash); generated {generated}", "Plan reference"),
            B("heading", "1. Parties (article 16)"),
            B("field", f"People's Government of {s_name} ({s_pref}; code {esc(s_code)}; {cls})",
              "Party A — producing county"),
            B("field", f"People's Government of {b_name} ({b_pref}; code {esc(b_code)})", "Party B — using county"),
            B("heading", "2. Quota, price and amount (articles 9(4), 15)"),
            B("field", f"{_n(quota)} 亩", "Surplus quota transferred", number=quota, fmt=UNIT_FMT["mu"]),
            B("field", f"{_n(price)} 万元/亩", "Transfer price", number=price, fmt=UNIT_FMT["price"]),
            B("field", "price already agreed by the two county governments." if row.get("agreed") else
              f"negotiated by the two county governments (article 15); this is the planner's price within the band "
              f"{band} 万元/亩.", "Pricing"),
            B("field", f"{_n(amount)} 万元", "Transfer amount", number=amount, fmt=UNIT_FMT["wan"]),
        ]
        if g_s or g_b:
            verdict = ""
            if g_s and g_b:
                verdict = (" Reclaimed farmland is at least as good as the farmland taken (article 4(2))."
                           if float(g_s) <= float(g_b) else
                           " Reclaimed farmland is worse than the farmland taken: the quality balance must be made "
                           "good elsewhere (articles 4(2), 12).")
            out.append(B("field", f"reclaimed grade {g_s or '—'}, occupied grade {g_b or '—'} (1 = best).{verdict}",
                         "Farmland quality grades"))
        out += [
            B("heading", "3. Payment to the producing county (article 17)"),
            B("field", f"Party B pays the transfer amount of {_n(amount)} 万元 to Party A in full and on time "
                       f"(article 16: funds in place on time).", "Payment"),
            B("field", "by ____-__-__ (agreed by the parties)", "Payment deadline"),
            B("field", "account designated by Party A's county finance bureau: ____", "Account"),
            B("field", "The proceeds return to Party A and are managed by its county government under Caizong "
                       "[2016] No. 36 (article 17); they are used only for poverty alleviation and farmland "
                       "reclamation (article 4(3)) and shared \"money follows people, equal benefit\" (article 18).",
              "Use of proceeds"),
            B("field", f"about {_n(reclaim)} 万元 at {_n(cost)} 万元/亩, repaid first from the proceeds.",
              "Of which reclamation cost (estimate)"),
            B("heading", "4. Reclamation duties and deadline (articles 11, 12, 14, 25)"),
            B("field", f"Party A reclaims the demolished plots following the work plan and engineering standards of "
                       f"its project-area plan (article 11): at least {_n(quota)} 亩 of new farmland, of a quality "
                       f"grade no worse than the surrounding plots, graded at the initial acceptance (article 12).",
              "Reclamation"),
            B("field", "reclamation completed and accepted by ____-__-__ (per the project-area plan's work plan).",
              "Deadline"),
            B("field", "handled under articles 33 and 34 of the Jilin linkage pilot measures (article 25).",
              "If reclamation is late"),
            B("field", "Party A returns linkage turnover quota on time so that the farmland taken is replaced "
                       "(article 14).", "Turnover quota"),
            B("field", "Party B uses the quota according to its new-construction plan and completes the construction "
                       "(article 14), keeping cultivated land at or above the retention target and construction land "
                       "within the planned total (article 6).", "Party B"),
            B("heading", "5. Plan-indicator adjustment (article 6 ¶2)"),
        ]
        if uses_adj:
            out += [B("field", f"{_n(adj)} 亩", "Plan adjustment", number=adj, fmt=UNIT_FMT["mu"]),
                    B("field", f"Party B's planning space is insufficient. After voluntary negotiation, Party A "
                               f"({s_name}) {PLAN_ADJUSTMENT_CLAUSE['en']} by {_n(adj)} 亩, to be approved by "
                               f"law (article 6 ¶2); Party A's commitment letter must say so (article 10(5)).",
                      "Clause")]
        else:
            out.append(B("field", "This transfer needs no change to the main indicators of a land-use master plan.",
                         "Plan adjustment"))
        filing = " and ".join(esc(x) for x in prefs) or "the prefecture"
        out += [
            B("heading", "6. Filing (article 16 ¶2)"),
            B("field", f"Once signed, the agreement is filed with the land and resources departments of {filing} and "
                       f"with the provincial Department of Land and Resources, which records it in the provincial "
                       f"ledger of surplus quota (article 14).", "Filing"),
            B("heading", "7. Application materials of the using county (article 10)"),
            B("note", f"The government of {b_name} applies for approval of its new-construction plan; the {b_pref} "
                      f"land and resources bureau reviews it and the {b_pref} government submits it to the provincial "
                      f"Department of Land and Resources (article 10). Materials:"),
            B("check", f"application letter of the {b_pref} People's Government.", "(1) Application letter"),
            B("check", f"review opinion of the {b_pref} land and resources bureau, including the farmland quality "
                       f"grade of the land the new construction occupies"
                       + (f" (here: grade {g_b})." if g_b else " (not given in this scenario: to be supplied)."),
              "(2) Review opinion"),
            B("check", f"the new-construction implementation plan of {b_name} (article 9), in seven parts:",
              "(3) Implementation plan"),
        ]
    else:
        out += [
            B("title", f"节余指标流转协议要点：{s_name} → {b_name}"),
            B("note", "本表由节余指标流转规划工具按推荐方案生成，列出《吉林省运用城乡建设用地增减挂钩政策支持脱贫攻坚实施办法》"
                      "要求双方约定和提交的内容，供双方县级人民政府起草、签订正式协议时使用；正式协议以双方签订的文本为准，"
                      "“____”处由双方协商填写。"),
            B("field", esc(scn.name) or "—", "情景"),
            B("field", f"{facts.hash}（情景内容哈希）；生成时间 {generated}", "方案编号"),
            B("heading", "一、协议双方（第十六条）"),
            B("field", f"{s_name}人民政府（{s_pref}；行政区代码 {esc(s_code)}；{cls}）", "甲方（产生节余指标的县）"),
            B("field", f"{b_name}人民政府（{b_pref}；行政区代码 {esc(b_code)}）", "乙方（使用节余指标的县）"),
            B("heading", "二、流转指标、价格与金额（第九条（四）、第十五条）"),
            B("field", f"{_n(quota)} 亩", "流转节余指标", number=quota, fmt=UNIT_FMT["mu"]),
            B("field", f"{_n(price)} 万元/亩", "流转价格", number=price, fmt=UNIT_FMT["price"]),
            B("field", "双方县级人民政府已商定的价格。" if row.get("agreed") else
              f"由双方县级人民政府协商确定（第十五条）；此为规划工具建议价，价格区间 {band} 万元/亩。", "定价方式"),
            B("field", f"{_n(amount)} 万元", "流转金额", number=amount, fmt=UNIT_FMT["wan"]),
        ]
        if g_s or g_b:
            verdict = ""
            if g_s and g_b:
                verdict = ("复垦耕地质量不低于建新占用耕地（第四条（二））。" if float(g_s) <= float(g_b) else
                           "复垦耕地质量低于建新占用耕地，需另行补足耕地质量（第四条（二）、第十二条）。")
            out.append(B("field", f"复垦耕地 {g_s or '—'} 等，建新占用耕地 {g_b or '—'} 等（1 等最优）。{verdict}",
                         "耕地质量等别"))
        out += [
            B("heading", "三、价款支付（第十七条）"),
            B("field", f"乙方将流转价款 {_n(amount)} 万元及时足额支付给甲方，保证资金及时到位（第十六条）。", "价款支付"),
            B("field", "____年__月__日前（双方约定）。", "支付期限"),
            B("field", "甲方县级财政部门指定账户：____________。", "收款账户"),
            B("field", "流转收益返还甲方，由甲方县级人民政府按照《财政部关于城乡建设用地增减挂钩支持易地扶贫搬迁有关财政政策"
                       "问题的通知》（财综〔2016〕36 号）统一管理（第十七条），全部用于扶贫开发和耕地复垦（第四条（三）），"
                       "按“钱随人走、同等受益”的原则分配和使用（第十八条）。", "收益管理"),
            B("field", f"按 {_n(cost)} 万元/亩估算约 {_n(reclaim)} 万元，从流转收益中先行支付。", "其中复垦成本（估算）"),
            B("heading", "四、拆旧复垦责任和期限（第十一条、第十二条、第十四条、第二十五条）"),
            B("field", f"甲方按照项目区实施规划确定的工作计划和工程设计标准，组织推进拆旧区整理复垦（第十一条），新增耕地不少于 "
                       f"{_n(quota)} 亩，质量等别不低于周边地块，初验时评定质量等别（第十二条）。", "复垦任务"),
            B("field", "____年__月__日前完成拆旧区整理复垦并通过验收（按项目区实施规划的工作计划）。", "完成期限"),
            B("field", "按照《吉林省城乡建设用地增减挂钩试点管理办法》第三十三条、第三十四条的规定处理（第二十五条）。",
              "未按期完成"),
            B("field", "甲方及时归还增减挂钩周转指标，确保占用耕地得到及时补充（第十四条）。", "周转指标"),
            B("field", "乙方按照建新区实施规划使用节余指标，完成建新地块建设任务（第十四条）；耕地保有量不低于规划目标，"
                       "建设用地总规模不突破规划总规模（第六条）。", "乙方义务"),
            B("heading", "五、规划指标调整（第六条第二款）"),
        ]
        if uses_adj:
            out += [B("field", f"{_n(adj)} 亩", "调整规模", number=adj, fmt=UNIT_FMT["mu"]),
                    B("field", f"乙方规划空间不足，经双方按照自愿原则协商，甲方（{s_name}）{PLAN_ADJUSTMENT_CLAUSE['zh']}，"
                               f"调整规模 {_n(adj)} 亩，依法按程序报批（第六条第二款）；甲方承诺函须包括此项内容（第十条（五））。",
                      "调整条款")]
        else:
            out.append(B("field", "本次流转不需调整土地利用总体规划主要指标。", "规划调整"))
        filing = "、".join(esc(x) for x in prefs) or "所在市（州）"
        out += [
            B("heading", "六、备案（第十六条第二款）"),
            B("field", f"协议签订后，报{filing}国土资源部门和省国土资源厅备案，并由省国土资源厅登记入全省节余指标台账（第十四条）。",
              "备案"),
            B("heading", "七、使用县申请材料清单（第十条）"),
            B("note", f"由{b_name}人民政府提出使用建新区规划实施整体审批申请，经{b_pref}国土资源局审查并提出意见后，由{b_pref}"
                      f"人民政府报省国土资源厅批准（第十条）。需提交下列材料："),
            B("check", f"{b_pref}人民政府的申请函。", "（一）申请函"),
            B("check", f"{b_pref}国土资源局的审查意见，应包括对建新占用耕地质量等级的说明"
                       + (f"（本情景：建新占用耕地质量等别 {g_b} 等）。" if g_b else "（本情景未填写建新占用耕地质量等别，需补充）。"),
              "（二）审查意见"),
            B("check", f"{b_name}单独编制的建新区实施规划（第九条），包括以下七部分：", "（三）建新区实施规划"),
        ]
    # article 9 (1)-(7), with what this pairing already says
    extra = {}
    cons = _num(b.get("construction_headroom_mu"), math.nan)
    cult = _num(b.get("cultivated_headroom_mu"), math.nan)
    if en:
        if g_b:
            extra[1] = f" (occupied farmland grade here: {g_b})"
        extra[3] = f" (this agreement: from {s_name}, {_n(quota)} 亩 at {_n(price)} 万元/亩)"
        extra[4] = f" (of which quota transfer amount {_n(amount)} 万元)"
        bits = [f"construction headroom {_n(cons)} 亩" if math.isfinite(cons) else "",
                f"cultivated headroom {_n(cult)} 亩" if math.isfinite(cult) else ""]
        if any(bits):
            extra[5] = " (scenario: " + ", ".join(x for x in bits if x) + ")"
    else:
        if g_b:
            extra[1] = f"（本情景：建新占用耕地质量等别 {g_b} 等）"
        extra[3] = f"（本协议：来源 {s_name}，{_n(quota)} 亩，{_n(price)} 万元/亩）"
        extra[4] = f"（其中节余指标流转价款 {_n(amount)} 万元）"
        bits = [f"建设用地规划余量 {_n(cons)} 亩" if math.isfinite(cons) else "",
                f"耕地保有量余量 {_n(cult)} 亩" if math.isfinite(cult) else ""]
        if any(bits):
            extra[5] = "（本情景：" + "，".join(x for x in bits if x) + "）"
    for i, part in enumerate(NINE_PARTS[lang if en else "zh"]):
        label = f"({i + 1})" if en else f"（{CN_NUM[i]}）"
        out.append(B("check", part + extra.get(i, "") + ("." if en else "；" if i < 6 else "。"),
                     ("Part " if en else "第九条") + label, level=2))
    if en:
        commit = f"commitment letter of the People's Government of {s_name} agreeing to the use of its surplus quota."
        if uses_adj:
            commit += (f" Because Party B's planning space is insufficient, the letter must also state that {s_name} "
                       f"{PLAN_ADJUSTMENT_CLAUSE['en']} ({_n(adj)} 亩; articles 6 ¶2, 10(5)).")
        out += [
            B("check", "township land-use master plan map marking the new-construction area.", "(4) Plan map"),
            B("check", commit, "(5) Commitment letter"),
            B("heading", "8. Signatures"),
            B("field", f"People's Government of {s_name}    (seal)    signed by: ________    date: ____-__-__",
              "Party A"),
            B("field", f"People's Government of {b_name}    (seal)    signed by: ________    date: ____-__-__",
              "Party B"),
        ]
    else:
        commit = f"{s_name}人民政府出具的同意使用节余指标的承诺函。"
        if uses_adj:
            commit += (f"乙方规划空间不足，承诺函中还应包括{PLAN_ADJUSTMENT_CLAUSE['zh']}的内容"
                       f"（规划调整 {_n(adj)} 亩；第六条第二款、第十条（五））。")
        out += [
            B("check", "标注建新区范围的乡级土地利用总体规划图。", "（四）规划图"),
            B("check", commit, "（五）承诺函"),
            B("heading", "八、签署"),
            B("field", f"{s_name}人民政府（盖章）　负责人：________　日期：____年__月__日", "甲方"),
            B("field", f"{b_name}人民政府（盖章）　负责人：________　日期：____年__月__日", "乙方"),
        ]
    return out


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _blocks_markdown(blocks: list[Block], lang: str) -> str:
    colon = ": " if lang == "en" else "："
    lines: list[str] = []
    for bl in blocks:
        if bl.kind == "title":
            lines += [f"# {bl.text}", ""]
        elif bl.kind == "heading":
            if lines and lines[-1] != "":
                lines.append("")
            lines += [f"## {bl.text}", ""]
        elif bl.kind == "note":
            if lines and lines[-1] != "":
                lines.append("")
            lines += [f"{bl.text}", ""]
        elif bl.kind == "field":
            lines.append(f"- **{bl.label}**{colon}{bl.text}")
        elif bl.kind == "check":
            indent = "  " * (bl.level - 1)
            lines.append(f"{indent}- [ ] **{bl.label}** {bl.text}")
    return "\n".join(lines).rstrip() + "\n"


def agreement_markdown(scn, result, seller_code: str, buyer_code: str, lang: str = "zh",
                       generated: str | None = None) -> str:
    """The transfer-agreement sheet of one recommended pairing (article 16) with the using county's application
    materials checklist (articles 9, 10), as Markdown. The commitment letter item and section 5 carry the
    plan-indicator adjustment clause exactly when the pairing uses plan adjustment (article 6 ¶2, 10(5))."""
    row = pairing_row(result, seller_code, buyer_code)
    return _blocks_markdown(_agreement_blocks(scn, result, row, lang, md_escape, generated or _now()), lang)


def _file_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", str(text)).strip("_") or "x"


def agreement_filenames(pairings: pd.DataFrame) -> list[str]:
    """ASCII file names, unique, in pairing order: 01_<seller code>_<buyer code>.md."""
    width = max(2, len(str(len(pairings))))
    return [f"{i + 1:0{width}d}_{_file_part(s)}_{_file_part(b)}.md"
            for i, (s, b) in enumerate(zip(pairings["seller_code"], pairings["buyer_code"]))]


def agreement_files(scn, result, lang: str = "zh", generated: str | None = None) -> dict[str, bytes]:
    """One Markdown file per recommended pairing plus index.md; UTF-8 with BOM and CRLF (Notepad on Chinese
    Windows opens them correctly)."""
    generated = generated or _now()
    facts = _Facts.of(scn)
    p = result.pairings
    names = agreement_filenames(p)
    en = lang == "en"
    files: dict[str, bytes] = {}
    index = [f"# Transfer agreements: {md_escape(scn.name)}" if en else f"# 节余指标流转协议要点：{md_escape(scn.name)}", "",
             (f"Scenario content hash {facts.hash}; generated {generated}; {len(p)} pairings."
              if en else f"情景内容哈希 {facts.hash}；生成时间 {generated}；共 {len(p)} 对配对。"), ""]
    if len(p):
        index += ["| " + " | ".join(["File", "Party A (producing)", "Party B (using)", "亩", "万元/亩", "万元",
                                     "Plan adjustment (亩)"] if en else
                                    ["文件", "甲方（产生县）", "乙方（使用县）", "亩", "万元/亩", "万元", "规划调整（亩）"]) + " |",
                  "|" + "---|" * 7]
    for name, row in zip(names, p.to_dict("records")):
        text = _blocks_markdown(_agreement_blocks(scn, result, row, lang, md_escape, generated, facts), lang)
        files[name] = _md_bytes(text)
        adj = _num(row["plan_adjustment_mu"])
        index.append(f"| [{name}]({name}) | {md_escape(row['seller_name'])} | {md_escape(row['buyer_name'])} | "
                     f"{_n(row['quota_mu'])} | {_n(row['price_wan_per_mu'])} | {_n(row['amount_wan'])} | "
                     f"{_n(adj) if uses_plan_adjustment(adj) else ''} |")
    if not len(p):
        index.append("No recommended pairing: no agreement." if en else "没有推荐配对，无协议。")
    files["index.md"] = _md_bytes("\n".join(index) + "\n")
    return files


def _md_bytes(text: str) -> bytes:
    return ("\ufeff" + text.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


def agreements_zip(scn, result, lang: str = "zh", generated: str | None = None) -> bytes:
    buf = io.BytesIO()
    stamp = dt.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in agreement_files(scn, result, lang, generated).items():
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write_agreements(scn, result, folder: Path, lang: str = "zh") -> list[Path]:
    """Write agreements/*.md; agreement files of an earlier run in the same folder are removed first, so the folder
    never holds an agreement for a pairing that is no longer recommended."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        if old.name == "index.md" or re.fullmatch(r"\d{2,}_[0-9A-Za-z_-]+\.md", old.name):
            old.unlink()
    paths = []
    for name, data in agreement_files(scn, result, lang).items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- the Excel workbook

FMT = {"mu": "#,##0.00;-#,##0.00;0", "wan": "#,##0.00;-#,##0.00;0", "price": "#,##0.00;-#,##0.00;0",
       "int": "#,##0", "per": "#,##0.0000;-#,##0.0000;0", "ratio": "0.000", "num": "General", "mixed": "General"}
UNIT_FMT = {"mu": '#,##0.00" 亩"', "wan": '#,##0.00" 万元"', "price": '#,##0.00" 万元/亩"'}
SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_SHEET = 31
MAX_AGREEMENT_SHEETS = 200
FONT_NAME = "等线"  # Excel's default Chinese UI font; LibreOffice substitutes a CJK font when it is missing
COLORS = {"header": "DDEBF7", "total": "F2F2F2", "heading": "E2EFDA", "title": "1F4E78", "note": "595959",
          "flag": "FFF2CC"}
FIXED_SHEETS = ("参数", "配对", "县汇总", "收益分配", "收益分配-县", "台账", "比较", "比较-输入", "比较-配对", "比较-各县",
                "比较-人均收益", "审计")


def agreement_sheet_names(pairings: pd.DataFrame, taken=FIXED_SHEETS) -> list[str]:
    """协议-<seller>-<buyer> per pairing: at most 31 characters, none of []:*?/\\, no leading/trailing apostrophe,
    unique (case-insensitive, as Excel compares sheet names)."""
    used = {t.lower() for t in taken}
    out = []
    for s_name, s_code, b_name, b_code in zip(pairings["seller_name"], pairings["seller_code"],
                                              pairings["buyer_name"], pairings["buyer_code"]):
        s = _text(s_name) or _text(s_code)
        b = _text(b_name) or _text(b_code)
        room = MAX_SHEET - len("协议--")  # long names share the room, so both counties stay recognisable
        if len(s) + len(b) > room:
            keep_s = min(len(s), max(room - len(b), room // 2))
            s, b = s[:keep_s], b[:room - keep_s]
        base = SHEET_ILLEGAL.sub("_", XML_ILLEGAL.sub("", f"协议-{s}-{b}")).strip("'")
        base = re.sub(r"\s+", " ", base)
        name = base[:MAX_SHEET].rstrip("'")
        k = 2
        while name.lower() in used:
            suffix = f"~{k}"
            name = base[:MAX_SHEET - len(suffix)].rstrip("'") + suffix
            k += 1
        used.add(name.lower())
        out.append(name)
    return out


def _width(value) -> int:
    """Display width: CJK and full-width characters count two."""
    text = value if isinstance(value, str) else _n(value) if isinstance(value, (int, float, np.number)) else str(value)
    w = 0
    for ch in text:
        w += 2 if ord(ch) > 0x2E7F else 1
    return w


def _two_line(text: str, limit: int = 14) -> str:
    """A long header breaks before its unit: 价格区间下限（万元/亩） -> 价格区间下限 / （万元/亩）."""
    cut = max(text.rfind("（"), text.rfind(" ("))
    if _width(text) > limit and cut > 0:
        return text[:cut].rstrip() + "\n" + text[cut:].lstrip()
    return text


def _em(text: str) -> float:
    """Rendered width in column-width units, for row heights: 10.5 pt CJK ≈ 1.75, Latin letters and digits ≈ 0.85
    (erring on the wide side: a blank line is better than a clipped one)."""
    return sum(1.75 if ord(ch) > 0x2E7F else 0.85 for ch in text)


class _Sheet:
    """Writes one worksheet: every text cell a string cell (never a formula), numbers with formats.

    Neither Excel nor LibreOffice grows a row to fit wrapped text when it opens a file, so `finish` sets column
    widths from the content and row heights from the wrapped text they must hold."""

    LINE_PT = 15.0  # one line of 10.5 pt CJK text (Noto/DengXian line spacing), in points

    def __init__(self, wb, title: str):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = wb.create_sheet(title)
        # One style per combination, shared by every cell that uses it: assigning font, fill and alignment objects
        # cell by cell costs most of the time on a national-sized workbook.
        if not hasattr(wb, "_planner_styles"):
            wb._planner_styles = {}
        self.styles: dict = wb._planner_styles
        self.Font, self.Alignment, self.PatternFill = Font, Alignment, PatternFill
        self.thin = Side(style="thin", color="BFBFBF")
        self.Border = Border
        self.widths: dict[int, int] = {}

    def put(self, row: int, col: int, value, fmt: str | None = None, bold: bool = False, fill: str | None = None,
            wrap: bool = False, color: str | None = None, size: float | None = None, italic: bool = False,
            align: str | None = None):
        cell = self.ws.cell(row=row, column=col)
        v = _xl_value(value)
        quote = False
        if isinstance(v, str):
            v = XML_ILLEGAL.sub("", v)[:32767]
            cell.value = v
            cell.data_type = "s"  # never "f": text starting with "=" stays text
            # Excel's own "this is text" mark, also kept when a user edits the cell
            quote = v.startswith(FORMULA_START)
        else:
            cell.value = v
        number_format = fmt if fmt and v is not None and not isinstance(v, str) else None
        key = (number_format, bold, fill, wrap, color, size, italic, align, quote)
        style = self.styles.get(key)
        if style is not None:
            cell._style = copy.copy(style)
            return cell
        if number_format:
            cell.number_format = number_format
        if quote:
            cell.quotePrefix = True
        cell.font = self.Font(name=FONT_NAME, bold=bold, color=color, size=size or 10.5, italic=italic)
        if fill:
            cell.fill = self.PatternFill("solid", fgColor=fill)
        cell.alignment = self.Alignment(wrap_text=wrap, vertical="top", horizontal=align)
        self.styles[key] = copy.copy(cell._style)
        return cell

    def table(self, title: str, fields: list[str], df: pd.DataFrame, total: dict | None = None,
              headers: dict[str, str] | None = None, kinds: dict[str, str] | None = None,
              freeze_cols: int = 0, note: str = "") -> int:
        """Title row 1, header row 2 (frozen, with a filter), data rows, optional totals row; returns the next
        free row."""
        from openpyxl.utils import get_column_letter

        ws = self.ws
        self.put(1, 1, f"{title}　{note}" if note else title, bold=True, size=13, color=COLORS["title"])
        kinds = dict(kinds or {})
        for j, f in enumerate(fields, 1):
            text = _two_line((headers or {}).get(f) or header(f))
            kinds.setdefault(f, HEADERS.get(f, ("", "", "text"))[2])
            c = self.put(2, j, text, bold=True, fill=COLORS["header"], wrap=True, align="center")
            c.alignment = self.Alignment(wrap_text=True, vertical="center", horizontal="center")
            c.border = self.Border(bottom=self.thin, top=self.thin)
            self._fit(j, text, header=True)
        r = 3
        for rec in df.to_dict("records"):
            for j, f in enumerate(fields, 1):
                kind = kinds[f]
                value = rec.get(f)
                self.put(r, j, value, fmt=FMT.get(kind), wrap=kind in ("long", "mixed"),
                         align="left" if kind == "mixed" else None)
                self._fit(j, value, kind=kind)
            r += 1
        if total is not None:
            for j, f in enumerate(fields, 1):
                kind = kinds[f]
                c = self.put(r, j, total.get(f), fmt=FMT.get(kind), bold=True, fill=COLORS["total"],
                             wrap=kind == "long")
                c.border = self.Border(top=self.thin, bottom=self.thin)
                self._fit(j, total.get(f), kind=kind)
            r += 1
        ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}3"
        if fields:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(fields))}{max(r - 1, 2)}"
        ws.print_title_rows = "2:2"
        return r

    def _fit(self, col: int, value, kind: str = "text", header: bool = False) -> None:
        v = _xl_value(value)
        if v is None:
            return
        if isinstance(v, (int, float)):
            w = len(f"{v:,.4f}" if kind == "per" else f"{v:,.2f}") + 1
        else:
            w = max((_width(line) for line in v.split("\n")), default=0)
        if header:
            w = min(w, 14)  # long headers wrap onto two or three lines
        elif kind in ("long", "mixed"):
            w = min(w, 50)
        self.widths[col] = max(self.widths.get(col, 0), w)

    def finish(self, landscape: bool = True, min_width: int = 6, max_width: int = 50,
               fixed: dict[int, float] | None = None, one_page: bool = False) -> None:
        from openpyxl.utils import get_column_letter

        ws = self.ws
        for col, w in self.widths.items():
            ws.column_dimensions[get_column_letter(col)].width = max(min_width, min(max_width, w + 2))
        for col, w in (fixed or {}).items():
            ws.column_dimensions[get_column_letter(col)].width = w
        self._fit_rows()
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if one_page else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.7
        ws.page_margins.header = ws.page_margins.footer = 0.3
        if ws.row_dimensions[1].height is None:
            ws.row_dimensions[1].height = 21  # the title row (13-14 pt)
        ws.oddHeader.center.text = "&A"
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"

    def _fit_rows(self) -> None:
        """Row heights for wrapped text (merged cells measured across their columns)."""
        from openpyxl.utils import get_column_letter

        ws = self.ws
        width = {}
        for col in range(1, ws.max_column + 1):
            width[col] = ws.column_dimensions[get_column_letter(col)].width or 8.43
        merged = {}
        for rng in ws.merged_cells.ranges:
            merged[(rng.min_row, rng.min_col)] = sum(width.get(c, 8.43) for c in range(rng.min_col, rng.max_col + 1))
        for row in ws.iter_rows():
            lines = 1
            for cell in row:
                if cell.value is None or not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                    continue
                room = max(2.0, merged.get((cell.row, cell.column), width.get(cell.column, 8.43)) - 1.5)
                scale = (cell.font.sz or 10.5) / 10.5
                n = sum(max(1, math.ceil(_em(part) * scale / room)) for part in cell.value.split("\n"))
                lines = max(lines, n)
            if lines > 1:
                ws.row_dimensions[row[0].row].height = round(lines * self.LINE_PT + 3, 1)


def _xl_value(value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _param_value(p, value):
    from planner.i18n import choice_label

    if value is None:
        return "（未设）"
    if p.kind == "bool":
        return "是" if value else "否"
    if p.kind == "choice":
        label = choice_label(p.key, value, "zh")
        return f"{label}（{value}）" if label != str(value) else str(value)
    if p.kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)


SECTION_LABELS = {"scenario": "情景", "pricing": "价格", "rules": "规则", "proceeds": "收益分配"}


def _sheet_params(wb, scn) -> None:
    from planner import schema

    sh = _Sheet(wb, "参数")
    rows = []
    for p in schema.PARAMS:
        value = scn.param(p.section, p.key)
        rows.append({"section": SECTION_LABELS.get(p.section, p.section), "label": p.label_zh or p.key,
                     "value": _param_value(p, value), "key": f"{p.section}.{p.key}", "article": p.article,
                     "help": p.help_zh})
    fields = ["section", "label", "value", "key", "article", "help"]
    heads = {"section": "分组", "label": "参数", "value": "取值", "key": "参数代码", "article": "依据条款（实施办法）",
             "help": "说明"}
    kinds = {"section": "text", "label": "text", "value": "mixed", "key": "text", "article": "text", "help": "long"}
    sh.table(f"情景参数：{scn.name}", fields, pd.DataFrame(rows), headers=heads, kinds=kinds)
    sh.finish()


def _sheet_pairings(wb, scn, result, sheet_names: list[str]) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    sh = _Sheet(wb, "配对")
    p = result.pairings.reset_index(drop=True)
    info = _county_info(scn)
    df = p.copy()
    df.insert(0, "seq", range(1, len(df) + 1))
    df["seller_prefecture"] = [_text(info.get(str(c), {}).get("prefecture")) for c in df["seller_code"]]
    df["buyer_prefecture"] = [_text(info.get(str(c), {}).get("prefecture")) for c in df["buyer_code"]]
    df["agreed"] = ["是" if bool(v) else "" for v in df["agreed"]]
    df["note"] = [f"协商调整规划主要指标 {_n(v)} 亩：承诺函须载明（第六条第二款、第十条（五））"
                  if uses_plan_adjustment(v) else "" for v in df["plan_adjustment_mu"]]
    df["agreement_sheet"] = sheet_names
    fields = ["seq", "seller_name", "seller_code", "seller_prefecture", "buyer_name", "buyer_code", "buyer_prefecture",
              "quota_mu", "price_wan_per_mu", "amount_wan", "plan_adjustment_mu", "lo_price", "hi_price", "agreed",
              "note", "agreement_sheet"]
    quota, amount = float(p["quota_mu"].sum()), float(p["amount_wan"].sum())
    total = {"seq": None, "seller_name": "合计", "seller_code": f"{len(p)} 对", "quota_mu": quota,
             "amount_wan": amount, "plan_adjustment_mu": float(p["plan_adjustment_mu"].sum()),
             "price_wan_per_mu": amount / quota if quota > TOL else None,
             "note": "合计行的价格为按亩加权平均价"}
    title = f"推荐配对（节余指标流转方案）：{scn.name}"
    end = sh.table(title, fields, df, total=total, freeze_cols=2)
    col = fields.index("agreement_sheet") + 1
    for i, name in enumerate(sheet_names):
        if not name:
            continue
        cell = sh.ws.cell(row=3 + i, column=col)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location="'" + name.replace("'", "''") + "'!A1",
                                   display=name)
        cell.font = sh.Font(name=FONT_NAME, size=10.5, color="0563C1", underline="single")
    for i, v in enumerate(p["plan_adjustment_mu"]):
        if uses_plan_adjustment(v):
            for j in (fields.index("plan_adjustment_mu") + 1, fields.index("note") + 1):
                sh.ws.cell(row=3 + i, column=j).fill = sh.PatternFill("solid", fgColor=COLORS["flag"])
    if not len(p):
        sh.put(end, 1, "没有推荐配对。" if result.has_solution else f"求解未成功：{result.message}", italic=True)
    sh.finish()


def _sheet_counties(wb, scn, result, report: pd.DataFrame | None = None) -> None:
    sh = _Sheet(wb, "县汇总")
    rep = report
    if rep is None:
        try:
            from planner.explain import county_report

            rep = county_report(scn, result)
        except Exception:  # noqa: BLE001 - explanations are secondary; the figures still go out
            rep = result.counties.assign(reason_zh="")
    df = rep.copy()
    df["poverty_class"] = [CLASS_LABELS.get(v, (_text(v),))[0] for v in df["poverty_class"]]
    df["role"] = [ROLE_LABELS.get(v, (_text(v),))[0] for v in df["role"]]
    df["reason"] = df.get("reason_zh", "")
    fields = ["code", "name", "prefecture", "poverty_class", "role", "surplus_mu", "sold_mu", "unsold_mu",
              "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan", "plan_adjustment_mu", "reason"]
    total = {"code": "合计", "name": f"{len(df)} 个县"}
    for f in fields[5:-1]:
        total[f] = float(df[f].sum())
    sh.table(f"各县汇总及说明：{scn.name}", fields, df, total=total, freeze_cols=2)
    sh.finish()


def _sheet_proceeds(wb, scn, allocation) -> None:
    from planner.proceeds import RULE_LABELS

    g = allocation.groups.copy()
    g["resettlement_mode"] = [MODE_LABELS.get(v, (_text(v),))[0] for v in g["resettlement_mode"]]
    rule = RULE_LABELS.get(allocation.params.rule, (allocation.params.rule,))[0]
    sh = _Sheet(wb, "收益分配")
    fields = ["county_name", "county_code", "group_id", "village", "resettlement_mode", "destination_name",
              "destination_code", "households", "persons", "reclaimed_mu", "household_wan", "collective_wan",
              "total_wan", "per_person_wan", "per_household_wan"]
    persons, hh = float(g["persons"].sum()), float(g["households"].sum())
    total = {"county_name": "合计", "group_id": f"{len(g)} 组", "households": hh, "persons": persons,
             "reclaimed_mu": float(g["reclaimed_mu"].sum()), "household_wan": float(g["household_wan"].sum()),
             "collective_wan": float(g["collective_wan"].sum()), "total_wan": float(g["total_wan"].sum()),
             "per_person_wan": float(g["household_wan"].sum()) / persons if persons > 0 else None,
             "per_household_wan": float(g["household_wan"].sum()) / hh if hh > 0 else None}
    sh.table(f"流转收益分配到搬迁组（钱随人走、同等受益，第十七条、第十八条）　分配规则：{rule}", fields, g, total=total,
             freeze_cols=3)
    sh.finish()
    c = allocation.counties.copy()
    sh = _Sheet(wb, "收益分配-县")
    fields = ["county_name", "county_code", "sold_mu", "gross_wan", "reclamation_wan", "financing_wan",
              "collective_wan", "household_wan", "unallocated_wan", "groups", "persons", "per_person_wan"]
    total = {"county_name": "合计", "county_code": f"{len(c)} 个县"}
    for f in fields[2:-1]:
        total[f] = float(c[f].sum())
    total["per_person_wan"] = total["household_wan"] / total["persons"] if total["persons"] > 0 else None
    p = allocation.params
    note = (f"复垦成本 {_n(p.reclamation_cost_per_mu)} 万元/亩，偿还融资比例 {_n(p.financing_repayment_share, 3)}，"
            f"村集体比例 {_n(p.collective_share, 3)}，分配规则：{rule}")
    sh.table("各产生县流转收益分配（第十七条、第十八条）", fields, c, total=total,
             headers={"sold_mu": "出让（亩）"}, note=note)
    sh.finish()


def _sheet_ledger(wb, scn, result) -> None:
    df = ledger(scn, result, "zh", sep="\n")
    body, total = df.iloc[:-1].copy(), df.iloc[-1].to_dict()
    body["poverty_class"] = [CLASS_LABELS.get(v, (_text(v),))[0] for v in body["poverty_class"]]
    sh = _Sheet(wb, "台账")
    fields = LEDGER_COLUMNS
    sh.table("全省节余指标台账（第十四条）：产生 = 流出 + 结余", fields, body, total=total, freeze_cols=2)
    sh.finish()


CHANGE_LABELS = {"changed": "修改", "added": "新增", "removed": "删除", "price_changed": "价格变化"}


def _sheet_comparison(wb, comparison) -> None:
    names = list(comparison.names)
    k = comparison.kpis.copy()
    sh = _Sheet(wb, "比较")
    heads = {"label_zh": "指标"}
    heads.update({n: n for n in names})
    kinds = {"label_zh": "text", **{n: "num" for n in names}}
    base = names[0] if names else ""
    sh.table(f"情景比较（基准：{base}）", ["label_zh", *names], k, headers=heads, kinds=kinds, freeze_cols=1)
    sh.finish()
    blocks = [
        ("比较-输入", "输入差异（与基准情景相比）", comparison.inputs,
         {"scenario": "情景", "table": "文件", "key": "行（代码）", "column": "列/参数", "change": "变化",
          "base": "基准值", "other": "对比值"}),
        ("比较-配对", "配对变化（与基准情景相比）", comparison.pairings,
         {"scenario": "情景", "seller_code": "出让县代码", "seller_name": "出让县", "buyer_code": "使用县代码",
          "buyer_name": "使用县", "change": "变化", "quota_mu_base": "基准流转（亩）", "quota_mu_other": "对比流转（亩）",
          "quota_change_mu": "流转变化（亩）", "price_wan_per_mu_base": "基准价格（万元/亩）",
          "price_wan_per_mu_other": "对比价格（万元/亩）"}),
        ("比较-各县", "各县流转收益（万元）", comparison.counties, None),
        ("比较-人均收益", "搬迁人口人均收益（万元/人）", comparison.benefit, None),
    ]
    for sheet, title, df, heads in blocks:
        if df is None or df.empty:
            continue
        df = df.copy()
        if "change" in df.columns:
            df["change"] = [CHANGE_LABELS.get(v, v) for v in df["change"]]
        fields = list(df.columns)
        heads = dict(heads or {})
        for f in fields:
            if f not in heads:
                if f in ("code", "name", "county_code"):
                    heads[f] = header(f)
                elif f.startswith("change:"):
                    heads[f] = f"变化：{f[len('change:'):]}"
                else:
                    heads[f] = f
        kinds = {f: ("mu" if f.endswith("_mu") else "price" if "price" in f else
                     "text" if df[f].dtype == object else "num") for f in fields}
        s2 = _Sheet(wb, sheet)
        s2.table(title, fields, df, headers=heads, kinds=kinds)
        s2.finish()


def _r4(x):
    return None if x is None else round(float(x), 4) + 0.0


def _sheet_audit(wb, scn, result, generated: str, extra: dict | None) -> None:
    from planner import __version__

    import openpyxl

    sh = _Sheet(wb, "审计")
    h = scn.content_hash()
    same = h == result.scenario_hash
    t = result.totals
    rows = [
        ("情景名称", scn.name), ("情景说明", scn.description), ("情景内容哈希", h),
        ("结果对应的情景哈希", result.scenario_hash + ("（一致）" if same else "（不一致：结果不是由本情景求得！）")),
        ("规划工具版本", f"planner {__version__}"), ("求解器", f"{result.solver}（{result.algorithm}）"),
        ("求解状态", result.status), ("求解信息", result.message), ("整数模型", "是" if result.is_mip else "否"),
        ("目标函数值", _r4(result.objective)), ("建模时间（秒）", round(result.seconds_build, 4)),
        ("求解时间（秒）", round(result.seconds_solve, 4)), ("生成时间", generated),
        ("openpyxl 版本", openpyxl.__version__),
        ("配对数", t.get("pairings")), ("流转指标合计（亩）", _r4(t.get("quota_matched_mu"))),
        ("流转金额合计（万元）", _r4(t.get("proceeds_wan"))), ("规划调整合计（亩）", _r4(t.get("plan_adjustment_mu"))),
        ("未满足需求（亩）", _r4(t.get("unmet_demand_mu"))),
    ]
    for k, v in (extra or {}).items():
        rows.append((str(k), v if isinstance(v, (int, float)) else json.dumps(v, ensure_ascii=False, default=str)
                     if not isinstance(v, str) else v))
    for section, values in scn.settings.items():
        if section == "scenario":
            continue  # name and description are above
        if isinstance(values, dict):
            for key, value in values.items():
                rows.append((f"设置 {section}.{key}", json.dumps(value, ensure_ascii=False, default=str)))
        else:
            rows.append((f"设置 {section}", json.dumps(values, ensure_ascii=False, default=str)))
    df = pd.DataFrame(rows, columns=["item", "value"])
    sh.table("审计信息：本工作簿由哪个情景、哪个版本、用什么求解器、何时生成", ["item", "value"], df,
             headers={"item": "项目", "value": "内容"}, kinds={"item": "text", "value": "mixed"})
    if not same:
        sh.ws.cell(row=6, column=2).fill = sh.PatternFill("solid", fgColor=COLORS["flag"])
    sh.finish(landscape=False)


def _sheet_agreement(wb, title: str, blocks: list[Block]) -> None:
    """An agreement sheet: A = check box, B = item, C = content; portrait A4, one page wide."""
    sh = _Sheet(wb, title)
    ws = sh.ws
    r = 1
    for bl in blocks:
        if bl.kind == "title":
            sh.put(r, 1, bl.text, bold=True, size=14, color=COLORS["title"])
        elif bl.kind == "note":
            sh.put(r, 2, bl.text, wrap=True, color=COLORS["note"], italic=True)
            ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
        elif bl.kind == "heading":
            r += 1
            for j in (1, 2, 3):
                sh.put(r, j, bl.text if j == 1 else None, bold=True, fill=COLORS["heading"])
        elif bl.kind == "field":
            sh.put(r, 2, bl.label, bold=True, wrap=True)
            if bl.number is not None:
                sh.put(r, 3, bl.number, fmt=bl.fmt, align="left")
            else:
                sh.put(r, 3, bl.text, wrap=True)
        elif bl.kind == "check":
            if bl.level == 1:
                sh.put(r, 1, "☐", size=12, align="center")
                sh.put(r, 2, bl.label, bold=True, wrap=True)
            else:
                sh.put(r, 2, "　☐ " + bl.label, wrap=True)
            sh.put(r, 3, bl.text, wrap=True)
        r += 1
    ws.sheet_view.showGridLines = False
    sh.finish(landscape=False, fixed={1: 5, 2: 24, 3: 72}, one_page=True)  # one A4 page per agreement


def workbook_bytes(scn, result, allocation=None, comparison=None, *, generated: str | None = None,
                   audit_extra: dict | None = None, max_agreement_sheets: int = MAX_AGREEMENT_SHEETS,
                   report: pd.DataFrame | None = None) -> bytes:
    """The Excel workbook (.xlsx): 参数, 配对, 县汇总, 收益分配 (+ 收益分配-县; when relocation data exist), 台账,
    比较 (+ details; when a comparison is given), 审计, and one 协议-<seller>-<buyer> sheet per pairing — up to
    `max_agreement_sheets` pairings; a plan with more (a national-sized one) gets no agreement sheets, and the
    audit sheet points to the agreements zip instead (thousands of sheets would make the workbook unusable).

    Chinese headers with units, number formats, frozen header rows, column widths, print set-up. No cell is a
    formula: text is written as string cells and totals as numbers computed here. `report` is
    explain.county_report(scn, result) when the caller has it already (it is computed otherwise)."""
    import openpyxl
    from planner import __version__

    generated = generated or _now()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = f"节余指标流转规划 planner {__version__}"
    wb.properties.title = f"节余指标流转方案：{scn.name}"
    if allocation is None and len(scn.relocation):
        from planner.proceeds import allocate

        allocation = allocate(scn, result.pairings)
    p = result.pairings
    many = len(p) > max_agreement_sheets
    names = [""] * len(p) if many else agreement_sheet_names(p)
    extra = dict(audit_extra or {})
    if many:
        extra["协议表"] = (f"配对 {len(p)} 对，超过 {max_agreement_sheets} 对，工作簿不逐一列出协议表；"
                        f"请使用协议要点 ZIP（命令行：agreements 文件夹）。")
    facts = _Facts.of(scn)
    _sheet_params(wb, scn)
    _sheet_pairings(wb, scn, result, names)
    _sheet_counties(wb, scn, result, report)
    if allocation is not None:
        _sheet_proceeds(wb, scn, allocation)
    _sheet_ledger(wb, scn, result)
    if comparison is not None:
        _sheet_comparison(wb, comparison)
    _sheet_audit(wb, scn, result, generated, extra)
    if not many:
        for name, row in zip(names, p.to_dict("records")):
            _sheet_agreement(wb, name, _agreement_blocks(scn, result, row, "zh", _text, generated, facts))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbook(scn, result, path: Path, allocation=None, comparison=None, **kw) -> None:
    Path(path).write_bytes(workbook_bytes(scn, result, allocation, comparison, **kw))


__all__ = ["safe_cell", "unsafe_cell", "csv_bytes", "write_csv", "write_json", "ledger", "ledger_view",
           "agreement_markdown", "agreement_files", "agreements_zip", "write_agreements", "agreement_filenames",
           "agreement_sheet_names", "workbook_bytes", "write_workbook", "uses_plan_adjustment",
           "PLAN_ADJUSTMENT_CLAUSE", "LEDGER_COLUMNS", "HEADERS", "header"]
