"""Explanations never misread a limit (issue 11 item 5, DESIGN 4's last paragraphs), checked on every solve.

Invariants, read off the plan as printed (quota to 0.01 亩, amounts to 0.01 万元):
- a seller with unsold < 0.01 亩 is `fully_sold`; a buyer with unmet < 0.01 亩 is `fully_met`;
- a buyer with unmet demand whose budget is spent to within 0.01 万元 is `budget`;
- a buyer told it was `outbid` has no limit of its own used up;
- no reason states a quantity that prints as 0 ("还有 0 亩") or a number with more than 2 decimals;
- a plan adjustment (article 6 ¶2) is used only where the buyer's construction cap binds, and both counties' reasons
  state it in the document's words "调减<产生县>建设用地总规模 X 亩、相应调增<使用县> X 亩";
- quality (article 4(二)): with a quality rule on, the buyer's reason lists the pairs a grade is missing for; with it
  off, the pairs whose reclaimed farmland is worse;
- reasons cite only the articles that say what the reason says, and use 产生县/使用县, never 出让/购入/结余.
Checked on the baseline, on hand cases reproducing the reported misreadings, and on random valid scenarios (the fuzz
generator of tests/test_fuzz.py, bounded and derandomized).
"""
from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given

from planner import i18n
from planner.explain import county_report, explain_counties, shadow_prices
from planner.model import solve
from planner.model.results import is_binding
from planner.validate import load_checked
from tests.independent import buyer, make_scenario, seller
from tests.test_fuzz import fuzz_settings, load_valid, valid_scenarios

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"
ZERO_QUANTITY = re.compile(r"(?<![\d.,])0(?:\.0+)?\s*(?:亩|万元)")
LONG_DECIMALS = re.compile(r"\d\.\d{3,}")
ZH_CITATION = re.compile(r"第[一二三四五六七八九十]+条(?:第[一二三四]款|（[一二三四五六七八九十]+）)?")
EN_CITATION = re.compile(r"articles? \d+(?: ¶\d|\(\d+\))?")
# What an explanation may cite, and for what (DESIGN 1): article 2 = only listed poverty counties sell; 6 ¶1 = the
# using county's caps; 6 ¶2 = plan adjustment; 4(二) = quality balance. Anything else is a planning choice.
ALLOWED_ZH = {"第二条", "第四条（二）", "第六条第一款", "第六条第二款"}
ALLOWED_EN = {"article 2", "article 4(2)", "article 6 ¶1", "article 6 ¶2"}
CITES = {  # locale key -> the one article it must cite
    "reason.not_eligible": ("第二条", "article 2"),
    "reason.construction": ("第六条第一款", "article 6 ¶1"),
    "reason.cultivated": ("第六条第一款", "article 6 ¶1"),
    "reason.quality": ("第四条（二）", "article 4(2)"),
    "reason_block.quality": ("第四条（二）", "article 4(2)"),
    "reason_note.plan_adjustment": ("第六条第二款", "article 6 ¶2"),
    "reason_note.quality_unchecked": ("第四条（二）", "article 4(2)"),
    "reason_note.quality_worse": ("第四条（二）", "article 4(2)"),
    "shadow.construction": ("第六条第一款", "article 6 ¶1"),
    "shadow.cultivated": ("第六条第一款", "article 6 ¶1"),
    "shadow.adjust_cap": ("第六条第二款", "article 6 ¶2"),
    "shadow.quality": ("第四条（二）", "article 4(2)"),
}
PREFIXES = ("reason.", "reason_block.", "reason_limit.", "reason_outbid.", "reason_note.", "shadow.")
BAD_TERMS = ("出让", "购入", "结余")
MU_TOL = WAN_TOL = 0.01


def _f(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v


def adjustment_words(seller_name: str, buyer_name: str, mu: float) -> str:
    text = f"{mu:,.2f}".rstrip("0").rstrip(".")
    return f"调减{seller_name}建设用地总规模 {text} 亩、相应调增{buyer_name} {text} 亩"


def check_invariants(scn, result) -> None:
    """Every invariant of the module docstring on one solved scenario."""
    assert result.has_solution, result.message
    rep = county_report(scn, result)
    cons = result.constraints
    binding = cons[is_binding(cons["slack"], cons["bound"])] if len(cons) else cons
    bind = {}
    for kind, code in zip(binding["kind"], binding["county_code"]):
        bind.setdefault(str(code), set()).add(kind)
    budget = dict(zip(scn.counties["code"].astype(str), scn.counties["budget_wan"].map(_f)))
    for r in rep.to_dict("records"):
        code, codes = str(r["code"]), r["reason_code"].split(";")
        text = r["reason_zh"] + " | " + r["reason_en"]
        where = (code, r["reason_code"], r["reason_en"])
        if r["role"] in ("seller", "both") and r["unsold_mu"] < MU_TOL:
            assert "fully_sold" in codes, where
        if r["role"] in ("buyer", "both"):
            if r["unmet_mu"] < MU_TOL:
                assert "fully_met" in codes, where
            elif math.isfinite(budget.get(code, math.nan)) and budget[code] - r["paid_wan"] <= WAN_TOL + 1e-9:
                assert "budget" in codes, (where, budget[code], r["paid_wan"])
        if "outbid" in codes:  # a buyer whose own limit binds is never told it was outbid
            own = bind.get(code, set()) & {"budget", "construction", "cultivated", "quality", "partners_buyer"}
            assert not own, (where, own)
            assert not (math.isfinite(budget.get(code, math.nan)) and budget[code] - r["paid_wan"] <= WAN_TOL), where
        assert not ZERO_QUANTITY.search(text), where
        assert not LONG_DECIMALS.search(text), where
        assert "{" not in text, where
        assert not [t for t in BAD_TERMS if t in r["reason_zh"]], where
        assert set(ZH_CITATION.findall(r["reason_zh"])) <= ALLOWED_ZH, where
        assert set(EN_CITATION.findall(r["reason_en"])) <= ALLOWED_EN, where
    reasons = rep.set_index("code")
    names = dict(zip(scn.counties["code"].astype(str), scn.counties["name"]))
    p = result.pairings
    for s, b, mu in zip(p["seller_code"], p["buyer_code"], p["plan_adjustment_mu"]):
        if mu >= MU_TOL:
            words = adjustment_words(names[s], names[b], mu)
            assert words in reasons.loc[s, "reason_zh"] and words in reasons.loc[b, "reason_zh"], words
            assert "article 6 ¶2" in reasons.loc[b, "reason_en"]
    rule = scn.param("rules", "quality_rule")
    flagged = "unchecked" if rule in ("pair", "aggregate") else "worse"
    for s, b in zip(p["seller_code"], p["buyer_code"]):
        row = p[(p["seller_code"] == s) & (p["buyer_code"] == b)]
        if (row["quality_check"] == flagged).any():
            assert names[s] in reasons.loc[b, "reason_zh"] and "第四条（二）" in reasons.loc[b, "reason_zh"], (s, b)
    for t in shadow_prices(scn, result)[["text_zh", "text_en"]].itertuples(index=False):
        assert not ZERO_QUANTITY.search(t.text_zh) and not LONG_DECIMALS.search(t.text_zh + t.text_en), t


def check_adjustment_only_where_needed(scn, result) -> None:
    """With a penalty > 0, a plan adjustment is used only where the buyer's construction cap binds (article 6 ¶2:
    only when planning space is truly short)."""
    cons = result.constraints
    tight = set(cons.loc[(cons["kind"] == "construction") & is_binding(cons["slack"], cons["bound"]), "county_code"])
    used = result.pairings.loc[result.pairings["plan_adjustment_mu"] > 0, "buyer_code"]
    assert set(used) <= tight, (set(used) - tight)


# --------------------------------------------------------------------------- the baseline


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn


def test_invariants_on_the_baseline(baseline):
    check_invariants(baseline, solve(baseline))


@pytest.mark.parametrize("rule", ["off", "pair", "aggregate"])
def test_invariants_on_the_baseline_with_plan_adjustment(baseline, rule):
    """The baseline with plan adjustment allowed at the default penalty, under each quality rule."""
    scn = baseline.with_param("rules", "allow_plan_adjustment", True).with_param(
        "rules", "plan_adjustment_penalty", 1.0).with_param("rules", "quality_rule", rule)
    result = solve(scn)
    check_invariants(scn, result)
    check_adjustment_only_where_needed(scn, result)


# --------------------------------------------------------------------------- the reported misreadings, by hand


def test_budget_spent_to_the_last_wan_reads_as_budget():
    """25,200 万元 at 27.33 万元/亩 buys 922.0636... 亩: printed 922.06 亩 for 25,199.90 万元. What is left cannot buy
    another 0.01 亩, so the budget is used up, not 'outbid', even when the model's budget row is not consulted."""
    scn = make_scenario([seller("S1", 2000, 27.33), seller("S2", 500, 27.33),
                         buyer("B1", 1500, 27.33, budget_wan=25200), buyer("B2", 3000, 27.33)])
    result = solve(scn)
    b1 = result.counties.set_index("code").loc["B1"]
    assert b1["paid_wan"] < 25200 and 25200 - b1["paid_wan"] < 0.01 * 27.33
    row = explain_counties(scn, result).set_index("code").loc["B1"]
    assert row["reason_code"] == "budget", row["reason_en"]
    assert "25,200 万元" in row["reason_zh"] and "25,200 万元" in row["reason_en"]
    check_invariants(scn, result)
    # the same verdict from the printed plan alone (solver dust in the budget row must not decide it)
    result.constraints = result.constraints[result.constraints["kind"] != "budget"].reset_index(drop=True)
    assert explain_counties(scn, result).set_index("code").loc["B1", "reason_code"] == "budget"


def test_budget_within_a_hundredth_of_a_wan():
    """Spent to 25,199.99984 of 25,200 万元 (what a solver reports) reads as used up."""
    scn = make_scenario([seller("S1", 2000, 20), buyer("B1", 2000, 30, budget_wan=25200), buyer("B2", 100, 28)])
    result = solve(scn)
    counties = result.counties.set_index("code")
    counties.loc["B1", "paid_wan"] = 25199.99984
    result.counties = counties.reset_index()
    cons = result.constraints
    cons.loc[(cons["kind"] == "budget") & (cons["county_code"] == "B1"), "slack"] = 0.00016
    row = explain_counties(scn, result).set_index("code").loc["B1"]
    assert row["reason_code"] == "budget" and "outbid" not in row["reason_en"], row["reason_en"]


def test_no_zero_left():
    """Surplus and demand with solver-size remainders (100.004 亩 sold as 100 亩): nothing prints as '还有 0 亩'."""
    scn = make_scenario([seller("S1", 100.004, 10), seller("S2", 50, 10), buyer("B1", 150.003, 30),
                         buyer("B2", 40, 20)])
    result = solve(scn)
    table = explain_counties(scn, result).set_index("code")
    assert table.loc["S1", "reason_code"] == "fully_sold"
    assert table.loc["B1", "reason_code"] == "fully_met"
    for text in list(table["reason_zh"]) + list(table["reason_en"]):
        assert not ZERO_QUANTITY.search(text), text
    check_invariants(scn, result)


def test_solver_dust_in_unsold_and_unmet_is_nothing_left():
    """Whatever the plan tables hold, less than 0.01 亩 left is fully sold / fully met."""
    scn = make_scenario([seller("S1", 100, 10), buyer("B1", 60, 30), buyer("B2", 80, 20)])
    result = solve(scn)
    c = result.counties.set_index("code")
    c.loc["S1", "unsold_mu"] = 0.004
    c.loc["B1", "unmet_mu"] = 0.0049
    result.counties = c.reset_index()
    table = explain_counties(scn, result).set_index("code")
    assert table.loc["S1", "reason_code"] == "fully_sold" and table.loc["B1", "reason_code"] == "fully_met"


def test_own_limit_is_never_outbid():
    """B2's construction cap binds while S1's quota went to better-paying B1: the reason is its cap, not 'outbid'."""
    scn = make_scenario([seller("S1", 100, 10), buyer("B1", 70, 30), buyer("B2", 80, 20, construction_headroom_mu=30)])
    result = solve(scn)
    row = explain_counties(scn, result).set_index("code").loc["B2"]
    assert row["reason_code"] == "construction", row["reason_en"]
    check_invariants(scn, result)


# --------------------------------------------------------------------------- plan adjustment (article 6 ¶2)


def adjustment_scenario(**rules):
    # B1 wants 100 亩 with 60 亩 of construction headroom; B2 wants 100 亩 with 500 亩 of headroom
    return make_scenario([seller("S1", 300, 10, plan_adjustable_mu=50),
                          buyer("B1", 100, 30, construction_headroom_mu=60),
                          buyer("B2", 100, 20, construction_headroom_mu=500)], allow_plan_adjustment=True, **rules)


def test_plan_adjustment_is_stated_in_the_documents_words():
    scn = adjustment_scenario()  # the default penalty (1.0)
    assert float(scn.param("rules", "plan_adjustment_penalty")) == 1.0
    result = solve(scn)
    used = result.pairings.set_index("buyer_code")["plan_adjustment_mu"]
    assert used["B1"] == pytest.approx(40) and used.get("B2", 0) == 0
    table = explain_counties(scn, result).set_index("code")
    words = "调减S1县建设用地总规模 40 亩、相应调增B1区 40 亩"
    assert words in table.loc["S1", "reason_zh"] and words in table.loc["B1", "reason_zh"]
    assert "第六条第二款" in table.loc["B1", "reason_zh"]
    en = "reduces S1县's total construction-land scale by 40 亩 and raises B1区's by 40 亩"
    assert en in table.loc["B1", "reason_en"]
    assert "调减" not in table.loc["B2", "reason_zh"]
    check_invariants(scn, result)
    check_adjustment_only_where_needed(scn, result)


def test_no_plan_adjustment_where_the_construction_cap_does_not_bind():
    """With the default penalty, a buyer whose construction cap has room gets no adjustment: here B1 is held by its
    budget, not by its 60 亩 of headroom."""
    scn = make_scenario([seller("S1", 300, 10, plan_adjustable_mu=50),
                         buyer("B1", 100, 30, construction_headroom_mu=60, budget_wan=800),
                         buyer("B2", 100, 20, construction_headroom_mu=500)], allow_plan_adjustment=True)
    result = solve(scn)
    assert result.totals["plan_adjustment_mu"] == 0
    assert not explain_counties(scn, result)["reason_zh"].str.contains("调减").any()
    check_adjustment_only_where_needed(scn, result)


# --------------------------------------------------------------------------- quality (article 4(二))


def test_unchecked_pairs_are_listed_on_the_buyers_reason():
    scn = make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=5), seller("S2", 100, 10),
                         buyer("B1", 150, 30, occupied_quality_grade=6)], quality_rule="aggregate")
    result = solve(scn)
    row = explain_counties(scn, result).set_index("code").loc["B1"]
    assert "S2县" in row["reason_zh"] and "未能核对" in row["reason_zh"] and "第四条（二）" in row["reason_zh"]
    assert "could not be checked" in row["reason_en"] and "S1县" not in row["reason_en"]
    check_invariants(scn, result)


def test_worse_pairs_are_flagged_when_the_rule_is_off():
    scn = make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=8),
                         seller("S2", 100, 10, reclaimed_quality_grade=3),
                         buyer("B1", 150, 30, occupied_quality_grade=6)], quality_rule="off")
    result = solve(scn)
    row = explain_counties(scn, result).set_index("code").loc["B1"]
    assert "S1县（复垦耕地 8 等，占用耕地 6 等）" in row["reason_zh"] and "第四条（二）" in row["reason_zh"]
    assert "S2县" not in row["reason_zh"] and "article 4(2)" in row["reason_en"]
    check_invariants(scn, result)


# --------------------------------------------------------------------------- citations and terms in the templates


def test_reason_templates_cite_only_what_the_articles_say():
    for lang, pattern, allowed in (("zh", ZH_CITATION, ALLOWED_ZH), ("en", EN_CITATION, ALLOWED_EN)):
        msgs = {k: v for k, v in i18n.messages(lang).items() if k.startswith(PREFIXES)}
        for key, text in msgs.items():
            found = set(pattern.findall(text))
            assert found <= allowed, (key, found)
            if key in CITES:
                assert found == {CITES[key][0 if lang == "zh" else 1]}, (key, found)
            if lang == "zh":
                assert not [t for t in BAD_TERMS if t in text], (key, text)


# --------------------------------------------------------------------------- random valid scenarios


@fuzz_settings(40)
@given(case=valid_scenarios())
def test_invariants_on_random_scenarios(case):
    with tempfile.TemporaryDirectory() as tmp:
        scn = load_valid(case, Path(tmp) / "s")
    check_invariants(scn, solve(scn, "highs", time_limit=30))
    if scn.param("rules", "allow_plan_adjustment"):
        # the default penalty: adjustments only where space is short
        scn = scn.with_param("rules", "plan_adjustment_penalty", 1.0)
        result = solve(scn, "highs", time_limit=30)
        check_invariants(scn, result)
        check_adjustment_only_where_needed(scn, result)
