"""Money follows people (DESIGN section 6, articles 17-18): conservation, the formulas, equal benefit, edge cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import schema
from planner.model import solve
from planner.proceeds import (RULES, Allocation, ProceedsParams, allocate, benefit_metrics, compare_rules,
                              equal_benefit_gap, gini, lorenz, verdict)
from planner.scenario import Scenario
from planner.validate import errors, load_checked, validate_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"
TOL = 1e-6  # 万元: "to the cent" is 1e-6 万元 = 0.01 元

GROUP_MONEY = ["household_wan", "collective_wan", "total_wan"]
COUNTY_MONEY = ["gross_wan", "reclamation_wan", "financing_wan", "collective_wan", "household_wan",
                "unallocated_wan"]
DEST_MONEY = ["household_wan", "from_elsewhere_wan"]


# --------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def baseline():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    result = solve(scn)
    assert result.status == "optimal"
    assert len(result.pairings) > 0 and len(scn.relocation) > 0
    return scn, result


def make_scn(counties: list[dict], relocation: list[dict] | None = None, proceeds: dict | None = None) -> Scenario:
    settings = {"scenario": {"name": "手工县"}, "proceeds": dict(proceeds or {})}
    tables = {"counties": pd.DataFrame(counties, dtype=object),
              "pairs": None,
              "relocation": pd.DataFrame(relocation, dtype=object) if relocation is not None else None}
    return Scenario.from_raw(settings, tables)


def pairings(rows: list[tuple]) -> pd.DataFrame:
    """(seller, buyer, quota_mu, price) -> a pairings table shaped like SolveResult.pairings."""
    df = pd.DataFrame(rows, columns=["seller_code", "buyer_code", "quota_mu", "price_wan_per_mu"])
    df["amount_wan"] = df["quota_mu"] * df["price_wan_per_mu"]
    return df


def check_conserved(alloc: Allocation, pair_table: pd.DataFrame) -> None:
    """Σ group household + collective + reclamation + financing + unallocated = gross, per county, to the cent."""
    c = alloc.counties.set_index("county_code")
    g = alloc.groups
    gross = pair_table.groupby("seller_code")["amount_wan"].sum() if len(pair_table) else pd.Series(dtype=float)
    # every selling county has a waterfall row with the right gross
    for code, amount in gross.items():
        assert code in c.index, f"selling county {code} missing from the waterfall"
        assert abs(c.loc[code, "gross_wan"] - amount) < TOL
    # counties with no sales have zero gross
    for code in c.index.difference(gross.index):
        assert c.loc[code, "gross_wan"] == 0
    by_group = g.groupby("county_code")[["household_wan", "collective_wan"]].sum()
    by_group = by_group.reindex(c.index).fillna(0.0)
    accounted = (by_group["household_wan"] + by_group["collective_wan"] + c["reclamation_wan"] + c["financing_wan"]
                 + c["unallocated_wan"])
    diff = (accounted - c["gross_wan"]).abs()
    assert (diff < TOL).all(), diff[diff >= TOL]
    # the waterfall's own columns agree with the group table
    assert ((c["household_wan"] - by_group["household_wan"]).abs() < TOL).all()
    assert ((c["collective_wan"] - by_group["collective_wan"]).abs() < TOL).all()
    assert (c[COUNTY_MONEY].to_numpy(dtype=float) >= -TOL).all()
    assert set(g["county_code"]) <= set(c.index)
    assert alloc.total_check() < TOL * max(1, len(c))
    # where the household money ends up adds up to what the groups got
    assert abs(alloc.destinations["household_wan"].sum() - g["household_wan"].sum()) < TOL
    assert np.abs((g["total_wan"] - g["household_wan"] - g["collective_wan"]).to_numpy(dtype=float)).max(initial=0) < TOL


def check_no_nan(alloc: Allocation) -> None:
    for frame, cols in ((alloc.groups, GROUP_MONEY), (alloc.counties, COUNTY_MONEY),
                        (alloc.destinations, DEST_MONEY)):
        for col in cols:
            values = frame[col].to_numpy(dtype=float)
            assert np.isfinite(values).all(), (col, frame[col].tolist())


# A hand-made county: seller 001 with four groups (one with no people, one with no reclaimed area, one resettled
# in another county), seller 002 with no relocation rows, county 003 with groups but no sales.
HAND_COUNTIES = [
    {"code": "001", "name": "甲县", "poverty_class": "national_key", "surplus_mu": 200, "demand_mu": 0},
    {"code": "002", "name": "乙县", "poverty_class": "provincial", "surplus_mu": 100, "demand_mu": 0},
    {"code": "003", "name": "丙县", "poverty_class": "provincial", "surplus_mu": 80, "demand_mu": 0},
    {"code": "101", "name": "丁区", "poverty_class": "none", "surplus_mu": 0, "demand_mu": 300, "ceiling_price": 40},
    {"code": "102", "name": "戊区", "poverty_class": "none", "surplus_mu": 0, "demand_mu": 300, "ceiling_price": 40},
]
HAND_RELOCATION = [
    {"county_code": "001", "group_id": "a", "village": "一村", "resettlement_mode": "centralized",
     "destination_code": "", "households": 10, "persons": 30, "reclaimed_mu": 40},
    {"county_code": "001", "group_id": "b", "village": "二村", "resettlement_mode": "urban",
     "destination_code": "101", "households": 5, "persons": 12, "reclaimed_mu": 20},
    {"county_code": "001", "group_id": "c", "village": "三村", "resettlement_mode": "other",
     "destination_code": "", "households": 0, "persons": 0, "reclaimed_mu": 10},
    {"county_code": "001", "group_id": "d", "village": "四村", "resettlement_mode": "dispersed",
     "destination_code": "", "households": 2, "persons": 8, "reclaimed_mu": 0},
    {"county_code": "003", "group_id": "e", "village": "五村", "resettlement_mode": "centralized",
     "destination_code": "", "households": 4, "persons": 9, "reclaimed_mu": 5},
]
HAND_PARAMS = {"reclamation_cost_per_mu": 3.0, "financing_repayment_share": 0.1, "collective_share": 0.2,
               "rule": "per_capita", "hybrid_alpha": 0.25}
# 001 sells 100 亩 at 20 and 50 亩 at 30 -> G = 3500; 002 sells 40 亩 at 25 -> G = 1000.
HAND_PAIRINGS = [("001", "101", 100.0, 20.0), ("001", "102", 50.0, 30.0), ("002", "101", 40.0, 25.0)]


@pytest.fixture
def hand():
    scn = make_scn(HAND_COUNTIES, HAND_RELOCATION, HAND_PARAMS)
    assert not errors(validate_scenario(scn)), [p.text("en") for p in errors(validate_scenario(scn))]
    return scn, pairings(HAND_PAIRINGS)


def group(alloc: Allocation, gid: str) -> pd.Series:
    rows = alloc.groups[alloc.groups["group_id"] == gid]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- the DESIGN formulas

def test_waterfall_formulas_on_a_hand_made_county(hand):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table)
    c = alloc.counties.set_index("county_code")
    G, sold = 3500.0, 150.0
    R = min(G, 3.0 * sold)  # 450
    F = 0.1 * (G - R)  # 305
    C = 0.2 * (G - R - F)  # 549
    H = G - R - F - C  # 2196
    row = c.loc["001"]
    assert row["sold_mu"] == pytest.approx(sold)
    assert row["gross_wan"] == pytest.approx(G, abs=TOL)
    assert row["reclamation_wan"] == pytest.approx(R, abs=TOL)
    assert row["financing_wan"] == pytest.approx(F, abs=TOL)
    assert row["collective_wan"] == pytest.approx(C, abs=TOL)
    assert row["household_wan"] == pytest.approx(H, abs=TOL)
    assert row["unallocated_wan"] == pytest.approx(0.0, abs=TOL)
    assert H == pytest.approx(2196.0)
    # the collective share is split by reclaimed area (40:20:10:0), whatever the household rule
    for gid, area in (("a", 40), ("b", 20), ("c", 10), ("d", 0)):
        assert group(alloc, gid)["collective_wan"] == pytest.approx(C * area / 70, abs=TOL)
    # per_capita: persons 30:12:0:8
    for gid, persons in (("a", 30), ("b", 12), ("c", 0), ("d", 8)):
        assert group(alloc, gid)["household_wan"] == pytest.approx(H * persons / 50, abs=TOL)
    assert group(alloc, "a")["per_person_wan"] == pytest.approx(H / 50, abs=TOL)
    assert group(alloc, "a")["per_household_wan"] == pytest.approx(H * 30 / 50 / 10, abs=TOL)
    assert row["per_person_wan"] == pytest.approx(H / 50, abs=TOL)
    check_conserved(alloc, pair_table)
    check_no_nan(alloc)


@pytest.mark.parametrize("rule, weights", [
    ("per_capita", {"a": 30, "b": 12, "c": 0, "d": 8}),
    ("per_household", {"a": 10, "b": 5, "c": 0, "d": 2}),
    ("by_area", {"a": 40, "b": 20, "c": 10, "d": 0}),
])
def test_household_pool_split_by_rule(hand, rule, weights):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table, rule=rule)
    assert alloc.params.rule == rule
    H = alloc.counties.set_index("county_code").loc["001", "household_wan"]
    assert H == pytest.approx(2196.0, abs=TOL)  # the pool does not depend on the rule
    total = sum(weights.values())
    for gid, w in weights.items():
        assert group(alloc, gid)["household_wan"] == pytest.approx(H * w / total, abs=TOL), gid
    check_conserved(alloc, pair_table)
    check_no_nan(alloc)


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.7, 1.0])
def test_hybrid_is_alpha_per_capita_plus_rest_by_area(hand, alpha):
    scn, pair_table = hand
    hybrid = allocate(scn, pair_table, rule="hybrid", hybrid_alpha=alpha)
    per_capita = allocate(scn, pair_table, rule="per_capita")
    by_area = allocate(scn, pair_table, rule="by_area")
    for gid in "abcd":
        expected = alpha * group(per_capita, gid)["household_wan"] + (1 - alpha) * group(by_area, gid)["household_wan"]
        assert group(hybrid, gid)["household_wan"] == pytest.approx(expected, abs=TOL), gid
    check_conserved(hybrid, pair_table)


def test_hybrid_alpha_comes_from_the_scenario(hand):
    scn, pair_table = hand
    alloc = allocate(scn.with_param("proceeds", "rule", "hybrid"), pair_table)
    assert alloc.params.hybrid_alpha == 0.25
    # group d has persons but no area: only the per-capita part reaches it
    assert group(alloc, "d")["household_wan"] == pytest.approx(0.25 * 2196.0 * 8 / 50, abs=TOL)


def test_reclamation_is_capped_at_gross(hand):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table, reclamation_cost_per_mu=50.0)  # 50 × 150 亩 = 7500 > G
    row = alloc.counties.set_index("county_code").loc["001"]
    assert row["reclamation_wan"] == pytest.approx(3500.0, abs=TOL)
    for col in ("financing_wan", "collective_wan", "household_wan", "unallocated_wan"):
        assert row[col] == pytest.approx(0.0, abs=TOL)
    assert (alloc.groups["household_wan"] == 0).all()
    check_conserved(alloc, pair_table)
    check_no_nan(alloc)


def test_params_object_and_overrides(hand):
    scn, pair_table = hand
    p = ProceedsParams(reclamation_cost_per_mu=0.0, financing_repayment_share=0.0, collective_share=0.0,
                       rule="per_household")
    alloc = allocate(scn, pair_table, params=p)
    row = alloc.counties.set_index("county_code").loc["001"]
    assert row["household_wan"] == pytest.approx(3500.0, abs=TOL)
    assert group(alloc, "a")["household_wan"] == pytest.approx(3500.0 * 10 / 17, abs=TOL)
    # overrides of None are ignored (the scenario value is kept)
    assert allocate(scn, pair_table, rule=None).params.rule == "per_capita"


# --------------------------------------------------------------------------- edge cases

def test_selling_county_without_relocation_keeps_money_as_unallocated(hand):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table)
    row = alloc.counties.set_index("county_code").loc["002"]
    G, R = 1000.0, 120.0
    F = 0.1 * (G - R)
    C = 0.2 * (G - R - F)
    assert row["groups"] == 0
    assert row["gross_wan"] == pytest.approx(G)
    assert row["collective_wan"] == 0 and row["household_wan"] == 0
    assert row["unallocated_wan"] == pytest.approx(G - R - F, abs=TOL)  # C + H, not lost
    assert row["unallocated_wan"] == pytest.approx(C + (G - R - F - C), abs=TOL)
    assert "002" not in set(alloc.groups["county_code"])
    check_conserved(alloc, pair_table)


def test_county_with_zero_proceeds(hand):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table)
    row = alloc.counties.set_index("county_code").loc["003"]
    for col in COUNTY_MONEY:
        assert row[col] == 0, col
    e = group(alloc, "e")
    assert e["household_wan"] == 0 and e["collective_wan"] == 0 and e["per_person_wan"] == 0
    check_no_nan(alloc)


@pytest.mark.parametrize("rule", RULES)
def test_groups_all_zero_persons_or_area(rule):
    """Weights that are all zero: no division error, no NaN money, and nothing lost."""
    reloc = [
        {"county_code": "001", "group_id": "x", "resettlement_mode": "centralized", "households": 0, "persons": 0,
         "reclaimed_mu": 0},
        {"county_code": "001", "group_id": "y", "resettlement_mode": "urban", "households": 0, "persons": 0,
         "reclaimed_mu": 0},
        {"county_code": "003", "group_id": "z", "resettlement_mode": "dispersed", "households": 3, "persons": 0,
         "reclaimed_mu": 0},
    ]
    scn = make_scn(HAND_COUNTIES, reloc, HAND_PARAMS)
    pair_table = pairings([("001", "101", 10.0, 20.0), ("003", "102", 10.0, 15.0)])
    with np.errstate(all="raise"):
        alloc = allocate(scn, pair_table, rule=rule)
    check_conserved(alloc, pair_table)
    check_no_nan(alloc)
    metrics, modes, _ = compare_rules(scn, pair_table)
    assert np.isfinite(metrics[["gini", "cv", "mean_per_person_wan"]].to_numpy(dtype=float)).all()


def test_blank_counts_are_treated_as_zero(hand):
    scn, pair_table = hand
    reloc = scn.relocation.copy()
    reloc.loc[reloc["group_id"] == "a", ["persons", "households", "reclaimed_mu"]] = np.nan
    scn2 = Scenario(scn.settings, scn.counties, scn.pairs, reloc)
    for rule in RULES:
        alloc = allocate(scn2, pair_table, rule=rule)
        assert group(alloc, "a")["household_wan"] == 0
        check_conserved(alloc, pair_table)
        check_no_nan(alloc)


@pytest.mark.parametrize("empty", [
    pd.DataFrame(columns=["seller_code", "buyer_code", "quota_mu", "price_wan_per_mu", "amount_wan"]),
    pd.DataFrame(),
])
def test_empty_pairings(hand, empty):
    scn, _ = hand
    for rule in RULES:
        alloc = allocate(scn, empty, rule=rule)
        assert len(alloc.groups) == len(HAND_RELOCATION)
        assert (alloc.counties["gross_wan"] == 0).all()
        assert (alloc.groups[GROUP_MONEY] == 0).all().all()
        check_no_nan(alloc)
        assert alloc.total_check() == 0
    metrics, _, _ = compare_rules(scn, empty)
    assert list(metrics["rule"]) == list(RULES)
    assert (metrics["mean_per_person_wan"] == 0).all()


def test_no_relocation_and_no_pairings():
    scn = make_scn(HAND_COUNTIES, None, HAND_PARAMS)
    alloc = allocate(scn, pairings([]))
    assert alloc.groups.empty and alloc.counties.empty and alloc.destinations.empty
    assert list(alloc.groups.columns[:10]) == ["county_code", "group_id", "resettlement_mode", "destination_code",
                                               "persons", "households", "reclaimed_mu", "household_wan",
                                               "collective_wan", "per_person_wan"]
    # sales without any relocation data: everything after deductions is unallocated
    pair_table = pairings(HAND_PAIRINGS)
    alloc = allocate(scn, pair_table)
    assert alloc.groups.empty
    check_conserved(alloc, pair_table)
    assert alloc.counties["unallocated_wan"].sum() > 0


def test_unknown_rule_is_refused(hand):
    scn, pair_table = hand
    with pytest.raises(ValueError, match="bogus"):
        allocate(scn, pair_table, rule="bogus")


# --------------------------------------------------------------------------- money follows people

def test_money_follows_people_to_the_destination(hand):
    scn, pair_table = hand
    alloc = allocate(scn, pair_table)
    b = group(alloc, "b")
    assert b["destination_code"] == "101" and b["destination_name"] == "丁区"
    assert group(alloc, "a")["destination_code"] == "001"  # blank destination = same county
    dest = alloc.destinations.set_index("destination_code")
    assert dest.loc["101", "household_wan"] == pytest.approx(b["household_wan"], abs=TOL)
    assert dest.loc["101", "from_elsewhere_wan"] == pytest.approx(b["household_wan"], abs=TOL)
    assert dest.loc["101", "persons"] == 12
    own = alloc.groups[(alloc.groups["county_code"] == "001") & (alloc.groups["destination_code"] == "001")]
    assert dest.loc["001", "household_wan"] == pytest.approx(own["household_wan"].sum(), abs=TOL)
    assert dest.loc["001", "from_elsewhere_wan"] == 0
    # and the producing county's own total is what stays plus what left with its people
    H = alloc.counties.set_index("county_code").loc["001", "household_wan"]
    assert dest.loc["001", "household_wan"] + dest.loc["101", "household_wan"] == pytest.approx(H, abs=TOL)


def test_destinations_on_baseline(baseline):
    scn, result = baseline
    moved = scn.relocation[scn.relocation["destination_code"] != ""]
    assert len(moved) > 0
    for rule in RULES:
        alloc = allocate(scn, result.pairings, rule=rule)
        g = alloc.groups
        dest = alloc.destinations.set_index("destination_code")
        expected = g.groupby("destination_code")["household_wan"].sum()
        assert set(dest.index) == set(expected.index)
        for code, amount in expected.items():
            assert dest.loc[code, "household_wan"] == pytest.approx(amount, abs=TOL)
        away = g[g["destination_code"] != g["county_code"]]
        assert len(away) == len(moved)
        assert dest["from_elsewhere_wan"].sum() == pytest.approx(away["household_wan"].sum(), abs=TOL)
        assert away["household_wan"].sum() > 0


@pytest.mark.parametrize("blank", [np.nan, None, "", "  "])
def test_blank_destination_in_any_form_means_same_county(baseline, blank):
    """A row added or edited in pandas may carry NaN/None instead of '': the money must not vanish from the
    destination table."""
    scn, result = baseline
    reloc = scn.relocation.copy()
    reloc["destination_code"] = reloc["destination_code"].astype(object)
    stay = reloc["destination_code"] == ""
    reloc.loc[stay, "destination_code"] = blank
    alloc = allocate(Scenario(scn.settings, scn.counties, scn.pairs, reloc), result.pairings)
    reference = allocate(scn, result.pairings)
    assert alloc.groups["destination_code"].tolist() == reference.groups["destination_code"].tolist()
    assert alloc.destinations["household_wan"].sum() == pytest.approx(alloc.groups["household_wan"].sum(), abs=TOL)
    pd.testing.assert_frame_equal(alloc.destinations, reference.destinations)


# --------------------------------------------------------------------------- conservation on the baseline and at random

def test_conservation_on_baseline_every_rule(baseline):
    scn, result = baseline
    for rule in RULES:
        alloc = allocate(scn, result.pairings, rule=rule)
        check_conserved(alloc, result.pairings)
        check_no_nan(alloc)
        assert alloc.counties["gross_wan"].sum() == pytest.approx(result.totals["proceeds_wan"], abs=1e-4)
        assert len(alloc.groups) == len(scn.relocation)


def test_conservation_on_random_pairings(baseline):
    scn, _ = baseline
    rng = np.random.default_rng(20240518)
    codes = scn.counties["code"].tolist()
    reloc_codes = sorted(set(scn.relocation["county_code"]))
    for trial in range(10):
        sellers = list(rng.choice(codes, size=rng.integers(1, 12), replace=False))
        sellers += list(rng.choice(reloc_codes, size=2, replace=False))
        rows = []
        for s in sellers:
            for b in rng.choice(codes, size=rng.integers(1, 4), replace=False):
                rows.append((s, b, float(rng.choice([0.0, rng.uniform(0, 900)])), float(rng.uniform(0, 60))))
        pair_table = pairings(rows)
        reloc = scn.relocation.copy()
        if trial % 3 == 0:  # zero people, zero area and blanks in some groups
            idx = rng.choice(len(reloc), size=8, replace=False)
            reloc.loc[idx[:3], "persons"] = 0
            reloc.loc[idx[3:6], "reclaimed_mu"] = 0
            reloc.loc[idx[6:], ["households", "persons", "reclaimed_mu"]] = np.nan
        s2 = Scenario(scn.settings, scn.counties, scn.pairs, reloc)
        overrides = {"reclamation_cost_per_mu": float(rng.choice([0.0, 3.0, rng.uniform(0, 80)])),
                     "financing_repayment_share": float(rng.uniform(0, 1)),
                     "collective_share": float(rng.choice([0.0, 1.0, rng.uniform(0, 1)])),
                     "hybrid_alpha": float(rng.uniform(0, 1))}
        for rule in RULES:
            alloc = allocate(s2, pair_table, rule=rule, **overrides)
            check_conserved(alloc, pair_table)
            check_no_nan(alloc)


# --------------------------------------------------------------------------- equal benefit (article 18)

def test_per_capita_gives_equal_benefit_whatever_the_mode(baseline):
    scn, result = baseline
    metrics, modes, allocs = compare_rules(scn, result.pairings)
    m = metrics.set_index("rule")
    assert bool(m.loc["per_capita", "equal_benefit"]) is True
    assert m.loc["per_capita", "mode_gap"] < 1e-9
    g = allocs["per_capita"].groups
    g = g[g["persons"] > 0]
    assert g["resettlement_mode"].nunique() >= 3
    for code, county in g.groupby("county_code"):
        values = county["per_person_wan"].to_numpy()
        assert values.max() - values.min() < 1e-9, code
    # ... while by area, people in the same county get different amounts depending on their group
    assert bool(m.loc["by_area", "equal_benefit"]) is False
    assert m.loc["by_area", "mode_gap"] > 0.01
    assert m.loc["by_area", "gini"] > m.loc["per_capita", "gini"]
    assert m.loc["by_area", "max_min_ratio"] > 1.0
    # the per-person mean over everyone does not depend on the rule (same pool, same people)
    assert np.allclose(metrics["mean_per_person_wan"], metrics["mean_per_person_wan"].iloc[0])
    assert set(modes["rule"]) == set(RULES)
    pc_modes = modes[modes["rule"] == "per_capita"]
    assert set(pc_modes["resettlement_mode"]) <= set(schema.RESETTLEMENT_MODES)


def test_per_capita_equal_in_a_county_whatever_the_mode(hand):
    scn, pair_table = hand
    metrics, _, allocs = compare_rules(scn, pair_table, county="001")
    m = metrics.set_index("rule")
    g = allocs["per_capita"].groups
    g = g[(g["county_code"] == "001") & (g["persons"] > 0)]
    assert set(g["resettlement_mode"]) == {"centralized", "urban", "dispersed"}
    assert np.ptp(g["per_person_wan"].to_numpy()) < 1e-9
    assert bool(m.loc["per_capita", "equal_benefit"])
    assert equal_benefit_gap(allocs["per_capita"].groups) < 1e-9
    assert not bool(m.loc["by_area", "equal_benefit"])
    assert not bool(m.loc["per_household", "equal_benefit"])
    # county filter: metrics only look at that county
    assert m.loc["per_capita", "mean_per_person_wan"] == pytest.approx(
        allocs["per_capita"].counties.set_index("county_code").loc["001", "per_person_wan"])


def test_verdict_lines(baseline):
    scn, result = baseline
    metrics, _, _ = compare_rules(scn, result.pairings, rules=("per_capita", "by_area"))
    rows = metrics.set_index("rule")
    zh_ok = verdict(rows.loc["per_capita"].to_dict() | {"rule": "per_capita"})
    zh_bad = verdict(rows.loc["by_area"].to_dict() | {"rule": "by_area"})
    en_bad = verdict(rows.loc["by_area"].to_dict() | {"rule": "by_area"}, lang="en")
    assert "符合" in zh_ok and "按人口" in zh_ok
    assert "不满足" in zh_bad and "%" in zh_bad
    assert f"{rows.loc['by_area', 'mode_gap'] * 100:.1f}%" in en_bad and "not equal" in en_bad


# --------------------------------------------------------------------------- inequality measures

def test_gini_values():
    assert gini(np.full(7, 3.2)) == pytest.approx(0.0, abs=1e-12)
    assert gini(np.array([5.0])) == 0.0
    assert gini(np.zeros(4)) == 0.0
    assert gini(np.array([])) == 0.0
    top = gini(np.array([0.0] * 9 + [1.0]))
    assert top == pytest.approx(0.9) and top > 0.85
    assert gini(np.array([1.0, 2.0])) == pytest.approx(1 / 6)
    # weights act like repeated people
    assert gini(np.array([1.0, 2.0]), np.array([2.0, 1.0])) == pytest.approx(gini(np.array([1.0, 1.0, 2.0])))
    # zero weights and NaN values are ignored
    assert gini(np.array([1.0, 100.0, np.nan]), np.array([1.0, 0.0, 5.0])) == 0.0
    assert 0 < gini(np.array([1.0, 2.0, 3.0])) < gini(np.array([1.0, 2.0, 30.0])) < 1


def test_lorenz_curve():
    v, w = np.array([3.0, 1.0, 2.0, 0.0]), np.array([1.0, 2.0, 1.0, 1.0])
    lc = lorenz(v, w)
    assert list(lc.columns) == ["population_share", "money_share"]
    assert tuple(lc.iloc[0]) == (0.0, 0.0)
    assert lc.iloc[-1]["population_share"] == pytest.approx(1.0)
    assert lc.iloc[-1]["money_share"] == pytest.approx(1.0)
    assert (np.diff(lc["population_share"]) >= 0).all() and (np.diff(lc["money_share"]) >= 0).all()
    assert (lc["money_share"] <= lc["population_share"] + 1e-12).all()
    for values, weights in ((np.zeros(3), np.ones(3)), (np.array([]), np.array([])), (np.ones(2), np.zeros(2))):
        lc = lorenz(values, weights)
        assert tuple(lc.iloc[-1]) == pytest.approx((1.0, 1.0))
        assert np.isfinite(lc.to_numpy()).all()


def test_benefit_metrics():
    equal = pd.DataFrame({"persons": [3, 5, 0], "per_person_wan": [2.0, 2.0, np.nan]})
    m = benefit_metrics(equal)
    assert m["gini"] == pytest.approx(0.0, abs=1e-12) and m["cv"] == pytest.approx(0.0, abs=1e-12)
    assert m["max_min_ratio"] == pytest.approx(1.0) and m["mean_per_person_wan"] == pytest.approx(2.0)
    unequal = pd.DataFrame({"persons": [1, 1], "per_person_wan": [1.0, 3.0]})
    m = benefit_metrics(unequal)
    assert m["max_min_ratio"] == pytest.approx(3.0)
    assert m["cv"] == pytest.approx(0.5)
    assert m["mean_per_person_wan"] == pytest.approx(2.0)
    empty = benefit_metrics(pd.DataFrame({"persons": [], "per_person_wan": []}))
    assert empty == {"gini": 0.0, "cv": 0.0, "max_min_ratio": 1.0, "mean_per_person_wan": 0.0}


# --------------------------------------------------------------------------- validation of the parameters

@pytest.mark.parametrize("key, value, words", [
    ("collective_share", 1.5, ["1"]),
    ("collective_share", -0.1, ["negative", "负"]),
    ("financing_repayment_share", 2.0, ["1"]),
    ("hybrid_alpha", 1.2, ["1"]),
    ("reclamation_cost_per_mu", -3.0, ["negative", "负"]),
    ("rule", "by_luck", ["per_capita", "hybrid"]),
    ("collective_share", "0.15", ["number", "数字"]),
])
def test_invalid_proceeds_parameters_get_clear_messages(baseline, key, value, words):
    scn, _ = baseline
    assert not errors(validate_scenario(scn))
    bad = errors(validate_scenario(scn.with_param("proceeds", key, value)))
    assert len(bad) == 1, [p.text("en") for p in bad]
    p = bad[0]
    assert p.column == f"proceeds.{key}"
    assert p.file == "scenario.toml"
    assert p.value == str(value)
    text = p.text("en") + p.text("zh")
    assert f"proceeds.{key}" in p.text("en") and f"proceeds.{key}" in p.text("zh")
    assert any(w in text for w in words), text
