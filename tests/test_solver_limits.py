"""Solver limits are kept (issue 17 item 5): a time limit is a positive number, one deadline for the whole solve;
CBC cleans up its files; a run that finds no plan says so and gives no county a reason it does not have."""
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.__main__ import main
from planner.explain import county_report
from planner.model import solve
from planner.scenario import save_scenario
from planner.validate import load_checked
from tests.independent import buyer, make_scenario, seller
from tests.test_model import hard_mip

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


@pytest.mark.parametrize("limit", [0, 0.0, -1, -0.5, math.nan, math.inf, "abc"])
def test_solve_refuses_a_time_limit_that_is_not_a_positive_number(limit):
    scn = make_scenario([seller("S1", 100, 10), buyer("B1", 50, 30)])
    with pytest.raises(ValueError, match="time limit"):
        solve(scn, time_limit=limit)


@pytest.mark.parametrize("limit", ["0", "-1", "nan", "inf"])
def test_cli_refuses_a_time_limit_that_is_not_a_positive_number(limit, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(BASELINE), "--out", str(tmp_path / "out"), f"--time-limit={limit}"])
    assert exc.value.code == 2
    assert "positive number of seconds" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_highs_keeps_one_deadline_for_the_whole_solve():
    scn = hard_mip()
    limit = 2.0
    t0 = time.perf_counter()
    r = solve(scn, "highs", time_limit=limit)
    wall = time.perf_counter() - t0
    assert r.status in ("time_limit", "optimal"), r.message
    # build, dive, search and tie-break all count; results take a few milliseconds more (shared 2-core machine:
    # generous slack, but far below the 40 % overrun seen before)
    assert wall < limit * 1.25 + 0.5, wall


def test_a_run_without_a_plan_says_so_and_explains_nothing_it_cannot(tmp_path):
    scn = hard_mip()
    r = solve(scn, "highs", time_limit=1e-6)
    assert r.status == "time_limit" and not r.has_solution
    assert r.pairings.empty and r.totals["quota_matched_mu"] == 0
    report = county_report(scn, r)
    assert set(report["reason_code"]) == {"not_solved"}, report["reason_code"].unique()


def test_cli_exits_non_zero_when_no_plan_is_found(tmp_path, capsys):
    folder = tmp_path / "hard"
    save_scenario(hard_mip(), folder)
    code = main(["solve", str(folder), "--out", str(tmp_path / "out"), "--time-limit", "1e-6"])
    assert code != 0
    assert "No plan" in capsys.readouterr().err
    assert '"has_solution": false' in (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")


def test_time_limited_integer_plan_reports_its_gap():
    r = solve(hard_mip(), "highs", time_limit=1.0)
    if r.status == "time_limit" and r.has_solution:
        assert r.mip_gap is not None and r.best_bound is not None
        assert 0 <= r.mip_gap < 1
        assert r.best_bound >= r.objective - 1e-6 * abs(r.objective)
    s = r.summary()
    assert "mip_gap" in s and "best_bound" in s


def test_optimal_integer_summary_has_zero_gap():
    scn, _ = load_checked(BASELINE)
    r = solve(scn)
    assert r.is_mip and r.status == "optimal"
    s = r.summary()
    assert s["mip_gap"] == 0.0 and s["best_bound"] == pytest.approx(s["totals"]["solver_objective"], rel=1e-9)


def _pulp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "-pulp." in p.name]


def test_cbc_with_a_time_limit_returns_and_leaves_no_files(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    t0 = time.perf_counter()
    r = solve(hard_mip(), "cbc", time_limit=2.0)
    assert time.perf_counter() - t0 < 2.0 + 10.0
    assert r.status in ("time_limit", "optimal")
    assert _pulp_files(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_cbc_files_are_removed_even_when_the_solver_fails(tmp_path, monkeypatch):
    import pulp

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []

    def broken(self, lp, **kwargs):
        path = Path(self.tmpDir) / "model-pulp.mps"
        path.write_text("half written")
        seen.append(path)
        raise pulp.PulpSolverError("Pulp: Error while executing")

    monkeypatch.setattr(pulp.PULP_CBC_CMD, "actualSolve", broken)
    scn = make_scenario([seller("S1", 100, 10), buyer("B1", 50, 30), buyer("B2", 40, 25)])
    r = solve(scn, "cbc")
    assert r.status == "failed" and not r.has_solution
    assert seen and not seen[0].exists()
    assert list(tmp_path.iterdir()) == []


def test_a_near_empty_time_limited_plan_is_not_shown_as_a_plan():
    from planner.model.pipeline import _flag_time_limited
    from planner.model.market import market
    from planner.model.matrix import build
    from planner.model.solvers import RawSolution
    import numpy as np

    m = build(market(hard_mip()))
    raw = RawSolution("time_limit", "Time limit reached", True, np.zeros(m.n_cols), None, 0.0, 1.0)
    flagged = _flag_time_limited(m, raw)
    assert not flagged.has_solution and "no plan" in flagged.message
