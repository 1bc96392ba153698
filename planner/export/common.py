"""What every exported document shares: reading a pairing, the facts of one scenario computed once per export,
and the plan-adjustment test. Numbers and county names print through `planner.ledger` (one way everywhere)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from planner.audit import BEIJING, now_iso
from planner.ledger import blank, display_names, fixed, number, text

TOL = 1e-6


def uses_plan_adjustment(mu) -> bool:
    """A pairing uses plan-indicator adjustment (article 6 ¶2, 10(5)) when its plan_adjustment_mu is above zero."""
    return number(mu) > 0


def grade(value) -> str:
    x = number(value, float("nan"))
    if x != x:
        return ""
    return str(int(x)) if x.is_integer() else f"{x:g}"


def county_info(scn) -> dict[str, dict]:
    c = scn.counties.drop_duplicates("code")
    return {str(r["code"]): r for r in c.to_dict("records")}


def pairing_row(result, seller_code: str, buyer_code: str, year=None) -> dict:
    """The recommended pairing seller -> buyer (in `year`, with a horizon: the first year when not given)."""
    p = result.pairings
    hit = p[(p["seller_code"].astype(str) == str(seller_code)) & (p["buyer_code"].astype(str) == str(buyer_code))]
    if year is not None and "year" in hit:
        hit = hit[hit["year"].astype(str) == str(year)]
    if hit.empty:
        raise KeyError(f"no recommended pairing {seller_code} -> {buyer_code}")
    return hit.iloc[0].to_dict()


def is_deal(row: dict) -> bool:
    """A signed or filed agreement kept in the plan at its quantity and price (pairings `deal`)."""
    v = row.get("deal")
    if blank(v):
        return False
    return v.strip().lower() in ("true", "1", "yes") if isinstance(v, str) else bool(v)


def quality_of(row: dict) -> str:
    """ok | worse | unchecked: the model's `quality_check` of a pairing (article 4(二)), or the same reading of the
    two grades (1 is best) for a table that does not carry it."""
    check = text(row.get("quality_check")).lower()
    if check in ("ok", "worse", "unchecked"):
        return check
    g_s, g_b = number(row.get("reclaimed_grade"), float("nan")), number(row.get("occupied_grade"), float("nan"))
    if g_s != g_s or g_b != g_b:
        return "unchecked"
    return "worse" if g_s > g_b else "ok"


def quality_rule(scn) -> str:
    """How the scenario checks the farmland balance in quantity and quality of article 4(二): aggregate | pair | off."""
    return str(scn.param("rules", "quality_rule") or "off")


@dataclass
class Facts:
    """What every agreement of one scenario reads, computed once per export (the content hash alone costs a
    noticeable fraction of a second on a national-sized scenario)."""

    info: dict
    hash: str
    rule: str = "off"
    buyer_balance: dict | None = None  # buyer code -> (Σ quota × (reclaimed − occupied grade), Σ graded quota)

    @classmethod
    def of(cls, scn, pairings=None) -> Facts:
        return cls(county_info(scn), scn.content_hash(), quality_rule(scn),
                   buyer_balance(pairings) if pairings is not None else None)

    def quality(self, row: dict) -> str:
        """ok | worse | unchecked, or balanced: a worse pair under quality_rule = "aggregate" whose using county's
        plan is, taken together, no worse than the farmland it occupies (the rule the model enforces)."""
        check = quality_of(row)
        if check != "worse" or self.rule != "aggregate" or not self.buyer_balance:
            return check
        gap, graded = self.buyer_balance.get(str(row.get("buyer_code")), (1.0, 0.0))
        return "balanced" if graded > 0 and gap <= GRADE_TOL * graded else check

    def average_grade(self, row: dict) -> float:
        """The using county's quota-weighted reclaimed grade over the plan (for a balanced pair)."""
        gap, graded = (self.buyer_balance or {}).get(str(row.get("buyer_code")), (0.0, 0.0))
        return gap / graded + number(row.get("occupied_grade")) if graded > 0 else float("nan")


GRADE_TOL = 0.005  # grades in the pairings are rounded to 0.01


def buyer_balance(pairings) -> dict:
    """Per using county: Σ quota × (reclaimed − occupied grade) and the graded quota, over the plan (article 4(二)
    read per using county, as quality_rule = "aggregate" does)."""
    out: dict[str, tuple[float, float]] = {}
    for r in pairings.to_dict("records"):
        g_s, g_b, q = number(r.get("reclaimed_grade"), float("nan")), number(r.get("occupied_grade"), float("nan")), \
            number(r.get("quota_mu"))
        if g_s != g_s or g_b != g_b:
            continue
        gap, graded = out.get(str(r["buyer_code"]), (0.0, 0.0))
        out[str(r["buyer_code"])] = (gap + q * (g_s - g_b), graded + q)
    return out


MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def now() -> str:
    """The generation stamp of machine files: ISO 8601 in Beijing time (2026-11-27T19:35:38+08:00)."""
    return now_iso()


def document_date(stamp: str | None, lang: str = "zh") -> str:
    """The date a document shows for an ISO stamp, in Beijing time: 2026年11月27日 / 27 November 2026 (the stamp
    as given when it is not ISO: a caller's own wording is kept)."""
    try:
        when = dt.datetime.fromisoformat(str(stamp)) if stamp else dt.datetime.now(BEIJING)
    except ValueError:
        return str(stamp)
    when = when.replace(tzinfo=BEIJING) if when.tzinfo is None else when.astimezone(BEIJING)
    if lang == "en":
        return f"{when.day} {MONTHS_EN[when.month - 1]} {when.year}"
    return f"{when.year}年{when.month}月{when.day}日"


def total_price(quota: float, amount: float):
    """The quota-weighted average price of a totals row; None when nothing moved."""
    return amount / quota if quota > TOL else None


__all__ = ["TOL", "uses_plan_adjustment", "grade", "county_info", "pairing_row", "Facts", "quality_rule", "now",
           "document_date", "BEIJING", "total_price", "is_deal", "quality_of",
           "blank", "display_names", "fixed", "number", "text"]
