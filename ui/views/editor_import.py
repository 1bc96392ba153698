"""The editor's import tab: an upload (one table, or a whole scenario as CSV / Excel / zip) is first shown as a
preview, the differences against the working scenario (planner.diffs) and its problems with root causes first
(planner.problems.group_problems), and applied only when the user confirms (issue 15). Buttons act through
callbacks (see ui.state.leave_legacy_pages_mode)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import diffs, schema, uploads
from planner.i18n import column_label, label
from planner.problems import group_note, group_problems
from planner.scenario import FileReadError, RawFolder, Scenario
from planner.validate import Problem, errors, validate_raw
from ui import state, widgets
from ui.figures.problems import problems_view
from ui.i18n import lang, tr

UPLOAD_TYPES_TABLE = ["csv", "txt", "xlsx"]
UPLOAD_TYPES_SCENARIO = ["toml", "csv", "txt", "xlsx", "zip"]
SHOWN_CHANGES = 500  # cells listed in the preview; the counts cover all


# --------------------------------------------------------------------------- callbacks


def import_table() -> None:
    scn = state.working()
    ver = state.editor_version()
    table = st.session_state.get(f"import_table_choice_{ver}", "counties")
    upload = st.session_state.get(f"import_table_file_{ver}")
    if scn is None or upload is None:
        st.session_state.import_feedback = ("error", tr("editor.import_no_file"), [])
        return
    try:
        frame = uploads.read_table_upload(upload.name, upload.getvalue(), table)
    except FileReadError as exc:
        st.session_state.import_feedback = ("error", tr("editor.import_unreadable", file=upload.name,
                                                        error=exc.message_en if lang() == "en" else exc.message_zh), [])
        return
    settings, raw_tables = scn.to_raw()
    raw_tables[table] = frame
    _preview(scn, RawFolder(settings=settings, tables=raw_tables), upload.name, (table,))


def import_scenario() -> None:
    scn = state.working()
    files = st.session_state.get(f"import_scenario_files_{state.editor_version()}") or []
    if not files or scn is None:
        st.session_state.import_feedback = ("error", tr("editor.import_no_file"), [])
        return
    raw = uploads.raw_from_uploads([(f.name, f.getvalue()) for f in files], default_settings=scn.settings)
    _preview(scn, raw, ", ".join(f.name for f in files), None)


def _preview(scn: Scenario, raw: RawFolder, names: str, tables: tuple[str, ...] | None) -> None:
    """Nothing is applied yet: the import waits in session state for the user's confirmation."""
    problems = validate_raw(raw)
    diff = diffs.scenario_diff(scn, raw, tables) if not raw.read_errors else diffs.ScenarioDiff()
    st.session_state.pop("import_feedback", None)
    st.session_state.import_preview = {"raw": raw, "names": names, "problems": problems, "diff": diff,
                                       "base": scn.content_hash()}


def confirm_import() -> None:
    preview = st.session_state.pop("import_preview", None)
    if preview is None or errors(preview["problems"]):
        return
    raw = preview["raw"]
    imported = Scenario.from_raw(raw.settings, raw.tables)
    state.set_working(imported, reset_editor=True)
    warn = [p for p in preview["problems"] if p.severity == "warning"]
    st.session_state.import_feedback = ("ok", tr("editor.import_ok", file=preview["names"],
                                                 counties=len(imported.counties), pairs=len(imported.pairs),
                                                 groups=len(imported.relocation)), warn)


def cancel_import() -> None:
    st.session_state.pop("import_preview", None)
    st.session_state.import_feedback = ("info", tr("editor.preview_cancelled"), [])


# --------------------------------------------------------------------------- drawing


def grouped_problems(problems: list[Problem], spreadsheet_rows: bool = True) -> None:
    """Root causes first, each with the count of knock-on problems it causes; the full list below."""
    groups = group_problems(problems)
    lg = lang()
    frames = []
    for g in groups:
        row = problems_view([g.root], lg, spreadsheet_rows=spreadsheet_rows)
        row[tr("editor.col_knock_on")] = group_note(g, lg)
        frames.append(row)
    if frames:
        st.dataframe(pd.concat(frames, ignore_index=True), hide_index=True)
    if len(groups) < len(problems):
        with st.expander(tr("editor.preview_all_problems", n=len(problems))):
            widgets.problems_table(problems, spreadsheet_rows=spreadsheet_rows)


def _col_label(table: str, name: str) -> str:
    col = next((c for c in schema.TABLES[table][1] if c.name == name), None)
    return column_label(col, lang()) if col is not None else name


def _named(key: str, names: dict) -> str:
    """A row key as staff recognise it: county codes followed by the county's name (220382 双辽市)."""
    return " → ".join(f"{part} {names[part]}" if part in names else part for part in str(key).split(" → "))


def _table_diff(d: diffs.TableDiff) -> None:
    counts = d.counts()
    title = tr(widgets.TABLE_TITLES[d.table])
    st.markdown(f"**{tr('editor.preview_table_summary', table=title, **counts)}**")
    if not d.keyed and (counts["changed_cells"] or counts["added"] or counts["removed"]):
        st.caption(tr("editor.preview_by_position", table=title))
    for rec in d.missing_columns.to_dict("records"):
        if rec["closest"] and rec["cleared"]:
            st.warning(tr("editor.preview_missing_hint", column=rec["column"], label=_col_label(d.table, rec["column"]),
                          cleared=rec["cleared"], closest=rec["closest"]), icon=":material/warning:")
    if len(d.missing_columns):
        st.caption(tr("editor.preview_missing", n=counts["cleared"]))
        st.dataframe(pd.DataFrame({
            tr("editor.col_missing"): [_col_label(d.table, c) for c in d.missing_columns["column"]],
            tr("editor.col_cleared"): d.missing_columns["cleared"].tolist(),
            tr("editor.col_maybe"): d.missing_columns["closest"].tolist()}), hide_index=True)
    if len(d.unknown_columns):
        st.caption(tr("editor.preview_unknown"))
        st.dataframe(pd.DataFrame({
            tr("editor.col_uploaded"): d.unknown_columns["column"].tolist(),
            tr("editor.col_closest"): [_col_label(d.table, c) if c else "" for c in d.unknown_columns["closest"]]}),
            hide_index=True)
    if len(d.changed):
        scn = state.working()
        names = dict(zip(scn.counties["code"], scn.counties["name"])) if scn is not None else {}
        st.caption(tr("editor.preview_changed"))
        shown = d.changed.head(SHOWN_CHANGES)
        st.dataframe(pd.DataFrame({
            tr("editor.col_key"): [_named(k, names) for k in shown["key"]],
            tr("editor.col_file_row"): [r + 1 for r in shown["row"]],  # as Excel numbers the file (header = 1)
            tr("editor.col_column"): [_col_label(d.table, c) for c in shown["column"]],
            tr("editor.col_before"): shown["before"].tolist(),
            tr("editor.col_after"): shown["after"].tolist()}), hide_index=True)
        if len(d.changed) > SHOWN_CHANGES:
            st.caption(tr("editor.preview_more", shown=SHOWN_CHANGES, n=len(d.changed)))
    for frame, key in ((d.added, "editor.preview_added"), (d.removed, "editor.preview_removed")):
        if len(frame):
            with st.expander(tr(key, n=len(frame))):
                st.dataframe(frame.rename(columns={c.name: column_label(c, lang()) for c in schema.TABLES[d.table][1]}))


def preview() -> bool:
    """The pending import, if any: its problems, what it changes, and the confirm / cancel buttons."""
    pending = st.session_state.get("import_preview")
    if pending is None:
        return False
    problems, diff = pending["problems"], pending["diff"]
    n_errors = len(errors(problems))
    with st.container(border=True):
        st.subheader(tr("editor.preview_title", file=pending["names"]))
        if n_errors:
            st.error(tr("editor.preview_errors", file=pending["names"], n=n_errors), icon=":material/error:")
            grouped_problems(problems)
        else:
            st.caption(tr("editor.preview_intro"))
            warnings = [p for p in problems if p.severity == "warning"]
            if warnings:
                st.caption(tr("editor.preview_warnings", n=len(warnings)))
                grouped_problems(warnings)
            if diff.is_empty:
                st.info(tr("editor.preview_same"), icon=":material/check_circle:")
            for d in diff.tables.values():
                if not d.is_empty:
                    _table_diff(d)
            if len(diff.settings):
                st.caption(tr("editor.preview_settings"))
                params = {f"{p.section}.{p.key}": label(p, lang()) for p in schema.PARAMS}
                st.dataframe(pd.DataFrame({
                    tr("editor.col_parameter"): [params.get(k, k) for k in diff.settings["parameter"]],
                    tr("editor.col_before"): diff.settings["before"].tolist(),
                    tr("editor.col_after"): diff.settings["after"].tolist()}), hide_index=True)
            if state.has_unsaved_changes() or state.pending_errors():
                st.warning(tr("editor.preview_overwrites"), icon=":material/warning:")
        row = st.container(horizontal=True)
        row.button(tr("editor.preview_confirm"), type="primary", icon=":material/check:", key="import_confirm",
                   on_click=confirm_import, disabled=bool(n_errors) or diff.is_empty)
        row.button(tr("editor.preview_cancel"), key="import_cancel", on_click=cancel_import)
    return True


def imports() -> None:
    feedback = st.session_state.pop("import_feedback", None)
    if feedback is not None:
        kind, message, problems = feedback
        {"ok": st.success, "info": st.info}.get(kind, st.error)(message)
        if problems:
            grouped_problems(problems)
    preview()
    ver = state.editor_version()
    st.markdown(f"**{tr('editor.import_table_title')}**")
    st.caption(tr("editor.import_table_help"))
    cols = st.columns([1, 2])
    cols[0].selectbox(tr("editor.import_which"), list(state.TABLES), key=f"import_table_choice_{ver}",
                      format_func=widgets.labels_now(state.TABLES, lambda tb: tr(widgets.TABLE_TITLES[tb])))
    cols[1].file_uploader(tr("editor.import_file"), type=UPLOAD_TYPES_TABLE, key=f"import_table_file_{ver}")
    st.button(tr("editor.import_table_button"), on_click=import_table, icon=":material/upload:",
              key=f"import_table_go_{ver}")
    st.divider()
    st.markdown(f"**{tr('editor.import_scenario_title')}**")
    st.caption(tr("editor.import_scenario_help"))
    st.file_uploader(tr("editor.import_files"), type=UPLOAD_TYPES_SCENARIO, accept_multiple_files=True,
                     key=f"import_scenario_files_{ver}")
    st.button(tr("editor.import_scenario_button"), on_click=import_scenario, icon=":material/upload_file:",
              key=f"import_scenario_go_{ver}")
