"""The PuLP formulation is the model of record; the matrix fast path must be the same model.

Proved on random scenarios (the fuzz generator): the same variables and constraints by name, the same
coefficients, bounds and objective; and solved, the same optimum and the same shadow prices.
"""
from __future__ import annotations

import math

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings

from planner import load_checked
from planner.scenario import Scenario
from planner.model import build, col_names, formulate, market, row_names, solve, write_lp
from planner.model.colgen import _solve_highs_colgen
from planner.model.solvers import _solve_highs, solve_pulp
from tests.conftest import BASELINE
from tests.test_fuzz import fuzz_settings, load_valid, valid_scenarios


def matrix_model(m):
    """{row name: (lo, hi, {col name: coef})}, {col name: (objective, lo, hi, integer)} of the fast path."""
    cn, rn = col_names(m), row_names(m)
    A = m.A.tocsr()
    rows = {}
    for i, name in enumerate(rn):
        s, e = A.indptr[i], A.indptr[i + 1]
        coefs = {cn[j]: float(v) for j, v in zip(A.indices[s:e], A.data[s:e]) if v != 0}
        rows[name] = (float(m.row_lo[i]), float(m.row_hi[i]), coefs)
    cols = {cn[j]: (float(m.c[j]), float(m.col_lo[j]), float(m.col_hi[j]), bool(m.integer[j]))
            for j in range(m.n_cols)}
    return rows, cols


def pulp_model(prob):
    rows = {}
    for name, con in prob.constraints.items():
        rhs = -con.constant
        lo = rhs if con.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ) else -math.inf
        hi = rhs if con.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ) else math.inf
        rows[name] = (lo, hi, {v.name: float(c) for v, c in con.items() if c != 0})
    cols = {}
    for v in prob.variables():
        cols[v.name] = (float(prob.objective.get(v, 0.0)), float(v.lowBound if v.lowBound is not None else -math.inf),
                        float(v.upBound if v.upBound is not None else math.inf), v.cat == pulp.LpInteger)
    return rows, cols


def assert_same_model(scn):
    mk = market(scn)
    m = build(mk)
    prob = formulate(mk).problem
    m_rows, m_cols = matrix_model(m)
    p_rows, p_cols = pulp_model(prob)
    assert set(m_cols) == set(p_cols)
    assert set(m_rows) == set(p_rows)
    for name, (obj, lo, hi, integer) in m_cols.items():
        p_obj, p_lo, p_hi, p_int = p_cols[name]
        assert obj == pytest.approx(p_obj, rel=1e-12, abs=1e-12), name
        assert (lo, integer) == (p_lo, p_int), name
        assert hi == p_hi or (integer and hi == 1.0 and p_hi == 1.0), name
    for name, (lo, hi, coefs) in m_rows.items():
        p_lo, p_hi, p_coefs = p_rows[name]
        assert (lo, hi) == pytest.approx((p_lo, p_hi)), name
        assert set(coefs) == set(p_coefs), name
        for col, v in coefs.items():
            assert v == pytest.approx(p_coefs[col], rel=1e-12), (name, col)
    return mk, m, prob


@pytest.fixture(scope="module")
def baseline():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, problems
    return scn


def test_baseline_same_model_and_named_by_county_code(baseline):
    # The baseline supplies from lots: x_lot_<lot>_<buyer>, supply_lot_<lot> (lot ids carry the county code).
    mk, m, prob = assert_same_model(baseline)
    names = set(prob.constraints)
    first_lot, first_buyer = str(mk.units["unit_id"].iloc[0]), str(mk.buyers["code"].iloc[0])
    assert f"supply_lot_{first_lot.replace('-', '_')}" in names
    assert f"demand_{first_buyer}" in names
    assert any(n.startswith(f"x_lot_{first_lot.replace('-', '_')}_") for n in (v.name for v in prob.variables()))
    # without lots, by county code: x_<seller>_<buyer>, supply_<seller>
    plain = Scenario(baseline.settings, **{**baseline.tables(), "lots": baseline.lots.iloc[0:0]})
    mk, m, prob = assert_same_model(plain)
    pair = mk.pairs.iloc[0]
    assert f"supply_{pair['seller_code']}" in prob.constraints
    assert f"x_{pair['seller_code']}_{pair['buyer_code']}" in {v.name for v in prob.variables()}


@fuzz_settings(40)
@given(case=valid_scenarios())
def test_random_scenarios_build_the_same_model(case, tmp_path_factory):
    scn = load_valid(case, tmp_path_factory.mktemp("same"))
    assert_same_model(scn)


def _duals_agree(m, a, b) -> bool:
    scale = max(1.0, float(np.max(np.abs(m.c)))) if m.n_cols else 1.0
    return bool(np.allclose(a, b, atol=1e-6 * scale, rtol=1e-6))


@fuzz_settings(40)
@given(case=valid_scenarios())
def test_random_scenarios_same_optimum_and_duals(case, tmp_path_factory):
    """PuLP+HiGHS on the formulation vs HiGHS and column generation on the arrays: the same optimum; for an LP the
    same shadow prices wherever they are unique, and always dual-feasible for the other path's model."""
    scn = load_valid(case, tmp_path_factory.mktemp("opt"))
    mk = market(scn)
    m = build(mk)
    if not m.n_cols:
        return
    via_pulp = solve_pulp(m, formulate(mk), "highs")
    direct = _solve_highs(m, None, "simplex")
    assert via_pulp.status == direct.status == "optimal"
    scale = max(1.0, abs(direct.objective))
    assert via_pulp.objective == pytest.approx(direct.objective, rel=1e-7, abs=1e-6 * scale)
    if m.is_mip:
        return
    colgen = _solve_highs_colgen(m, None, 1, 3, 1)
    assert colgen.objective == pytest.approx(direct.objective, rel=1e-7, abs=1e-6 * scale)
    for raw in (via_pulp, colgen):
        # Dual feasibility of raw's shadow prices in the other path's arrays: optimal for the same model.
        y = raw.row_dual
        rc = m.c - m.A.T @ y
        assert rc.max() <= 1e-6 * max(1.0, np.abs(m.c).max())
        upper = np.isfinite(m.row_hi) & ~np.isfinite(m.row_lo)
        lower = np.isfinite(m.row_lo) & ~np.isfinite(m.row_hi)
        assert np.all(y[upper] >= -1e-7 * scale) and np.all(y[lower] <= 1e-7 * scale)
        # Strong duality: the same value as the optimum.
        bound = np.where(y >= 0, np.where(np.isfinite(m.row_hi), m.row_hi, 0), np.where(np.isfinite(m.row_lo),
                                                                                    m.row_lo, 0))
        assert float(y @ bound) == pytest.approx(direct.objective, rel=1e-6, abs=1e-6 * scale)


def test_baseline_duals_equal_on_both_paths(baseline):
    # the baseline's LP (its minimum lot makes it an integer model, which has no duals)
    mk = market(baseline.with_param("rules", "min_lot_mu", 0.0))
    m = build(mk)
    via_pulp = solve_pulp(m, formulate(mk), "highs")
    direct = _solve_highs(m, None, "simplex")
    assert _duals_agree(m, via_pulp.row_dual, direct.row_dual)
    assert solve(baseline).algorithm == "pulp"
    assert solve(baseline.with_param("rules", "min_lot_mu", 0.0)).algorithm == "pulp"


def test_write_lp_is_readable_and_named(baseline, tmp_path):
    path = write_lp(market(baseline), tmp_path / "model.lp")
    text = path.read_text()
    assert "Maximize" in text or "MAXIMIZE" in text
    lot = str(market(baseline).units["unit_id"].iloc[0]).replace("-", "_")
    assert f"supply_lot_{lot}:" in text
    assert "construction_" in text or "budget_" in text
