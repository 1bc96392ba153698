"""The quota ledger page (指标台账) and the editor's lot, demand and payment tabs, driven headlessly with AppTest."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from planner import load_checked
from planner.i18n import t
from ui import state as app_state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASELINE = ROOT / "scenarios" / "jilin-baseline"
PAGE = "pages/7_ledger.py"
TIMEOUT = 90


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    return run(at)


def metric(at: AppTest, key: str, lang: str = "zh") -> float:
    label = t(key, lang)
    for m in at.metric:
        if m.label == label:
            return float(m.value.replace(",", ""))
    raise AssertionError(f"no metric {label!r} in {[m.label for m in at.metric]}")


def expiry_warnings(at: AppTest, marker: str) -> list[str]:
    return [w.value for w in at.warning if marker in w.value]


def test_ledger_page_renders_in_chinese_and_english_with_the_expiry_warning():
    at = goto(run(AppTest.from_file(APP, default_timeout=TIMEOUT)), PAGE)
    assert [x.value for x in at.title] == ["指标台账"]
    assert not at.error, [e.value for e in at.error]
    warnings = expiry_warnings(at, "第二十七条")
    assert warnings and any("大安市（220882）" in w for w in warnings)  # baseline quota left unsold in 2021
    # 和龙市's last 0.01 亩 is a rounding residue (the 0.01 亩 grid under 西安区's quality balance): said once, in a
    # line under the warnings, not as quota the province must act on
    assert not any("和龙市" in w for w in warnings)
    assert any("和龙市 0.01 亩" in c.value and "取整尾差" in c.value for c in at.caption)
    assert not any("汪清县" in w for w in warnings)  # its last 0.01 亩 now sells (planner.model.rounding)
    assert [tab.label for tab in at.tabs][:5] == ["指标批次", "分年度", "流转协议", "付款", "按县核对"]
    assert metric(at, "qledger.kpi.produced") > metric(at, "qledger.kpi.saleable") > 0
    assert any(t("qledger.col.lot_id", "zh") in d.value.columns for d in at.dataframe)
    assert any("已报市（州）和省自然资源部门备案" in " ".join(map(str, d.value.get("备案情况", []))) for d in at.dataframe)
    assert any("逾期" in w.value for w in at.warning if "第二十七条" not in w.value)  # an overdue instalment
    at.session_state["lang"] = "en"
    run(at)
    assert [x.value for x in at.title] == ["Quota ledger"]
    assert expiry_warnings(at, "article 27")
    assert [tab.label for tab in at.tabs][:5] == ["Lots", "By year", "Agreements", "Payments", "Per-county check"]
    assert not at.error


def test_editing_a_lot_in_the_editor_changes_the_ledger():
    at = goto(run(AppTest.from_file(APP, default_timeout=TIMEOUT)), PAGE)
    saleable = metric(at, "qledger.kpi.saleable")
    assert any("洮南市（220881）" in w for w in expiry_warnings(at, "第二十七条"))
    goto(at, "pages/2_editor.py")
    assert [tab.label for tab in at.tabs][3:6] == ["指标批次", "分年度需求", "付款计划"]
    lots = at.session_state["editor_base"]["lots"]
    row = int(lots.index[lots["lot_id"] == "220881-01"][0])
    net = float(lots.loc[row, "area_mu"] - lots.loc[row, "used_locally_mu"] - lots.loc[row, "reserved_rural_mu"]
                - lots.loc[row, "turnover_owed_mu"])
    key = f"editor_lots_{at.session_state['editor_ver']}_{at.session_state['lang']}"
    at.session_state[key] = {"edited_rows": {row: {"status": "planned"}}, "added_rows": [], "deleted_rows": []}
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["scn"].lots.set_index("lot_id").loc["220881-01", "status"] == "planned"
    goto(at, PAGE)
    assert metric(at, "qledger.kpi.saleable") == saleable - net
    assert not any("洮南市（220881）" in w for w in expiry_warnings(at, "第二十七条"))


def test_the_editor_keeps_lots_demand_and_payments_when_other_tables_change():
    scn, _ = load_checked(BASELINE)
    candidate = app_state.candidate_from_tables(scn, {"counties": scn.counties.iloc[:]})
    assert len(candidate.lots) == len(scn.lots) and len(candidate.payments) == len(scn.payments)
    assert candidate.content_hash() == scn.content_hash()
    assert app_state.TABLES[3:] == ("lots", "demand", "payments")
