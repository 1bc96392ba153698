"""Column generation (the large-LP path) gives the same optimum as the full model, with valid duals."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import make, make_every_rule, make_with_lots  # noqa: E402
from planner import load_checked, solve  # noqa: E402
from planner.model import build, market  # noqa: E402
from planner.model.colgen import _solve_highs_colgen  # noqa: E402
from planner.model.solvers import _solve_highs  # noqa: E402


@pytest.fixture(scope="module")
def province_model(tmp_path_factory):
    folder = make("province", tmp_path_factory.mktemp("bench") / "province", seed=3)
    scn, problems = load_checked(folder)
    assert scn is not None, problems
    return scn, build(market(scn))


@pytest.mark.parametrize("per_county,batch,purge,smoothing", [(1, 20, 1, 0.0), (2, 50, 2, 0.0), (3, 200, 0, 0.0),
                                                               (5, 10_000, 2, 0.0), (1, 20, 1, 0.8), (2, 50, 2, 0.5)])
def test_colgen_matches_full_model(province_model, per_county, batch, purge, smoothing):
    scn, m = province_model
    full = _solve_highs(m, None, "simplex")
    cg = _solve_highs_colgen(m, None, per_county, batch, purge, smoothing=smoothing)
    assert full.status == cg.status == "optimal"
    assert cg.objective == pytest.approx(full.objective, rel=1e-7)
    # Dual feasibility over ALL columns proves optimality of the whole model, whatever the vertex.
    rc = m.c - m.A.T @ cg.row_dual
    assert rc.max() <= 1e-6 * max(1.0, np.abs(m.c).max())
    # The plan is feasible for the whole model.
    activity = m.A @ cg.x
    assert np.all(activity <= m.row_hi + 1e-6)
    assert np.all(activity >= m.row_lo - 1e-6)
    assert np.all(cg.x >= -1e-9)


def test_small_batches_need_several_rounds(province_model):
    _, m = province_model
    cg = _solve_highs_colgen(m, None, 1, 20, 1)
    rounds = int(cg.message.split("column generation: ")[1].split(" rounds")[0])
    assert rounds > 3


def test_solve_picks_colgen_for_large_lp_and_reports_it(tmp_path):
    folder = make("detailed", tmp_path / "detailed", seed=5)
    scn, _ = load_checked(folder)
    result = solve(scn)
    assert result.algorithm == "colgen"
    assert result.status == "optimal"
    assert "column generation" in result.message
    assert result.totals["quota_matched_mu"] > 0


def test_colgen_time_limit_is_honest(province_model):
    _, m = province_model
    cg = _solve_highs_colgen(m, 1e-9, 1, 20, 1)
    assert cg.status in ("time_limit", "optimal")
    if cg.status == "time_limit" and cg.has_solution:
        activity = m.A @ cg.x
        assert np.all(activity <= m.row_hi + 1e-6)


@pytest.fixture(scope="module")
def every_rule_model(tmp_path_factory):
    """Quality balance, plan adjustment (its link rows join the master lazily) and the minimum sale share."""
    folder = make_every_rule("province", tmp_path_factory.mktemp("bench") / "rules", seed=3)
    scn, problems = load_checked(folder)
    assert scn is not None, problems
    m = build(market(scn))
    assert (m.col_kind == "a").any() and (m.row_kind == "adjust_link").any() and (m.col_kind == "short").any()
    assert (m.row_kind == "quality").any() and (m.row_kind == "min_sale").any()
    return m


def _assert_exact(m, full, cg):
    assert full.status == cg.status == "optimal"
    assert cg.objective == pytest.approx(full.objective, rel=1e-7)
    # Dual feasible over every column of the full model, link rows (never in the master) included.
    rc = m.c - m.A.T @ cg.row_dual
    priced = np.isin(m.col_kind, ("x", "a"))  # on their own scale, not the shortfall penalty's
    assert rc[priced].max() <= 1e-6 * max(1.0, np.abs(m.c[priced]).max())
    assert rc.max() <= 1e-6 * max(1.0, np.abs(m.c).max())
    assert np.all(cg.row_dual[np.isinf(m.row_lo)] >= -1e-9)  # <= rows: duals of the right sign
    activity = m.A @ cg.x
    assert np.all(activity <= m.row_hi + 1e-6)
    assert np.all(activity >= m.row_lo - 1e-6)
    assert np.all(cg.x >= -1e-9)


@pytest.mark.parametrize("per_county,batch,purge,per_owner,smoothing",
                         [(1, 20, 1, 0, 0.0), (2, 50, 2, 3, 0.0), (5, 10_000, 2, 0, 0.0), (1, 20, 1, 0, 0.8),
                          (2, 50, 2, 3, 0.8)])
def test_colgen_with_plan_adjustment_matches_full_model(every_rule_model, per_county, batch, purge, per_owner,
                                                        smoothing):
    m = every_rule_model
    full = _solve_highs(m, None, "simplex")
    cg = _solve_highs_colgen(m, None, per_county, batch, purge, per_owner, smoothing=smoothing)
    _assert_exact(m, full, cg)
    assert cg.x[m.col_kind == "a"].sum() > 0  # the case exercises plan adjustment


@pytest.mark.parametrize("smoothing", [0.0, 0.8])
def test_colgen_with_lots_matches_full_model(tmp_path, smoothing):
    folder = make_with_lots("province", tmp_path / "lots", seed=4)
    scn, problems = load_checked(folder)
    assert scn is not None, problems
    m = build(market(scn))
    full = _solve_highs(m, None, "simplex")
    _assert_exact(m, full, _solve_highs_colgen(m, None, 1, 30, 1, 2, smoothing=smoothing))
    _assert_exact(m, full, _solve_highs_colgen(m, None, 1, 30, 1, 0, smoothing=smoothing))


def test_every_rule_large_lp_takes_colgen():
    from planner.model.pipeline import choose_algorithm

    assert choose_algorithm(10**6, "highs", False, True) == "colgen"
    assert choose_algorithm(10**6, "highs", True, False) == "simplex"


def test_best_per_owner_keeps_the_k_best_of_each_owner_earlier_first_on_ties():
    from planner.model.colgen import _best_per_owner

    score = np.array([5.0, 1.0, 5.0, 3.0, 2.0, 9.0, 2.0])
    owner = np.array([0, 0, 0, 0, 1, 1, 1])
    assert sorted(_best_per_owner(score, owner, 2).tolist()) == [0, 2, 4, 5]
    assert sorted(_best_per_owner(score, owner, 1).tolist()) == [0, 5]
    rng = np.random.default_rng(1)
    score, owner = rng.integers(0, 20, 5000).astype(float), rng.integers(0, 50, 5000)
    got = set(_best_per_owner(score, owner, 3).tolist())
    order = np.lexsort((-score, owner))  # the plain definition
    want = {int(j) for o in range(50) for j in order[owner[order] == o][:3]}
    assert got == want
    by_score = np.argsort(-score, kind="stable")
    assert set(_best_per_owner(score, owner, 3, by_score).tolist()) == want
    big = owner * 10_000  # owners past 16 bits: sorted without the radix shortcut, same answer
    assert set(_best_per_owner(score, big, 3).tolist()) == want


@pytest.mark.parametrize("n,positive", [(10, 7), (300_000, 290_000), (300_000, 1_000), (300_000, 0)])
def test_priced_in_keeps_the_best_batch_of_many_candidates(n, positive):
    """The sampled threshold may keep fewer than all candidates, never fewer than a batch of the best."""
    from planner.model.colgen import _priced_in, _select

    rng = np.random.default_rng(n + positive)
    rc = -rng.random(n)
    rc[rng.choice(n, positive, replace=False)] = rng.random(positive) + 1e-6
    batch = 2_000
    every = np.nonzero(rc > 1e-9)[0]
    kept = _priced_in(rc, 1e-9, batch)
    assert set(kept.tolist()) <= set(every.tolist())
    chosen = _select(rc, kept, np.zeros(n, dtype=np.int64), batch, 0)
    want = _select(rc, every, np.zeros(n, dtype=np.int64), batch, 0)
    assert np.array_equal(chosen, want)
    ties = np.where(rc > 0, 1.0, rc)  # equal reduced costs: all of them stay candidates
    assert len(_priced_in(ties, 1e-9, batch)) == positive


@pytest.mark.parametrize("batch", [2_000, 10_000])
def test_colgen_pairs_nearer_counties_among_equally_good_plans(province_model, monkeypatch, batch):
    """The distance pass over the final master: same optimum, shorter hauls than its first optimal plan, never
    shorter than the nearest plan over every column (the full model's pass)."""
    import planner.model.colgen as colgen

    _, m = province_model
    near = _solve_highs_colgen(m, None, batch=batch, smoothing=0.8)
    monkeypatch.setattr(colgen, "_nearer_in_master", lambda h, m, to_model, c_v, value, x, left: x)
    first = _solve_highs_colgen(m, None, batch=batch, smoothing=0.8)
    full = _solve_highs(m, None, "simplex")
    assert near.objective == pytest.approx(first.objective, rel=1e-9)
    assert near.objective == pytest.approx(full.objective, rel=1e-9)
    km = m.tie_cost
    assert km @ near.x < 0.9 * (km @ first.x)
    assert km @ near.x >= km @ full.x * (1 - 1e-9)
    activity = m.A @ near.x
    assert np.all(activity <= m.row_hi + 1e-6) and np.all(activity >= m.row_lo - 1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.8])
def test_pricing_in_threads_gives_the_same_plan_as_one_thread(every_rule_model, monkeypatch, smoothing):
    """Column blocks priced by threads (national size) find the same columns, round by round, as one block."""
    from planner.model import pricing

    one = _solve_highs_colgen(every_rule_model, None, 1, 30, 1, smoothing=smoothing)
    monkeypatch.setattr(pricing, "MIN_BLOCK", 50)
    monkeypatch.setattr(pricing, "MAX_WORKERS", 3)
    monkeypatch.setattr(pricing.os, "cpu_count", lambda: 3)
    assert len(pricing.BlockPricing(every_rule_model.A.tocsc().T, every_rule_model.c).blocks) == 3
    many = _solve_highs_colgen(every_rule_model, None, 1, 30, 1, smoothing=smoothing)
    assert many.message == one.message  # the same rounds and final master
    assert np.array_equal(many.x, one.x)
    assert np.array_equal(many.row_dual, one.row_dual)
