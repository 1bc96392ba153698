"""planner.problems.group_problems: root causes first, knock-on problems counted under them (issue 15)."""
from __future__ import annotations

from pathlib import Path

import pytest

from planner import load_checked
from planner.problems import errors, group_note, group_problems, knock_on_count
from planner.scenario import RawFolder
from planner.validate import validate_raw

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn


def _problems(baseline, **renames):
    settings, raw = baseline.to_raw()
    raw["counties"] = raw["counties"].rename(columns=renames)
    return validate_raw(RawFolder(settings=settings, tables=raw))


def test_a_bad_county_header_is_the_root_of_every_unknown_county(baseline):
    problems = _problems(baseline, code="county")
    groups = group_problems(problems)
    assert sum(g.size for g in groups) == len(problems)  # every problem in exactly one group
    first = groups[0]
    assert first.root.file == "counties.csv" and first.root.kind == "missing_column" and first.root.column == "code"
    assert len(first.caused) >= 20 and all(p.file != "counties.csv" for p in first.caused)
    assert knock_on_count(groups) == len(first.caused)
    assert len(errors([g.root for g in groups])) <= 3  # the real causes are few
    assert "knock-on problems in other files" in group_note(first, "en")
    assert "连带问题" in group_note(first, "zh")


def test_a_missing_county_is_one_root_with_its_references(baseline):
    settings, raw = baseline.to_raw()
    counties = raw["counties"]
    code = raw["pairs"].loc[0, "seller_code"]
    raw["counties"] = counties[counties["code"] != code].reset_index(drop=True)
    problems = validate_raw(RawFolder(settings=settings, tables=raw))
    refs = [p for p in problems if p.kind == "unknown_county" and p.value == code]
    assert len(refs) >= 2
    groups = group_problems(problems)
    root = next(g for g in groups if g.root.kind == "county_missing")
    assert root.root.value == code and set(map(id, root.caused)) == set(map(id, refs))
    assert code in root.root.message_zh and str(len(refs)) in root.root.message_en
    assert groups.index(root) < len(groups) - 1 or len(groups) == 1


def test_the_same_problem_down_a_column_is_one_group(baseline):
    settings, raw = baseline.to_raw()
    raw["counties"].loc[:4, "surplus_mu"] = "很多"
    problems = validate_raw(RawFolder(settings=settings, tables=raw))
    groups = [g for g in group_problems(problems) if g.root.kind == "not_number"]
    assert len(groups) == 1 and len(groups[0].similar) == 4
    assert "4" in group_note(groups[0], "en")


def test_errors_before_warnings(baseline):
    problems = _problems(baseline, floor_price="price_min", code="county")
    severities = [g.root.severity for g in group_problems(problems)]
    assert severities == sorted(severities, key=lambda s: s != "error")
