"""情景比较 Compare: pick 2–4 scenarios (saved ones and the working one, even unsaved), solve each (cached) and show
what differs: headline figures side by side, per-county proceeds, pairings that changed, inputs, per-person benefit.
"""
from __future__ import annotations

import streamlit as st

import app_compare_views as cv
import app_state as state
import app_store
import app_views as views
from planner.audit import combined_record
from planner.compare import compare
from planner.i18n import t
from planner.store import StoreError
from planner.validate import Problem

WORKING = "__working__"
MAX_SCENARIOS = 4


def load_stored(slug: str):
    """A saved scenario, read again only when its files changed (keyed by the store's version stamp)."""
    cache = st.session_state.setdefault("compare_loaded", {})
    store = state.store()
    try:
        stamp = store.info(slug).stamp
    except StoreError as exc:
        return None, [Problem(slug, None, "", "", exc.message_zh, exc.message_en)]
    hit = cache.get(slug)
    if hit is not None and hit[0] == stamp:
        return hit[1], []
    scn, problems, stamp = store.open(slug)
    if scn is not None:
        cache[slug] = (stamp, scn)
    return scn, problems


def working_name() -> str:
    scn = state.working()
    name = (scn.name if scn is not None else "") or state.tr("common.unnamed")
    return state.tr("cmp.working_unsaved" if state.has_unsaved_changes() else "cmp.working", name=name)


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

    if "compare_pick" not in ss:
        remembered = valid(ss.get("compare_selection", []))
        ss.compare_pick = remembered if len(remembered) >= 2 else default_pick(options)
    else:
        ss.compare_pick = valid(ss.compare_pick)

    labels = {o: working_name() if o == WORKING else app_store.picker_label(o, infos[o].name, infos[o].read_only)
              for o in options}
    picked = st.multiselect(state.tr("cmp.pick"), options, key="compare_pick", max_selections=MAX_SCENARIOS,
                            format_func=labels.get, help=state.tr("cmp.pick_help"),
                            placeholder=state.tr("cmp.pick_placeholder"))
    ss.compare_selection = list(picked)
    if len(picked) >= 2:
        st.caption(state.tr("cmp.base_note", name=labels[picked[0]]))
    return list(picked)


def price_columns(lang: str) -> dict:
    """The displayed pairings' price columns are text ('—' when a pairing is absent): align them like numbers."""
    return {t(k, lang): st.column_config.TextColumn(alignment="right")
            for k in ("cmp.col_price_base", "cmp.col_price_other")}


def main() -> None:
    lang = state.lang()
    st.title(state.tr("cmp.title"))
    st.caption(state.tr("cmp.intro"))
    infos = {i.slug: i for i in state.scenario_infos()}
    picked = picker(infos)
    if len(picked) < 2:
        st.info(state.tr("cmp.pick_more"), icon=":material/info:")
        return

    scenarios, names = [], []
    for option in picked:
        if option == WORKING:
            scn, problems = state.working(), []
            name = state.tr("cmp.working_short", name=(scn.name or state.tr("common.unnamed")))
        else:
            scn, problems = load_stored(option)
            name = infos[option].name or option
        if scn is None:
            st.error(state.tr("cmp.load_failed", name=name, n=state.error_count(problems)), icon=":material/error:")
            st.dataframe(views.problems_view(problems, lang, spreadsheet_rows=True), hide_index=True)
            return
        scenarios.append(scn)
        names.append(name)

    results = []
    with st.container():
        for scn, name in zip(scenarios, names):
            entry = state.get_entry(scn)
            if entry is None or not entry.result.has_solution:
                st.error(state.tr("cmp.solve_failed", name=name), icon=":material/error:")
                if entry is not None:
                    state.show_solve_outcome(entry.result)
                return
            results.append(entry.result)
    try:
        comp = cv.without_names(compare(scenarios, results, names))
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        st.error(state.tr("cmp.failed", error=str(exc)))
        return

    changed_kpis = cv.kpi_changes(comp)
    if comp.is_empty() and not changed_kpis:
        st.success(state.tr("cmp.no_difference"), icon=":material/check_circle:")
    else:
        st.info(state.tr("cmp.summary", inputs=len(comp.inputs), pairings=len(comp.pairings),
                         kpis=len(changed_kpis)), icon=":material/compare_arrows:")
    audit = combined_record(scenarios, state.solver_settings()[0])
    st.download_button(state.tr("cmp.download"), data=cv.comparison_csv(comp, scenarios, lang, audit),
                       file_name="comparison.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
                       key="download_compare", help=state.tr("cmp.download_help"))

    st.subheader(state.tr("cmp.kpis_title"))
    st.dataframe(cv.kpi_table(comp, lang), hide_index=True)
    st.caption(state.tr("cmp.kpis_note"))

    st.subheader(state.tr("cmp.inputs_title"))
    if comp.inputs.empty:
        st.caption(state.tr("cmp.inputs_none"))
    else:
        st.dataframe(cv.inputs_table(comp, scenarios, lang), hide_index=True)

    st.subheader(state.tr("cmp.proceeds_title"))
    chart = cv.proceeds_chart(comp, lang)
    if chart is None:
        st.caption(state.tr("cmp.proceeds_none"))
    else:
        st.altair_chart(chart, width="stretch")
        with st.expander(state.tr("cmp.proceeds_table")):
            st.dataframe(cv.counties_table(comp, lang), hide_index=True)

    st.subheader(state.tr("cmp.pairings_title"))
    if comp.pairings.empty:
        st.caption(state.tr("cmp.pairings_none"))
    else:
        for name in comp.names[1:]:
            mine = comp.pairings[comp.pairings["scenario"] == name]
            st.markdown(state.tr("cmp.pairings_vs", name=name, base=comp.names[0], n=len(mine)))
            chart = cv.pairing_chart(comp, name, lang)
            if chart is not None:
                st.altair_chart(chart, width="stretch")
            n_price = int((mine["change"] == "price_changed").sum())
            if n_price:
                st.caption(state.tr("cmp.price_only", n=n_price))
        st.dataframe(cv.pairings_table(comp, lang, display=True), hide_index=True,
                     column_config=price_columns(lang))

    st.subheader(state.tr("cmp.benefit_title"))
    benefit = cv.benefit_table(comp, lang)
    if benefit.empty:
        st.caption(state.tr("cmp.benefit_none"))
    else:
        st.caption(state.tr("cmp.benefit_note"))
        st.dataframe(benefit, hide_index=True)


state.require_app()
main()
