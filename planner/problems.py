"""A problem found in a scenario's inputs: file, spreadsheet row, column, value and a message in Chinese and
English. Shared by `planner.validate` (files, cells, parameters) and `planner.plan_checks` (across tables)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from planner import i18n


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str
    value: str
    message_zh: str
    message_en: str
    severity: str = "error"  # error | warning

    def text(self, lang: str = "zh") -> str:
        where = self.file
        if self.row is not None:
            where += i18n.t("validate.where_row", lang, row=self.row)
        if self.column:
            where += f" [{self.column}]"
        msg = self.message_zh if lang == "zh" else self.message_en
        value = i18n.t("validate.value_suffix", lang, value=self.value) if self.value != "" else ""
        return f"{where}: {msg}{value}"

    def as_dict(self) -> dict:
        return asdict(self)


def problem(file: str, row: int | None, column: str, value: str, code: str, severity: str = "error", /,
            **fmt) -> Problem:
    """A Problem whose zh and en messages are the locale template validate.<code>, filled with fmt (a (zh, en)
    tuple fills each language with its own part)."""
    zh, en = i18n.both(f"validate.{code}", **fmt)
    return Problem(file, row, column, value, zh, en, severity)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    cols = ["severity", "file", "row", "column", "value", "message_zh", "message_en"]
    return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in problems], columns=cols)


def show(value) -> str:
    """A value as quoted in a message: as typed, cut short."""
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fmt(x) -> str:
    return str(int(x)) if x is not None and float(x).is_integer() else str(x)


def row_numbers(df: pd.DataFrame) -> list[int]:
    """Each row's number as a spreadsheet shows it (header = row 1), kept from the file when it was read."""
    rows = df.attrs.get("row_numbers")
    if rows and len(rows) == len(df):
        return list(rows)
    return [i + 2 for i in range(len(df))]
