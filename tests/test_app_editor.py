"""The scenario editor as a new user meets it (issue 15): an import is previewed and applied only when confirmed;
unsaved edits survive a reload as a draft; discarding asks first; single edits undo and redo; rows are numbered and
messages name the tab the user sees. Driven headlessly with AppTest on a temporary copy of the store."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import load_checked
from planner.drafts import list_drafts

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASELINE = ROOT / "scenarios" / "jilin-baseline"
TIMEOUT = 60


@pytest.fixture
def store(tmp_path, monkeypatch):
    shutil.copytree(BASELINE, tmp_path / "jilin-baseline")
    monkeypatch.setenv("PLANNER_SCENARIOS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def editor(at: AppTest | None = None) -> AppTest:
    if at is None:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        ok(at.run())
    at.switch_page("pages/2_editor.py")
    return ok(at.run())


def edit_table(at: AppTest, table: str, edited_rows: dict, added_rows=None) -> AppTest:
    """Set a data_editor's edit state as the browser sends it (all edits since the widget was created), rerun."""
    key = f"editor_{table}_{at.session_state['editor_ver']}_{at.session_state['lang']}"
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": added_rows or [], "deleted_rows": []}
    return ok(at.run())


def click(at: AppTest, key: str) -> AppTest:
    return ok(at.button(key=key).click().run())


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def frames_text(at: AppTest) -> str:
    return " ".join(d.value.to_string() for d in at.dataframe)


# --------------------------------------------------------------------------- import preview


def test_renamed_header_is_shown_in_the_preview_and_applied_only_when_confirmed(store, baseline):
    at = editor()
    before = at.session_state["scn"].content_hash()
    _, raw = baseline.to_raw()
    upload = raw["counties"].rename(columns={"floor_price": "price_min"})
    upload.loc[0, "surplus_mu"] = "4321"
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_table_file_{ver}").set_value(
        ("县表.csv", upload.to_csv(index=False).encode("gbk"), "text/csv"))
    click(at, f"import_table_go_{ver}")
    # Shown, not applied.
    assert at.session_state["scn"].content_hash() == before
    assert not any("已导入" in s.value for s in at.success)
    preview = texts(at.subheader) + texts(at.warning) + texts(at.markdown) + frames_text(at)
    assert "导入预览" in preview and "price_min" in preview and "floor_price" in preview
    cleared = int(baseline.counties["floor_price"].notna().sum())
    assert f"{cleared} 个值将被清空" in texts(at.warning)
    assert "4321" in frames_text(at)  # the changed cell, before and after
    assert at.button(key="import_confirm").disabled is False
    # Cancel: nothing changes.
    click(at, "import_cancel")
    assert at.session_state["scn"].content_hash() == before and "import_preview" not in at.session_state
    # Again, and confirm: now it is applied.
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_table_file_{ver}").set_value(
        ("县表.csv", upload.to_csv(index=False).encode("gbk"), "text/csv"))
    click(at, f"import_table_go_{ver}")
    click(at, "import_confirm")
    assert any("已导入" in s.value for s in at.success)
    scn = at.session_state["scn"]
    assert scn.counties.loc[0, "surplus_mu"] == 4321
    assert scn.counties["floor_price"].isna().all() and "price_min" in scn.counties.columns


def test_import_errors_show_root_causes_first_with_knock_on_counts(store, baseline):
    at = editor()
    before = at.session_state["scn"].content_hash()
    _, raw = baseline.to_raw()
    upload = raw["counties"].rename(columns={"code": "county"})
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_scenario_files_{ver}").set_value(
        [("counties.csv", upload.to_csv(index=False).encode("utf-8"), "text/csv"),
         ("pairs.csv", raw["pairs"].to_csv(index=False).encode("utf-8"), "text/csv"),
         ("lots.csv", raw["lots"].to_csv(index=False).encode("utf-8"), "text/csv")])
    click(at, f"import_scenario_go_{ver}")
    assert any("未导入" in e.value for e in at.error)
    assert at.button(key="import_confirm").disabled
    grouped = next(d.value for d in at.dataframe if "连带问题" in d.value.columns)
    first = grouped.iloc[0]
    assert "缺少必需的列 code" in first["问题"]
    assert "连带问题（在其他表中）" in first["连带问题"]
    assert len(grouped) < 10  # the causes, not every symptom
    assert at.session_state["scn"].content_hash() == before


def test_label_headers_import_cleanly(store, baseline):
    from planner import schema
    from planner.i18n import column_label

    at = editor()
    _, raw = baseline.to_raw()
    labels = {c.name: column_label(c, "zh") for c in schema.TABLES["counties"][1]}
    upload = raw["counties"].rename(columns=labels)
    upload.loc[1, labels["surplus_mu"]] = "777"
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_table_file_{ver}").set_value(
        ("counties.csv", upload.to_csv(index=False).encode("utf-8"), "text/csv"))
    click(at, f"import_table_go_{ver}")
    assert not at.error, [e.value for e in at.error]
    assert "修改 1 行（1 个单元格）" in texts(at.markdown)
    click(at, "import_confirm")
    assert at.session_state["scn"].counties.loc[1, "surplus_mu"] == 777


# --------------------------------------------------------------------------- drafts, discard, undo


def test_a_reload_offers_the_unsaved_edits_back(store):
    at = editor()
    name = at.session_state["editor_base"]["counties"].loc[0, "name"]
    edit_table(at, "counties", {0: {"name": "草稿县"}})
    assert at.session_state["scn"].counties.loc[0, "name"] == "草稿县"
    assert len(list_drafts(store, "jilin-baseline")) == 1
    # A new session on the same store (F5): the saved scenario, and the draft offered back.
    again = editor()
    assert again.session_state["scn"].counties.loc[0, "name"] == name
    assert any("发现未保存的修改" in w.value for w in again.warning)
    click(again, "draft_restore")
    assert again.session_state["scn"].counties.loc[0, "name"] == "草稿县"
    assert again.session_state["editor_base"]["counties"].loc[0, "name"] == "草稿县"
    assert any("已恢复" in s.value for s in again.success)
    assert not any("发现未保存的修改" in w.value for w in again.warning)
    # The restored session carries on in the same draft file; undoing to the saved state removes it.
    assert len(list_drafts(store, "jilin-baseline")) == 1
    edit_table(again, "counties", {0: {"name": name}})
    assert list_drafts(store, "jilin-baseline") == []


def test_discarding_a_draft_asks_first(store):
    at = editor()
    edit_table(at, "counties", {0: {"name": "草稿县"}})
    again = editor()
    click(again, "draft_discard")
    assert len(list_drafts(store, "jilin-baseline")) == 1  # not yet
    assert any("无法找回" in e.value for e in again.error)
    click(again, "draft_discard_yes")
    assert list_drafts(store, "jilin-baseline") == []
    assert not any("发现未保存的修改" in w.value for w in again.warning)


def test_saving_removes_the_draft(store):
    at = editor()
    at.text_input(key="store_save_as_name_bar").set_value("我的情景").run()
    click(at, "store_save_as_go_bar")
    assert at.session_state["scn_folder"] == "我的情景"
    edit_table(at, "counties", {0: {"name": "改名县"}})
    assert len(list_drafts(store, "我的情景")) == 1
    click(at, "store_save")
    assert list_drafts(store, "我的情景") == []


def test_discard_all_asks_first(store):
    at = editor()
    original = at.session_state["scn"].content_hash()
    edit_table(at, "counties", {0: {"name": "新名称"}})
    assert at.session_state["scn"].content_hash() != original
    click(at, "editor_discard_all")
    assert at.session_state["scn"].content_hash() != original  # nothing discarded yet
    assert any("确定放弃全部未保存的修改" in w.value for w in at.warning)
    click(at, "editor_discard_no")
    assert at.session_state["scn"].content_hash() != original
    click(at, "editor_discard_all")
    click(at, "editor_discard_yes")
    assert at.session_state["scn"].content_hash() == original
    assert list_drafts(store, "jilin-baseline") == []


def test_undo_restores_a_single_cell_and_redo_brings_it_back(store):
    at = editor()
    counties = at.session_state["editor_base"]["counties"]
    first, second = counties.loc[0, "name"], counties.loc[1, "name"]
    assert at.button(key="editor_undo").disabled
    edit_table(at, "counties", {0: {"name": "甲改"}})
    edit_table(at, "counties", {0: {"name": "甲改"}, 1: {"name": "乙改"}})  # the browser sends every edit so far
    scn = at.session_state["scn"]
    assert (scn.counties.loc[0, "name"], scn.counties.loc[1, "name"]) == ("甲改", "乙改")
    click(at, "editor_undo")
    scn = at.session_state["scn"]
    assert (scn.counties.loc[0, "name"], scn.counties.loc[1, "name"]) == ("甲改", second)
    assert at.session_state["editor_base"]["counties"].loc[1, "name"] == second
    click(at, "editor_redo")
    assert at.session_state["scn"].counties.loc[1, "name"] == "乙改"
    click(at, "editor_undo")
    click(at, "editor_undo")
    scn = at.session_state["scn"]
    assert (scn.counties.loc[0, "name"], scn.counties.loc[1, "name"]) == (first, second)
    assert at.button(key="editor_undo").disabled


def test_undo_brings_back_an_edit_with_errors(store):
    at = editor()
    counties = at.session_state["editor_base"]["counties"]
    seller = int(counties.index[counties["surplus_mu"].fillna(0) > 0][0])
    edit_table(at, "counties", {seller: {"surplus_mu": -5}})
    assert at.session_state["editor_errors"] == 1
    click(at, "editor_discard_pending")
    assert at.session_state["editor_errors"] == 0
    click(at, "editor_undo")
    assert at.session_state["editor_errors"] == 1
    assert at.session_state["editor_base"]["counties"].loc[seller, "surplus_mu"] == -5


# --------------------------------------------------------------------------- cells


def test_rows_are_numbered_and_messages_name_the_tab(store):
    at = editor()
    counties = at.session_state["editor_base"]["counties"]
    seller = int(counties.index[counties["surplus_mu"].fillna(0) > 0][3])
    edit_table(at, "counties", {seller: {"surplus_mu": -100}}, )
    tables = [d.value for d in at.dataframe if "问题" in d.value.columns and "行" in d.value.columns]
    rows = " ".join(" ".join(map(str, df["行"].tolist())) for df in tables)
    assert str(seller + 1) in rows.split()  # the row number the grid shows (first data row = 1)
    assert any("数据表" in df.columns and "县级数据" in df["数据表"].tolist() for df in tables)
    assert "counties.csv" not in frames_text(at) + texts(at.error)
    assert any(f"县级数据：1 个错误（第 {seller + 1} 行）" in e.value for e in at.error), [e.value for e in at.error]
    edit_table(at, "pairs", {}, added_rows=[{"seller_code": "999999", "buyer_code": "220102"}])
    assert "“县级数据”中没有这个县代码" in frames_text(at).replace(" ", "") or \
        any("“县级数据”中没有这个县代码" in " ".join(map(str, d.value.get("问题", []))) for d in at.dataframe)


def test_number_columns_refuse_negative_entries_in_the_grid():
    from ui.views.editor import BELOW_MINIMUM, column_config

    cfg = column_config("counties")
    surplus = cfg["surplus_mu"]
    # a minimum just below 0: the grid lets the minus sign be typed and then refuses the value
    low = surplus["type_config"]["min_value"]
    assert -1e-6 < low < 0 and low == -BELOW_MINIMUM
    assert cfg["_index"]["label"] == "行"


def test_a_draft_of_another_scenario_is_pointed_to_after_a_reload(store):
    at = editor()
    at.text_input(key="store_save_as_name_bar").set_value("我的情景").run()
    click(at, "store_save_as_go_bar")
    edit_table(at, "counties", {0: {"name": "草稿县"}})
    # After a reload the default scenario opens: the editor points to the edited one, which offers its draft.
    again = editor()
    assert again.session_state["scn_folder"] == "jilin-baseline"
    assert any("我的情景" in i.value for i in again.info)
    click(again, "draft_open_我的情景")
    again = editor(again)
    assert again.session_state["scn_folder"] == "我的情景"
    click(again, "draft_restore")
    assert again.session_state["scn"].counties.loc[0, "name"] == "草稿县"


def test_problem_rows_show_a_blank_cell_blank_and_name_a_lot_by_its_id():
    """Clearing a lot's area showed 'None' in the marked cell and named the row by its county code only (a county
    has several lots; found trying the app as a user)."""
    import pandas as pd

    from planner.problems import problem
    from ui.figures.problems import problem_rows, problems_view

    lots = pd.DataFrame({"lot_id": ["220382-01", "220382-02"], "county_code": ["220382", "220382"],
                         "status": ["confirmed", "planned"], "area_mu": [None, 380.0]})
    p = problem("lots.csv", 2, "area_mu", "", "blank_required", label=("面积", "Lot area"))
    styled = problem_rows(lots, [p], "lots", "zh")
    assert styled is not None
    shown = styled.data.iloc[0].tolist()
    assert None not in shown and "None" not in [str(v) for v in shown] and "" in shown
    view = problems_view([p], "en", {"lots": lots})
    assert view["Item"].tolist() == ["220382-01 / 220382"]
