from pathlib import Path

from planner import load_checked, solve

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


def test_baseline_solves_optimally():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in problems]
    result = solve(scn)
    assert result.status == "optimal"
    assert result.totals["quota_matched_mu"] > 0
