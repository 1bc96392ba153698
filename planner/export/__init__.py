"""Files staff take away, one module per concern; this package only gathers what callers use.

- CSV (UTF-8 with BOM, CRLF, formula-safe) and JSON: `planner.csvio`, re-exported here.
- `header(field, lang)`: column headers with units from the locale files (`headers`).
- The provincial ledger (台账, article 14) is computed by `planner.ledger`; here it is only written.
- Agreement sheets (articles 9, 10, 16; payment and return of proceeds, article 17): built once as language-neutral blocks (`agreements`), rendered as
  Markdown (`markdown`: preview, and a copy of each), worksheets (`workbook`) and Word documents (`docx`).
- The Excel workbook (`workbook`) and the plan report for people (`docx.report_docx_bytes`).

Everything returns bytes, text or DataFrames (no Streamlit), so the Export page and the command line share it.
"""
from __future__ import annotations

from planner.csvio import AUDIT_COLUMNS, FORMULA_START, csv_bytes, safe_cell, unsafe_cell, with_audit, write_csv, \
    write_json
from planner.export.agreements import Block, agreement_blocks, plan_adjustment_clause
from planner.export.common import document_date, is_deal, now, pairing_row, quality_of, uses_plan_adjustment
from planner.export.docx import (agreement_docx_bytes, agreement_docx_files, agreements_zip, report_docx_bytes,
                                 write_agreements, write_report)
from planner.export.headers import FIELD_KINDS, header
from planner.export.markdown import agreement_filenames, agreement_files, agreement_markdown, md_escape
from planner.export.workbook import MAX_AGREEMENT_SHEETS, agreement_sheet_names, workbook_bytes, write_workbook
from planner.ledger import LEDGER_COLUMNS, ledger, ledger_view, plan_adjustment_sentence

# The commitment-letter clause (article 10(五)) the agreements carry exactly when a pairing uses plan adjustment, in
# each language (tests look for it); the indicator change itself reads `plan_adjustment_sentence(...)`.
PLAN_ADJUSTMENT_CLAUSE = {lang: plan_adjustment_clause(lang) for lang in ("zh", "en")}

__all__ = ["safe_cell", "unsafe_cell", "csv_bytes", "write_csv", "write_json", "with_audit", "AUDIT_COLUMNS",
           "FORMULA_START", "ledger", "ledger_view", "LEDGER_COLUMNS", "header", "FIELD_KINDS", "pairing_row",
           "uses_plan_adjustment", "plan_adjustment_sentence", "document_date", "now", "is_deal", "quality_of",
           "Block", "agreement_blocks", "PLAN_ADJUSTMENT_CLAUSE", "md_escape", "agreement_markdown", "agreement_files",
           "agreements_zip", "agreement_filenames", "agreement_sheet_names", "agreement_docx_bytes",
           "agreement_docx_files", "write_agreements", "report_docx_bytes", "write_report", "workbook_bytes",
           "write_workbook", "MAX_AGREEMENT_SHEETS"]
