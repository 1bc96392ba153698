"""导出 Export: download the pairings, the per-county summary with reasons, the provincial ledger, the Excel workbook,
the transfer-agreement sheets (with a preview of one), and the scenario folder as a zip.

The workbook and the agreements zip are built only when their button is clicked (Streamlit runs the callable on its
own thread), so the page reruns instantly; the callables close over plain objects, never over session state.
"""
from __future__ import annotations

import re

import streamlit as st

import app_state as state
import app_views as views
from planner import export, uploads
from planner.audit import audit_record
from planner.i18n import fmt_mu
from planner.scenario import scenario_files

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook_data(scn, result, report):
    return lambda: export.workbook_bytes(scn, result, report=report)


def _agreements_data(scn, result, lang: str):
    return lambda: export.agreements_zip(scn, result, lang)


def agreement_preview(scn, result, lang: str) -> None:
    p = result.pairings
    st.markdown(f"**{state.tr('export.agreement_preview')}**")
    if p.empty:
        st.caption(state.tr("export.no_pairings"))
        return
    rows = p.to_dict("records")

    def label(i: int) -> str:
        r = rows[i]
        text = state.tr("export.agreement_option", seller=r["seller_name"], buyer=r["buyer_name"],
                        quota=fmt_mu(r["quota_mu"]))
        if export.uses_plan_adjustment(r["plan_adjustment_mu"]):
            text = text + state.tr("export.agreement_adjust")
        return text

    i = st.selectbox(state.tr("export.agreement_pick"), range(len(rows)), format_func=label,
                     key="export_agreement_pick")
    r = rows[i if i is not None and 0 <= i < len(rows) else 0]
    if export.uses_plan_adjustment(r["plan_adjustment_mu"]):
        st.warning(state.tr("export.agreement_adjust_note", mu=fmt_mu(r["plan_adjustment_mu"])),
                   icon=":material/warning:")
    text = export.agreement_markdown(scn, result, r["seller_code"], r["buyer_code"], lang)
    # Smaller headings in the preview box than on a page of their own (the file keeps # and ##).
    text = re.sub(r"^(#{1,2}) ", lambda m: "#" * (len(m.group(1)) + 3) + " ", text, flags=re.MULTILINE)
    with st.container(border=True, height=520):
        st.markdown(text)


def main() -> None:
    lang = state.lang()
    st.title(state.tr("export.title"))
    st.caption(state.tr("export.intro"))
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    stem = state.folder_name() or "scenario"
    localized = st.toggle(state.tr("export.localized"), value=True, help=state.tr("export.localized_help"))
    entry = state.get_entry(scn)
    solved = entry is not None and entry.result.has_solution
    result = entry.result if solved else None

    # Every CSV below carries what produced it (scenario, content hash, planner version, solver, time).
    audit = audit_record(scn, result) if solved else None
    st.subheader(state.tr("export.results_title"))
    if entry is not None:
        state.show_solve_outcome(entry.result)
    cols = st.columns(3)
    with cols[0]:
        st.markdown(f"**{state.tr('export.pairings')}**")
        st.caption(state.tr("export.pairings_help"))
        st.download_button(state.tr("export.download_pairings"),
                           data=views.pairings_export(entry.result.pairings, lang, localized, audit) if solved
                           else b"",
                           file_name=f"{stem}_pairings.csv", mime="text/csv", disabled=not solved,
                           icon=":material/download:", on_click="ignore", key="export_pairings")
    with cols[1]:
        st.markdown(f"**{state.tr('export.counties')}**")
        st.caption(state.tr("export.counties_help"))
        st.download_button(state.tr("export.download_counties"),
                           data=views.county_export(entry.report, lang, localized, audit) if solved else b"",
                           file_name=f"{stem}_counties.csv", mime="text/csv", disabled=not solved,
                           icon=":material/download:", on_click="ignore", key="export_counties")
    with cols[2]:
        st.markdown(f"**{state.tr('export.ledger')}**")
        st.caption(state.tr("export.ledger_help"))
        ledger_csv = b""
        if solved:
            table = export.ledger(scn, result, lang)
            ledger_csv = export.csv_bytes(export.ledger_view(table, lang) if localized else table, audit,
                                          lang if localized else "en")
        st.download_button(state.tr("export.download_ledger"), data=ledger_csv, file_name=f"{stem}_ledger.csv",
                           mime="text/csv", disabled=not solved, icon=":material/download:", on_click="ignore",
                           key="export_ledger")

    st.subheader(state.tr("export.documents_title"))
    st.caption(state.tr("export.documents_help"))
    if not solved:
        st.info(state.tr("export.not_solved"))
    cols = st.columns(2)
    with cols[0]:
        st.markdown(f"**{state.tr('export.workbook')}**")
        st.caption(state.tr("export.workbook_help"))
        st.download_button(state.tr("export.download_workbook"),
                           data=_workbook_data(scn, result, entry.report) if solved else b"",
                           file_name=f"{stem}_workbook.xlsx", mime=XLSX_MIME, disabled=not solved,
                           icon=":material/table_view:", on_click="ignore", key="export_workbook")
    with cols[1]:
        st.markdown(f"**{state.tr('export.agreements')}**")
        st.caption(state.tr("export.agreements_help"))
        st.download_button(state.tr("export.download_agreements"),
                           data=_agreements_data(scn, result, lang) if solved else b"",
                           file_name=f"{stem}_agreements.zip", mime="application/zip", disabled=not solved,
                           icon=":material/folder_zip:", on_click="ignore", key="export_agreements")
    if solved:
        agreement_preview(scn, result, lang)

    st.subheader(state.tr("export.scenario_title"))
    st.caption(state.tr("export.scenario_help"))
    files = scenario_files(scn)
    st.download_button(state.tr("export.download_scenario"), data=uploads.zip_bytes(files, stem),
                       file_name=f"{stem}.zip", mime="application/zip", icon=":material/folder_zip:",
                       on_click="ignore", key="export_scenario")
    st.caption(state.tr("export.scenario_files", files="、".join(files) if lang == "zh" else ", ".join(files)))
    if state.has_unsaved_changes():
        st.info(state.tr("export.unsaved_note"))

    if solved:
        with st.expander(state.tr("export.preview")):
            st.dataframe(views.pairings_view(entry.result.pairings, lang), hide_index=True)
            st.dataframe(views.county_view(entry.report, lang), hide_index=True)


state.require_app()
main()
