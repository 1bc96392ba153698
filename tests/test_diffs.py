"""planner.diffs: what an import would change, before it is applied (issue 15 item 1)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner import load_checked
from planner.diffs import scenario_diff, settings_diff, table_diff
from planner.i18n import column_label
from planner import schema
from planner.scenario import RawFolder, cell_text

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


@pytest.fixture(scope="module")
def baseline():
    scn, problems = load_checked(BASELINE)
    assert scn is not None
    return scn


def test_same_table_is_no_change(baseline):
    _, raw = baseline.to_raw()
    diff = table_diff("counties", baseline.counties, raw["counties"])
    assert diff.is_empty and diff.keyed


def test_renamed_header_shows_as_unknown_and_missing_with_the_closest_name(baseline):
    _, raw = baseline.to_raw()
    upload = raw["counties"].rename(columns={"floor_price": "price_min"})
    diff = table_diff("counties", baseline.counties, upload)
    assert diff.unknown_columns.to_dict("records") == [{"column": "price_min", "closest": "floor_price"}]
    missing = diff.missing_columns.set_index("column")
    sellers_with_floor = int(baseline.counties["floor_price"].notna().sum())
    assert missing.loc["floor_price", "cleared"] == sellers_with_floor > 0
    assert missing.loc["floor_price", "closest"] == "price_min"
    # every floor price that would be dropped is a changed cell; the unknown column is not listed cell by cell
    assert set(diff.changed["column"]) == {"floor_price"}
    assert len(diff.changed) == sellers_with_floor
    assert (diff.changed["after"] == "").all()


def test_rows_added_removed_and_cells_changed_by_key(baseline):
    _, raw = baseline.to_raw()
    upload = raw["counties"].copy()
    removed_code = upload.loc[3, "code"]
    upload = upload.drop(index=3)
    upload = upload.iloc[::-1].reset_index(drop=True)  # order does not matter: rows match by code
    i = upload.index[upload["code"] == baseline.counties.loc[0, "code"]][0]
    upload.loc[i, "surplus_mu"] = "999"
    new = upload.iloc[[0]].copy()
    new["code"], new["name"] = "229999", "新县"
    upload = pd.concat([upload, new], ignore_index=True)
    diff = table_diff("counties", baseline.counties, upload)
    assert diff.keyed
    assert diff.added["code"].tolist() == ["229999"]
    assert diff.added.index.tolist() == [len(upload)]  # row as numbered in the upload (first data row = 1)
    assert diff.removed["code"].tolist() == [removed_code]
    assert diff.removed.index.tolist() == [4]
    change = diff.changed.to_dict("records")
    assert change == [{"key": baseline.counties.loc[0, "code"], "row": i + 1, "column": "surplus_mu",
                       "before": cell_text(baseline.counties.loc[0, "surplus_mu"]), "after": "999"}]
    assert diff.counts()["changed_rows"] == 1


def test_label_headers_read_as_columns(baseline):
    for lang in ("zh", "en"):
        _, raw = baseline.to_raw()
        labels = {c.name: column_label(c, lang) for c in schema.TABLES["counties"][1]}
        diff = table_diff("counties", baseline.counties, raw["counties"].rename(columns=labels))
        assert diff.is_empty, (lang, diff.counts())


def test_numbers_compare_by_value_not_by_text(baseline):
    _, raw = baseline.to_raw()
    upload = raw["counties"].copy()
    upload["surplus_mu"] = [f"{float(v):.2f}" if v else v for v in upload["surplus_mu"]]
    assert table_diff("counties", baseline.counties, upload).is_empty


def test_without_a_usable_key_rows_match_by_position(baseline):
    _, raw = baseline.to_raw()
    upload = raw["counties"].copy()
    upload.loc[1, "code"] = upload.loc[0, "code"]  # a repeated code: no key
    diff = table_diff("counties", baseline.counties, upload)
    assert not diff.keyed
    assert diff.changed.to_dict("records")[0]["row"] == 2 and len(diff.added) == len(diff.removed) == 0


def test_whole_scenario_diff_lists_parameters_and_absent_tables(baseline):
    settings, raw = baseline.to_raw()
    settings["pricing"]["bargaining_weight"] = 0.8
    raw["payments"] = None
    diff = scenario_diff(baseline, RawFolder(settings=settings, tables=raw))
    assert diff.settings.to_dict("records") == [
        {"parameter": "pricing.bargaining_weight", "before": "0.5", "after": "0.8"}]
    assert len(diff.tables["payments"].removed) == len(baseline.payments) > 0
    assert diff.tables["counties"].is_empty
    only = scenario_diff(baseline, RawFolder(settings=None, tables={"counties": raw["counties"]}), ("counties",))
    assert list(only.tables) == ["counties"] and only.is_empty


def test_settings_diff_reads_list_labels_as_codes():
    assert settings_diff({"rules": {"saleable_status": ["confirmed"]}},
                         {"rules": {"saleable_status": "已确认备案"}}).empty
