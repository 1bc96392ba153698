"""Documents to hand on (issue 6): the Excel workbook, the transfer-agreement sheets with the article 10 checklist,
the provincial ledger (article 14), and formula-safe CSV everywhere.

The workbook is opened with openpyxl as a user's Excel would read it: sheet names, headers, frozen panes, totals that
equal the solve, and no formula cell anywhere (also checked in the raw sheet XML).
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import BASELINE, ROOT, TINY_RELOCATION, TINY_TOML, write_scenario
from planner import export, load_checked, solve
from planner.compare import compare
from planner.scenario import Scenario, read_folder, scenario_files
from planner.validate import errors, validate_scenario

CLAUSE_ZH = export.PLAN_ADJUSTMENT_CLAUSE["zh"]
CLAUSE_EN = export.PLAN_ADJUSTMENT_CLAUSE["en"]
FIXED = ["参数", "配对", "县汇总", "收益分配", "收益分配-县", "台账", "指标台账", "生成信息"]

# 001 may cede 30 亩 of planning space; buyer 101 has only 50 亩 of construction headroom for a demand of 120, so the
# optimum buys 80 亩 from 001 with 30 亩 of plan adjustment; 001 -> 102 and 002 -> 102 use none.
ADJ_TOML = TINY_TOML.replace('quality_rule = "off"', 'quality_rule = "off"\nallow_plan_adjustment = true')
ADJ_COUNTIES = (
    "code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,"
    "budget_wan,construction_headroom_mu,plan_adjustable_mu,occupied_quality_grade\n") + """\
001,甲县,甲市,national_key,100,5,12,,,,,30,
002,乙县,甲市,provincial,50,6,,,,,,,
101,丙区,乙市,none,,,,120,30,,50,,4
102,丁区,乙市,none,,,,40,20,600,,,
"""
# County names a spreadsheet would run as formulas: valid input, exported as visible text.
EVIL = {"001": "=HYPERLINK(\"http://x\",\"甲\")", "002": "@SUM(1+1)*cmd|' /C calc'!A0", "101": "+1+1丙区",
        "102": "-2-丁区"}
EVIL_COUNTIES = """\
code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,budget_wan
001,"=HYPERLINK(""http://x"",""甲"")",=市,national_key,100,5,12,,,
002,"@SUM(1+1)*cmd|' /C calc'!A0",@市,provincial,50,6,,,,
101,+1+1丙区,+市,none,,,,120,30,
102,-2-丁区,-市,none,,,,40,20,600
"""


def load(folder) -> Scenario:
    scn, problems = load_checked(folder)
    assert scn is not None and not errors(problems), [p.text("en") for p in problems]
    return scn


def open_book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def header_row(ws) -> list[str]:
    return [("" if c.value is None else str(c.value)).replace("\n", "") for c in ws[2]]


def column(ws, name: str) -> list:
    """Values under a header (rows 3..), header matched without its line break."""
    j = header_row(ws).index(name) + 1
    return [ws.cell(row=r, column=j).value for r in range(3, ws.max_row + 1)]


def all_cells(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws, cell


@pytest.fixture(scope="module")
def baseline():
    scn = load(BASELINE)
    return scn, solve(scn)


@pytest.fixture(scope="module")
def baseline_book(baseline):
    scn, result = baseline
    data = export.workbook_bytes(scn, result)
    return data, open_book(data)


@pytest.fixture(scope="module")
def adjusted(tmp_path_factory):
    scn = load(write_scenario(tmp_path_factory.mktemp("adj") / "s", toml=ADJ_TOML, counties=ADJ_COUNTIES,
                              relocation=TINY_RELOCATION))
    result = solve(scn)
    adj = result.pairings.set_index(["seller_code", "buyer_code"])["plan_adjustment_mu"]
    assert adj[("001", "101")] == pytest.approx(30.0)  # the scenario does what the test needs
    assert (adj == 0).sum() >= 1
    return scn, result


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    folder = write_scenario(tmp_path_factory.mktemp("evil") / "s", counties=EVIL_COUNTIES)
    return folder, load(folder)


# --------------------------------------------------------------------------- workbook


def test_workbook_sheets(baseline, baseline_book):
    scn, result = baseline
    _, wb = baseline_book
    names = wb.sheetnames
    assert names[:len(FIXED)] == FIXED
    agreements = names[len(FIXED):]
    assert len(agreements) == len(result.pairings) > 0
    assert agreements == export.agreement_sheet_names(result.pairings)
    assert len({n.lower() for n in names}) == len(names)
    for n in agreements:
        assert n.startswith("协议-") and len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n)
    first = result.pairings.iloc[0]
    assert agreements[0] == f"协议-{first['seller_name']}-{first['buyer_name']}"


def test_workbook_headers_units_and_frozen_panes(baseline_book):
    _, wb = baseline_book
    expected = {
        "配对": (["序号", "产生县", "产生县代码", "产生县所在市（州）", "使用县", "使用县代码", "使用县所在市（州）",
                "流转指标（亩）", "价格（万元/亩）", "金额（万元）", "规划调整（亩）"], "C3"),
        "县汇总": (["代码", "县（市、区）", "市（州）", "贫困县类别", "角色", "节余指标（亩）", "调出（亩）"], "C3"),
        "台账": (["代码", "县（市、区）", "市（州）", "贫困县类别", "节余指标（亩）", "流出（亩）", "流出金额（万元）",
                "剩余（亩）"], "C3"),
        "收益分配": (["产生县", "产生县代码", "搬迁组编号", "村", "安置方式"], "D3"),
        "参数": (["分组", "参数", "取值", "参数代码", "依据条款（实施办法）"], "A3"),
        "生成信息": (["项目", "内容"], "A3"),
    }
    for sheet, (heads, frozen) in expected.items():
        ws = wb[sheet]
        assert [h for h in header_row(ws) if h != "年度"][:len(heads)] == heads, sheet  # 年度: a plan by year
        assert ws.freeze_panes == frozen, sheet
        assert ws.column_dimensions["A"].width and ws.column_dimensions["B"].width > 5
        assert ws["A2"].font.b  # bold header row
    # units in every numeric header of the pairings sheet, number formats on the numbers
    ws = wb["配对"]
    assert "（万元/亩）" in "".join(header_row(ws))
    assert ws.cell(row=3, column=header_row(ws).index("流转指标（亩）") + 1).number_format.startswith("#,##0.00")
    assert ws.auto_filter.ref.startswith("A2:")


def test_workbook_totals_equal_the_result(baseline, baseline_book):
    scn, result = baseline
    _, wb = baseline_book
    p = result.pairings
    ws = wb["配对"]
    quota, amount = column(ws, "流转指标（亩）"), column(ws, "金额（万元）")
    sellers = column(ws, "产生县")
    assert sellers[-1] == "合计" and len(sellers) == len(p) + 1
    assert sum(quota[:-1]) == pytest.approx(p["quota_mu"].sum(), abs=1e-6)
    assert quota[-1] == pytest.approx(p["quota_mu"].sum(), abs=1e-6)
    assert quota[-1] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    assert amount[-1] == pytest.approx(p["amount_wan"].sum(), abs=1e-6)
    assert amount[-1] == pytest.approx(result.totals["proceeds_wan"], abs=1e-6)
    assert column(ws, "价格（万元/亩）")[-1] == pytest.approx(p["amount_wan"].sum() / p["quota_mu"].sum())
    # every pairing row links to its agreement sheet
    links = [ws.cell(row=r, column=header_row(ws).index("协议表") + 1) for r in range(3, 3 + len(p))]
    assert [c.value for c in links] == wb.sheetnames[len(FIXED):]
    assert all(c.hyperlink is not None and c.hyperlink.location.startswith("'协议-") for c in links)
    ws = wb["县汇总"]
    assert column(ws, "代码")[-1] == "合计"
    assert column(ws, "调出（亩）")[-1] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    assert column(ws, "流转收益（万元）")[-1] == pytest.approx(result.totals["proceeds_wan"], abs=1e-6)
    reasons = column(ws, "说明")[:-1]
    assert all(isinstance(r, str) and r for r in reasons)  # every county explained
    ws = wb["台账"]
    assert column(ws, "流出（亩）")[-1] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    assert column(ws, "流入（亩）")[-1] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    ws = wb["收益分配-县"]
    assert column(ws, "流转收益（万元）")[-1] == pytest.approx(result.totals["proceeds_wan"], abs=1e-4)
    ws = wb["收益分配"]
    assert column(ws, "人数（人）")[-1] == pytest.approx(scn.relocation["persons"].sum())


def test_workbook_has_no_formula_anywhere(baseline_book):
    data, wb = baseline_book
    assert not [(ws.title, c.coordinate) for ws, c in all_cells(wb) if c.data_type == "f"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in zf.read(name).decode("utf-8") and "<f " not in zf.read(name).decode("utf-8")


def test_workbook_audit_sheet(baseline, baseline_book):
    scn, result = baseline
    _, wb = baseline_book
    ws = wb["生成信息"]
    audit = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)}
    from planner import __version__

    assert audit["情景名称"] == scn.name
    assert audit["方案校验码"] == scn.content_hash()
    assert audit["结果对应的方案校验码"].startswith(scn.content_hash()) and "一致" in audit["结果对应的方案校验码"]
    assert audit["规划工具版本"] == f"planner {__version__}"
    assert audit["求解器"].startswith(result.solver)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", audit["生成时间"])
    assert audit["设置 pricing.bargaining_weight"] == "0.5"
    assert audit["设置 rules.objective"] == '"proceeds"'


def test_workbook_comparison_sheets(baseline):
    scn, result = baseline
    other = scn.with_param("pricing", "bargaining_weight", 0.8)
    cmp = compare([scn, other], [result, solve(other)], ["基准", "θ=0.8"])
    wb = open_book(export.workbook_bytes(scn, result, comparison=cmp))
    assert "比较" in wb.sheetnames and "比较-输入" in wb.sheetnames
    ws = wb["比较"]
    assert header_row(ws) == ["指标", "基准", "θ=0.8"]
    kpis = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)}
    assert kpis["配对流转量（亩）"] == pytest.approx(result.totals["quota_matched_mu"])
    assert wb["比较-输入"].cell(row=3, column=4).value == "pricing.bargaining_weight"
    assert not [c for _, c in all_cells(wb) if c.data_type == "f"]


def test_workbook_without_relocation_or_pairings(tmp_path):
    scn = load(write_scenario(tmp_path / "s", counties="code,name,poverty_class,surplus_mu,demand_mu,ceiling_price\n"
                                                       "1,甲,national_key,10,,\n2,乙,none,,5,8\n",
                              toml='[pricing]\nguide_floor = 10.0\n'))
    result = solve(scn)
    assert result.pairings.empty  # the buyer's ceiling is below the guidance floor
    wb = open_book(export.workbook_bytes(scn, result))
    assert wb.sheetnames == ["参数", "配对", "县汇总", "台账", "生成信息"]
    assert column(wb["配对"], "产生县")[0] == "合计"
    led = export.ledger(scn, result)
    assert list(led["code"]) == ["1", "2", "合计"]
    files = export.agreement_files(scn, result)
    assert list(files) == ["index.md"] and "没有推荐配对" in files["index.md"].decode("utf-8-sig")


# --------------------------------------------------------------------------- ledger


def check_ledger(scn, result, led: pd.DataFrame) -> None:
    body, total = led.iloc[:-1], led.iloc[-1]
    assert total["code"] == "合计"
    np.testing.assert_allclose(body["produced_mu"], body["transferred_mu"] + body["remaining_mu"], atol=1e-4)
    assert (body["remaining_mu"] >= 0).all()
    for c in ("produced_mu", "transferred_mu", "remaining_mu", "transferred_wan", "received_mu", "received_wan"):
        assert total[c] == pytest.approx(body[c].sum(), abs=1e-6)
    assert total["produced_mu"] == pytest.approx(total["transferred_mu"] + total["remaining_mu"], abs=1e-4)
    assert total["transferred_mu"] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    assert total["received_mu"] == pytest.approx(result.totals["quota_matched_mu"], abs=1e-6)
    assert total["transferred_wan"] == pytest.approx(result.totals["proceeds_wan"], abs=1e-6)
    assert total["produced_mu"] == pytest.approx(scn.counties["surplus_mu"].fillna(0).sum())
    counties = result.counties.set_index("code")
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    for rec in body.to_dict("records"):
        assert rec["transferred_mu"] == pytest.approx(counties.loc[rec["code"], "sold_mu"], abs=1e-6)
        assert rec["received_mu"] == pytest.approx(counties.loc[rec["code"], "bought_mu"], abs=1e-6)
    for p in result.pairings.to_dict("records"):  # every pairing readable on both sides
        out = body.loc[body["code"] == p["seller_code"], "transferred_to"].item()
        inn = body.loc[body["code"] == p["buyer_code"], "received_from"].item()
        assert names[p["buyer_code"]] in out and names[p["seller_code"]] in inn
        assert f"{p['price_wan_per_mu']:,.2f} 万元/亩" in out


def test_ledger_reconciles_for_the_baseline(baseline):
    scn, result = baseline
    led = export.ledger(scn, result)
    assert list(led.columns) == export.LEDGER_COLUMNS
    check_ledger(scn, result, led)
    # counties that neither produce, want nor move quota are not listed
    assert len(led) - 1 == int(((scn.counties["surplus_mu"].fillna(0) > 0)
                                | (scn.counties["demand_mu"].fillna(0) > 0)).sum())


@pytest.mark.parametrize("seed", [1, 7])
def test_ledger_reconciles_on_a_random_variant(baseline, seed):
    scn, _ = baseline
    rng = np.random.default_rng(seed)
    c = scn.counties.copy()
    c["surplus_mu"] = (c["surplus_mu"] * rng.uniform(0.3, 1.8, len(c))).round(1)
    c["demand_mu"] = (c["demand_mu"] * rng.uniform(0.3, 1.8, len(c))).round(1)
    c["ceiling_price"] = (c["ceiling_price"] * rng.uniform(0.7, 1.3, len(c))).round(2)
    c.loc[rng.random(len(c)) < 0.2, "budget_wan"] = 5000.0
    c.loc[c["code"] == "220102", "poverty_class"] = "none"  # a county with surplus but not allowed to sell
    c.loc[c["code"] == "220102", "surplus_mu"] = 300.0
    variant = Scenario(scn.settings, c, scn.pairs, scn.relocation).with_param("pricing", "bargaining_weight",
                                                                              float(rng.uniform(0, 1)))
    assert not errors(validate_scenario(variant))
    result = solve(variant)
    assert result.status == "optimal"
    led = export.ledger(variant, result)
    check_ledger(variant, result, led)
    row = led[led["code"] == "220102"].iloc[0]
    assert row["remaining_mu"] == 300.0 and "第二条" in row["note"]
    en = export.ledger(variant, result, "en")
    assert en.iloc[-1]["code"] == "TOTAL" and "万元/亩" in " ".join(en["transferred_to"])


def test_ledger_csv_and_view(baseline):
    scn, result = baseline
    view = export.ledger_view(export.ledger(scn, result), "zh")
    assert list(view.columns[:5]) == ["代码", "县（市、区）", "市（州）", "贫困县类别", "节余指标（亩）"]
    assert "国家扶贫开发重点县" in set(view["贫困县类别"])
    data = export.csv_bytes(view)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data


# --------------------------------------------------------------------------- agreements


def test_agreement_covers_articles_9_10_16_17(baseline):
    scn, result = baseline
    p = result.pairings.iloc[0]
    text = export.agreement_markdown(scn, result, p["seller_code"], p["buyer_code"])
    seller = scn.counties.set_index("code").loc[p["seller_code"]]
    buyer = scn.counties.set_index("code").loc[p["buyer_code"]]
    for needle in (seller["name"], seller["prefecture"], buyer["name"], buyer["prefecture"],
                   f"{p['quota_mu']:,.2f} 亩", f"{p['price_wan_per_mu']:,.2f} 万元/亩", f"{p['amount_wan']:,.2f} 万元",
                   "第十六条", "第十七条", "第十一条", "第二十五条", "完成期限", "备案", "省自然资源厅",
                   f"{buyer['prefecture']}人民政府的申请函", "审查意见", "耕地质量等级", "乡级土地利用总体规划图",
                   f"{seller['name']}人民政府出具的同意使用节余指标的承诺函"):
        assert needle in text, needle
    parts = re.findall(r"- \[ \] \*\*第九条（([一二三四五六七])）\*\*", text)
    assert parts == list("一二三四五六七")  # the seven parts of the new-construction plan
    assert text.count("- [ ]") == 5 + 7  # article 10 (1)-(5) and article 9 (1)-(7)
    assert CLAUSE_ZH not in text  # the baseline uses no plan adjustment


def test_plan_adjustment_clause_exactly_when_used(adjusted):
    scn, result = adjusted
    for lang, clause in (("zh", CLAUSE_ZH), ("en", CLAUSE_EN)):
        for p in result.pairings.to_dict("records"):
            text = export.agreement_markdown(scn, result, p["seller_code"], p["buyer_code"], lang)
            if p["plan_adjustment_mu"] > 0:
                assert text.count(clause) == 2, (lang, p)  # section 5 and the commitment letter (article 10(5))
                assert f"{p['plan_adjustment_mu']:,.2f} 亩" in text
            else:
                assert clause not in text, (lang, p)
    # the same in the zip, the workbook's agreement sheets and the pairings sheet
    files = export.agreement_files(scn, result)
    with zipfile.ZipFile(io.BytesIO(export.agreements_zip(scn, result))) as zf:
        # Word for staff (as the command line's agreements folder), each with its Markdown copy, and the index
        assert sorted(zf.namelist()) == sorted([*files, *export.agreement_filenames(result.pairings, ".docx")])
        for name, p in zip(export.agreement_filenames(result.pairings), result.pairings.to_dict("records")):
            text = zf.read(name).decode("utf-8-sig")
            assert (CLAUSE_ZH in text) == (p["plan_adjustment_mu"] > 0), name
    wb = open_book(export.workbook_bytes(scn, result))
    for name, p in zip(export.agreement_sheet_names(result.pairings), result.pairings.to_dict("records")):
        text = " ".join(str(c.value) for row in wb[name].iter_rows() for c in row if c.value is not None)
        assert (CLAUSE_ZH in text) == (p["plan_adjustment_mu"] > 0), name
    notes = column(wb["配对"], "备注")[:-1]
    assert [("第十条（五）" in (n or "")) for n in notes] == [v > 0 for v in result.pairings["plan_adjustment_mu"]]
    led = export.ledger(scn, result)
    assert led.loc[led["code"] == "001", "plan_adjustment_mu"].item() == pytest.approx(30.0)


def test_workbook_leaves_out_agreement_sheets_beyond_the_limit(adjusted):
    scn, result = adjusted
    wb = open_book(export.workbook_bytes(scn, result, max_agreement_sheets=len(result.pairings) - 1))
    assert not [n for n in wb.sheetnames if n.startswith("协议-")]
    assert set(column(wb["配对"], "协议表")) == {None}
    ws = wb["生成信息"]
    audit = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)}
    assert "ZIP" in audit["协议表"]
    wb = open_book(export.workbook_bytes(scn, result, max_agreement_sheets=len(result.pairings)))
    assert len([n for n in wb.sheetnames if n.startswith("协议-")]) == len(result.pairings)


def test_agreement_for_an_unknown_pairing_raises(baseline):
    scn, result = baseline
    with pytest.raises(KeyError):
        export.agreement_markdown(scn, result, "220102", "220382")


def test_agreement_files_names_and_encoding(baseline):
    scn, result = baseline
    files = export.agreement_files(scn, result, "en")
    names = export.agreement_filenames(result.pairings)
    assert list(files) == names + ["index.md"]
    assert all(re.fullmatch(r"\d{2}_[0-9A-Za-z_-]+\.md", n) for n in names)
    for data in files.values():
        assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n\n" not in data.replace(b"\r\n", b"")
    index = files["index.md"].decode("utf-8-sig")
    assert all(n in index for n in names)
    assert "Party A" in files[names[0]].decode("utf-8-sig")


def test_markdown_escapes_county_names():
    assert export.md_escape("*粗*_[链接](x)<b>$x$|") == r"\*粗\*\_\[链接\](x)\<b\>\$x\$\|"
    assert export.md_escape("a\nb") == "a b"


def test_agreement_sheet_names_are_valid_and_unique():
    long = "前郭尔罗斯蒙古族自治县" * 3
    p = pd.DataFrame({"seller_code": ["1", "1", "2", "3", "4"], "buyer_code": ["9", "8", "9", "9", "9"],
                      "seller_name": [long, long, "a[b]:c*?/\\", "'引号'", "X"],
                      "buyer_name": ["南关区", "南关区", "y", "z", "审计"]})
    names = export.agreement_sheet_names(p)
    assert len(set(n.lower() for n in names)) == len(names) == 5
    for n in names:
        assert len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) and not n.startswith("'") and not n.endswith("'")
    assert names[1].endswith("~2")
    wb = openpyxl.Workbook()
    for n in names:
        wb.create_sheet(n)  # openpyxl accepts them all


# --------------------------------------------------------------------------- formula-like county names


def test_formula_names_validate_and_export_safely(evil, tmp_path):
    folder, scn = evil
    assert list(scn.counties["name"]) == list(EVIL.values())
    result = solve(scn)
    assert len(result.pairings) >= 2
    # CSV: every such cell gets an apostrophe, the text is kept
    for df in (result.pairings, export.ledger(scn, result), export.ledger_view(export.ledger(scn, result), "zh")):
        rows = list(csv.reader(io.StringIO(export.csv_bytes(df).decode("utf-8-sig"))))
        cells = [c for r in rows for c in r]
        assert not [c for c in cells if c[:1] and c[:1] in "=+-@" and not _is_number(c)], cells
    text = export.csv_bytes(result.pairings).decode("utf-8-sig")
    assert "'" + EVIL["001"].replace('"', '""') in text and "'" + EVIL["002"] in text
    # Workbook: string cells holding the exact names, quote-prefixed; no formula anywhere
    data = export.workbook_bytes(scn, result)
    wb = open_book(data)
    formulas = [(ws.title, c.coordinate) for ws, c in all_cells(wb) if c.data_type == "f"]
    assert not formulas
    hits = [c for _, c in all_cells(wb) if isinstance(c.value, str) and c.value in EVIL.values()]
    assert {c.value for c in hits} == set(EVIL.values())
    assert all(c.data_type == "s" and c.quotePrefix for c in hits)
    prefectures = [c for _, c in all_cells(wb) if c.value in ("=市", "@市", "+市", "-市")]
    assert prefectures and all(c.data_type == "s" for c in prefectures)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in zf.read(name).decode("utf-8")
    # agreements name the counties as typed
    p = result.pairings.iloc[0]
    md = export.agreement_markdown(scn, result, p["seller_code"], p["buyer_code"])
    assert export.md_escape(p["seller_name"]) in md


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_csv_neutralisation_is_exact_and_reversible():
    from planner.export import safe_cell, unsafe_cell

    for text in ("=x", "+x", "-x", "@x", "'=x", "''@x", "-", "-inf", "=1+1", "'plain", "plain", "-5", "+3.5",
                 "-2.5e-3", "0"):
        assert unsafe_cell(safe_cell(text)) == text
    assert [safe_cell(t) for t in ("=x", "'=x", "-5", "-inf", "'plain")] == ["'=x", "''=x", "-5", "'-inf", "'plain"]
    data = export.csv_bytes(pd.DataFrame({"=1+1": ["=2", -3.0, "-3"], "b": ["'=x", None, 1.5]}))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["'=1+1", "b"], ["'=2", "''=x"], ["-3", ""], ["-3", "1.5"]]  # headers escaped once


def test_scenario_folder_with_formula_names_round_trips(evil, tmp_path):
    _, scn = evil
    files = scenario_files(scn)
    counties = files["counties.csv"].decode("utf-8-sig")
    assert "'=HYPERLINK" in counties and "'@SUM" in counties and "'+1+1丙区" in counties and "'-2-丁区" in counties
    assert "'=市" in counties
    out = tmp_path / "copy"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    again = load(out)
    assert list(again.counties["name"]) == list(EVIL.values())
    assert again.content_hash() == scn.content_hash()
    raw = read_folder(out).tables["counties"]  # the raw reader already undoes the apostrophe
    assert raw.loc[0, "name"] == EVIL["001"]
    # negative numbers are never prefixed, so they stay numbers
    neg = scn.with_param("pricing", "guide_floor", 10.0)
    neg.counties.loc[0, "lat"] = -12.5
    assert ",-12.5," in scenario_files(neg)["counties.csv"].decode("utf-8-sig")


def test_cli_with_formula_names(evil, tmp_path):
    folder, _ = evil
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("pairings.csv", "counties.csv", "ledger.csv"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        cells = [c for r in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in r]
        assert not [c for c in cells if c[:1] and c[:1] in "=+-@" and not _is_number(c)], (name, cells)
    wb = openpyxl.load_workbook(out / "workbook.xlsx")
    assert not [c for _, c in all_cells(wb) if c.data_type == "f"]


# --------------------------------------------------------------------------- command line


def test_cli_writes_workbook_ledger_and_agreements(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "planner", "solve", str(BASELINE), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scn = load(BASELINE)
    result = solve(scn)
    # the existing files keep their columns exactly, followed by the audit record's columns
    audit_cols = [en for _, en in export.AUDIT_COLUMNS.values()]
    pairings = out.joinpath("pairings.csv").read_bytes().decode("utf-8-sig").splitlines()[0].split(",")
    assert pairings == list(result.pairings.columns) + audit_cols
    for name in ("counties.csv", "summary.json", "proceeds.csv", "workbook.xlsx", "ledger.csv", "lots.csv",
                 "ledger_counties.csv"):
        assert (out / name).is_file(), name
    # with lots, ledger.csv is the lot ledger and the county ledger is ledger_counties.csv
    led = list(csv.DictReader(io.StringIO(out.joinpath("ledger_counties.csv").read_bytes().decode("utf-8-sig"))))
    assert list(led[0]) == export.LEDGER_COLUMNS + audit_cols and led[-1]["code"] == "合计"
    assert float(led[-1]["transferred_mu"]) == pytest.approx(result.totals["quota_matched_mu"], abs=1e-5)
    mds = sorted(p.name for p in (out / "agreements").glob("*.md"))
    assert mds == sorted(export.agreement_filenames(result.pairings) + ["index.md"])
    wb = openpyxl.load_workbook(out / "workbook.xlsx")
    assert wb.sheetnames[:len(FIXED)] == FIXED
    # a second run into the same folder with fewer pairings leaves no stale agreement behind
    small = write_scenario(tmp_path / "small")
    proc = subprocess.run([sys.executable, "-m", "planner", "solve", str(small), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = len(solve(load(small)).pairings)
    assert len(list((out / "agreements").glob("*.md"))) == n + 1


# --------------------------------------------------------------------------- every CSV goes through csv_bytes


def test_no_csv_is_written_around_csv_bytes():
    """App and command line write CSV only through planner.csvio.csv_bytes (BOM, CRLF, formula-safe)."""
    sources = [*sorted((ROOT / "planner").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py")),
               *sorted(ROOT.glob("app*.py")), *sorted(ROOT.glob("*_views.py")), *sorted((ROOT / "ui").rglob("*.py"))]
    allowed_writer = {"csvio.py", "uploads.py"}  # uploads: an in-memory conversion of Excel sheets for parsing
    offenders = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        if ".to_csv(" in text:
            offenders.append(f"{path.name}: to_csv")
        if "csv.writer(" in text and path.name not in allowed_writer:
            offenders.append(f"{path.name}: csv.writer")
    assert not offenders, offenders


# --------------------------------------------------------------------------- the Export page


def test_export_page_offers_the_documents():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/9_export.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = {b.key: b for b in at.get("download_button")}
    assert list(buttons) == ["export_pairings", "export_counties", "export_ledger", "export_workbook",
                             "export_report", "export_agreements", "export_scenario"]
    for key in ("export_workbook", "export_report", "export_agreements"):
        assert buttons[key].proto.deferred_file_id  # built when clicked, not on every rerun
    assert not buttons["export_ledger"].proto.disabled
    pick = at.selectbox(key="export_agreement_pick")
    assert len(pick.options) == len(solve(load(BASELINE)).pairings)
    previews = [m.value for m in at.markdown if m.value.startswith("#### 节余指标流转协议要点")]
    assert len(previews) == 1 and "申请材料清单" in previews[0]
    pick.set_value(3).run()
    assert not at.exception
    second = [m.value for m in at.markdown if m.value.startswith("#### 节余指标流转协议要点")]
    assert second and second[0] != previews[0]
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert any(m.value.startswith("#### Surplus quota transfer agreement") for m in at.markdown)
    assert [b.label for b in at.get("download_button")][2:6] == ["Download ledger (CSV)", "Download workbook (Excel)",
                                                                 "Download report (Word)", "Download agreements (ZIP)"]


def test_export_page_report_is_the_command_lines_word_report():
    """The Export page offered no Word report and Markdown-only agreements (found trying the app as a user): staff
    brief and file in Word. The report button builds the same report.docx as `solve`, map included."""
    import docx

    from ui.views.export import _report_data

    scn = load(BASELINE)
    result = solve(scn)
    data = _report_data(scn, result, None, "zh")()
    doc = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert scn.name in text and "推荐配对" in text
    assert doc.inline_shapes, "the map of the pairings"
    en = docx.Document(io.BytesIO(_report_data(scn, result, None, "en")()))
    assert any("pairing" in p.text.lower() for p in en.paragraphs)


# --------------------------------------------------------------------------- issue 11: the right words

WRONG_WORDS = re.compile("出让县|出让|购入|结余|国土资源|农户资金池|农户收益|农户现金|审计")
POLICY_TITLES = ("《吉林省运用城乡建设用地增减挂钩政策支持脱贫攻坚实施办法》",)


def test_document_locale_files_use_the_right_words():
    """产生县/使用县 (调出/调入), 剩余, 自然资源, 方案校验码/生成信息, 可分配给搬迁群众的资金: in every document label
    (export, fields, proceeds), Chinese and English."""
    import json

    for part in ("export", "fields", "proceeds"):
        zh = json.loads((ROOT / f"planner/locales/zh.{part}.json").read_text(encoding="utf-8"))
        en = json.loads((ROOT / f"planner/locales/en.{part}.json").read_text(encoding="utf-8"))
        for key, value in zh.items():
            for title in POLICY_TITLES:
                value = value.replace(title, "")
            assert not WRONG_WORDS.findall(value), (part, key, value)
        for key, value in en.items():
            assert not re.search(r"land and resources|household pool|household money|\baudit\b", value, re.I), \
                (part, key, value)
    fields = json.loads((ROOT / "planner/locales/zh.fields.json").read_text(encoding="utf-8"))
    assert fields["field.household_wan"] == "可分配给搬迁群众的资金（万元）"
    assert fields["field.remaining_mu"] == "剩余（亩）" and fields["field.seller_name"] == "产生县"
    for f in ("deal", "year", "reclaimed_grade", "occupied_grade", "quality_check"):
        assert export.header(f, "zh") != f and export.header(f, "en") != f, f  # the pairings' new columns
    en = json.loads((ROOT / "planner/locales/en.fields.json").read_text(encoding="utf-8"))
    assert en["field.household_wan"] == "Funds allocable to relocated households (万元)"


def test_baseline_documents_use_the_right_words(baseline, baseline_book):
    scn, result = baseline
    _, wb = baseline_book
    texts = {f"sheet {ws.title}": " ".join(str(c.value) for r in ws.iter_rows() for c in r if c.value is not None)
             for ws in wb}
    texts.update({n: d.decode("utf-8-sig") for n, d in export.agreement_files(scn, result).items()})
    texts["ledger"] = export.csv_bytes(export.ledger_view(export.ledger(scn, result), "zh")).decode("utf-8-sig")
    for name, text in texts.items():
        for title in POLICY_TITLES:
            text = text.replace(title, "")
        assert not WRONG_WORDS.findall(text), (name, sorted(set(WRONG_WORDS.findall(text))))
    assert "剩余（亩）" in texts["ledger"]


def test_workbook_pairings_sheet_shows_grades_quality_and_deals(adjusted):
    scn, result = adjusted
    wb = open_book(export.workbook_bytes(scn, result))
    ws = wb["配对"]
    p = result.pairings.to_dict("records")
    assert column(ws, "复垦耕地质量等别")[:-1] == [str(int(r["reclaimed_grade"])) for r in p]
    assert column(ws, "建新占用耕地等别")[:-1] == [str(int(r["occupied_grade"])) if r["occupied_grade"] == r[
        "occupied_grade"] else None for r in p]
    checks = column(ws, "质量核验")[:-1]
    notes = column(ws, "备注")[:-1]
    for r, check, note in zip(p, checks, notes):
        assert ("不符合第四条（二）" in check) == (r["quality_check"] == "worse")
        assert ("复垦耕地质量低于建新占用耕地，不符合第四条（二）占补数量质量双平衡要求" in (note or "")) == (
            r["quality_check"] == "worse")
        assert ("等别缺失，未能核验" in (note or "")) == (r["quality_check"] == "unchecked")
    assert "协议状态" in header_row(ws)
    gen = wb["生成信息"]
    rec = {gen.cell(row=r, column=1).value: gen.cell(row=r, column=2).value for r in range(3, gen.max_row + 1)}
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", rec["生成日期"]) and rec["生成时间"].endswith("+08:00")


def test_proceeds_page_says_what_the_money_is_for():
    from planner.i18n import t

    zh, en = t("proceeds.use_note", "zh"), t("proceeds.use_note", "en")
    assert "不是直接发给农户的现金" in zh and "第十八条" in zh and "财综〔2016〕36 号" in zh and "分配和使用" in zh
    assert "not cash" in en and "article 18" in en
    assert "use_note" in (ROOT / "ui/views/proceeds.py").read_text(encoding="utf-8")
    assert t("proceeds.kpi.household", "zh") == "可分配给搬迁群众的资金（万元）"
    assert "第二十二条" not in t("proceeds.params_title", "zh")  # the collective share is a planning choice
