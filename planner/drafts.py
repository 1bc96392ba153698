"""Unsaved edits kept on disk, so a reload, a closed tab or a crash loses nothing typed (issue 15).

Layout under the scenario store's root (next to `.versions`, `.trash`; the store skips hidden folders):

    .drafts/<slug>/<draft id>.json    one draft per editing session of a scenario

Each browser session writes its own file (two windows on one scenario never overwrite each other's edits). A draft
holds the edited tables as text (exactly as a CSV would hold them: edits that are not valid yet are kept too), the
parameters, and the version stamp of the saved folder it started from, so that saving a restored draft over a
folder someone changed since is refused as a conflict by the store. Writes are atomic: a temporary file in the same
folder, fsynced, then `os.replace`. Importable without Streamlit.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.scenario import text_table
from planner.disk import fsync_dir  # one home for the directory fsync of atomic writes

DRAFTS_DIR = ".drafts"
FORMAT = 1
_ID = re.compile(r"^[0-9a-f]{8,32}$")


class DraftError(ValueError):
    """A slug or draft id that could address a file outside the drafts folder."""


@dataclass(frozen=True)
class DraftInfo:
    slug: str
    draft_id: str
    saved_at: str  # ISO time with offset
    base_stamp: str  # the folder's version stamp the edits started from
    name: str  # the scenario's name in the draft


@dataclass
class Draft:
    info: DraftInfo
    settings: dict
    tables: dict[str, pd.DataFrame]  # raw text tables, as read from CSV


def new_draft_id() -> str:
    return uuid.uuid4().hex[:16]


def _folder(root: Path, slug: str) -> Path:
    if (not slug or slug != slug.strip() or slug.startswith(".") or ".." in slug
            or any(ch in slug for ch in "/\\:\x00") or len(slug.encode("utf-8")) > 200):
        raise DraftError(f"bad scenario folder name: {slug!r}")
    return Path(root) / DRAFTS_DIR / slug


def _path(root: Path, slug: str, draft_id: str) -> Path:
    if not _ID.match(str(draft_id)):
        raise DraftError(f"bad draft id: {draft_id!r}")
    return _folder(root, slug) / f"{draft_id}.json"


def write_draft(root: Path, slug: str, draft_id: str, settings: dict, tables: dict[str, pd.DataFrame],
                base_stamp: str | None, name: str = "") -> DraftInfo:
    """Keep (or replace) this session's draft of scenario `slug`. Typed or text tables; written as text."""
    path = _path(root, slug, draft_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = DraftInfo(slug, draft_id, dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                     base_stamp or "", name)
    payload = {"format": FORMAT, "slug": slug, "draft_id": draft_id, "saved_at": info.saved_at,
               "base_stamp": info.base_stamp, "name": name, "settings": settings,
               "tables": {t: _table_json(df) for t, df in tables.items()}}
    tmp = path.parent / f".{draft_id}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return info


def _table_json(df: pd.DataFrame) -> dict:
    text = text_table(df.reset_index(drop=True))
    return {"columns": [str(c) for c in text.columns], "rows": text.values.tolist()}


def _table_frame(data: dict) -> pd.DataFrame:
    columns = [str(c) for c in data.get("columns", [])]
    rows = [["" if v is None else str(v) for v in row] for row in data.get("rows", [])]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a half-written file cannot exist (atomic replace); an unreadable one is skipped
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _info(slug: str, data: dict, draft_id: str) -> DraftInfo:
    return DraftInfo(slug, draft_id, str(data.get("saved_at", "")), str(data.get("base_stamp", "")),
                     str(data.get("name", "")))


def list_drafts(root: Path, slug: str) -> list[DraftInfo]:
    """The drafts of scenario `slug`, newest first."""
    folder = _folder(root, slug)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.json"):
        if not _ID.match(path.stem):
            continue
        data = _read(path)
        if data is not None:
            out.append(_info(slug, data, path.stem))
    return sorted(out, key=lambda i: i.saved_at, reverse=True)


def drafted_slugs(root: Path) -> list[str]:
    """The scenarios that have drafts (after a reload the app opens its default scenario, not the edited one)."""
    folder = Path(root) / DRAFTS_DIR
    if not folder.is_dir():
        return []
    out = []
    for d in sorted(folder.iterdir()):
        try:
            if d.is_dir() and list_drafts(root, d.name):
                out.append(d.name)
        except DraftError:
            continue
    return out


def read_draft(root: Path, slug: str, draft_id: str) -> Draft | None:
    data = _read(_path(root, slug, draft_id))
    if data is None:
        return None
    tables = {str(t): _table_frame(d) for t, d in (data.get("tables") or {}).items() if isinstance(d, dict)}
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    return Draft(_info(slug, data, draft_id), settings, tables)


def remove_draft(root: Path, slug: str, draft_id: str) -> None:
    path = _path(root, slug, draft_id)
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # only when empty
    except OSError:
        pass


__all__ = ["DRAFTS_DIR", "DraftError", "DraftInfo", "Draft", "new_draft_id", "write_draft", "list_drafts", "drafted_slugs",
           "read_draft", "remove_draft"]
