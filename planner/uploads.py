"""Files uploaded in the browser -> raw scenario tables, ready for `planner.validate`.

Staff bring CSV (UTF-8 or GBK, as Excel on Chinese Windows saves it), Excel workbooks (.xlsx, one sheet per table)
or a zipped scenario folder. Everything here turns bytes into the same raw string tables `read_folder` produces, so
one validation judges them all. Nothing raises for bad input: unreadable files become `FileReadError`s in the
returned `RawFolder.read_errors`. Importable without Streamlit.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

import pandas as pd

from planner import i18n, schema
from planner.csvio import FileReadError, LimitError, frame_from_rows, read_csv_stream
from planner.scenario import (MAX_ROWS, MAX_TOML_BYTES, TOML_NAME, RawFolder, cell_text, decode_bytes, localized,
                              parse_toml_text)

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # a zip (or .xlsx) by the sizes its entries declare, and as read
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Windows, Excel and WPS write; others are refused

# Words in a file or sheet name that say which table it holds (checked in this order: "县" last, as many Chinese
# names hold it). Every schema table is listed (tests check it).
TABLE_WORDS = {
    "relocation": ("relocation", "搬迁"),
    "payments": ("payments", "payment", "付款", "支付", "拨付"),
    "pairs": ("pairs", "pair", "配对"),
    "lots": ("lots", "lot", "批次", "项目区"),
    "demand": ("demand", "需求"),
    "counties": ("counties", "county", "县"),
}


def table_for_name(name: str) -> str | None:
    """Which scenario table a file or sheet name refers to, e.g. 'counties.csv', '县表', 'Pairs' -> table."""
    stem = PurePosixPath(str(name).replace("\\", "/")).name.lower()
    for suffix in (".csv", ".txt", ".xlsx", ".xlsm"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    for table, words in TABLE_WORDS.items():
        if any(w in stem for w in words):
            return table
    return None


def _suffix(name: str) -> str:
    return PurePosixPath(str(name).replace("\\", "/")).suffix.lower()


def read_csv_bytes(data: bytes, table: str | None = None) -> pd.DataFrame:
    """CSV bytes (UTF-8 with/without BOM, GBK/GB18030) -> raw string table, read line by line within the table's
    row limit; raises FileReadError."""
    return _read_csv(lambda: io.BytesIO(data), table)


def _read_csv(open_binary, table: str | None) -> pd.DataFrame:
    try:
        return read_csv_stream(open_binary, MAX_ROWS.get(table))[0]
    except FileReadError as exc:
        raise localized(exc) from None


def read_excel_bytes(data: bytes, table: str | None = None) -> dict[str, pd.DataFrame]:
    """An .xlsx workbook -> {sheet name: raw string table} (empty sheets left out); raises FileReadError.

    Sheets are streamed row by row (openpyxl read-only), each within the row limit of `table` or of the table its
    name names; the workbook's own zip entries are checked by size first."""
    if not data.startswith(b"PK"):
        raise FileReadError("这不是 Excel（.xlsx）文件。请另存为 .xlsx 或 CSV。",
                            "This is not an Excel (.xlsx) file. Save it as .xlsx or CSV.")
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _checked_members(zf)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except FileReadError as exc:
        raise localized(exc) from None
    except Exception as exc:  # openpyxl raises many kinds for broken or encrypted files
        raise FileReadError(f"无法读取 Excel 文件：{exc}", f"Cannot read the Excel file: {exc}") from exc
    out = {}
    try:
        for sheet in book.worksheets:
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # a stated size of A1:XFD1048576 must not pad every row
            rows = ([_excel_cell(c) for c in row] for row in sheet.iter_rows())
            try:
                out[str(sheet.title)] = frame_from_rows(rows, MAX_ROWS.get(table or table_for_name(sheet.title)))
            except LimitError as exc:
                raise localized(exc) from None
            except FileReadError:
                continue  # an empty sheet
    except FileReadError:
        raise
    except Exception as exc:
        raise FileReadError(f"无法读取 Excel 文件：{exc}", f"Cannot read the Excel file: {exc}") from exc
    finally:
        book.close()
    if not out:
        raise FileReadError("Excel 文件中没有数据。", "The Excel file holds no data.")
    return out


def _excel_cell(cell) -> str:
    if getattr(cell, "data_type", None) == "e":  # #N/A, #REF! ...: no value, as pandas reads them
        return ""
    value = getattr(cell, "value", None)
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return cell_text(value)


def read_table_upload(filename: str, data: bytes, table: str) -> pd.DataFrame:
    """One uploaded file (CSV or .xlsx) holding one table; for a workbook, the sheet named after the table or the
    only/first sheet. Raises FileReadError."""
    if _suffix(filename) in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04"):
        sheets = read_excel_bytes(data, table)
        for name, frame in sheets.items():
            if table_for_name(name) == table:
                return frame
        return next(iter(sheets.values()))
    return read_csv_bytes(data, table)


def raw_from_uploads(files: list[tuple[str, bytes]], default_settings: dict | None = None) -> RawFolder:
    """Several uploaded files (scenario.toml, CSVs, .xlsx workbooks, a .zip of a scenario folder) -> RawFolder.

    A file whose name names no table is reported, not guessed. Without a scenario.toml the `default_settings` are
    used (the working scenario's parameters)."""
    raw = RawFolder(settings=None, tables={t: None for t in schema.TABLES})
    for name, open_binary in _expand_zips(files, raw):
        _add_file(raw, name, open_binary)
    if raw.settings is None and default_settings is not None:
        raw.settings = dict(default_settings)
    return raw


def _expand_zips(files, raw: RawFolder):
    """(name, opener) for every uploaded file and every file inside an uploaded zip; the zip stays open while its
    members are read, one at a time, as streams (never unpacked whole)."""
    for name, data in files:
        if _suffix(name) != ".zip":
            yield name, (lambda data=data: io.BytesIO(data))
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [m for m in _checked_members(zf) if not m.is_dir() and "__MACOSX" not in m.filename
                           and not PurePosixPath(m.filename).name.startswith(".")]
                for m in members:
                    yield PurePosixPath(m.filename).name, (lambda m=m: _SizeCapped(zf.open(m), m.file_size))
        except FileReadError as exc:
            raw.read_errors.append((name, localized(exc)))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raw.read_errors.append((name, FileReadError(f"无法读取压缩包：{exc}", f"Cannot read the zip file: {exc}")))


def _checked_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The entries of a zip (a scenario folder or an .xlsx), refused when they point outside their folder, are
    symbolic links, are too many, use an unusual compression, or declare more than MAX_UNZIPPED_BYTES in all.

    Nothing is ever extracted to disk (members are read into memory by their base name), so paths could do no harm
    here; refusing them still tells the user the file is not a plain scenario folder."""
    infos = zf.infolist()
    if len(infos) > 1000:
        raise FileReadError("压缩包中文件过多。", "The zip file holds too many entries.")
    for m in infos:
        name = m.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise FileReadError(f"压缩包中的路径不安全：{m.filename}", f"Unsafe path in the zip file: {m.filename}")
        if (m.external_attr >> 16) & 0o170000 == 0o120000:
            raise FileReadError(f"压缩包中含有符号链接：{m.filename}", f"The zip file holds a symbolic link: {m.filename}")
        if m.compress_type not in ZIP_METHODS:
            raise LimitError("zip_method", name=m.filename)
    if sum(m.file_size for m in infos) > MAX_UNZIPPED_BYTES:
        raise LimitError("zip_too_large", limit=MAX_UNZIPPED_BYTES // (1024 * 1024))
    return infos


class _SizeCapped:
    """A zip member's stream that fails once more bytes come out than the entry declared (zipfile already stops
    there; this keeps the promise whatever the archive claims) or than MAX_UNZIPPED_BYTES."""

    def __init__(self, stream, declared: int):
        self.stream, self.left = stream, min(declared, MAX_UNZIPPED_BYTES)

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(self.left + 1 if n is None or n < 0 else min(n, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise LimitError("zip_too_large", limit=MAX_UNZIPPED_BYTES // (1024 * 1024))
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stream.close()


def _read_capped(open_binary, limit: int, code: str) -> bytes:
    with open_binary() as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LimitError(code, limit=f"{limit:,}")
    return data


def _add_file(raw: RawFolder, name: str, open_binary) -> None:
    suffix = _suffix(name)
    try:
        if PurePosixPath(name).name.lower() == TOML_NAME or suffix == ".toml":
            text, _ = decode_bytes(_read_capped(open_binary, MAX_TOML_BYTES, "toml_too_large"))
            raw.settings = parse_toml_text(text)
        elif suffix in (".xlsx", ".xlsm"):
            found = False
            data = _read_capped(open_binary, MAX_UNZIPPED_BYTES, "file_too_large")
            for sheet, frame in read_excel_bytes(data).items():
                table = table_for_name(sheet)
                if table is not None:
                    raw.tables[table] = frame
                    found = True
            if not found:
                raise FileReadError(*i18n.both("uploads.no_table_sheet", names=_table_names()))
        elif suffix in (".csv", ".txt"):
            table = table_for_name(name)
            if table is None:
                raise FileReadError(*i18n.both("uploads.unknown_table_name", names=_table_names()))
            raw.tables[table] = _read_csv(open_binary, table)
        else:
            raise FileReadError("不支持的文件类型：请上传 CSV、Excel（.xlsx）、scenario.toml 或 .zip。",
                                "Unsupported file type: upload CSV, Excel (.xlsx), scenario.toml or .zip.")
    except FileReadError as exc:
        raw.read_errors.append((PurePosixPath(name).name, localized(exc)))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a zip member that does not inflate as declared
        raw.read_errors.append((PurePosixPath(name).name,
                                FileReadError(f"无法读取压缩包：{exc}", f"Cannot read the zip file: {exc}")))


def _table_names() -> tuple[str, str]:
    """The file names of every table, as a message lists them (zh, en)."""
    names = [filename for filename, _, _ in schema.TABLES.values()]
    return "、".join(names), ", ".join(names)


def zip_bytes(files: dict[str, bytes], folder: str) -> bytes:
    """The given files zipped inside one folder (for downloading a scenario)."""
    buf = io.BytesIO()
    safe = "".join(ch for ch in folder if ch not in '\\/:*?"<>|').strip() or "scenario"
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{safe}/{name}", data)
    return buf.getvalue()


__all__ = ["table_for_name", "read_csv_bytes", "read_excel_bytes", "read_table_upload", "raw_from_uploads",
           "zip_bytes"]
