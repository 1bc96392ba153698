"""What an import would change in the working scenario, before anything is applied (issue 15).

An upload is compared with the working scenario table by table: rows added and removed (matched by each table's
key, e.g. a county's code; by position when the upload has no usable key), cells changed, columns the schema does
not know (with the known column they most likely meant) and known columns the upload lacks (every value they hold
now would be blanked: a renamed `floor_price` header must show up here, not silently drop every floor price).
Cells are compared as they would be written to CSV, so 100 and "100.0" are the same value. Plain DataFrames out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from planner import schema
from planner.scenario import (RawFolder, Scenario, canonical_headers, cell_text, is_blank, normalised_settings,
                              typed_table)

# How a row is recognised in each table (the table's natural key, as validation checks it for duplicates).
KEY_COLUMNS = {
    "counties": ("code",),
    "pairs": ("seller_code", "buyer_code"),
    "relocation": ("county_code", "group_id"),
    "lots": ("lot_id",),
    "demand": ("county_code", "year"),
    "payments": ("seller_code", "buyer_code", "milestone"),
}
CHANGE_COLUMNS = ["key", "row", "column", "before", "after"]


@dataclass
class TableDiff:
    """One table's changes. Rows are numbered as the editor shows them (first data row = 1): `row` in `changed`
    and `added` is the row in the upload, in `removed` the row in the working table."""

    table: str
    added: pd.DataFrame
    removed: pd.DataFrame
    changed: pd.DataFrame  # key, row, column, before, after: one row per changed cell
    unknown_columns: pd.DataFrame  # column, closest: headers the schema does not know
    missing_columns: pd.DataFrame  # column, cleared, closest: known columns absent from the upload
    keyed: bool = True  # rows matched by key (False: by position)

    @property
    def is_empty(self) -> bool:
        return not (len(self.added) or len(self.removed) or len(self.changed) or len(self.unknown_columns)
                    or len(self.missing_columns))

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed_cells": len(self.changed),
                "changed_rows": int(self.changed["key"].nunique()) if len(self.changed) else 0,
                "unknown_columns": len(self.unknown_columns), "missing_columns": len(self.missing_columns),
                "cleared": int(self.missing_columns["cleared"].sum()) if len(self.missing_columns) else 0}


@dataclass
class ScenarioDiff:
    tables: dict[str, TableDiff] = field(default_factory=dict)
    settings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["parameter", "before", "after"]))

    @property
    def is_empty(self) -> bool:
        return all(d.is_empty for d in self.tables.values()) and not len(self.settings)


def _texts(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: [cell_text(v) for v in df[c].tolist()] for c in df.columns}, dtype=object,
                        index=pd.RangeIndex(len(df)))


def _keys(text: pd.DataFrame, key_cols: tuple[str, ...]) -> list[str] | None:
    """Each row's key ("220822" or "220822 → 220102"), or None when some key is blank or repeated."""
    if any(c not in text.columns for c in key_cols):
        return None
    keys = [" → ".join(str(text.at[i, c]).strip() for c in key_cols) for i in range(len(text))]
    if any(not all(str(text.at[i, c]).strip() for c in key_cols) for i in range(len(text))):
        return None
    return keys if len(set(keys)) == len(keys) else None


def table_diff(table: str, before: pd.DataFrame, upload: pd.DataFrame) -> TableDiff:
    """`before`: the working scenario's typed table; `upload`: the raw string table read from a file (headers may
    be column names or the app's labels, as validation accepts them)."""
    columns = schema.TABLES[table][1]
    known = [c.name for c in columns]
    renamed = canonical_headers(table, upload)
    raw_headers = [str(c) for c in upload.columns]
    canon = [str(c) for c in renamed.columns]
    present = set(canon)
    unknown = [(raw, schema.closest_column(table, raw)) for i, (raw, name) in enumerate(zip(raw_headers, canon))
               if name not in known and not (name.startswith("unnamed_")
                                             and all(is_blank(v) for v in renamed.iloc[:, i].tolist()))]
    after_typed = typed_table(upload, columns)
    old, new = _texts(before), _texts(after_typed)
    missing_rows = []
    for col in columns:
        name = col.name
        cleared = int((old[name] != "").sum()) if name in old.columns else 0
        if name in present or not (cleared or col.required):
            continue
        near = [raw for raw, col in unknown if col is not None and col.name == name]
        missing_rows.append({"column": name, "cleared": cleared, "closest": near[0] if near else ""})
    unknown_frame = pd.DataFrame([{"column": raw, "closest": col.name if col is not None else ""}
                                  for raw, col in unknown], columns=["column", "closest"])
    missing_frame = pd.DataFrame(missing_rows, columns=["column", "cleared", "closest"])

    key_cols = KEY_COLUMNS.get(table, ())
    old_keys, new_keys = _keys(old, key_cols), _keys(new, key_cols)
    keyed = old_keys is not None and new_keys is not None and all(c in present for c in key_cols)
    if not keyed:
        old_keys = [str(i + 1) for i in range(len(old))]
        new_keys = [str(i + 1) for i in range(len(new))]
    old_at = {k: i for i, k in enumerate(old_keys)}
    new_at = {k: i for i, k in enumerate(new_keys)}
    added_pos = [i for i, k in enumerate(new_keys) if k not in old_at]
    removed_pos = [i for i, k in enumerate(old_keys) if k not in new_at]
    # a header the schema does not know is reported once as an unknown column, not cell by cell
    compared = [c for c in dict.fromkeys(list(old.columns) + list(new.columns)) if c in known or c in old.columns]
    changes = []
    for j, k in enumerate(new_keys):
        i = old_at.get(k)
        if i is None:
            continue
        for c in compared:
            a = old.at[i, c] if c in old.columns else ""
            b = new.at[j, c] if c in new.columns else ""
            if a != b:
                changes.append({"key": k, "row": j + 1, "column": c, "before": a, "after": b})
    added = after_typed.iloc[added_pos].copy()
    added.index = pd.Index([i + 1 for i in added_pos], name="row")
    removed = before.reset_index(drop=True).iloc[removed_pos].copy()
    removed.index = pd.Index([i + 1 for i in removed_pos], name="row")
    return TableDiff(table, added, removed, pd.DataFrame(changes, columns=CHANGE_COLUMNS), unknown_frame,
                     missing_frame, keyed)


def settings_diff(before: dict, after: dict) -> pd.DataFrame:
    """Parameters whose value would change: parameter (section.key), before, after (as written in TOML)."""
    old, new = normalised_settings(before), normalised_settings(after)
    rows = []
    for p in schema.PARAMS:
        a = (old.get(p.section) or {}).get(p.key) if isinstance(old.get(p.section), dict) else None
        b = (new.get(p.section) or {}).get(p.key) if isinstance(new.get(p.section), dict) else None
        if _param_text(a) != _param_text(b):
            rows.append({"parameter": f"{p.section}.{p.key}", "before": _param_text(a), "after": _param_text(b)})
    return pd.DataFrame(rows, columns=["parameter", "before", "after"])


def _param_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scenario_diff(scn: Scenario, raw: RawFolder, tables: tuple[str, ...] | None = None) -> ScenarioDiff:
    """What replacing the working scenario by `raw` changes. `tables`: the tables the import replaces (a single
    table import); by default every table, an absent one reading as empty (as the import would apply it)."""
    out = ScenarioDiff()
    for table in tables or tuple(schema.TABLES):
        upload = raw.tables.get(table)
        if upload is None:
            upload = pd.DataFrame(columns=[c.name for c in schema.TABLES[table][1]], dtype=object)
        out.tables[table] = table_diff(table, getattr(scn, table), upload)
    if raw.settings is not None and tables is None:
        out.settings = settings_diff(scn.settings, raw.settings)
    return out


__all__ = ["KEY_COLUMNS", "TableDiff", "ScenarioDiff", "table_diff", "settings_diff", "scenario_diff"]
