"""One worksheet written the way staff's Excel should show it: every text cell a string cell (never a formula),
numbers with formats, headers with units, frozen header rows, column widths and row heights from the content,
A4 print set-up."""
from __future__ import annotations

import copy
import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from planner.csvio import FORMULA_START
from planner.export.common import fixed
from planner.export.headers import header, kind as field_kind
from planner.i18n import t

FMT = {"mu": "#,##0.00;-#,##0.00;0", "wan": "#,##0.00;-#,##0.00;0", "price": "#,##0.00;-#,##0.00;0",
       "int": "#,##0", "per": "#,##0.0000;-#,##0.0000;0", "ratio": "0.000", "num": "General", "mixed": "General"}
UNIT_FMT = {"mu": '#,##0.00" 亩"', "wan": '#,##0.00" 万元"', "price": '#,##0.00" 万元/亩"'}
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FONT_NAME = "等线"  # Excel's default Chinese UI font; LibreOffice substitutes a CJK font when it is missing
COLORS = {"header": "DDEBF7", "total": "F2F2F2", "heading": "E2EFDA", "title": "1F4E78", "note": "595959",
          "flag": "FFF2CC"}
LANG = "zh"  # the workbook is written in Chinese, as staff file it

WIDE = re.compile("[\u2e80-\U0010ffff]")  # CJK and full-width characters: two columns wide


def _width(value) -> int:
    """Display width: CJK and full-width characters count two."""
    text = value if isinstance(value, str) else fixed(value) if isinstance(value, (int, float, np.number)) else str(value)
    return len(text) + len(WIDE.findall(text))


def _two_line(text: str, limit: int = 14) -> str:
    """A long header breaks before its unit: 价格区间下限（万元/亩） -> 价格区间下限 / （万元/亩）."""
    cut = max(text.rfind("（"), text.rfind(" ("))
    if _width(text) > limit and cut > 0:
        return text[:cut].rstrip() + "\n" + text[cut:].lstrip()
    return text


def _em(text: str) -> float:
    """Rendered width in column-width units, for row heights: 10.5 pt CJK ≈ 1.75, Latin letters and digits ≈ 0.85
    (erring on the wide side: a blank line is better than a clipped one)."""
    return sum(1.75 if ord(ch) > 0x2E7F else 0.85 for ch in text)


class Sheet:
    """Writes one worksheet: every text cell a string cell (never a formula), numbers with formats.

    Neither Excel nor LibreOffice grows a row to fit wrapped text when it opens a file, so `finish` sets column
    widths from the content and row heights from the wrapped text they must hold."""

    LINE_PT = 15.0  # one line of 10.5 pt CJK text (Noto/DengXian line spacing), in points

    def __init__(self, wb, title: str):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = wb.create_sheet(title)
        # One style per combination, shared by every cell that uses it: assigning font, fill and alignment objects
        # cell by cell costs most of the time on a national-sized workbook.
        if not hasattr(wb, "_planner_styles"):
            wb._planner_styles = {}
        self.styles: dict = wb._planner_styles
        self.Font, self.Alignment, self.PatternFill = Font, Alignment, PatternFill
        self.thin = Side(style="thin", color="BFBFBF")
        self.Border = Border
        self.widths: dict[int, int] = {}

    def put(self, row: int, col: int, value, fmt: str | None = None, bold: bool = False, fill: str | None = None,
            wrap: bool = False, color: str | None = None, size: float | None = None, italic: bool = False,
            align: str | None = None):
        cell = self.ws.cell(row=row, column=col)
        v = xl_value(value)
        quote = False
        if isinstance(v, str):
            v = XML_ILLEGAL.sub("", v)[:32767]
            cell.value = v
            cell.data_type = "s"  # never "f": text starting with "=" stays text
            # Excel's own "this is text" mark, also kept when a user edits the cell
            quote = v.startswith(FORMULA_START)
        else:
            cell.value = v
        number_format = fmt if fmt and v is not None and not isinstance(v, str) else None
        key = (number_format, bold, fill, wrap, color, size, italic, align, quote)
        style = self.styles.get(key)
        if style is not None:
            cell._style = copy.copy(style)
            return cell
        if number_format:
            cell.number_format = number_format
        if quote:
            cell.quotePrefix = True
        cell.font = self.Font(name=FONT_NAME, bold=bold, color=color, size=size or 10.5, italic=italic)
        if fill:
            cell.fill = self.PatternFill("solid", fgColor=fill)
        cell.alignment = self.Alignment(wrap_text=wrap, vertical="top", horizontal=align)
        self.styles[key] = copy.copy(cell._style)
        return cell

    def table(self, title: str, fields: list[str], df: pd.DataFrame, total: dict | None = None,
              headers: dict[str, str] | None = None, kinds: dict[str, str] | None = None,
              freeze_cols: int = 0, note: str = "") -> int:
        """Title row 1, header row 2 (frozen, with a filter), data rows, optional totals row; returns the next
        free row."""
        from openpyxl.utils import get_column_letter

        ws = self.ws
        self.put(1, 1, f"{title}　{note}" if note else title, bold=True, size=13, color=COLORS["title"])
        kinds = dict(kinds or {})
        for j, f in enumerate(fields, 1):
            text = _two_line((headers or {}).get(f) or header(f, LANG))
            kinds.setdefault(f, field_kind(f))
            c = self.put(2, j, text, bold=True, fill=COLORS["header"], wrap=True, align="center")
            c.alignment = self.Alignment(wrap_text=True, vertical="center", horizontal="center")
            c.border = self.Border(bottom=self.thin, top=self.thin)
            self._fit(j, text, header=True)
        r = 3
        columns = [(j, f, kinds[f], FMT.get(kinds[f]), kinds[f] in ("long", "mixed"),
                    "left" if kinds[f] == "mixed" else None) for j, f in enumerate(fields, 1)]
        for rec in df.to_dict("records"):
            for j, f, kind, fmt, wrap, align in columns:
                value = xl_value(rec.get(f))  # once for both: xl_value of its own result is that result
                self.put(r, j, value, fmt=fmt, wrap=wrap, align=align)
                self._fit(j, value, kind=kind)
            r += 1
        if total is not None:
            for j, f in enumerate(fields, 1):
                kind = kinds[f]
                c = self.put(r, j, total.get(f), fmt=FMT.get(kind), bold=True, fill=COLORS["total"],
                             wrap=kind == "long")
                c.border = self.Border(top=self.thin, bottom=self.thin)
                self._fit(j, total.get(f), kind=kind)
            r += 1
        ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}3"
        if fields:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(fields))}{max(r - 1, 2)}"
        ws.print_title_rows = "2:2"
        return r

    def _fit(self, col: int, value, kind: str = "text", header: bool = False) -> None:
        v = xl_value(value)
        if v is None:
            return
        if isinstance(v, (int, float)):
            w = len(f"{v:,.4f}" if kind == "per" else f"{v:,.2f}") + 1
        else:
            w = max((_width(line) for line in v.split("\n")), default=0)
        if header:
            w = min(w, 14)  # long headers wrap onto two or three lines
        elif kind in ("long", "mixed"):
            w = min(w, 50)
        self.widths[col] = max(self.widths.get(col, 0), w)

    def finish(self, landscape: bool = True, min_width: int = 6, max_width: int = 50,
               fixed: dict[int, float] | None = None, one_page: bool = False) -> None:
        from openpyxl.utils import get_column_letter

        ws = self.ws
        for col, w in self.widths.items():
            ws.column_dimensions[get_column_letter(col)].width = max(min_width, min(max_width, w + 2))
        for col, w in (fixed or {}).items():
            ws.column_dimensions[get_column_letter(col)].width = w
        self._fit_rows()
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if one_page else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.7
        ws.page_margins.header = ws.page_margins.footer = 0.3
        if ws.row_dimensions[1].height is None:
            ws.row_dimensions[1].height = 21  # the title row (13-14 pt)
        ws.oddHeader.center.text = "&A"
        ws.oddFooter.center.text = t("workbook.footer", LANG)

    def _fit_rows(self) -> None:
        """Row heights for wrapped text (merged cells measured across their columns)."""
        from openpyxl.utils import get_column_letter

        ws = self.ws
        width = {}
        for col in range(1, ws.max_column + 1):
            width[col] = ws.column_dimensions[get_column_letter(col)].width or 8.43
        merged = {}
        for rng in ws.merged_cells.ranges:
            merged[(rng.min_row, rng.min_col)] = sum(width.get(c, 8.43) for c in range(rng.min_col, rng.max_col + 1))
        for row in ws.iter_rows():
            lines = 1
            for cell in row:
                if cell.value is None or not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                    continue
                room = max(2.0, merged.get((cell.row, cell.column), width.get(cell.column, 8.43)) - 1.5)
                scale = (cell.font.sz or 10.5) / 10.5
                n = sum(max(1, math.ceil(_em(part) * scale / room)) for part in cell.value.split("\n"))
                lines = max(lines, n)
            if lines > 1:
                ws.row_dimensions[row[0].row].height = round(lines * self.LINE_PT + 3, 1)


def xl_value(value):
    if value is None or type(value) is str:  # most cells: nothing to convert
        return value
    if isinstance(value, (bool, np.bool_)):
        return t("workbook.yes" if value else "workbook.no", LANG)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)

