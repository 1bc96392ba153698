"""The shared sidebar under the navigation: the working scenario's name, where it comes from, whether it is valid,
has unsaved changes, and what its last solve matched. Drawn by app.py after the page ran, so it shows the outcome
of this run's edits."""
from __future__ import annotations

import streamlit as st

from planner.i18n import fmt_mu
from ui import cache, state
from ui.i18n import tr


def working_status() -> None:
    scn = state.working()
    st.caption(tr("sidebar.working"))
    if scn is None:
        st.warning(tr("sidebar.none"))
        return
    st.markdown(f"**{scn.name or tr('common.unnamed')}**")
    folder = state.folder_name()
    if folder:
        st.caption(tr("sidebar.folder", folder=folder))
    elif st.session_state.get("scn_detached"):
        st.caption(tr("store.sidebar_detached"))
    else:
        st.caption(tr("sidebar.imported"))
    pending = state.pending_errors()
    if pending:
        st.error(tr("sidebar.pending_errors", n=pending), icon=":material/error:")
    else:
        warnings = len([p for p in st.session_state.get("scn_problems", []) if p.severity == "warning"])
        st.success(tr("sidebar.valid", warnings=warnings) if warnings else tr("sidebar.valid_clean"),
                   icon=":material/check_circle:")
    if state.has_unsaved_changes():
        st.warning(tr("sidebar.unsaved"), icon=":material/edit:")
    entry = cache.cached_entry(scn)
    if entry is not None and entry.result.has_solution:
        st.caption(tr("sidebar.solved", matched=fmt_mu(entry.result.totals.get("quota_matched_mu", 0.0))))
