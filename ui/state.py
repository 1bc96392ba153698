"""Streamlit-side state shared by app.py and the pages: the working scenario, the solve cache, the editor's stable
inputs, the language, and the shared sidebar.

Everything a user does works on one *working scenario* kept in `st.session_state`; it is always valid (edits and
imports replace it only after `planner.validate` finds no error). Solve results are cached per browser session,
keyed by the scenario's content hash and the solver settings, so revisiting a page never re-solves.

The planner core (`planner/`) never imports this module; pages call it to read state and the core to compute.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from planner import schema
from planner.explain import county_report, shadow_prices
from planner.i18n import DEFAULT_LANG, LANGS, fmt_mu, t
from planner.model import SolveResult, solve
from planner.scenario import Scenario
from planner.store import ScenarioInfo, ScenarioStore, StoreError
from planner.validate import Problem, errors, validate_scenario

ROOT = Path(__file__).resolve().parent
# The scenario store's folder; PLANNER_SCENARIOS_DIR overrides it (tests point it at a temporary copy).
SCENARIOS_ENV = "PLANNER_SCENARIOS_DIR"
SCENARIOS_DIR = Path(os.environ.get(SCENARIOS_ENV) or ROOT / "scenarios")
DEFAULT_SCENARIO = "jilin-baseline"
TABLES = ("counties", "pairs", "relocation")
SOLVERS = ("highs", "cbc")
DEFAULT_SOLVER = "highs"
DEFAULT_TIME_LIMIT = 60.0
MAX_CACHED_RESULTS = 8

_RUN = threading.local()  # set while app.py runs in this script thread

# --------------------------------------------------------------------------- entry guard


def app_started() -> None:
    """Called by app.py at the top of every run."""
    _RUN.active = True


def app_finished() -> None:
    _RUN.active = False


def leave_legacy_pages_mode() -> None:
    """Because the page files sit in `pages/`, Streamlit starts a fresh server in its legacy multipage mode: the
    first script run builds its own navigation from that folder (running app.py, or a page file alone when the first
    request is a page URL such as a bookmarked /pairings) until st.navigation is first called. Widgets of that
    first run get other ids than in later runs, so the first click would be lost. Switch the mode off and rerun
    at once: the rerun goes through app.py's st.navigation and lands on the same page (same URL path).

    AppTest resets that mode before every run, so under AppTest every run reruns once; a plain `if st.button()`
    would lose its click in that rerun. Buttons therefore act through on_click callbacks, which run before it."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_app() -> None:
    """Every page starts with this: pages run inside app.py (its st.navigation, language switch, shared sidebar and
    state set-up), never on their own."""
    if getattr(_RUN, "active", False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


# --------------------------------------------------------------------------- language


def lang() -> str:
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def tr(key: str, **fmt) -> str:
    """Translate a UI key in the session's language."""
    return t(key, lang(), **fmt)


# --------------------------------------------------------------------------- scenarios on disk


def scenarios_dir() -> Path:
    """The store root: $PLANNER_SCENARIOS_DIR when set (read at every call), else SCENARIOS_DIR."""
    env = os.environ.get(SCENARIOS_ENV)
    return Path(env) if env else SCENARIOS_DIR


def store() -> ScenarioStore:
    """The scenario store (planner.store) over scenarios_dir(); cheap to create, so one per use."""
    return ScenarioStore(scenarios_dir())


def scenario_infos() -> list[ScenarioInfo]:
    """The store's scenarios, the read-only default first ([] when the folder cannot be read)."""
    try:
        return store().list()
    except (OSError, StoreError):
        return []


def list_scenarios() -> list[str]:
    """Slugs (folder names) of the store's scenarios, the default first; hidden folders such as .trash skipped."""
    slugs = [i.slug for i in scenario_infos()]
    if DEFAULT_SCENARIO in slugs:
        slugs.remove(DEFAULT_SCENARIO)
        slugs.insert(0, DEFAULT_SCENARIO)
    return slugs


def scenario_title(folder: str) -> str:
    """The name in scenarios/<folder>/scenario.toml ('' when unreadable); for the scenario picker."""
    try:
        name = store().info(folder).name
    except (OSError, StoreError):
        return ""
    return "" if name == folder else name


def init() -> None:
    """First run of a session: load the default scenario. Later runs: nothing."""
    ss = st.session_state
    if ss.get("initialised"):
        return
    ss.initialised = True
    ss.setdefault("scn", None)
    ss.setdefault("scn_original", None)
    ss.setdefault("scn_folder", None)
    ss.setdefault("scn_stamp", None)
    ss.setdefault("scn_problems", [])
    ss.setdefault("load_problems", [])
    ss.setdefault("editor_ver", 0)
    ss.setdefault("editor_errors", 0)
    ss.setdefault("results", OrderedDict())
    ss.setdefault("solver", DEFAULT_SOLVER)
    ss.setdefault("time_limit", DEFAULT_TIME_LIMIT)
    names = list_scenarios()
    if names:
        load_scenario(names[0])


def load_scenario(folder: str) -> tuple[bool, list[Problem]]:
    """Open scenarios/<folder> from the store as the working scenario, remembering its version stamp (for the
    save-conflict check); on errors keep the current one and return the problems."""
    try:
        scn, problems, stamp = store().open(folder)
    except (OSError, StoreError) as exc:
        text = str(exc)
        zh = exc.message_zh if isinstance(exc, StoreError) else text
        en = exc.message_en if isinstance(exc, StoreError) else text
        problems = [Problem(folder, None, "", "", zh, en)]
        scn = None
    if scn is None:
        st.session_state.load_problems = problems
        return False, problems
    st.session_state.load_problems = []
    set_working(scn, folder=folder, original=True)
    st.session_state.scn_stamp = stamp
    st.session_state.scn_detached = False
    st.session_state.pop("store_conflict", None)
    return True, problems


def folder_stamp() -> str | None:
    """Version stamp of the working scenario's folder as this session opened or last saved it."""
    return st.session_state.get("scn_stamp")


def working() -> Scenario | None:
    return st.session_state.get("scn")


def original() -> Scenario | None:
    return st.session_state.get("scn_original")


def folder_name() -> str | None:
    return st.session_state.get("scn_folder")


def set_working(scn: Scenario, *, folder: str | None = None, original: bool = False,
                reset_editor: bool = True) -> None:
    """Make a *valid* scenario the working one. `original=True`: it is also what 'discard' returns to (as loaded or
    saved). `reset_editor=False` when the editor itself produced it (its tables already show it)."""
    ss = st.session_state
    ss.scn = scn
    if original:
        ss.scn_original = scn.copy()
        ss.scn_folder = folder
    ss.scn_problems = validate_scenario(scn)
    if reset_editor:
        reset_editor_state(scn)


def has_unsaved_changes() -> bool:
    scn, orig = working(), original()
    if scn is None:
        return False
    return orig is None or scn.content_hash() != orig.content_hash()


def discard_all_changes() -> None:
    """Back to the scenario as loaded (or last saved); pending editor edits are dropped too."""
    orig = original()
    if orig is not None:
        set_working(orig.copy(), folder=folder_name(), original=False)
    st.session_state.editor_errors = 0


def discard_pending_edits() -> None:
    """Drop editor edits that were not applied (because invalid); the editor shows the working scenario again."""
    scn = working()
    if scn is not None:
        reset_editor_state(scn)
    st.session_state.editor_errors = 0


# --------------------------------------------------------------------------- editor: stable inputs
#
# st.data_editor keeps the user's edits as a diff against the DataFrame passed in. Feeding its output back in as
# the next input loses edits, so the input ("base") stays fixed in session state and edits are read from the
# return value. The last returned table ("draft") is remembered: when the editor widget is created afresh (the user
# left the page and came back, or switched language, which relabels the columns), the draft becomes the new base,
# so no edit is lost. Loading, importing or discarding resets both and bumps the editor version (a new widget key).


def editor_frame(scn: Scenario, table: str) -> pd.DataFrame:
    """A table as the editor shows it: schema columns first (typed), unknown columns kept after them."""
    df = getattr(scn, table)
    names = [c.name for c in schema.TABLES[table][1]]
    extra = [c for c in df.columns if c not in names]
    return df[names + extra].reset_index(drop=True).copy()


def reset_editor_state(scn: Scenario) -> None:
    ss = st.session_state
    ss.editor_ver = int(ss.get("editor_ver", 0)) + 1
    ss.editor_base = {tb: editor_frame(scn, tb) for tb in TABLES}
    ss.editor_draft = {tb: frame.copy() for tb, frame in ss.editor_base.items()}
    ss.editor_errors = 0


def editor_key(table: str) -> str:
    return f"editor_{table}_{st.session_state.get('editor_ver', 0)}_{lang()}"


def editor_input(table: str) -> pd.DataFrame:
    """The stable DataFrame to pass to st.data_editor for `table` in this run."""
    ss = st.session_state
    if "editor_base" not in ss:
        scn = working()
        if scn is None:
            return pd.DataFrame()
        reset_editor_state(scn)
    if editor_key(table) not in ss:
        # The widget is new in this run: start it from the last edited state.
        ss.editor_base[table] = ss.editor_draft[table]
    return ss.editor_base[table]


def remember_edits(table: str, edited: pd.DataFrame) -> None:
    st.session_state.editor_draft[table] = edited.reset_index(drop=True).copy()


def candidate_from_tables(scn: Scenario, tables: dict[str, pd.DataFrame],
                          settings: dict | None = None) -> Scenario:
    """A scenario built from (possibly invalid) edited tables; validate it before using it."""
    frames = {tb: tables[tb].reset_index(drop=True) if tb in tables else getattr(scn, tb) for tb in TABLES}
    return Scenario(settings if settings is not None else scn.settings, frames["counties"], frames["pairs"],
                    frames["relocation"])


def normalised(candidate: Scenario) -> Scenario:
    """Typed copy of a valid candidate, exactly as if it had been read from its files."""
    settings, raw = candidate.to_raw()
    return Scenario.from_raw(settings, raw)


# --------------------------------------------------------------------------- solving, cached


@dataclass
class SolveEntry:
    """One solve and its explanations (both languages), as the pages show them."""

    result: SolveResult
    report: pd.DataFrame  # explain.county_report: per-county figures with reason_zh / reason_en
    shadow: pd.DataFrame  # explain.shadow_prices
    explain_error: str = ""


def solver_settings() -> tuple[str, float | None]:
    ss = st.session_state
    solver = ss.get("solver", DEFAULT_SOLVER)
    limit = ss.get("time_limit", DEFAULT_TIME_LIMIT)
    return (solver if solver in SOLVERS else DEFAULT_SOLVER), (float(limit) if limit else None)


def solve_key(scn: Scenario) -> tuple:
    solver, limit = solver_settings()
    return scn.content_hash(), solver, limit


def cached_entry(scn: Scenario) -> SolveEntry | None:
    return st.session_state.setdefault("results", OrderedDict()).get(solve_key(scn))


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
    """The cached solve of `scn`, or solve it now with visible progress. None when the solve itself crashed."""
    ss = st.session_state
    cache: OrderedDict = ss.setdefault("results", OrderedDict())
    key = solve_key(scn)
    if not force and key in cache:
        cache.move_to_end(key)
        return cache[key]
    solver, limit = solver_settings()
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
        state = "complete" if res.status == "optimal" else "error"
        status.update(label=tr("solve.done", seconds=f"{seconds:.2f}"), state=state)
    cache[key] = entry
    cache.move_to_end(key)
    while len(cache) > MAX_CACHED_RESULTS:
        cache.popitem(last=False)
    return entry


def show_solve_outcome(result: SolveResult) -> None:
    """A one-line verdict on a solve: success, time limit, or failure, in plain words."""
    if result.status == "optimal":
        st.success(tr("solve.optimal", pairings=result.totals.get("pairings", 0),
                      matched=fmt_mu(result.totals.get("quota_matched_mu", 0.0))))
    elif result.status == "time_limit":
        key = "solve.time_limit_with" if result.has_solution else "solve.time_limit_without"
        st.warning(tr(key))
    else:
        st.error(tr("solve.failed", message=result.message))


# --------------------------------------------------------------------------- sidebar


def sidebar_status() -> None:
    """The working scenario's name, where it comes from, and whether it is valid / has pending problems."""
    scn = working()
    st.caption(tr("sidebar.working"))
    if scn is None:
        st.warning(tr("sidebar.none"))
        return
    st.markdown(f"**{scn.name or tr('common.unnamed')}**")
    folder = folder_name()
    if folder:
        st.caption(tr("sidebar.folder", folder=folder))
    elif st.session_state.get("scn_detached"):
        st.caption(tr("store.sidebar_detached"))
    else:
        st.caption(tr("sidebar.imported"))
    pending = int(st.session_state.get("editor_errors", 0))
    if pending:
        st.error(tr("sidebar.pending_errors", n=pending), icon=":material/error:")
    else:
        warnings = len([p for p in st.session_state.get("scn_problems", []) if p.severity == "warning"])
        st.success(tr("sidebar.valid", warnings=warnings) if warnings else tr("sidebar.valid_clean"),
                   icon=":material/check_circle:")
    if has_unsaved_changes():
        st.warning(tr("sidebar.unsaved"), icon=":material/edit:")
    entry = cached_entry(scn)
    if entry is not None and entry.result.has_solution:
        st.caption(tr("sidebar.solved", matched=fmt_mu(entry.result.totals.get("quota_matched_mu", 0.0))))


def error_count(problems: list[Problem]) -> int:
    return len(errors(problems))


__all__ = ["lang", "tr", "init", "scenarios_dir", "store", "scenario_infos", "list_scenarios", "scenario_title",
           "load_scenario", "folder_stamp", "working", "original", "set_working",
           "has_unsaved_changes", "discard_all_changes", "discard_pending_edits", "editor_frame", "editor_key",
           "editor_input", "remember_edits", "candidate_from_tables", "normalised", "SolveEntry", "get_entry",
           "cached_entry", "compute_entry", "solve_key", "show_solve_outcome", "sidebar_status", "TABLES",
           "SOLVERS"]
