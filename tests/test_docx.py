"""Word outputs (DESIGN section 5): the plan report and one agreement per pairing, opened with python-docx as Word
would read them; East Asian text styled with a CJK font."""
from __future__ import annotations

import io
import json
import re

import docx
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
    assert pairs.rows[-1].cells[3].text == f"{p['quota_mu'].sum():,.2f}"
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
