"""What the sensitivity page draws: the sweep (parameter, range, KPI charts, how pairings change) and the Monte
Carlo robustness of the recommended pairings. Results are kept in ui/cache.py, keyed by the scenario's content hash
and the settings, so coming back to the page is instant; the settings are kept widgets (ui/widgets.py)."""
from __future__ import annotations

import time

import streamlit as st

from planner import schema
from planner.audit import audit_record
from planner.i18n import choice_label, column_label, fmt_number
from planner.sensitivity import (BUYER_COLUMNS, GLOBAL_PARAMS, SELLER_COLUMNS, SpecError, current_value,
                                 default_range, monte_carlo, param_label, sweep, sweep_values)
from ui import cache, state, widgets
from ui.figures import sensitivity as sv
from ui.i18n import lang, tr

COUNTY = "county"
DEFAULT_STEPS = 11
DEFAULT_RUNS = 200
COUNTY_COLUMNS = {c.name: c for c in schema.TABLES["counties"][1]}


def audit() -> dict:
    """What produced the downloaded analysis: the working scenario, the solver settings, the time."""
    solver, limit = state.solver_settings()
    return audit_record(state.working(), None, solver=solver, time_limit=limit)


def _run(compute):
    """compute(progress) with a progress bar; None after showing why the input was refused."""
    bar, report = widgets.progress_bar()
    try:
        return compute(report)
    except SpecError as exc:
        st.error(tr("sens.bad_input", error=str(exc)))
        return None
    finally:
        bar.empty()


# --------------------------------------------------------------------------- sweep


def choose_parameter(scn) -> str:
    """The parameter picker; returns the spec string."""
    lg = lang()
    kinds = [*GLOBAL_PARAMS, COUNTY]
    cols = st.columns([2, 2, 2])
    kind = widgets.kept(cols[0].selectbox, "sens_kind", kinds[0], label=tr("sens.param"), options=kinds,
                        help=tr("sens.param_help"),
                        format_func=widgets.labels_now(kinds, lambda k: tr("sens.param_county") if k == COUNTY
                                                        else param_label(None, k, lg)))
    if kind != COUNTY:
        return kind
    sellers, buyers = set(scn.seller_codes()), set(scn.buyer_codes())
    c = scn.counties
    codes = [x for x in c["code"] if x in sellers] + [x for x in c["code"] if x in buyers and x not in sellers]
    codes = codes or c["code"].tolist()
    names = dict(zip(c["code"], c["name"]))

    def role(code):
        r = "both" if code in sellers and code in buyers else "seller" if code in sellers else "buyer"
        return choice_label("role", r, lg)

    code = widgets.kept(cols[1].selectbox, "sens_county", codes[0], label=tr("sens.county"), options=codes,
                        format_func=widgets.labels_now(codes, lambda x: tr("sens.county_item", name=names.get(x, x),
                                                                            code=x, role=role(x))))
    columns = [*(SELLER_COLUMNS if code in sellers else ()), *(BUYER_COLUMNS if code in buyers else ())] \
        or list(SELLER_COLUMNS + BUYER_COLUMNS)
    column = widgets.kept(cols[2].selectbox, "sens_column", columns[0], label=tr("sens.quantity"), options=columns,
                          format_func=lambda x: column_label(COUNTY_COLUMNS[x], lg))
    return f"county:{code}:{column}"


def choose_range(scn, spec: str) -> list[float] | None:
    lo, hi = default_range(scn, spec)
    step = 0.05 if spec == "pricing.bargaining_weight" else (1.0 if "price" in spec or "guide" in spec else 50.0)
    cols = st.columns(3)
    start = widgets.kept(cols[0].number_input, f"sens_start|{spec}", lo, label=tr("sens.start"), step=step)
    stop = widgets.kept(cols[1].number_input, f"sens_stop|{spec}", hi, label=tr("sens.stop"), step=step)
    steps = widgets.kept(cols[2].number_input, "sens_steps", DEFAULT_STEPS, label=tr("sens.steps"), min_value=2,
                         max_value=51, step=1, help=tr("sens.steps_help"))
    if start is None or stop is None:
        return None
    try:
        values = sweep_values(start, stop, int(steps))
    except SpecError as exc:
        st.error(tr("sens.bad_input", error=str(exc)))
        return None
    shown = ", ".join(sv.value_label(v) for v in values[:6]) + (" …" if len(values) > 6 else "")
    cur = current_value(scn, spec)
    if cur is None:
        st.caption(tr("sens.current_blank", values=shown))
    else:
        st.caption(tr("sens.current", value=sv.value_label(cur), values=shown))
    return values


def sweep_tab(scn) -> None:
    ss = st.session_state
    spec = choose_parameter(scn)
    values = choose_range(scn, spec)
    st.button(tr("sens.run_sweep"), type="primary", icon=":material/play_arrow:", key="sens_run_sweep",
              on_click=ss.update, kwargs={"sens_do_sweep": True}, disabled=values is None)
    run = bool(ss.pop("sens_do_sweep", False))
    if values is None:
        return
    solver, limit = state.solver_settings()
    key = (scn.content_hash(), spec, tuple(values), solver, limit)
    if run:
        t0 = time.perf_counter()
        out = _run(lambda report: sweep(scn, spec, values, solver=solver, time_limit=limit, progress=report))
        if out is None:
            return
        cache.remember(cache.SWEEPS, key, {"kpis": out[0], "pairs": out[1], "seconds": time.perf_counter() - t0})
    entry = cache.recall(cache.SWEEPS, key)
    if entry is None:
        st.info(tr("sens.press_run"), icon=":material/info:")
        return
    show_sweep(scn, spec, entry)


def show_sweep(scn, spec: str, entry: dict) -> None:
    lg = lang()
    kpis, pairs = entry["kpis"], entry["pairs"]
    label = param_label(scn, spec, lg)
    invalid = kpis[kpis["status"] == "invalid"]
    if len(invalid):
        st.success(tr("sens.sweep_done_partial", n=len(kpis), solved=len(kpis) - len(invalid), invalid=len(invalid),
                      seconds=f"{entry['seconds']:.1f}"))
        lines = [f"- {sv.value_label(v)}：{p}" for v, p in
                 zip(invalid["value"], invalid["problem_en" if lg == "en" else "problem_zh"])]
        st.warning(tr("sens.invalid_steps", n=len(invalid)) + "\n" + "\n".join(lines))
    else:
        st.success(tr("sens.sweep_done", n=len(kpis), seconds=f"{entry['seconds']:.1f}"))
    failed = kpis[kpis["status"].isin(["failed", "time_limit"])]
    if len(failed):
        st.warning(tr("sens.failed_steps", n=len(failed)))
    st.subheader(tr("sens.charts"))
    st.caption(tr("sens.charts_caption"))
    charts = sv.sweep_charts(kpis, label, current_value(scn, spec), lg)
    for row in range(0, len(charts), 2):
        for col, (title, chart) in zip(st.columns(2), charts[row:row + 2]):
            col.markdown(f"**{title}**")
            widgets.chart(col, chart)
    st.subheader(tr("sens.pairs_table"))
    view = sv.sweep_pairs_view(kpis, pairs, lg)
    if view.empty:
        st.info(tr("sens.no_pairs"))
    else:
        st.caption(tr("sens.pairs_caption"))
        st.dataframe(view, hide_index=True, column_config=widgets.numeric_columns(view))
    with st.expander(tr("sens.kpi_table")):
        table = sv.sweep_table(kpis, label, lg)
        st.dataframe(table, hide_index=True, column_config=widgets.numeric_columns(table))
    stem = f"{state.file_stem()}_sweep"
    cols = st.columns(2)
    widgets.download(cols[0], "sens.download_kpis", sv.sweep_kpis_export(kpis, label, lg, audit()),
                     f"{stem}_kpis.csv", "sens_dl_kpis")
    widgets.download(cols[1], "sens.download_sweep_pairs", sv.sweep_pairs_export(pairs, label, lg, audit()),
                     f"{stem}_pairings.csv", "sens_dl_sweep_pairs")


# --------------------------------------------------------------------------- Monte Carlo


def robust_tab(scn) -> None:
    ss = st.session_state
    cols = st.columns(4)
    price = widgets.kept(cols[0].number_input, "sens_price_pct", 10.0, label=tr("sens.price_pct"), min_value=0.0,
                         max_value=90.0, step=5.0, help=tr("sens.price_pct_help"))
    quantity = widgets.kept(cols[1].number_input, "sens_quantity_pct", 10.0, label=tr("sens.quantity_pct"),
                            min_value=0.0, max_value=90.0, step=5.0, help=tr("sens.quantity_pct_help"))
    runs = widgets.kept(cols[2].number_input, "sens_runs", DEFAULT_RUNS, label=tr("sens.runs"), min_value=1,
                        max_value=5000, step=50, help=tr("sens.runs_help"))
    seed = widgets.kept(cols[3].number_input, "sens_seed", 0, label=tr("sens.seed"), min_value=0,
                        max_value=2**31 - 1, step=1, help=tr("sens.seed_help"))
    st.button(tr("sens.run_robust"), type="primary", icon=":material/play_arrow:", key="sens_run_robust",
              on_click=ss.update, kwargs={"sens_do_robust": True})
    run = bool(ss.pop("sens_do_robust", False))
    solver, limit = state.solver_settings()
    key = (scn.content_hash(), int(runs), float(price), float(quantity), int(seed), solver, limit)
    if run:
        rob = _run(lambda report: monte_carlo(
            scn, n_runs=int(runs), price_pct=float(price) / 100, quantity_pct=float(quantity) / 100, seed=int(seed),
            solver=solver, time_limit=limit, workers=ss.get("sens_workers"), progress=report))
        if rob is None:
            return
        cache.remember(cache.ROBUST, key, rob)
    rob = cache.recall(cache.ROBUST, key)
    if rob is None:
        st.info(tr("sens.press_run_robust"), icon=":material/info:")
        return
    show_robust(rob, int(runs))


def show_robust(rob, runs: int) -> None:
    lg = lang()
    st.success(tr("sens.robust_done", runs=runs, seconds=f"{rob.seconds:.1f}", workers=rob.workers))
    if rob.note:
        st.caption(tr("sens.pool_fallback", note=rob.note))
    if rob.n_solved < runs:
        st.warning(tr("sens.unsolved_runs", n=runs - rob.n_solved))
    s = sv.robust_summary(rob.pairs)
    share = f"{100 * s['robust_mu'] / s['base_mu']:.0f}%" if s["base_mu"] > 0 else "—"
    cols = st.columns(3)
    cols[0].metric(tr("sens.m_robust"), tr("sens.m_robust_value", robust=s["robust"], base=s["base"]))
    cols[1].metric(tr("sens.m_robust_mu"), fmt_number(s["robust_mu"], 0), help=tr("sens.m_robust_mu_help", share=share))
    cols[2].metric(tr("sens.m_seen"), s["seen"], help=tr("sens.m_seen_help"))

    st.subheader(tr("sens.chart_title"))
    st.caption(tr("sens.chart_caption", n=sv.MAX_BARS))
    chart = sv.frequency_chart(rob.pairs, lg)
    if chart is None:
        st.info(tr("sens.no_pairs"))
    else:
        widgets.chart(st, chart)

    st.subheader(tr("sens.table_title"))
    show_all = st.toggle(tr("sens.show_all"), key="sens_show_all")
    view = sv.robust_view(rob.pairs if show_all else rob.pairs[rob.pairs["in_base"]], lg)
    st.caption(tr("sens.table_caption"))
    st.dataframe(view, hide_index=True, column_config=widgets.numeric_columns(view))
    st.subheader(tr("sens.counties_title"))
    st.caption(tr("sens.counties_caption"))
    cview = sv.county_robust_view(rob.counties, lg)
    st.dataframe(cview, hide_index=True, column_config=widgets.numeric_columns(cview))
    stem = f"{state.file_stem()}_robustness"
    cols = st.columns(3)
    widgets.download(cols[0], "sens.download_robust", sv.robust_export(rob.pairs, lg, audit()),
                     f"{stem}_pairs.csv", "sens_dl_robust")
    widgets.download(cols[1], "sens.download_runs", sv.runs_export(rob.runs, lg, audit()),
                     f"{stem}_runs.csv", "sens_dl_runs")
    widgets.download(cols[2], "sens.download_counties", sv.county_robust_export(rob.counties, lg, audit()),
                     f"{stem}_counties.csv", "sens_dl_counties")
