"""Ties between equally good plans go to nearer counties, and the same inputs give the same plan."""
import pandas as pd
import pytest

from planner.model import pair_distance_km, solve
from planner.scenario import Scenario

SETTINGS = {"scenario": {"name": "tie"}, "pricing": {"bargaining_weight": 0.5}, "rules": {"objective": "proceeds"}}


def _scenario(lat_lon, prefectures=("", "", "", "")):
    rows = [
        {"code": "S1", "name": "甲", "poverty_class": "national_key", "surplus_mu": "100", "floor_price": "10"},
        {"code": "S2", "name": "乙", "poverty_class": "national_key", "surplus_mu": "100", "floor_price": "10"},
        {"code": "B1", "name": "丙", "poverty_class": "none", "demand_mu": "100", "ceiling_price": "30"},
        {"code": "B2", "name": "丁", "poverty_class": "none", "demand_mu": "100", "ceiling_price": "30"},
    ]
    for row, (lat, lon), pref in zip(rows, lat_lon, prefectures):
        row.update({"lat": "" if lat is None else str(lat), "lon": "" if lon is None else str(lon), "prefecture": pref})
    return Scenario.from_raw(SETTINGS, {"counties": pd.DataFrame(rows)})


def _plan(scn, solver="highs"):
    p = solve(scn, solver=solver).pairings
    return {(s, b): q for s, b, q in zip(p["seller_code"], p["buyer_code"], p["quota_mu"])}


def test_nearer_buyer_wins_a_tie():
    # S1 sits next to B2 and S2 next to B1: every plan earns the same, the near one must be chosen.
    scn = _scenario([(43.0, 125.0), (45.0, 122.0), (45.1, 122.1), (43.1, 125.1)])
    plan = _plan(scn)
    assert plan == {("S1", "B2"): pytest.approx(100), ("S2", "B1"): pytest.approx(100)}
    mirrored = _scenario([(45.0, 122.0), (43.0, 125.0), (45.1, 122.1), (43.1, 125.1)])
    assert _plan(mirrored) == {("S1", "B1"): pytest.approx(100), ("S2", "B2"): pytest.approx(100)}


def test_same_prefecture_wins_without_coordinates():
    scn = _scenario([(None, None)] * 4, prefectures=("甲市", "乙市", "乙市", "甲市"))
    assert _plan(scn) == {("S1", "B2"): pytest.approx(100), ("S2", "B1"): pytest.approx(100)}


def test_tie_break_never_costs_objective():
    scn = _scenario([(43.0, 125.0), (45.0, 122.0), (45.1, 122.1), (43.1, 125.1)])
    highs, cbc = solve(scn), solve(scn, solver="cbc")
    assert highs.objective == pytest.approx(cbc.objective, rel=1e-9)


def test_distance_is_great_circle_km():
    sellers = pd.DataFrame({"lat": [43.88], "lon": [125.35], "prefecture": ["长春市"]})
    buyers = pd.DataFrame({"lat": [43.84], "lon": [126.55], "prefecture": ["吉林市"]})  # 长春 to 吉林 ~ 96 km
    pairs = pd.DataFrame({"seller_idx": [0], "buyer_idx": [0]})
    assert 90 < pair_distance_km(pairs, sellers, buyers)[0] < 105


# --------------------------------------------------------------------------- the same rule for every solver (issue 17)

NEAR = [(43.0, 125.0), (45.0, 122.0), (45.1, 122.1), (43.1, 125.1)]  # S1 next to B2, S2 next to B1


def test_cbc_breaks_ties_by_distance_too():
    assert _plan(_scenario(NEAR), "cbc") == {("S1", "B2"): pytest.approx(100), ("S2", "B1"): pytest.approx(100)}


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_integer_plans_break_ties_by_distance(solver):
    scn = _scenario(NEAR).with_param("rules", "max_partners_per_seller", 1).with_param("rules", "min_lot_mu", 30.0)
    assert _plan(scn, solver) == {("S1", "B2"): pytest.approx(100), ("S2", "B1"): pytest.approx(100)}


def _pairings(scn, solver):
    """County pairs and their quota (summed over lots: a seller's lots may trade places where nothing tells them
    apart, neither objective nor distance)."""
    p = solve(scn, solver=solver).pairings
    q = p.groupby(["seller_code", "buyer_code"])["quota_mu"].sum().round(1)
    return sorted(q.items())


@pytest.mark.parametrize("min_lot", [None, 0.0])
def test_highs_and_cbc_give_the_same_pairings_on_the_baseline(min_lot):
    from pathlib import Path

    from planner.validate import load_checked

    scn, _ = load_checked(Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline")
    if min_lot is not None:  # the LP (no integer rule)
        scn = scn.with_param("rules", "min_lot_mu", min_lot)
    highs, cbc = _pairings(scn, "highs"), _pairings(scn, "cbc")
    assert len(highs) > 10
    assert highs == cbc
