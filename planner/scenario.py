"""A scenario: parameters plus its tables (counties, pairs, relocation, lots, demand, payments); reading and
writing the folder format.

Reading is split in two on purpose (as Calliope does): `read_folder` gets raw text tables and never judges them;
`planner.validate` judges; `Scenario.from_raw` turns checked raw tables into typed ones. Files may be UTF-8 (with
or without BOM) or GB18030/GBK, which is what Excel on Chinese Windows writes.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from planner import i18n, schema
# The CSV reader and writer live in planner.csvio; FileReadError, decode_bytes, parse_csv_text and read_csv_file are
# also reached through this module by validate, uploads, the editor page and the tests. parse_number is the one
# reading of a number in a cell (planner.csvio.parse_number).
from planner.csvio import (FileReadError, LimitError, csv_bytes, decode_bytes, parse_csv_text,  # noqa: F401
                           parse_number, read_csv_file)

TOML_NAME = "scenario.toml"

# Rows per table above which a file is refused while it is read (issue 17), each far above a national scenario:
# 2,844 county-level divisions; ~10,000 quota lots; pairs.csv holds pair overrides, exclusions and deals (bench
# national: 160 rows), and 500,000 rows still give a band to every pair of any province or to a fifth of all
# 800 x 2,800 national pairs; relocation groups by village; demand by county and year; payments by deal and
# milestone. DEFAULT_MAX_ROWS (planner.csvio) covers anything else.
MAX_ROWS = {"counties": 20_000, "pairs": 500_000, "relocation": 500_000, "lots": 200_000, "demand": 200_000,
            "payments": 200_000}
MAX_TOML_BYTES = 1_000_000  # scenario.toml holds a few dozen parameters
MAX_TOML_DEPTH = 8  # the document, [section], key, list, code: 4 levels; deeper is refused, never recursed into


def localized(exc: FileReadError) -> FileReadError:
    """A LimitError (which planner.csvio names by code only) with its bilingual message; others as they are."""
    if isinstance(exc, LimitError):
        return FileReadError(*i18n.both(f"limits.{exc.code}", **exc.fmt))
    return exc


def read_toml_file(path: Path) -> dict:
    path = Path(path)
    if path.stat().st_size > MAX_TOML_BYTES:
        raise localized(LimitError("toml_too_large", limit=f"{MAX_TOML_BYTES:,}"))
    text, _ = decode_bytes(path.read_bytes())
    return parse_toml_text(text)


def parse_toml_text(text: str) -> dict:
    """scenario.toml text -> dict; broken or absurdly nested TOML is a FileReadError, never a RecursionError (the
    standard parser recurses once per nesting level, and so would every copy, hash and message of the result)."""
    if len(text) > MAX_TOML_BYTES:
        raise localized(LimitError("toml_too_large", limit=f"{MAX_TOML_BYTES:,}"))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileReadError(f"TOML 格式错误：{exc}", f"Broken TOML: {exc}") from exc
    except RecursionError:
        raise localized(LimitError("toml_too_deep", limit=MAX_TOML_DEPTH)) from None
    if _value_depth(data) > MAX_TOML_DEPTH:
        raise localized(LimitError("toml_too_deep", limit=MAX_TOML_DEPTH))
    return data


def _value_depth(value) -> int:
    """Nesting depth of parsed TOML, without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, depth + 1) for v in item)
    return deepest


@dataclass
class RawFolder:
    """What is on disk, unjudged: the TOML as a dict and each table as strings (None = file absent)."""

    settings: dict | None
    tables: dict[str, pd.DataFrame | None]
    read_errors: list[tuple[str, FileReadError]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)


def read_folder(folder: Path) -> RawFolder:
    folder = Path(folder)
    raw = RawFolder(settings=None, tables={})
    toml_path = folder / TOML_NAME
    if toml_path.is_file():
        try:
            raw.settings = read_toml_file(toml_path)
        except (FileReadError, OSError) as exc:
            raw.read_errors.append((TOML_NAME, _as_read_error(exc)))
    for table, (filename, _, _) in schema.TABLES.items():
        path = folder / filename
        raw.tables[table] = None
        if not path.is_file():
            continue
        try:
            raw.tables[table], raw.encodings[table] = read_csv_file(path, MAX_ROWS.get(table))
        except (FileReadError, OSError) as exc:
            raw.read_errors.append((filename, _as_read_error(exc)))
    return raw


def _as_read_error(exc: Exception) -> FileReadError:
    if isinstance(exc, FileReadError):
        return localized(exc)
    return FileReadError(f"无法读取文件：{exc}", f"Cannot read the file: {exc}")


# --------------------------------------------------------------------------- cell parsing

def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and value.strip() == ""


def cell_text(value) -> str:
    """A cell as the text a user typed: '' for blank, integers without '.0'."""
    if is_blank(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return format_number(float(value))
    return str(value).strip()


def format_number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def parse_bool(value) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if is_blank(value):
        return None
    text = str(value).strip().lower()
    if text in schema.TRUE_WORDS:
        return True
    if text in schema.FALSE_WORDS:
        return False
    raise ValueError(value)


def parse_category(value, column: schema.Column) -> str | None:
    return choice_code(value, column.allowed, column.aliases)


# --------------------------------------------------------------------------- typed scenario

def _empty(table: str):
    return field(default_factory=lambda: empty_table(table))


# Words of the baseline's description that say its numbers are made up (scenarios/jilin-baseline/scenario.toml).
ILLUSTRATIVE_MARKERS = ("示意性假设", "illustrative, not official")


@dataclass
class Scenario:
    """A checked scenario with typed tables. Numbers are float (NaN = not given); codes are text.

    One attribute per `schema.TABLES` entry (counties, pairs, relocation, lots, demand, payments), always a
    DataFrame with the schema's columns; an optional table the folder lacks is empty."""

    settings: dict
    counties: pd.DataFrame
    pairs: pd.DataFrame = _empty("pairs")
    relocation: pd.DataFrame = _empty("relocation")
    lots: pd.DataFrame = _empty("lots")
    demand: pd.DataFrame = _empty("demand")
    payments: pd.DataFrame = _empty("payments")

    @property
    def name(self) -> str:
        return str(self.param("scenario", "name") or "")

    @property
    def illustrative(self) -> bool:
        """The scenario says its quantities are made up (the shipped baseline's description does): every page and
        document drawn from it then carries the illustrative-data banner (issue 16)."""
        return any(marker in self.description for marker in ILLUSTRATIVE_MARKERS)

    @property
    def description(self) -> str:
        return str(self.param("scenario", "description") or "")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by its schema name."""
        return {table: getattr(self, table) for table in schema.TABLES}

    def param(self, section: str, key: str):
        """A parameter's value, or its schema default when absent."""
        body = self.settings.get(section)
        value = body.get(key) if isinstance(body, dict) else None
        if value is None:
            return schema.PARAMS_BY_KEY[(section, key)].default
        return value

    def with_param(self, section: str, key: str, value) -> Scenario:
        """A copy with one parameter changed (None removes it)."""
        out = self.copy()
        sect = out.settings.setdefault(section, {})
        if value is None:
            sect.pop(key, None)
        else:
            sect[key] = value
        return out

    def copy(self) -> Scenario:
        return Scenario(copy.deepcopy(self.settings), **{t: df.copy() for t, df in self.tables().items()})

    # -- conversion
    @classmethod
    def from_raw(cls, settings: dict | None, tables: dict[str, pd.DataFrame | None]) -> Scenario:
        settings = normalised_settings(settings)
        typed = {table: typed_table(tables.get(table), columns)
                 for table, (_, columns, _) in schema.TABLES.items()}
        return cls(settings, **typed)

    def to_raw(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        return copy.deepcopy(self.settings), {t: text_table(df) for t, df in self.tables().items()}

    def content_hash(self) -> str:
        """Stable hash of everything the model and the proceeds rule read (for caching and audit)."""
        settings, tables = self.to_raw()
        payload = json.dumps({"settings": settings,
                              "tables": {k: [list(v.columns)] + v.values.tolist() for k, v in tables.items()}},
                             ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def seller_codes(self) -> list[str]:
        c = self.counties
        mask = schema.may_sell_provincewide(c["poverty_class"]) & (c["surplus_mu"].fillna(0) > 0)
        return c.loc[mask, "code"].tolist()

    def buyer_codes(self) -> list[str]:
        c = self.counties
        return c.loc[c["demand_mu"].fillna(0) > 0, "code"].tolist()


def normalised_settings(settings: dict | None) -> dict:
    """A deep copy with list parameters as lists of codes: `saleable_status = "已确认备案"` reads as
    ["confirmed"] (labels and a single text accepted, as in the tables)."""
    out = copy.deepcopy(settings or {})
    for p in schema.PARAMS:
        if p.kind != "choices":
            continue
        sect = out.get(p.section)
        if not isinstance(sect, dict) or sect.get(p.key) is None:
            continue
        value = sect[p.key]
        items = [value] if isinstance(value, str) else value
        if isinstance(items, (list, tuple)):
            sect[p.key] = [choice_code(v, p.allowed, p.aliases) or v for v in items]
    return out


def choice_code(value, allowed, aliases) -> str | None:
    """The code a typed word or label stands for, or None when it is none of them."""
    text = "" if is_blank(value) else str(value).strip()
    key = text.lower() if text.isascii() else text
    return aliases.get(key, key if key in allowed else None)


def canonical_headers(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """The table with headers given as labels (zh or en, with or without the unit, as the app shows them) renamed
    to the schema's column names; unknown headers stay as they are. A label naming a column that is already
    present is left alone (and reported as a duplicate). Attributes (row numbers etc.) are kept."""
    names = [str(c).strip().lower() for c in df.columns]
    mapped = [schema.column_for_header(table, c) or c for c in names]
    taken: set[str] = set()
    out_names, dups = [], list(df.attrs.get("duplicate_headers", []))
    exact = {c for c in names if schema.column_for_header(table, c) == c}
    for orig, new in zip(names, mapped):
        if new != orig and (new in taken or new in exact):
            dups.append(new)
            new = orig
        taken.add(new)
        out_names.append(new)
    out = df.copy()
    out.columns = out_names
    out.attrs = dict(df.attrs)
    if dups:
        out.attrs["duplicate_headers"] = list(dict.fromkeys(dups))
    return out


def typed_table(raw: pd.DataFrame | None, columns: tuple[schema.Column, ...]) -> pd.DataFrame:
    """Raw strings -> typed columns; unknown columns kept as text; schema columns always present."""
    raw = pd.DataFrame() if raw is None else raw
    raw = canonical_headers(columns[0].table, raw) if columns else raw.copy()
    raw.attrs = {}  # a copy: pandas deep-copies attrs on every column read, and typing needs none of them
    n = len(raw)
    out = {}
    known = {c.name for c in columns}
    for col in columns:
        values = raw[col.name].tolist() if col.name in raw.columns else [None] * n
        if col.kind in ("number", "integer"):
            out[col.name] = pd.Series([_safe(parse_number, v) for v in values], dtype="float64")
        elif col.kind == "bool":
            out[col.name] = pd.Series([bool(_safe(parse_bool, v) or False) for v in values], dtype=bool)
        elif col.kind == "category":
            parsed = [parse_category(v, col) or col.blank_code for v in values]
            out[col.name] = pd.Series(parsed, dtype=object)
        else:
            out[col.name] = pd.Series(["" if is_blank(v) else str(v).strip() for v in values], dtype=object)
    for name in raw.columns:
        if name not in known:
            out[name] = pd.Series(["" if is_blank(v) else str(v) for v in raw[name].tolist()], dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _safe(fn, value):
    try:
        return fn(value)
    except (ValueError, TypeError):
        return None


def text_table(df: pd.DataFrame) -> pd.DataFrame:
    """Typed table -> strings as they would be written to CSV."""
    return pd.DataFrame({c: [cell_text(v) for v in df[c].tolist()] for c in df.columns}, dtype=object,
                        index=pd.RangeIndex(len(df)))


def empty_table(table: str) -> pd.DataFrame:
    return typed_table(None, schema.TABLES[table][1])


# --------------------------------------------------------------------------- writing

def write_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (Excel on Chinese Windows opens it correctly), through planner.csvio.csv_bytes: text that
    Excel would run as a formula (a county named "=..." or "@...") gets a leading apostrophe, which
    `parse_csv_text` removes again, so the folder round-trips exactly."""
    return csv_bytes(df.astype(object).map(cell_text))


def settings_toml_bytes(settings: dict, previous: str | None = None) -> bytes:
    """scenario.toml for `settings`. With the `previous` text of the file, its comments, order and layout are kept
    and only the changed lines rewritten, where the file is simple enough to do that safely (sections of
    `key = value` lines); otherwise it is written afresh, keeping every key but not comments."""
    clean = {s: {k: v for k, v in sect.items() if v is not None} if isinstance(sect, dict) else sect
             for s, sect in settings.items()}
    if previous is not None:
        kept = _patched_toml(previous, clean)
        if kept is not None:
            return kept.encode("utf-8")
    return tomli_w.dumps(clean).encode("utf-8")


_SECTION_LINE = re.compile(r"\s*\[([A-Za-z0-9_-]+)\]\s*(#.*)?")
_KEY_LINE = re.compile(r"(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*?)(\r?\n)?")


def _patched_toml(text: str, new: dict) -> str | None:
    """`text` with its values changed to `new`, comments kept; None when the file is not plain enough."""
    try:
        old = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if old == new:
        return text
    if any(not isinstance(v, dict) or any(isinstance(x, dict) for x in v.values()) for v in new.values()):
        return None
    out: list[str] = []
    section, seen, ends = None, set(), {}
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    i = 0
    while i < len(lines):
        line, i = lines[i], i + 1
        if m := _SECTION_LINE.fullmatch(line.rstrip("\r\n")):
            section = m.group(1)
            out.append(line)
            ends[section] = len(out)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            out.append(line)
            continue
        k = _KEY_LINE.fullmatch(line)
        if not k or section is None:
            return None  # a top-level key, [[tables]], quoted or dotted keys
        block, value = [line], _value_and_comment(k.group(4))
        while value is None and i < len(lines) and len(block) < 1000:  # a value over several lines
            block.append(lines[i])
            i += 1
            value = _value_and_comment("".join(block)[k.start(4):].rstrip("\r\n"))
        if value is None:
            return None
        key, comment = k.group(2), value[1]
        if key in new.get(section, {}):
            seen.add((section, key))
            if old.get(section, {}).get(key) != new[section][key]:
                block = [f"{k.group(1)}{key}{k.group(3)}{_toml_value(new[section][key])}"
                         f"{comment}{k.group(5) or chr(10)}"]
            out += block
            ends[section] = len(out)
    for sect in reversed(list(new)):
        missing = [f"{key} = {_toml_value(v)}\n" for key, v in new[sect].items() if (sect, key) not in seen]
        if sect in ends:
            out[ends[sect]:ends[sect]] = missing
        elif missing:
            out.append(("\n" if out else "") + f"[{sect}]\n" + "".join(missing))
    result = "".join(out)
    try:
        return result if tomllib.loads(result) == new else None
    except tomllib.TOMLDecodeError:
        return None


def _value_and_comment(rest: str) -> tuple[str, str] | None:
    """Split `value  # comment` where the value itself may hold '#' (in a string); None if no split parses."""
    for i in [i for i, ch in enumerate(rest) if ch == "#"] + [len(rest)]:
        try:
            tomllib.loads("x = " + rest[:i])
        except tomllib.TOMLDecodeError:
            continue
        value = rest[:i].rstrip()
        return value, rest[len(value):].rstrip()  # the comment with the spacing before it
    return None


def _toml_value(value) -> str:
    return tomli_w.dumps({"x": value})[len("x = "):].rstrip("\n")


def scenario_files(scn: Scenario) -> dict[str, bytes]:
    """The folder's files as bytes; optional tables only when they have rows."""
    files = {TOML_NAME: settings_toml_bytes(scn.settings)}
    for table, (filename, _, required) in schema.TABLES.items():
        df = getattr(scn, table)
        if required or len(df):
            files[filename] = write_csv_bytes(text_table(df))
    return files


def save_scenario(scn: Scenario, folder: Path) -> None:
    """Write the folder format plainly (planner.store adds atomicity and versions)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = scenario_files(scn)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    for _, (filename, _, _) in schema.TABLES.items():
        if filename not in files and (folder / filename).exists():
            (folder / filename).unlink()
