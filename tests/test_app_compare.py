"""The compare page (AppTest) and its views: a saved variant against the baseline shows exactly the changed
parameter and differing headline figures; a scenario against itself shows no difference; the working scenario can
be compared unsaved; the CSV download holds every table.

Works on a temporary copy of scenarios/ (PLANNER_SCENARIOS_DIR).
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui.figures import compare as cv
from planner import solve
from planner.compare import compare
from planner.store import ScenarioStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASELINE = ROOT / "scenarios" / "jilin-baseline"
TIMEOUT = 60
PAGE = "pages/5_compare.py"


@pytest.fixture
def store(tmp_path, monkeypatch) -> ScenarioStore:
    root = tmp_path / "scenarios"
    root.mkdir()
    shutil.copytree(BASELINE, root / "jilin-baseline")
    monkeypatch.setenv("PLANNER_SCENARIOS_DIR", str(root))
    s = ScenarioStore(root)
    base, _, _ = s.open("jilin-baseline")
    s.save_as("指导价下限12", base.with_param("pricing", "guide_floor", 12.0))
    s.clone("jilin-baseline", "基准副本")
    return s


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def compare_page(picks: list[str] | None = None, lang: str = "zh") -> AppTest:
    at = run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    if lang != "zh":
        at.session_state["lang"] = lang
    at.switch_page(PAGE)
    run(at)
    if picks is not None:
        at.multiselect(key="compare_pick").set_value(picks)
        run(at)
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_variant_against_baseline_shows_the_changed_parameter_and_kpis(store):
    at = compare_page(["jilin-baseline", "指导价下限12"])
    assert [x.value for x in at.title] == ["情景比较"]
    assert not at.error, texts(at.error)
    assert "比较基准：吉林省基准情景" in texts(at.caption)
    assert "1 处输入差异" in texts(at.info), texts(at.info)

    inputs = table_with(at, "参数或列")
    assert len(inputs) == 1
    row = inputs.iloc[0]
    assert row["参数或列"] == "省级指导价下限（万元/亩）"
    assert (row["基准值"], row["比较值"], row["变化"], row["表"]) == ("10", "12", "修改", "参数")

    kpis = table_with(at, "指标").set_index("指标")
    proceeds = kpis.loc["贫困县流转收益（万元）"]
    assert proceeds["吉林省基准情景"] != proceeds["指导价下限12"]
    assert proceeds["指导价下限12（较基准）"].startswith("+")
    assert kpis.loc["可流转节余指标（亩）", "指导价下限12（较基准）"] == "—"

    changes = table_with(at, "流转指标增减（亩）")
    assert len(changes) > 0 and set(changes["情景"]) == {"指导价下限12"}
    assert len(at.get("vega_lite_chart")) >= 2  # per-county proceeds + pairing changes
    assert [b.key for b in at.get("download_button")] == ["download_compare"]
    per_county = [d.value for d in at.dataframe if {"县（市、区）", "指导价下限12（较基准）"} <= set(d.value.columns)]
    assert len(per_county) == 2  # proceeds per county, per-person benefit per county
    assert all((df["指导价下限12（较基准）"].abs() > 0).any() for df in per_county)


def test_a_scenario_against_itself_has_no_difference(store):
    at = compare_page(["jilin-baseline", "基准副本"])
    assert "没有差别" in texts(at.success), texts(at.success)
    assert "输入数据没有差异。" in texts(at.caption)
    assert "推荐配对没有变化。" in texts(at.caption)
    kpis = table_with(at, "指标")
    assert set(kpis["基准副本（较基准）"]) == {"—"}
    assert [b.key for b in at.get("download_button")] == ["download_compare"]

    # the working scenario is the unchanged baseline: it is not offered twice
    assert not any(o.startswith("当前工作情景") for o in at.multiselect(key="compare_pick").options)


def test_default_pick_and_the_unsaved_working_scenario(store):
    at = compare_page()
    # only the baseline is open and unchanged: the default compares it with the first other saved scenario
    assert at.multiselect(key="compare_pick").value == ["jilin-baseline", "基准副本"]
    # an unsaved edit of the working scenario can be compared straight away
    at.switch_page("pages/2_editor.py")
    run(at)
    c = at.session_state["scn"].counties
    row = int(c.index[(c["poverty_class"] != "none") & (c["surplus_mu"] > 0)][0])
    key = f"editor_counties_{at.session_state['editor_ver']}_zh"
    at.session_state[key] = {"edited_rows": {row: {"surplus_mu": 0.0}}, "added_rows": [], "deleted_rows": []}
    run(at)
    at.switch_page(PAGE)
    run(at)
    at.multiselect(key="compare_pick").set_value(["jilin-baseline", "__working__"])
    run(at)
    assert "当前工作情景：吉林省基准情景（含未保存的修改）" in at.multiselect(key="compare_pick").options
    inputs = table_with(at, "参数或列")
    assert inputs["参数或列"].tolist() == ["节余指标（亩）"]
    assert inputs["比较值"].tolist() == ["0"]
    assert inputs["情景"].tolist() == ["吉林省基准情景（当前）"]
    assert store.info("jilin-baseline").version == 0  # nothing was saved


def test_compare_page_in_english(store):
    at = compare_page(["jilin-baseline", "指导价下限12"], lang="en")
    assert [x.value for x in at.title] == ["Compare scenarios"]
    kpis = table_with(at, "Figure")
    assert "Proceeds to poverty counties (万元)" in kpis["Figure"].tolist()
    inputs = table_with(at, "Parameter or column")
    assert inputs["Parameter or column"].tolist() == ["Guidance floor (万元/亩)"]
    assert inputs["Change"].tolist() == ["changed"]


def test_fewer_than_two_scenarios_asks_for_more(store):
    at = compare_page(["jilin-baseline"])
    assert "请至少选择 2 个情景" in texts(at.info)
    assert not at.get("download_button")


def test_comparison_csv_holds_every_table(store):
    scns = [store.open("jilin-baseline")[0], store.open("指导价下限12")[0]]
    results = [solve(s) for s in scns]
    comp = cv.without_names(compare(scns, results, ["基准", "下限12"]))
    data = cv.comparison_csv(comp, scns, "zh")
    assert data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert df.columns[0] == "部分"
    assert set(df["部分"]) == {"主要指标", "输入差异", "配对变化", "各县流转收益", "人均收益"}
    inputs = df[df["部分"] == "输入差异"]
    assert inputs["参数或列"].tolist() == ["省级指导价下限（万元/亩）"]
    kpi = df[df["部分"] == "主要指标"].set_index("指标")
    assert float(kpi.loc["贫困县流转收益（万元）", "下限12"]) > float(kpi.loc["贫困县流转收益（万元）", "基准"])
    en = pd.read_csv(io.BytesIO(cv.comparison_csv(comp, scns, "en")), encoding="utf-8-sig", dtype=str)
    assert en.columns[0] == "section"
    # charts build offline
    assert cv.proceeds_chart(comp, "zh") is not None
    assert cv.pairing_chart(comp, "下限12", "zh") is not None


def test_kpi_change_is_the_change_of_the_values_shown():
    """22.01 against 19.4960 showed '19.5' and a change of +2.52: the change now reads off the shown values."""
    from types import SimpleNamespace

    import pandas as pd

    from ui.figures.compare import kpi_table

    kpis = pd.DataFrame({"kpi": ["mean_price_wan_per_mu", "pairings"], "A": [19.4960, 42], "B": [22.0140, 44]})
    table = kpi_table(SimpleNamespace(names=["A", "B"], kpis=kpis), "en")
    assert table["A"].tolist()[0] == "19.5" and table["B"].tolist()[0] == "22.01"
    assert table.iloc[0, -1] == "+2.51" and table.iloc[1, -1] == "+2"
