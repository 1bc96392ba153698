"""Column generation (the large-LP path) gives the same optimum as the full model, with valid duals."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import make  # noqa: E402
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


@pytest.mark.parametrize("per_county,batch,purge", [(1, 20, 1), (2, 50, 2), (3, 200, 0), (5, 10_000, 2)])
def test_colgen_matches_full_model(province_model, per_county, batch, purge):
    scn, m = province_model
    full = _solve_highs(m, None, "simplex")
    cg = _solve_highs_colgen(m, None, per_county, batch, purge)
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
