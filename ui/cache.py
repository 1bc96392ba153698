"""The only place that keeps computed results: solves (with their explanations), allocations of proceeds, ledger
tables, chart objects, saved scenarios read for the compare page, sweeps and Monte Carlo runs.

Two levels, because ten colleagues looking at the same scenario should cost little more than one:

- **Shared stores** (`SharedStore`, one per kind, module-level, so shared by every browser session of the server
  process): everything that is a function of the scenario's *content* (its content hash) and the settings. Each
  store is a lock-protected least-recently-used map, bounded both by a number of entries and by an estimate of its
  bytes (DataFrames counted with `memory_usage(deep=True)`), so memory stays bounded whatever users do:
  at most 448 + 192 + 64 = 704 MB over all stores, and in practice entries x typical size: the Jilin baseline's
  solve with explanations is 0.16 MB, its comparison of four allocation rules 0.12 MB, a chart or view table
  0.01-0.1 MB, a scenario 0.08 MB, so ten colleagues on a few scenarios stay within tens of MB. A per-key lock
  makes a second session asking for a result that is being computed wait for it instead of computing it again.
  Why not st.cache_data / st.cache_resource: cache_data pickles every value and hands each caller a new copy
  (a solve of 800 x 2,800 counties carries a 2-million-row candidate table), and neither can be keyed by the
  scenario's content hash without hashing the whole scenario again on every call, nor bounded by bytes.
- **Session stores** in `st.session_state` (named below, so tests can look into them): what this session has
  seen, holding references to the shared values (no copies). They keep the page semantics of a single user: the
  proceeds page offers to solve when this session has not solved yet, the sidebar shows this session's last solve.

Cached values are shared between sessions and threads and must be treated as immutable: views copy a frame before
changing it (they do: `df.copy()` first, or pandas operations that return new frames); tests/test_cache.py checks
that visiting every page leaves the cached solve, allocation and ledger unchanged. Scenarios are never changed in
place either (ui/state.set_working replaces the working scenario), which is what lets `scenario_hash` remember a
scenario's content hash by object identity.
"""
from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import pandas as pd
import streamlit as st

from planner import ledger as ledger_core
from planner.audit import audit_record
from planner.explain import county_report, shadow_prices
from planner.i18n import fmt_mu
from planner.model import SolveResult, solve
from planner.proceeds import allocate, compare_rules
from planner.scenario import Scenario
from planner.store import StoreError
from planner.validate import Problem
from ui import state
from ui.i18n import tr

SOLVES = "results"  # solve_key -> SolveEntry
MODEL_SOLVES = "proceeds_solves"  # (model_key, solver, limit) -> SolveEntry, see model_key
STORED = "compare_loaded"  # kept for callers that name it; saved scenarios are in the shared STORED_SCENARIOS
SWEEPS = "sens_sweeps"  # (hash, spec, values, solver, limit) -> {"kpis", "pairs", "seconds"}
ROBUST = "sens_robust"  # (hash, runs, price %, quantity %, seed, solver, limit) -> Robustness
MAX_ENTRIES = {SOLVES: 8, MODEL_SOLVES: 8, STORED: 16, SWEEPS: 6, ROBUST: 6}

_MISSING = object()


# --------------------------------------------------------------------------- shared stores


class SharedStore:
    """A process-wide least-recently-used store shared by all sessions, bounded by entries and estimated bytes."""

    def __init__(self, name: str, max_entries: int, max_mb: float):
        self.name, self.max_entries, self.max_bytes = name, max_entries, int(max_mb * 1024 * 1024)
        self._data: OrderedDict = OrderedDict()  # key -> (value, bytes, stored_at)
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict = {}  # key -> [lock, number of callers holding or waiting]
        self.hits = self.misses = 0

    def get(self, key, default=None):
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return default
            self._data.move_to_end(key)
            return item[0]

    def stored_at(self, key) -> float | None:
        with self._lock:
            item = self._data.get(key)
            return None if item is None else item[2]

    def put(self, key, value) -> None:
        size = estimate_bytes(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:  # larger than the whole store: hand it out, never keep it
                return
            self._data[key] = (value, size, time.monotonic())
            self._bytes += size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped, _) = self._data.popitem(last=False)
                self._bytes -= dropped

    def compute(self, key, fn, fresh_after: float | None = None):
        """The kept value of `key`, or fn() kept. One computation per key at a time: a caller that finds the key
        being computed waits for it and takes its value. `fresh_after` (a time.monotonic() stamp): only a value
        stored after it will do (a forced re-solve that may still share one that started after the click)."""
        value = self.get(key, _MISSING) if fresh_after is None else _MISSING
        if value is not _MISSING:
            self.hits += 1
            return value
        with self._lock:
            holder = self._key_locks.setdefault(key, [threading.Lock(), 0])
            holder[1] += 1
        try:
            with holder[0]:
                at = self.stored_at(key)
                if at is not None and (fresh_after is None or at >= fresh_after):
                    value = self.get(key, _MISSING)
                    if value is not _MISSING:
                        self.hits += 1
                        return value
                self.misses += 1
                value = fn()
                self.put(key, value)
                return value
        finally:
            with self._lock:
                holder[1] -= 1
                if holder[1] == 0:
                    self._key_locks.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._data), "mb": round(self._bytes / 1024 / 1024, 2), "hits": self.hits,
                    "misses": self.misses, "max_entries": self.max_entries,
                    "max_mb": round(self.max_bytes / 1024 / 1024)}


def estimate_bytes(value, _depth: int = 0) -> int:
    """Rough size of a cached value: DataFrames by pandas' own count, containers and dataclasses by their parts."""
    if _depth > 4:
        return 64
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(deep=True))
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, dict):
        return 64 + sum(estimate_bytes(k, _depth + 1) + estimate_bytes(v, _depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 64 + sum(estimate_bytes(v, _depth + 1) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(estimate_bytes(getattr(value, f.name), _depth + 1) for f in fields(value))
    if isinstance(getattr(value, "nbytes", None), int):  # a PreparedChart
        return value.nbytes
    data = getattr(value, "data", None)  # an Altair chart: its data frame, plus the spec objects
    if isinstance(data, pd.DataFrame):
        return 32 * 1024 + estimate_bytes(data, _depth + 1)
    return 1024 if hasattr(value, "to_dict") else 64


# One store per kind. Entries x typical size (Jilin baseline): solves 0.16 MB, derived tables and charts
# 0.01-0.12 MB. A solve of the 800 x 2,800 bench case carries a 2.2-million-row candidate
# table (hundreds of MB): the byte bound keeps only as many as fit, and one larger than a store is never kept.
SHARED_SOLVES = SharedStore("solves", max_entries=16, max_mb=448)
SHARED_DERIVED = SharedStore("derived", max_entries=512, max_mb=192)  # allocations, ledger tables, charts
SHARED = (SHARED_SOLVES, SHARED_DERIVED)  # stored scenarios: planner.store keeps them


def clear_shared() -> None:
    for store in SHARED:
        store.clear()


# --------------------------------------------------------------------------- content keys


def scenario_hash(scn: Scenario) -> str:
    """scn.content_hash(), computed once per scenario object (hashing the baseline takes ~70 ms); see ui/state."""
    return state.content_hash(scn)


def _frame_digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256(repr((list(df.columns), [str(t) for t in df.dtypes], df.shape)).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    except (TypeError, ValueError):  # unhashable cells (lists): fall back to the pickled frame
        h.update(pickle.dumps(df))
    return h.hexdigest()[:16]


def frame_hash(df: pd.DataFrame) -> str:
    return state.memo_by_identity("df", df, _frame_digest)


def _token(value):
    """What a cached function's argument contributes to its key: content, never identity."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Scenario):
        return ("scenario", scenario_hash(value))
    if isinstance(value, pd.DataFrame):
        return ("frame", frame_hash(value))
    if isinstance(value, SolveResult):
        return ("result", value.scenario_hash, value.solver, value.algorithm, value.status, value.objective,
                frame_hash(value.pairings), frame_hash(value.lots), value.horizon)
    if isinstance(value, (bytes, bytearray)):
        return ("bytes", hashlib.sha256(value).hexdigest()[:16])
    if isinstance(value, pd.Series):
        return ("series", frame_hash(value.to_frame()))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, range)):
        return tuple(_token(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _token(v)) for k, v in value.items()))
    if is_dataclass(value) and not isinstance(value, type):  # e.g. proceeds.Allocation: its tables and params
        return (type(value).__qualname__, *(_token(getattr(value, f.name)) for f in fields(value)))
    raise TypeError(f"no cache key for {type(value).__name__}")


def shared(fn, *args, **kwargs):
    """fn(*args, **kwargs), computed once for all sessions while kept (keyed by the arguments' content)."""
    key = (fn.__module__, fn.__qualname__, _token(args), _token(kwargs))
    return SHARED_DERIVED.compute(key, lambda: fn(*args, **kwargs))


# --------------------------------------------------------------------------- session stores


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
    return scenario_hash(scn), solver, limit


def model_key(scn: Scenario) -> str:
    """Hash of what the matching model reads: the scenario without its [proceeds] section and relocation rows.

    The model never reads either (DESIGN sections 4 and 6), so a solve stays valid when only the allocation
    parameters or the relocation table change; the proceeds page reuses it instead of asking for a new solve.
    (A core function would be better placed in planner/; kept here until the core offers one.)"""
    return state.memo_by_identity("model", scn, _model_hash)


def _model_hash(scn: Scenario) -> str:
    settings = {k: v for k, v in scn.settings.items() if k != "proceeds"}
    return Scenario(settings, **{**scn.tables(), "relocation": scn.relocation.iloc[0:0]}).content_hash()


def cached_entry(scn: Scenario) -> SolveEntry | None:
    """The kept solve of exactly this scenario with the session's solver settings, without solving."""
    return _store(SOLVES).get(solve_key(scn))


def compute_entry(scn: Scenario, solver: str, time_limit: float | None, progress=None) -> SolveEntry:
    """Solve and explain (no Streamlit calls but through `progress`; raises only on a bug in the core)."""
    return _explained(scn, solve(scn, solver=solver, time_limit=time_limit, progress=progress))


def get_entry(scn: Scenario, force: bool = False) -> SolveEntry | None:
    """The kept solve of `scn` (this session's, or any session's of the same content and settings), or solve it
    now with visible progress. None when the solve itself crashed."""
    key = solve_key(scn)
    if not force:
        entry = recall(SOLVES, key)
        if entry is None:
            entry = SHARED_SOLVES.get(key)
            if entry is not None:
                SHARED_SOLVES.hits += 1
        if entry is not None:
            remember(SOLVES, key, entry)
            return entry
    asked_at = time.monotonic()
    solver, limit = key[1], key[2]
    with st.status(tr("solve.running"), expanded=False) as status:
        st.write(tr("solve.step_build", sellers=len(scn.seller_codes()), buyers=len(scn.buyer_codes()),
                    solver=solver))
        t0 = time.perf_counter()
        bar = st.empty()

        def searching(_seconds: float, gap: float | None) -> None:  # an integer search under the time limit
            spent = time.perf_counter() - t0
            text = tr("solve.searching", seconds=f"{spent:.0f}", limit=f"{limit:g}" if limit else "—",
                      gap="—" if gap is None else f"{100 * gap:.2f} %")
            status.update(label=text)  # the label: seen while the box is folded
            bar.progress(min(1.0, spent / limit) if limit else 0.0)

        try:
            # another session solving the same scenario right now: wait for its result instead of solving twice
            entry = SHARED_SOLVES.compute(key, lambda: compute_entry(scn, solver, limit, searching),
                                          fresh_after=asked_at if force else None)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            status.update(label=tr("solve.crashed"), state="error", expanded=True)
            st.write(tr("solve.crashed_detail", error=str(exc)))
            return None
        seconds = time.perf_counter() - t0
        bar.empty()
        res = entry.result
        st.write(tr("solve.step_done", status=tr(f"status.{res.status}"), seconds=f"{seconds:.2f}",
                    matched=fmt_mu(res.totals.get("quota_matched_mu", 0.0))))
        status.update(label=tr("solve.done", seconds=f"{seconds:.2f}"),
                      state="complete" if res.status == "optimal" else "error")
    remember(SOLVES, key, entry)
    return entry


def allocation_entry(scn: Scenario, run: bool = False) -> SolveEntry | None:
    """The solve whose pairings the proceeds page allocates: this session's solve of `scn`, or of a scenario that
    differs only in what the model never reads (see model_key); `run=True` solves (or takes the shared solve) when
    there is none."""
    key = (model_key(scn), *solve_key(scn)[1:])
    entry = get_entry(scn) if run else (cached_entry(scn) or recall(MODEL_SOLVES, key))
    if entry is not None:
        remember(MODEL_SOLVES, key, entry)
    return entry


# --------------------------------------------------------------------------- derived tables and charts


def allocation(scn: Scenario, pairings: pd.DataFrame):
    """planner.proceeds.allocate under the scenario's own rule, shared by all sessions."""
    return shared(allocate, scn, pairings)


def rule_comparison(scn: Scenario, pairings: pd.DataFrame, rules, county: str | None = None):
    """planner.proceeds.compare_rules (metrics, modes, allocations), shared by all sessions."""
    return shared(compare_rules, scn, pairings, list(rules), county=county)


def ledger_table(scn: Scenario, result: SolveResult, lang: str):
    """planner.ledger.ledger (the provincial ledger by pairing), shared by all sessions."""
    return shared(ledger_core.ledger, scn, result, lang)


def ledger_tables(scn: Scenario, result: SolveResult) -> dict:
    """What the ledger page shows, computed once for all sessions: lots, reconciliation, unsold at expiry,
    timeline, payments."""
    return {"lots": shared(ledger_core.lot_ledger, scn, result),
            "reconciliation": shared(ledger_core.county_reconciliation, scn, result),
            "expiry": shared(ledger_core.unsold_at_expiry, scn, result),
            "timeline": shared(ledger_core.timeline, scn, result),
            "payments": shared(ledger_core.payment_ledger, scn, result)}


def figure(builder, *args, **kwargs):
    """builder(*args) for a chart or a figure's table (ui/figures), shared by all sessions; None stays None.
    A chart comes back prepared (PreparedChart): validated and converted to what Streamlit sends once, here,
    instead of on every page run of every session."""
    key = (builder.__module__, builder.__qualname__, _token(args), _token(kwargs))
    return SHARED_DERIVED.compute(key, lambda: prepared(builder(*args, **kwargs)))


class PreparedChart:
    """An Altair chart converted once to the Vega-Lite spec Streamlit sends (its data already Arrow bytes).

    Why: st.altair_chart converts the chart on every page run (Altair deep-copies every subchart, ~0.1-0.2 s for
    the map, under a process-wide lock), so ten sessions drawing the same chart queued behind each other. Drawn
    by ui.widgets.chart; the conversion is Streamlit's own, so the chart looks exactly as st.altair_chart draws it.
    """

    def __init__(self, chart):
        chart.to_dict()  # raises on an invalid spec, as st.altair_chart would
        self.chart = chart
        self.spec = _streamlit_spec(chart)
        self.nbytes = estimate_bytes(chart) + estimate_bytes(self.spec)

    def to_dict(self, validate: bool = True, **kwargs) -> dict:
        """The chart's own Vega-Lite dict (as Altair gives it)."""
        return self.chart.to_dict(validate=validate, **kwargs)

    def vega_lite_spec(self) -> dict | None:
        """A spec to hand to st.vega_lite_chart (which takes the datasets out of the dict it is given: a copy of
        the top level and of the datasets, the data itself shared). None when this Streamlit cannot convert."""
        if self.spec is None:
            return None
        out = dict(self.spec)
        if isinstance(out.get("datasets"), dict):
            out["datasets"] = dict(out["datasets"])
        return out


def _streamlit_spec(chart) -> dict | None:
    """Streamlit's conversion of an Altair chart (a private function of the pinned Streamlit; None if it moved,
    and the chart is then drawn with st.altair_chart as before)."""
    try:
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
    except ImportError:  # pragma: no cover - another Streamlit
        return None
    return _convert_altair_to_vega_lite_spec(chart)


def prepared(chart):
    """A PreparedChart for an Altair chart; anything else (a table, None) as it is."""
    import altair as alt

    return PreparedChart(chart) if isinstance(chart, alt.TopLevelMixin) else chart


class _HashedScenario:
    """What planner.audit reads of a scenario (name and content hash), with the hash already known."""

    def __init__(self, scn: Scenario):
        self.name, self._hash = scn.name, scenario_hash(scn)

    def content_hash(self) -> str:
        return self._hash


def audit(scn: Scenario, result: SolveResult | None = None, **settings) -> dict:
    """planner.audit.audit_record without hashing the scenario again (its time stamp is now, as always)."""
    return audit_record(_HashedScenario(scn), result, **settings)


# --------------------------------------------------------------------------- saved scenarios


def stored_scenario(slug: str) -> tuple[Scenario | None, list[Problem]]:
    """A saved scenario, shared by all sessions: the store reads and checks it again only when its files changed
    (planner.store keeps the scenarios it read, by the files' stamp)."""
    try:
        scn, problems, _ = state.store().open(slug)
    except (OSError, StoreError) as exc:
        zh = exc.message_zh if isinstance(exc, StoreError) else str(exc)
        en = exc.message_en if isinstance(exc, StoreError) else str(exc)
        return None, [Problem(slug, None, "", "", zh, en)]
    return scn, problems


__all__ = ["SOLVES", "MODEL_SOLVES", "STORED", "SWEEPS", "ROBUST", "recall", "remember", "SolveEntry", "solve_key",
           "model_key", "cached_entry", "compute_entry", "get_entry", "allocation_entry", "stored_scenario",
           "SharedStore", "SHARED_SOLVES", "SHARED_DERIVED", "clear_shared", "scenario_hash",
           "frame_hash", "shared", "allocation", "rule_comparison", "ledger_table", "ledger_tables", "figure",
           "PreparedChart", "prepared", "audit", "estimate_bytes"]


# --------------------------------------------------------------------------- stable plans (issue 15 item 4)


def _explained(scn: Scenario, result: SolveResult) -> SolveEntry:
    """A solve with its explanations, as compute_entry makes them (explanations are secondary: never fatal)."""
    try:
        return SolveEntry(result, county_report(scn, result), shadow_prices(scn, result))
    except Exception as exc:  # noqa: BLE001
        report = result.counties.assign(reason_code="", reason_zh="", reason_en="")
        return SolveEntry(result, report, pd.DataFrame(columns=["kind", "code", "name", "shadow_price", "text_zh",
                                                                "text_en"]), explain_error=str(exc))


def near_entry(scn: Scenario, reference_pairings: pd.DataFrame, tolerance: float,
               force: bool = False) -> SolveEntry | None:
    """The stable plan of `scn` (planner.model.stability.solve_near): the nearest to `reference_pairings` within
    `tolerance` of the optimum, kept like a solve (this session's store, and shared by content). It becomes this
    session's plan of `scn`, so the pages after the pairings page (proceeds, ledger, export) use the plan shown
    there; `forget_near` goes back to the optimum. None when it crashed (shown as a message)."""
    from planner.model.stability import solve_near

    key = (*solve_key(scn), "near", frame_hash(reference_pairings), float(tolerance))
    if not force:
        entry = recall(SOLVES, key) or SHARED_SOLVES.get(key)
        if entry is not None:
            remember(SOLVES, key, entry)
            remember(SOLVES, solve_key(scn), entry)
            return entry
    asked_at, (solver, limit) = time.monotonic(), key[1:3]
    with st.status(tr("stable.running"), expanded=False) as status:
        t0 = time.perf_counter()
        try:
            entry = SHARED_SOLVES.compute(
                key, lambda: _explained(scn, solve_near(scn, reference_pairings, tolerance, solver=solver,
                                                        time_limit=limit)),
                fresh_after=asked_at if force else None)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            status.update(label=tr("solve.crashed"), state="error", expanded=True)
            st.write(tr("solve.crashed_detail", error=str(exc)))
            return None
        status.update(label=tr("solve.done", seconds=f"{time.perf_counter() - t0:.2f}"),
                      state="complete" if entry.result.status == "optimal" else "error")
    remember(SOLVES, key, entry)
    remember(SOLVES, solve_key(scn), entry)
    return entry


def forget_near(scn: Scenario) -> None:
    """This session's plan of `scn` is the optimum again (the shared store still has it, or it is solved anew)."""
    store = _store(SOLVES)
    entry = store.get(solve_key(scn))
    if entry is not None and "near_tolerance" in entry.result.totals:
        del store[solve_key(scn)]


__all__ += ["near_entry", "forget_near"]
