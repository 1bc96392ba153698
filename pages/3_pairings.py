"""优化配对 Pairings: solve the working scenario and explain the recommended seller→buyer pairings."""
from __future__ import annotations

import streamlit as st

import app_state as state
import app_views as views
from planner.audit import audit_record
from planner.i18n import choice_label, fmt_mu, fmt_number

NUMBER_FORMATS = {"quota_mu": "localized", "amount_wan": "localized", "plan_adjustment_mu": "localized",
                  "price_wan_per_mu": "%.2f", "lo_price": "%.2f", "hi_price": "%.2f", "surplus_mu": "localized",
                  "sold_mu": "localized", "unsold_mu": "localized", "proceeds_wan": "localized",
                  "demand_mu": "localized", "bought_mu": "localized", "unmet_mu": "localized",
                  "paid_wan": "localized"}


SOLVER_NAMES = {"highs": "HiGHS", "cbc": "CBC"}


def number_columns(lang: str) -> dict:
    cfg = {views.col(name, lang): st.column_config.NumberColumn(format=fmt) for name, fmt in NUMBER_FORMATS.items()}
    cfg[views.col("reason", lang)] = st.column_config.TextColumn(width="large")
    cfg[views.col("note", lang)] = st.column_config.TextColumn(width="large")
    return cfg


def solver_settings() -> bool:
    """Solver choice and time limit (kept across pages); returns True when the user asks to run again."""
    ss = st.session_state
    with st.expander(state.tr("pairings.settings")):
        cols = st.columns(2)
        solver = ss.get("solver", state.DEFAULT_SOLVER)
        ss.solver = cols[0].selectbox(state.tr("pairings.solver"), state.SOLVERS,
                                      index=state.SOLVERS.index(solver) if solver in state.SOLVERS else 0,
                                      format_func=lambda s: state.tr(f"solver.{s}"),
                                      help=state.tr("pairings.solver_help"))
        ss.time_limit = cols[1].number_input(state.tr("pairings.time_limit"), min_value=1.0, max_value=3600.0,
                                             value=float(ss.get("time_limit", state.DEFAULT_TIME_LIMIT)), step=10.0,
                                             help=state.tr("pairings.time_limit_help"))
    st.button(state.tr("pairings.run"), type="primary", icon=":material/play_arrow:", key="run_solve",
              on_click=ss.update, kwargs={"force_solve": True})
    return bool(ss.pop("force_solve", False))


def pairings_section(entry, lang: str, file_stem: str) -> None:
    result = entry.result
    st.subheader(state.tr("pairings.table_title"))
    if result.pairings.empty:
        st.info(state.tr("pairings.none"))
        return
    view = views.pairings_view(result.pairings, lang)
    st.dataframe(view, hide_index=True, column_config=number_columns(lang))
    adjusted = result.pairings[result.pairings["plan_adjustment_mu"] > 1e-6]
    if not adjusted.empty:
        st.warning(state.tr("pairings.adjust_warning", n=len(adjusted),
                            mu=fmt_mu(adjusted["plan_adjustment_mu"].sum()), article=views.PLAN_ADJUSTMENT_ARTICLE),
                   icon=":material/flag:")
    audit = audit_record(state.working(), result)
    st.download_button(state.tr("pairings.download"), data=views.pairings_export(result.pairings, lang, audit=audit),
                       file_name=f"{file_stem}_pairings.csv", mime="text/csv", icon=":material/download:",
                       on_click="ignore", key="download_pairings")


def counties_section(scn, entry, lang: str) -> None:
    report = entry.report
    if entry.explain_error:
        st.warning(state.tr("pairings.explain_failed", error=entry.explain_error))
    roles = ["all", "seller", "buyer"]
    role = st.segmented_control(state.tr("pairings.filter"), roles, default="all",
                                format_func=lambda r: state.tr(f"pairings.filter_{r}"), key="county_filter")
    shown = report
    if role == "seller":
        shown = report[report["role"].isin(["seller", "both"]) | (report["surplus_mu"] > 0)]
    elif role == "buyer":
        shown = report[report["role"].isin(["buyer", "both"])]
    st.dataframe(views.county_view(shown, lang), hide_index=True, column_config=number_columns(lang))
    names = dict(zip(report["code"], report["name"]))
    codes = report.loc[report["role"] != "none", "code"].tolist() or list(names)
    code = st.selectbox(state.tr("pairings.pick_county"), codes, format_func=lambda c: f"{names.get(c, c)}（{c}）")
    row = report[report["code"] == code].iloc[0]
    st.markdown(f"**{row['name']}** · {choice_label('poverty_class', row['poverty_class'], lang)} · "
                f"{choice_label('role', row['role'], lang)}")
    figures = []
    if row["role"] in ("seller", "both") or row["surplus_mu"] > 0:
        figures += ["surplus_mu", "sold_mu", "unsold_mu", "proceeds_wan"]
    if row["role"] in ("buyer", "both"):
        figures += ["demand_mu", "bought_mu", "unmet_mu", "paid_wan"]
    if figures:
        cols = st.columns(4)
        for i, name in enumerate(figures):
            cols[i % 4].metric(state.tr(f"col.{name}"), fmt_number(row[name], 1))  # the label carries the unit
    reason = row.get("reason_en" if lang == "en" else "reason_zh", "")
    if reason:
        st.info(reason, icon=":material/lightbulb:")
    mine = entry.shadow[entry.shadow["code"] == code]
    for text in mine["text_en" if lang == "en" else "text_zh"]:
        st.write(f"- {text}")


def shadow_section(entry, lang: str) -> None:
    st.caption(state.tr("pairings.shadow_intro"))
    if entry.result.is_mip:
        st.info(state.tr("pairings.shadow_mip"))
        return
    if entry.shadow.empty:
        st.info(state.tr("pairings.shadow_none"))
        return
    st.dataframe(views.shadow_view(entry.shadow, lang), hide_index=True)


def main() -> None:
    lang = state.lang()
    st.title(state.tr("pairings.title"))
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    st.caption(state.tr("pairings.intro", name=scn.name or state.tr("common.unnamed")))
    if st.session_state.get("editor_errors"):
        st.warning(state.tr("pairings.pending_edits", n=st.session_state.editor_errors))
    force = solver_settings()
    entry = state.get_entry(scn, force=force)
    if entry is None:
        return
    result = entry.result
    state.show_solve_outcome(result)
    if not result.has_solution:
        return
    cols = st.columns(5)
    for box, (label, value, help_text) in zip(cols, views.kpis(result.totals, lang)):
        box.metric(label, value, help=help_text)
    st.caption(state.tr("pairings.solve_facts", solver=SOLVER_NAMES.get(result.solver, result.solver), seconds=f"{result.seconds_build + result.seconds_solve:.2f}",
                        pairs=result.totals.get("admissible_pairs", 0), hash=result.scenario_hash))
    file_stem = state.folder_name() or "scenario"
    pairings_section(entry, lang, file_stem)
    tabs = st.tabs([state.tr("pairings.tab_flows"), state.tr("pairings.tab_map"), state.tr("pairings.tab_counties"),
                    state.tr("pairings.tab_shadow")])
    with tabs[0]:
        chart = views.flow_chart(result.pairings, lang)
        if chart is None:
            st.info(state.tr("pairings.none"))
        else:
            st.caption(state.tr("pairings.flow_caption"))
            st.altair_chart(chart, width="stretch")
    with tabs[1]:
        chart = views.map_chart(scn.counties, result.counties, result.pairings, lang)
        if chart is None:
            st.info(state.tr("pairings.map_none"))
        else:
            st.caption(state.tr("pairings.map_caption"))
            st.altair_chart(chart, width="content")
    with tabs[2]:
        counties_section(scn, entry, lang)
    with tabs[3]:
        shadow_section(entry, lang)


state.require_app()
main()
