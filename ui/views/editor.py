"""What the scenario editor draws: the table editors (column settings from the schema), their problems, the action
bar with undo/redo, the parameter form, and the drafts that keep unsaved edits on disk. Edits are checked by
planner.validate on every change and reach the working scenario only when there is no error (see apply_tables).
Imports (with their preview) are in ui/views/editor_import.py."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from planner import drafts, schema
from planner.audit import beijing_wall_time
from planner.i18n import choice_label, column_label, has_key
from planner.scenario import RawFolder, Scenario
from planner.validate import Problem, errors, validate_raw, validate_scenario
from ui import library, state, widgets
from ui.figures.problems import problem_rows
from ui.i18n import lang, tr

TABLE_TITLES = widgets.TABLE_TITLES
SECTIONS = ("scenario", "pricing", "rules", "horizon", "proceeds")
HISTORY_LIMIT = 50  # undo steps kept per scenario
# A grid minimum just below a non-negative schema minimum: with min_value >= 0 the grid drops a typed minus sign
# ("-100" became 100); with this, the minus is typed and the cell refuses the value (red outline, not applied).
BELOW_MINIMUM = 1e-9
PINNED = {"code", "name", "seller_code", "buyer_code", "county_code", "group_id", "lot_id"}


# --------------------------------------------------------------------------- tables


def column_config(table: str) -> dict:
    """st.data_editor column settings from the schema: labels with units, ranges, allowed values."""
    lg = lang()
    cfg = {"_index": st.column_config.NumberColumn(tr("editor.row"), format="%d", width="small", pinned=True)}
    for c in schema.TABLES[table][1]:
        text, help_text = column_label(c, lg), _column_help(c)
        if c.kind in ("number", "integer"):
            low = c.minimum - BELOW_MINIMUM if c.minimum is not None and c.minimum >= 0 else c.minimum
            cfg[c.name] = st.column_config.NumberColumn(
                text, help=help_text, min_value=low, max_value=c.maximum,
                step=1 if c.kind == "integer" else None, format="%d" if c.kind == "integer" else None)
        elif c.kind == "category":
            cfg[c.name] = st.column_config.SelectboxColumn(
                text, help=help_text, options=list(c.allowed), required=c.cell_required,
                format_func=lambda v, kind=c.choices: choice_label(kind, v, lg))
        elif c.kind == "bool":
            cfg[c.name] = st.column_config.CheckboxColumn(text, help=help_text)
        else:
            cfg[c.name] = st.column_config.TextColumn(text, help=help_text, required=c.cell_required,
                                                      pinned=c.name in PINNED)
    return cfg


def _column_help(c: schema.Column) -> str:
    parts = [f"`{c.name}`"]
    if c.minimum is not None and c.maximum is not None:
        parts.append(tr("editor.range", lo=_num(c.minimum), hi=_num(c.maximum)))
    elif c.minimum is not None:
        parts.append(tr("editor.min", lo=_num(c.minimum)))
    if c.cell_required:
        parts.append(tr("editor.required"))
    if has_key(f"colhelp.{c.name}", lang()):
        parts.append(tr(f"colhelp.{c.name}"))
    return " · ".join(parts)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def table_tabs(tabs) -> tuple[dict, dict]:
    """One editor per table in its tab; returns the edited tables and a slot under each for its problems."""
    scn = state.working()
    edited, slots = {}, {}
    for table, tab in zip(state.TABLES, tabs):
        with tab:
            st.caption(f"{tr(f'editor.caption_{table}')} {tr('editor.cell_rules')}")
            rows = len(getattr(scn, table))
            edited[table] = widgets.kept_table_editor(
                table, lambda tb=table: state.editor_frame(state.working(), tb), state.editor_version(),
                num_rows="dynamic", hide_index=False, column_config=column_config(table), placeholder="",
                height=max(int(min(700, 38 + 35 * (rows + 1))), 150))
            slots[table] = st.container()
    return edited, slots


def apply_tables(scn: Scenario, edited: dict) -> tuple[Scenario, list[Problem], str]:
    """Check the edited tables as a whole (pairs and groups refer to county codes) and apply them only when
    valid; returns the working scenario, the problems and the fingerprint of what the editor holds."""
    candidate = state.candidate_from_tables(scn, edited)
    problems = validate_scenario(candidate)
    n_errors = len(errors(problems))
    st.session_state.editor_errors = n_errors
    fingerprint = candidate.content_hash()
    if fingerprint != scn.content_hash() and not n_errors:
        scn = state.normalised(candidate)
        state.set_working(scn, reset_editor=False)
    return scn, problems, fingerprint


def table_problems(container, table: str, frame, problems: list[Problem]) -> None:
    filename = schema.TABLES[table][0]
    mine = widgets.tab_problems([p for p in problems if p.file == filename])
    if not mine:
        return
    title = tr(TABLE_TITLES[table])
    with container:
        n_err = len(errors(mine))
        rows = sorted({p.row - 1 for p in errors(mine) if p.row is not None and p.row > 1})  # as the grid numbers
        if n_err and rows:
            shown = "、".join(map(str, rows[:8])) if lang() == "zh" else ", ".join(map(str, rows[:8]))
            st.error(tr("editor.table_errors_rows", n=n_err, file=title, rows=shown + ("…" if len(rows) > 8 else "")),
                     icon=":material/error:")
        elif n_err:
            st.error(tr("editor.table_errors", n=n_err, file=title), icon=":material/error:")
        else:
            st.warning(tr("editor.table_warnings", n=len(mine), file=title), icon=":material/warning:")
        styled = problem_rows(frame, mine, table, lang())
        if styled is not None:
            st.caption(tr("editor.problem_rows"))
            st.dataframe(styled)
        widgets.problems_table(mine, tabs=True, table_frames={table: frame})


def status(problems: list[Problem]) -> None:
    """Whether the edits are applied, and problems that belong to no table."""
    message()
    n_errors = len(errors(problems))
    if n_errors:
        st.error(tr("editor.pending_errors", n=n_errors), icon=":material/error:")
    elif state.has_unsaved_changes():
        st.info(tr("editor.applied"), icon=":material/check_circle:")
    if st.session_state.get("draft_written") and state.folder_name():
        st.caption(tr("editor.draft_kept"))
    other = [p for p in problems if p.file not in {schema.TABLES[tb][0] for tb in state.TABLES}]
    if other:
        widgets.problems_table(widgets.tab_problems(other), tabs=True)


def action_bar(n_errors: int) -> None:
    h = _history()
    row = st.container(horizontal=True, gap="small")
    library.save_button(row)
    library.save_as_popover(row, "bar")
    row.button(tr("editor.undo"), icon=":material/undo:", on_click=undo, disabled=not h["undo"],
               help=tr("editor.undo_help", n=len(h["undo"])), key="editor_undo")
    row.button(tr("editor.redo"), icon=":material/redo:", on_click=redo, disabled=not h["redo"],
               help=tr("editor.redo_help", n=len(h["redo"])), key="editor_redo")
    row.button(tr("editor.discard_all"), icon=":material/restart_alt:", on_click=_ask, args=("editor_discard_ask",),
               disabled=not (state.has_unsaved_changes() or n_errors), help=tr("editor.discard_all_help"),
               key="editor_discard_all")
    row.button(tr("editor.discard_pending"), icon=":material/backspace:", on_click=state.discard_pending_edits,
               disabled=not n_errors, help=tr("editor.discard_pending_help"), key="editor_discard_pending")
    if st.session_state.get("editor_discard_ask"):
        with st.container(border=True):
            st.warning(tr("editor.discard_confirm"), icon=":material/warning:")
            confirm = st.container(horizontal=True)
            confirm.button(tr("editor.discard_yes"), type="primary", key="editor_discard_yes", on_click=_discard_all)
            confirm.button(tr("editor.discard_no"), key="editor_discard_no", on_click=_ask,
                           args=("editor_discard_ask", False))
    library.read_only_note()
    library.feedback()


def _ask(flag: str, value=True) -> None:
    st.session_state[flag] = value


def _discard_all() -> None:
    st.session_state.editor_discard_ask = False
    state.discard_all_changes()


def message() -> None:
    """The outcome of the last undo, draft or import action (kept by its callback for this run)."""
    msg = st.session_state.pop("editor_msg", None)
    if msg is not None:
        kind, key, fmt = msg
        {"ok": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(tr(key, **fmt))


def params(scn: Scenario) -> None:
    widgets.param_form(scn, "param", [p for s in SECTIONS for p in schema.PARAMS if p.section == s],
                       version=state.editor_version(), texts="editor")




# --------------------------------------------------------------------------- undo and redo
#
# Every change the editor sees (a cell, a pasted block, the parameter form, an import, a discard) is one step: a
# snapshot of the working scenario and of the tables as the editor holds them (edits with errors included). The
# stacks are kept per scenario folder and version, in session state.


@dataclass
class Snapshot:
    working: Scenario
    tables: dict[str, pd.DataFrame]
    fingerprint: str


def _history() -> dict:
    key = (state.folder_name() or "", state.folder_stamp() or "")
    return st.session_state.setdefault("editor_history", {}).setdefault(key, {"cur": None, "undo": [], "redo": []})


def remember(edited: dict, fingerprint: str) -> None:
    """After apply_tables: a new step when what the editor holds changed since the last run."""
    h = _history()
    if h["cur"] is not None and h["cur"].fingerprint == fingerprint:
        return
    snap = Snapshot(state.working().copy(), {tb: df.reset_index(drop=True).copy() for tb, df in edited.items()},
                    fingerprint)
    if h["cur"] is not None:
        h["undo"].append(h["cur"])
        del h["undo"][:-HISTORY_LIMIT]
        h["redo"].clear()
    h["cur"] = snap


def _restore(snap: Snapshot) -> None:
    state.set_working(snap.working.copy(), reset_editor=True)
    widgets.seed_tables(snap.tables, state.editor_version())


def _step(back: str, forth: str) -> None:
    """Undo (back="undo") or redo (back="redo"): the current snapshot goes on the other stack."""
    h = _history()
    if h[back]:
        h[forth].append(h["cur"])
        h["cur"] = h[back].pop()
        _restore(h["cur"])


def undo() -> None:
    _step("undo", "redo")


def redo() -> None:
    _step("redo", "undo")


# --------------------------------------------------------------------------- drafts on disk (planner.drafts)
#
# While the editor holds something other than the saved scenario, it is written to this session's draft file; when
# it matches the saved scenario again (saved, discarded, undone), the file goes. Opening or saving a scenario starts
# a new draft file, so edits left behind in another scenario or before a reload stay on disk, offered back here.


def _drafts_root():
    return state.scenarios_dir().resolve()


def keep_draft(edited: dict, fingerprint: str) -> None:
    ss = st.session_state
    folder = state.folder_name()
    if not folder:
        return
    token = (folder, state.folder_stamp())
    if ss.get("draft_token") != token or not ss.get("draft_id"):
        ss.draft_token, ss.draft_id, ss.draft_written = token, drafts.new_draft_id(), None
    orig, scn = state.original(), state.working()
    dirty = orig is None or fingerprint != orig.content_hash()
    try:
        if dirty and ss.get("draft_written") != fingerprint:
            drafts.write_draft(_drafts_root(), folder, ss.draft_id, scn.settings, edited, state.folder_stamp(),
                               scn.name)
            ss.draft_written = fingerprint
        elif not dirty and ss.get("draft_written"):
            drafts.remove_draft(_drafts_root(), folder, ss.draft_id)
            ss.draft_written = None
    except (OSError, drafts.DraftError):
        ss.draft_written = None  # a read-only store keeps no draft; the edits are still in this session


def _offers() -> list[drafts.DraftInfo]:
    folder = state.folder_name()
    if not folder:
        return []
    try:
        infos = drafts.list_drafts(_drafts_root(), folder)
    except (OSError, drafts.DraftError):
        return []
    own = st.session_state.get("draft_id")
    return [i for i in infos if i.draft_id != own]


def _when(info: drafts.DraftInfo) -> str:
    return beijing_wall_time(info.saved_at)


def draft_offer() -> None:
    """At the top of the editor: edits kept from a reload, a crash or another window, to restore or discard."""
    offers = _offers()
    if not offers:
        _drafts_elsewhere()
        return
    info = offers[0]
    name = info.name or info.slug
    with st.container(border=True):
        text = (tr("editor.draft_found_one", name=name, when=_when(info)) if len(offers) == 1
                else tr("editor.draft_found", name=name, when=_when(info), n=len(offers)))
        st.warning(text, icon=":material/history:")
        if info.base_stamp and info.base_stamp != state.folder_stamp():
            st.caption(tr("editor.draft_base_changed"))
        row = st.container(horizontal=True)
        if st.session_state.get("draft_discard_ask") == info.draft_id:
            st.error(tr("editor.draft_discard_confirm"), icon=":material/delete:")
            row.button(tr("editor.draft_discard_yes"), type="primary", key="draft_discard_yes",
                       on_click=discard_draft, args=(info.draft_id,))
            row.button(tr("editor.discard_no"), key="draft_discard_no", on_click=_ask,
                       args=("draft_discard_ask", None))
        else:
            row.button(tr("editor.draft_restore"), type="primary", icon=":material/restore:", key="draft_restore",
                       on_click=restore_draft, args=(info.draft_id,))
            row.button(tr("editor.draft_discard"), icon=":material/delete:", key="draft_discard",
                       on_click=_ask, args=("draft_discard_ask", info.draft_id))


def _drafts_elsewhere() -> None:
    """Drafts of other scenarios (a reload opens the default scenario, not the one being edited): open it to see
    its draft offered."""
    try:
        slugs = [s for s in drafts.drafted_slugs(_drafts_root()) if s != state.folder_name()]
    except OSError:
        return
    names = {i.slug: i.name for i in state.scenario_infos()}
    slugs = [s for s in slugs if s in names]  # not a deleted scenario's
    if not slugs:
        return
    with st.container(border=True):
        st.info(tr("editor.draft_elsewhere", names="、".join(names.get(s, s) for s in slugs) if lang() == "zh"
                   else ", ".join(names.get(s, s) for s in slugs)), icon=":material/history:")
        row = st.container(horizontal=True)
        for s in slugs[:3]:
            row.button(tr("editor.draft_open", name=names.get(s, s)), key=f"draft_open_{s}",
                       on_click=state.load_scenario, args=(s,))


def restore_draft(draft_id: str) -> None:
    ss = st.session_state
    folder, working = state.folder_name(), state.working()
    draft = drafts.read_draft(_drafts_root(), folder, draft_id) if folder else None
    if draft is None or working is None:
        ss.editor_msg = ("error", "editor.draft_missing", {})
        return
    tables = {tb: draft.tables.get(tb) for tb in schema.TABLES}
    candidate = Scenario.from_raw(draft.settings, tables)
    valid = not errors(validate_raw(RawFolder(settings=draft.settings, tables=tables)))
    if valid:
        target = state.normalised(candidate)
    else:  # the edits with errors go back into the grid; the working scenario keeps its last valid state
        with_settings = Scenario(candidate.settings, **working.tables())
        target = with_settings if not errors(validate_scenario(with_settings)) else working
    state.set_working(target, reset_editor=True)
    widgets.seed_tables({tb: state.editor_frame(candidate, tb) for tb in state.TABLES}, state.editor_version())
    if draft.info.base_stamp:
        ss.scn_stamp = draft.info.base_stamp  # saving over a folder changed since is then a conflict
    # this session carries on with the restored draft's file
    ss.draft_token, ss.draft_id, ss.draft_written = (folder, state.folder_stamp()), draft_id, None
    ss.editor_msg = ("ok" if valid else "warning", "editor.draft_restored" if valid else "editor.draft_restored_errors",
                     {"when": _when(draft.info)})


def discard_draft(draft_id: str) -> None:
    ss = st.session_state
    ss.draft_discard_ask = None
    folder = state.folder_name()
    if folder:
        try:
            drafts.remove_draft(_drafts_root(), folder, draft_id)
        except (OSError, drafts.DraftError):
            pass
    ss.editor_msg = ("ok", "editor.draft_discarded", {})
