"""The matching model (DESIGN section 4) against hand-computed optima and an independent scipy formulation.

Every hand-made case states its optimum worked out by hand in the comment; the same value is checked for
planner.model.solve with HiGHS and CBC and for the independent formulation in tests/independent.py.
"""
from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np
import pytest

from planner.model import solve
from planner.validate import errors, load_checked, validate_scenario
from tests.independent import (buyer, make_scenario, objective_of, plan_from_pairings, printed_slack, seller,
                               shortfall_of,
                               solve_independent, violations)

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"
SOLVERS = ("highs", "cbc")


def close(a, b, rel=1e-6, abs_=1e-6):
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# Shared market: S1 sells 100 亩 at floor 10; B1 wants 60 (ceiling 30, price 20 at θ=.5); B2 wants 80 (ceiling 20,
# price 15).
def base(s1=None, b1=None, b2=None, pairs=(), pricing=None, **rules):
    return make_scenario([seller("S1", 100, 10, **(s1 or {})), buyer("B1", 60, 30, **(b1 or {})),
                          buyer("B2", 80, 20, **(b2 or {}))], pairs, pricing, **rules)


def one_pair(**kw):
    """S1 (100 亩, floor 10) and one buyer B1 (50 亩, ceiling 30)."""
    pricing = kw.pop("pricing", None)
    pairs = kw.pop("pairs", ())
    return make_scenario([seller("S1", 100, 10), buyer("B1", 50, 30)], pairs, pricing, **kw)


def quality_market(rule):
    # S1 grade 8 (100 亩), S2 grade 2 (50 亩); B1 occupies grade 4, wants 200 at price 20.
    return make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=8),
                          seller("S2", 50, 10, reclaimed_quality_grade=2),
                          buyer("B1", 200, 30, occupied_quality_grade=4)], quality_rule=rule)


def two_buyers_objective(objective):
    # S1 50 亩 floor 10. B1: band 10..30 (price 20, width 20). B2: ceiling 25, pair floor 20 -> band 20..25
    # (price 22.5, width 5).
    return make_scenario([seller("S1", 50, 10), buyer("B1", 50, 30), buyer("B2", 50, 25)],
                         [{"seller_code": "S1", "buyer_code": "B2", "floor_price": 20}], objective=objective)


def budget_volume(objective):
    # B1 (ceiling 40, budget 1000) can buy from S1 (20 亩, price 25) and S2 (100 亩, price 35).
    return make_scenario([seller("S1", 20, 10), seller("S2", 100, 30), buyer("B1", 100, 40, budget_wan=1000)],
                         objective=objective)


def weights(nk, prov, objective="proceeds"):
    # S1 national key and S2 provincial, 50 亩 each, same price 20 to B1 who wants 50.
    return make_scenario([seller("S1", 50, 10), seller("S2", 50, 10, cls="provincial"), buyer("B1", 50, 30)],
                         objective=objective, priority_weight_national_key=nk, priority_weight_provincial=prov)


def min_sale(share, s1_floor=10):
    # S1 (national key, price 20 to B1) and S2 (provincial, price 25); B1 wants 100.
    return make_scenario([seller("S1", 100, s1_floor), seller("S2", 100, 20, cls="provincial"), buyer("B1", 100, 30)],
                         min_sale_share=share)


# (id, scenario factory, optimum, unique pairings {(s, b): 亩} or None, unique plan adjustments or None)
CASES = [
    # supply binds: B1 60 at 20 + B2 40 at 15 = 1800
    ("supply", lambda: base(), 1800, {("S1", "B1"): 60, ("S1", "B2"): 40}, None),
    # demand binds (surplus 200): 60*20 + 80*15 = 2400
    ("demand", lambda: base(s1={"surplus_mu": 200}), 2400, {("S1", "B1"): 60, ("S1", "B2"): 80}, None),
    # B1 budget 600 buys 30 at 20; B2 takes the other 70 at 15: 600 + 1050
    ("budget", lambda: base(b1={"budget_wan": 600}), 1650, {("S1", "B1"): 30, ("S1", "B2"): 70}, None),
    # B1 construction headroom 25: 25*20 + 75*15 = 1625
    ("construction", lambda: base(b1={"construction_headroom_mu": 25}), 1625,
     {("S1", "B1"): 25, ("S1", "B2"): 75}, None),
    # adjustment of 10 lifts B1 to 35: gains (20-15)*10, costs 2*10: 700 + 975 - 20
    ("plan_adjustment", lambda: base(s1={"plan_adjustable_mu": 10}, b1={"construction_headroom_mu": 25},
                                     allow_plan_adjustment=True, plan_adjustment_penalty=2.0), 1655,
     {("S1", "B1"): 35, ("S1", "B2"): 65}, {("S1", "B1"): 10}),
    # penalty 6 > gain 5 per 亩: no adjustment
    ("plan_adjustment_too_dear", lambda: base(s1={"plan_adjustable_mu": 10}, b1={"construction_headroom_mu": 25},
                                              allow_plan_adjustment=True, plan_adjustment_penalty=6.0), 1625,
     {("S1", "B1"): 25, ("S1", "B2"): 75}, {}),
    # not allowed: the cap holds
    ("plan_adjustment_off", lambda: base(s1={"plan_adjustable_mu": 10}, b1={"construction_headroom_mu": 25},
                                         allow_plan_adjustment=False), 1625, {("S1", "B1"): 25, ("S1", "B2"): 75},
     {}),
    # allowed but the seller has no plan-adjustable space
    ("plan_adjustment_no_space", lambda: base(b1={"construction_headroom_mu": 25}, allow_plan_adjustment=True),
     1625, {("S1", "B1"): 25, ("S1", "B2"): 75}, {}),
    # a <= x: S1 has 50 亩 of plan space but only 10 亩 to sell; B1 has zero headroom, so S2 cannot sell to it:
    # sum x <= a_S1 <= x_S1 <= 10 (volume objective)
    ("adjust_at_most_sold", lambda: make_scenario(
        [seller("S1", 10, 10, plan_adjustable_mu=50), seller("S2", 100, 10),
         buyer("B1", 100, 30, construction_headroom_mu=0)], objective="volume", allow_plan_adjustment=True, plan_adjustment_penalty=0.0),
     10, {("S1", "B1"): 10}, {("S1", "B1"): 10}),
    # sum_b a_sb <= plan_adjustable_s: two zero-headroom buyers share S1's 10 亩 of plan space
    ("adjust_cap_per_seller", lambda: make_scenario(
        [seller("S1", 100, 10, plan_adjustable_mu=10), buyer("B1", 50, 30, construction_headroom_mu=0),
         buyer("B2", 50, 30, construction_headroom_mu=0)], objective="volume", allow_plan_adjustment=True, plan_adjustment_penalty=0.0),
     10, None, None),
    # cultivated: 0.4 * x_B1 <= 12 -> B1 30: 600 + 70*15
    ("cultivated_share", lambda: base(b1={"cultivated_headroom_mu": 12, "cultivated_share": 0.4}), 1650,
     {("S1", "B1"): 30, ("S1", "B2"): 70}, None),
    # blank share means 1: B1 12 (240) + B2 80 (1200)
    ("cultivated_default_share", lambda: base(b1={"cultivated_headroom_mu": 12}), 1440,
     {("S1", "B1"): 12, ("S1", "B2"): 80}, None),
    # quality per pair: grade 5 seller cannot replace grade 4 land (B1) but can replace grade 6 (B2): 80*15
    ("quality_pair", lambda: base(s1={"reclaimed_quality_grade": 5}, b1={"occupied_quality_grade": 4},
                                  b2={"occupied_quality_grade": 6}, quality_rule="pair"), 1200,
     {("S1", "B2"): 80}, None),
    # equal grades are allowed
    ("quality_pair_equal", lambda: base(s1={"reclaimed_quality_grade": 5}, b1={"occupied_quality_grade": 5},
                                        b2={"occupied_quality_grade": 6}, quality_rule="pair"), 1800,
     {("S1", "B1"): 60, ("S1", "B2"): 40}, None),
    # aggregate: 4*x1 - 2*x2 <= 0 -> x1 <= 25 with x2 = 50: 75*20
    ("quality_aggregate", lambda: quality_market("aggregate"), 1500, {("S1", "B1"): 25, ("S2", "B1"): 50}, None),
    ("quality_pair_two_sellers", lambda: quality_market("pair"), 1000, {("S2", "B1"): 50}, None),
    ("quality_off", lambda: quality_market("off"), 3000, {("S1", "B1"): 100, ("S2", "B1"): 50}, None),
    # guidance band 12..25 inside 10..30: price 18.5, 50 亩
    ("guide_band", lambda: one_pair(pricing={"guide_floor": 12, "guide_ceiling": 25}), 925, {("S1", "B1"): 50},
     None),
    # pair band 14..20 tightens further: price 17
    ("pair_band", lambda: one_pair(pricing={"guide_floor": 12, "guide_ceiling": 25},
                                   pairs=[{"seller_code": "S1", "buyer_code": "B1", "floor_price": 14,
                                           "ceiling_price": 20}]), 850, {("S1", "B1"): 50}, None),
    # a looser pair band does not widen: lo = max(10, 12, 5), hi = min(30, 25, 40): 18.5
    ("pair_band_loose", lambda: one_pair(pricing={"guide_floor": 12, "guide_ceiling": 25},
                                         pairs=[{"seller_code": "S1", "buyer_code": "B1", "floor_price": 5,
                                                 "ceiling_price": 40}]), 925, {("S1", "B1"): 50}, None),
    # guidance ceiling 9 below the seller floor 10: empty band, nothing moves
    ("guide_empty_band", lambda: one_pair(pricing={"guide_ceiling": 9}), 0, {}, None),
    # pair ceiling 8 below floor 10: empty band
    ("pair_empty_band", lambda: one_pair(pairs=[{"seller_code": "S1", "buyer_code": "B1", "ceiling_price": 8}]),
     0, {}, None),
    # agreed price 13 fixes the price
    ("agreed_price", lambda: one_pair(pairs=[{"seller_code": "S1", "buyer_code": "B1", "agreed_price": 13}]), 650,
     {("S1", "B1"): 50}, None),
    # excluded S1-B1: only B2 (80 at 15)
    ("excluded", lambda: base(pairs=[{"seller_code": "S1", "buyer_code": "B1", "excluded": True}]), 1200,
     {("S1", "B2"): 80}, None),
    # θ: price = 10 + θ*20
    ("theta_0", lambda: one_pair(pricing={"bargaining_weight": 0.0}), 500, {("S1", "B1"): 50}, None),
    ("theta_1", lambda: one_pair(pricing={"bargaining_weight": 1.0}), 1500, {("S1", "B1"): 50}, None),
    ("theta_quarter", lambda: one_pair(pricing={"bargaining_weight": 0.25}), 750, {("S1", "B1"): 50}, None),
    # objectives: proceeds picks B2 (22.5/亩), surplus picks B1 (width 20 vs 5), volume is indifferent
    ("objective_proceeds", lambda: two_buyers_objective("proceeds"), 1125, {("S1", "B2"): 50}, None),
    ("objective_surplus", lambda: two_buyers_objective("surplus"), 1000, {("S1", "B1"): 50}, None),
    ("objective_volume_tie", lambda: two_buyers_objective("volume"), 50, None, None),
    # volume under a budget buys the cheap 20 亩 first then 500/35 亩: 20 + 100/7
    ("objective_volume", lambda: budget_volume("volume"), 20 + 100 / 7, {("S1", "B1"): 20, ("S2", "B1"): 100 / 7},
     None),
    # proceeds under the same budget: whatever mix, the budget 1000 is spent
    ("objective_proceeds_budget", lambda: budget_volume("proceeds"), 1000, None, None),
    # priority weights: provincial 2 -> S2 sells: 2*20*50; national key 3 -> S1: 3*20*50
    ("weights_provincial", lambda: weights(1.0, 2.0), 2000, {("S2", "B1"): 50}, None),
    ("weights_national_key", lambda: weights(3.0, 1.0), 3000, {("S1", "B1"): 50}, None),
    ("weights_volume", lambda: weights(1.0, 2.0, "volume"), 100, {("S2", "B1"): 50}, None),
    # ineligible seller (class none, cheaper) never sells; S1 sells its 30 at 20
    ("ineligible", lambda: make_scenario([seller("N0", 100, 5, cls="none"), seller("S1", 30, 10),
                                          buyer("B1", 100, 30)]), 600, {("S1", "B1"): 30}, None),
    # a seller that also wants quota cannot sell to itself
    ("no_self_pair", lambda: make_scenario([seller("S1", 100, 10, demand_mu=50, ceiling_price=30),
                                            buyer("B1", 30, 30)]), 600, {("S1", "B1"): 30}, None),
    # min lot 40: LP optimum (70 + 30) is not allowed; 60 + 40 = 1200 + 600 beats 70 alone (1400), 100 to B2 (1500)
    ("min_lot", lambda: base(b1={"demand_mu": 70}, b2={"demand_mu": 100}, min_lot_mu=40), 1800,
     {("S1", "B1"): 60, ("S1", "B2"): 40}, None),
    ("min_lot_lp_reference", lambda: base(b1={"demand_mu": 70}, b2={"demand_mu": 100}), 1850,
     {("S1", "B1"): 70, ("S1", "B2"): 30}, None),
    # a lot above a buyer's demand shuts that pair: B1 (30) cannot buy; B2 takes 100 at 15
    ("min_lot_above_demand", lambda: base(b1={"demand_mu": 30}, b2={"demand_mu": 100}, min_lot_mu=40), 1500,
     {("S1", "B2"): 100}, None),
    # one partner per seller: 60*20 = 1200 vs 90*15 = 1350
    ("partners_seller", lambda: base(b2={"demand_mu": 90}, max_partners_per_seller=1), 1350, {("S1", "B2"): 90},
     None),
    # one partner per buyer: S1 60 at 20 or S2 60 at 22 -> 1320 (without the limit: 40*20 + 60*22 = 2120)
    ("partners_buyer", lambda: make_scenario([seller("S1", 60, 10), seller("S2", 60, 14), buyer("B1", 100, 30)],
                                             max_partners_per_buyer=1), 1320, {("S2", "B1"): 60}, None),
    ("partners_buyer_lp_reference", lambda: make_scenario([seller("S1", 60, 10), seller("S2", 60, 14),
                                                           buyer("B1", 100, 30)]), 2120,
     {("S1", "B1"): 40, ("S2", "B1"): 60}, None),
    # min sale share: without it S2 (25/亩) takes all; with 0.3, S1 must sell 30: 600 + 70*25
    ("min_sale_off", lambda: min_sale(0.0), 2500, {("S2", "B1"): 100}, None),
    ("min_sale", lambda: min_sale(0.3), 2350, {("S1", "B1"): 30, ("S2", "B1"): 70}, None),
    # soft: S1 cannot sell at all (floor 40 > ceiling 30); the solve is still optimal and S2 sells 100
    ("min_sale_soft", lambda: min_sale(0.3, s1_floor=40), 2500, {("S2", "B1"): 100}, None),
    # the floor ranks above everything else, the plan-adjustment penalty included: S1 can only sell through plan
    # adjustment (B1 has no headroom) at a penalty of 1e5 per 亩, and still must sell 50 亩: 50 - 1e5 * 50
    ("min_sale_above_penalty", lambda: make_scenario(
        [seller("S1", 100, 10, plan_adjustable_mu=100), buyer("B1", 100, 30, construction_headroom_mu=0)],
        objective="volume", allow_plan_adjustment=True, plan_adjustment_penalty=1e5, min_sale_share=0.5),
     50 - 1e5 * 50, {("S1", "B1"): 50}, {("S1", "B1"): 50}),
]


@pytest.fixture(scope="module")
def solved_cases():
    out = {}
    for cid, factory, *_ in CASES:
        scn = factory()
        out[cid] = (scn, {sv: solve(scn, sv) for sv in SOLVERS}, solve_independent(scn))
    return out


@pytest.mark.parametrize("cid,factory,optimum,pairings,adjust", CASES, ids=[c[0] for c in CASES])
def test_hand_case(solved_cases, cid, factory, optimum, pairings, adjust):
    scn, results, indep = solved_cases[cid]
    assert not errors(validate_scenario(scn)), [p.text("en") for p in validate_scenario(scn)]
    # the independent formulation agrees with the hand value, so it is a trustworthy reference below
    assert close(indep.objective, optimum), (indep.objective, optimum)
    for sv, r in results.items():
        assert r.status == "optimal", (sv, r.message)
        assert violations(scn, r.pairings) == [], sv
        x, a, _ = plan_from_pairings(r.pairings)
        # The printed plan states quota to 0.01 亩 (DESIGN 4): its objective is the optimum within that precision.
        assert close(objective_of(scn, x, a), optimum, abs_=printed_slack(scn, r.pairings)), \
            (sv, objective_of(scn, x, a), optimum)
        assert close(shortfall_of(scn, x), indep.shortfall, abs_=1e-6), sv
        assert close(r.totals["min_sale_shortfall_mu"], indep.shortfall, abs_=1e-6), sv
        # the reported objective is section 4's, not dominated by the shortfall penalty
        assert close(r.objective, optimum, abs_=printed_slack(scn, r.pairings)), (sv, r.objective, optimum)
        assert close(r.totals["solver_objective"], optimum), (sv, r.totals["solver_objective"], optimum)
        if pairings is not None:
            got = {k: v for k, v in x.items() if v > 1e-7}
            assert got.keys() == pairings.keys(), (sv, got)
            for k, v in pairings.items():
                assert close(got[k], v, abs_=0.01), (sv, k, got[k], v)
        if adjust is not None:
            got_a = {k: v for k, v in a.items() if v > 1e-7}
            assert got_a.keys() == adjust.keys(), (sv, got_a)
            for k, v in adjust.items():
                assert close(got_a[k], v), (sv, k, got_a[k], v)
        if not pairings and pairings is not None:
            assert r.pairings.empty


def test_price_columns_follow_the_band():
    # guide 12..25 with θ = 0.5 gives 18.5; the pairings table carries price, band and amount
    scn = one_pair(pricing={"guide_floor": 12, "guide_ceiling": 25})
    r = solve(scn)
    row = r.pairings.iloc[0]
    assert (row["lo_price"], row["hi_price"], row["price_wan_per_mu"]) == (12, 25, 18.5)
    assert row["amount_wan"] == pytest.approx(925)
    agreed = solve(one_pair(pairs=[{"seller_code": "S1", "buyer_code": "B1", "agreed_price": 13}])).pairings.iloc[0]
    assert agreed["price_wan_per_mu"] == 13 and bool(agreed["agreed"])


def test_candidates_record_why_pairs_are_blocked():
    scn = make_scenario([seller("S1", 100, 10, reclaimed_quality_grade=9), seller("S2", 100, 50),
                         seller("S3", 100, 10), buyer("B1", 100, 30, occupied_quality_grade=5)],
                        [{"seller_code": "S3", "buyer_code": "B1", "excluded": True}], quality_rule="pair")
    cand = solve(scn).candidates.set_index("seller_code")
    assert cand.loc["S1", "reason"] == "quality"
    assert cand.loc["S2", "reason"] == "band"
    assert cand.loc["S3", "reason"] == "excluded"
    assert not cand["admissible"].any()


def test_min_lot_and_partners_make_an_integer_model():
    assert not solve(base()).is_mip
    assert solve(base(min_lot_mu=5)).is_mip
    assert solve(base(max_partners_per_seller=1)).is_mip
    assert solve(base(max_partners_per_buyer=2)).is_mip


# --------------------------------------------------------------------------- random instances

def random_scenario(seed: int):
    rng = np.random.default_rng(seed)
    ns, nb = int(rng.integers(3, 7)), int(rng.integers(3, 9))
    r1 = lambda lo, hi: round(float(rng.uniform(lo, hi)), 1)  # noqa: E731
    maybe = lambda p, v: v if rng.random() < p else None  # noqa: E731
    counties = []
    for i in range(ns):
        counties.append(seller(f"S{i}", r1(10, 200), maybe(0.8, r1(5, 25)),
                               cls=str(rng.choice(["national_key", "provincial"])),
                               reclaimed_quality_grade=int(rng.integers(1, 16)),
                               plan_adjustable_mu=maybe(0.5, r1(0, 60))))
    for j in range(nb):
        counties.append(buyer(f"B{j}", r1(10, 200), r1(10, 45), budget_wan=maybe(0.5, r1(100, 3000)),
                              construction_headroom_mu=maybe(0.5, r1(0, 150)),
                              cultivated_headroom_mu=maybe(0.4, r1(0, 150)),
                              cultivated_share=maybe(0.5, r1(0.1, 1.0)),
                              occupied_quality_grade=int(rng.integers(1, 16))))
    if rng.random() < 0.4:  # a poverty county that also wants quota
        counties[0].update(demand_mu=r1(10, 100), ceiling_price=r1(10, 45), occupied_quality_grade=8)
    if rng.random() < 0.4:  # a rich county with surplus it may not sell
        counties.append(seller("N0", r1(10, 200), 1, cls="none"))
    pricing = {"bargaining_weight": round(float(rng.uniform(0, 1)), 2)}
    if rng.random() < 0.5:
        pricing["guide_floor"] = r1(5, 15)
    if rng.random() < 0.5:
        pricing["guide_ceiling"] = r1(25, 45)
    floors = {c["code"]: c.get("floor_price") or 0.0 for c in counties}
    ceils = {c["code"]: c.get("ceiling_price") for c in counties}
    pairs = []
    for i in range(ns):
        for j in range(nb):
            u = rng.random()
            if u > 0.3:
                continue
            p = {"seller_code": f"S{i}", "buyer_code": f"B{j}"}
            if u < 0.05:
                p["excluded"] = True
            elif u < 0.15:
                p["floor_price"] = maybe(0.7, r1(5, 30))
                p["ceiling_price"] = maybe(0.7, r1(15, 45))
            else:
                lo = max([floors[f"S{i}"], pricing.get("guide_floor", 0.0)])
                hi = min([ceils[f"B{j}"], pricing.get("guide_ceiling", math.inf)])
                if lo > hi:
                    continue
                p["agreed_price"] = round(lo + float(rng.uniform(0, 1)) * (hi - lo), 2)
                p["agreed_price"] = min(max(p["agreed_price"], lo), hi)
            pairs.append(p)
    rules = {
        "objective": str(rng.choice(["proceeds", "volume", "surplus"])),
        "priority_weight_national_key": r1(0.5, 3),
        "priority_weight_provincial": r1(0.5, 3),
        "quality_rule": str(rng.choice(["off", "pair", "aggregate"])),
        "allow_plan_adjustment": bool(rng.random() < 0.5),
        "plan_adjustment_penalty": r1(0, 10),
        "min_lot_mu": r1(5, 40) if rng.random() < 0.3 else 0.0,
        "max_partners_per_seller": int(rng.integers(1, 3)) if rng.random() < 0.3 else 0,
        "max_partners_per_buyer": int(rng.integers(1, 3)) if rng.random() < 0.3 else 0,
        "min_sale_share": r1(0.05, 0.5) if rng.random() < 0.3 else 0.0,
    }
    return make_scenario(counties, pairs, pricing, **rules)


# 20 seeds, plus two integer models with a missed minimum sale where HiGHS's default 0.01 % MIP gap used to pass
# off a plan 10 % below the optimum as "optimal" (found by running seeds 20-219).
RANDOM_SEEDS = list(range(20)) + [37, 43]


@functools.lru_cache(maxsize=None)
def random_case(seed: int):
    scn = random_scenario(seed)
    return scn, solve_independent(scn)


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_instance_matches_independent(seed):
    scn, indep = random_case(seed)
    assert not errors(validate_scenario(scn)), [p.text("en") for p in errors(validate_scenario(scn))]
    scale = max(1.0, abs(indep.objective))
    for sv in SOLVERS:
        r = solve(scn, sv)
        assert r.status == "optimal", (sv, r.message)
        assert violations(scn, r.pairings) == [], sv
        x, a, _ = plan_from_pairings(r.pairings)
        # pairings state quota to 0.01 亩 (DESIGN 4), hence the slack on values recomputed from them
        assert close(shortfall_of(scn, x), indep.shortfall, rel=1e-6, abs_=0.01 * max(1, len(r.pairings))), \
            (sv, shortfall_of(scn, x), indep.shortfall)
        assert close(objective_of(scn, x, a), indep.objective, rel=1e-6, abs_=printed_slack(scn, r.pairings)), \
            (sv, objective_of(scn, x, a), indep.objective)
        assert close(r.totals["min_sale_shortfall_mu"], indep.shortfall, rel=1e-6, abs_=0.005), sv
        assert close(r.objective, indep.objective, rel=1e-6, abs_=printed_slack(scn, r.pairings)), \
            (sv, r.objective, indep.objective)
        assert close(r.totals["solver_objective"], indep.objective, rel=1e-6), (sv, r.totals, indep.objective)


def test_random_instances_cover_the_rules():
    """The seeds above really exercise integer models, shortfalls, adjustments and every objective."""
    seen = {"mip": 0, "short": 0, "adjust": 0, "objectives": set(), "quality": set()}
    for seed in RANDOM_SEEDS:
        scn, indep = random_case(seed)
        seen["mip"] += indep.is_mip
        seen["short"] += indep.shortfall > 1e-6
        seen["adjust"] += any(v > 1e-6 for v in indep.a.values())
        seen["objectives"].add(scn.param("rules", "objective"))
        seen["quality"].add(scn.param("rules", "quality_rule"))
    assert seen["mip"] >= 5 and seen["adjust"] >= 2 and seen["short"] >= 2
    assert seen["objectives"] == {"proceeds", "volume", "surplus"}
    assert seen["quality"] == {"off", "pair", "aggregate"}


# --------------------------------------------------------------------------- shadow prices

def three_buyers(**over):
    """S1 100 亩 (floor 10). B1: price 20, budget 600 (30 亩). B2: price 15, 80 亩 wanted. B3: price 18, construction
    headroom 25. Optimum: B1 30, B3 25, B2 45 = 600 + 450 + 675 = 1725. Duals: supply 15 (B2 is the marginal
    buyer), B1 budget (20-15)/20 = 0.25 per 万元, B3 construction 18-15 = 3 per 亩; nothing else binds."""
    s1 = {"surplus_mu": 100, **over.get("S1", {})}
    b1 = {"budget_wan": 600, **over.get("B1", {})}
    b3 = {"construction_headroom_mu": 25, **over.get("B3", {})}
    return make_scenario([seller("S1", s1.pop("surplus_mu"), 10, **s1), buyer("B1", 60, 30, **b1),
                          buyer("B2", 80, 20), buyer("B3", 50, 26, **b3)])


def shadow(result, kind, code):
    c = result.constraints
    row = c[(c["kind"] == kind) & (c["county_code"] == code)]
    assert len(row) == 1, (kind, code, c)
    return float(row["shadow_price"].iloc[0])


def test_three_buyers_optimum():
    r = solve(three_buyers())
    assert r.objective == pytest.approx(1725)
    got = {(s, b): q for s, b, q in zip(r.pairings["seller_code"], r.pairings["buyer_code"], r.pairings["quota_mu"])}
    assert got == pytest.approx({("S1", "B1"): 30, ("S1", "B2"): 45, ("S1", "B3"): 25})


# (row kind, county, how to relax the bound by delta, expected shadow price)
FD_CASES = [
    ("supply", "S1", lambda d: three_buyers(S1={"surplus_mu": 100 + d}), 15.0),
    ("budget", "B1", lambda d: three_buyers(B1={"budget_wan": 600 + d}), 0.25),
    ("construction", "B3", lambda d: three_buyers(B3={"construction_headroom_mu": 25 + d}), 3.0),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind,code,relaxed,expected", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_shadow_price_equals_finite_difference(solver, kind, code, relaxed, expected):
    delta = 0.5
    base_obj = solve_independent(relaxed(0)).objective
    fd = (solve_independent(relaxed(delta)).objective - base_obj) / delta
    assert fd == pytest.approx(expected, rel=1e-6)  # the hand value, confirmed independently
    r = solve(relaxed(0), solver)
    row = r.constraints[(r.constraints["kind"] == kind) & (r.constraints["county_code"] == code)]
    assert bool(row["binding"].iloc[0])
    assert shadow(r, kind, code) == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # and the model itself moves by that much when the bound is relaxed
    gain = solve(relaxed(delta), solver).totals["solver_objective"] - r.totals["solver_objective"]
    assert gain / delta == pytest.approx(fd, rel=1e-6)


def test_both_solvers_give_the_same_duals():
    a, b = solve(three_buyers(), "highs"), solve(three_buyers(), "cbc")
    assert list(a.constraints["kind"]) == list(b.constraints["kind"])
    np.testing.assert_allclose(a.constraints["shadow_price"], b.constraints["shadow_price"], atol=1e-7)
    assert a.constraints["shadow_price"].abs().sum() > 1  # not trivially all zero
    # rows that do not bind have no value
    loose = a.constraints[~a.constraints["binding"]]
    assert (loose["shadow_price"].abs() < 1e-9).all()


@pytest.mark.parametrize("solver", SOLVERS)
def test_shadow_price_with_a_single_partner(solver):
    """One seller, one buyer: supply binds and the pair's own size limit coincides with it. One more 亩 of
    surplus sells at 20, so the supply shadow price is 20, not 0."""
    scn = make_scenario([seller("S1", 50, 10), buyer("B1", 100, 30)])
    fd = (solve_independent(make_scenario([seller("S1", 50.5, 10), buyer("B1", 100, 30)])).objective - 1000) / 0.5
    assert fd == pytest.approx(20)
    assert shadow(solve(scn, solver), "supply", "S1") == pytest.approx(20)


@pytest.mark.parametrize("solver", SOLVERS)
def test_shadow_price_of_demand_at_pair_limit(solver):
    """Base market: B1's demand (60) binds and is also S1-B1's largest possible size; one more 亩 of B1 demand
    moves one 亩 from B2 (15) to B1 (20): +5."""
    assert shadow(solve(base(), solver), "demand", "B1") == pytest.approx(5)
    assert solve(base(b1={"demand_mu": 61}), solver).objective - solve(base(), solver).objective == pytest.approx(5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_shadow_price_of_a_lower_bound_row(solver):
    """min_sale is a >= row: relaxing it (asking S1 to sell 1 亩 less) lets S2 sell it at 25 instead of 20: +5."""
    r = solve(min_sale(0.3), solver)
    assert shadow(r, "min_sale", "S1") == pytest.approx(5)
    fd = (solve_independent(min_sale(0.3 - 0.005)).objective - solve_independent(min_sale(0.3)).objective) / 0.5
    assert fd == pytest.approx(5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_shadow_price_of_plan_space(solver):
    """S1 has 100 亩 but only 10 亩 of plan space and B1 has no construction headroom, so one more 亩 of plan
    space sells one more 亩 (volume +1)."""
    scn = make_scenario([seller("S1", 100, 10, plan_adjustable_mu=10), buyer("B1", 100, 30,
                                                                             construction_headroom_mu=0)],
                        objective="volume", allow_plan_adjustment=True, plan_adjustment_penalty=0.0)
    r = solve(scn, solver)
    assert r.objective == pytest.approx(10)
    # y_cap is unique (= 1); the construction row's dual is degenerate here (any value >= 1 is a valid dual)
    assert shadow(r, "adjust_cap", "S1") == pytest.approx(1)
    assert shadow(r, "construction", "B1") >= 1 - 1e-9
    more = make_scenario([seller("S1", 100, 10, plan_adjustable_mu=11), buyer("B1", 100, 30,
                                                                              construction_headroom_mu=0)],
                         objective="volume", allow_plan_adjustment=True, plan_adjustment_penalty=0.0)
    assert solve_independent(more).objective - solve_independent(scn).objective == pytest.approx(1)


def test_integer_models_report_shadow_prices_with_their_pairings_fixed(monkeypatch):
    from planner.model import integer

    r = solve(base(min_lot_mu=5))
    assert r.is_mip and r.constraints["shadow_price"].notna().all()
    monkeypatch.setattr(integer, "PAIRING_DUALS_MAX_COLS", 0)  # too large for a second solve: none, as before
    r = solve(base(min_lot_mu=5))
    assert r.is_mip and r.constraints["shadow_price"].isna().all()


# --------------------------------------------------------------------------- honest status

def hard_mip(seed=7, ns=25, nb=35):
    rng = np.random.default_rng(seed)
    counties = [seller(f"S{i}", round(float(rng.uniform(20, 200)), 1), round(float(rng.uniform(5, 20)), 1),
                       reclaimed_quality_grade=int(rng.integers(1, 16))) for i in range(ns)]
    counties += [buyer(f"B{j}", round(float(rng.uniform(20, 200)), 1), round(float(rng.uniform(15, 45)), 1),
                       budget_wan=round(float(rng.uniform(300, 4000)), 1),
                       occupied_quality_grade=int(rng.integers(1, 16))) for j in range(nb)]
    return make_scenario(counties, objective="proceeds", quality_rule="aggregate", min_lot_mu=37.3,
                         max_partners_per_seller=2, max_partners_per_buyer=2)


# Proven optimum of hard_mip(): HiGHS without a time limit (about 55 s) and scipy.optimize.milp through
# tests/independent.py (about 30 s) both give 53153.0338416; too slow to recompute in the suite.
HARD_MIP_OPTIMUM = 53153.0338416


@pytest.mark.parametrize("solver,limit", [("highs", 0.05), ("cbc", 1)])
def test_time_limit_is_reported_honestly(solver, limit):
    scn = hard_mip()
    r = solve(scn, solver, time_limit=limit)
    assert r.status in ("time_limit", "optimal"), r.message
    if r.has_solution:
        assert violations(scn, r.pairings) == []
        x, a, _ = plan_from_pairings(r.pairings)
        assert r.objective == pytest.approx(objective_of(scn, x, a), rel=1e-6, abs=printed_slack(scn, r.pairings))
    if r.status == "optimal":
        assert r.objective == pytest.approx(HARD_MIP_OPTIMUM, rel=1e-6, abs=printed_slack(scn, r.pairings))
    else:
        # the message must not read as a claim of optimality
        assert "limit" in r.message.lower(), r.message
        assert r.objective <= HARD_MIP_OPTIMUM * (1 + 1e-9) + printed_slack(scn, r.pairings)
        assert r.seconds_solve < limit + 5


def test_empty_market_is_optimal_with_no_pairings():
    # no eligible seller at all (the only county with surplus is not a poverty county)
    scn = make_scenario([seller("N0", 100, 10, cls="none"), buyer("B1", 50, 30)])
    for sv in SOLVERS:
        r = solve(scn, sv)
        assert r.status == "optimal" and r.has_solution
        assert r.pairings.empty and r.objective == 0
        assert r.totals["quota_matched_mu"] == 0
    # no buyer either
    r = solve(make_scenario([seller("S1", 100, 10)]))
    assert r.status == "optimal" and r.pairings.empty


def test_unknown_solver_raises():
    with pytest.raises(ValueError):
        solve(base(), "gurobi")
    with pytest.raises(ValueError):
        solve(base(), "HiGHS ")


# --------------------------------------------------------------------------- the default scenario

def test_baseline_solves_fast_and_optimally():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in problems]
    solve(scn)  # warm-up: first import of highspy
    t0 = time.perf_counter()
    r = solve(scn)
    seconds = time.perf_counter() - t0
    print(f"\njilin-baseline: solve() in process took {seconds * 1000:.1f} ms "
          f"(build {r.seconds_build * 1000:.1f} ms, HiGHS {r.seconds_solve * 1000:.1f} ms), "
          f"{r.totals['variables']} variables, {r.totals['constraints']} rows")
    assert r.status == "optimal"
    assert seconds < 1.0
    assert violations(scn, r.pairings) == []
    assert r.objective == pytest.approx(solve_independent(scn).objective, rel=1e-6, abs=printed_slack(scn, r.pairings))
    assert r.totals["quota_matched_mu"] > 0


def test_feasibility_checker_catches_broken_plans():
    """The independent checker is only worth something if it rejects bad plans."""
    scn = base(b1={"budget_wan": 600})
    good = solve(scn).pairings
    assert violations(scn, good) == []
    more = good.copy()
    more.loc[more["buyer_code"] == "B2", "quota_mu"] += 1  # S1 would sell 101 of 100
    more.loc[more["buyer_code"] == "B2", "amount_wan"] += 15
    assert any(v.startswith("supply S1") for v in violations(scn, more))
    dear = good.copy()
    dear.loc[dear["buyer_code"] == "B1", "quota_mu"] += 1  # 31 亩 at 20 = 620 > budget 600
    dear.loc[dear["buyer_code"] == "B1", "amount_wan"] += 20
    assert any(v.startswith("budget B1") for v in violations(scn, dear))
    price = good.copy()
    price["price_wan_per_mu"] += 1
    assert any(v.startswith("price") for v in violations(scn, price))
    lot = base(min_lot_mu=35)
    assert any(v.startswith("min lot") for v in violations(lot, good))  # 30 亩 to B1 is below the lot
    quality = base(s1={"reclaimed_quality_grade": 9}, b1={"occupied_quality_grade": 4}, quality_rule="pair")
    assert any("not admissible" in v for v in violations(quality, good))
