"""敏感性分析 Sensitivity: parameter sweeps (KPIs against one parameter, how pairings change) and Monte Carlo
robustness of the recommended pairings. Results are kept per browser session, keyed by the scenario's content hash
and the settings, so coming back to the page is instant."""
from __future__ import annotations

import time
from collections import OrderedDict

import streamlit as st

import app_state as state
import app_views_sensitivity as sv
from planner.audit import audit_record
from planner.i18n import choice_label, fmt_number
from planner.sensitivity import (BUYER_COLUMNS, GLOBAL_PARAMS, PARAM_LABELS, SELLER_COLUMNS, SpecError,
                                 current_value, default_range, monte_carlo, param_label, sweep, sweep_values)

COUNTY = "county"
MAX_KEPT = 6  # results kept per kind in the session
DEFAULT_STEPS = 11
DEFAULT_RUNS = 200


def kept(key: str, default):
    """A widget key whose value survives leaving the page (Streamlit drops the state of widgets not drawn in a
    run): the widget uses `_w_<key>`, started from the kept value `<key>`; call `keep(key)` after drawing it."""
    ss = st.session_state
    wkey = f"_w_{key}"
    if wkey not in ss:
        ss[wkey] = ss.get(key, default)
    return wkey


def keep(key: str):
    ss = st.session_state
    ss[key] = ss[f"_w_{key}"]
    return ss[key]


def remember(store: str, key: tuple, value) -> None:
    cache: OrderedDict = st.session_state.setdefault(store, OrderedDict())
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_KEPT:
        cache.popitem(last=False)


def recall(store: str, key: tuple):
    return st.session_state.setdefault(store, OrderedDict()).get(key)


def progress_bar():
    bar = st.progress(0.0, text=state.tr("sens.starting"))

    def report(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=state.tr("sens.progress", done=done, total=total))

    return bar, report


def number_config(df, lang: str) -> dict:
    cfg = {}
    for name in df.columns:
        if str(df[name].dtype).startswith(("float", "int", "Int")):
            cfg[name] = st.column_config.NumberColumn(format="localized")
    return cfg


# --------------------------------------------------------------------------- sweep


def choose_parameter(scn, lang: str) -> str:
    """The parameter picker; returns the spec string."""
    kinds = [*GLOBAL_PARAMS, COUNTY]
    labels = {k: (PARAM_LABELS[k][1] if lang == "en" else PARAM_LABELS[k][0]) for k in GLOBAL_PARAMS}
    labels[COUNTY] = state.tr("sens.param_county")
    cols = st.columns([2, 2, 2])
    kind = cols[0].selectbox(state.tr("sens.param"), kinds, key=kept("sens_kind", kinds[0]),
                             format_func=labels.get, help=state.tr("sens.param_help"))
    keep("sens_kind")
    if kind != COUNTY:
        return kind
    sellers, buyers = set(scn.seller_codes()), set(scn.buyer_codes())
    c = scn.counties
    codes = [x for x in c["code"] if x in sellers] + [x for x in c["code"] if x in buyers and x not in sellers]
    if not codes:
        codes = c["code"].tolist()
    names = dict(zip(c["code"], c["name"]))

    def role(code):
        r = "both" if code in sellers and code in buyers else "seller" if code in sellers else "buyer"
        return choice_label("role", r, lang)

    ss = st.session_state
    if ss.get("_w_sens_county") not in codes:
        ss.pop("_w_sens_county", None)
        ss.pop("sens_county", None)
    code = cols[1].selectbox(state.tr("sens.county"), codes, key=kept("sens_county", codes[0]),
                             format_func=lambda x: state.tr("sens.county_item", name=names.get(x, x), code=x,
                                                            role=role(x)))
    keep("sens_county")
    columns = [*(SELLER_COLUMNS if code in sellers else ()), *(BUYER_COLUMNS if code in buyers else ())] \
        or list(SELLER_COLUMNS + BUYER_COLUMNS)
    if ss.get("_w_sens_column") not in columns:
        ss.pop("_w_sens_column", None)
        ss.pop("sens_column", None)
    column = cols[2].selectbox(state.tr("sens.quantity"), columns, key=kept("sens_column", columns[0]),
                               format_func=lambda x: PARAM_LABELS[x][1] if lang == "en" else PARAM_LABELS[x][0])
    keep("sens_column")
    return f"county:{code}:{column}"


def choose_range(scn, spec: str) -> list[float] | None:
    lo, hi = default_range(scn, spec)
    step = 0.05 if spec == "pricing.bargaining_weight" else (1.0 if "price" in spec or "guide" in spec else 50.0)
    cols = st.columns(3)
    start = cols[0].number_input(state.tr("sens.start"), step=step, key=kept(f"sens_start|{spec}", lo))
    keep(f"sens_start|{spec}")
    stop = cols[1].number_input(state.tr("sens.stop"), step=step, key=kept(f"sens_stop|{spec}", hi))
    keep(f"sens_stop|{spec}")
    steps = cols[2].number_input(state.tr("sens.steps"), min_value=2, max_value=51, step=1,
                                 key=kept("sens_steps", DEFAULT_STEPS), help=state.tr("sens.steps_help"))
    keep("sens_steps")
    if start is None or stop is None:
        return None
    try:
        values = sweep_values(start, stop, int(steps))
    except SpecError as exc:
        st.error(state.tr("sens.bad_input", error=str(exc)))
        return None
    shown = ", ".join(sv.value_label(v) for v in values[:6]) + (" …" if len(values) > 6 else "")
    cur = current_value(scn, spec)
    if cur is None:
        st.caption(state.tr("sens.current_blank", values=shown))
    else:
        st.caption(state.tr("sens.current", value=sv.value_label(cur), values=shown))
    return values


def sweep_tab(scn, lang: str) -> None:
    ss = st.session_state
    spec = choose_parameter(scn, lang)
    values = choose_range(scn, spec)
    st.button(state.tr("sens.run_sweep"), type="primary", icon=":material/play_arrow:", key="sens_run_sweep",
              on_click=ss.update, kwargs={"sens_do_sweep": True}, disabled=values is None)
    run = bool(ss.pop("sens_do_sweep", False))
    if values is None:
        return
    solver, limit = state.solver_settings()
    key = (scn.content_hash(), spec, tuple(values), solver, limit)
    if run:
        bar, report = progress_bar()
        t0 = time.perf_counter()
        try:
            kpis, pairs = sweep(scn, spec, values, solver=solver, time_limit=limit, progress=report)
        except SpecError as exc:
            bar.empty()
            st.error(state.tr("sens.bad_input", error=str(exc)))
            return
        bar.empty()
        remember("sens_sweeps", key, {"kpis": kpis, "pairs": pairs, "seconds": time.perf_counter() - t0})
    entry = recall("sens_sweeps", key)
    if entry is None:
        st.info(state.tr("sens.press_run"), icon=":material/info:")
        return
    show_sweep(scn, spec, entry, lang)


def show_sweep(scn, spec: str, entry: dict, lang: str) -> None:
    kpis, pairs = entry["kpis"], entry["pairs"]
    label = param_label(scn, spec, lang)
    invalid = kpis[kpis["status"] == "invalid"]
    if len(invalid):
        st.success(state.tr("sens.sweep_done_partial", n=len(kpis), solved=len(kpis) - len(invalid),
                            invalid=len(invalid), seconds=f"{entry['seconds']:.1f}"))
    else:
        st.success(state.tr("sens.sweep_done", n=len(kpis), seconds=f"{entry['seconds']:.1f}"))
    if len(invalid):
        lines = [f"- {sv.value_label(v)}：{p}" for v, p in
                 zip(invalid["value"], invalid["problem_en" if lang == "en" else "problem_zh"])]
        st.warning(state.tr("sens.invalid_steps", n=len(invalid)) + "\n" + "\n".join(lines))
    failed = kpis[kpis["status"].isin(["failed", "time_limit"])]
    if len(failed):
        st.warning(state.tr("sens.failed_steps", n=len(failed)))
    st.subheader(state.tr("sens.charts"))
    st.caption(state.tr("sens.charts_caption"))
    charts = sv.sweep_charts(kpis, label, current_value(scn, spec), lang)
    for row in range(0, len(charts), 2):
        cols = st.columns(2)
        for col, (title, chart) in zip(cols, charts[row:row + 2]):
            col.markdown(f"**{title}**")
            col.altair_chart(chart, width="stretch")
    st.subheader(state.tr("sens.pairs_table"))
    view = sv.sweep_pairs_view(kpis, pairs, lang)
    if view.empty:
        st.info(state.tr("sens.no_pairs"))
    else:
        st.caption(state.tr("sens.pairs_caption"))
        st.dataframe(view, hide_index=True, column_config=number_config(view, lang))
    with st.expander(state.tr("sens.kpi_table")):
        table = sv.sweep_table(kpis, label, lang)
        st.dataframe(table, hide_index=True, column_config=number_config(table, lang))
    stem = f"{state.folder_name() or 'scenario'}_sweep"
    cols = st.columns(2)
    cols[0].download_button(state.tr("sens.download_kpis"), data=sv.sweep_kpis_export(kpis, label, lang, sens_audit()),
                            file_name=f"{stem}_kpis.csv", mime="text/csv", icon=":material/download:",
                            on_click="ignore", key="sens_dl_kpis")
    cols[1].download_button(state.tr("sens.download_sweep_pairs"), data=sv.sweep_pairs_export(pairs, label, lang, sens_audit()),
                            file_name=f"{stem}_pairings.csv", mime="text/csv", icon=":material/download:",
                            on_click="ignore", key="sens_dl_sweep_pairs")


# --------------------------------------------------------------------------- Monte Carlo


def robust_tab(scn, lang: str) -> None:
    ss = st.session_state
    cols = st.columns(4)
    price = cols[0].number_input(state.tr("sens.price_pct"), min_value=0.0, max_value=90.0, step=5.0,
                                 key=kept("sens_price_pct", 10.0), help=state.tr("sens.price_pct_help"))
    keep("sens_price_pct")
    quantity = cols[1].number_input(state.tr("sens.quantity_pct"), min_value=0.0, max_value=90.0, step=5.0,
                                    key=kept("sens_quantity_pct", 10.0), help=state.tr("sens.quantity_pct_help"))
    keep("sens_quantity_pct")
    runs = cols[2].number_input(state.tr("sens.runs"), min_value=1, max_value=5000, step=50,
                                key=kept("sens_runs", DEFAULT_RUNS), help=state.tr("sens.runs_help"))
    keep("sens_runs")
    seed = cols[3].number_input(state.tr("sens.seed"), min_value=0, max_value=2**31 - 1, step=1,
                                key=kept("sens_seed", 0), help=state.tr("sens.seed_help"))
    keep("sens_seed")
    st.button(state.tr("sens.run_robust"), type="primary", icon=":material/play_arrow:", key="sens_run_robust",
              on_click=ss.update, kwargs={"sens_do_robust": True})
    run = bool(ss.pop("sens_do_robust", False))
    solver, limit = state.solver_settings()
    key = (scn.content_hash(), int(runs), float(price), float(quantity), int(seed), solver, limit)
    if run:
        bar, report = progress_bar()
        try:
            rob = monte_carlo(scn, n_runs=int(runs), price_pct=float(price) / 100, quantity_pct=float(quantity) / 100,
                              seed=int(seed), solver=solver, time_limit=limit,
                              workers=ss.get("sens_workers"), progress=report)
        except SpecError as exc:
            bar.empty()
            st.error(state.tr("sens.bad_input", error=str(exc)))
            return
        bar.empty()
        remember("sens_robust", key, rob)
    rob = recall("sens_robust", key)
    if rob is None:
        st.info(state.tr("sens.press_run_robust"), icon=":material/info:")
        return
    show_robust(rob, int(runs), lang)


def show_robust(rob, runs: int, lang: str) -> None:
    st.success(state.tr("sens.robust_done", runs=runs, seconds=f"{rob.seconds:.1f}", workers=rob.workers))
    if rob.note:
        st.caption(state.tr("sens.pool_fallback", note=rob.note))
    if rob.n_solved < runs:
        st.warning(state.tr("sens.unsolved_runs", n=runs - rob.n_solved))
    s = sv.robust_summary(rob.pairs)
    share = f"{100 * s['robust_mu'] / s['base_mu']:.0f}%" if s["base_mu"] > 0 else "—"
    cols = st.columns(3)
    cols[0].metric(state.tr("sens.m_robust"), state.tr("sens.m_robust_value", robust=s["robust"], base=s["base"]))
    cols[1].metric(state.tr("sens.m_robust_mu"), fmt_number(s["robust_mu"], 0),
                   help=state.tr("sens.m_robust_mu_help", share=share))
    cols[2].metric(state.tr("sens.m_seen"), s["seen"], help=state.tr("sens.m_seen_help"))

    st.subheader(state.tr("sens.chart_title"))
    st.caption(state.tr("sens.chart_caption", n=sv.MAX_BARS))
    chart = sv.frequency_chart(rob.pairs, lang)
    if chart is None:
        st.info(state.tr("sens.no_pairs"))
    else:
        st.altair_chart(chart, width="stretch")

    st.subheader(state.tr("sens.table_title"))
    show_all = st.toggle(state.tr("sens.show_all"), key="sens_show_all")
    pairs = rob.pairs if show_all else rob.pairs[rob.pairs["in_base"]]
    view = sv.robust_view(pairs, lang)
    st.caption(state.tr("sens.table_caption"))
    st.dataframe(view, hide_index=True, column_config=number_config(view, lang))
    st.subheader(state.tr("sens.counties_title"))
    st.caption(state.tr("sens.counties_caption"))
    cview = sv.county_robust_view(rob.counties, lang)
    st.dataframe(cview, hide_index=True, column_config=number_config(cview, lang))
    stem = f"{state.folder_name() or 'scenario'}_robustness"
    cols = st.columns(3)
    cols[0].download_button(state.tr("sens.download_robust"), data=sv.robust_export(rob.pairs, lang, sens_audit()),
                            file_name=f"{stem}_pairs.csv", mime="text/csv", icon=":material/download:",
                            on_click="ignore", key="sens_dl_robust")
    cols[1].download_button(state.tr("sens.download_runs"), data=sv.runs_export(rob.runs, lang, sens_audit()),
                            file_name=f"{stem}_runs.csv", mime="text/csv", icon=":material/download:",
                            on_click="ignore", key="sens_dl_runs")
    cols[2].download_button(state.tr("sens.download_counties"), data=sv.county_robust_export(rob.counties, lang, sens_audit()),
                            file_name=f"{stem}_counties.csv", mime="text/csv", icon=":material/download:",
                            on_click="ignore", key="sens_dl_counties")


def sens_audit() -> dict:
    """What produced the downloaded analysis: the working scenario, the solver settings, the time."""
    solver, limit = state.solver_settings()
    return audit_record(state.working(), None, solver=solver, time_limit=limit)


def main() -> None:
    lang = state.lang()
    st.title(state.tr("sens.title"))
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    st.caption(state.tr("sens.intro", name=scn.name or state.tr("common.unnamed")))
    tabs = st.tabs([state.tr("sens.tab_sweep"), state.tr("sens.tab_robust")])
    with tabs[0]:
        sweep_tab(scn, lang)
    with tabs[1]:
        st.info(state.tr("sens.robust_meaning"), icon=":material/verified:")
        robust_tab(scn, lang)


state.require_app()
main()
