"""What the pairings page draws: the solver settings, the recommended pairings with their download, the flow chart
and map, the per-county explanations and the shadow prices."""
from __future__ import annotations

import streamlit as st

from planner.audit import audit_record
from planner import policy
from planner.i18n import choice_label, fmt_mu, fmt_number, t
from ui import state, widgets
from ui.cache import SolveEntry
from ui.figures import flows, results
from ui.i18n import lang, tr

COUNTY_FILTERS = ["all", "seller", "buyer"]


def table_columns() -> dict:
    lg = lang()
    return widgets.number_columns(results.number_formats(lg), wide=(t("col.reason", lg), t("col.note", lg)))


def solver_settings() -> bool:
    """Solver choice and time limit (kept across pages); returns True when the user asks to run again."""
    with st.expander(tr("pairings.settings")):
        cols = st.columns(2)
        widgets.kept(cols[0].selectbox, "solver", state.DEFAULT_SOLVER, label=tr("pairings.solver"),
                     options=state.SOLVERS, help=tr("pairings.solver_help"),
                     format_func=widgets.labels_now(state.SOLVERS, lambda s: tr(f"solver.{s}")))
        widgets.kept(cols[1].number_input, "time_limit", state.DEFAULT_TIME_LIMIT, label=tr("pairings.time_limit"),
                     min_value=1.0, max_value=3600.0, step=10.0, help=tr("pairings.time_limit_help"))
    st.button(tr("pairings.run"), type="primary", icon=":material/play_arrow:", key="run_solve",
              on_click=st.session_state.update, kwargs={"force_solve": True})
    return bool(st.session_state.pop("force_solve", False))


def solve_facts(entry: SolveEntry) -> None:
    result = entry.result
    widgets.kpi_row(result.totals)
    st.caption(tr("pairings.solve_facts", solver=choice_label("solver", result.solver, lang()),
                  seconds=f"{result.seconds_build + result.seconds_solve:.2f}",
                  pairs=result.totals.get("admissible_pairs", 0), hash=result.scenario_hash))


def pairings_table(entry: SolveEntry) -> None:
    result = entry.result
    st.subheader(tr("pairings.table_title"))
    if result.pairings.empty:
        st.info(tr("pairings.none"))
        return
    st.dataframe(results.pairings_view(result.pairings, lang()), hide_index=True, column_config=table_columns())
    adjusted = result.pairings[result.pairings["plan_adjustment_mu"] > 1e-6]
    if not adjusted.empty:
        st.warning(tr("pairings.adjust_warning", n=len(adjusted), mu=fmt_mu(adjusted["plan_adjustment_mu"].sum()),
                      article=policy.cite(results.PLAN_ADJUSTMENT_ARTICLE, lang())), icon=":material/flag:")
    audit = audit_record(state.working(), result)
    widgets.download(st, "pairings.download", results.pairings_export(result.pairings, lang(), audit=audit),
                     f"{state.file_stem()}_pairings.csv", "download_pairings")


def flow_tab(entry: SolveEntry) -> None:
    chart = flows.flow_chart(entry.result.pairings, lang())
    if chart is None:
        st.info(tr("pairings.none"))
        return
    st.caption(tr("pairings.flow_caption"))
    st.altair_chart(chart, width="stretch")


def map_tab(scn, entry: SolveEntry) -> None:
    result = entry.result
    chart = flows.map_chart(scn.counties, result.counties, result.pairings, lang())
    if chart is None:
        st.info(tr("pairings.map_none"))
        return
    st.caption(tr("pairings.map_caption"))
    st.altair_chart(chart, width="content")


def counties_tab(entry: SolveEntry) -> None:
    lg = lang()
    report = entry.report
    if entry.explain_error:
        st.warning(tr("pairings.explain_failed", error=entry.explain_error))
    role = st.segmented_control(tr("pairings.filter"), COUNTY_FILTERS, default="all",
                                format_func=widgets.labels_now(COUNTY_FILTERS, lambda r: tr(f"pairings.filter_{r}")),
                                key="county_filter")
    shown = report
    if role == "seller":
        shown = report[report["role"].isin(["seller", "both"]) | (report["surplus_mu"] > 0)]
    elif role == "buyer":
        shown = report[report["role"].isin(["buyer", "both"])]
    st.dataframe(results.county_view(shown, lg), hide_index=True, column_config=table_columns())
    names = dict(zip(report["code"], report["name"]))
    codes = report.loc[report["role"] != "none", "code"].tolist() or list(names)
    code = st.selectbox(tr("pairings.pick_county"), codes,
                        format_func=widgets.labels_now(codes, lambda c: widgets.county_label(names, c)))
    row = report[report["code"] == code].iloc[0]
    st.markdown(f"**{row['name']}** · {choice_label('poverty_class', row['poverty_class'], lg)} · "
                f"{choice_label('role', row['role'], lg)}")
    figures = []
    if row["role"] in ("seller", "both") or row["surplus_mu"] > 0:
        figures += ["surplus_mu", "sold_mu", "unsold_mu", "proceeds_wan"]
    if row["role"] in ("buyer", "both"):
        figures += ["demand_mu", "bought_mu", "unmet_mu", "paid_wan"]
    if figures:
        cols = st.columns(4)
        for i, name in enumerate(figures):
            cols[i % 4].metric(tr(f"col.{name}"), fmt_number(row[name], 1))  # the label carries the unit
    reason = row.get("reason_en" if lg == "en" else "reason_zh", "")
    if reason:
        st.info(reason, icon=":material/lightbulb:")
    mine = entry.shadow[entry.shadow["code"] == code]
    for text in mine["text_en" if lg == "en" else "text_zh"]:
        st.write(f"- {text}")


def shadow_tab(entry: SolveEntry) -> None:
    st.caption(tr("pairings.shadow_intro"))
    if entry.result.is_mip:
        st.info(tr("pairings.shadow_mip"))
    elif entry.shadow.empty:
        st.info(tr("pairings.shadow_none"))
    else:
        st.dataframe(results.shadow_view(entry.shadow, lang()), hide_index=True)
