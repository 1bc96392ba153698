"""导出 Export: download the pairings, the per-county summary with reasons, and the scenario folder as a zip."""
from __future__ import annotations

import streamlit as st

import app_state as state
import app_views as views
from planner import uploads
from planner.scenario import scenario_files


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

    st.subheader(state.tr("export.results_title"))
    if entry is not None:
        state.show_solve_outcome(entry.result)
    cols = st.columns(2)
    with cols[0]:
        st.markdown(f"**{state.tr('export.pairings')}**")
        st.caption(state.tr("export.pairings_help"))
        st.download_button(state.tr("export.download_pairings"),
                           data=views.pairings_export(entry.result.pairings, lang, localized) if solved else b"",
                           file_name=f"{stem}_pairings.csv", mime="text/csv", disabled=not solved,
                           icon=":material/download:", on_click="ignore", key="export_pairings")
    with cols[1]:
        st.markdown(f"**{state.tr('export.counties')}**")
        st.caption(state.tr("export.counties_help"))
        st.download_button(state.tr("export.download_counties"),
                           data=views.county_export(entry.report, lang, localized) if solved else b"",
                           file_name=f"{stem}_counties.csv", mime="text/csv", disabled=not solved,
                           icon=":material/download:", on_click="ignore", key="export_counties")

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
