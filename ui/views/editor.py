"""What the scenario editor draws: the table editors (column settings from the schema), their problems, the action
bar, the parameter form and the imports. Edits are checked by planner.validate on every change and reach the
working scenario only when there is no error (see apply_tables)."""
from __future__ import annotations

import streamlit as st

from planner import schema, uploads
from planner.i18n import choice_label, column_label, has_key
from planner.scenario import FileReadError, RawFolder, Scenario
from planner.validate import Problem, errors, validate_raw, validate_scenario
from ui import library, state, widgets
from ui.figures.problems import problem_rows
from ui.i18n import lang, tr

TABLE_TITLES = {"counties": "editor.tab_counties", "pairs": "editor.tab_pairs", "relocation": "editor.tab_relocation",
                "lots": "editor.tab_lots", "demand": "editor.tab_demand", "payments": "editor.tab_payments"}
SECTIONS = ("scenario", "pricing", "rules", "horizon", "proceeds")
UPLOAD_TYPES_TABLE = ["csv", "txt", "xlsx"]
UPLOAD_TYPES_SCENARIO = ["toml", "csv", "txt", "xlsx", "zip"]
PINNED = {"code", "name", "seller_code", "buyer_code", "county_code", "group_id", "lot_id"}


# --------------------------------------------------------------------------- tables


def column_config(table: str) -> dict:
    """st.data_editor column settings from the schema: labels with units, ranges, allowed values."""
    lg = lang()
    cfg = {}
    for c in schema.TABLES[table][1]:
        text, help_text = column_label(c, lg), _column_help(c)
        if c.kind in ("number", "integer"):
            cfg[c.name] = st.column_config.NumberColumn(
                text, help=help_text, min_value=c.minimum, max_value=c.maximum,
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
            st.caption(tr(f"editor.caption_{table}"))
            rows = len(getattr(scn, table))
            edited[table] = widgets.kept_table_editor(
                table, lambda tb=table: state.editor_frame(state.working(), tb), state.editor_version(),
                num_rows="dynamic", hide_index=True, column_config=column_config(table), placeholder="",
                height=max(int(min(700, 38 + 35 * (rows + 1))), 150))
            slots[table] = st.container()
    return edited, slots


def apply_tables(scn: Scenario, edited: dict) -> tuple[Scenario, list[Problem]]:
    """Check the edited tables as a whole (pairs and groups refer to county codes) and apply them only when
    valid; returns the working scenario and the problems."""
    candidate = state.candidate_from_tables(scn, edited)
    problems = validate_scenario(candidate)
    n_errors = len(errors(problems))
    st.session_state.editor_errors = n_errors
    if candidate.content_hash() != scn.content_hash() and not n_errors:
        scn = state.normalised(candidate)
        state.set_working(scn, reset_editor=False)
    return scn, problems


def table_problems(container, table: str, frame, problems: list[Problem]) -> None:
    filename = schema.TABLES[table][0]
    mine = [p for p in problems if p.file == filename]
    if not mine:
        return
    with container:
        n_err = len(errors(mine))
        if n_err:
            st.error(tr("editor.table_errors", n=n_err, file=filename), icon=":material/error:")
        else:
            st.warning(tr("editor.table_warnings", n=len(mine), file=filename), icon=":material/warning:")
        styled = problem_rows(frame, mine, table, lang())
        if styled is not None:
            st.caption(tr("editor.problem_rows"))
            st.dataframe(styled)
        widgets.problems_table(mine, table_frames={table: frame})


def status(problems: list[Problem]) -> None:
    """Whether the edits are applied, and problems that belong to no table."""
    n_errors = len(errors(problems))
    if n_errors:
        st.error(tr("editor.pending_errors", n=n_errors), icon=":material/error:")
    elif state.has_unsaved_changes():
        st.info(tr("editor.applied"), icon=":material/check_circle:")
    other = [p for p in problems if p.file not in {schema.TABLES[tb][0] for tb in state.TABLES}]
    if other:
        widgets.problems_table(other)


def action_bar(n_errors: int) -> None:
    row = st.container(horizontal=True, gap="small")
    library.save_button(row)
    library.save_as_popover(row, "bar")
    row.button(tr("editor.discard_all"), icon=":material/undo:", on_click=state.discard_all_changes,
               disabled=not (state.has_unsaved_changes() or n_errors), help=tr("editor.discard_all_help"),
               key="editor_discard_all")
    row.button(tr("editor.discard_pending"), icon=":material/backspace:", on_click=state.discard_pending_edits,
               disabled=not n_errors, help=tr("editor.discard_pending_help"), key="editor_discard_pending")
    library.read_only_note()
    library.feedback()


def params(scn: Scenario) -> None:
    widgets.param_form(scn, "param", [p for s in SECTIONS for p in schema.PARAMS if p.section == s],
                       version=state.editor_version(), texts="editor")


# --------------------------------------------------------------------------- imports (callbacks run first)


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
    _finish_import(RawFolder(settings=settings, tables=raw_tables), upload.name)


def import_scenario() -> None:
    scn = state.working()
    files = st.session_state.get(f"import_scenario_files_{state.editor_version()}") or []
    if not files:
        st.session_state.import_feedback = ("error", tr("editor.import_no_file"), [])
        return
    raw = uploads.raw_from_uploads([(f.name, f.getvalue()) for f in files],
                                   default_settings=scn.settings if scn is not None else None)
    _finish_import(raw, ", ".join(f.name for f in files))


def _finish_import(raw: RawFolder, names: str) -> None:
    problems = validate_raw(raw)
    if errors(problems):
        st.session_state.import_feedback = ("error", tr("editor.import_invalid", file=names,
                                                        n=len(errors(problems))), problems)
        return
    imported = Scenario.from_raw(raw.settings, raw.tables)
    state.set_working(imported, reset_editor=True)
    warn = [p for p in problems if p.severity == "warning"]
    st.session_state.import_feedback = ("ok", tr("editor.import_ok", file=names, counties=len(imported.counties),
                                                 pairs=len(imported.pairs), groups=len(imported.relocation)), warn)


def imports() -> None:
    feedback = st.session_state.pop("import_feedback", None)
    if feedback is not None:
        kind, message, problems = feedback
        (st.success if kind == "ok" else st.error)(message)
        if problems:
            widgets.problems_table(problems, spreadsheet_rows=True)
    ver = state.editor_version()
    st.markdown(f"**{tr('editor.import_table_title')}**")
    st.caption(tr("editor.import_table_help"))
    cols = st.columns([1, 2])
    cols[0].selectbox(tr("editor.import_which"), list(state.TABLES), key=f"import_table_choice_{ver}",
                      format_func=widgets.labels_now(state.TABLES, lambda tb: tr(TABLE_TITLES[tb])))
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
