"""Validation problems as staff read them: a table naming file, row, county and column, and the edited rows with
their offending cells highlighted. No Streamlit here: DataFrames (or a pandas Styler) in the language given.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner import schema
from planner.i18n import choice_label, column_label, label, t
from planner.validate import Problem


def problems_view(problems: list[Problem], lang: str, table_frames: dict[str, pd.DataFrame] | None = None,
                  spreadsheet_rows: bool = False) -> pd.DataFrame:
    """Problems as a table: severity, file, row, county, column label, value, message.

    Rows are counted as the editor shows them (first data row = 1), or, with `spreadsheet_rows`, as Excel shows
    the uploaded file (header = row 1)."""
    labels = {}
    for _, (filename, columns, _) in schema.TABLES.items():
        for c in columns:
            labels[(filename, c.name)] = column_label(c, lang)
    params = {f"{p.section}.{p.key}": label(p, lang) for p in schema.PARAMS}
    rows = []
    for p in sorted(problems, key=lambda q: (q.severity != "error", q.file, q.row if q.row is not None else -1)):
        who = ""
        table = _table_of(p.file)
        if table_frames is not None and table and p.row is not None:
            frame = table_frames.get(table)
            i = p.row - 2
            if frame is not None and 0 <= i < len(frame):
                who = row_identity(frame.iloc[i], table)
        rows.append({
            t("problems.severity", lang): t(f"problems.{p.severity}", lang),
            t("problems.file", lang): p.file,
            t("problems.row", lang): str(p.row if spreadsheet_rows else p.row - 1) if p.row is not None else "",
            t("problems.item", lang): who,
            t("problems.column", lang): labels.get((p.file, p.column), params.get(p.column, p.column)),
            t("problems.value", lang): p.value,
            t("problems.message", lang): p.message_en if lang == "en" else p.message_zh,
        })
    return pd.DataFrame(rows, columns=[t(k, lang) for k in ("problems.severity", "problems.file", "problems.row",
                                                            "problems.item", "problems.column", "problems.value",
                                                            "problems.message")])


def _table_of(filename: str) -> str | None:
    for table, (name, _, _) in schema.TABLES.items():
        if filename == name:
            return table
    return None


def row_identity(row: pd.Series, table: str) -> str:
    """How a user recognises a row: code + name, pair of codes, or county + group."""
    def s(v):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
    if table == "counties":
        return " ".join(x for x in (s(row.get("code")), s(row.get("name"))) if x)
    if table in ("pairs", "payments"):
        pair = f"{s(row.get('seller_code'))} → {s(row.get('buyer_code'))}"
        return " / ".join(x for x in (pair, s(row.get("milestone")) if table == "payments" else "") if x)
    if table == "lots":  # a lot by its own id (a county has several)
        return " / ".join(x for x in (s(row.get("lot_id")), s(row.get("county_code"))) if x)
    if table == "demand":
        return " / ".join(x for x in (s(row.get("county_code")), _plain(row.get("year"))) if x)
    return " / ".join(x for x in (s(row.get("county_code")), s(row.get("group_id"))) if x)


def problem_rows(frame: pd.DataFrame, problems: list[Problem], table: str, lang: str):
    """The rows of an edited table that have problems, with the offending cells highlighted (a pandas Styler),
    and a problems column next to each row; None when the table has no row problem."""
    filename = schema.TABLES[table][0]
    mine = [p for p in problems if p.file == filename and p.row is not None and 0 <= p.row - 2 < len(frame)]
    if not mine:
        return None
    positions = sorted({p.row - 2 for p in mine})
    sub = frame.iloc[positions].copy()
    for c in schema.TABLES[table][1]:
        if c.kind == "category" and c.name in sub.columns:
            sub[c.name] = [choice_label(c.choices, v, lang) or ("" if v is None else str(v)) for v in sub[c.name]]
    msg_col = t("problems.message", lang)
    sub[msg_col] = ["；".join((p.message_en if lang == "en" else p.message_zh) for p in mine if p.row - 2 == i)
                    for i in positions]
    bad = {(p.row - 2, p.column): p.severity for p in mine}
    columns = {c.name: column_label(c, lang) for c in schema.TABLES[table][1]}
    sub.index = pd.Index([i + 1 for i in positions], name=t("problems.row", lang))
    # Blank cells as blank: st.dataframe draws a missing value as "None" whatever the Styler says.
    sub = sub.astype(object).where(sub.notna(), "")
    display = sub.rename(columns=columns)
    names = list(sub.columns)

    def paint(_):
        css = pd.DataFrame("", index=display.index, columns=display.columns)
        for r, i in enumerate(positions):
            for j, name in enumerate(names):
                sev = bad.get((i, name))
                if sev == "error":
                    css.iat[r, j] = "background-color: #ffc9c9; color: #c92a2a; font-weight: 600"
                elif sev == "warning":
                    css.iat[r, j] = "background-color: #fff3bf"
            css.iat[r, len(names) - 1] = "color: #c92a2a"
        return css

    return display.style.apply(paint, axis=None).format(_plain, na_rep="")


def _plain(value) -> str:
    """A cell as typed: blanks empty, 2600.0 as 2600."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)


__all__ = ["problems_view", "problem_rows", "row_identity"]
