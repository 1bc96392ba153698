"""The only place that keeps computed results per browser session: solves (with their explanations), solves reused
by the proceeds page, saved scenarios read for the compare page, sweeps and Monte Carlo runs.

Each kind lives in its own least-recently-used store in `st.session_state` (named below, so tests can look into
it), keyed by what the result depends on (the scenario's content hash and the settings), so revisiting a page
never computes again and two sessions never share a result.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from planner.explain import county_report, shadow_prices
from planner.i18n import fmt_mu
from planner.model import SolveResult, solve
from planner.scenario import Scenario
from planner.store import StoreError
from planner.validate import Problem
from ui import state
from ui.i18n import tr

SOLVES = "results"  # solve_key -> SolveEntry
MODEL_SOLVES = "proceeds_solves"  # (model_key, solver, limit) -> SolveEntry, see model_key
STORED = "compare_loaded"  # slug -> (stamp, Scenario)
SWEEPS = "sens_sweeps"  # (hash, spec, values, solver, limit) -> {"kpis", "pairs", "seconds"}
ROBUST = "sens_robust"  # (hash, runs, price %, quantity %, seed, solver, limit) -> Robustness
MAX_ENTRIES = {SOLVES: 8, MODEL_SOLVES: 8, STORED: 16, SWEEPS: 6, ROBUST: 6}


# --------------------------------------------------------------------------- the stores


def _store(name: str) -> OrderedDict:
    store = st.session_state.get(name)
    if not isinstance(store, OrderedDict):
        store = st.session_state[name] = OrderedDict(store or {})
    return store


def recall(name: str, key):
    """The kept value (and mark it as recently used), or None."""
    store = _store(name)
    if key not in store:
        return None
    store.move_to_end(key)
    return store[key]


def remember(name: str, key, value) -> None:
    store = _store(name)
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_ENTRIES[name]:
        store.popitem(last=False)


# --------------------------------------------------------------------------- solves


@dataclass
class SolveEntry:
    """One solve and its explanations (both languages), as the pages show them."""

    result: SolveResult
    report: pd.DataFrame  # explain.county_report: per-county figures with reason_zh / reason_en
    shadow: pd.DataFrame  # explain.shadow_prices
    explain_error: str = ""


def solve_key(scn: Scenario) -> tuple:
    solver, limit = state.solver_settings()
    return scn.content_hash(), solver, limit


def model_key(scn: Scenario) -> str:
    """Hash of what the matching model reads: the scenario without its [proceeds] section and relocation rows.

    The model never reads either (DESIGN sections 4 and 6), so a solve stays valid when only the allocation
    parameters or the relocation table change; the proceeds page reuses it instead of asking for a new solve.
    (A core function would be better placed in planner/; kept here until the core offers one.)"""
    settings = {k: v for k, v in scn.settings.items() if k != "proceeds"}
    return Scenario(settings, **{**scn.tables(), "relocation": scn.relocation.iloc[0:0]}).content_hash()


def cached_entry(scn: Scenario) -> SolveEntry | None:
    """The kept solve of exactly this scenario with the session's solver settings, without solving."""
    return _store(SOLVES).get(solve_key(scn))


def compute_entry(scn: Scenario, solver: str, time_limit: float | None) -> SolveEntry:
    """Solve and explain (no Streamlit calls; raises only on a bug in the core)."""
    result = solve(scn, solver=solver, time_limit=time_limit)
    try:
        report = county_report(scn, result)
        shadow = shadow_prices(scn, result)
        return SolveEntry(result, report, shadow)
    except Exception as exc:  # noqa: BLE001 - explanations are secondary; show the pairings anyway
        report = result.counties.assign(reason_code="", reason_zh="", reason_en="")
        return SolveEntry(result, report, pd.DataFrame(columns=["kind", "code", "name", "shadow_price", "text_zh",
                                                                "text_en"]), explain_error=str(exc))


def get_entry(scn: Scenario, force: bool = False) -> SolveEntry | None:
    """The kept solve of `scn`, or solve it now with visible progress. None when the solve itself crashed."""
    key = solve_key(scn)
    if not force:
        entry = recall(SOLVES, key)
        if entry is not None:
            return entry
    solver, limit = key[1], key[2]
    with st.status(tr("solve.running"), expanded=False) as status:
        st.write(tr("solve.step_build", sellers=len(scn.seller_codes()), buyers=len(scn.buyer_codes()),
                    solver=solver))
        t0 = time.perf_counter()
        try:
            entry = compute_entry(scn, solver, limit)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            status.update(label=tr("solve.crashed"), state="error", expanded=True)
            st.write(tr("solve.crashed_detail", error=str(exc)))
            return None
        seconds = time.perf_counter() - t0
        res = entry.result
        st.write(tr("solve.step_done", status=tr(f"status.{res.status}"), seconds=f"{seconds:.2f}",
                    matched=fmt_mu(res.totals.get("quota_matched_mu", 0.0))))
        status.update(label=tr("solve.done", seconds=f"{seconds:.2f}"),
                      state="complete" if res.status == "optimal" else "error")
    remember(SOLVES, key, entry)
    return entry


def allocation_entry(scn: Scenario, run: bool = False) -> SolveEntry | None:
    """The solve whose pairings the proceeds page allocates: the kept solve of `scn`, or of a scenario that differs
    only in what the model never reads (see model_key); `run=True` solves when there is none."""
    key = (model_key(scn), *solve_key(scn)[1:])
    entry = get_entry(scn) if run else (cached_entry(scn) or recall(MODEL_SOLVES, key))
    if entry is not None:
        remember(MODEL_SOLVES, key, entry)
    return entry


# --------------------------------------------------------------------------- saved scenarios


def stored_scenario(slug: str) -> tuple[Scenario | None, list[Problem]]:
    """A saved scenario, read again only when its files changed (keyed by the store's version stamp)."""
    store = state.store()
    try:
        stamp = store.info(slug).stamp
    except StoreError as exc:
        return None, [Problem(slug, None, "", "", exc.message_zh, exc.message_en)]
    hit = recall(STORED, slug)
    if hit is not None and hit[0] == stamp:
        return hit[1], []
    scn, problems, stamp = store.open(slug)
    if scn is not None:
        remember(STORED, slug, (stamp, scn))
    return scn, problems


__all__ = ["SOLVES", "MODEL_SOLVES", "STORED", "SWEEPS", "ROBUST", "recall", "remember", "SolveEntry", "solve_key",
           "model_key", "cached_entry", "compute_entry", "get_entry", "allocation_entry", "stored_scenario"]
