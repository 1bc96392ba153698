"""A problem found in a scenario's inputs: file, spreadsheet row, column, value and a message in Chinese and
English. Shared by `planner.validate` (files, cells, parameters) and `planner.plan_checks` (across tables)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
    kind: str = field(default="", compare=False)  # the locale code of the message (validate.<kind>), when known

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
        out = asdict(self)
        out.pop("kind", None)
        return out


def problem(file: str, row: int | None, column: str, value: str, code: str, severity: str = "error", /,
            **fmt) -> Problem:
    """A Problem whose zh and en messages are the locale template validate.<code>, filled with fmt (a (zh, en)
    tuple fills each language with its own part)."""
    zh, en = i18n.both(f"validate.{code}", **fmt)
    return Problem(file, row, column, value, zh, en, severity, code)


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


# --------------------------------------------------------------------------- root causes and knock-on problems
#
# One wrong header can make 90 rows of other files fail ("no county with this code" everywhere once counties.csv
# has no code column). Staff fix the cause, not the 90 symptoms: problems are grouped under the problem that
# causes them, and the same problem repeated down a column is shown once with a count.

ROOT_KINDS = frozenset({"missing_file", "missing_column", "duplicate_header", "read_crashed", "check_crashed"})
COUNTIES_FILE = "counties.csv"
COUNTY_REFERENCES = frozenset({"seller_code", "buyer_code", "county_code", "destination_code"})


@dataclass(frozen=True)
class ProblemGroup:
    root: Problem
    caused: tuple[Problem, ...] = ()  # knock-on problems: they go away when the root is fixed
    similar: tuple[Problem, ...] = ()  # the same problem in more rows of the same column

    @property
    def size(self) -> int:
        return 1 + len(self.caused) + len(self.similar)


def _is_file_root(p: Problem) -> bool:
    """A problem that makes a file or a column unreadable (an unreadable file has no row and no locale code)."""
    return p.severity == "error" and (p.kind in ROOT_KINDS or (not p.kind and p.row is None and bool(p.file)))


def group_problems(problems: list[Problem]) -> list[ProblemGroup]:
    """Root causes first (a file or header that cannot be read, a county code other files refer to but
    counties.csv lacks), each with the knock-on problems it causes; then the other problems, one group per kind
    of problem and column. Errors before warnings; every problem lands in exactly one group."""
    roots = [p for p in problems if _is_file_root(p)]
    counties_broken = next((p for p in roots if p.file == COUNTIES_FILE), None)
    caused: dict[int, list[Problem]] = {id(r): [] for r in roots}
    missing_counties: dict[str, list[Problem]] = {}
    rest: list[Problem] = []
    for p in problems:
        if any(p is r for r in roots):
            continue
        column_root = next((r for r in roots if r.file == p.file and r.column and r.column == p.column), None)
        if column_root is not None:
            caused[id(column_root)].append(p)
        elif counties_broken is not None and p.file != COUNTIES_FILE and (
                p.kind == "unknown_county" or p.column in COUNTY_REFERENCES):
            caused[id(counties_broken)].append(p)
        elif p.kind == "unknown_county":
            missing_counties.setdefault(str(p.value).strip(), []).append(p)
        else:
            rest.append(p)
    groups = [ProblemGroup(r, tuple(caused[id(r)])) for r in roots]
    for code, refs in missing_counties.items():
        root = problem(COUNTIES_FILE, None, "code", code, "county_missing", "error", code=code, n=len(refs))
        groups.append(ProblemGroup(root, tuple(refs)))
    similar: dict[tuple, list[Problem]] = {}
    for p in rest:
        key = (p.file, p.column, p.kind or p.message_en, p.severity) if p.row is not None else (id(p),)
        similar.setdefault(key, []).append(p)
    groups += [ProblemGroup(ps[0], (), tuple(ps[1:])) for ps in similar.values()]
    order = {f: i for i, f in enumerate([COUNTIES_FILE] + [p.file for p in problems])}
    return sorted(groups, key=lambda g: (g.root.severity != "error", not _is_file_root(g.root),
                                         g.root.kind != "county_missing", order.get(g.root.file, 0),
                                         g.root.row if g.root.row is not None else -1))


def group_note(group: ProblemGroup, lang: str = "zh") -> str:
    """Under a root cause: how many problems it brings with it ('and 90 knock-on problems in other files')."""
    parts = []
    if group.caused:
        other = any(p.file != group.root.file for p in group.caused)
        parts.append(i18n.t("problems.group_caused_other" if other else "problems.group_caused", lang,
                            n=len(group.caused)))
    if group.similar:
        parts.append(i18n.t("problems.group_similar", lang, n=len(group.similar)))
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def knock_on_count(groups: list[ProblemGroup]) -> int:
    return sum(len(g.caused) for g in groups)
