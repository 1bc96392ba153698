"""Audit trail: what produced a result, and a local log of saves and solves.

Every result and export carries `audit_record(...)`: scenario name, a content hash of its inputs, the planner
version, the solver and its settings, and a timestamp — enough to reproduce it (the same inputs and settings give
the same pairings). Events are appended as JSON lines to `logs/planner.log` under the project root, or to the
folder named by the environment variable PLANNER_LOG_DIR. Logging never breaks the work: a log that cannot be
written is skipped.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

from planner import __version__

ROOT = Path(__file__).resolve().parents[1]
_LOCK = threading.Lock()


def log_dir() -> Path:
    return Path(os.environ.get("PLANNER_LOG_DIR") or ROOT / "logs")


BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time, no daylight saving


def now_iso() -> str:
    """ISO 8601 in Beijing time (2026-11-27T19:35:38+08:00), whatever the server's own time zone: staff read the
    stamps in machine files against their own clocks."""
    return dt.datetime.now(BEIJING).isoformat(timespec="seconds")


def beijing_wall_time(stamp: str) -> str:
    """A stored ISO stamp as staff read it, in Beijing time ("2026-12-07 09:41:57"); the server may run on UTC, and a
    draft saved at 01:41 UTC beside an export stamped 09:37+08:00 read 8 hours apart. A stamp without a zone is
    shown as written; text that is not a stamp, as given ('' as '—')."""
    if not stamp:
        return "—"
    try:
        when = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if when.tzinfo is not None:
        when = when.astimezone(BEIJING)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def audit_record(scn, result=None, **settings) -> dict:
    """The facts that identify a result: inputs hash, planner version, solver and settings, time."""
    record = {"scenario_name": scn.name, "scenario_hash": scn.content_hash(), "planner_version": __version__,
              "created_at": now_iso()}
    if result is not None:
        record.update({"solver": result.solver, "algorithm": result.algorithm, "status": result.status,
                       "objective": result.objective})
    record.update({k: v for k, v in settings.items()})
    return record


def combined_record(scenarios, solver: str = "", **settings) -> dict:
    """One record for a table built from several scenarios (a comparison): names and hashes joined by ' | '."""
    return {"scenario_name": " | ".join(s.name for s in scenarios),
            "scenario_hash": " | ".join(s.content_hash() for s in scenarios), "planner_version": __version__,
            "created_at": now_iso(), "solver": solver, **settings}


def log_event(kind: str, **fields) -> None:
    """Append one JSON line; silently skipped when the log folder is not writable."""
    entry = {"time": now_iso(), "event": kind, "pid": os.getpid(), **fields}
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with _LOCK, open(folder / "planner.log", "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError:
        pass


def log_solve(scn, result, source: str, **settings) -> None:
    t = result.totals
    log_event("solve", source=source, **audit_record(scn, result, **settings),
              seconds=round(result.seconds_build + result.seconds_solve, 4), pairings=t.get("pairings"),
              quota_matched_mu=t.get("quota_matched_mu"), proceeds_wan=t.get("proceeds_wan"))


def read_log(limit: int = 200) -> list[dict]:
    path = log_dir() / "planner.log"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[-limit:]
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
