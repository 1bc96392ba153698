"""planner.drafts: unsaved edits kept on disk per scenario and session (issue 15 item 2)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from planner import load_checked
from planner.drafts import (DRAFTS_DIR, DraftError, list_drafts, new_draft_id, read_draft, remove_draft,
                            write_draft)
from planner.scenario import Scenario
from planner.store import ScenarioStore

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn


def test_round_trip_keeps_tables_as_text_and_settings(tmp_path, baseline):
    edited = baseline.counties.copy()
    edited.loc[0, "surplus_mu"] = -5.0  # not valid yet: kept as typed
    did = new_draft_id()
    info = write_draft(tmp_path, "my-plan", did, baseline.settings, {"counties": edited, "pairs": baseline.pairs},
                       "abc123", name="我的情景")
    assert (tmp_path / DRAFTS_DIR / "my-plan" / f"{did}.json").is_file()
    draft = read_draft(tmp_path, "my-plan", did)
    assert draft.info == info and draft.info.name == "我的情景" and draft.info.base_stamp == "abc123"
    assert draft.settings == baseline.settings
    assert draft.tables["counties"].loc[0, "surplus_mu"] == "-5"
    scn = Scenario.from_raw(draft.settings, draft.tables)
    assert scn.counties.loc[0, "surplus_mu"] == -5.0
    assert scn.pairs.equals(baseline.pairs) or scn.pairs.astype(str).equals(baseline.pairs.astype(str))


def test_list_newest_first_and_remove(tmp_path, baseline):
    a, b = new_draft_id(), new_draft_id()
    write_draft(tmp_path, "s", a, {}, {"counties": baseline.counties}, "x")
    info_b = write_draft(tmp_path, "s", b, {}, {"counties": baseline.counties}, "x")
    os.utime(tmp_path / DRAFTS_DIR / "s" / f"{a}.json")
    infos = list_drafts(tmp_path, "s")
    assert {i.draft_id for i in infos} == {a, b}
    assert infos[0].saved_at >= infos[1].saved_at
    remove_draft(tmp_path, "s", a)
    assert [i.draft_id for i in list_drafts(tmp_path, "s")] == [info_b.draft_id]
    remove_draft(tmp_path, "s", b)
    assert list_drafts(tmp_path, "s") == [] and not (tmp_path / DRAFTS_DIR / "s").exists()
    assert list_drafts(tmp_path, "never") == []


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, baseline):
    did = new_draft_id()
    for n in range(3):
        write_draft(tmp_path, "s", did, {"scenario": {"name": str(n)}}, {"counties": baseline.counties}, "x")
    folder = tmp_path / DRAFTS_DIR / "s"
    assert sorted(p.name for p in folder.iterdir()) == [f"{did}.json"]
    assert read_draft(tmp_path, "s", did).settings == {"scenario": {"name": "2"}}


def test_unreadable_draft_is_skipped(tmp_path):
    folder = tmp_path / DRAFTS_DIR / "s"
    folder.mkdir(parents=True)
    (folder / "0123456789abcdef.json").write_text("{broken", encoding="utf-8")
    assert list_drafts(tmp_path, "s") == []
    assert read_draft(tmp_path, "s", "0123456789abcdef") is None


@pytest.mark.parametrize("slug,draft_id", [("../x", "0123456789abcdef"), (".versions", "0123456789abcdef"),
                                           ("s", "../../etc"), ("a/b", "0123456789abcdef")])
def test_paths_cannot_leave_the_drafts_folder(tmp_path, slug, draft_id):
    with pytest.raises(DraftError):
        write_draft(tmp_path, slug, draft_id, {}, {}, "")


def test_the_store_does_not_list_the_drafts_folder(tmp_path, baseline):
    store = ScenarioStore(tmp_path)
    store.save_as("甲", baseline)
    write_draft(tmp_path, "甲", new_draft_id(), {}, {"counties": pd.DataFrame({"code": ["1"]})}, "")
    assert [i.slug for i in store.list()] == ["甲"]


def test_drafted_slugs_lists_scenarios_with_drafts(tmp_path, baseline):
    from planner.drafts import drafted_slugs

    assert drafted_slugs(tmp_path) == []
    write_draft(tmp_path, "乙", new_draft_id(), {}, {"counties": baseline.counties}, "")
    write_draft(tmp_path, "甲", new_draft_id(), {}, {"counties": baseline.counties}, "")
    (tmp_path / DRAFTS_DIR / "empty").mkdir()
    assert sorted(drafted_slugs(tmp_path)) == ["乙", "甲"]
