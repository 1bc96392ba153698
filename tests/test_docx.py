"""Word outputs (DESIGN section 5): the plan report and one agreement per pairing, opened with python-docx as Word
would read them; East Asian text styled with a CJK font."""
from __future__ import annotations

import io
import json
import re

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from conftest import BASELINE, ROOT, TINY_RELOCATION, TINY_TOML, write_scenario
from planner import export, load_checked, solve
from planner.validate import errors

ADJ_TOML = TINY_TOML.replace('quality_rule = "off"', 'quality_rule = "off"\nallow_plan_adjustment = true')
ADJ_COUNTIES = (
    "code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,"
    "budget_wan,construction_headroom_mu,plan_adjustable_mu,occupied_quality_grade\n"
    "001,甲县,甲市,national_key,100,5,12,,,,,30,\n002,乙县,甲市,provincial,50,6,,,,,,,\n"
    "101,丙区,乙市,none,,,,120,30,,50,,4\n102,丁区,乙市,none,,,,40,20,600,,,\n")


def load(folder):
    scn, problems = load_checked(folder)
    assert scn is not None and not errors(problems)
    return scn


@pytest.fixture(scope="module")
def baseline():
    scn = load(BASELINE)
    return scn, solve(scn)


def doc_text(data: bytes) -> tuple[docx.document.Document, str]:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells]
    return d, "\n".join(parts)


def test_agreement_docx_has_the_pairing(baseline):
    scn, result = baseline
    p = result.pairings.iloc[0]
    for lang in ("zh", "en"):
        d, text = doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"], lang))
        for needle in (p["seller_name"], p["buyer_name"], f"{p['quota_mu']:,.2f} 亩",
                       f"{p['price_wan_per_mu']:,.2f} 万元/亩", f"{p['amount_wan']:,.2f} 万元"):
            assert needle in text, (lang, needle)
    assert d.paragraphs[0].style.name == "Heading 1"
    assert "申请材料清单" in doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"]))[1]
    with pytest.raises(KeyError):
        export.agreement_docx_bytes(scn, result, "220102", "220382")


def test_agreement_docx_matches_the_markdown_blocks(baseline):
    """Word, Markdown and worksheet are renderings of the same blocks: the same sentences in the same order."""
    scn, result = baseline
    p = result.pairings.iloc[1]
    gen = "2024-01-01T00:00:00+08:00"
    md = export.agreement_markdown(scn, result, p["seller_code"], p["buyer_code"], "zh", gen)
    d, _ = doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"], "zh", gen))
    lines = [p.text for p in d.paragraphs if p.text]
    md_plain = [re.sub(r"^(#+ |\s*- \[ \] |- )", "", x).replace("**", "") for x in md.splitlines() if x]
    assert len(lines) == len(md_plain)
    assert [x.replace("☐ ", "") for x in lines] == md_plain


def test_plan_adjustment_clause_in_the_docx_exactly_when_used(tmp_path):
    scn = load(write_scenario(tmp_path / "s", toml=ADJ_TOML, counties=ADJ_COUNTIES, relocation=TINY_RELOCATION))
    result = solve(scn)
    files = export.agreement_docx_files(scn, result)
    assert list(files) == export.agreement_filenames(result.pairings, ".docx")
    for data, p in zip(files.values(), result.pairings.to_dict("records")):
        _, text = doc_text(data)
        assert (export.PLAN_ADJUSTMENT_CLAUSE["zh"] in text) == (p["plan_adjustment_mu"] > 0)


def test_docx_styles_name_a_cjk_font(baseline):
    scn, result = baseline
    p = result.pairings.iloc[0]
    for data in (export.report_docx_bytes(scn, result),
                 export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"])):
        d = docx.Document(io.BytesIO(data))
        for name in ("Normal", "Heading 1", "Heading 2"):
            fonts = d.styles[name].element.rPr.find(qn("w:rFonts"))
            assert fonts.get(qn("w:eastAsia")) == "宋体", name
            assert fonts.get(qn("w:eastAsiaTheme")) is None, name
        assert d.sections[0].page_width.cm == pytest.approx(21.0, abs=0.01)  # A4


def test_report_has_headline_pairings_reasons_proceeds_and_ledger(baseline):
    scn, result = baseline
    d, text = doc_text(export.report_docx_bytes(scn, result))
    assert scn.name in text and scn.content_hash() in text
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert [h[:2] for h in headings] == ["一、", "二、", "三、", "四、", "五、", "六、"]
    assert "流转收益分配" in headings[3] and "台账" in headings[4]
    p = result.pairings
    pairs = d.tables[1]
    assert len(pairs.rows) == len(p) + 2  # header, pairings, total
    heads = [c.text for c in pairs.rows[0].cells]  # a plan by year has a year column before the quota
    assert pairs.rows[-1].cells[heads.index("流转指标（亩）")].text == f"{p['quota_mu'].sum():,.2f}"
    for rec in p.to_dict("records"):
        assert rec["seller_name"] in text and rec["buyer_name"] in text
    assert "说明" in [c.text for c in d.tables[2].rows[0].cells]  # per-county reasons
    assert d.tables[2].rows[1].cells[-1].text  # every listed county has its reason
    ledger_total = d.tables[4].rows[-1].cells
    assert ledger_total[0].text == "合计"
    en = doc_text(export.report_docx_bytes(scn, result, lang="en"))[1]
    assert "Headline figures" in en and "Quota (亩)" in en


def test_report_without_pairings_or_relocation(tmp_path):
    scn = load(write_scenario(tmp_path / "s", counties="code,name,poverty_class,surplus_mu,demand_mu,ceiling_price\n"
                                                        "1,甲,national_key,10,,\n2,乙,none,,5,8\n",
                              toml='[pricing]\nguide_floor = 10.0\n'))
    result = solve(scn)
    assert result.pairings.empty
    d, text = doc_text(export.report_docx_bytes(scn, result))
    assert "没有推荐配对" in text
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert len(headings) == 5 and headings[3].startswith("四、") and "台账" in headings[3]
    assert export.agreement_docx_files(scn, result) == {}


def test_control_characters_and_formula_names_survive(tmp_path):
    counties = ("code,name,prefecture,poverty_class,surplus_mu,demand_mu,ceiling_price\n"
                "001,\"=HYPERLINK(\"\"x\"\")<b>&\",甲市,national_key,100,,\n101,丙区\x07,乙市,none,,50,30\n")
    scn = load(write_scenario(tmp_path / "s", counties=counties))
    result = solve(scn)
    p = result.pairings.iloc[0]
    _, text = doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"]))
    assert '=HYPERLINK("x")<b>&' in text
    doc_text(export.report_docx_bytes(scn, result))


def test_write_agreements_replaces_stale_documents(tmp_path, baseline):
    scn, result = baseline
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "99_old_pair.docx").write_bytes(b"stale")
    (folder / "notes.txt").write_text("kept", encoding="utf-8")
    export.write_agreements(scn, result, folder)
    names = {p.name for p in folder.iterdir()}
    assert "99_old_pair.docx" not in names and "notes.txt" in names
    assert {n for n in names if n.endswith(".docx")} == set(export.agreement_filenames(result.pairings, ".docx"))


def test_locale_keys_agree_and_texts_live_only_there():
    """Every agreement/ledger/workbook/report sentence exists in both languages, and the modules that build them
    carry no Chinese sentence of their own (one copy of the text, in the locale files)."""
    zh = json.loads((ROOT / "planner/locales/zh.export.json").read_text(encoding="utf-8"))
    en = json.loads((ROOT / "planner/locales/en.export.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    fz = json.loads((ROOT / "planner/locales/zh.fields.json").read_text(encoding="utf-8"))
    fe = json.loads((ROOT / "planner/locales/en.fields.json").read_text(encoding="utf-8"))
    assert set(fz) == set(fe) and all(k.startswith(("field.", "choice.")) for k in fz)
    for name in ("agreements.py", "markdown.py", "docx.py", "headers.py", "workbook.py"):
        code = (ROOT / "planner" / "export" / name).read_text(encoding="utf-8")
        code = re.sub(r'"""[\s\S]*?"""', "", code)  # docstrings may name sheets
        code = "\n".join(line.split("#")[0] for line in code.splitlines())
        han = re.findall(r"[\u4e00-\u9fff]{2,}", code)
        assert set(han) <= {"宋体", "一二三四五六七八九十"}, (name, han)  # a font name; numerals


# --------------------------------------------------------------------------- issue 11: what an official must read

DEAL_PAIRS = "seller_code,buyer_code,agreed_price,agreed_mu,status\n002,102,15,20,signed\n"
HORIZON = "\n[horizon]\nstart_year = 2024\nend_year = 2025\n"
WRONG_WORDS = re.compile("出让县|购入|结余|国土资源|农户资金池|农户收益|审计")
POLICY_TITLE = "《吉林省运用城乡建设用地增减挂钩政策支持脱贫攻坚实施办法》"
WORSE = "复垦耕地质量低于建新占用耕地，不符合第四条（二）占补数量质量双平衡要求"
UNCHECKED = "等别缺失，未能核验"
DEAL = "已签订/已备案协议，按协议数量和价格纳入方案"
GEN = "2023-12-31T20:00:00+00:00"  # 2024-01-01 04:00 in Beijing


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """quality_rule = "off": 001 (grade 5) -> 101 (grade 4) is worse and uses 30 亩 of plan adjustment; 102 has no
    grade (unchecked); 002 -> 102 is a signed deal of 20 亩 at 15 万元/亩."""
    scn = load(write_scenario(tmp_path_factory.mktemp("q") / "s", toml=ADJ_TOML, counties=ADJ_COUNTIES,
                              pairs=DEAL_PAIRS, relocation=TINY_RELOCATION))
    result = solve(scn)
    p = result.pairings
    assert scn.param("rules", "quality_rule") == "off"
    assert set(p["quality_check"]) == {"worse", "unchecked"} and p["deal"].sum() == 1
    assert (p["plan_adjustment_mu"] > 0).sum() == 1
    return scn, result


def agreements(scn, result, lang="zh") -> list[tuple[dict, str]]:
    files = export.agreement_docx_files(scn, result, lang, generated=GEN)
    return [(p, doc_text(data)[1]) for p, data in zip(result.pairings.to_dict("records"), files.values())]


def grade_text(g) -> str:
    return f"{int(g)} 等" if g == g else "未填写"


def test_agreement_shows_both_grades_and_flags_a_worse_or_unchecked_pair(checked):
    scn, result = checked
    for p, text in agreements(scn, result):
        assert f"复垦耕地质量等别：{grade_text(p['reclaimed_grade'])}" in text, text
        assert f"建新占用耕地等别：{grade_text(p['occupied_grade'])}" in text
        assert (WORSE in text) == (p["quality_check"] == "worse")
        assert (UNCHECKED in text) == (p["quality_check"] == "unchecked")
        # never said as if acceptable: every mention of the worse grade is the non-compliance flag
        assert text.count("复垦耕地质量低于建新占用耕地") == text.count(WORSE)
    for p, text in agreements(scn, result, "en"):
        assert ("NOT COMPLIANT" in text) == (p["quality_check"] == "worse")


def test_report_marks_grades_worse_pairs_and_deals(checked):
    scn, result = checked
    d, text = doc_text(export.report_docx_bytes(scn, result, generated=GEN))
    pairs = d.tables[1]
    heads = [c.text for c in pairs.rows[0].cells]
    for h in ("复垦耕地质量等别", "建新占用耕地等别", "质量核验", "协议状态"):
        assert h in heads, heads
    body = [[c.text for c in r.cells] for r in pairs.rows[1:-1]]
    for row, p in zip(body, result.pairings.to_dict("records")):
        assert row[heads.index("复垦耕地质量等别")] == str(int(p["reclaimed_grade"]))
        assert (row[heads.index("协议状态")] == "已签订/已备案") == bool(p["deal"])
        assert ("不符合第四条（二）" in row[heads.index("质量核验")]) == (p["quality_check"] == "worse")
    assert WORSE in text and UNCHECKED in text and DEAL in text


def test_a_deal_is_marked_in_its_agreement_only(checked):
    scn, result = checked
    for p, text in agreements(scn, result):
        assert (DEAL in text) == bool(p["deal"]), p
    md = export.agreement_files(scn, result)["index.md"].decode("utf-8-sig")
    assert md.count("已签订/已备案") == 1


def test_every_document_states_the_exact_plan_adjustment(checked):
    scn, result = checked
    p = result.pairings[result.pairings["plan_adjustment_mu"] > 0].iloc[0]
    x = f"{p['plan_adjustment_mu']:,.2f}"
    sentence = f"调减{p['seller_name']}建设用地总规模 {x} 亩、相应调增{p['buyer_name']} {x} 亩"
    assert x == "30.00"
    texts = {"agreement.docx": doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"],
                                                                    p["buyer_code"]))[1],
             "agreement.md": export.agreement_markdown(scn, result, p["seller_code"], p["buyer_code"]),
             "report.docx": doc_text(export.report_docx_bytes(scn, result))[1],
             "ledger": " ".join(export.ledger(scn, result)["note"])}
    wb = openpyxl.load_workbook(io.BytesIO(export.workbook_bytes(scn, result)))
    texts["workbook"] = " ".join(str(c.value) for ws in wb for r in ws.iter_rows() for c in r if c.value)
    for name, text in texts.items():
        assert sentence in text, name
    assert texts["agreement.docx"].count(sentence) == 2  # the clause and the commitment letter (article 10(五))
    assert "reduce the total construction land of 甲县 by 30.00 亩 and correspondingly increase that of 丙区 by " \
           "30.00 亩" in doc_text(export.agreement_docx_bytes(scn, result, p["seller_code"], p["buyer_code"], "en"))[1]
    for q in result.pairings[result.pairings["plan_adjustment_mu"] == 0].to_dict("records"):
        assert "调减" not in doc_text(export.agreement_docx_bytes(scn, result, q["seller_code"], q["buyer_code"]))[1]


def test_dates_in_beijing_time_and_signature_lines(checked):
    scn, result = checked
    for p, text in agreements(scn, result):
        assert "生成日期：2024年1月1日" in text and "2023" not in text
        assert text.count("法定代表人或委托代理人（签字）：") == 2
        assert f"甲方（盖章）：{p['seller_name']}人民政府" in text and f"乙方（盖章）：{p['buyer_name']}人民政府" in text
        assert text.count("日期：____年__月__日") == 2
    _, en = agreements(scn, result, "en")[0]
    assert "1 January 2024" in en and en.count("Legal representative or authorised agent (signature): ") == 2
    report = doc_text(export.report_docx_bytes(scn, result, generated=GEN))[1]
    assert "生成日期 2024年1月1日" in report and "T20:00" not in report
    assert re.search(r"生成日期 \d{4}年\d{1,2}月\d{1,2}日", doc_text(export.report_docx_bytes(scn, result))[1])


def test_a_plan_by_year_shows_the_year(tmp_path):
    scn = load(write_scenario(tmp_path / "s", toml=ADJ_TOML + HORIZON, counties=ADJ_COUNTIES, pairs=DEAL_PAIRS))
    result = solve(scn)
    assert "year" in result.pairings
    for p, text in agreements(scn, result):
        assert f"流转年度：{p['year']} 年" in text and f"（{p['year']} 年度）" in text
    d, _ = doc_text(export.report_docx_bytes(scn, result))
    heads = [c.text for c in d.tables[1].rows[0].cells]
    assert "年度" in heads
    assert [r.cells[heads.index("年度")].text for r in d.tables[1].rows[1:-1]] == \
        [str(y) for y in result.pairings["year"]]


def test_no_wrong_words_in_the_documents(checked):
    """产生县/使用县 not 出让/购入, 剩余 not 结余, 自然资源 not 国土资源, no audit wording, no household pool: in
    every agreement (Word, Markdown), the report and the workbook (issue 11 item 4); the policy's title is quoted."""
    scn, result = checked
    texts = {name: doc_text(data)[1] for name, data in export.agreement_docx_files(scn, result).items()}
    texts.update({name: data.decode("utf-8-sig") for name, data in export.agreement_files(scn, result).items()})
    texts["report"] = doc_text(export.report_docx_bytes(scn, result))[1]
    texts["report_en"] = doc_text(export.report_docx_bytes(scn, result, lang="en"))[1]
    for name, text in texts.items():
        assert not WRONG_WORDS.findall(text.replace(POLICY_TITLE, "")), (name, WRONG_WORDS.findall(text))
    assert POLICY_TITLE in texts["01_001_101.docx"]
    assert "省自然资源厅" in texts["01_001_101.docx"] and "乙市自然资源局" in texts["01_001_101.docx"]
    assert "可分配给搬迁群众的资金" in texts["report"] and "funds allocable to relocated households" in \
        texts["report_en"].lower()


# --------------------------------------------------------------------------- written fast, read the same


def test_agreement_package_is_a_valid_zip_with_every_part(baseline):
    """Agreements are assembled from members deflated once (export/zippack.py): the zip checks out, holds the same
    members as the package python-docx writes, and the shared ones byte for byte."""
    import zipfile

    from planner.export.docx import _AgreementTemplate, _bytes, _document

    scn, result = baseline
    files = export.agreement_docx_files(scn, result)
    reference = zipfile.ZipFile(io.BytesIO(_bytes(_document("x"))))
    for data in list(files.values())[:3]:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            assert zf.namelist() == reference.namelist()
            for name in ("word/styles.xml", "word/theme/theme1.xml", "[Content_Types].xml"):
                assert zf.read(name) == reference.read(name)
    assert _AgreementTemplate().render([], "zh")  # an empty sheet is still a package


def _table_with_python_docx(doc, fields, rows, lang, total=None):
    """The report table as python-docx's own API writes it (what export.docx._table writes as text, faster)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.shared import Pt, Twips

    from planner.export.docx import DECIMALS, _clean, _column_twips, fixed, header, kind

    table = doc.add_table(rows=1, cols=len(fields))
    table.style = doc.styles["Table Grid"]
    table.autofit = False
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    shown_rows = []
    for rec in rows + ([total] if total else []):
        shown_rows.append([])
        for f in fields:
            value = rec.get(f)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            shown_rows[-1].append(("" if value is None else fixed(value, DECIMALS.get(kind(f), 2)) if numeric
                                   else _clean(value), numeric))
    for col, twips in zip(table.columns, _column_twips([_clean(header(f, lang)) for f in fields], shown_rows)):
        col.width = Twips(twips)
    for cell, f, col in zip(table.rows[0].cells, fields, table.columns):
        cell.text = ""
        cell.width = col.width
        run = cell.paragraphs[0].add_run(_clean(header(f, lang)))
        run.bold, run.font.size = True, Pt(9)
    for rec, bold in [(r, False) for r in rows] + ([(total, True)] if total else []):
        for cell, f in zip(table.add_row().cells, fields):
            value = rec.get(f)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            shown = "" if value is None else fixed(value, DECIMALS.get(kind(f), 2)) if numeric else _clean(value)
            run = cell.paragraphs[0].add_run(shown)
            run.bold, run.font.size = bold, Pt(9)
            if numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT


def test_report_table_is_what_python_docx_writes():
    from lxml import etree

    from planner.export.docx import _document, _table

    fields = ["name", "quota_mu", "seq", "reason"]
    rows = [{"name": "甲<&>县", "quota_mu": 1234.5, "seq": 3, "reason": " 前\t后\r\n两行 "},
            {"name": None, "quota_mu": None, "seq": 2, "reason": True}, {"name": "\x07乙", "quota_mu": -0.004}]
    total = {"name": "合计", "quota_mu": 1234.5}
    ours, theirs = _document("x"), _document("x")
    _table(ours, fields, rows, "zh", total=total)
    _table_with_python_docx(theirs, fields, rows, "zh", total=total)
    assert etree.tostring(ours.element.body, method="c14n") == etree.tostring(theirs.element.body, method="c14n")


def test_report_columns_are_as_wide_as_what_they_hold():
    """An amount such as 17,005.04 and a year used to wrap in equal-width columns (seen in the report's pairings
    table): numbers and short entries keep their room on one line, long text shares the rest."""
    from planner.export.docx import TEXT_WIDTH_TWIPS, _column_twips

    titles = ["序号", "年度", "金额（万元）", "质量核验"]
    long_text = "本对较差，使用县总体平衡" * 5
    cells = [[("1", True), ("2019", True), ("17,005.04", True), (long_text, False)],
             [("12", True), ("2020", True), ("1,234,567.89", True), ("符合", False)]]
    seq, year, amount, check = _column_twips(titles, cells)
    assert year == 4 * 90 + 246 and amount == 12 * 90 + 246  # one line each, with the cell's padding
    assert seq == 4 * 90 + 246  # the header's two CJK characters
    assert seq + year + amount + check <= TEXT_WIDTH_TWIPS and check >= TEXT_WIDTH_TWIPS - seq - year - amount - 4
    few = _column_twips(["代码"], [[("220100", False)]])
    assert few == [TEXT_WIDTH_TWIPS]  # a table that fits is spread over the text width


def test_report_has_one_place_for_a_figure(baseline):
    """A figure (PNG) given to the report goes in after the headline figures, the width of the text."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    scn, result = baseline
    with_figure = docx.Document(io.BytesIO(export.report_docx_bytes(scn, result, figure=png)))
    assert len(with_figure.inline_shapes) == 1 and round(with_figure.inline_shapes[0].width.cm, 1) == 16.6
    assert not docx.Document(io.BytesIO(export.report_docx_bytes(scn, result))).inline_shapes
