"""The scenario store in the app (AppTest): save as, save, history and restore, save conflicts, delete to the trash
and restore, the read-only baseline.

Every test works on a temporary copy of scenarios/ (PLANNER_SCENARIOS_DIR); nothing is written into the repository.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.i18n import t
from planner.store import ScenarioStore, files_stamp

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASELINE = ROOT / "scenarios" / "jilin-baseline"
TIMEOUT = 60


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "scenarios"
    root.mkdir()
    shutil.copytree(BASELINE, root / "jilin-baseline")
    monkeypatch.setenv("PLANNER_SCENARIOS_DIR", str(root))
    return root


@pytest.fixture
def variant(store_dir):
    """A saved copy of the baseline named in Chinese; returns (store, slug)."""
    store = ScenarioStore(store_dir)
    info = store.clone("jilin-baseline", "测试情景甲")
    return store, info.slug


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def new_app() -> AppTest:
    return run(AppTest.from_file(APP, default_timeout=TIMEOUT))


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    return run(at)


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def open_in_app(at: AppTest, slug: str) -> AppTest:
    goto(at, "pages/1_overview.py")
    at.selectbox[0].set_value(slug)
    run(at)
    click(at, "open_scenario")
    assert at.session_state["scn_folder"] == slug
    return at


def edit_counties(at: AppTest, edited_rows: dict) -> AppTest:
    key = f"editor_counties_{at.session_state['editor_ver']}_{at.session_state['lang']}"
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return run(at)


def first_seller_row(at: AppTest) -> tuple[int, str, float]:
    c = at.session_state["scn"].counties
    row = int(c.index[(c["poverty_class"] != "none") & (c["surplus_mu"] > 0)][0])
    return row, c.loc[row, "code"], float(c.loc[row, "surplus_mu"])


def surplus_on_disk(store: ScenarioStore, slug: str, code: str) -> float:
    scn, _, _ = store.open(slug)
    return float(scn.counties.set_index("code").loc[code, "surplus_mu"])


# --------------------------------------------------------------------------- save as


def test_save_as_lists_the_new_scenario_and_refuses_bad_names(store_dir):
    at = goto(new_app(), "pages/2_editor.py")
    at.text_input(key="store_save_as_name_bar").set_value("../外面")
    run(at)
    assert "不能包含" in texts(at.caption)  # the name is refused as you type
    click(at, "store_save_as_go_bar")
    assert "不能包含" in texts(at.error), texts(at.error)
    at.text_input(key="store_save_as_name_bar").set_value("CON")
    click(at, "store_save_as_go_bar")
    assert "保留名称" in texts(at.error)
    assert sorted(p.name for p in store_dir.iterdir() if not p.name.startswith(".")) == ["jilin-baseline"]
    assert not (store_dir.parent / "外面").exists()

    at.text_input(key="store_save_as_name_bar").set_value("指导价下限 15 万元")
    run(at)
    assert "scenarios/指导价下限-15-万元" in texts(at.caption)
    click(at, "store_save_as_go_bar")
    assert "已另存为“指导价下限 15 万元”" in texts(at.success), texts(at.success)
    assert at.session_state["scn_folder"] == "指导价下限-15-万元"
    assert at.session_state["scn"].name == "指导价下限 15 万元"
    listed = {i.slug: i.name for i in ScenarioStore(store_dir).list()}
    assert listed == {"jilin-baseline": "吉林省基准情景", "指导价下限-15-万元": "指导价下限 15 万元"}

    goto(at, "pages/1_overview.py")
    assert at.selectbox[0].options == ["吉林省基准情景（jilin-baseline，只读）", "指导价下限 15 万元（指导价下限-15-万元）"]
    assert at.selectbox[0].value == "指导价下限-15-万元"  # the new scenario is the open one

    # the same name again: a friendly message, in the language of the page
    at.session_state["lang"] = "en"
    run(at)
    at.text_input(key="store_save_as_name_panel").set_value("指导价下限 15 万元")
    click(at, "store_save_as_go_panel")
    assert "already exists" in texts(at.error)


# --------------------------------------------------------------------------- save, history, restore


def test_edit_and_save_creates_a_version_and_history_restores_it(variant):
    store, slug = variant
    at = open_in_app(new_app(), slug)
    goto(at, "pages/2_editor.py")
    assert at.button(key="store_save").disabled  # nothing changed yet
    row, code, before = first_seller_row(at)
    edit_counties(at, {row: {"surplus_mu": before + 111}})
    assert not at.button(key="store_save").disabled
    click(at, "store_save")
    assert "第 2 版" in texts(at.success), texts(at.success)
    assert surplus_on_disk(store, slug, code) == before + 111
    assert store.info(slug).version == 2
    assert at.button(key="store_save").disabled  # saved: nothing left to save
    assert at.session_state["scn_original"] is not None

    # History (the scenario library tab of the editor) shows both versions, newest first
    history = [d.value for d in at.dataframe if "版本" in d.value.columns]
    assert history and history[0]["版本"].tolist() == [2, 1]
    at.selectbox(key="store_history_version").set_value(1)
    click(at, "store_restore_version")
    assert "已恢复第 1 版" in texts(at.success), texts(at.success)
    assert surplus_on_disk(store, slug, code) == before
    assert float(at.session_state["scn"].counties.loc[row, "surplus_mu"]) == before
    assert float(at.session_state["editor_base"]["counties"].loc[row, "surplus_mu"]) == before
    assert [h["version"] for h in store.history(slug)] == [3, 2, 1]
    history = [d.value for d in at.dataframe if "版本" in d.value.columns]
    assert history[0]["版本"].tolist() == [3, 2, 1]
    assert "由第 1 版恢复" in history[0]["说明"].iloc[0]


def test_save_conflict_keeps_the_edit_and_offers_save_as(variant):
    store, slug = variant
    at = open_in_app(new_app(), slug)
    goto(at, "pages/2_editor.py")
    row, code, before = first_seller_row(at)
    edit_counties(at, {row: {"surplus_mu": before + 5}})

    # Another session saves the same scenario in between.
    theirs, _, stamp = store.open(slug)
    store.save(slug, theirs.with_param("pricing", "bargaining_weight", 0.7), stamp)
    on_disk = {p.name: p.read_bytes() for p in (store.root / slug).iterdir()}

    click(at, "store_save")
    assert "保存冲突" in texts(at.error), texts(at.error)
    assert "没有丢失" in texts(at.caption)
    assert {p.name: p.read_bytes() for p in (store.root / slug).iterdir()} == on_disk  # theirs is intact
    assert float(at.session_state["scn"].counties.loc[row, "surplus_mu"]) == before + 5  # mine is kept
    assert at.session_state["scn_folder"] == slug

    # The conflict stays visible across reruns and offers save-as, prefilled.
    run(at)
    assert "保存冲突" in texts(at.error)
    name_box = at.text_input(key="store_save_as_name_conflict")
    assert name_box.value == "测试情景甲（我的修改）"
    click(at, "store_save_as_go_conflict")
    assert "保存冲突" not in texts(at.error)
    mine = at.session_state["scn_folder"]
    assert mine != slug and store.info(mine).name == "测试情景甲（我的修改）"
    assert surplus_on_disk(store, mine, code) == before + 5
    assert surplus_on_disk(store, slug, code) == before
    assert store.open(slug)[0].param("pricing", "bargaining_weight") == 0.7


def test_conflict_can_be_resolved_by_reopening(variant):
    store, slug = variant
    at = open_in_app(new_app(), slug)
    goto(at, "pages/2_editor.py")
    row, code, before = first_seller_row(at)
    edit_counties(at, {row: {"surplus_mu": before + 5}})
    theirs, _, stamp = store.open(slug)
    store.save(slug, theirs.with_param("pricing", "bargaining_weight", 0.7), stamp)
    click(at, "store_save")
    click(at, "store_conflict_reopen")
    assert "保存冲突" not in texts(at.error)
    assert at.session_state["scn"].param("pricing", "bargaining_weight") == 0.7
    assert at.session_state["scn_stamp"] == files_stamp(store.root / slug)


# --------------------------------------------------------------------------- delete, trash


def test_delete_asks_first_then_goes_to_trash_and_can_be_restored(variant):
    store, slug = variant
    at = goto(new_app(), "pages/1_overview.py")  # the baseline is open; delete another scenario
    at.selectbox(key="store_delete_target").set_value(slug)
    click(at, "store_delete")
    assert "确定要删除情景“测试情景甲”" in texts(at.warning)
    assert store.exists(slug)  # nothing happens before the confirmation
    click(at, "store_delete_no")
    assert store.exists(slug) and "确定要删除" not in texts(at.warning)

    at.selectbox(key="store_delete_target").set_value(slug)
    click(at, "store_delete")
    click(at, "store_delete_yes")
    assert "已把“测试情景甲”移到回收站" in texts(at.success)
    assert not store.exists(slug)
    assert slug not in [i.slug for i in store.list()]
    assert len(store.trash()) == 1
    assert at.selectbox[0].options == ["吉林省基准情景（jilin-baseline，只读）"]
    trash = [d.value for d in at.dataframe if "删除时间" in d.value.columns]
    assert trash and trash[0]["情景名称"].tolist() == ["测试情景甲"]

    click(at, "store_trash_restore")
    assert "已从回收站恢复“测试情景甲”" in texts(at.success)
    assert store.exists(slug) and store.trash() == []
    assert "测试情景甲" in " ".join(at.selectbox[0].options)


def test_deleting_the_open_scenario_keeps_it_in_the_session(variant):
    store, slug = variant
    at = open_in_app(new_app(), slug)
    scn_hash = at.session_state["scn"].content_hash()
    at.selectbox(key="store_delete_target").set_value(slug)
    click(at, "store_delete")
    click(at, "store_delete_yes")
    assert not store.exists(slug)
    assert at.session_state["scn"].content_hash() == scn_hash
    assert at.session_state["scn_folder"] is None
    assert "已删除的情景" in texts(at.sidebar.caption)
    goto(at, "pages/2_editor.py")
    assert at.button(key="store_save").disabled  # not in the library any more: save as
    at.text_input(key="store_save_as_name_bar").set_value("测试情景乙")
    click(at, "store_save_as_go_bar")
    assert store.info(at.session_state["scn_folder"]).name == "测试情景乙"


# --------------------------------------------------------------------------- clone, rename


def test_clone_any_scenario_and_rename_the_open_one(variant):
    store, slug = variant
    at = open_in_app(new_app(), slug)
    at.selectbox(key="store_clone_source").set_value("jilin-baseline")
    at.text_input(key="store_clone_name").set_value("基准克隆")
    click(at, "store_clone_go")
    assert "已复制为“基准克隆”" in texts(at.success)
    assert store.info("基准克隆").name == "基准克隆"
    assert at.session_state["scn_folder"] == slug  # cloning does not change what is open

    at.text_input(key="store_rename_name").set_value("测试情景乙")
    click(at, "store_rename_go")
    assert "已改名为“测试情景乙”" in texts(at.success)
    assert not store.exists(slug) and store.info("测试情景乙").name == "测试情景乙"
    assert at.session_state["scn_folder"] == "测试情景乙" and at.session_state["scn"].name == "测试情景乙"
    assert at.button(key="store_save_panel").disabled  # the rename was saved: nothing left to save
    assert [h["version"] for h in store.history("测试情景乙")] == [2, 1]  # the history moved along

    # renaming onto an existing name is refused with a message; nothing changes
    at.text_input(key="store_rename_name").set_value("基准克隆")
    run(at)
    assert "已有同名情景" in texts(at.caption)
    click(at, "store_rename_go")
    assert "已有同名情景" in texts(at.error)
    assert store.exists("测试情景乙")


# --------------------------------------------------------------------------- the read-only baseline


def test_read_only_baseline_cannot_be_saved_over(store_dir):
    files_before = {p.name: p.read_bytes() for p in (store_dir / "jilin-baseline").iterdir()}
    at = goto(new_app(), "pages/2_editor.py")
    assert at.session_state["scn_folder"] == "jilin-baseline"
    row, code, before = first_seller_row(at)
    edit_counties(at, {row: {"surplus_mu": before + 1}})
    save = at.button(key="store_save")
    assert save.disabled
    assert "只读" in save.help and "另存为" in save.help
    assert "内置基准情景（只读）" in texts(at.caption)
    # The panel on the overview refuses rename and delete of the baseline too.
    goto(at, "pages/1_overview.py")
    assert at.button(key="store_save_panel").disabled
    assert at.button(key="store_rename_go").disabled
    assert "内置基准情景不能删除" in texts(at.caption)
    # Changes go to a copy.
    at.text_input(key="store_save_as_name_panel").set_value("基准的副本")
    click(at, "store_save_as_go_panel")
    assert at.session_state["scn_folder"] == "基准的副本"
    assert {p.name: p.read_bytes() for p in (store_dir / "jilin-baseline").iterdir()} == files_before
    assert surplus_on_disk(ScenarioStore(store_dir), "基准的副本", code) == before + 1
    assert not (ROOT / "scenarios" / "基准的副本").exists()


def test_store_ui_in_english(variant):
    store, slug = variant
    at = new_app()
    at.session_state["lang"] = "en"
    run(at)
    assert at.selectbox[0].options[0] == "吉林省基准情景 (jilin-baseline, read-only)"
    assert "read-only" in texts(at.caption)
    at.selectbox(key="store_delete_target").set_value(slug)
    click(at, "store_delete")
    assert "Delete scenario '测试情景甲'" in texts(at.warning)


def test_store_keys_are_translated():
    import json
    import re

    zh = json.loads((ROOT / "planner" / "locales" / "zh.store.json").read_text(encoding="utf-8"))
    en = json.loads((ROOT / "planner" / "locales" / "en.store.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    sources = "".join((ROOT / p).read_text(encoding="utf-8") for p in
                      ("ui/library.py", "ui/figures/compare.py", "ui/views/compare.py", "pages/5_compare.py"))
    used = set(re.findall(r"""["']((?:store|cmp)\.[a-z0-9_]+)["']""", sources))
    assert used and not sorted(used - set(zh))
    for key in zh:
        assert re.findall(r"{(\w+)}", zh[key]) == re.findall(r"{(\w+)}", en[key]) or \
            set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key
    assert t("store.save", "zh") == "保存"
