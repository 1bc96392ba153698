"""Quota lots and years in the model (DESIGN 3-4, articles 8, 14, 16, 27), against the independent formulation."""
from __future__ import annotations

import numpy as np
import pytest

from planner.model import build, formulate, market, solve
from tests.independent import (buyer, make_scenario, objective_of, plan_from_pairings, printed_slack, seller,
                               solve_independent)
from tests.test_formulation import assert_same_model


def lot(lot_id, county, area, status="confirmed", ready=None, grade=None, **kw):
    return {"lot_id": lot_id, "county_code": county, "status": status, "ready_year": ready, "area_mu": area,
            "reclaimed_quality_grade": grade, **kw}


def check(scn):
    """Solved, the same optimum as the independent formulation, every lot within its net, years in the horizon."""
    r = solve(scn)
    assert r.status == "optimal", r.message
    indep = solve_independent(scn)
    assert r.totals["solver_objective"] == pytest.approx(indep.objective, rel=1e-6, abs=1e-6)
    assert r.objective == pytest.approx(indep.objective, rel=1e-6, abs=printed_slack(scn, r.pairings))
    x, a, _ = plan_from_pairings(r.pairings)
    assert objective_of(scn, x, a) == pytest.approx(indep.objective, rel=1e-6, abs=printed_slack(scn, r.pairings))
    if len(r.lots):
        assert (r.lots["sold_mu"] <= r.lots["net_mu"] + 1e-9).all()
        assert (r.lots.loc[~r.lots["saleable"], "sold_mu"] == 0).all()
    if r.horizon is not None:
        assert r.pairings["year"].between(*r.horizon).all()
    return r, indep


def test_planned_lot_never_sells_under_the_default():
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 500, 30)],
                        lots=[lot("L1", "S1", 100), lot("L2", "S1", 300, status="planned"),
                              lot("L3", "S1", 50, status="accepted")])
    r, _ = check(scn)
    sold = r.lots.set_index("lot_id")["sold_mu"]
    assert sold["L1"] == 100 and sold["L2"] == 0 and sold["L3"] == 0
    assert r.totals["quota_matched_mu"] == 100


def test_saleable_status_setting_lets_accepted_lots_sell():
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 500, 30)],
                        lots=[lot("L1", "S1", 100), lot("L3", "S1", 50, status="accepted")],
                        saleable_status=["confirmed", "accepted"])
    r, _ = check(scn)
    assert r.totals["quota_matched_mu"] == 150


def test_net_quota_deducts_local_use_rural_reserve_and_turnover():
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 500, 30)],
                        lots=[lot("L1", "S1", 100, used_locally_mu=10, reserved_rural_mu=15, turnover_owed_mu=5)])
    r, _ = check(scn)
    assert r.lots.iloc[0]["net_mu"] == 70 and r.totals["quota_matched_mu"] == 70


def test_lot_ready_2020_sells_nothing_in_2018_and_2019():
    # B1 wants 100 in 2018 and 2019 only; the only lot is ready in 2020: nothing can move.
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 200, 30)],
                        lots=[lot("L1", "S1", 100, ready=2020)], horizon=(2018, None),
                        demand=[{"county_code": "B1", "year": 2018, "demand_mu": 100},
                                {"county_code": "B1", "year": 2019, "demand_mu": 100}])
    r, _ = check(scn)
    assert r.pairings.empty
    # Demand in 2021 instead: it sells then, not before.
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 200, 30)],
                        lots=[lot("L1", "S1", 100, ready=2020)], horizon=(2018, None),
                        demand=[{"county_code": "B1", "year": 2018, "demand_mu": 100},
                                {"county_code": "B1", "year": 2021, "demand_mu": 60}])
    r, _ = check(scn)
    assert list(r.pairings["year"]) == [2021] and r.pairings["quota_mu"].sum() == 60


def test_without_demand_by_year_a_sale_is_dated_when_its_quota_is_ready():
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 500, 30)], horizon=(2018, 2021),
                        lots=[lot("L1", "S1", 100, ready=2017), lot("L2", "S1", 40, ready=2020),
                              lot("L3", "S1", 70, ready=2023)])
    r, _ = check(scn)
    by_year = r.pairings.groupby("year")["quota_mu"].sum().to_dict()
    assert by_year == {2018: 100, 2020: 40}  # L3 is ready after the policy expires: it never sells
    assert r.lots.set_index("lot_id").loc["L3", "sold_mu"] == 0


def test_no_year_after_end_year_and_horizon_defaults_to_four_years():
    scn = make_scenario([seller("S1", 1000, 10), buyer("B1", 500, 30)], horizon=(2018, None),
                        demand=[{"county_code": "B1", "year": y, "demand_mu": 100} for y in range(2016, 2026)])
    r, _ = check(scn)
    assert r.horizon == (2018, 2021)
    assert sorted(r.pairings["year"].unique()) == [2018, 2019, 2020, 2021]
    assert r.pairings["quota_mu"].sum() == 400


def test_each_lot_keeps_its_own_grade_in_the_quality_rule():
    # B1 occupies grade-5 farmland; S1's grade-3 lot may go, its grade-9 lot only as far as the average allows.
    counties = [seller("S1", None, 10), buyer("B1", 500, 30, occupied_quality_grade=5)]
    lots = [lot("good", "S1", 100, grade=3), lot("poor", "S1", 100, grade=9)]
    r, _ = check(make_scenario(counties, lots=lots, quality_rule="aggregate"))
    sold = r.lots.set_index("lot_id")["sold_mu"]
    assert sold["good"] == 100 and sold["poor"] == 50  # 100·(3−5) + 50·(9−5) = 0
    r, _ = check(make_scenario(counties, lots=lots, quality_rule="pair"))
    assert r.lots.set_index("lot_id")["sold_mu"].to_dict() == {"good": 100, "poor": 0}
    r, _ = check(make_scenario(counties, lots=lots, quality_rule="off"))
    assert r.totals["quota_matched_mu"] == 200
    assert (r.pairings["quality_check"] == "worse").all()


def test_deal_is_kept_at_its_quantity_and_price_and_year():
    counties = [seller("S1", None, 10), seller("S2", 300, 10), buyer("B1", 120, 30), buyer("B2", 500, 20)]
    pairs = [{"seller_code": "S1", "buyer_code": "B2", "agreed_price": 12, "agreed_mu": 80, "status": "signed",
              "year": 2019}]
    scn = make_scenario(counties, pairs, lots=[lot("L1", "S1", 100, ready=2018), lot("L2", "S1", 50, ready=2020)],
                        horizon=(2018, None))
    r, _ = check(scn)
    deal = r.pairings[r.pairings["deal"]]
    assert len(deal) == 1
    assert deal.iloc[0][["seller_code", "buyer_code", "quota_mu", "price_wan_per_mu", "year"]].tolist() == \
        ["S1", "B2", 80, 12, 2019]


def test_negotiating_row_is_not_a_deal():
    counties = [seller("S1", 100, 10), buyer("B1", 100, 30), buyer("B2", 100, 20)]
    pairs = [{"seller_code": "S1", "buyer_code": "B2", "agreed_mu": 80, "status": "negotiating"}]
    r, _ = check(make_scenario(counties, pairs))
    assert not r.pairings["deal"].any()
    assert r.pairings.set_index("buyer_code").loc["B1", "quota_mu"] == 100


def _random_lots_case(seed: int):
    rng = np.random.default_rng(seed)
    ns, nb = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    counties, lots, demand, pairs = [], [], [], []
    for i in range(ns):
        counties.append(seller(f"S{i}", None, round(float(rng.uniform(5, 15)), 1)))
        for k in range(int(rng.integers(1, 4))):
            lots.append(lot(f"L{i}{k}", f"S{i}", float(rng.integers(10, 200)),
                            status=str(rng.choice(["confirmed", "confirmed", "planned", "accepted"])),
                            ready=[None, 2017, 2018, 2019, 2020, 2021, 2023][int(rng.integers(0, 7))],
                            grade=[None, 3, 5, 8, 11][int(rng.integers(0, 5))],
                            used_locally_mu=float(rng.integers(0, 10))))
    years = rng.random() < 0.5
    for j in range(nb):
        counties.append(buyer(f"B{j}", float(rng.integers(20, 300)), round(float(rng.uniform(10, 40)), 1),
                              budget_wan=[None, float(rng.integers(300, 4000))][int(rng.integers(0, 2))],
                              occupied_quality_grade=[None, 4, 6, 9][int(rng.integers(0, 4))],
                              construction_headroom_mu=[None, float(rng.integers(0, 200))][int(rng.integers(0, 2))]))
        if years and rng.random() < 0.7:
            demand += [{"county_code": f"B{j}", "year": y, "demand_mu": float(rng.integers(0, 120))}
                       for y in range(2018, 2022) if rng.random() < 0.7]
    if rng.random() < 0.5:
        pairs.append({"seller_code": "S0", "buyer_code": "B0", "agreed_price": 12, "agreed_mu": 5.0,
                      "status": "signed", "year": 2021 if years else None})
    rules = {"quality_rule": str(rng.choice(["off", "pair", "aggregate"])),
             "min_lot_mu": [0.0, 0.0, 15.0][int(rng.integers(0, 3))],
             "max_partners_per_buyer": [0, 0, 1][int(rng.integers(0, 3))],
             "min_sale_share": [0.0, 0.0, 0.3][int(rng.integers(0, 3))]}
    return make_scenario(counties, pairs, lots=lots, demand=demand or None,
                         horizon=(2018, None) if years or rng.random() < 0.5 else None, **rules)


@pytest.mark.parametrize("seed", range(30))
def test_random_lots_and_years_match_the_independent_formulation(seed):
    scn = _random_lots_case(seed)
    mk = market(scn)
    # the deal may be impossible (its lots not saleable in time): validation reports that; skip such cases here
    m = build(mk)
    deal_rows = m.row_kind == "deal"
    if (mk.pairs["deal_mu"].notna().any() and not deal_rows.any()):
        pytest.skip("deal without saleable quota (a validation error)")
    try:
        solve_independent(scn)
    except RuntimeError:
        pytest.skip("infeasible deal (a validation error)")
    check(scn)


@pytest.mark.parametrize("seed", range(12))
def test_random_lots_and_years_build_the_same_model_in_pulp_and_arrays(seed):
    assert_same_model(_random_lots_case(seed))


def test_lp_names_carry_lot_and_year():
    scn = make_scenario([seller("S1", None, 10), buyer("B1", 200, 30)], lots=[lot("L-1", "S1", 100)],
                        horizon=(2018, None), demand=[{"county_code": "B1", "year": 2019, "demand_mu": 100}])
    names = {v.name for v in formulate(market(scn)).problem.variables()}
    assert "x_lot_L_1_B1_2019" in names
    assert "supply_lot_L_1" in formulate(market(scn)).problem.constraints
