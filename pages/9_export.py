"""导出 Export: download the pairings, the per-county summary with reasons, the provincial ledger, the Excel workbook,
the transfer-agreement sheets (with a preview of one), and the scenario folder as a zip."""
from __future__ import annotations

import streamlit as st

from ui import cache, state, widgets
from ui.i18n import tr
from ui.views import export


def main() -> None:
    st.title(tr("export.title"))
    st.caption(tr("export.intro"))
    scn = state.working()
    if scn is None:
        st.info(tr("common.no_scenario"))
        return
    localized = st.toggle(tr("export.localized"), value=True, help=tr("export.localized_help"))
    entry = cache.get_entry(scn)
    solved = entry is not None and entry.result.has_solution
    st.subheader(tr("export.results_title"))
    if entry is not None:
        widgets.solve_outcome(entry.result)
    export.result_files(scn, entry, localized, cache.audit(scn, entry.result) if solved else None)
    export.documents(scn, entry)
    export.scenario_zip(scn)
    if solved:
        export.preview(entry)


state.require_app()
main()
