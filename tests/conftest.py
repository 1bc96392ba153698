"""Shared fixtures: a tiny scenario folder written into tmp_path from Python strings/dicts."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "jilin-baseline"


@pytest.fixture(autouse=True, scope="session")
def _audit_log_in_tmp(tmp_path_factory):
    """Tests log their saves and solves to a temporary folder, never to the project's logs/."""
    import os

    os.environ.setdefault("PLANNER_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
    yield


@pytest.fixture(autouse=True, scope="session")
def _store_in_tmp(tmp_path_factory):
    """The app's store is a temporary copy of scenarios/: edits keep drafts on disk (issue 15) and saves write
    versions, never into the project's own folder. A test that sets PLANNER_SCENARIOS_DIR itself still wins."""
    import os
    import shutil

    root = tmp_path_factory.mktemp("scenarios")
    shutil.copytree(BASELINE, root / BASELINE.name, ignore=shutil.ignore_patterns(".versions", ".drafts"))
    os.environ.setdefault("PLANNER_SCENARIOS_DIR", str(root))
    yield

TINY_TOML = """\
[scenario]
name = "小测试"
description = "tiny hand-made scenario for tests"

[pricing]
guide_floor = 10.0
guide_ceiling = 60.0
bargaining_weight = 0.5

[rules]
objective = "proceeds"
quality_rule = "off"
"""

# Two sellers (001 national key, 002 provincial) and two buyers (101, 102). Codes keep leading zeros on purpose.
# Optimum of the proceeds objective (hand-computed): all 150 亩 sold, 101 buys 120, 102 buys 30, objective 2950.
TINY_COUNTIES = """\
code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,budget_wan
001,甲县,甲市,national_key,100,5,12,,,
002,乙县,甲市,provincial,50,6,,,,
101,丙区,乙市,none,,,,120,30,
102,丁区,乙市,none,,,,40,20,600
"""
TINY_OBJECTIVE = 2950.0

TINY_PAIRS = """\
seller_code,buyer_code,floor_price,ceiling_price,agreed_price,excluded
001,101,,,,false
"""

TINY_RELOCATION = """\
county_code,group_id,village,resettlement_mode,destination_code,households,persons,reclaimed_mu
001,001-01,一村,centralized,,10,30,40
001,001-02,二村,urban,101,5,12,20
002,002-01,三村,dispersed,,8,20,50
"""


def _csv_text(table) -> str:
    """A CSV given as text, or as a list of dicts (columns in first-seen order; missing keys are blank)."""
    if isinstance(table, str):
        return table
    columns: list[str] = []
    for rec in table:
        columns += [k for k in rec if k not in columns]
    lines = [",".join(columns)]
    lines += [",".join("" if rec.get(c) is None else str(rec[c]) for c in columns) for rec in table]
    return "\n".join(lines) + "\n"


def write_scenario(folder: Path, toml=TINY_TOML, counties=TINY_COUNTIES, pairs=None, relocation=None,
                   encoding: str = "utf-8") -> Path:
    """Write a scenario folder. Each file: str (encoded with `encoding`), bytes (written as is), list of dicts
    (CSV), or None (file absent)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (("scenario.toml", toml), ("counties.csv", counties), ("pairs.csv", pairs),
                          ("relocation.csv", relocation)):
        if content is None:
            continue
        if isinstance(content, bytes):
            data = content
        else:
            text = content if name == "scenario.toml" else _csv_text(content)
            data = text.encode(encoding)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def make_scenario(tmp_path):
    """make_scenario(name="s", **files) -> folder path; see write_scenario."""

    def make(name: str = "s", **files) -> Path:
        return write_scenario(tmp_path / name, **files)

    return make
