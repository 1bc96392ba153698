"""Streamlit-side state shared by app.py, the pages and ui/: the working scenario, the scenario store, the editor's
version, the solver settings, and the guard that makes every page run inside app.py.

Everything a user does works on one *working scenario* kept in `st.session_state`; it is always valid (edits and
imports replace it only after `planner.validate` finds no error). Results computed from it are kept in ui/cache.py;
widget values in ui/widgets.py. The planner core (`planner/`) never imports this module.
"""
from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path

import pandas as pd
import streamlit as st

from planner import schema
from planner.scenario import Scenario
from planner.store import ScenarioInfo, ScenarioStore, StoreError
from planner.validate import Problem, errors, validate_scenario

ROOT = Path(__file__).resolve().parent.parent
# The scenario store's folder; PLANNER_SCENARIOS_DIR overrides it (tests point it at a temporary copy).
SCENARIOS_ENV = "PLANNER_SCENARIOS_DIR"
SCENARIOS_DIR = Path(os.environ.get(SCENARIOS_ENV) or ROOT / "scenarios")
DEFAULT_SCENARIO = "jilin-baseline"
TABLES = ("counties", "pairs", "relocation", "lots", "demand", "payments")  # the editor's tabs, in order
SOLVERS = ("highs", "cbc")
DEFAULT_SOLVER = "highs"
DEFAULT_TIME_LIMIT = 60.0

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
    opened(scn, folder, stamp)
    return True, problems


def opened(scn: Scenario, folder: str, stamp: str, reset_editor: bool = True) -> None:
    """`scn` is now the working scenario as stored in `folder` at version `stamp` (opened or just saved)."""
    set_working(scn, folder=folder, original=True, reset_editor=reset_editor)
    ss = st.session_state
    ss.scn_stamp = stamp
    ss.scn_detached = False
    ss.load_problems = []
    ss.pop("store_conflict", None)


def folder_stamp() -> str | None:
    """Version stamp of the working scenario's folder as this session opened or last saved it."""
    return st.session_state.get("scn_stamp")


def working() -> Scenario | None:
    return st.session_state.get("scn")


def original() -> Scenario | None:
    return st.session_state.get("scn_original")


def folder_name() -> str | None:
    return st.session_state.get("scn_folder")


def file_stem() -> str:
    """How downloaded files are named: the working scenario's folder."""
    return folder_name() or "scenario"


def set_working(scn: Scenario, *, folder: str | None = None, original: bool = False,
                reset_editor: bool = True) -> None:
    """Make a *valid* scenario the working one. `original=True`: it is also what 'discard' returns to (as loaded or
    saved). `reset_editor=False` when the editor itself produced it (its tables already show it)."""
    ss = st.session_state
    ss.scn = scn
    if original:
        # The same object, not a copy: scenarios are never changed in place, and a copy would be hashed again
        # (~70 ms) by every new session asking whether anything is unsaved.
        ss.scn_original = scn
        ss.scn_folder = folder
    # Checked once per scenario object: sessions that open the same stored scenario share it (planner.store).
    ss.scn_problems = list(memo_by_identity("problems", scn, validate_scenario))
    if reset_editor:
        reset_editor_state()


def apply_settings(settings: dict) -> list[Problem]:
    """Replace the working scenario's settings when valid; returns the errors (nothing applied) or []."""
    scn = working()
    candidate = Scenario(settings, **scn.tables())
    problems = errors(validate_scenario(candidate))
    if not problems:
        set_working(normalised(candidate), reset_editor=False)
    return problems


def has_unsaved_changes() -> bool:
    scn, orig = working(), original()
    if scn is None:
        return False
    return orig is None or content_hash(scn) != content_hash(orig)


def discard_all_changes() -> None:
    """Back to the scenario as loaded (or last saved); pending editor edits are dropped too."""
    orig = original()
    if orig is not None:
        set_working(orig.copy(), folder=folder_name(), original=False)
    st.session_state.editor_errors = 0


def discard_pending_edits() -> None:
    """Drop editor edits that were not applied (because invalid); the editor shows the working scenario again."""
    reset_editor_state()


# --------------------------------------------------------------------------- editor version
#
# The editor's widgets (tables, parameters, import fields) carry `editor_ver` in their keys. Loading, importing or
# discarding bumps it: the widgets start afresh from the working scenario (ui/widgets.kept_table_editor).


def editor_version() -> int:
    return int(st.session_state.get("editor_ver", 0))


def reset_editor_state() -> None:
    ss = st.session_state
    ss.editor_ver = editor_version() + 1
    ss.editor_errors = 0


def editor_frame(scn: Scenario, table: str) -> pd.DataFrame:
    """A table as the editor shows it: schema columns first (typed), unknown columns kept after them."""
    df = getattr(scn, table)
    names = [c.name for c in schema.TABLES[table][1]]
    extra = [c for c in df.columns if c not in names]
    return df[names + extra].reset_index(drop=True).copy()


def candidate_from_tables(scn: Scenario, tables: dict[str, pd.DataFrame],
                          settings: dict | None = None) -> Scenario:
    """A scenario built from (possibly invalid) edited tables; validate it before using it."""
    frames = {tb: tables[tb].reset_index(drop=True) if tb in tables else df for tb, df in scn.tables().items()}
    return Scenario(settings if settings is not None else scn.settings, **frames)


def normalised(candidate: Scenario) -> Scenario:
    """Typed copy of a valid candidate, exactly as if it had been read from its files."""
    settings, raw = candidate.to_raw()
    return Scenario.from_raw(settings, raw)


# --------------------------------------------------------------------------- solver settings


def solver_settings() -> tuple[str, float | None]:
    """(solver, time limit in seconds) picked on the pairings page; every solve in the session uses them."""
    ss = st.session_state
    solver = ss.get("solver", DEFAULT_SOLVER)
    limit = ss.get("time_limit", DEFAULT_TIME_LIMIT)
    return (solver if solver in SOLVERS else DEFAULT_SOLVER), (float(limit) if limit else None)


# --------------------------------------------------------------------------- content hashes (for ui/cache.py)
#
# A scenario is never changed in place (set_working replaces it), so its content hash can be remembered by object
# identity while the object lives: every page run asks for it several times (cache keys, unsaved changes, audit).

_MEMO_LOCK = threading.Lock()
_MEMO: dict[tuple[str, int], tuple[weakref.ref, object]] = {}


def memo_by_identity(kind: str, obj, compute):
    """compute(obj), remembered while `obj` lives; only for objects nobody changes in place."""
    k = (kind, id(obj))
    with _MEMO_LOCK:
        hit = _MEMO.get(k)
    if hit is not None and hit[0]() is obj:
        return hit[1]
    value = compute(obj)
    try:  # the entry goes when the object goes, before its id can be reused
        ref = weakref.ref(obj, lambda _, k=k: _MEMO.pop(k, None))
    except TypeError:
        return value
    with _MEMO_LOCK:
        _MEMO[k] = (ref, value)
    return value


def content_hash(scn: Scenario) -> str:
    """scn.content_hash(), computed once per scenario object (the baseline takes ~70 ms)."""
    return memo_by_identity("scn", scn, lambda s: s.content_hash())


def pending_errors() -> int:
    """Errors in editor edits not applied yet (the working scenario is the last valid state)."""
    return int(st.session_state.get("editor_errors", 0))


def error_count(problems: list[Problem]) -> int:
    return len(errors(problems))


__all__ = ["init", "scenarios_dir", "store", "scenario_infos", "list_scenarios", "load_scenario", "opened",
           "folder_stamp", "working", "original", "folder_name", "file_stem", "set_working", "apply_settings",
           "has_unsaved_changes", "discard_all_changes", "discard_pending_edits", "editor_version",
           "reset_editor_state", "editor_frame", "candidate_from_tables", "normalised", "solver_settings",
           "pending_errors", "error_count", "TABLES", "SOLVERS", "content_hash", "memo_by_identity"]
