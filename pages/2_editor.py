"""情景编辑 Scenario editor: edit the county, pair and relocation tables and the parameters; import CSV/Excel.

Edits are checked by planner.validate on every change and reach the working scenario only when there is no error.
The editors' input tables stay fixed in session state (see app_state); edits are read from st.data_editor's return
value, so they survive reruns, page changes and the language switch.
"""
from __future__ import annotations

import copy

import streamlit as st

import app_state as state
import app_store
import app_views as views
from planner import schema, uploads
from planner.i18n import choice_label, column_label, label, param_help
from planner.scenario import FileReadError, RawFolder, Scenario
from planner.validate import errors, validate_raw, validate_scenario

TABLE_TITLES = {"counties": "editor.tab_counties", "pairs": "editor.tab_pairs", "relocation": "editor.tab_relocation"}
SECTIONS = ("scenario", "pricing", "rules", "proceeds")
UPLOAD_TYPES_TABLE = ["csv", "txt", "xlsx"]
UPLOAD_TYPES_SCENARIO = ["toml", "csv", "txt", "xlsx", "zip"]
PINNED = {"code", "name", "seller_code", "buyer_code", "county_code", "group_id"}


# --------------------------------------------------------------------------- column configs from the schema


def column_config(table: str, lang: str) -> dict:
    cfg = {}
    for c in schema.TABLES[table][1]:
        text = column_label(c, lang)
        help_text = _column_help(c, lang)
        if c.kind in ("number", "integer"):
            cfg[c.name] = st.column_config.NumberColumn(
                text, help=help_text, min_value=c.minimum, max_value=c.maximum,
                step=1 if c.kind == "integer" else None, format="%d" if c.kind == "integer" else None)
        elif c.kind == "category":
            cfg[c.name] = st.column_config.SelectboxColumn(
                text, help=help_text, options=list(c.allowed), required=c.cell_required,
                format_func=lambda v, name=c.name: choice_label(name, v, lang))
        elif c.kind == "bool":
            cfg[c.name] = st.column_config.CheckboxColumn(text, help=help_text)
        else:
            cfg[c.name] = st.column_config.TextColumn(text, help=help_text, required=c.cell_required,
                                                      pinned=c.name in PINNED)
    return cfg


def _column_help(c: schema.Column, lang: str) -> str:
    parts = [f"`{c.name}`"]
    if c.minimum is not None and c.maximum is not None:
        parts.append(state.tr("editor.range", lo=_num(c.minimum), hi=_num(c.maximum)))
    elif c.minimum is not None:
        parts.append(state.tr("editor.min", lo=_num(c.minimum)))
    if c.cell_required:
        parts.append(state.tr("editor.required"))
    hint = state.tr(f"colhelp.{c.name}")
    if hint != f"colhelp.{c.name}":
        parts.append(hint)
    return " · ".join(parts)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# --------------------------------------------------------------------------- callbacks (run before the page)


def _params_from_widgets() -> dict:
    scn = state.working()
    settings = copy.deepcopy(scn.settings)
    ver = st.session_state.get("editor_ver", 0)
    for p in schema.PARAMS:
        key = f"param_{p.section}_{p.key}_{ver}"
        if key not in st.session_state:
            continue
        value = st.session_state[key]
        if p.kind == "integer" and value is not None:
            value = int(value)
        elif p.kind == "number" and value is not None:
            value = float(value)
        elif p.kind == "text":
            value = "" if value is None else str(value)
        section = settings.setdefault(p.section, {})
        if value is None:
            section.pop(p.key, None)
        else:
            section[p.key] = value
    return settings


def apply_params() -> None:
    scn = state.working()
    if scn is None:
        return
    candidate = Scenario(_params_from_widgets(), scn.counties, scn.pairs, scn.relocation)
    problems = validate_scenario(candidate)
    if errors(problems):
        st.session_state.params_feedback = ("error", problems)
        return
    state.set_working(state.normalised(candidate), reset_editor=False)
    st.session_state.params_feedback = ("ok", [])


def import_table() -> None:
    scn = state.working()
    ver = st.session_state.get("editor_ver", 0)
    table = st.session_state.get(f"import_table_choice_{ver}", "counties")
    upload = st.session_state.get(f"import_table_file_{ver}")
    if scn is None or upload is None:
        st.session_state.import_feedback = ("error", state.tr("editor.import_no_file"), [])
        return
    try:
        frame = uploads.read_table_upload(upload.name, upload.getvalue(), table)
    except FileReadError as exc:
        message = exc.message_en if state.lang() == "en" else exc.message_zh
        st.session_state.import_feedback = ("error", state.tr("editor.import_unreadable", file=upload.name,
                                                              error=message), [])
        return
    settings, raw_tables = scn.to_raw()
    raw_tables[table] = frame
    _finish_import(RawFolder(settings=settings, tables=raw_tables), upload.name)


def import_scenario() -> None:
    scn = state.working()
    ver = st.session_state.get("editor_ver", 0)
    files = st.session_state.get(f"import_scenario_files_{ver}") or []
    if not files:
        st.session_state.import_feedback = ("error", state.tr("editor.import_no_file"), [])
        return
    raw = uploads.raw_from_uploads([(f.name, f.getvalue()) for f in files],
                                   default_settings=scn.settings if scn is not None else None)
    _finish_import(raw, ", ".join(f.name for f in files))


def _finish_import(raw: RawFolder, names: str) -> None:
    problems = validate_raw(raw)
    if errors(problems):
        st.session_state.import_feedback = ("error", state.tr("editor.import_invalid", file=names,
                                                              n=len(errors(problems))), problems)
        return
    imported = Scenario.from_raw(raw.settings, raw.tables)
    state.set_working(imported, reset_editor=True)
    warn = [p for p in problems if p.severity == "warning"]
    st.session_state.import_feedback = ("ok", state.tr("editor.import_ok", file=names, counties=len(imported.counties),
                                                       pairs=len(imported.pairs),
                                                       groups=len(imported.relocation)), warn)


# --------------------------------------------------------------------------- sections


def action_bar(n_errors: int) -> None:
    row = st.container(horizontal=True, gap="small")
    # Save / save as: app_store (planner/store.py underneath); callbacks, see app_state.leave_legacy_pages_mode.
    app_store.save_button(row)
    app_store.save_as_popover(row, "bar")
    row.button(state.tr("editor.discard_all"), icon=":material/undo:", on_click=state.discard_all_changes,
               disabled=not (state.has_unsaved_changes() or n_errors), help=state.tr("editor.discard_all_help"),
               key="editor_discard_all")
    row.button(state.tr("editor.discard_pending"), icon=":material/backspace:",
               on_click=state.discard_pending_edits, disabled=not n_errors,
               help=state.tr("editor.discard_pending_help"), key="editor_discard_pending")
    app_store.read_only_note()
    app_store.feedback()


def table_editor(table: str, lang: str):
    base = state.editor_input(table)
    st.caption(state.tr(f"editor.caption_{table}"))
    height = int(min(700, 38 + 35 * (len(base) + 1)))
    edited = st.data_editor(base, key=state.editor_key(table), num_rows="dynamic", hide_index=True,
                            column_config=column_config(table, lang), height=max(height, 150), placeholder="")
    state.remember_edits(table, edited)
    return edited


def show_table_problems(container, table: str, frame, problems, lang: str) -> None:
    filename = schema.TABLES[table][0]
    mine = [p for p in problems if p.file == filename]
    if not mine:
        return
    with container:
        n_err = len(errors(mine))
        if n_err:
            st.error(state.tr("editor.table_errors", n=n_err, file=filename), icon=":material/error:")
        else:
            st.warning(state.tr("editor.table_warnings", n=len(mine), file=filename), icon=":material/warning:")
        styled = views.problem_rows(frame, mine, table, lang)
        if styled is not None:
            st.caption(state.tr("editor.problem_rows"))
            st.dataframe(styled)
        st.dataframe(views.problems_view(mine, lang, {table: frame}), hide_index=True)


def params_form(scn: Scenario, lang: str) -> None:
    feedback = st.session_state.pop("params_feedback", None)
    if feedback is not None:
        kind, problems = feedback
        if kind == "ok":
            st.success(state.tr("editor.params_applied"))
        else:
            st.error(state.tr("editor.params_invalid", n=len(errors(problems))))
            st.dataframe(views.problems_view(errors(problems), lang), hide_index=True)
    ver = st.session_state.get("editor_ver", 0)
    with st.form(f"params_{ver}"):
        for section in SECTIONS:
            st.markdown(f"**{state.tr(f'editor.section_{section}')}**")
            params = [p for p in schema.PARAMS if p.section == section]
            cols = st.columns(2)
            for i, p in enumerate(params):
                with cols[i % 2]:
                    param_widget(scn, p, ver, lang)
        st.form_submit_button(state.tr("editor.params_apply"), type="primary", on_click=apply_params,
                              icon=":material/check:")


def param_widget(scn: Scenario, p: schema.Param, ver: int, lang: str) -> None:
    key = f"param_{p.section}_{p.key}_{ver}"
    text = label(p, lang)
    help_text = param_help(p, lang) or None
    raw = scn.settings.get(p.section, {}).get(p.key) if isinstance(scn.settings.get(p.section), dict) else None
    value = raw if raw is not None else p.default
    if p.kind == "text":
        if p.key == "description":
            st.text_area(text, value=str(value or ""), key=key, help=help_text, height=100)
        else:
            st.text_input(text, value=str(value or ""), key=key, help=help_text)
    elif p.kind == "bool":
        st.checkbox(text, value=bool(value), key=key, help=help_text)
    elif p.kind == "choice":
        options = list(p.allowed)
        st.selectbox(text, options, index=options.index(value) if value in options else 0, key=key, help=help_text,
                     format_func=lambda v, k=p.key: choice_label(k, v, lang))
    elif p.kind == "integer":
        st.number_input(text, value=int(value or 0), min_value=int(p.minimum) if p.minimum is not None else None,
                        max_value=int(p.maximum) if p.maximum is not None else None, step=1, key=key, help=help_text)
    else:
        number = None if value is None else float(value)
        st.number_input(text, value=number, min_value=float(p.minimum) if p.minimum is not None else None,
                        max_value=float(p.maximum) if p.maximum is not None else None,
                        step=0.05 if (p.maximum is not None and p.maximum <= 1) else 0.5, key=key, help=help_text,
                        placeholder=state.tr("editor.blank_none") if p.optional else None)


def import_section(lang: str) -> None:
    feedback = st.session_state.pop("import_feedback", None)
    if feedback is not None:
        kind, message, problems = feedback
        (st.success if kind == "ok" else st.error)(message)
        if problems:
            st.dataframe(views.problems_view(problems, lang, spreadsheet_rows=True), hide_index=True)
    ver = st.session_state.get("editor_ver", 0)
    st.markdown(f"**{state.tr('editor.import_table_title')}**")
    st.caption(state.tr("editor.import_table_help"))
    cols = st.columns([1, 2])
    cols[0].selectbox(state.tr("editor.import_which"), list(state.TABLES), key=f"import_table_choice_{ver}",
                      format_func=lambda tb: state.tr(TABLE_TITLES[tb]))
    cols[1].file_uploader(state.tr("editor.import_file"), type=UPLOAD_TYPES_TABLE, key=f"import_table_file_{ver}")
    st.button(state.tr("editor.import_table_button"), on_click=import_table, icon=":material/upload:",
              key=f"import_table_go_{ver}")
    st.divider()
    st.markdown(f"**{state.tr('editor.import_scenario_title')}**")
    st.caption(state.tr("editor.import_scenario_help"))
    st.file_uploader(state.tr("editor.import_files"), type=UPLOAD_TYPES_SCENARIO, accept_multiple_files=True,
                     key=f"import_scenario_files_{ver}")
    st.button(state.tr("editor.import_scenario_button"), on_click=import_scenario, icon=":material/upload_file:",
              key=f"import_scenario_go_{ver}")


# --------------------------------------------------------------------------- page


def main() -> None:
    lang = state.lang()
    st.title(state.tr("editor.title"))
    st.caption(state.tr("editor.intro"))
    scn = state.working()
    if scn is None:
        st.info(state.tr("common.no_scenario"))
        return
    bar = st.container()
    status = st.container()
    tabs = st.tabs([state.tr(TABLE_TITLES[tb]) for tb in state.TABLES]
                   + [state.tr("editor.tab_params"), state.tr("editor.tab_import"), state.tr("store.tab_store")])
    edited, slots = {}, {}
    for table, tab in zip(state.TABLES, tabs):
        with tab:
            edited[table] = table_editor(table, lang)
            slots[table] = st.container()

    # Check the edited tables as a whole (pairs and groups refer to county codes) and apply them only when valid.
    candidate = state.candidate_from_tables(scn, edited)
    problems = validate_scenario(candidate)
    n_errors = len(errors(problems))
    st.session_state.editor_errors = n_errors
    changed = candidate.content_hash() != scn.content_hash()
    if changed and not n_errors:
        scn = state.normalised(candidate)
        state.set_working(scn, reset_editor=False)
    for table in state.TABLES:
        show_table_problems(slots[table], table, edited[table].reset_index(drop=True), problems, lang)
    other = [p for p in problems if p.file not in {schema.TABLES[tb][0] for tb in state.TABLES}]
    with status:
        if n_errors:
            st.error(state.tr("editor.pending_errors", n=n_errors), icon=":material/error:")
        elif state.has_unsaved_changes():
            st.info(state.tr("editor.applied"), icon=":material/check_circle:")
        if other:
            st.dataframe(views.problems_view(other, lang), hide_index=True)
    with bar:
        action_bar(n_errors)
    with tabs[3]:
        params_form(scn, lang)
    with tabs[4]:
        import_section(lang)
    with tabs[5]:
        app_store.manage_panel(with_save=False)


state.require_app()
main()
