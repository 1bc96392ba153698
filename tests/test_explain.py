"""Why a county sold or bought less than it could, and shadow prices in user terms (planner/explain.py).

Each case is a small hand-made market where one cause blocks one county; the reason code must name that cause and
the texts must be real sentences in Chinese and English.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.explain import county_report, explain_counties, shadow_prices
from planner.model import solve
from planner.validate import load_checked
from tests.independent import buyer, make_scenario, seller

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"
SOLVERS = ("highs", "cbc")
CJK = re.compile(r"[\u4e00-\u9fff]")


def base(s1=None, b1=None, b2=None, pairs=(), **rules):
    # S1 100 亩 floor 10; B1 60 亩 at price 20; B2 80 亩 at price 15
    return make_scenario([seller("S1", 100, 10, **(s1 or {})), buyer("B1", 60, 30, **(b1 or {})),
                          buyer("B2", 80, 20, **(b2 or {}))], pairs, **rules)


# (id, scenario factory, county, expected reason code, words the English text must contain)
CASES = [
    ("fully_sold", lambda: base(), "S1", "fully_sold", ["All surplus"]),
    ("fully_met", lambda: base(), "B1", "fully_met", ["All demand"]),
    # B2 gets 40 of 80: S1's quota went to B1, who pays 20 instead of 15
    ("outbid", lambda: base(), "B2", "outbid", ["40 亩", "better-paying"]),
    # surplus 200 against 140 of demand: 60 left because both buyers are full
    ("buyers_full", lambda: base(s1={"surplus_mu": 200}), "S1", "buyers_full", ["60 亩", "demand filled: 2"]),
    # a rich county's surplus may not be sold (article 2)
    ("not_eligible", lambda: make_scenario([seller("N0", 100, 5, cls="none"), seller("S1", 30, 10),
                                            buyer("B1", 30, 30)]), "N0", "not_eligible", ["article 2"]),
    # bands: S9's floor 50 is above every ceiling
    ("no_buyer_band", lambda: make_scenario([seller("S9", 100, 50), seller("S1", 100, 10), buyer("B1", 50, 30)]),
     "S9", "no_partner_seller", ["price bands do not overlap"]),
    # bands: B9's ceiling 5 is below every floor
    ("no_seller_band", lambda: make_scenario([seller("S1", 100, 10), buyer("B1", 50, 30), buyer("B9", 50, 5)]),
     "B9", "no_partner_buyer", ["price bands do not overlap"]),
    # quality per pair: S9's grade 12 cannot replace grade 5 farmland
    ("no_buyer_quality", lambda: make_scenario([seller("S9", 100, 10, reclaimed_quality_grade=12),
                                                seller("S1", 100, 10, reclaimed_quality_grade=3),
                                                buyer("B1", 50, 30, occupied_quality_grade=5)],
                                               quality_rule="pair"), "S9", "no_partner_seller", ["quality"]),
    ("no_seller_quality", lambda: make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=6),
                                                 buyer("B1", 50, 30, occupied_quality_grade=8),
                                                 buyer("B9", 50, 30, occupied_quality_grade=2)],
                                                quality_rule="pair"), "B9", "no_partner_buyer", ["quality"]),
    # exclusion
    ("no_buyer_excluded", lambda: make_scenario([seller("S9", 100, 10), seller("S1", 100, 10), buyer("B1", 50, 30)],
                                                [{"seller_code": "S9", "buyer_code": "B1", "excluded": True}]),
     "S9", "no_partner_seller", ["excluded"]),
    ("no_seller_excluded", lambda: base(pairs=[{"seller_code": "S1", "buyer_code": "B2", "excluded": True}]),
     "B2", "no_partner_buyer", ["excluded"]),
    # B1's budget 600 buys 30 of its 60 亩
    ("budget", lambda: base(b1={"budget_wan": 600}), "B1", "budget", ["30 亩", "600 万元"]),
    ("construction", lambda: base(b1={"construction_headroom_mu": 25}), "B1", "construction", ["35 亩", "article 6 ¶1"]),
    ("cultivated", lambda: base(b1={"cultivated_headroom_mu": 12, "cultivated_share": 0.4}), "B1", "cultivated",
     ["30 亩", "cultivated", "article 6 ¶1"]),
    # aggregate quality: B1 can only take 75 of 200 亩 (grade 8 quota must be balanced by grade 2 quota)
    ("quality_aggregate", lambda: make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=8),
                                                 seller("S2", 50, 10, reclaimed_quality_grade=2),
                                                 buyer("B1", 200, 30, occupied_quality_grade=4)],
                                                quality_rule="aggregate"), "B1", "quality", ["125 亩", "article 4(2)"]),
    # a single buyer that got all there was: not outbid, the quota ran out
    ("supply_short", lambda: make_scenario([seller("S1", 30, 10), buyer("B1", 100, 30)]), "B1", "supply_short",
     ["70 亩"]),
    # one partner per seller: S1 sells 90 to B2 and keeps 10
    ("partner_limit", lambda: base(b2={"demand_mu": 90}, max_partners_per_seller=1), "S1", "partner_limit",
     ["10 亩", "partner limit"]),
    # one partner per buyer: B1 takes S1's 50 亩 and may not add S2 (its own limit, worded as unmet demand)
    ("partner_limit_buyer", lambda: make_scenario([seller("S1", 50, 10), seller("S2", 50, 10), buyer("B1", 100, 30)],
                                                  max_partners_per_buyer=1), "B1", "partner_limit",
     ["50 亩", "demand unmet", "partner limit"]),
    # lots of at least 50 亩: after B1's 60 亩, S1's 40 亩 and B2's 30 亩 are both too small for a new pairing
    ("min_lot_seller", lambda: base(b2={"demand_mu": 30}, min_lot_mu=50), "S1", "min_lot", ["40 亩", "50 亩"]),
    ("min_lot_buyer", lambda: base(b2={"demand_mu": 30}, min_lot_mu=50), "B2", "min_lot", ["30 亩", "50 亩"]),
    # with the volume objective every buyer scores the same: not "better-paying"
    ("outbid_volume", lambda: base(objective="volume"), "B1", "outbid", ["40 亩", "equal terms"]),
    # price 0 (no floor, θ = 0): selling gains nothing, and the buyer is not outbid: its seller still has quota
    ("not_chosen", lambda: make_scenario([seller("S1", 100), buyer("B1", 50, 0)], pricing={"bargaining_weight": 0}),
     "S1", "not_chosen", ["100 亩", "gains nothing"]),
    ("not_chosen_buyer", lambda: make_scenario([seller("S1", 100), buyer("B1", 50, 0)],
                                               pricing={"bargaining_weight": 0}), "B1", "not_chosen",
     ["50 亩", "still have quota"]),
]


@pytest.fixture(scope="module")
def explained():
    out = {}
    for cid, factory, *_ in CASES:
        scn = factory()
        out[cid] = {sv: (scn, solve(scn, sv)) for sv in SOLVERS}
    return out


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("cid,factory,county,code,words", CASES, ids=[c[0] for c in CASES])
def test_reason(explained, solver, cid, factory, county, code, words):
    scn, result = explained[cid][solver]
    assert result.status == "optimal"
    table = explain_counties(scn, result)
    assert list(table["code"]) == list(scn.counties["code"])  # one row per county, in order
    row = table.set_index("code").loc[county]
    assert row["reason_code"] == code, (row["reason_code"], row["reason_en"])
    assert CJK.search(row["reason_zh"]) and len(row["reason_zh"]) >= 8
    assert re.search(r"[A-Za-z]{3,}", row["reason_en"]) and not CJK.sub("", row["reason_en"]).strip() == ""
    for w in words:
        assert w in row["reason_en"], (w, row["reason_en"])
    # the same number appears in the Chinese text
    for w in words:
        m = re.match(r"([\d,.]+) (亩|万元)", w)
        if m:
            assert m.group(1) in row["reason_zh"], (w, row["reason_zh"])
    # no placeholder left unfilled
    assert "{" not in row["reason_zh"] + row["reason_en"]


def test_every_county_gets_a_reason_on_the_baseline():
    scn, _ = load_checked(BASELINE)
    result = solve(scn)
    rep = county_report(scn, result)
    assert len(rep) == len(scn.counties)
    assert rep["reason_code"].str.len().gt(0).all()
    assert rep["reason_zh"].map(lambda t: bool(CJK.search(t))).all()
    # counties that neither sell nor buy say so; eligible sellers never get not_eligible
    assert not rep.loc[rep["eligible_seller"], "reason_code"].str.contains("not_eligible").any()


def test_failed_solve_is_not_explained():
    scn = base()
    result = solve(scn)
    result.has_solution = False
    assert set(explain_counties(scn, result)["reason_code"]) == {"not_solved"}


# --------------------------------------------------------------------------- shadow prices in words

def three_buyers():
    # supply 15, B1 budget 0.25, B3 construction 3 (see tests/test_model.py)
    return make_scenario([seller("S1", 100, 10), buyer("B1", 60, 30, budget_wan=600), buyer("B2", 80, 20),
                          buyer("B3", 50, 26, construction_headroom_mu=25)])


@pytest.mark.parametrize("solver", SOLVERS)
def test_shadow_price_texts(solver):
    scn = three_buyers()
    sp = shadow_prices(scn, solve(scn, solver))
    got = {(k, c): v for k, c, v in zip(sp["kind"], sp["code"], sp["shadow_price"])}
    assert got == pytest.approx({("supply", "S1"): 15, ("budget", "B1"): 0.25, ("construction", "B3"): 3})
    assert list(sp["shadow_price"].abs()) == sorted(sp["shadow_price"].abs(), reverse=True)  # largest first
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    for r in sp.to_dict("records"):
        assert names[r["code"]] in r["text_zh"] and names[r["code"]] in r["text_en"]
        assert CJK.search(r["text_zh"]) and "万元" in r["text_zh"]
        assert "proceeds" in r["text_en"]
    supply = sp.set_index("kind").loc["supply"]
    assert "15" in supply["text_zh"] and "15" in supply["text_en"]
    budget = sp.set_index("kind").loc["budget"]
    assert "0.25" in budget["text_en"] and "budget" in budget["text_en"]


def test_shadow_price_units_follow_the_objective():
    scn = make_scenario([seller("S1", 50, 10), buyer("B1", 100, 30)], objective="volume")
    sp = shadow_prices(scn, solve(scn))
    assert list(sp["kind"]) == ["supply"] and sp["shadow_price"].iloc[0] == pytest.approx(1)
    assert "亩 transferred" in sp["text_en"].iloc[0] and "流转量" in sp["text_zh"].iloc[0]


def test_integer_plan_shadow_prices_hold_with_its_pairings():
    """An integer plan (minimum transfer size) used to have no shadow prices, so the tab was empty for the default
    scenario. Now they are the duals with the pairings fixed: one more 亩 for S1 goes to B2 at 15 万元/亩."""
    scn = base(min_lot_mu=5)
    result = solve(scn)
    assert result.is_mip
    sp = shadow_prices(scn, result)
    supply = sp[(sp["kind"] == "supply") & (sp["code"] == "S1")]
    assert supply["shadow_price"].tolist() == [pytest.approx(15.0)]
    more = make_scenario([seller("S1", 101, 10), buyer("B1", 60, 30), buyer("B2", 80, 20)], min_lot_mu=5)
    assert solve(more).objective - result.objective == pytest.approx(15.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_unreachable_minimum_sale_is_not_priced_in_wan(solver):
    """S1 cannot sell (floor 40 above B1's ceiling), so its 30 亩 minimum sale is missed whatever happens; lowering it
    changes no proceeds. The solver's dual there is the shortfall penalty and must not be shown as 万元."""
    scn = make_scenario([seller("S1", 100, 40), seller("S2", 100, 20, cls="provincial"), buyer("B1", 100, 30)],
                        min_sale_share=0.3)
    sp = shadow_prices(scn, solve(scn, solver))
    assert "min_sale" not in set(sp["kind"])
    assert (sp["shadow_price"].abs() < 100).all(), sp
    # where the minimum is met and binds, its value is real: S1 selling 1 亩 less lets S2 sell it at 25, not 20
    met = make_scenario([seller("S1", 100, 10), seller("S2", 100, 20, cls="provincial"), buyer("B1", 100, 30)],
                        min_sale_share=0.3)
    sp = shadow_prices(met, solve(met, solver)).set_index(["kind", "code"])
    assert sp.loc[("min_sale", "S1"), "shadow_price"] == pytest.approx(5)
    assert "S1县" in sp.loc[("min_sale", "S1"), "text_zh"]


def test_buyers_full_does_not_blame_other_sellers_when_there_are_none():
    # S1 is the only seller; its buyers are full of S1's own quota
    scn = base(s1={"surplus_mu": 200})
    row = explain_counties(scn, solve(scn)).set_index("code").loc["S1"]
    assert row["reason_code"] == "buyers_full"
    assert "other seller" not in row["reason_en"] and "其他产生县" not in row["reason_zh"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_shortfall_penalty_does_not_leak_into_other_shadow_prices(solver):
    """S1 must sell 50 亩 but its only buyer B1 wants 20, so 30 亩 of its minimum sale are missed. One more 亩 of
    B1's demand would add 20 万元 (and cut the shortfall by 1 亩); the solver's dual on B1's demand row is 20 plus the
    shortfall penalty and must not be shown as hundreds of thousands of 万元. S2's supply (18.5) is still shown."""
    scn = make_scenario([seller("S1", 100, 10), seller("S2", 100, 12, cls="provincial"), buyer("B1", 20, 30),
                         buyer("B2", 200, 25)], [{"seller_code": "S1", "buyer_code": "B2", "excluded": True}],
                        min_sale_share=0.5)
    result = solve(scn, solver)
    assert result.totals["min_sale_shortfall_mu"] == pytest.approx(30)
    sp = shadow_prices(scn, result)
    assert (sp["shadow_price"].abs() < 100).all(), sp
    got = dict(zip(zip(sp["kind"], sp["code"]), sp["shadow_price"]))
    assert got == pytest.approx({("supply", "S2"): 18.5})
