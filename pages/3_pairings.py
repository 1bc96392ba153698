"""优化配对 Pairings: solve the working scenario and explain the recommended seller→buyer pairings."""
from __future__ import annotations

import streamlit as st

from ui import state, widgets
from ui.i18n import tr
from ui.views import pairings


def main() -> None:
    scn = widgets.page_header("pairings.title")
    if scn is None:
        return
    st.caption(tr("pairings.intro", name=scn.name or tr("common.unnamed")))
    widgets.pending_edits_note()
    force = pairings.solver_settings()
    stable = pairings.stable_settings()
    entry, previous = pairings.current_entry(scn, force, stable)
    if entry is None:
        return
    widgets.solve_outcome(entry.result)
    if not entry.result.has_solution:
        return
    pairings.stable_note(entry)
    pairings.solve_facts(entry, previous)
    pairings.changes(entry, previous)
    pairings.pairings_table(entry)
    tabs = st.tabs([tr("pairings.tab_flows"), tr("pairings.tab_map"), tr("pairings.tab_counties"),
                    tr("pairings.tab_shadow")])
    with tabs[0]:
        pairings.flow_tab(entry)
    with tabs[1]:
        pairings.map_tab(scn, entry)
    with tabs[2]:
        pairings.counties_tab(entry)
    with tabs[3]:
        pairings.shadow_tab(entry)


state.require_app()
main()
