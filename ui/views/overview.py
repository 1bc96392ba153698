"""What the overview page draws: the scenario picker with the library panel, the scenario's counts, the headline
figures with links onward, and the policy rules the planner applies."""
from __future__ import annotations

import streamlit as st

from planner import policy
from planner.i18n import choice_label, t
from planner.scenario import Scenario
from ui import cache, library, state, widgets
from ui.i18n import lang, tr

LINKS = [("pages/2_editor.py", "overview.go_editor", ":material/edit_note:"),
         ("pages/3_pairings.py", "overview.go_pairings", ":material/hub:"),
         ("pages/9_export.py", "overview.go_export", ":material/download:")]


def scenario_picker() -> None:
    infos = {i.slug: i for i in state.scenario_infos()}
    names = state.list_scenarios()
    current = state.folder_name()
    if not names:
        st.warning(tr("overview.no_folders"))
        return
    index = names.index(current) if current in names else 0
    cols = st.columns([3, 1], vertical_alignment="bottom")
    labels = {n: library.picker_label(n, infos[n].name, infos[n].read_only) for n in names}
    chosen = cols[0].selectbox(tr("overview.pick"), names, index=index, help=tr("overview.pick_help"),
                               format_func=labels.get)
    if chosen != current:
        if state.has_unsaved_changes():
            st.warning(tr("overview.unsaved_warning"))
        cols[1].button(tr("overview.open"), type="primary", icon=":material/folder_open:",
                       on_click=state.load_scenario, args=(chosen,), key="open_scenario")
    problems = st.session_state.get("load_problems") or []
    if problems:
        st.error(tr("overview.load_failed", n=state.error_count(problems)))
        widgets.problems_table(problems, spreadsheet_rows=True)
    library.feedback()
    # keyed and tracked, so it stays open while its actions change the page above it
    with st.expander(tr("store.panel_title"), icon=":material/inventory_2:", key="store_panel", on_change="rerun"):
        library.manage_panel()


def scenario_facts(scn: Scenario) -> None:
    st.subheader(scn.name or tr("common.unnamed"))
    if scn.description:
        with st.expander(tr("overview.description")):
            st.write(scn.description)
    c = scn.counties
    st.caption(tr("overview.counts", counties=len(c), sellers=len(scn.seller_codes()), buyers=len(scn.buyer_codes()),
                  national=int((c["poverty_class"] == "national_key").sum()),
                  provincial=int((c["poverty_class"] == "provincial").sum()), groups=len(scn.relocation)))


def headline(scn: Scenario) -> None:
    """The headline figures of the working scenario's solve (solved now when not kept), and links onward."""
    entry = cache.get_entry(scn)
    st.subheader(tr("overview.kpis"))
    if entry is None:
        return
    result = entry.result
    if result.status != "optimal":
        widgets.solve_outcome(result)
    widgets.kpi_row(result.totals)
    objective = choice_label("objective", scn.param("rules", "objective"), lang())
    st.caption(tr("overview.kpi_basis", objective=objective, pairings=widgets.pairings_phrase(result.totals)))
    for col, (page, key, icon) in zip(st.columns(len(LINKS)), LINKS):
        col.page_link(page, label=tr(key), icon=icon)


def policy_rules() -> None:
    """The rules with their citations, from the one table the README and the citation test also read."""
    st.subheader(tr("overview.rules_title"))
    st.markdown("\n".join(f"- {policy.rule_line(rule, lang(), t)}" for rule in policy.RULES))
    st.caption(tr("overview.rules_source"))
