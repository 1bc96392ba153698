"""情景编辑 Scenario editor: edit the county, pair and relocation tables and the parameters; import CSV/Excel.

Edits are checked by planner.validate on every change and reach the working scenario only when there is no error.
The table editors keep their edits across reruns, page changes and the language switch (ui.widgets).
"""
from __future__ import annotations

import streamlit as st

from ui import library, state
from ui.i18n import tr
from ui.views import editor


def main() -> None:
    st.title(tr("editor.title"))
    st.caption(tr("editor.intro"))
    scn = state.working()
    if scn is None:
        st.info(tr("common.no_scenario"))
        return
    bar, status = st.container(), st.container()
    tabs = st.tabs([tr(editor.TABLE_TITLES[tb]) for tb in state.TABLES]
                   + [tr("editor.tab_params"), tr("editor.tab_import"), tr("store.tab_store")])
    edited, slots = editor.table_tabs(tabs)
    scn, problems = editor.apply_tables(scn, edited)
    for table in state.TABLES:
        editor.table_problems(slots[table], table, edited[table].reset_index(drop=True), problems)
    with status:
        editor.status(problems)
    with bar:
        editor.action_bar(state.pending_errors())
    params_tab, import_tab, store_tab = tabs[len(state.TABLES):]
    with params_tab:
        editor.params(scn)
    with import_tab:
        editor.imports()
    with store_tab:
        library.manage_panel(with_save=False)


state.require_app()
main()
