"""概览 Overview: pick the working scenario, see the headline figures and the policy rules the planner applies."""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.i18n import tr
from ui.views import overview


def main() -> None:
    st.title(tr("overview.title"))
    st.caption(tr("overview.intro"))
    overview.scenario_picker()
    scn = state.working()
    if scn is None:
        st.info(tr("common.no_scenario"))
        return
    overview.scenario_facts(scn)
    overview.headline(scn)
    overview.policy_rules()


state.require_app()
main()
