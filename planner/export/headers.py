"""Column headers of the exported tables: the words come from the locale files (`field.<name>`, with units, in
`<lang>.fields.json`), shared with the screen; here only what kind of number each field holds, which picks its
number format and column width in the workbook."""
from __future__ import annotations

from planner.i18n import has_key, t

# field -> kind: int | code | text | long | mu | price | wan | per (see workbook.FMT)
FIELD_KINDS: dict[str, str] = {
    "seq": "int", "code": "code", "name": "text", "prefecture": "text", "poverty_class": "text", "role": "text",
    "eligible_seller": "text", "seller_code": "code", "seller_name": "text", "seller_prefecture": "text",
    "buyer_code": "code", "buyer_name": "text", "buyer_prefecture": "text", "quota_mu": "mu",
    "price_wan_per_mu": "price", "amount_wan": "wan", "plan_adjustment_mu": "mu", "lo_price": "price",
    "hi_price": "price", "agreed": "text", "deal": "text", "year": "code", "reclaimed_grade": "code",
    "occupied_grade": "code", "quality_check": "text", "note": "long", "agreement_sheet": "text", "surplus_mu": "mu",
    "sold_mu": "mu", "unsold_mu": "mu", "proceeds_wan": "wan", "demand_mu": "mu", "bought_mu": "mu",
    "unmet_mu": "mu", "paid_wan": "wan", "reason": "long",
    # ledger
    "produced_mu": "mu", "transferred_mu": "mu", "transferred_wan": "wan", "remaining_mu": "mu",
    "transferred_to": "long", "received_mu": "mu", "received_wan": "wan", "received_from": "long",
    "partners_out": "int", "partners_in": "int",
    # proceeds
    "county_code": "code", "county_name": "text", "group_id": "code", "village": "text",
    "resettlement_mode": "text", "destination_code": "code", "destination_name": "text", "households": "int",
    "persons": "int", "reclaimed_mu": "mu", "household_wan": "wan", "collective_wan": "wan", "total_wan": "wan",
    "per_person_wan": "per", "per_household_wan": "per", "gross_wan": "wan", "reclamation_wan": "wan",
    "financing_wan": "wan", "unallocated_wan": "wan", "groups": "int", "from_elsewhere_wan": "wan",
}


def header(field: str, lang: str = "zh") -> str:
    """The column header of `field` in `lang` (e.g. quota_mu -> 流转指标（亩）); the field name when unknown."""
    key = f"field.{field}"
    lang = "en" if lang == "en" else "zh"
    return t(key, lang) if has_key(key, lang) else field


def kind(field: str) -> str:
    return FIELD_KINDS.get(field, "text")


__all__ = ["FIELD_KINDS", "header", "kind"]
