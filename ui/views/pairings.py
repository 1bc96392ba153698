"""What the pairings page draws: the solver settings, the option to keep the plan close to a reference plan, the
recommended pairings with their download and what changed since the previous plan, the flow chart and map, the
per-county explanations and the shadow prices."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import policy
from planner.compare import plan_delta
from planner.export.common import quality_rule
from planner.model import SolveResult
from planner.i18n import choice_label, fmt_mu, fmt_number, t
from ui import cache, library, state, widgets
from ui.cache import SolveEntry, figure
from ui.cache import audit as audit_for
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


# --------------------------------------------------------------------------- stable plans and what changed

HISTORY = "pairings_history"  # {"scenario": folder, "plans": [(content hash, SolveResult)]}: what this page showed
MAX_PLANS = 2  # the plan shown and the one before it (for other content): all the deltas and the reference need
PREVIOUS = "__previous__"  # the reference "the previous plan", as opposed to a saved scenario's slug


def stable_settings() -> dict | None:
    """The "keep close to the previous plan" toggle with its tolerance and reference; None when off."""
    cols = st.columns([3, 2, 3], vertical_alignment="bottom")
    on = widgets.kept(cols[0].toggle, "stable_on", False, label=tr("stable.toggle"), help=tr("stable.toggle_help"))
    if not on:
        return None
    pct = widgets.kept(cols[1].number_input, "stable_tolerance_pct", 0.1, label=tr("stable.tolerance"),
                       min_value=0.0, max_value=50.0, step=0.05, format="%.2f", help=tr("stable.tolerance_help"))
    infos = {i.slug: i for i in state.scenario_infos()}
    options = [PREVIOUS, *infos]
    reference = widgets.kept(
        cols[2].selectbox, "stable_reference", PREVIOUS, label=tr("stable.reference"), options=options,
        help=tr("stable.reference_help"),
        format_func=widgets.labels_now(options, lambda o: tr("stable.reference_previous") if o == PREVIOUS
                                       else library.picker_label(o, infos[o].name, infos[o].read_only)))
    return {"tolerance": float(pct or 0.0) / 100.0, "reference": reference}


def _plans() -> list:
    """This page's plans of the working scenario in this session (a scenario opened anew starts afresh)."""
    ss = st.session_state
    ident = state.folder_name() or ""
    hist = ss.get(HISTORY)
    if not isinstance(hist, dict) or hist.get("scenario") != ident:
        hist = ss[HISTORY] = {"scenario": ident, "plans": []}
    return hist["plans"]


def _saved_plan(slug: str) -> pd.DataFrame | None:
    scn, problems = cache.stored_scenario(slug)
    if scn is None:
        widgets.problems_table(problems)
        return None
    entry = cache.get_entry(scn)
    return entry.result.pairings if entry is not None and entry.result.has_solution else None


def current_entry(scn, force: bool, stable: dict | None) -> tuple[SolveEntry | None, SolveResult | None]:
    """The plan to show (the optimum, or with `stable` the nearest plan to the reference) and the previous plan: the
    last one this page showed for other content of this scenario (before the edit). Records what is shown."""
    plans = _plans()
    content = cache.scenario_hash(scn)
    previous = next((r for h, r in reversed(plans) if h != content), None)
    entry = None
    if stable is not None:
        if stable["reference"] == PREVIOUS:
            reference = previous.pairings if previous is not None and previous.has_solution else None
            if reference is None:
                st.info(tr("stable.no_previous"), icon=":material/info:")
        else:
            reference = _saved_plan(stable["reference"])
        if reference is not None:
            entry = cache.near_entry(scn, reference, stable["tolerance"], force=force)
    if entry is None:
        cache.forget_near(scn)
        entry = cache.get_entry(scn, force=force)
    if entry is not None:
        plans[:] = ([p for p in plans if p[0] != content] + [(content, entry.result)])[-MAX_PLANS:]
    return entry, previous


def stable_note(entry: SolveEntry) -> None:
    totals = entry.result.totals
    if "near_tolerance" not in totals:
        return
    if not totals.get("near_found"):
        st.warning(tr("stable.not_found"), icon=":material/warning:")
        return
    best = float(totals["optimum_objective"])
    loss = max(0.0, (best - entry.result.objective) / abs(best) * 100.0) if best else 0.0
    st.info(tr("stable.note", changed=fmt_mu(totals["reference_changed_mu"]),
               plain=fmt_mu(totals["optimum_changed_mu"]), loss=f"{loss:.3f}",
               tol=f"{100.0 * totals['near_tolerance']:g}"), icon=":material/anchor:")


def changes(entry: SolveEntry, previous: SolveResult | None) -> None:
    """After a re-solve: the pairings added, removed or changed since the previous plan, tinted by kind, and the
    way to the full comparison."""
    if previous is None or not previous.has_solution:
        return
    delta = plan_delta(previous, entry.result)
    with st.container(border=True):
        st.markdown(f"**{tr('delta.title')}**")
        if delta.pairings.empty:
            st.caption(tr("delta.none"))
        else:
            n = delta.counts()
            st.markdown(tr("delta.summary", added=n["added"], removed=n["removed"], changed=n["changed"],
                           price=n["price_changed"], mu=fmt_mu(delta.changed_mu)))
            st.dataframe(results.changes_styled(delta.pairings, lang()), hide_index=True)
        st.caption(tr("delta.caption"))
        st.page_link("pages/5_compare.py", label=tr("delta.link"), icon=":material/compare_arrows:")


def solve_facts(entry: SolveEntry, previous: SolveResult | None = None) -> None:
    """The headline figures; after a re-solve, with their change since the previous plan."""
    result = entry.result
    if previous is None or not previous.has_solution:
        widgets.kpi_row(result.totals)
    else:
        figures = results.kpi_deltas(result.totals, previous.totals, lang())
        for box, (label, value, help_text, delta, colour) in zip(st.columns(len(figures)), figures):
            box.metric(label, value, delta=delta, delta_color=colour, help=help_text)
    st.caption(tr("pairings.solve_facts", solver=choice_label("solver", result.solver, lang()),
                  seconds=f"{result.seconds_build + result.seconds_solve:.2f}",
                  pairs=result.totals.get("admissible_pairs", 0), hash=result.scenario_hash))


def pairings_table(entry: SolveEntry) -> None:
    result = entry.result
    st.subheader(tr("pairings.table_title"))
    if result.pairings.empty:
        st.info(tr("pairings.none"))
        return
    rule = quality_rule(state.working())
    shown = pairings_filter(result.pairings)
    view = figure(results.pairings_view, result.pairings, lang(), rule)
    st.dataframe(view[shown].reset_index(drop=True), hide_index=True, column_config=table_columns())
    if not shown.all():
        st.caption(tr("pairings.filtered", shown=int(shown.sum()), total=len(result.pairings)))
    adjusted = result.pairings[result.pairings["plan_adjustment_mu"] > 1e-6]
    if not adjusted.empty:
        st.warning(tr("pairings.adjust_warning", n=len(adjusted), mu=fmt_mu(adjusted["plan_adjustment_mu"].sum()),
                      article=policy.cite(results.PLAN_ADJUSTMENT_ARTICLE, lang())), icon=":material/flag:")
    audit, lg = audit_for(state.working(), result), lang()  # the CSV is built when clicked, not on every run
    widgets.download(st, "pairings.download", lambda: results.pairings_export(result.pairings, lg, audit=audit,
                                                                                   quality_rule=rule),
                     f"{state.file_stem()}_pairings.csv", "download_pairings")


def pairings_filter(pairings: pd.DataFrame):
    """The table's county and year filters (kept across reruns): which rows the table shows (the download keeps the
    whole plan)."""
    names = dict(zip(pairings["seller_code"].astype(str), pairings["seller_name"]))
    names.update(zip(pairings["buyer_code"].astype(str), pairings["buyer_name"]))
    codes = sorted(names)
    years = sorted({int(y) for y in pd.to_numeric(pairings["year"], errors="coerce").dropna()}) \
        if "year" in pairings else []
    cols = st.columns([3, 1]) if years else [st.container()]
    picked = widgets.kept(cols[0].multiselect, "pairings_counties", [], label=tr("pairings.filter_counties"),
                          options=codes, placeholder=tr("pairings.filter_counties_all"),
                          help=tr("pairings.filter_counties_help"),
                          format_func=widgets.labels_now(codes, lambda c: widgets.county_label(names, c)))
    year = None
    if years:
        options = ["all", *years]
        year = widgets.kept(cols[1].selectbox, "pairings_year", "all", label=tr("pairings.filter_year"),
                            options=options,
                            format_func=widgets.labels_now(options, lambda y: tr("pairings.filter_year_all")
                                                           if y == "all" else str(y)))
    return results.pairings_shown(pairings, picked, None if year in (None, "all") else year)


def flow_tab(entry: SolveEntry) -> None:
    chart = figure(flows.flow_chart, entry.result.pairings, lang())
    if chart is None:
        st.info(tr("pairings.none"))
        return
    st.caption(tr("pairings.flow_caption"))
    widgets.chart(st, chart)


def map_tab(scn, entry: SolveEntry) -> None:
    result = entry.result
    chart = figure(flows.map_chart, scn.counties, result.counties, result.pairings, lang())
    if chart is None:
        st.info(tr("pairings.map_none"))
        return
    st.caption(tr("pairings.map_caption"))
    widgets.chart(st, chart, width="content")


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
    st.dataframe(figure(results.county_view, shown, lg), hide_index=True, column_config=table_columns())
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
    priced = entry.result.constraints.get("shadow_price")
    if entry.result.is_mip and (priced is None or priced.isna().all()):
        st.info(tr("pairings.shadow_mip"))  # too large for a second solve, or the time was up
        return
    if entry.result.is_mip:
        st.info(tr("pairings.shadow_mip_fixed"), icon=":material/info:")
    if entry.shadow.empty:
        st.info(tr("pairings.shadow_none"))
    else:
        st.dataframe(results.shadow_view(entry.shadow, lang()), hide_index=True)
