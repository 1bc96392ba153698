"""概览 Overview: pick the working scenario, see the headline figures and the policy rules the planner applies."""
from __future__ import annotations

import streamlit as st

import app_state as state
import app_store
import app_views as views
from planner.i18n import choice_label

RULE_KEYS = ["rules.sellers", "rules.priority", "rules.quality", "rules.caps", "rules.adjust", "rules.price",
             "rules.agreement", "rules.proceeds", "rules.ties"]


def scenario_picker() -> None:
    infos = {i.slug: i for i in state.scenario_infos()}
    names = state.list_scenarios()
    current = state.folder_name()
    if not names:
        st.warning(state.tr("overview.no_folders"))
        return
    index = names.index(current) if current in names else 0
    cols = st.columns([3, 1], vertical_alignment="bottom")
    labels = {n: app_store.picker_label(n, infos[n].name, infos[n].read_only) for n in names}
    chosen = cols[0].selectbox(state.tr("overview.pick"), names, index=index, help=state.tr("overview.pick_help"),
                               format_func=labels.get)
    if chosen != current:
        if state.has_unsaved_changes():
            st.warning(state.tr("overview.unsaved_warning"))
        cols[1].button(state.tr("overview.open"), type="primary", icon=":material/folder_open:",
                       on_click=state.load_scenario, args=(chosen,), key="open_scenario")
    problems = st.session_state.get("load_problems") or []
    if problems:
        st.error(state.tr("overview.load_failed", n=state.error_count(problems)))
        st.dataframe(views.problems_view(problems, state.lang(), spreadsheet_rows=True), hide_index=True)
    app_store.feedback()
    # keyed and tracked, so it stays open while its actions change the page above it
    with st.expander(state.tr("store.panel_title"), icon=":material/inventory_2:", key="store_panel",
                     on_change="rerun"):
        app_store.manage_panel()


def main() -> None:
    lang = state.lang()
    st.title(state.tr("overview.title"))
    st.caption(state.tr("overview.intro"))
    scenario_picker()
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    st.subheader(scn.name or state.tr("common.unnamed"))
    if scn.description:
        with st.expander(state.tr("overview.description")):
            st.write(scn.description)
    c = scn.counties
    n_national = int((c["poverty_class"] == "national_key").sum())
    n_provincial = int((c["poverty_class"] == "provincial").sum())
    st.caption(state.tr("overview.counts", counties=len(c), sellers=len(scn.seller_codes()),
                        buyers=len(scn.buyer_codes()), national=n_national, provincial=n_provincial,
                        groups=len(scn.relocation)))

    entry = state.get_entry(scn)
    st.subheader(state.tr("overview.kpis"))
    if entry is None:
        return
    result = entry.result
    if result.status != "optimal":
        state.show_solve_outcome(result)
    cols = st.columns(5)
    for box, (label, value, help_text) in zip(cols, views.kpis(result.totals, lang)):
        box.metric(label, value, help=help_text)
    objective = choice_label("objective", scn.param("rules", "objective"), lang)
    st.caption(state.tr("overview.kpi_basis", objective=objective, pairings=result.totals.get("pairings", 0)))
    links = st.columns(3)
    links[0].page_link("pages/2_editor.py", label=state.tr("overview.go_editor"), icon=":material/edit_note:")
    links[1].page_link("pages/3_pairings.py", label=state.tr("overview.go_pairings"), icon=":material/hub:")
    links[2].page_link("pages/9_export.py", label=state.tr("overview.go_export"), icon=":material/download:")

    st.subheader(state.tr("overview.rules_title"))
    st.markdown("\n".join(f"- {state.tr(k)}" for k in RULE_KEYS))
    st.caption(state.tr("overview.rules_source"))


state.require_app()
main()
