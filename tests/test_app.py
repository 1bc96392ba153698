"""The Streamlit app, driven headlessly with streamlit.testing.v1.AppTest.

Every page renders without an exception in both languages; edits in the scenario editor reach the optimisation
only when valid; downloads exist; imports of CSV (UTF-8/GBK) and Excel work and bad files get friendly messages.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import state as app_state
from ui.figures import flows
from ui.figures import results as views
from planner import load_checked, solve
from planner.i18n import t
from planner.scenario import scenario_files

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASELINE = ROOT / "scenarios" / "jilin-baseline"
PAGES = {
    "pages/1_overview.py": "overview.title",
    "pages/2_editor.py": "editor.title",
    "pages/3_pairings.py": "pairings.title",
    "pages/9_export.py": "export.title",
}
TIMEOUT = 60


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [x.value for x in at.title]


def metric(at: AppTest, key: str, lang: str = "zh") -> str:
    label = t(key, lang)
    for m in at.metric:
        if m.label.startswith(label):
            return m.value
    raise AssertionError(f"no metric {label!r} in {[m.label for m in at.metric]}")


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def edit_table(at: AppTest, table: str, edited_rows: dict, added_rows=None, deleted_rows=None) -> AppTest:
    """Set a data_editor's edit state as the browser would send it, then rerun."""
    key = f"editor_{table}_{at.session_state['editor_ver']}_{at.session_state['lang']}"
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": added_rows or [],
                             "deleted_rows": deleted_rows or []}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def base_table(at: AppTest, table: str) -> pd.DataFrame:
    return at.session_state["editor_base"][table]


@pytest.fixture(autouse=True)
def _store_copy(tmp_path_factory, monkeypatch):
    """The app works on a copy of the shipped store: edits keep drafts on disk (issue 15), never in scenarios/."""
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(BASELINE, root / "jilin-baseline")
    monkeypatch.setenv(app_state.SCENARIOS_ENV, str(root))


@pytest.fixture(scope="module")
def baseline():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in problems]
    return scn


# --------------------------------------------------------------------------- rendering and language


@pytest.mark.parametrize("page,title_key", list(PAGES.items()))
def test_every_page_renders_in_chinese_and_english(page, title_key):
    at = new_app()
    goto(at, page)
    assert titles(at) == [t(title_key, "zh")]
    assert not at.error, [e.value for e in at.error]
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert titles(at) == [t(title_key, "en")]
    assert t(title_key, "en") != t(title_key, "zh")


def test_language_switch_in_sidebar_changes_labels():
    at = new_app()
    assert titles(at) == ["概览"]
    assert metric(at, "kpi.matched", "zh").replace(",", "").isdigit()
    assert any("当前情景" in c.value for c in at.sidebar.caption)
    at.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert titles(at) == ["Overview"]
    labels = [m.label for m in at.metric]
    assert any(label.startswith("Quota matched") for label in labels), labels
    assert any("Working scenario" in c.value for c in at.sidebar.caption)
    assert [s.value for s in at.sidebar.success] == ["Data valid"]


def test_overview_shows_headline_figures_with_units(baseline):
    at = new_app()
    expected = solve(baseline).totals
    assert number(metric(at, "kpi.surplus")) == pytest.approx(expected["surplus_offered_mu"], abs=1)
    assert number(metric(at, "kpi.matched")) == pytest.approx(expected["quota_matched_mu"], abs=1)
    labels = [m.label for m in at.metric]
    assert any("（亩）" in x for x in labels) and any("（万元）" in x for x in labels)
    rules = " ".join(m.value for m in at.markdown)
    for article in ("第二条", "第六条", "第六条第二款", "第十五条", "第十八条"):
        assert article in rules


# --------------------------------------------------------------------------- editing and re-solving


def test_editing_a_seller_changes_the_pairings():
    # The baseline's supply comes from its lots (lots.csv): a county that is no longer a listed poverty county
    # sells nothing (article 2).
    at = goto(new_app(), "pages/3_pairings.py")
    before = number(metric(at, "kpi.matched"))
    goto(at, "pages/2_editor.py")
    counties = base_table(at, "counties")
    deal_sellers = set(at.session_state["scn"].pairs.query("status != 'negotiating'")["seller_code"])
    row = int(counties.index[(counties["poverty_class"] != "none") & ~counties["code"].isin(deal_sellers)][0])
    code = counties.loc[row, "code"]
    edit_table(at, "counties", {row: {"poverty_class": "none"}})
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["scn"].counties.loc[row, "poverty_class"] == "none"
    goto(at, "pages/3_pairings.py")
    after = number(metric(at, "kpi.matched"))
    assert after < before
    assert code not in at.session_state["results"][next(reversed(at.session_state["results"]))].result \
        .pairings["seller_code"].tolist()


def test_editing_a_buyer_budget_changes_the_pairings():
    # Every buyer without a signed agreement gets no budget: only the signed deals remain (article 16: they are
    # fixed in the plan; a budget below a deal would be refused by validation).
    at = goto(new_app(), "pages/2_editor.py")
    counties = base_table(at, "counties")
    pairs = at.session_state["scn"].pairs
    deals = pairs[pairs["status"].isin(["signed", "filed"]) & (pairs["agreed_mu"] > 0)]
    buyers = counties.index[(counties["demand_mu"].fillna(0) > 0) & ~counties["code"].isin(deals["buyer_code"])]
    edits = {int(i): {"budget_wan": 0.0} for i in buyers}
    edit_table(at, "counties", edits)
    goto(at, "pages/3_pairings.py")
    assert number(metric(at, "kpi.matched")) >= deals["agreed_mu"].sum()
    result = at.session_state["results"][next(reversed(at.session_state["results"]))].result
    assert set(result.pairings["buyer_code"]) <= set(deals["buyer_code"])
    kept = result.pairings.merge(deals, on=["seller_code", "buyer_code"])
    assert kept["quota_mu"].sum() == deals["agreed_mu"].sum()


def test_invalid_edit_shows_the_problem_and_is_not_applied():
    at = goto(new_app(), "pages/2_editor.py")
    original_hash = at.session_state["scn"].content_hash()
    counties = base_table(at, "counties")
    buyer = int(counties.index[counties["demand_mu"].fillna(0) > 0][0])
    seller = int(counties.index[counties["surplus_mu"].fillna(0) > 0][0])
    edit_table(at, "counties", {buyer: {"ceiling_price": None}, seller: {"surplus_mu": -5}})
    errors = [e.value for e in at.error]
    assert any("2 个错误" in e for e in errors), errors
    assert at.session_state["scn"].content_hash() == original_hash  # nothing applied
    tables = [d.value for d in at.dataframe if "问题" in d.value.columns]
    messages = " ".join(" ".join(map(str, df["问题"].tolist())) for df in tables)
    assert "有指标需求的使用县必须填写最高价" in messages
    assert "不能为负数" in messages
    rows = " ".join(" ".join(map(str, df.get("对象", pd.Series(dtype=str)).tolist())) for df in tables)
    assert counties.loc[buyer, "name"] in rows  # the problem names the county it concerns
    # The edits stay (with their problems) across a page change, and results use the last valid data.
    goto(at, "pages/3_pairings.py")
    assert any("2 个错误" in w.value for w in at.warning)
    goto(at, "pages/2_editor.py")
    assert any("2 个错误" in e.value for e in at.error)
    # Undo the edits that were not applied.
    at.button(key="editor_discard_pending").click().run()
    assert not at.exception
    assert not at.error
    assert at.session_state["editor_errors"] == 0


def test_valid_edit_can_be_discarded():
    at = goto(new_app(), "pages/2_editor.py")
    original_hash = at.session_state["scn"].content_hash()
    counties = base_table(at, "counties")
    edit_table(at, "counties", {0: {"name": "新名称"}})
    assert at.session_state["scn"].content_hash() != original_hash
    assert any("修改已生效" in i.value for i in at.info)
    at.button(key="editor_discard_all").click().run()
    assert not at.exception
    at.button(key="editor_discard_yes").click().run()  # discarding asks first (issue 15)
    assert not at.exception
    assert at.session_state["scn"].content_hash() == original_hash
    assert base_table(at, "counties").loc[0, "name"] == counties.loc[0, "name"]


def test_added_pair_row_with_unknown_county_is_rejected():
    at = goto(new_app(), "pages/2_editor.py")
    original_hash = at.session_state["scn"].content_hash()
    edit_table(at, "pairs", {}, added_rows=[{"seller_code": "999999", "buyer_code": "220102"}])
    # messages name the tab the user sees, not the file (issue 15)
    assert any("“县级数据”中没有这个县代码" in " ".join(map(str, d.value.get("问题", []))) for d in at.dataframe)
    assert at.session_state["scn"].content_hash() == original_hash


def test_parameters_form_applies_valid_values_only():
    at = goto(new_app(), "pages/2_editor.py")
    ver = at.session_state["editor_ver"]
    at.number_input(key=f"param_pricing_bargaining_weight_{ver}").set_value(0.8)
    submit = [b for b in at.button if b.label == t("editor.params_apply", "zh")][0]
    submit.click().run()
    assert not at.exception
    assert at.session_state["scn"].param("pricing", "bargaining_weight") == pytest.approx(0.8)
    assert any(t("editor.params_applied", "zh") in s.value for s in at.success)
    # A guidance floor above the ceiling is an error: not applied.
    at.number_input(key=f"param_pricing_guide_floor_{ver}").set_value(70.0)
    submit = [b for b in at.button if b.label == t("editor.params_apply", "zh")][0]
    submit.click().run()
    assert not at.exception
    assert at.session_state["scn"].param("pricing", "guide_floor") == pytest.approx(10.0)
    assert any("参数有" in e.value for e in at.error)


# --------------------------------------------------------------------------- imports


def _counties_csv(baseline, encoding: str, surplus_factor: float = 1.0) -> bytes:
    df = baseline.counties.copy()
    df["surplus_mu"] = df["surplus_mu"] * surplus_factor
    df["poverty_class"] = df["poverty_class"].map({"national_key": "国家扶贫开发重点县", "provincial": "省定片区县",
                                                   "none": "非贫困县"})
    return df.to_csv(index=False).encode(encoding)


def test_import_one_table_from_gbk_csv(baseline):
    at = goto(new_app(), "pages/2_editor.py")
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_table_file_{ver}").set_value(
        ("县表.csv", _counties_csv(baseline, "gbk", surplus_factor=0.5), "text/csv"))
    at.button(key=f"import_table_go_{ver}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="import_confirm").click().run()  # an import is previewed, then confirmed (issue 15)
    assert not at.exception, [e.value for e in at.exception]
    assert any("已导入" in s.value for s in at.success), [e.value for e in at.error]
    assert at.session_state["scn"].counties["surplus_mu"].sum() == pytest.approx(
        baseline.counties["surplus_mu"].sum() * 0.5)
    assert at.session_state["editor_ver"] == ver + 1  # the editor shows the imported table


def test_import_of_a_bad_file_gives_a_friendly_message(baseline):
    at = goto(new_app(), "pages/2_editor.py")
    original_hash = at.session_state["scn"].content_hash()
    ver = at.session_state["editor_ver"]
    bad = baseline.counties.astype(object)
    bad.loc[0, "surplus_mu"] = "很多"
    at.file_uploader(key=f"import_table_file_{ver}").set_value(
        ("counties.csv", bad.to_csv(index=False).encode("utf-8"), "text/csv"))
    at.button(key=f"import_table_go_{ver}").click().run()
    assert not at.exception
    assert any("未导入" in e.value for e in at.error)
    problems = [d.value for d in at.dataframe if "问题" in d.value.columns]
    assert any("应为数字" in " ".join(df["问题"]) for df in problems)
    assert at.session_state["scn"].content_hash() == original_hash
    # A binary file that is not a workbook
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_table_file_{ver}").set_value(("counties.xlsx", b"\x00\x01garbage", "application/x"))
    at.button(key=f"import_table_go_{ver}").click().run()
    assert not at.exception
    assert any("无法读取" in e.value for e in at.error)


def test_import_whole_scenario_from_excel_and_zip(baseline):
    at = goto(new_app(), "pages/2_editor.py")
    changed = baseline.with_param("scenario", "name", "导入测试")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        changed.counties.to_excel(xw, sheet_name="县", index=False)
        changed.pairs.to_excel(xw, sheet_name="配对", index=False)
        changed.relocation.to_excel(xw, sheet_name="relocation", index=False)
    toml = scenario_files(changed)["scenario.toml"]
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_scenario_files_{ver}").set_value(
        [("data.xlsx", buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         ("scenario.toml", toml, "application/toml")])
    at.button(key=f"import_scenario_go_{ver}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="import_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("已导入" in s.value for s in at.success), [e.value for e in at.error]
    scn = at.session_state["scn"]
    assert scn.name == "导入测试"
    assert len(scn.counties) == len(baseline.counties) and len(scn.relocation) == len(baseline.relocation)
    # The export zip round-trips through the importer.
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        for name, data in scenario_files(baseline).items():
            zf.writestr(f"jilin-baseline/{name}", data)
    ver = at.session_state["editor_ver"]
    at.file_uploader(key=f"import_scenario_files_{ver}").set_value(("s.zip", zbuf.getvalue(), "application/zip"))
    at.button(key=f"import_scenario_go_{ver}").click().run()
    assert not at.exception
    at.button(key="import_confirm").click().run()
    assert not at.exception
    assert at.session_state["scn"].content_hash() == baseline.content_hash()


# --------------------------------------------------------------------------- results, caching, downloads


def test_pairings_page_caches_and_offers_the_csv():
    at = goto(new_app(), "pages/3_pairings.py")
    assert [b.key for b in at.get("download_button")] == ["download_pairings"]
    assert any(d.value.columns[0] == "产生县" for d in at.dataframe)
    n_solves = len(at.session_state["results"])
    goto(at, "pages/1_overview.py")
    goto(at, "pages/3_pairings.py")
    assert len(at.session_state["results"]) == n_solves  # revisiting does not solve again
    assert not at.status  # no progress box: the result came from the cache
    tab_labels = [tab.label for tab in at.tabs]
    assert tab_labels == ["流向图", "地图", "各县说明", "影子价格"]
    at.button(key="run_solve").click().run()  # "运行优化" solves again, with visible progress
    assert not at.exception
    assert len(at.status) == 1 and at.status[0].state == "complete"


def test_export_page_has_three_downloads():
    at = goto(new_app(), "pages/9_export.py")
    keys = [b.key for b in at.get("download_button")]
    # the three original downloads stay; tests/test_export.py checks the documents added by issue 6
    assert [k for k in keys if k in ("export_pairings", "export_counties", "export_scenario")] == [
        "export_pairings", "export_counties", "export_scenario"]


def test_plan_adjustment_is_flagged_with_its_article():
    at = goto(new_app(), "pages/2_editor.py")
    ver = at.session_state["editor_ver"]
    counties = base_table(at, "counties")
    sellers = counties.index[counties["surplus_mu"].fillna(0) > 0]
    buyers = counties.index[counties["demand_mu"].fillna(0) > 0]
    edits = {int(i): {"plan_adjustable_mu": 500.0} for i in sellers}
    edits.update({int(i): {"construction_headroom_mu": 0.0} for i in buyers})
    edit_table(at, "counties", edits)
    at.checkbox(key=f"param_rules_allow_plan_adjustment_{ver}").check()
    [b for b in at.button if b.label == t("editor.params_apply", "zh")][0].click().run()
    assert not at.exception
    goto(at, "pages/3_pairings.py")
    assert any("第六条第二款" in w.value for w in at.warning)
    table = [d.value for d in at.dataframe if "备注" in d.value.columns][0]
    assert table["备注"].str.contains("第六条第二款").any()


# --------------------------------------------------------------------------- views and locales


def test_csv_exports_have_bom_and_localised_headers(baseline):
    result = solve(baseline)
    data = views.pairings_export(result.pairings, "zh")
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:4] == ["产生县", "产生县代码", "使用县", "使用县代码"]
    raw = views.pairings_export(result.pairings, "zh", localized=False).decode("utf-8-sig").splitlines()[0]
    assert raw.startswith("seller_code,seller_name,buyer_code,buyer_name,year,quota_mu")


def test_pairings_view_states_quota_as_the_plan_does_so_amounts_add_up(baseline):
    """DESIGN 4: quota to at most 2 decimals, amount = quota x price as printed. The table rounded quota to 0.1, so
    245.96 亩 read 246 beside 5,411.1 万元 at 22 万元/亩."""
    p = solve(baseline).pairings
    view = views.pairings_view(p, "zh")
    quota, price, amount = (view[t(f"col.{c}", "zh")].to_numpy(dtype=float)
                            for c in ("quota_mu", "price_wan_per_mu", "amount_wan"))
    assert np.array_equal(quota, p["quota_mu"].to_numpy(dtype=float).round(2))
    assert (np.round(quota * 100) != np.round(quota * 10) * 10).any()  # some quota needs its second decimal
    assert np.abs(quota * price - amount).max() <= 0.005 + 1e-9


def test_pairings_view_reads_years_deals_and_quality_as_the_workbook_does(baseline):
    """Staff defend a pairing by its year, whether it is a signed deal and its quality check (article 4(二)): the
    app's table carries them, headed as in the workbook."""
    result = solve(baseline)
    p = result.pairings
    view = views.pairings_view(p, "zh", "aggregate")
    for field in ("year", "deal", "reclaimed_grade", "occupied_grade", "quality_check"):
        assert t(f"field.{field}", "zh") in view.columns
    years = view[t("field.year", "zh")]
    assert set(years) == {str(int(y)) for y in p["year"]} and not years.str.contains(",").any()
    deals = view[t("field.deal", "zh")] == t("report.deal_yes", "zh")
    assert deals.sum() == int(p["deal"].astype(bool).sum()) > 0
    checks = view[t("field.quality_check", "zh")]
    worse = (p["quality_check"] == "worse").to_numpy()
    assert worse.any()  # the baseline balances some worse pairs within a using county (aggregate rule)
    assert set(checks[worse]) <= {t("report.quality_short_balanced", "zh"), t("report.quality_short_worse", "zh")}
    assert (checks[worse] == t("report.quality_short_balanced", "zh")).all()  # the model enforces the balance
    assert (checks[~worse & (p["quality_check"] == "ok").to_numpy()] == t("report.quality_short_ok", "zh")).all()
    plain = views.pairings_view(p, "en", "off")[t("field.quality_check", "en")]
    assert (plain[worse] == t("report.quality_short_worse", "en")).all()


def test_charts_build_offline(baseline):
    result = solve(baseline)
    for lang in ("zh", "en"):
        flow = flows.flow_chart(result.pairings, lang).to_dict()
        geo = flows.map_chart(baseline.counties, result.counties, result.pairings, lang).to_dict()
        text = json.dumps([flow, geo], ensure_ascii=False)
        assert "http" not in text.replace("https://vega.github.io/schema", "")  # no tiles, no outside request
    assert flows.map_chart(baseline.counties.drop(columns=["lat", "lon"]), result.counties, result.pairings,
                           "zh") is None


def test_every_ui_key_is_translated():
    """Every literal key passed to tr()/t() in the app exists in both locale files."""
    sources = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]
    pattern = re.compile(r"""\b(?:tr|t)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
    keys = set()
    for path in sources:
        keys |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert len(keys) > 50
    from planner.i18n import messages

    messages.cache_clear()
    zh, en = messages("zh"), messages("en")  # <lang>.json plus every <lang>.<part>.json
    assert set(zh) == set(en)
    missing = sorted(k for k in keys if k not in zh)
    assert not missing, missing


def test_streamlit_config_is_offline_and_safe():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["headless"] is True
    assert cfg["server"]["maxUploadSize"] <= 50
    assert cfg["client"]["toolbarMode"] == "viewer"


def test_edits_survive_a_language_switch():
    at = goto(new_app(), "pages/2_editor.py")
    counties = base_table(at, "counties")
    buyer = int(counties.index[counties["demand_mu"].fillna(0) > 0][0])
    edit_table(at, "counties", {buyer: {"ceiling_price": None}})
    assert any("1 个错误" in e.value for e in at.error)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("1 error found" in e for e in errors), errors
    problems = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    assert any("A buyer with demand must have a ceiling price." in " ".join(df["Problem"]) for df in problems)


def test_overview_opens_another_scenario_and_refuses_a_broken_one(tmp_path, monkeypatch):
    shutil.copytree(BASELINE, tmp_path / "a-copy")
    toml = (tmp_path / "a-copy" / "scenario.toml").read_text(encoding="utf-8")
    (tmp_path / "a-copy" / "scenario.toml").write_text(toml.replace("吉林省基准情景", "副本情景"), encoding="utf-8")
    shutil.copytree(BASELINE, tmp_path / "broken")
    (tmp_path / "broken" / "counties.csv").write_bytes(b"code,name\n1,x\n")
    (tmp_path / ".trash").mkdir()
    monkeypatch.setattr(app_state, "SCENARIOS_DIR", tmp_path)
    monkeypatch.delenv(app_state.SCENARIOS_ENV, raising=False)  # set by _store_copy; this test uses SCENARIOS_DIR
    at = new_app()
    assert at.session_state["scn_folder"] == "a-copy"  # no jilin-baseline here: the first folder opens
    picker = at.selectbox[0]
    assert picker.options == ["副本情景（a-copy）", "吉林省基准情景（broken）"]
    picker.set_value("broken").run()
    [b for b in at.button if b.label == t("overview.open", "zh")][0].click().run()
    assert not at.exception
    assert any("无法打开该情景" in e.value for e in at.error)
    assert at.session_state["scn_folder"] == "a-copy" and at.session_state["scn"].name == "副本情景"
    problems = [d.value for d in at.dataframe if "问题" in d.value.columns]
    assert any("缺少必需的列" in " ".join(df["问题"]) for df in problems)


def test_pairings_are_counted_as_county_pairs_with_their_rows_by_year(baseline):
    """The default plan runs by year: 44 rows for 42 county pairs read "44 对配对" on one page and "5 / 42" on
    another (found trying the app). The count names both when they differ."""
    from ui.widgets import pairings_phrase

    totals = solve(baseline).totals
    assert totals["county_pairs"] < totals["pairings"]
    with_years = t("common.pairings_count_years", "zh", pairs=totals["county_pairs"], rows=totals["pairings"])
    assert f"{totals['county_pairs']} 对配对" in with_years and f"{totals['pairings']} 行" in with_years
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any(with_years in c.value for c in at.caption), [c.value for c in at.caption]
    assert pairings_phrase({"pairings": 3, "county_pairs": 3}) == t("common.pairings_count", "zh", pairs=3)
