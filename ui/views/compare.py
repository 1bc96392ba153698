"""What the compare page draws: the scenario picker (saved ones and the working one, even unsaved), the solves of
the picked scenarios (kept in ui/cache.py), and each part of the comparison. Tables and charts are built in
ui/figures/compare.py."""
from __future__ import annotations

import streamlit as st

from planner.audit import combined_record
from planner.compare import Comparison, compare
from planner.i18n import t
from planner.scenario import Scenario
from ui import cache, library, state, widgets
from ui.figures import compare as cv
from ui.i18n import lang, tr

WORKING = "__working__"
MAX_SCENARIOS = 4


def working_name() -> str:
    scn = state.working()
    name = (scn.name if scn is not None else "") or tr("common.unnamed")
    return tr("cmp.working_unsaved" if state.has_unsaved_changes() else "cmp.working", name=name)


def default_pick(options: list[str]) -> list[str]:
    stored = [o for o in options if o != WORKING]
    if not stored:
        return options[:MAX_SCENARIOS]
    base = state.DEFAULT_SCENARIO if state.DEFAULT_SCENARIO in stored else stored[0]
    pick = [base]
    if WORKING in options and (state.folder_name() != base or state.has_unsaved_changes()):
        pick.append(WORKING)
    else:
        pick += [o for o in stored if o != base][:1] or ([WORKING] if WORKING in options else [])
    return pick


def working_option(infos: dict) -> bool:
    """The working scenario is offered on its own when it differs from every saved one (unsaved or not saved)."""
    if state.working() is None:
        return False
    return state.folder_name() not in infos or state.has_unsaved_changes()


def picker(infos: dict) -> list[str]:
    options = ([WORKING] if working_option(infos) else []) + list(infos)
    ss = st.session_state

    def valid(picks: list[str]) -> list[str]:
        # once saved, "the working scenario" is its folder
        picks = [state.folder_name() if o == WORKING and WORKING not in options else o for o in picks]
        return list(dict.fromkeys(o for o in picks if o in options))

    # The multiselect keeps its own key (compare_pick) so that "working" can become its folder once saved;
    # compare_selection keeps the choice while the page is not shown.
    if "compare_pick" not in ss:
        remembered = valid(ss.get("compare_selection", []))
        ss.compare_pick = remembered if len(remembered) >= 2 else default_pick(options)
    else:
        ss.compare_pick = valid(ss.compare_pick)
    labels = {o: working_name() if o == WORKING else library.picker_label(o, infos[o].name, infos[o].read_only)
              for o in options}
    picked = st.multiselect(tr("cmp.pick"), options, key="compare_pick", max_selections=MAX_SCENARIOS,
                            format_func=labels.get, help=tr("cmp.pick_help"), placeholder=tr("cmp.pick_placeholder"))
    ss.compare_selection = list(picked)
    if len(picked) >= 2:
        st.caption(tr("cmp.base_note", name=labels[picked[0]]))
    return list(picked)


def load(picked: list[str], infos: dict) -> tuple[list[Scenario], list[str]] | None:
    """The picked scenarios and their names; None after showing why one cannot be read."""
    scenarios, names = [], []
    for option in picked:
        if option == WORKING:
            scn, problems = state.working(), []
            name = tr("cmp.working_short", name=(scn.name or tr("common.unnamed")))
        else:
            scn, problems = cache.stored_scenario(option)
            name = infos[option].name or option
        if scn is None:
            st.error(tr("cmp.load_failed", name=name, n=state.error_count(problems)), icon=":material/error:")
            widgets.problems_table(problems, spreadsheet_rows=True)
            return None
        scenarios.append(scn)
        names.append(name)
    return scenarios, names


def comparison(scenarios: list[Scenario], names: list[str]) -> Comparison | None:
    """Solve each scenario (kept) and compare; None after saying what failed."""
    results = []
    with st.container():  # the solves' progress boxes, one after another
        for scn, name in zip(scenarios, names):
            entry = cache.get_entry(scn)
            if entry is None or not entry.result.has_solution:
                st.error(tr("cmp.solve_failed", name=name), icon=":material/error:")
                if entry is not None:
                    widgets.solve_outcome(entry.result)
                return None
            results.append(entry.result)
    try:
        return cv.without_names(compare(scenarios, results, names))
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        st.error(tr("cmp.failed", error=str(exc)))
        return None


def summary(comp: Comparison, scenarios: list[Scenario]) -> None:
    changed_kpis = cv.kpi_changes(comp)
    if comp.is_empty() and not changed_kpis:
        st.success(tr("cmp.no_difference"), icon=":material/check_circle:")
    else:
        st.info(tr("cmp.summary", inputs=len(comp.inputs), pairings=len(comp.pairings), kpis=len(changed_kpis)),
                icon=":material/compare_arrows:")
    audit = combined_record(scenarios, state.solver_settings()[0])
    widgets.download(st, "cmp.download", cv.comparison_csv(comp, scenarios, lang(), audit), "comparison.csv",
                     "download_compare", help=tr("cmp.download_help"))


def kpis_and_inputs(comp: Comparison, scenarios: list[Scenario]) -> None:
    st.subheader(tr("cmp.kpis_title"))
    st.dataframe(cv.kpi_table(comp, lang()), hide_index=True)
    st.caption(tr("cmp.kpis_note"))
    st.subheader(tr("cmp.inputs_title"))
    if comp.inputs.empty:
        st.caption(tr("cmp.inputs_none"))
    else:
        st.dataframe(cv.inputs_table(comp, scenarios, lang()), hide_index=True)


def proceeds(comp: Comparison) -> None:
    st.subheader(tr("cmp.proceeds_title"))
    chart = cv.proceeds_chart(comp, lang())
    if chart is None:
        st.caption(tr("cmp.proceeds_none"))
        return
    widgets.chart(st, chart)
    with st.expander(tr("cmp.proceeds_table")):
        st.dataframe(cv.counties_table(comp, lang()), hide_index=True)


def pairings(comp: Comparison) -> None:
    st.subheader(tr("cmp.pairings_title"))
    if comp.pairings.empty:
        st.caption(tr("cmp.pairings_none"))
        return
    for name in comp.names[1:]:
        mine = comp.pairings[comp.pairings["scenario"] == name]
        st.markdown(tr("cmp.pairings_vs", name=name, base=comp.names[0], n=len(mine)))
        chart = cv.pairing_chart(comp, name, lang())
        if chart is not None:
            widgets.chart(st, chart)
        n_price = int((mine["change"] == "price_changed").sum())
        if n_price:
            st.caption(tr("cmp.price_only", n=n_price))
    # the price columns are text ('—' when a pairing is absent): align them like numbers
    prices = {t(k, lang()): st.column_config.TextColumn(alignment="right")
              for k in ("cmp.col_price_base", "cmp.col_price_other")}
    st.dataframe(cv.pairings_table(comp, lang(), display=True), hide_index=True, column_config=prices)


def benefit(comp: Comparison) -> None:
    st.subheader(tr("cmp.benefit_title"))
    table = cv.benefit_table(comp, lang())
    if table.empty:
        st.caption(tr("cmp.benefit_none"))
    else:
        st.caption(tr("cmp.benefit_note"))
        st.dataframe(table, hide_index=True)
