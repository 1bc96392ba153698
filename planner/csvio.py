"""Reading and writing CSV the way staff's Excel does: a leaf module every part of the planner may use.

Reading: files may be UTF-8 (with or without BOM) or GB18030/GBK, which is what Excel on Chinese Windows writes;
`decode_bytes` detects which and refuses binary files. `parse_csv_text` gives raw string tables and never judges
them (`planner.validate` does).

Writing: `csv_bytes` gives UTF-8 with BOM and CRLF (Excel on Chinese Windows opens it directly); text that a
spreadsheet would run as a formula (=, +, -, @ ...) gets a leading apostrophe, so it stays visible text, and
`parse_csv_text` removes that apostrophe again, so whatever the planner writes reads back as it was.

Imports nothing from the planner, so nothing here can take part in an import cycle.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd


class FileReadError(Exception):
    """A file could not be read as text/CSV/TOML; carries a bilingual message."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


# --------------------------------------------------------------------------- reading

def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes as UTF-8 (BOM or not) or GB18030; refuse binary files such as .xlsx."""
    if data.startswith(b"PK\x03\x04"):
        raise FileReadError("这是 Excel/压缩文件，不是 CSV：请另存为 CSV，或在网页上导入 Excel。",
                            "This is an Excel/zip file, not CSV: save it as CSV or import it as Excel in the app.")
    if b"\x00" in data:  # the whole file: a crash can leave a NUL-filled tail after good text
        raise FileReadError("文件是二进制内容，无法作为文本读取。", "The file is binary and cannot be read as text.")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileReadError(f"UTF-8 编码错误（字节 {exc.start}）。", f"Invalid UTF-8 at byte {exc.start}.") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileReadError("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）。",
                            "Unknown text encoding (expected UTF-8 or GBK/GB18030).") from exc


def parse_csv_text(text: str) -> pd.DataFrame:
    """CSV text -> DataFrame of stripped strings ('' = blank); headers lower-cased and stripped."""
    if not text.strip():
        raise FileReadError("文件为空。", "The file is empty.")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FileReadError(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise FileReadError("文件为空。", "The file is empty.")
    # Cells this planner wrote formula-safe ("'=x", see safe_cell) read back as typed ("=x").
    header = [unsafe_cell(h.strip().lstrip("\ufeff").strip()).lower() for h in numbered[0][1]]
    width = len(header)
    body = []
    row_numbers = []  # as a spreadsheet shows them: the header is row 1
    overflow_rows = []  # spreadsheet row numbers with more cells than the header
    for line_no, r in numbered[1:]:
        row_numbers.append(line_no)
        r = [unsafe_cell(c.strip()) for c in r]
        if len(r) < width:
            r = r + [""] * (width - len(r))
        elif len(r) > width:
            if any(r[width:]):
                overflow_rows.append(line_no)
            r = r[:width]
        body.append(r)
    # Blank header cells get placeholder names so the columns are kept, not merged.
    seen: dict[str, int] = {}
    names = []
    for i, h in enumerate(header):
        h = h or f"unnamed_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        names.append(h)
    df = pd.DataFrame(body, columns=names, dtype=object)
    if df.empty:
        df = pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    df.attrs["duplicate_headers"] = [h for h, n in seen.items() if n > 0]
    df.attrs["overflow_rows"] = overflow_rows
    df.attrs["row_numbers"] = row_numbers
    return df


def read_csv_file(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV file to raw strings; returns the table and the detected encoding."""
    data = Path(path).read_bytes()
    text, encoding = decode_bytes(data)
    return parse_csv_text(text), encoding


# --------------------------------------------------------------------------- formula-safe cells

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RISKY = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # a plain number, as Excel reads it ("-inf" is not)


def safe_cell(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe; numbers
    stay numbers. Text that already starts with apostrophes before such a character gets one more, so that
    `unsafe_cell` undoes exactly this and nothing else (a scenario folder round-trips whatever its cells hold)."""
    if isinstance(value, str) and _RISKY.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def unsafe_cell(text: str) -> str:
    """The inverse of `safe_cell` for text read back from a CSV the planner wrote: "'=x" -> "=x", "''=x" -> "'=x"."""
    if isinstance(text, str) and text.startswith("'") and _RISKY.match(text[1:]):
        return text[1:]
    return text


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 6))
    return str(safe_cell(value) if isinstance(value, str) else value)


# --------------------------------------------------------------------------- writing

# Generation record key (planner.audit.audit_record) -> (zh header, en header). Kept here rather than in the locale
# files because this module imports nothing from the planner; the headers are machine-facing column names more than
# labels. The scenario hash is the plan's check code (方案校验码): the same inputs give the same code.
AUDIT_COLUMNS = {
    "scenario_name": ("生成信息_情景名称", "audit_scenario_name"),
    "scenario_hash": ("方案校验码", "audit_scenario_hash"),
    "planner_version": ("生成信息_规划工具版本", "audit_planner_version"),
    "solver": ("生成信息_求解器", "audit_solver"),
    "created_at": ("生成信息_生成时间", "audit_created_at"),
}


def with_audit(df: pd.DataFrame, audit: dict | None, lang: str = "en") -> pd.DataFrame:
    """The table with the audit record (planner.audit.audit_record) repeated in trailing columns, so a CSV that
    travels alone still says which inputs, planner version and solver produced it, and when."""
    if not audit:
        return df
    out = df.copy()
    for key, (zh, en) in AUDIT_COLUMNS.items():
        out[zh if lang == "zh" else en] = str(audit.get(key, ""))
    return out


def csv_bytes(df: pd.DataFrame, audit: dict | None = None, lang: str = "en") -> bytes:
    """UTF-8 with BOM, CRLF, formula-safe; with `audit`, the audit record in trailing columns."""
    df = with_audit(df, audit, lang)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([_cell(str(c)) for c in df.columns])
    for row in df.itertuples(index=False):
        w.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_csv(df: pd.DataFrame, path: Path, audit: dict | None = None) -> None:
    Path(path).write_bytes(csv_bytes(df, audit))


def write_json(obj, path: Path) -> None:
    Path(path).write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


__all__ = ["FileReadError", "decode_bytes", "parse_csv_text", "read_csv_file", "FORMULA_START", "safe_cell",
           "unsafe_cell", "AUDIT_COLUMNS", "with_audit", "csv_bytes", "write_csv", "write_json"]
