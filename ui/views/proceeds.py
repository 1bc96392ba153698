"""What the proceeds page draws (money follows people, articles 17-18): the allocation parameters, the pickers of
scope and rules, the plain verdict with money per person by resettlement mode and the headline figures, the
comparison of rules (inequality measures in an expander), the money flow and the allocation table with its
download. Allocation logic lives in planner.proceeds; tables and charts in ui/figures/proceeds.py."""
from __future__ import annotations

import hashlib
import json

import streamlit as st

from planner import schema
from planner.i18n import fmt_number, fmt_wan
from planner.proceeds import RULES, benefit_metrics, equal_benefit_gap, mode_benefit, verdict
from planner.scenario import Scenario
from ui import cache, state, widgets
from ui.figures import proceeds as pv
from ui.i18n import lang, tr

PARAMS = [p for p in schema.PARAMS if p.section == "proceeds"]
FORM = "proceeds_param"
MAX_RULES = 4


def params(scn: Scenario) -> None:
    """The allocation parameters, validated like the editor's; a newly adopted rule becomes the detail rule."""
    with st.expander(tr("proceeds.params_title"), expanded=widgets.form_feedback_pending(FORM),
                     icon=":material/tune:"):
        st.caption(tr("proceeds.params_caption"))
        # the version changes with the [proceeds] section (edited here, in the editor or by loading another
        # scenario) so that the widgets start again from the scenario's values; the language too (see kept)
        body = json.dumps(scn.settings.get("proceeds", {}), sort_keys=True, default=str)
        version = f"{hashlib.sha256(body.encode()).hexdigest()[:10]}_{lang()}"
        widgets.param_form(scn, FORM, PARAMS, version=version, texts="proceeds", columns=len(PARAMS),
                           by_section=False, extra_help="proceeds.help", border=False, on_applied=_follow_rule)


def _follow_rule(before: Scenario, after: Scenario) -> None:
    if after.param("proceeds", "rule") != before.param("proceeds", "rule"):
        widgets.request("proceeds_detail_rule", after.param("proceeds", "rule"))


def solve_entry(scn: Scenario):
    """The solve to allocate from, or None after offering to run it (like the pairings page)."""
    entry = cache.allocation_entry(scn, run=bool(st.session_state.pop("proceeds_run_solve", False)))
    if entry is None:
        st.info(tr("proceeds.no_solve"), icon=":material/info:")
        st.button(tr("proceeds.run"), type="primary", icon=":material/play_arrow:", key="proceeds_run",
                  on_click=st.session_state.update, kwargs={"proceeds_run_solve": True})
    return entry


def rule_text(rule: str, adopted: str) -> str:
    return pv.rule_label(rule, lang()) + (" ★" if rule == adopted else "")


def pickers(scn: Scenario, pairings) -> tuple[str | None, list[str]]:
    """The scope (the province or one producing county) and the 2-4 rules to compare."""
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    codes = list(dict.fromkeys(list(pairings["seller_code"]) + list(scn.relocation["county_code"])))
    adopted = scn.param("proceeds", "rule")
    cols = st.columns([1, 2])
    scopes = [pv.PROVINCE] + codes
    scope = widgets.kept(cols[0].selectbox, "proceeds_scope", pv.PROVINCE, per_lang=True, label=tr("proceeds.scope"),
                         options=scopes, help=tr("proceeds.scope_help"),
                         format_func=widgets.labels_now(scopes, lambda c: tr("proceeds.scope_province")
                                                        if c == pv.PROVINCE else widgets.county_label(names, c)))
    rules = widgets.kept(cols[1].multiselect, "proceeds_rules", list(RULES), label=tr("proceeds.rules"),
                         options=list(RULES), max_selections=MAX_RULES, help=tr("proceeds.rules_help"),
                         format_func=widgets.labels_now(RULES, lambda r: rule_text(r, adopted)))
    return (None if scope == pv.PROVINCE else scope), [r for r in RULES if r in rules]


def scope_name(scn: Scenario, county: str | None) -> str:
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    return tr("proceeds.scope_province") if county is None else names.get(county, county)


def headline(scn: Scenario, pairings, county: str | None) -> None:
    """What a reader without statistics needs first: the plain verdict on equal benefit (article 18) under the
    adopted rule, how much each relocated person gets by resettlement mode (bars), then the totals."""
    lg = lang()
    adopted = cache.allocation(scn, pairings)
    rows = adopted.counties if county is None else adopted.counties[adopted.counties["county_code"] == county]
    groups = pv.scoped(adopted.groups, county)
    m = cache.shared(benefit_metrics, groups)
    rule = adopted.params.rule
    st.subheader(tr("proceeds.plain_title"))
    gap = cache.shared(equal_benefit_gap, groups)
    _verdict({"rule": rule, "equal_benefit": gap <= 1e-6, "mode_gap": gap})
    st.markdown(tr("proceeds.plain_sentence", scope=scope_name(scn, county), rule=pv.rule_label(rule, lg),
                   persons=fmt_number(groups["persons"].sum(), 0), per_person=fmt_number(m["mean_per_person_wan"], 2)))
    st.markdown(f"**{tr('proceeds.mode_bars_title', rule=pv.rule_label(rule, lg))}**")
    modes = cache.shared(mode_benefit, groups).assign(rule=rule)
    _chart(cache.figure(pv.mode_bars, pv.mode_frame(modes, [rule], lg), lg))
    if county is None:
        st.caption(tr("proceeds.modes_province_note"))
    cols = st.columns(4)
    cols[0].metric(tr("proceeds.kpi.gross"), fmt_number(rows["gross_wan"].sum(), 1))
    cols[1].metric(tr("proceeds.kpi.household"), fmt_number(rows["household_wan"].sum(), 1))
    cols[2].metric(tr("proceeds.kpi.persons"), fmt_number(groups["persons"].sum(), 0))
    cols[3].metric(tr("proceeds.kpi.per_person"), fmt_number(m["mean_per_person_wan"], 2))
    st.caption(tr("proceeds.kpi_caption", scope=scope_name(scn, county), rule=pv.rule_label(rule, lg)))
    p = adopted.params
    st.caption(tr("proceeds.shares_line", cost=fmt_number(p.reclamation_cost_per_mu, 2),
                  fin=f"{p.financing_repayment_share * 100:.0f}%", col=f"{p.collective_share * 100:.0f}%"))
    # said next to the figures: the pool is money used for the relocated groups, not a household's cash
    st.info(tr("proceeds.use_note"), icon=":material/volunteer_activism:")
    lost = rows[rows["unallocated_wan"] > 0.005]
    if not lost.empty:
        st.warning(tr("proceeds.unallocated_warning", n=len(lost), wan=fmt_wan(lost["unallocated_wan"].sum())),
                   icon=":material/warning:")


def _verdict(row: dict) -> None:
    text = verdict(row, lang())
    if row["equal_benefit"]:
        st.success(text, icon=":material/balance:")
    else:
        st.warning(text, icon=":material/warning:")


def number_columns() -> dict:
    return widgets.number_columns(pv.number_formats(lang()))


def compare(scn: Scenario, metrics_table, modes, allocs, rules: list[str], county: str | None) -> None:
    """The other rules' verdicts and their per-person bars side by side; the inequality measures (Gini, Lorenz
    curves, spread per county) one click deeper, for the specialists."""
    lg = lang()
    adopted = scn.param("proceeds", "rule")
    st.subheader(tr("proceeds.compare_title"))
    others = [row for row in metrics_table.to_dict("records") if row["rule"] != adopted]
    if others:
        st.markdown(f"**{tr('proceeds.verdict_title')}**")
        for row in others:
            _verdict(row)
    st.markdown(f"**{tr('proceeds.modes_title')}**")
    _chart(cache.figure(pv.mode_chart, cache.figure(pv.mode_frame, modes, rules, lg), rules, lg))
    st.caption(tr("proceeds.modes_caption") + ("" if county is not None else " " + tr("proceeds.modes_province_note")))
    with st.expander(tr("proceeds.inequality_expander"), icon=":material/query_stats:"):
        st.markdown(f"**{tr('proceeds.metrics_title')}**")
        st.dataframe(pv.metrics_view(metrics_table, adopted, lg), hide_index=True, column_config=number_columns())
        st.caption(tr("proceeds.metrics_caption"))
        st.markdown(f"**{tr('proceeds.lorenz_title')}**")
        _chart(cache.figure(pv.lorenz_chart, cache.figure(pv.lorenz_frame, allocs, rules, county, lg), rules, lg))
        st.caption(tr("proceeds.lorenz_caption"))
        st.markdown(f"**{tr('proceeds.counties_title' if county is None else 'proceeds.groups_title')}**")
        _chart(cache.figure(pv.benefit_chart, cache.figure(pv.benefit_frame, allocs, rules, county, lg), rules,
                            county is None, lg))
        st.caption(tr("proceeds.counties_caption" if county is None else "proceeds.groups_caption"))


def _chart(chart, none_key: str | None = None, **fmt) -> None:
    if chart is not None:
        widgets.chart(st, chart)
    elif none_key:
        st.info(tr(none_key, **fmt))


def money_flow(scn: Scenario, allocs, rules: list[str], county: str | None) -> tuple[str, object]:
    """The deductions waterfall and where the households' money goes under the detail rule; returns that rule
    and its groups in scope."""
    lg = lang()
    adopted = scn.param("proceeds", "rule")
    name = scope_name(scn, county)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{tr('proceeds.waterfall_title', county=name)}**")
        counties = allocs[rules[0]].counties
        rows = counties if county is None else counties[counties["county_code"] == county]
        _chart(cache.figure(pv.waterfall_chart, cache.figure(pv.waterfall_frame, rows, lg), lg),
               "proceeds.waterfall_none", county=name)
        st.caption(tr("proceeds.waterfall_caption"))
    with right:
        st.markdown(f"**{tr('proceeds.flow_title')}**")
        detail = widgets.kept(st.selectbox, "proceeds_detail_rule", adopted if adopted in rules else rules[0],
                              per_lang=True, label=tr("proceeds.detail_rule"), options=rules,
                              format_func=widgets.labels_now(rules, lambda r: rule_text(r, adopted)))
        groups = pv.scoped(allocs[detail].groups, county)
        _chart(cache.figure(pv.destination_chart, cache.figure(pv.destination_frame, groups, lg), lg),
               "proceeds.flow_none")
        st.caption(tr("proceeds.flow_caption", rule=pv.rule_label(detail, lg)))
    return detail, groups


def allocation(scn: Scenario, result, groups, detail: str, county: str | None) -> None:
    """Groups resettled elsewhere, then every group's money under the detail rule, with the CSV."""
    st.markdown(f"**{tr('proceeds.moves_title')}**")
    moves = cache.figure(pv.moves_view, groups, lang())
    if moves.empty:
        st.caption(tr("proceeds.moves_none"))
    else:
        st.dataframe(moves, hide_index=True, column_config=number_columns())
    st.subheader(tr("proceeds.detail_title"))
    st.dataframe(cache.figure(pv.allocation_view, groups, lang()), hide_index=True, column_config=number_columns())
    suffix = "" if county is None else f"_{county}"
    lg, audit = lang(), cache.audit(scn, result)  # the CSV is built when the button is clicked, not on every run
    widgets.download(st, "proceeds.download", lambda: pv.allocation_csv(groups, detail, lg, audit),
                     f"{state.file_stem()}_proceeds_{detail}{suffix}.csv", "download_proceeds")
