"""敏感性分析 Sensitivity: parameter sweeps (KPIs against one parameter, how pairings change) and Monte Carlo
robustness of the recommended pairings. Results are kept per browser session (ui/cache.py), so coming back to the
page is instant."""
from __future__ import annotations

import streamlit as st

from ui import state, widgets
from ui.i18n import tr
from ui.views import sensitivity


def main() -> None:
    scn = widgets.page_header("sens.title")
    if scn is None:
        return
    st.caption(tr("sens.intro", name=scn.name or tr("common.unnamed")))
    tabs = st.tabs([tr("sens.tab_sweep"), tr("sens.tab_robust")])
    with tabs[0]:
        sensitivity.sweep_tab(scn)
    with tabs[1]:
        st.info(tr("sens.robust_meaning"), icon=":material/verified:")
        sensitivity.robust_tab(scn)


state.require_app()
main()
