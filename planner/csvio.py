"""Reading and writing CSV the way staff's Excel does: a leaf module every part of the planner may use.

Reading: files may be UTF-8 (with or without BOM) or GB18030/GBK, which is what Excel on Chinese Windows writes;
`decode_bytes` detects which and refuses binary files. `read_csv_stream` (and `read_csv_file`) decode and parse in
chunks and refuse a file as soon as it passes a row, empty-line, column or line-length limit, so a hostile file
never fills memory (issue 17). `parse_csv_text` gives raw string tables and never judges them (`planner.validate`
does). `parse_number` is the one reading of a number in a cell (ambiguous separators refused, never guessed).

Writing: `csv_bytes` gives UTF-8 with BOM and CRLF (Excel on Chinese Windows opens it directly); text that a
spreadsheet would run as a formula (=, +, -, @ ...) gets a leading apostrophe, so it stays visible text, and
`parse_csv_text` removes that apostrophe again, so whatever the planner writes reads back as it was.

Imports nothing from the planner, so nothing here can take part in an import cycle.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import math
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


def parse_csv_text(text: str, max_rows: int | None = None) -> pd.DataFrame:
    """CSV text -> DataFrame of stripped strings ('' = blank); headers lower-cased and stripped."""
    if not text.strip():
        raise FileReadError("文件为空。", "The file is empty.")
    try:
        return frame_from_rows(csv.reader(io.StringIO(text, newline="")), max_rows)
    except csv.Error as exc:
        raise FileReadError(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc


def read_csv_file(path: Path, max_rows: int | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV file to raw strings, line by line; returns the table and the detected encoding."""
    return read_csv_stream(lambda: open(path, "rb"), max_rows)


# --------------------------------------------------------------------------- bounded, streaming reading

# A scenario table is refused early, before memory grows, when it passes one of these (issue 17). Tables get their
# own row limits from planner.scenario.MAX_ROWS; this default covers any other caller.
DEFAULT_MAX_ROWS = 200_000
MAX_BLANK_ROWS = 10_000     # empty lines (or rows of empty cells) in one file: more is a broken export, not data
MAX_COLUMNS = 1_000         # a scenario table has ~20; every row is padded to the header's width
MAX_LINE_CHARS = 1_000_000  # one CSV line (a row of 20 columns is well under 1 KB)
_CHUNK_BYTES = 1 << 16
_LINE_END = re.compile(r"\r\n|\r|\n")


class LimitError(FileReadError):
    """A file refused for its size while it was being read. This module imports nothing from the planner, so the
    message is named, not written: `code` is the locale key `limits.<code>` and `fmt` fills it
    (`planner.scenario.localized` turns it into the bilingual message)."""

    def __init__(self, code: str, **fmt):
        self.code, self.fmt = code, fmt
        super().__init__(f"limits.{code}", f"limits.{code}")


def read_csv_stream(open_binary, max_rows: int | None = None) -> tuple[pd.DataFrame, str]:
    """CSV from a binary stream, decoded and parsed in chunks so that no more than the rows kept are ever held:
    UTF-8 (BOM or not), else GB18030 (a second pass; `open_binary` is called once per pass and must give a fresh
    stream). Raises FileReadError, or LimitError above the row, blank-row, column or line-length limits."""
    with open_binary() as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        raise FileReadError("这是 Excel/压缩文件，不是 CSV：请另存为 CSV，或在网页上导入 Excel。",
                            "This is an Excel/zip file, not CSV: save it as CSV or import it as Excel in the app.")
    if not head:
        raise FileReadError("文件为空。", "The file is empty.")
    bom = head.startswith(b"\xef\xbb\xbf")
    for encoding in ("utf-8-sig",) if bom else ("utf-8", "gb18030"):
        try:
            with open_binary() as fh:
                return frame_from_rows(csv.reader(_text_lines(fh, encoding)), max_rows), encoding
        except UnicodeDecodeError as exc:
            if bom:
                raise FileReadError(f"UTF-8 编码错误（字节 {exc.start}）。", f"Invalid UTF-8 at byte {exc.start}.") from exc
        except csv.Error as exc:
            raise FileReadError(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc
    raise FileReadError("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）。",
                        "Unknown text encoding (expected UTF-8 or GBK/GB18030).")


def _text_lines(fh, encoding: str):
    """Lines of a binary stream, each with its line end (CRLF, LF or a lone CR, as `newline=""` reads them)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    done, pending = 0, ""
    while True:
        data = fh.read(_CHUNK_BYTES)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            exc.start += done  # where in the file, not in the chunk
            raise
        done += len(data)
        if "\x00" in text:  # a crash can leave a NUL-filled tail after good text
            raise FileReadError("文件是二进制内容，无法作为文本读取。", "The file is binary and cannot be read as text.")
        pending += text
        start = 0
        for m in _LINE_END.finditer(pending):
            if data and m.end() == len(pending) and m.group() == "\r":
                break  # a CR at the end of a chunk may be the first half of CRLF
            yield pending[start:m.end()]
            start = m.end()
        pending = pending[start:]
        if len(pending) > MAX_LINE_CHARS:
            raise LimitError("line_too_long", limit=f"{MAX_LINE_CHARS:,}")
        if not data:
            if pending:
                yield pending
            return


def frame_from_rows(rows, max_rows: int | None) -> pd.DataFrame:
    """Records (lists of cell texts) -> the raw table, refusing it as soon as it passes a limit."""
    max_rows = DEFAULT_MAX_ROWS if max_rows is None else max_rows
    header: list[str] | None = None
    body: list[list[str]] = []
    row_numbers: list[int] = []  # as a spreadsheet shows them: the header is row 1
    overflow_rows: list[int] = []  # spreadsheet row numbers with more cells than the header
    blank = 0
    for line_no, r in enumerate(rows, start=1):
        if len(r) > MAX_COLUMNS and any(c.strip() for c in r[MAX_COLUMNS:]):
            raise LimitError("too_many_columns", row=line_no, limit=f"{MAX_COLUMNS:,}")
        if not any(c.strip() for c in r):
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise LimitError("blank_rows", row=line_no, limit=f"{MAX_BLANK_ROWS:,}")
            continue
        if header is None:
            # Cells this planner wrote formula-safe ("'=x", see safe_cell) read back as typed ("=x").
            header = [unsafe_cell(h.strip().lstrip("\ufeff").strip()).lower() for h in r[:MAX_COLUMNS]]
            continue
        if len(body) >= max_rows:
            raise LimitError("too_many_rows", row=line_no, limit=f"{max_rows:,}")
        width = len(header)
        row_numbers.append(line_no)
        if any(c.strip() for c in r[width:]):
            overflow_rows.append(line_no)
        r = [unsafe_cell(c.strip()) for c in r[:width]]
        if len(r) < width:
            r = r + [""] * (width - len(r))
        body.append(r)
    if header is None:
        raise FileReadError("文件为空。", "The file is empty.")
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


# --------------------------------------------------------------------------- numbers in cells

class AmbiguousNumber(ValueError):
    """A cell that reads as different numbers under different conventions ("1.234,5", "12,5", "1_000")."""


# Thousands separators are read only where they cannot mean anything else: a comma (or the full-width ，) between
# groups of exactly three digits, with "." as the decimal point ("1,234", "1,234.5", "12,345,678"). A comma that
# might be a decimal comma ("12,5", "1.234,5") and Python's "1_000" are refused, never guessed.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


def parse_number(value) -> float | None:
    """The one reading of a number in a cell: None for blank; a finite float; ValueError for text that is not a
    number, AmbiguousNumber (a ValueError) for separators that could mean two numbers. Typed numbers pass through."""
    if value is None or isinstance(value, (bool, np.bool_)):
        if value is None:
            return None
        raise ValueError(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    if value is pd.NA or value is pd.NaT:
        return None
    text = str(value).strip().replace("，", ",")
    if not text:
        return None
    if "_" in text:
        raise AmbiguousNumber(value)
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise AmbiguousNumber(value)
        text = text.replace(",", "")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


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


__all__ = ["FileReadError", "LimitError", "decode_bytes", "parse_csv_text", "read_csv_file", "read_csv_stream",
           "frame_from_rows", "DEFAULT_MAX_ROWS", "MAX_BLANK_ROWS", "MAX_COLUMNS", "MAX_LINE_CHARS",
           "AmbiguousNumber", "parse_number", "FORMULA_START", "safe_cell", "unsafe_cell", "AUDIT_COLUMNS",
           "with_audit", "csv_bytes", "write_csv", "write_json"]
