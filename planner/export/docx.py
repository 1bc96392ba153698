"""Word documents (.docx) for people: the plan report (DESIGN section 5: scenario, headline figures, pairings,
reasons, proceeds, ledger) and one agreement sheet per pairing, drawn from the same blocks as the Markdown and
worksheet versions.

Styles name a CJK font for East Asian text (w:eastAsia = 宋体) and a Latin font for digits and letters, so Word
and WPS on Chinese Windows render the text without substituting fonts.
"""
from __future__ import annotations

import datetime as dt
import io
import numbers
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd

from planner.export.agreements import CN_NUM, Block, agreement_blocks
from planner.export.common import (Facts, document_date, fixed, grade, is_deal, now, pairing_row, text,
                                   total_price, uses_plan_adjustment)
from planner.export.headers import header, kind
from planner.export.markdown import agreement_filenames, agreement_files
from planner.export.zippack import deflated, dos_stamp, package_bytes
from planner.i18n import choice_label, t

EAST_ASIA_FONT = "宋体"  # SimSun: on every Chinese Windows, and WPS maps it on Linux
LATIN_FONT = "Times New Roman"
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # lxml refuses these in text
DECIMALS = {"int": 0, "per": 4}


def _clean(value) -> str:
    return XML_ILLEGAL.sub("", "" if value is None else str(value))


def _set_fonts(style, size_pt: float | None = None) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style.font.name = LATIN_FONT
    if size_pt:
        style.font.size = Pt(size_pt)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would win over the names below
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), EAST_ASIA_FONT)


def _document(title: str):
    from docx import Document
    from docx.shared import Cm

    from planner import __version__

    doc = Document()
    _set_fonts(doc.styles["Normal"], 10.5)
    for name, size in (("Title", 18), ("Heading 1", 15), ("Heading 2", 12.5), ("Table Grid", None)):
        _set_fonts(doc.styles[name], size)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2.2)
    doc.core_properties.title = _clean(title)
    doc.core_properties.author = f"planner {__version__}"
    return doc


def _heading(doc, value: str, style: str):
    """A paragraph in a heading style, set by style id: python-docx looks names up by a slow XPath search."""
    p = doc.add_paragraph()
    p._p.style = _STYLE_IDS.get(style) or doc.styles[style].style_id
    p.add_run(_clean(value))
    return p


_STYLE_IDS = {"Title": "Title", "Heading 1": "Heading1", "Heading 2": "Heading2"}  # the default template's ids


def _bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


MAX_REPORT_ROWS = 100  # a longer table is no reading for people (and slow in Word): the rest is in the workbook


def _table(doc, fields: list[str], rows: list[dict], lang: str, total: dict | None = None,
           headers: dict[str, str] | None = None) -> None:
    """A grid table with a repeated, bold header row; numbers right-aligned with fixed decimals. Past
    MAX_REPORT_ROWS rows the table stops (its total still covers every row) with a note where the rest is.

    The header row is built with python-docx; the body rows, the same markup python-docx writes for them, are
    written as WordprocessingML text and parsed once (python-docx takes about 2 ms per cell)."""
    left_out = max(0, len(rows) - MAX_REPORT_ROWS)
    rows = rows[:MAX_REPORT_ROWS]
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Pt, Twips

    table = doc.add_table(rows=1, cols=len(fields))
    table.style = doc.styles["Table Grid"]
    table.autofit = False  # the widths below hold in Word as in LibreOffice
    head = table.rows[0]
    head._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeat on every page
    titles = [_clean((headers or {}).get(f) or header(f, lang)) for f in fields]
    body_cells = []  # (text shown, numeric) per cell, row by row
    for rec in rows + ([total] if total else []):
        row = []
        for f in fields:
            value = rec.get(f)
            numeric = isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))
            row.append(("" if value is None else fixed(value, DECIMALS.get(kind(f), 2)) if numeric
                        else _clean(value), numeric))
        body_cells.append(row)
    # Columns as wide as what they hold (an amount such as 17,005.04 must not wrap), within the text width.
    for col, twips in zip(table.columns, _column_twips(titles, body_cells)):
        col.width = Twips(twips)
    for cell, title, col in zip(head.cells, titles, table.columns):
        cell.text = ""
        cell.width = col.width
        run = cell.paragraphs[0].add_run(title)
        run.bold = True
        run.font.size = Pt(9)
    # each body cell as table.add_row() makes it: the width of its grid column (python-docx writes twips)
    cell_props = [f'<w:tcPr><w:tcW w:type="dxa" w:w="{col.w.twips}"/></w:tcPr>' if col.w is not None else ""
                  for col in table._tbl.tblGrid.gridCol_lst]
    body = []
    for i, row in enumerate(body_cells):
        run_props = BOLD_RUN if total and i == len(body_cells) - 1 else PLAIN_RUN
        cells = []
        for props, (shown, numeric) in zip(cell_props, row):
            align = '<w:pPr><w:jc w:val="right"/></w:pPr>' if numeric else ""
            cells.append(f"<w:tc>{props}<w:p>{align}<w:r>{run_props}{_run_content(shown)}</w:r></w:p></w:tc>")
        body.append(f"<w:tr>{''.join(cells)}</w:tr>")
    if body:
        table._tbl.extend(list(parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(body)}</w:tbl>")))
    if left_out:
        doc.add_paragraph(t("report.rows_left_out", lang, shown=MAX_REPORT_ROWS, n=left_out))


TEXT_WIDTH_TWIPS = round((21.0 - 2 * 2.2) / 2.54 * 1440)  # A4 less both margins (see _document)


def _column_twips(titles: list[str], body_cells: list[list[tuple[str, bool]]]) -> list[int]:
    """Column widths in twips: numbers and short entries (a year, a sequence number, an amount such as 17,005.04)
    get the room they need on one line; longer text shares what is left, in proportion to its length. At 9 pt a
    digit or Latin letter takes about half an em (90 twips), a CJK character a whole em; a cell pads 216 twips."""
    half_em, pad, short = 90, 216 + 30, 8

    def width(text: str) -> int:  # in half-ems
        return max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in text.split("\n")), default=0)

    need, rigid = [], []
    for j, title in enumerate(titles):
        body = max([width(row[j][0]) for row in body_cells], default=0)
        numeric = any(row[j][1] for row in body_cells)
        need.append(max(body, min(width(title), 4)) * half_em + pad)  # a header wraps, two CJK to a line at least
        rigid.append(numeric or body <= short)
    fixed = sum(n for n, r in zip(need, rigid) if r)
    flexible = sum(n for n, r in zip(need, rigid) if not r)
    if fixed + flexible <= TEXT_WIDTH_TWIPS or fixed >= TEXT_WIDTH_TWIPS or not flexible:
        scale = TEXT_WIDTH_TWIPS / max(1, fixed + flexible)  # everything fits (or nothing can): share it all out
        return [int(n * scale) for n in need]
    room = (TEXT_WIDTH_TWIPS - fixed) / flexible
    return [n if r else int(n * room) for n, r in zip(need, rigid)]


BOLD_RUN, PLAIN_RUN = '<w:rPr><w:b/><w:sz w:val="18"/></w:rPr>', '<w:rPr><w:b w:val="0"/><w:sz w:val="18"/></w:rPr>'
RUN_BREAKS = re.compile(r"(\t|\r|\n)")


def _run_content(value: str) -> str:
    """A run's text as python-docx writes it: a tab is <w:tab/>, each CR or LF a <w:br/>, the rest <w:t> (space
    preserved when the piece starts or ends with white space)."""
    out = []
    for piece in RUN_BREAKS.split(value):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{xml_escape(piece)}</w:t>")
    return "".join(out)


class _AgreementTemplate:
    """The styled Word package, built once per export with python-docx; each agreement only fills in the body.

    python-docx needs about 0.1 s per document; a national plan has thousands of pairings, so the paragraphs are
    written as WordprocessingML directly (five paragraph shapes, all text XML-escaped) into a copy of the package,
    whose shared members are deflated once (`zippack`)."""

    BODY = "@@BODY@@"
    TITLE = "@@TITLE@@"

    def __init__(self):
        doc = _document(self.TITLE)
        doc.add_paragraph(self.BODY)
        with zipfile.ZipFile(io.BytesIO(_bytes(doc))) as zf:
            parts = {info.filename: zf.read(info.filename) for info in zf.infolist()}
        self.order = list(parts)
        # Every member but the body and the title is the same in each agreement: deflated once, here.
        self.shared = {name: deflated(name, data) for name, data in parts.items()
                       if name not in ("word/document.xml", "docProps/core.xml")}
        self.core = parts["docProps/core.xml"]
        self.stamp = dos_stamp()
        xml = parts["word/document.xml"].decode("utf-8")
        i = xml.index(self.BODY)
        start, end = max(xml.rfind("<w:p>", 0, i), xml.rfind("<w:p ", 0, i)), xml.index("</w:p>", i) + len("</w:p>")
        self.head, self.tail = xml[:start], xml[end:]

    def render(self, blocks: list[Block], lang: str) -> bytes:
        colon = t("agreement.colon", lang)
        body = []
        for bl in blocks:
            if bl.kind in ("title", "heading"):
                body.append(_p([(bl.text, "")], style="Heading1" if bl.kind == "title" else "Heading2"))
            elif bl.kind == "note":
                body.append(_p([(bl.text, '<w:i/><w:color w:val="595959"/>')]))
            elif bl.kind == "field":
                body.append(_p([(bl.label + colon, "<w:b/>"), (bl.text, "")]))
            elif bl.kind == "check":
                bold = "<w:b/>" if bl.level == 1 else ""
                body.append(_p([("☐ ", ""), (bl.label, bold), (" " + bl.text, "")], indent=425 * (bl.level - 1)))
        own = {"word/document.xml": (self.head + "".join(body) + self.tail).encode("utf-8"),
               "docProps/core.xml": self.core.replace(self.TITLE.encode(),
                                                      _esc(blocks[0].text if blocks else "").encode("utf-8"))}
        return package_bytes([self.shared[name] if name in self.shared else deflated(name, own[name])
                              for name in self.order], self.stamp)


def _esc(value) -> str:
    return xml_escape(_clean(value))


def _p(runs: list[tuple[str, str]], style: str = "", indent: int = 0) -> str:
    ppr = (f'<w:pStyle w:val="{style}"/>' if style else "") + (f'<w:ind w:left="{indent}"/>' if indent else "")
    out = [f"<w:p><w:pPr>{ppr}</w:pPr>" if ppr else "<w:p>"]
    for value, rpr in runs:
        out.append(f'<w:r>{f"<w:rPr>{rpr}</w:rPr>" if rpr else ""}<w:t xml:space="preserve">{_esc(value)}</w:t></w:r>')
    return "".join(out) + "</w:p>"


def agreement_docx_bytes(scn, result, seller_code: str, buyer_code: str, lang: str = "zh",
                         generated: str | None = None, facts: Facts | None = None) -> bytes:
    """The agreement sheet of one recommended pairing as a Word document; KeyError for a pairing not in the plan."""
    row = pairing_row(result, seller_code, buyer_code)
    blocks = agreement_blocks(scn, row, lang, text, generated or now(), facts or Facts.of(scn, result.pairings))
    return _AgreementTemplate().render(blocks, lang)


def agreement_docx_files(scn, result, lang: str = "zh", generated: str | None = None,
                         facts: Facts | None = None) -> dict[str, bytes]:
    """One .docx per recommended pairing, named like the Markdown files (01_<seller>_<buyer>.docx)."""
    generated = generated or now()
    facts = facts or Facts.of(scn, result.pairings)
    p = result.pairings
    if not len(p):
        return {}
    template = _AgreementTemplate()
    return {name: template.render(agreement_blocks(scn, row, lang, text, generated, facts), lang)
            for name, row in zip(agreement_filenames(p, ".docx"), p.to_dict("records"))}


STALE = re.compile(r"(index\.md|\d{2,}_[0-9A-Za-z_-]+\.(md|docx))")


def agreement_folder_files(scn, result, lang: str = "zh", generated: str | None = None,
                           facts: Facts | None = None) -> dict[str, bytes]:
    """What an agreements folder holds: one Word document per pairing, its Markdown copy, and index.md."""
    generated = generated or now()
    facts = facts or Facts.of(scn, result.pairings)
    return {**agreement_docx_files(scn, result, lang, generated, facts),
            **agreement_files(scn, result, lang, generated, facts)}


def agreements_zip(scn, result, lang: str = "zh", generated: str | None = None) -> bytes:
    """The agreements folder as a zip (the Export page's download; the command line writes the folder)."""
    buf = io.BytesIO()
    stamp = dt.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in agreement_folder_files(scn, result, lang, generated).items():
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write_agreements(scn, result, folder: Path, lang: str = "zh", facts: Facts | None = None) -> list[Path]:
    """Write agreements/*.docx (one per pairing) and the Markdown versions with index.md. Agreement files of an
    earlier run in the same folder are removed first, so the folder never holds an agreement for a pairing that is
    no longer recommended."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and STALE.fullmatch(old.name):
            old.unlink()
    files = agreement_folder_files(scn, result, lang, facts=facts)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- the plan report

def report_docx_bytes(scn, result, allocation=None, lang: str = "zh", *, report: pd.DataFrame | None = None,
                      generated: str | None = None, facts: Facts | None = None,
                      figure: bytes | None = None) -> bytes:
    """The plan for people: scenario, headline figures, pairings, per-county reasons, proceeds (with relocation
    data) and the ledger. `report` is explain.county_report(scn, result) and `facts` Facts.of(scn,
    result.pairings) when the caller has them already; `figure` (PNG bytes) goes after the headline figures."""
    from planner import __version__
    from planner.export.workbook import county_report_or_blank
    from planner.ledger import ledger

    lang = "en" if lang == "en" else "zh"

    def say(key: str, **kw) -> str:
        return t(f"report.{key}", lang, **kw)

    def mu(value) -> str:
        return t("agreement.quota", lang, quota=fixed(value))

    def numbered(key: str, i: int) -> str:
        return say(key, n=CN_NUM[i] if lang == "zh" else i + 1)

    if allocation is None and len(scn.relocation) and result.has_solution:
        from planner.proceeds import allocate

        allocation = allocate(scn, result.pairings)
    doc = _document(say("title", scenario=scn.name))
    _heading(doc, say("title", scenario=scn.name), "Title")
    if scn.illustrative:  # the baseline's quantities are made up: say so first, in bold (issue 16)
        doc.add_paragraph().add_run(_clean(t("banner.illustrative", lang))).bold = True
    if text(scn.description):
        doc.add_paragraph(_clean(scn.description))
    p = result.pairings
    facts = facts or Facts.of(scn, p)
    doc.add_paragraph(_clean(say("generated", hash=facts.hash, version=__version__,
                                 solver=f"{result.solver} ({result.algorithm})",
                                 generated=document_date(generated or now(), lang))))
    tot = result.totals
    quota, amount = float(p["quota_mu"].sum()), float(p["amount_wan"].sum())
    price = total_price(quota, amount)
    _heading(doc, say("h_headline"), "Heading 1")
    head = [(say("status"), result.status),
            (say("pairings"), say("pairings_value", n=len(p))),
            (say("quota"), mu(quota)), (say("amount"), t("agreement.amount", lang, amount=fixed(amount))),
            (say("avg_price"), t("agreement.price", lang, price=fixed(price))),
            (say("sellers"), say("counties_value", n=p["seller_code"].nunique())),
            (say("buyers"), say("counties_value", n=p["buyer_code"].nunique())),
            (say("unmet"), mu(tot.get("unmet_demand_mu"))),
            (say("plan_adjustment"), mu(tot.get("plan_adjustment_mu")))]
    records = p.to_dict("records")
    quality = [facts.quality(r) for r in records]
    if any(is_deal(r) for r in records):
        head.append((say("deals"), say("deals_value", n=sum(is_deal(r) for r in records))))
    if len(p):
        head.append((say("quality"), say("quality_value", worse=quality.count("worse"),
                                         unchecked=quality.count("unchecked"), balanced=quality.count("balanced"))))
    _table(doc, ["item", "value"], [{"item": k, "value": v} for k, v in head], lang,
           headers={"item": t("workbook.audit_col.item", lang), "value": t("workbook.audit_col.value", lang)})

    if figure is not None:
        _figure(doc, figure)

    _heading(doc, say("h_pairings"), "Heading 1")
    if len(p):
        _pairings_table(doc, p, records, quality, lang, quota, amount, price)
    else:
        doc.add_paragraph(say("no_pairings") if result.has_solution else say("failed", message=result.message))

    _heading(doc, say("h_reasons"), "Heading 1")
    rep = county_report_or_blank(scn, result, report)
    active = rep[(rep["surplus_mu"].fillna(0) > 0) | (rep["demand_mu"].fillna(0) > 0)
                 | (rep["sold_mu"].fillna(0) > 0) | (rep["bought_mu"].fillna(0) > 0)]
    rows = [{**r, "role": choice_label("role", text(r.get("role")), lang),
             "reason": text(r.get(f"reason_{lang}"))} for r in active.to_dict("records")]
    _table(doc, ["code", "name", "role", "sold_mu", "unsold_mu", "bought_mu", "unmet_mu", "reason"], rows, lang)

    i = 3
    if allocation is not None:
        _heading(doc, say("h_proceeds"), "Heading 1")
        pr = allocation.params
        doc.add_paragraph(_clean(say("proceeds_rule", rule=choice_label("rule", pr.rule, lang),
                                     cost=fixed(pr.reclamation_cost_per_mu),
                                     financing=fixed(pr.financing_repayment_share, 3),
                                     collective=fixed(pr.collective_share, 3))))
        doc.add_paragraph(_clean(say("proceeds_use")))
        c = allocation.counties
        fields = ["county_name", "sold_mu", "gross_wan", "reclamation_wan", "financing_wan", "collective_wan",
                  "household_wan", "persons", "per_person_wan"]
        total = {f: float(c[f].sum()) for f in fields[1:-1]}
        total["county_name"] = t("workbook.total", lang)
        total["per_person_wan"] = total["household_wan"] / total["persons"] if total["persons"] > 0 else None
        _table(doc, fields, c.to_dict("records"), lang, total=total)
        i += 1

    _heading(doc, numbered("h_ledger", i), "Heading 1")
    doc.add_paragraph(say("ledger_intro"))
    led = ledger(scn, result, lang)
    fields = ["code", "name", "produced_mu", "transferred_mu", "transferred_wan", "remaining_mu", "demand_mu",
              "received_mu"]
    body = led.iloc[:-1].to_dict("records")
    _table(doc, fields, body, lang, total=led.iloc[-1].to_dict())

    _heading(doc, numbered("h_agreements", i + 1), "Heading 1")
    doc.add_paragraph(say("agreements_intro"))
    return _bytes(doc)


def _figure(doc, png: bytes) -> None:
    """The one place a figure of the plan goes (after the headline figures): a picture the width of the text."""
    from docx.shared import Cm

    doc.add_picture(io.BytesIO(png), width=Cm(21.0 - 2 * 2.2))


def _pairings_table(doc, p: pd.DataFrame, records: list[dict], quality: list[str], lang: str, quota: float,
                    amount: float, price) -> None:
    """The recommended pairings with year, both farmland grades, the quality check and deals marked; then, in
    words, the deals, the pairs that break or could not be checked against article 4(二), and the exact plan-indicator
    change of every pairing that uses plan adjustment (articles 6 ¶2, 10(五))."""
    from planner.ledger import plan_adjustment_sentence

    def say(key: str, **kw) -> str:
        return t(f"report.{key}", lang, **kw)

    def year_of(r: dict) -> str:
        return text(r.get("year")).removesuffix(".0")

    rows = [{**r, "seq": i + 1, "year": year_of(r), "reclaimed_grade": grade(r.get("reclaimed_grade")) or "—",
             "occupied_grade": grade(r.get("occupied_grade")) or "—", "quality_check": say(f"quality_short_{q}"),
             "deal": say("deal_yes") if is_deal(r) else ""} for i, (r, q) in enumerate(zip(records, quality))]
    fields = ["seq", "seller_name", "buyer_name", *(["year"] if "year" in p else []), "quota_mu", "price_wan_per_mu",
              "amount_wan", "plan_adjustment_mu", "reclaimed_grade", "occupied_grade", "quality_check", "deal"]
    total = {"seller_name": t("workbook.total", lang), "quota_mu": quota, "price_wan_per_mu": price,
             "amount_wan": amount, "plan_adjustment_mu": float(p["plan_adjustment_mu"].sum())}
    _table(doc, fields, rows, lang, total=total)

    def pairs(which) -> str:
        return say("pair_sep").join(say("pair_year" if row["year"] else "pair", seller=text(row["seller_name"]),
                                        buyer=text(row["buyer_name"]), year=row["year"])
                                    for r, row, q in zip(records, rows, quality) if which(r, q))

    if any(is_deal(r) for r in records):
        doc.add_paragraph(_clean(say("deals_note", pairs=pairs(lambda r, q: is_deal(r)))))
    for flag in ("worse", "unchecked", "balanced"):
        if flag in quality:
            doc.add_paragraph(_clean(say(f"quality_{flag}_note", pairs=pairs(lambda r, q, f=flag: q == f))))
    changes = [plan_adjustment_sentence(text(r["seller_name"]), text(r["buyer_name"]), r["plan_adjustment_mu"], lang)
               for r in records if uses_plan_adjustment(r.get("plan_adjustment_mu"))]
    if changes:
        doc.add_paragraph(_clean(say("adjust_note", changes=say("pair_sep").join(changes))))


def write_report(scn, result, path: Path, allocation=None, lang: str = "zh", **kw) -> None:
    Path(path).write_bytes(report_docx_bytes(scn, result, allocation, lang, **kw))


__all__ = ["report_docx_bytes", "write_report", "agreement_docx_bytes", "agreement_docx_files",
           "agreement_folder_files", "agreements_zip", "write_agreements"]
