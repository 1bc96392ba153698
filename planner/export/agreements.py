"""The transfer-agreement sheet of one pairing (article 16) with the using county's application materials checklist
(articles 9, 10), built once as language-neutral blocks.

Every sentence is a locale key (`agreement.*` in `<lang>.export.json`) filled with the pairing's figures, so the
Chinese and the English sheet are the same structure with different words, and the Markdown, worksheet and Word
renderers all draw the same blocks. The plan-indicator adjustment clause, with the exact change of both counties'
construction-land totals, appears exactly when the pairing uses plan adjustment (article 6 ¶2, 10(五)); both
farmland grades are always shown and a pair whose reclaimed farmland is worse, or could not be checked, is flagged
(article 4(二)); a signed or filed deal is marked as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from planner.export.common import (Facts, document_date, fixed, grade, is_deal, number, text,
                                   uses_plan_adjustment)
from planner.ledger import plan_adjustment_sentence
from planner.i18n import choice_label, t

CN_NUM = "一二三四五六七八九十"
NINE_PARTS = 7  # article 9 (1)-(7): the parts of the new-construction implementation plan


@dataclass
class Block:
    """One element of an agreement sheet, rendered to Markdown, worksheet rows or a Word document.

    kind: title | note | heading | field | check. For field/check: `label` and `text`; `level` for nested checks;
    `number`/`unit` (mu | price | wan) let the worksheet keep quantities as numbers."""

    kind: str
    text: str = ""
    label: str = ""
    level: int = 1
    number: float | None = None
    unit: str | None = None


def plan_adjustment_clause(lang: str) -> str:
    """What the producing county's commitment letter agrees to when a pairing uses plan adjustment (article 10(五))."""
    return t("agreement.plan_adjustment_clause", lang)


def agreement_blocks(scn, row: dict, lang: str, esc, generated: str, facts: Facts | None = None) -> list[Block]:
    """The blocks of one pairing's agreement sheet in `lang`; `esc` escapes user text for the target format."""
    lang = "en" if lang == "en" else "zh"
    facts = facts or Facts.of(scn)

    def say(key: str, **kw) -> str:
        return t(f"agreement.{key}", lang, **kw)

    s_code, b_code = str(row["seller_code"]), str(row["buyer_code"])
    s, b = facts.info.get(s_code, {}), facts.info.get(b_code, {})
    s_pref_raw, b_pref_raw = text(s.get("prefecture")), text(b.get("prefecture"))
    quota, price, amount = number(row["quota_mu"]), number(row["price_wan_per_mu"]), number(row["amount_wan"])
    adj = number(row.get("plan_adjustment_mu"))
    uses_adj = uses_plan_adjustment(adj)
    lo, hi = number(row.get("lo_price"), math.nan), number(row.get("hi_price"), math.nan)
    # the grades of this pairing as the model read them (a lot's own grade with lots), else the county's
    g_s = grade(row.get("reclaimed_grade")) or grade(s.get("reclaimed_quality_grade"))
    g_b = grade(row.get("occupied_grade")) or grade(b.get("occupied_quality_grade"))
    quality = facts.quality({**row, "reclaimed_grade": g_s, "occupied_grade": g_b})
    cost = number(scn.param("proceeds", "reclamation_cost_per_mu"))
    prefs = list(dict.fromkeys(x for x in (s_pref_raw, b_pref_raw) if x))
    seller = esc(s.get("name") or row.get("seller_name") or s_code)
    buyer = esc(b.get("name") or row.get("buyer_name") or b_code)
    year = text(row.get("year"))
    v = {  # the placeholders every sentence may use
        "seller": seller, "buyer": buyer,
        "seller_pref": esc(s_pref_raw) if s_pref_raw else say("pref_unknown"),
        "buyer_pref": esc(b_pref_raw) if b_pref_raw else say("pref_unknown"),
        "seller_code": esc(s_code), "buyer_code": esc(b_code),
        "seller_class": choice_label("poverty_class", s.get("poverty_class"), lang),
        "quota": fixed(quota), "price": fixed(price), "amount": fixed(amount), "adj": fixed(adj),
        "band": f"{fixed(lo)}–{fixed(hi) if math.isfinite(hi) else say('band_open')}",
        "cost": fixed(cost), "reclaim": fixed(min(amount, cost * quota)),
        "reclaimed_grade": say("grade_value", grade=g_s) if g_s else say("grade_missing"),
        "occupied_grade": say("grade_value", grade=g_b) if g_b else say("grade_missing"),
        "clause": plan_adjustment_clause(lang),
        "change": plan_adjustment_sentence(seller, buyer, adj, lang),
        "filing": say("filing_sep").join(esc(x) for x in prefs) or say("filing_unknown"),
        "year": year[:-2] if year.endswith(".0") else year,
        "average": fixed(facts.average_grade(row)),
    }

    def field(key: str, number_: float | None = None, unit: str | None = None, value: str | None = None) -> Block:
        return Block("field", value if value is not None else say(key, **v), say(f"{key}_label"), number=number_,
                     unit=unit)

    def check(key: str, value: str | None = None) -> Block:
        return Block("check", value if value is not None else say(key, **v), say(f"{key}_label"))

    out = [
        Block("title", say("title_year" if v["year"] else "title", **v)),
        Block("note", say("intro")),
        field("scenario", value=esc(scn.name) or "—"),
        field("plan_ref", value=say("plan_ref", hash=facts.hash)),
        field("generated", value=say("generated", date=document_date(generated, lang))),
    ]
    if is_deal(row):
        out.append(field("deal"))
    out += [
        Block("heading", say("h_parties")),
        field("party_a"), field("party_b"),
        Block("heading", say("h_quota")),
    ]
    if v["year"]:
        out.append(field("year"))
    out += [
        field("quota", quota, "mu"), field("price", price, "price"),
        field("pricing", value=say("pricing_deal") if is_deal(row) else say("pricing_agreed") if row.get("agreed")
              else say("pricing_band", **v)),
        field("amount", amount, "wan"),
        Block("heading", say("h_quality")),
        field("reclaimed_grade"), field("occupied_grade"),
        field("quality_check", value=say(f"quality_{quality}", **{**v, "reclaimed_grade": g_s, "occupied_grade": g_b})),
        Block("heading", say("h_payment")),
        field("payment"), field("payment_deadline"), field("account"), field("use"), field("reclaim_cost"),
        Block("heading", say("h_reclamation")),
        field("reclamation"), field("deadline"), field("late"), field("turnover"), field("party_b_duty"),
        Block("heading", say("h_adjust")),
    ]
    out += [field("adjust_size", adj, "mu"), field("adjust_clause")] if uses_adj else [field("no_adjust")]
    grade_note = say("m2_grade", grade=g_b) if g_b else say("m2_no_grade")
    out += [
        Block("heading", say("h_filing")),
        field("filing"),
        Block("heading", say("h_materials")),
        Block("note", say("materials_intro", **v)),
        check("m1"), check("m2", say("m2", grade_note=grade_note, **v)), check("m3"),
    ]
    out += _nine_parts(say, v, b, g_b)
    commit = say("m5", **v) + (say("m5_adjust", **v) if uses_adj else "")
    out += [
        check("m4"), check("m5", commit),
        Block("heading", say("h_sign")),
        field("sign_a"), field("sign_rep", value=say("sign_blank")), field("sign_date", value=say("date_blank")),
        field("sign_b"), field("sign_rep", value=say("sign_blank")), field("sign_date", value=say("date_blank")),
    ]
    return out


def _nine_parts(say, v: dict, buyer: dict, g_b: str) -> list[Block]:
    """Article 9 (1)-(7), each with what this pairing already says about it."""
    extra = {3: say("part9_extra_4", **v), 4: say("part9_extra_5", **v)}  # 0-based: parts (四) and (五)
    if g_b:
        extra[1] = say("part9_extra_2", grade=g_b)
    cons = number(buyer.get("construction_headroom_mu"), math.nan)
    cult = number(buyer.get("cultivated_headroom_mu"), math.nan)
    bits = [say("construction_headroom", mu=fixed(cons)) if math.isfinite(cons) else "",
            say("cultivated_headroom", mu=fixed(cult)) if math.isfinite(cult) else ""]
    if any(bits):
        extra[5] = say("part9_extra_6", bits=say("bits_sep").join(x for x in bits if x))
    return [Block("check", say(f"part9_{i + 1}", extra=extra.get(i, "")),
                  say("part9_label", n=i + 1, cn=CN_NUM[i]), level=2) for i in range(NINE_PARTS)]


__all__ = ["Block", "agreement_blocks", "plan_adjustment_clause", "CN_NUM"]
