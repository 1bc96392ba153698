"""What the export page draws: the result CSVs (pairings, county summary, ledger), the documents (workbook, the
plan report in Word, transfer agreements in Word and Markdown, with a preview of one), the scenario folder as a zip, and a preview of the result tables.

The workbook, the report and the agreements zip are built only when their button is clicked (Streamlit runs the callable on
its own thread), so the page reruns instantly; the callables close over plain objects, never over session state.
"""
from __future__ import annotations

import re
from functools import partial

import streamlit as st

from planner import export, uploads
from planner.export.common import quality_rule
from planner.i18n import fmt_mu
from planner.scenario import scenario_files
from ui import state, widgets
from ui.cache import SolveEntry, figure, ledger_table
from ui.figures import results
from ui.i18n import lang, tr

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIME = "application/zip"


def _download_box(where, key: str, data, file_name: str, widget_key: str, solved: bool, **kwargs) -> None:
    """A titled download (title `export.<key>`, help `export.<key>_help`), disabled until there is a result."""
    with where:
        st.markdown(f"**{tr(f'export.{key}')}**")
        st.caption(tr(f"export.{key}_help"))
        widgets.download(st, f"export.download_{key}", data if solved else b"", file_name, widget_key,
                         disabled=not solved, **kwargs)


def result_files(scn, entry: SolveEntry | None, localized: bool, audit: dict | None) -> None:
    """Pairings, county summary and ledger as CSV; every CSV carries what produced it (planner.audit)."""
    solved = entry is not None and entry.result.has_solution
    lg, stem = lang(), state.file_stem()
    pairings = counties = ledger = b""
    if solved:  # each CSV is built when its button is clicked, not on every page run
        result = entry.result
        pairings = partial(results.pairings_export, result.pairings, lg, localized, audit, quality_rule(scn))
        counties = partial(results.county_export, entry.report, lg, localized, audit)
        ledger = partial(_ledger_csv, scn, result, lg, localized, audit)
    cols = st.columns(3)
    _download_box(cols[0], "pairings", pairings, f"{stem}_pairings.csv", "export_pairings", solved)
    _download_box(cols[1], "counties", counties, f"{stem}_counties.csv", "export_counties", solved)
    _download_box(cols[2], "ledger", ledger, f"{stem}_ledger.csv", "export_ledger", solved)


def _ledger_csv(scn, result, lg: str, localized: bool, audit: dict | None) -> bytes:
    table = ledger_table(scn, result, lg)
    return export.csv_bytes(export.ledger_view(table, lg) if localized else table, audit, lg if localized else "en")


def _workbook_data(scn, result, report):
    return lambda: export.workbook_bytes(scn, result, report=report)


def _report_data(scn, result, report, lg: str):
    def build() -> bytes:
        from planner.export.map_image import plan_map_png

        # the map as in the command line's report (None off the shipped map of Jilin, or when it cannot be drawn)
        return export.report_docx_bytes(scn, result, lang=lg, report=report, figure=plan_map_png(scn, result, lg))
    return build


def _agreements_data(scn, result, lg: str):
    return lambda: export.agreements_zip(scn, result, lg)


def documents(scn, entry: SolveEntry | None) -> None:
    solved = entry is not None and entry.result.has_solution
    st.subheader(tr("export.documents_title"))
    st.caption(tr("export.documents_help"))
    if not solved:
        st.info(tr("export.not_solved"))
    stem = state.file_stem()
    result = entry.result if solved else None
    cols = st.columns(3)
    _download_box(cols[0], "workbook", _workbook_data(scn, result, entry.report) if solved else b"",
                  f"{stem}_workbook.xlsx", "export_workbook", solved, mime=XLSX_MIME, icon=":material/table_view:")
    _download_box(cols[1], "report", _report_data(scn, result, entry.report, lang()) if solved else b"",
                  f"{stem}_report.docx", "export_report", solved, mime=DOCX_MIME, icon=":material/description:")
    _download_box(cols[2], "agreements", _agreements_data(scn, result, lang()) if solved else b"",
                  f"{stem}_agreements.zip", "export_agreements", solved, mime=ZIP_MIME,
                  icon=":material/folder_zip:")
    if solved:
        agreement_preview(scn, result)


def agreement_preview(scn, result) -> None:
    p = result.pairings
    st.markdown(f"**{tr('export.agreement_preview')}**")
    if p.empty:
        st.caption(tr("export.no_pairings"))
        return
    rows = p.to_dict("records")

    def option(i: int) -> str:
        r = rows[i]
        text = tr("export.agreement_option", seller=r["seller_name"], buyer=r["buyer_name"],
                  quota=fmt_mu(r["quota_mu"]))
        if export.uses_plan_adjustment(r["plan_adjustment_mu"]):
            text = text + tr("export.agreement_adjust")
        return text

    i = st.selectbox(tr("export.agreement_pick"), range(len(rows)),
                     format_func=widgets.labels_now(range(len(rows)), option),
                     key="export_agreement_pick")
    r = rows[i if i is not None and 0 <= i < len(rows) else 0]
    if export.uses_plan_adjustment(r["plan_adjustment_mu"]):
        st.warning(tr("export.agreement_adjust_note", mu=fmt_mu(r["plan_adjustment_mu"])), icon=":material/warning:")
    text = figure(export.agreement_markdown, scn, result, r["seller_code"], r["buyer_code"], lang())
    # Smaller headings in the preview box than on a page of their own (the file keeps # and ##).
    text = re.sub(r"^(#{1,2}) ", lambda m: "#" * (len(m.group(1)) + 3) + " ", text, flags=re.MULTILINE)
    with st.container(border=True, height=520):
        st.markdown(text)


def scenario_zip(scn) -> None:
    st.subheader(tr("export.scenario_title"))
    st.caption(tr("export.scenario_help"))
    stem = state.file_stem()
    files = figure(scenario_files, scn)
    widgets.download(st, "export.download_scenario", figure(uploads.zip_bytes, files, stem), f"{stem}.zip",
                     "export_scenario", mime=ZIP_MIME, icon=":material/folder_zip:")
    st.caption(tr("export.scenario_files", files=tr("ui.list_separator").join(files)))
    if state.has_unsaved_changes():
        st.info(tr("export.unsaved_note"))


def preview(entry: SolveEntry) -> None:
    with st.expander(tr("export.preview")):
        st.dataframe(figure(results.pairings_view, entry.result.pairings, lang(), quality_rule(state.working())),
                     hide_index=True)
        st.dataframe(figure(results.county_view, entry.report, lang()), hide_index=True)
