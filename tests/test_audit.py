"""Audit trail: results carry what produced them; saves and solves are logged; re-solving reproduces."""
import json
import re
import subprocess
import sys

import pandas as pd

from conftest import BASELINE, ROOT
from planner import load_checked, solve
from planner.audit import audit_record, log_event, log_solve, read_log
from planner.store import ScenarioStore


def test_record_names_inputs_version_solver_and_time():
    scn, _ = load_checked(BASELINE)
    result = solve(scn)
    rec = audit_record(scn, result, time_limit=5)
    assert rec["scenario_hash"] == scn.content_hash() and len(rec["scenario_hash"]) == 16
    assert rec["solver"] == "highs" and rec["status"] == "optimal" and rec["time_limit"] == 5
    assert rec["planner_version"] and rec["created_at"][:2] == "20"
    changed = scn.with_param("pricing", "bargaining_weight", 0.7)
    assert audit_record(changed)["scenario_hash"] != rec["scenario_hash"]


def test_stamps_are_iso_8601_in_beijing_time():
    """Machine files carry ISO 8601 stamps with +08:00, whatever the server's own time zone (issue 11)."""
    import datetime as dt

    from planner.audit import now_iso

    stamp = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", stamp), stamp
    assert abs(dt.datetime.fromisoformat(stamp) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)


def test_resolving_the_same_inputs_reproduces_the_pairings():
    scn, _ = load_checked(BASELINE)
    a, b = solve(scn), solve(load_checked(BASELINE)[0])
    pd.testing.assert_frame_equal(a.pairings, b.pairings)
    assert a.scenario_hash == b.scenario_hash


def test_solves_and_saves_are_logged(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_LOG_DIR", str(tmp_path / "log"))
    scn, _ = load_checked(BASELINE)
    log_solve(scn, solve(scn), "test")
    store = ScenarioStore(tmp_path / "scenarios")
    info = store.save_as("审计测试", scn)
    store.save(info.slug, scn.with_param("pricing", "bargaining_weight", 0.6), info.stamp)
    events = read_log()
    kinds = [e["event"] for e in events]
    assert kinds == ["solve", "save_as", "save"]
    assert events[0]["scenario_hash"] == scn.content_hash()
    assert events[2]["version"] == 2 and events[2]["slug"] == info.slug


def test_unwritable_log_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("PLANNER_LOG_DIR", str(blocker / "sub"))
    log_event("solve", note="nothing breaks")  # must not raise
    assert read_log() == []


def test_cli_summary_carries_the_audit_record(tmp_path):
    env = {"PLANNER_LOG_DIR": str(tmp_path / "log"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "planner", "solve", str(BASELINE), "--out", str(tmp_path / "out")],
                   cwd=ROOT, check=True, capture_output=True, env=env)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["audit"]["scenario_hash"] == load_checked(BASELINE)[0].content_hash()
    log = (tmp_path / "log" / "planner.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(log[-1])["source"] == "cli"


def test_every_cli_csv_carries_the_audit_columns(tmp_path):
    env = {"PLANNER_LOG_DIR": str(tmp_path / "log"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "planner", "solve", str(BASELINE), "--out", str(tmp_path / "out")],
                   cwd=ROOT, check=True, capture_output=True, env=env)
    digest = load_checked(BASELINE)[0].content_hash()
    for name in ("pairings.csv", "counties.csv", "ledger.csv", "proceeds.csv"):
        df = pd.read_csv(tmp_path / "out" / name, encoding="utf-8-sig", dtype=str)
        assert set(df["audit_scenario_hash"]) == {digest}, name
        assert set(df["audit_solver"]) == {"highs"} and df["audit_created_at"].str.startswith("20").all(), name
        assert df["audit_created_at"].str.endswith("+08:00").all(), name  # Beijing time


def test_app_downloads_carry_the_audit_columns():
    import io

    from ui.figures import results as views
    from planner.explain import county_report

    scn, _ = load_checked(BASELINE)
    result = solve(scn)
    audit = audit_record(scn, result)
    for data in (views.pairings_export(result.pairings, "zh", audit=audit),
                 views.county_export(county_report(scn, result), "zh", audit=audit)):
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
        assert set(df["方案校验码"]) == {scn.content_hash()}


def test_analysis_csvs_carry_the_audit_columns(tmp_path):
    env = {"PLANNER_LOG_DIR": str(tmp_path / "log"), "PATH": "/usr/bin:/bin"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "planner", *a], cwd=ROOT, check=True,  # noqa: E731
                                    capture_output=True, env=env)
    run("compare", str(BASELINE), str(BASELINE), "--out", str(tmp_path / "cmp"))
    run("sweep", str(BASELINE), "--param", "pricing.bargaining_weight", "--values", "0.4,0.6",
        "--out", str(tmp_path / "sw"))
    run("robust", str(BASELINE), "--runs", "4", "--workers", "1", "--out", str(tmp_path / "rb"))
    digest = load_checked(BASELINE)[0].content_hash()
    for path in [*(tmp_path / "cmp").glob("*.csv"), *(tmp_path / "sw").glob("*.csv"), *(tmp_path / "rb").glob("*.csv")]:
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
        assert "audit_scenario_hash" in df.columns, path.name
        assert digest in "".join(df["audit_scenario_hash"].dropna().unique()) or df.empty, path.name


def test_stored_stamps_read_in_beijing_time_whatever_the_server_zone():
    """A draft saved at 01:41 UTC read '01:41:57' beside exports stamped 09:37+08:00 (found trying the app)."""
    from planner.audit import beijing_wall_time

    assert beijing_wall_time("2026-12-07T01:41:57+00:00") == "2026-12-07 09:41:57"
    assert beijing_wall_time("2026-12-07T09:41:57+08:00") == "2026-12-07 09:41:57"
    assert beijing_wall_time("2026-12-07T23:30:00-05:00") == "2026-12-08 12:30:00"
    assert beijing_wall_time("2026-12-07T09:41:57") == "2026-12-07 09:41:57"  # no zone: as written
    assert beijing_wall_time("") == "—" and beijing_wall_time("yesterday") == "yesterday"
