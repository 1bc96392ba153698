"""收益分配 Proceeds: money follows people (articles 17-18).

The proceeds of the recommended pairings return to the producing counties; the page applies the allocation
parameters of the working scenario (editable here, validated like the editor's parameter form), compares 2-4
allocation rules side by side for one county or the whole province, and offers the allocation as CSV. Allocation
logic lives in planner.proceeds; tables and charts in proceeds_views.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict

import streamlit as st

import app_state as state
import app_views as views
import proceeds_views as pv
from planner.audit import audit_record
from planner import schema
from planner.i18n import fmt_number, fmt_wan, label, param_help
from planner.proceeds import RULES, allocate, benefit_metrics, compare_rules, verdict
from planner.scenario import Scenario
from planner.validate import errors, validate_scenario

PARAMS = [p for p in schema.PARAMS if p.section == "proceeds"]
MEMO_SIZE = 8


# --------------------------------------------------------------------------- parameters (callbacks run first)


def params_version(scn: Scenario) -> str:
    """Changes whenever the scenario's [proceeds] section changes (here, in the editor or by loading another
    scenario), so that the widgets start again from the scenario's values."""
    body = scn.settings.get("proceeds", {})
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]


def widget_key(p: schema.Param, ver: str) -> str:
    return f"proceeds_param_{p.key}_{ver}"


def apply_params(ver: str) -> None:
    """Form callback: the candidate settings are checked by planner.validate like every other change; applied to
    the working scenario only without errors (the editor's apply_params does the same)."""
    ss = st.session_state
    scn = state.working()
    if scn is None:
        return
    settings = copy.deepcopy(scn.settings)
    section = settings.get("proceeds")
    if not isinstance(section, dict):
        section = settings["proceeds"] = {}
    for p in PARAMS:
        key = widget_key(p, ver)
        if key not in ss or ss[key] is None:
            continue
        value = ss[key]
        section[p.key] = float(value) if p.kind == "number" else value
    candidate = Scenario(settings, scn.counties, scn.pairs, scn.relocation)
    problems = errors(validate_scenario(candidate))
    if problems:
        ss.proceeds_params_feedback = ("error", problems)
        return
    if section.get("rule") != scn.param("proceeds", "rule"):
        ss.proceeds_detail_rule_request = section.get("rule")  # the detail follows a newly adopted rule
    state.set_working(state.normalised(candidate), reset_editor=False)
    ss.proceeds_params_feedback = ("ok", [])


def params_section(scn: Scenario, lang: str) -> None:
    feedback = st.session_state.pop("proceeds_params_feedback", None)
    with st.expander(state.tr("proceeds.params_title"), expanded=feedback is not None, icon=":material/tune:"):
        if feedback is not None:
            kind, problems = feedback
            if kind == "ok":
                st.success(state.tr("proceeds.params_applied"), icon=":material/check_circle:")
            else:
                st.error(state.tr("proceeds.params_invalid", n=len(problems)), icon=":material/error:")
                st.dataframe(views.problems_view(problems, lang), hide_index=True)
        st.caption(state.tr("proceeds.params_caption"))
        ver = f"{params_version(scn)}_{lang}"  # the language too: see select()
        with st.form(f"proceeds_params_{ver}", border=False):
            cols = st.columns(len(PARAMS))
            for col, p in zip(cols, PARAMS):
                with col:
                    param_widget(scn, p, ver, lang)
            st.form_submit_button(state.tr("proceeds.params_apply"), type="primary", icon=":material/check:",
                                  on_click=apply_params, args=(ver,))


def param_widget(scn: Scenario, p: schema.Param, ver: str, lang: str) -> None:
    help_text = f"{state.tr(f'proceeds.help.{p.key}')} {param_help(p, lang)}".strip()
    value = scn.param("proceeds", p.key)
    key = widget_key(p, ver)
    if p.kind == "choice":
        options = list(p.allowed)
        st.selectbox(label(p, lang), options, index=options.index(value) if value in options else 0, key=key,
                     help=help_text, format_func=lambda r: pv.rule_label(r, lang))
    else:
        # No min/max on the widget: planner.validate is the one place that says what is allowed, and its
        # message (file, parameter, allowed range) is what the user sees.
        step = 0.05 if p.maximum is not None and p.maximum <= 1 else 0.5
        st.number_input(label(p, lang), value=float(value), step=step, key=key, help=help_text, format="%.2f")


# --------------------------------------------------------------------------- the solve to allocate from


def solve_entry(scn: Scenario):
    """The solve whose pairings are allocated: the cached solve of the working scenario, or one of a scenario that
    differs only in what the model never reads (allocation parameters, relocation rows). None: none yet, and the
    page offers to run it (like the pairings page)."""
    ss = st.session_state
    memo: OrderedDict = ss.setdefault("proceeds_solves", OrderedDict())
    key = (pv.model_key(scn), *state.solve_key(scn)[1:])
    if ss.pop("proceeds_run_solve", False):
        entry = state.get_entry(scn)
    else:
        entry = state.cached_entry(scn) or memo.get(key)
    if entry is None:
        st.info(state.tr("proceeds.no_solve"), icon=":material/info:")
        st.button(state.tr("proceeds.run"), type="primary", icon=":material/play_arrow:", key="proceeds_run",
                  on_click=ss.update, kwargs={"proceeds_run_solve": True})
        return None
    memo[key] = entry
    memo.move_to_end(key)
    while len(memo) > MEMO_SIZE:
        memo.popitem(last=False)
    return entry


# --------------------------------------------------------------------------- comparison


def select(label: str, options: list, name: str, default, lang: str, **kwargs):
    """A selectbox whose choice survives the language switch. Its key carries the language because the browser
    keeps showing the old language's label of the chosen option when only the labels change; the choice itself
    is kept under `name` and handed to the new widget. A callback may ask for another choice in `<name>_request`."""
    ss = st.session_state
    value = ss.get(name)
    if value not in options:
        value = default
    key = f"{name}_{lang}"
    request = ss.pop(f"{name}_request", None)
    if request in options:
        ss[key] = request
    elif ss.get(key) not in options:
        ss[key] = value
    ss[name] = st.selectbox(label, options, key=key, **kwargs)
    return ss[name]


def pickers(scn: Scenario, pairings, lang: str) -> tuple[str | None, list[str]]:
    ss = st.session_state
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    codes = list(dict.fromkeys(list(pairings["seller_code"]) + list(scn.relocation["county_code"])))
    ss.setdefault("proceeds_rules", list(RULES))
    ss.proceeds_rules = [r for r in ss.proceeds_rules if r in RULES][:4]
    cols = st.columns([1, 2])
    with cols[0]:
        scope = select(state.tr("proceeds.scope"), [pv.PROVINCE] + codes, "proceeds_scope", pv.PROVINCE, lang,
                       help=state.tr("proceeds.scope_help"),
                       format_func=lambda c: pv.tx("scope_province", lang) if c == pv.PROVINCE
                       else f"{names.get(c, c)}（{c}）")
    adopted = scn.param("proceeds", "rule")
    rules = cols[1].multiselect(state.tr("proceeds.rules"), list(RULES), key="proceeds_rules", max_selections=4,
                                help=state.tr("proceeds.rules_help"),
                                format_func=lambda r: pv.rule_label(r, lang) + (" ★" if r == adopted else ""))
    return (None if scope == pv.PROVINCE else scope), [r for r in RULES if r in rules]


def headline(scn, pairings, county: str | None, scope_name: str, lang: str) -> None:
    adopted = allocate(scn, pairings)
    rows = adopted.counties if county is None else adopted.counties[adopted.counties["county_code"] == county]
    groups = pv.scoped(adopted.groups, county)
    m = benefit_metrics(groups)
    cols = st.columns(4)
    cols[0].metric(state.tr("proceeds.kpi.gross"), fmt_number(rows["gross_wan"].sum(), 1))
    cols[1].metric(state.tr("proceeds.kpi.household"), fmt_number(rows["household_wan"].sum(), 1))
    cols[2].metric(state.tr("proceeds.kpi.persons"), fmt_number(groups["persons"].sum(), 0))
    cols[3].metric(state.tr("proceeds.kpi.per_person"), fmt_number(m["mean_per_person_wan"], 2))
    st.caption(state.tr("proceeds.kpi_caption", scope=scope_name, rule=pv.rule_label(adopted.params.rule, lang)))
    lost = rows[rows["unallocated_wan"] > 0.005]
    if not lost.empty:
        st.warning(state.tr("proceeds.unallocated_warning", n=len(lost), wan=fmt_wan(lost["unallocated_wan"].sum())),
                   icon=":material/warning:")


def number_columns(lang: str) -> dict:
    return {name: st.column_config.NumberColumn(format=fmt) for name, fmt in pv.number_formats(lang).items()}


def main() -> None:
    lang = state.lang()
    st.title(state.tr("proceeds.title"))
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    st.caption(state.tr("proceeds.intro", name=scn.name or state.tr("common.unnamed")))
    if st.session_state.get("editor_errors"):
        st.warning(state.tr("pairings.pending_edits", n=st.session_state.editor_errors))
    if scn.relocation.empty:
        st.info(state.tr("proceeds.no_relocation"), icon=":material/group_off:")
        st.page_link("pages/2_editor.py", label=state.tr("proceeds.go_editor"), icon=":material/edit_note:")
        return
    params_section(scn, lang)
    entry = solve_entry(scn)
    if entry is None:
        return
    result = entry.result
    if result.status != "optimal":
        state.show_solve_outcome(result)
    if not result.has_solution:
        return
    pairings = result.pairings
    adopted = scn.param("proceeds", "rule")

    st.subheader(state.tr("proceeds.compare_title"))
    county, rules = pickers(scn, pairings, lang)
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    scope_name = state.tr("proceeds.scope_province") if county is None else names.get(county, county)
    headline(scn, pairings, county, scope_name, lang)
    if not rules:
        st.info(state.tr("proceeds.rules_none"))
        return
    if len(rules) < 2:
        st.info(state.tr("proceeds.rules_too_few"))
    metrics, modes, allocs = compare_rules(scn, pairings, rules, county=county)

    st.markdown(f"**{state.tr('proceeds.metrics_title')}**")
    st.dataframe(pv.metrics_view(metrics, adopted, lang), hide_index=True, column_config=number_columns(lang))
    st.caption(state.tr("proceeds.metrics_caption"))
    st.markdown(f"**{state.tr('proceeds.verdict_title')}**")
    for row in metrics.to_dict("records"):
        text = verdict(row, lang)
        if row["equal_benefit"]:
            st.success(text, icon=":material/balance:")
        else:
            st.warning(text, icon=":material/warning:")

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{state.tr('proceeds.modes_title')}**")
        chart = pv.mode_chart(pv.mode_frame(modes, rules, lang), rules, lang)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.caption(state.tr("proceeds.modes_caption") + ("" if county is not None else " " + state.tr("proceeds.modes_province_note")))
    with right:
        st.markdown(f"**{state.tr('proceeds.lorenz_title')}**")
        chart = pv.lorenz_chart(pv.lorenz_frame(allocs, rules, county, lang), rules, lang)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.caption(state.tr("proceeds.lorenz_caption"))

    st.markdown(f"**{state.tr('proceeds.counties_title' if county is None else 'proceeds.groups_title')}**")
    chart = pv.benefit_chart(pv.benefit_frame(allocs, rules, county, lang), rules, county is None, lang)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.caption(state.tr("proceeds.counties_caption" if county is None else "proceeds.groups_caption"))

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{state.tr('proceeds.waterfall_title', county=scope_name)}**")
        any_alloc = allocs[rules[0]]
        rows = any_alloc.counties if county is None else any_alloc.counties[any_alloc.counties["county_code"] == county]
        chart = pv.waterfall_chart(pv.waterfall_frame(rows, lang), lang)
        if chart is None:
            st.info(state.tr("proceeds.waterfall_none", county=scope_name))
        else:
            st.altair_chart(chart, width="stretch")
        st.caption(state.tr("proceeds.waterfall_caption"))
    with right:
        st.markdown(f"**{state.tr('proceeds.flow_title')}**")
        detail = select(state.tr("proceeds.detail_rule"), rules, "proceeds_detail_rule",
                        adopted if adopted in rules else rules[0], lang,
                        format_func=lambda r: pv.rule_label(r, lang) + (" ★" if r == adopted else ""))
        groups = pv.scoped(allocs[detail].groups, county)
        chart = pv.destination_chart(pv.destination_frame(groups, lang), lang)
        if chart is None:
            st.info(state.tr("proceeds.flow_none"))
        else:
            st.altair_chart(chart, width="stretch")
        st.caption(state.tr("proceeds.flow_caption", rule=pv.rule_label(detail, lang)))

    st.markdown(f"**{state.tr('proceeds.moves_title')}**")
    moves = pv.moves_view(groups, lang)
    if moves.empty:
        st.caption(state.tr("proceeds.moves_none"))
    else:
        st.dataframe(moves, hide_index=True, column_config=number_columns(lang))

    st.subheader(state.tr("proceeds.detail_title"))
    st.dataframe(pv.allocation_view(groups, lang), hide_index=True, column_config=number_columns(lang))
    stem = state.folder_name() or "scenario"
    suffix = "" if county is None else f"_{county}"
    audit = audit_record(scn, result)
    st.download_button(state.tr("proceeds.download"), data=pv.allocation_csv(groups, detail, lang, audit),
                       file_name=f"{stem}_proceeds_{detail}{suffix}.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore", key="download_proceeds")


state.require_app()
main()
