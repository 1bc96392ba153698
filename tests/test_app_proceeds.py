"""The proceeds page (收益分配, articles 17-18), driven headlessly with AppTest, and its Streamlit-free views.

The page renders in both languages with a verdict per rule; changing the rule changes the numbers; an invalid
parameter is refused with a message and the working scenario stays as it was; the allocation can be downloaded
(UTF-8 BOM, Chinese headers); a scenario without relocation groups, or without a solve yet, gets a clear message.
"""
from __future__ import annotations

import io
import shutil
from collections import OrderedDict

import pandas as pd
import pytest

from ui import cache
from ui import state as app_state
from ui.figures import proceeds as pv
from planner import load_checked, solve
from planner.i18n import t
from planner.proceeds import RULES, allocate, compare_rules, mode_benefit
from test_app import BASELINE, goto, new_app

PAGE = "pages/4_proceeds.py"


@pytest.fixture(scope="module")
def solved():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in problems]
    return scn, solve(scn).pairings


def proceeds_page():
    at = goto(new_app(), PAGE)
    assert not at.error, [e.value for e in at.error]
    return at


def table(at, header: str) -> pd.DataFrame:
    """The first dataframe shown with this column header."""
    for d in at.dataframe:
        if header in d.value.columns:
            return d.value
    raise AssertionError(f"no table with column {header!r}")


def apply_button(at, lang: str = "zh"):
    return [b for b in at.button if b.label == t("proceeds.params_apply", lang)][0]


def param_input(at, label: str):
    return [n for n in at.number_input if n.label == label][0]


# --------------------------------------------------------------------------- rendering


def test_page_renders_with_a_verdict_per_rule_in_chinese_and_english():
    at = proceeds_page()
    assert [x.value for x in at.title] == ["收益分配"]
    metrics = table(at, "基尼系数")
    assert metrics["分配规则"].tolist() == ["按人口", "按户数", "按复垦面积", "人口与面积混合"]
    assert metrics.loc[metrics["分配规则"] == "按人口", "当前采用"].item() == "★"
    # Per capita: equal benefit within each county (article 18); the other rules are not, on the baseline.
    assert any("按人口" in s.value and "符合“同等受益”（第十八条）" in s.value for s in at.success)
    assert sum("不满足“同等受益”" in w.value for w in at.warning) == 3
    labels = [m.label for m in at.metric]
    assert "流转收益（万元）" in labels and "人均收益（万元/人）" in labels

    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [x.value for x in at.title] == ["Proceeds"]
    assert table(at, "Gini")["Rule"].tolist() == ["Per capita", "Per household", "By reclaimed area", "Hybrid (persons and area)"]
    assert any(s.value.startswith("Per capita: within each county people benefit equally") for s in at.success)
    assert at.selectbox(key="_w_proceeds_scope_en").value == pv.PROVINCE


def test_plain_verdict_and_money_per_person_come_first_inequality_one_click_deeper(solved):
    """For readers without statistics (issue 16): the first thing under the pickers is the verdict of the adopted
    rule and the money per person by resettlement mode (bars); shares read as percentages; the Gini table and the
    Lorenz curves sit in an expander."""
    scn, pairings = solved
    at = proceeds_page()
    assert [h.value for h in at.subheader][:2] == ["结论", "分配规则比较"]
    first = (list(at.success) + list(at.warning))
    assert any(x.value.startswith("按人口：") and "符合“同等受益”" in x.value for x in at.success)
    assert sum(x.value.startswith("按人口：") for x in first) == 1  # the adopted rule's verdict, said once
    persons = int(scn.relocation["persons"].sum())
    plain = [m.value for m in at.markdown if "平均每人可得" in m.value][0]
    assert f"{persons:,}" in plain and "按人口" in plain
    assert any("每位搬迁群众可得多少" in m.value for m in at.markdown)
    shares = [c.value for c in at.caption if c.value.startswith("资金怎么分")][0]
    assert "15%" in shares and "0.15" not in shares  # collective_share 0.15 reads as a percentage
    expander = [e for e in at.expander if "不平等程度" in e.label][0]
    assert "基尼系数" in expander.dataframe[0].value.columns
    assert any("洛伦兹曲线" in m.value for m in expander.markdown)
    # the mode bars: one bar per resettlement mode under the adopted rule, money per person as in the allocation
    modes = pv.mode_frame(allocate(scn, pairings).groups.pipe(mode_benefit).assign(rule="per_capita"),
                          ["per_capita"], "zh")
    bars = pv.mode_bars(modes, "zh").to_dict()
    rows = [r for d in bars["datasets"].values() for r in d]
    assert sorted(r["mode"] for r in rows) == sorted(modes["mode"]) and all("万元/人" in r["label"] for r in rows)


def test_one_county_shows_its_groups_and_per_capita_is_equal_there(solved):
    scn, pairings = solved
    at = proceeds_page()
    at.selectbox(key="_w_proceeds_scope_zh").set_value("220524").run()
    assert not at.exception
    metrics = table(at, "基尼系数")
    per_capita = metrics[metrics["分配规则"] == "按人口"].iloc[0]
    assert per_capita["基尼系数"] == 0 and per_capita["同等受益"] == "是"
    detail = table(at, "复垦面积（亩）")
    groups = scn.relocation[scn.relocation["county_code"] == "220524"]
    assert sorted(detail["搬迁组编号"]) == sorted(groups["group_id"])
    assert detail["人均收益（万元/人）"].nunique() == 1  # per capita, the adopted rule
    expected = allocate(scn, pairings).counties.set_index("county_code").loc["220524", "gross_wan"]
    gross = [m.value for m in at.metric if m.label == "流转收益（万元）"][0]
    assert float(gross.replace(",", "")) == pytest.approx(expected, abs=0.5)
    assert any("收益扣减：柳河县" in m.value for m in at.markdown)
    assert "长青村" in table(at, "安置地")["村"].tolist()  # moved to 东昌区: money follows people


# --------------------------------------------------------------------------- rules and parameters


def test_changing_the_rule_changes_the_numbers_shown():
    at = proceeds_page()
    before = table(at, "复垦面积（亩）")["人均收益（万元/人）"].tolist()
    assert at.selectbox(key="_w_proceeds_detail_rule_zh").value == "per_capita"
    at.selectbox(key="_w_proceeds_detail_rule_zh").set_value("by_area").run()
    after = table(at, "复垦面积（亩）")["人均收益（万元/人）"].tolist()
    assert after != before

    # Fewer rules compared: fewer rows, and a reminder that 2-4 rules make a comparison.
    at.multiselect(key="_w_proceeds_rules").set_value(["per_capita", "by_area"]).run()
    assert table(at, "基尼系数")["分配规则"].tolist() == ["按人口", "按复垦面积"]
    at.multiselect(key="_w_proceeds_rules").set_value(["by_area"]).run()
    assert any(t("proceeds.rules_too_few", "zh") in i.value for i in at.info)

    # Adopting another rule in the parameters: applied to the working scenario, marked ★, the detail follows.
    at.multiselect(key="_w_proceeds_rules").set_value(list(RULES)).run()
    at.selectbox(key="_w_proceeds_detail_rule_zh").set_value("per_capita").run()
    rule_box = [s for s in at.selectbox if s.label == "分配规则"][0]
    rule_box.set_value("per_household")
    apply_button(at).click().run()
    assert not at.exception
    assert at.session_state["scn"].param("proceeds", "rule") == "per_household"
    assert any(t("proceeds.params_applied", "zh") in s.value for s in at.success)
    assert table(at, "基尼系数").set_index("分配规则").loc["按户数", "当前采用"] == "★"
    assert at.selectbox(key="_w_proceeds_detail_rule_zh").value == "per_household"
    assert table(at, "复垦面积（亩）")["人均收益（万元/人）"].tolist() != before
    # Only the allocation changed: the solve is reused, no new run is asked for.
    assert not any(t("proceeds.no_solve", "zh") in i.value for i in at.info)


def test_a_valid_parameter_changes_the_household_pool():
    at = proceeds_page()
    pool = [m.value for m in at.metric if m.label == "可分配给搬迁群众的资金（万元）"][0]
    param_input(at, "村集体分成比例").set_value(0.3)
    apply_button(at).click().run()
    assert not at.exception
    assert at.session_state["scn"].param("proceeds", "collective_share") == pytest.approx(0.3)
    assert [m.value for m in at.metric if m.label == "可分配给搬迁群众的资金（万元）"][0] != pool
    assert param_input(at, "村集体分成比例").value == pytest.approx(0.3)


def test_an_invalid_parameter_is_refused_with_a_message():
    at = proceeds_page()
    original = at.session_state["scn"].content_hash()
    param_input(at, "村集体分成比例").set_value(1.5)
    apply_button(at).click().run()
    assert not at.exception
    assert any("参数未应用" in e.value and "1 个错误" in e.value for e in at.error)
    problems = table(at, "问题")
    assert "应在 0–1 之间" in " ".join(problems["问题"]) and "1.5" in problems["值"].tolist()
    assert at.session_state["scn"].content_hash() == original
    assert at.session_state["scn"].param("proceeds", "collective_share") == pytest.approx(0.15)
    # A negative reclamation cost too, in English.
    at.session_state["lang"] = "en"
    at.run()
    param_input(at, "Reclamation cost (万元/亩)").set_value(-1.0)
    apply_button(at, "en").click().run()
    assert any("Parameters not applied" in e.value for e in at.error)
    assert "Must not be negative." in " ".join(table(at, "Problem")["Problem"])
    assert at.session_state["scn"].content_hash() == original


# --------------------------------------------------------------------------- download and messages


def test_download_button_and_the_allocation_csv(solved):
    at = proceeds_page()
    buttons = [b for b in at.get("download_button") if b.proto.label == t("proceeds.download", "zh")]
    assert len(buttons) == 1
    scn, pairings = solved
    alloc = allocate(scn, pairings)
    data = pv.allocation_csv(alloc.groups, "per_capita", "zh")
    assert data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"县代码": str, "安置地县代码": str})
    assert list(df.columns[:6]) == ["分配规则", "产生县", "县代码", "搬迁组编号", "村", "安置方式"]
    assert len(df) == len(scn.relocation)
    assert set(df["安置方式"]) <= {"集中安置", "分散安置", "进城安置", "其他"}
    assert df["可分配给搬迁群众的资金（万元）"].sum() == pytest.approx(alloc.counties["household_wan"].sum(), abs=0.01)


def test_no_relocation_rows_gives_a_message(tmp_path, monkeypatch):
    shutil.copytree(BASELINE, tmp_path / "no-groups")
    (tmp_path / "no-groups" / "relocation.csv").unlink()
    monkeypatch.setattr(app_state, "SCENARIOS_DIR", tmp_path)
    monkeypatch.setenv(app_state.SCENARIOS_ENV, str(tmp_path))  # the store root: the variable wins (conftest sets it)
    at = proceeds_page()
    assert at.session_state["scn"].relocation.empty
    assert any("没有易地扶贫搬迁分组" in i.value for i in at.info)
    assert not at.get("download_button") and not at.dataframe


def test_no_solve_yet_offers_to_run_it():
    at = new_app()
    at.session_state["results"] = OrderedDict()
    at.session_state["proceeds_solves"] = OrderedDict()
    goto(at, PAGE)
    assert any(t("proceeds.no_solve", "zh") in i.value for i in at.info)
    assert not at.dataframe
    [b for b in at.button if b.label == t("proceeds.run", "zh")][0].click().run()
    assert not at.exception
    assert any("符合“同等受益”" in s.value for s in at.success)


# --------------------------------------------------------------------------- views without Streamlit


def test_views_add_up_and_charts_build(solved):
    scn, pairings = solved
    rules = list(RULES)
    metrics, modes, allocs = compare_rules(scn, pairings, rules)
    alloc = allocs["per_capita"]
    for lang in ("zh", "en"):
        wf = pv.waterfall_frame(alloc.counties, lang)
        assert wf["end"].iloc[-2] == pytest.approx(wf["end"].iloc[-1])  # deductions run down to the pool
        assert wf["end"].iloc[-1] == pytest.approx(alloc.counties["household_wan"].sum())
        dest = pv.destination_frame(alloc.groups, lang)
        assert dest["amount"].sum() == pytest.approx(alloc.groups["household_wan"].sum(), abs=0.1)
        assert pv.benefit_frame(allocs, rules, None, lang)["unit"].nunique() == scn.relocation["county_code"].nunique()
        charts = [pv.waterfall_chart(wf, lang), pv.destination_chart(dest, lang),
                  pv.mode_chart(pv.mode_frame(modes, rules, lang), rules, lang),
                  pv.lorenz_chart(pv.lorenz_frame(allocs, rules, None, lang), rules, lang),
                  pv.benefit_chart(pv.benefit_frame(allocs, rules, "220524", lang), rules, False, lang),
                  pv.benefit_chart(pv.benefit_frame(allocs, rules, None, lang), rules, True, lang)]
        for chart in charts:
            assert chart is not None
            chart.to_dict()  # valid Vega-Lite, no outside resources
    moved = pv.moves_view(alloc.groups, "zh")
    assert len(moved) == int((alloc.groups["destination_code"] != alloc.groups["county_code"]).sum()) > 0
    # Only the model's inputs count for reusing a solve.
    changed = scn.with_param("proceeds", "collective_share", 0.3)
    assert cache.model_key(changed) == cache.model_key(scn)
    assert cache.model_key(scn.with_param("pricing", "bargaining_weight", 0.9)) != cache.model_key(scn)


def test_waterfall_shows_unallocated_money_and_nothing_for_a_county_without_proceeds():
    row = pd.DataFrame([{"gross_wan": 100.0, "reclamation_wan": 30.0, "financing_wan": 7.0, "collective_wan": 0.0,
                         "unallocated_wan": 63.0, "household_wan": 0.0}])
    wf = pv.waterfall_frame(row, "zh")
    assert wf["step"].tolist() == ["流转收益", "复垦成本", "偿还融资", "村集体", "未分配", "可分配给搬迁群众的资金"]
    assert wf["end"].tolist() == pytest.approx([100, 70, 63, 63, 0, 0])
    assert pv.waterfall_chart(wf, "zh") is not None
    zero = row.assign(gross_wan=0.0, reclamation_wan=0.0, financing_wan=0.0, unallocated_wan=0.0)
    assert pv.waterfall_chart(pv.waterfall_frame(zero, "en"), "en") is None


# --------------------------------------------------------------------------- illustrative-data banner


def test_illustrative_banner_on_the_baseline_and_what_is_made_from_it(make_scenario):
    """The baseline's quantities are made up (issue 16): every page says so while the working scenario is the
    baseline, a copy of it under another name or with its description rewritten; a scenario of one's own does not
    get the banner."""
    from ui import banner

    at = proceeds_page()
    assert [w.value for w in at.warning if w.value.startswith("示意数据")] == [t("banner.illustrative", "zh")]
    figures = banner._baseline_figures(str(BASELINE), 0.0)
    baseline, _ = load_checked(BASELINE)
    renamed = baseline.with_param("scenario", "description", "我的方案").with_param("scenario", "name", "方案甲")
    assert banner.derived_from_baseline(baseline, "jilin-baseline", figures)
    assert banner.derived_from_baseline(renamed, "my-plan", figures)  # same county figures
    assert banner.derived_from_baseline(baseline.with_param("scenario", "name", "x"), None, frozenset())  # text
    own, _ = load_checked(make_scenario("own"))
    assert own is not None and not banner.derived_from_baseline(own, "own", figures)
