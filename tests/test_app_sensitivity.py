"""The sensitivity page (敏感性分析), driven headlessly with AppTest: renders in both languages, a small sweep shows
charts and the pairing table, a small Monte Carlo shows the robustness table, downloads exist, and results are kept
so that coming back to the page does not compute again."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import planner.sensitivity as sens
from planner.i18n import t

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/6_sensitivity.py"
TIMEOUT = 60
SWEEP_DOWNLOADS = ["sens_dl_kpis", "sens_dl_sweep_pairs"]
ROBUST_DOWNLOADS = ["sens_dl_robust", "sens_dl_runs", "sens_dl_counties"]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    ok(at.run())
    at.switch_page(PAGE)
    return ok(at.run())


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def download_keys(at: AppTest) -> set:
    return {d.key for d in at.get("download_button")}


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_renders_in_both_languages(lang):
    at = page()
    if lang == "en":
        at.session_state["lang"] = "en"
        ok(at.run())
    assert [x.value for x in at.title] == [t("sens.title", lang)]
    assert t("sens.title", "zh") == "敏感性分析" and t("sens.title", "en") == "Sensitivity"
    assert [x.label for x in at.tabs] == [t("sens.tab_sweep", lang), t("sens.tab_robust", lang)]
    assert texts(at.info).count(t("sens.robust_meaning", lang)[:20]) == 1  # what "robust" means, in plain words
    labels = [w.label for w in at.selectbox]
    assert t("sens.param", lang) in labels
    assert at.selectbox(key="_w_sens_kind").format_func("pricing.bargaining_weight") == \
        ("议价系数 θ" if lang == "zh" else "Bargaining weight θ")
    assert at.number_input(key="_w_sens_runs").value == 200
    assert not at.error
    assert not charts(at)  # nothing computed before the user asks


def test_small_sweep_shows_charts_and_pairing_table(monkeypatch):
    at = page()
    assert (at.number_input(key="_w_sens_start|pricing.bargaining_weight").value,
            at.number_input(key="_w_sens_stop|pricing.bargaining_weight").value) == (0.0, 1.0)
    at.number_input(key="_w_sens_steps").set_value(3)
    ok(at.run())
    at.button(key="sens_run_sweep").click()
    ok(at.run())
    assert t("sens.sweep_done", "zh", n=3, seconds="")[:6] in texts(at.success)
    assert len(charts(at)) == 4  # matched 亩, proceeds, unmet demand, mean price
    frames = [d.value for d in at.dataframe]
    matrix = next(f for f in frames if t("sens.col.pair", "zh") in f.columns)
    assert {"0", "0.5", "1"} <= set(matrix.columns) and len(matrix) > 0
    assert SWEEP_DOWNLOADS[0] in download_keys(at) and SWEEP_DOWNLOADS[1] in download_keys(at)
    (entry,) = at.session_state["sens_sweeps"].values()
    assert entry["kpis"]["value"].tolist() == [0.0, 0.5, 1.0]

    # Leave and come back: the result is shown again without computing.
    monkeypatch.setattr(sens, "sweep", lambda *a, **k: pytest.fail("computed again"))
    at.switch_page("pages/1_overview.py")
    ok(at.run())
    at.switch_page(PAGE)
    ok(at.run())
    assert at.number_input(key="_w_sens_steps").value == 3  # settings survive leaving the page
    assert len(charts(at)) == 4

    at.session_state["lang"] = "en"
    ok(at.run())
    assert len(charts(at)) == 4
    assert any(t("sens.col.pair", "en") in d.value.columns for d in at.dataframe)


def test_sweep_of_a_county_quantity():
    at = page()
    at.selectbox(key="_w_sens_kind").set_value("county")
    ok(at.run())
    county = at.selectbox(key="_w_sens_county")
    assert "通榆县（220822）· 产生县" in county.options  # by name, with code and role
    assert county.options.index("通榆县（220822）· 产生县") < county.options.index("朝阳区（220104）· 使用县")
    county.set_value("220822")
    ok(at.run())
    column = at.selectbox(key="_w_sens_column")
    assert column.value == "surplus_mu"  # a seller: its surplus first
    assert set(column.options) == {"节余指标（亩）", "最低价（万元/亩）"}
    spec = "county:220822:surplus_mu"
    assert at.number_input(key=f"_w_sens_start|{spec}").value == 1225.0
    at.number_input(key="_w_sens_steps").set_value(3)
    ok(at.run())
    at.button(key="sens_run_sweep").click()
    ok(at.run())
    assert len(charts(at)) == 4
    (key,) = at.session_state["sens_sweeps"].keys()
    assert key[1] == spec and key[2] == (1225.0, 2450.0, 3675.0)


def test_sweep_lists_values_that_make_the_scenario_invalid():
    at = page()
    at.selectbox(key="_w_sens_kind").set_value("pricing.guide_floor")
    ok(at.run())
    at.number_input(key="_w_sens_start|pricing.guide_floor").set_value(-20.0)
    at.number_input(key="_w_sens_stop|pricing.guide_floor").set_value(0.0)
    at.number_input(key="_w_sens_steps").set_value(3)
    ok(at.run())
    at.button(key="sens_run_sweep").click()
    ok(at.run())
    warning = texts(at.warning)
    assert t("sens.invalid_steps", "zh", n=2) in warning and "guide_floor" in warning
    assert t("sens.sweep_done_partial", "zh", n=3, solved=1, invalid=2, seconds="")[:25] in texts(at.success)
    assert len(charts(at)) == 4


def test_small_monte_carlo_shows_the_robustness_table():
    at = page()
    at.session_state["sens_workers"] = 1  # in process; the worker pool is tested in test_sensitivity.py
    at.number_input(key="_w_sens_runs").set_value(10)
    at.number_input(key="_w_sens_seed").set_value(5)
    ok(at.run())
    at.button(key="sens_run_robust").click()
    ok(at.run())
    assert t("sens.robust_done", "zh", runs=10, seconds="", workers="")[:6] in texts(at.success)
    frames = [d.value for d in at.dataframe]
    table = next(f for f in frames if t("sens.col.frequency", "zh") in f.columns)
    for key in ("pair", "frequency", "base_quota_mu", "min_quota_mu", "mean_quota_mu", "max_quota_mu", "robust"):
        assert t(f"sens.col.{key}", "zh") in table.columns
    assert table[t("sens.col.frequency", "zh")].between(0, 100).all()
    assert set(table[t("sens.col.robust", "zh")]) <= {"稳健", "不稳健"}
    assert any(t("sens.col.active_share", "zh") in f.columns for f in frames)  # county totals
    assert len(charts(at)) == 1  # frequency bars
    assert set(ROBUST_DOWNLOADS) <= download_keys(at)
    metric = next(m for m in at.metric if m.label == t("sens.m_robust", "zh"))
    robust, base = (int(x) for x in metric.value.split("/"))
    assert 0 <= robust <= base
    (rob,) = at.session_state["sens_robust"].values()
    assert rob.workers == 1 and len(rob.runs) == 10

    # all pairings seen, not only the recommended plan's
    n_base = len(table)
    at.toggle(key="sens_show_all").set_value(True)
    ok(at.run())
    table = next(d.value for d in at.dataframe if t("sens.col.frequency", "zh") in d.value.columns)
    assert len(table) >= n_base

    at.session_state["lang"] = "en"
    ok(at.run())
    assert any(t("sens.col.frequency", "en") in d.value.columns for d in at.dataframe)
    assert "Robust" in " ".join(str(v) for d in at.dataframe for v in d.value.get("Robustness", pd.Series()))
