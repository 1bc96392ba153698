"""Widgets shared by the pages: the one way to keep a widget's value across pages and reruns, the data editor that
keeps its edits, the one parameter form, and helpers for tables, downloads, headline figures and solve verdicts.

Buttons act through on_click callbacks (see ui.state.leave_legacy_pages_mode), so a click is never lost.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Callable

import pandas as pd
import streamlit as st

from planner import schema
from planner.i18n import choice_label, fmt_mu, has_key, label, param_help, t
from planner.model import SolveResult
from planner.scenario import Scenario
from planner.validate import Problem
from ui import state
from ui.figures.problems import problems_view
from ui.figures.results import kpis
from ui.i18n import lang, tr

CSV_MIME = "text/csv"

# --------------------------------------------------------------------------- kept values
#
# Streamlit drops the state of a widget that is not drawn in a run (the user left the page), and a widget whose
# labels change (the language switch) may keep showing the old label of its value. A kept widget therefore draws
# under its own key `_w_<name>` (`_w_<name>_<lang>` with per_lang) started from the value kept under `<name>`,
# and the value it returns is kept again.


def widget_key(name: str, per_lang: bool = False) -> str:
    return f"_w_{name}_{lang()}" if per_lang else f"_w_{name}"


def kept(draw: Callable, name: str, default, *, per_lang: bool = False, **kwargs):
    """Draw `draw(label=..., **kwargs)` (st.selectbox, st.multiselect, st.number_input, a column's toggle...) with
    its value kept under `name` in session state; a value no longer among `options` falls back to `default`."""
    ss = st.session_state
    key = widget_key(name, per_lang)
    options = kwargs.get("options")
    value = ss.get(name, default)
    if not _allowed(value, options):
        value = default
    if key not in ss or not _allowed(ss[key], options):
        ss[key] = value
    ss[name] = draw(key=key, **kwargs)
    return ss[name]


def _allowed(value, options) -> bool:
    if options is None:
        return True
    if isinstance(value, (list, tuple)):  # a multiselect
        return all(v in options for v in value)
    return value in options


def labels_now(options, label: Callable) -> Callable:
    """A format_func with every option's label computed now, in this run's language (AppTest calls format
    functions again outside the script run, where the session's language is unknown)."""
    texts = {o: label(o) for o in options}
    return lambda o: texts.get(o, str(o))


def request(name: str, value) -> None:
    """From a callback: the kept widget `name` shows `value` in the next run."""
    ss = st.session_state
    ss[name] = value
    for key in [k for k in ss if k == f"_w_{name}" or str(k).startswith(f"_w_{name}_")]:
        del ss[key]


def kept_table_editor(name: str, frame: Callable[[], pd.DataFrame], version: int, **kwargs) -> pd.DataFrame:
    """st.data_editor whose edits survive reruns, page changes and the language switch.

    st.data_editor keeps the user's edits as a diff against the DataFrame passed in; feeding its output back in
    loses edits, so the input ("base") stays fixed in session state and edits are read from the return value. The
    last returned table ("draft") is remembered: when the widget is created afresh (the user came back, or the
    language changed the key), the draft becomes the new base. A new `version` starts again from `frame()`."""
    ss = st.session_state
    base, draft = ss.setdefault("editor_base", {}), ss.setdefault("editor_draft", {})
    versions = ss.setdefault("editor_base_ver", {})
    key = f"editor_{name}_{version}_{lang()}"
    if versions.get(name) != version or name not in base:
        base[name] = frame()
        draft[name] = base[name].copy()
        versions[name] = version
    elif key not in ss:
        base[name] = draft[name]
    edited = st.data_editor(numbered(base[name]), key=key, **kwargs)
    draft[name] = edited.reset_index(drop=True).copy()
    return edited


def numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its rows numbered from 1, as the messages about it count them (problems_view)."""
    shown = frame.reset_index(drop=True)
    shown.index = pd.RangeIndex(1, len(shown) + 1)
    return shown


def seed_tables(frames: dict[str, pd.DataFrame], version: int) -> None:
    """From a callback: the kept table editors of `version` (the next one) start from these tables (an undo, a
    restored draft) instead of the working scenario's."""
    ss = st.session_state
    base, draft = ss.setdefault("editor_base", {}), ss.setdefault("editor_draft", {})
    versions = ss.setdefault("editor_base_ver", {})
    for name, frame in frames.items():
        base[name] = frame.reset_index(drop=True).copy()
        draft[name] = base[name].copy()
        versions[name] = version


# --------------------------------------------------------------------------- the parameter form


def form_feedback_pending(form: str) -> bool:
    """Whether the form just applied (or refused) its values: its message is about to be shown."""
    return f"{form}_feedback" in st.session_state


def param_key(form: str, p: schema.Param, version) -> str:
    return f"{form}_{p.section}_{p.key}_{version}"


def param_form(scn: Scenario, form: str, params: list[schema.Param], *, version, texts: str, columns: int = 2,
               by_section: bool = True, extra_help: str = "", border: bool = True,
               on_applied: Callable[[Scenario, Scenario], None] | None = None) -> None:
    """Scenario parameters as a form; applied on submit only when planner.validate finds no error.

    `form` prefixes the widget keys, `version` in them restarts the widgets from the scenario's values, `texts` is
    the locale prefix of the messages (`<texts>.params_apply`, `_applied`, `_invalid`), `extra_help` a locale
    prefix of help shown before each parameter's own (`<extra_help>.<key>`)."""
    feedback_key = f"{form}_feedback"
    feedback = st.session_state.pop(feedback_key, None)
    if feedback is not None:
        if not feedback:
            st.success(tr(f"{texts}.params_applied"), icon=":material/check_circle:")
        else:
            st.error(tr(f"{texts}.params_invalid", n=len(feedback)), icon=":material/error:")
            problems_table(feedback)
    with st.form(f"{form}_{version}", border=border):
        groups = ([[p for p in params if p.section == s] for s in dict.fromkeys(p.section for p in params)]
                  if by_section else [params])
        for group in groups:
            if by_section:
                st.markdown(f"**{tr(f'editor.section_{group[0].section}')}**")
            cols = st.columns(columns)
            for i, p in enumerate(group):
                with cols[i % columns]:
                    _param_widget(scn, p, param_key(form, p, version), extra_help)
        st.form_submit_button(tr(f"{texts}.params_apply"), type="primary", icon=":material/check:",
                              on_click=_apply_params, args=(form, params, version, feedback_key, on_applied))


def _param_widget(scn: Scenario, p: schema.Param, key: str, extra_help: str) -> None:
    # No min/max on the widgets: planner.validate is the one place that says what is allowed, and its message
    # (file, parameter, allowed range) is what the user sees.
    lg = lang()
    text = label(p, lg)
    help_text = param_help(p, lg)
    if extra_help and has_key(f"{extra_help}.{p.key}", lg):
        help_text = f"{tr(f'{extra_help}.{p.key}')} {help_text}".strip()
    section = scn.settings.get(p.section)
    raw = section.get(p.key) if isinstance(section, dict) else None
    value = raw if raw is not None else p.default
    if p.kind == "text":
        if p.key == "description":
            st.text_area(text, value=str(value or ""), key=key, help=help_text or None, height=100)
        else:
            st.text_input(text, value=str(value or ""), key=key, help=help_text or None)
    elif p.kind == "bool":
        st.checkbox(text, value=bool(value), key=key, help=help_text or None)
    elif p.kind == "choice":
        options = list(p.allowed)
        st.selectbox(text, options, index=options.index(value) if value in options else 0, key=key,
                     help=help_text or None, format_func=lambda v, k=p.key: choice_label(k, v, lg))
    elif p.kind == "choices":
        chosen = [value] if isinstance(value, str) else [v for v in (value or ()) if v in p.allowed]
        kind = p.choices
        st.multiselect(text, list(p.allowed), default=chosen, key=key, help=help_text or None,
                       format_func=lambda v, k=kind: choice_label(k, v, lg))
    elif p.kind == "integer":
        st.number_input(text, value=None if (value is None and p.optional) else int(value or 0), step=1, key=key,
                        help=help_text or None, placeholder=tr("editor.blank_none") if p.optional else None)
    else:
        st.number_input(text, value=None if value is None else float(value), key=key, help=help_text or None,
                        step=0.05 if (p.maximum is not None and p.maximum <= 1) else 0.5,
                        placeholder=tr("editor.blank_none") if p.optional else None)


def _apply_params(form: str, params: list[schema.Param], version, feedback_key: str,
                  on_applied: Callable[[Scenario, Scenario], None] | None) -> None:
    """Form callback (runs before the page): the candidate settings are checked like every other change."""
    ss = st.session_state
    before = state.working()
    if before is None:
        return
    settings = copy.deepcopy(before.settings)
    for p in params:
        key = param_key(form, p, version)
        if key not in ss:
            continue
        value = ss[key]
        if p.kind == "integer" and value is not None:
            value = int(value)
        elif p.kind == "number" and value is not None:
            value = float(value)
        elif p.kind == "text":
            value = "" if value is None else str(value)
        elif p.kind == "choices":
            value = list(value or [])
        section = settings.get(p.section)
        if not isinstance(section, dict):
            section = settings[p.section] = {}
        if value is None:
            section.pop(p.key, None)
        else:
            section[p.key] = value
    problems = state.apply_settings(settings)
    ss[feedback_key] = problems
    if not problems and on_applied is not None:
        on_applied(before, state.working())


# --------------------------------------------------------------------------- tables, figures and downloads


def problems_table(problems: list[Problem], tabs: bool = False, **kwargs) -> None:
    """Validation problems as a table in the session's language (see figures.problems.problems_view); with
    `tabs`, each file is named by the editor tab the user sees it in (县级数据, not counties.csv)."""
    view = problems_view(problems, lang(), **kwargs)
    if tabs:
        view = tab_names(view)
    st.dataframe(view, hide_index=True)


TABLE_TITLES = {"counties": "editor.tab_counties", "pairs": "editor.tab_pairs", "relocation": "editor.tab_relocation",
                "lots": "editor.tab_lots", "demand": "editor.tab_demand", "payments": "editor.tab_payments"}


def tab_title(filename: str) -> str:
    """The editor tab that shows a scenario file (counties.csv -> 县级数据); other names unchanged."""
    for table, (name, _, _) in schema.TABLES.items():
        if name == filename:
            return tr(TABLE_TITLES[table])
    return filename


def tab_text(text: str, lg: str | None = None) -> str:
    """A message with every scenario file name replaced by its tab's title in quotes."""
    lg = lg or lang()
    for table, (name, _, _) in schema.TABLES.items():
        if name in text:
            title = t(TABLE_TITLES[table], lg)
            quoted = f"“{title}”" if lg == "zh" else f"'{title}'"
            text = text.replace(f"{name} ", quoted) if lg == "zh" else text
            text = text.replace(name, quoted)
    return text


def tab_problems(problems: list[Problem]) -> list[Problem]:
    """The problems with their messages naming tabs instead of files, in both languages (the file field stays:
    it says which table a problem belongs to)."""
    return [dataclasses.replace(p, message_zh=tab_text(p.message_zh, "zh"), message_en=tab_text(p.message_en, "en"))
            for p in problems]


def tab_names(view: pd.DataFrame) -> pd.DataFrame:
    """A problems_view table speaking of tabs instead of files."""
    file_col, msg_col = tr("problems.file"), tr("problems.message")
    out = view.copy()
    if file_col in out.columns:
        out[file_col] = [tab_title(str(v)) for v in out[file_col]]
        out = out.rename(columns={file_col: tr("editor.col_tab")})
    if msg_col in out.columns:
        out[msg_col] = [tab_text(str(v)) for v in out[msg_col]]
    return out


def number_columns(formats: dict[str, str], wide: tuple[str, ...] = ()) -> dict:
    """st.dataframe column_config: a number format per (localised) header, wide text columns."""
    cfg = {name: st.column_config.NumberColumn(format=fmt) for name, fmt in formats.items()}
    cfg.update({name: st.column_config.TextColumn(width="large") for name in wide})
    return cfg


def numeric_columns(df: pd.DataFrame) -> dict:
    """Thousands separators in every numeric column of `df`."""
    return {name: st.column_config.NumberColumn(format="localized") for name in df.columns
            if str(df[name].dtype).startswith(("float", "int", "Int"))}


def download(where, label_key: str, data, file_name: str, key: str, *, mime: str = CSV_MIME,
             icon: str = ":material/download:", **kwargs) -> None:
    """A download button that does not rerun the page (`data` may be bytes or a callable run on click)."""
    where.download_button(tr(label_key), data=data, file_name=file_name, mime=mime, icon=icon, on_click="ignore",
                          key=key, **kwargs)


def chart(where, figure, width: str = "stretch") -> None:
    """Draw a chart: a prepared one (ui.cache.figure) from its ready spec, a plain Altair chart as Streamlit does."""
    spec = figure.vega_lite_spec() if hasattr(figure, "vega_lite_spec") else None
    if spec is not None:
        where.vega_lite_chart(spec, width=width)
    else:
        where.altair_chart(getattr(figure, "chart", figure), width=width)


def kpi_row(totals: dict) -> None:
    """The five headline figures of a solve."""
    for box, (text, value, help_text) in zip(st.columns(5), kpis(totals, lang())):
        box.metric(text, value, help=help_text)


def pairings_phrase(totals: dict) -> str:
    """How many pairings a plan recommends: county pairs, with the rows by year when a pair trades in several years
    (44 rows for 42 pairs read as two different counts on different pages)."""
    rows = int(totals.get("pairings", 0))
    pairs = int(totals.get("county_pairs", rows))
    return tr("common.pairings_count", pairs=pairs) if pairs == rows else \
        tr("common.pairings_count_years", pairs=pairs, rows=rows)


def solve_outcome(result: SolveResult) -> None:
    """A one-line verdict on a solve: success, time limit, or failure, in plain words."""
    if result.status == "optimal":
        st.success(tr("solve.optimal", pairings=pairings_phrase(result.totals),
                      matched=fmt_mu(result.totals.get("quota_matched_mu", 0.0))))
    elif result.status == "time_limit" and result.has_solution and result.mip_gap is not None:
        st.warning(tr("solve.within_gap", gap=f"{100 * result.mip_gap:.2f} %"))
    elif result.status == "time_limit" and result.has_solution:
        totals = result.totals
        st.warning(tr("solve.not_proven", matched=fmt_mu(totals.get("quota_matched_mu", 0.0)),
                      possible=fmt_mu(min(totals.get("surplus_offered_mu", 0.0), totals.get("demand_mu", 0.0)))))
    elif result.status == "time_limit":
        st.warning(tr("solve.time_limit_without"))
    else:
        st.error(tr("solve.failed", message=result.message))


def progress_bar():
    """(bar, report): report(done, total) moves the bar; empty the bar when done."""
    bar = st.progress(0.0, text=tr("sens.starting"))

    def report(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=tr("sens.progress", done=done, total=total))

    return bar, report


def county_label(names: dict, code) -> str:
    """How pickers show a county: 通榆县（220822）."""
    return tr("ui.county_item", name=names.get(code, code), code=code)


def page_header(title_key: str) -> Scenario | None:
    """The page title; the working scenario, or None after saying there is none."""
    st.title(tr(title_key))
    scn = state.working()
    if scn is None:
        st.info(tr("common.no_scenario"))
    return scn


def pending_edits_note() -> None:
    """Results use the last valid data while the editor holds edits with errors."""
    n = state.pending_errors()
    if n:
        st.warning(tr("pairings.pending_edits", n=n))


__all__ = ["widget_key", "kept", "labels_now", "request", "kept_table_editor", "numbered", "seed_tables",
           "TABLE_TITLES", "tab_title", "tab_text", "tab_problems", "tab_names", "form_feedback_pending", "param_form",
           "problems_table", "number_columns", "numeric_columns", "download", "kpi_row", "solve_outcome", "progress_bar", "county_label",
           "page_header", "pending_edits_note"]
