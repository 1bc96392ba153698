"""情景编辑 Scenario editor: edit the county, pair and relocation tables and the parameters; import CSV/Excel.

Edits are checked by planner.validate on every change and reach the working scenario only when there is no error.
The table editors keep their edits across reruns, page changes and the language switch (ui.widgets); every change
is a step that can be undone, and unsaved edits are kept as a draft on disk, offered back after a reload or a
crash. An import is shown as a preview and applied only when confirmed (ui.views.editor_import).
"""
from __future__ import annotations

import streamlit as st

from ui import library, state
from ui.i18n import tr
from ui.views import editor, editor_import


def main() -> None:
    st.title(tr("editor.title"))
    st.caption(tr("editor.intro"))
    scn = state.working()
    if scn is None:
        st.info(tr("common.no_scenario"))
        return
    editor.draft_offer()
    bar, status = st.container(), st.container()
    tabs = st.tabs([tr(editor.TABLE_TITLES[tb]) for tb in state.TABLES]
                   + [tr("editor.tab_params"), tr("editor.tab_import"), tr("store.tab_store")])
    edited, slots = editor.table_tabs(tabs)
    scn, problems, fingerprint = editor.apply_tables(scn, edited)
    editor.remember(edited, fingerprint)
    editor.keep_draft(edited, fingerprint)
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
        editor_import.imports()
    with store_tab:
        library.manage_panel(with_save=False)


state.require_app()
main()
