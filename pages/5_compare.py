"""情景比较 Compare: pick 2–4 scenarios (saved ones and the working one, even unsaved), solve each (cached) and show
what differs: headline figures side by side, per-county proceeds, pairings that changed, inputs, per-person benefit.
"""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.i18n import tr
from ui.views import compare


def main() -> None:
    st.title(tr("cmp.title"))
    st.caption(tr("cmp.intro"))
    infos = {i.slug: i for i in state.scenario_infos()}
    picked = compare.picker(infos)
    if len(picked) < 2:
        st.info(tr("cmp.pick_more"), icon=":material/info:")
        return
    loaded = compare.load(picked, infos)
    if loaded is None:
        return
    scenarios, names = loaded
    comp = compare.comparison(scenarios, names)
    if comp is None:
        return
    compare.summary(comp, scenarios)
    compare.kpis_and_inputs(comp, scenarios)
    compare.proceeds(comp)
    compare.pairings(comp)
    compare.benefit(comp)


state.require_app()
main()
