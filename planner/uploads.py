"""Files uploaded in the browser -> raw scenario tables, ready for `planner.validate`.

Staff bring CSV (UTF-8 or GBK, as Excel on Chinese Windows saves it), Excel workbooks (.xlsx, one sheet per table)
or a zipped scenario folder. Everything here turns bytes into the same raw string tables `read_folder` produces, so
one validation judges them all. Nothing raises for bad input: unreadable files become `FileReadError`s in the
returned `RawFolder.read_errors`. Importable without Streamlit.
"""
from __future__ import annotations

import csv
import io
import tomllib
import zipfile
from pathlib import PurePosixPath

import pandas as pd

from planner import i18n, schema
from planner.csvio import FileReadError, decode_bytes, parse_csv_text
from planner.scenario import TOML_NAME, RawFolder, cell_text

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024

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


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """CSV bytes (UTF-8 with/without BOM, GBK/GB18030) -> raw string table; raises FileReadError."""
    text, _ = decode_bytes(data)
    return parse_csv_text(text)


def read_excel_bytes(data: bytes) -> dict[str, pd.DataFrame]:
    """An .xlsx workbook -> {sheet name: raw string table} (empty sheets left out); raises FileReadError."""
    if not data.startswith(b"PK"):
        raise FileReadError("这不是 Excel（.xlsx）文件。请另存为 .xlsx 或 CSV。",
                            "This is not an Excel (.xlsx) file. Save it as .xlsx or CSV.")
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for broken or encrypted files
        raise FileReadError(f"无法读取 Excel 文件：{exc}", f"Cannot read the Excel file: {exc}") from exc
    out = {}
    for name, frame in sheets.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for row in frame.itertuples(index=False):
            writer.writerow([_excel_cell(v) for v in row])
        text = buf.getvalue()
        if not text.strip(", \n"):
            continue
        try:
            out[str(name)] = parse_csv_text(text)
        except FileReadError:
            continue
    if not out:
        raise FileReadError("Excel 文件中没有数据。", "The Excel file holds no data.")
    return out


def _excel_cell(value) -> str:
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return cell_text(value)


def read_table_upload(filename: str, data: bytes, table: str) -> pd.DataFrame:
    """One uploaded file (CSV or .xlsx) holding one table; for a workbook, the sheet named after the table or the
    only/first sheet. Raises FileReadError."""
    if _suffix(filename) in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04"):
        sheets = read_excel_bytes(data)
        for name, frame in sheets.items():
            if table_for_name(name) == table:
                return frame
        return next(iter(sheets.values()))
    return read_csv_bytes(data)


def raw_from_uploads(files: list[tuple[str, bytes]], default_settings: dict | None = None) -> RawFolder:
    """Several uploaded files (scenario.toml, CSVs, .xlsx workbooks, a .zip of a scenario folder) -> RawFolder.

    A file whose name names no table is reported, not guessed. Without a scenario.toml the `default_settings` are
    used (the working scenario's parameters)."""
    raw = RawFolder(settings=None, tables={t: None for t in schema.TABLES})
    for name, data in _expand_zips(files, raw):
        _add_file(raw, name, data)
    if raw.settings is None and default_settings is not None:
        raw.settings = dict(default_settings)
    return raw


def _expand_zips(files, raw: RawFolder):
    for name, data in files:
        if _suffix(name) == ".zip":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    _refuse_unsafe_members(zf)
                    members = [m for m in zf.infolist() if not m.is_dir() and "__MACOSX" not in m.filename
                               and not PurePosixPath(m.filename).name.startswith(".")]
                    if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                        raise FileReadError("压缩包解压后过大。", "The zip file is too large when unpacked.")
                    for m in members:
                        yield PurePosixPath(m.filename).name, zf.read(m)
            except FileReadError as exc:
                raw.read_errors.append((name, exc))
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raw.read_errors.append((name, FileReadError(f"无法读取压缩包：{exc}", f"Cannot read the zip file: {exc}")))
        else:
            yield name, data


def _refuse_unsafe_members(zf: zipfile.ZipFile) -> None:
    """Refuse a zip holding entries that point outside its folder, symbolic links, or too many entries.

    Nothing is ever extracted to disk (members are read into memory by their base name), so these could do no
    harm here; refusing them still tells the user the file is not a plain scenario folder."""
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


def _add_file(raw: RawFolder, name: str, data: bytes) -> None:
    suffix = _suffix(name)
    try:
        if PurePosixPath(name).name.lower() == TOML_NAME or suffix == ".toml":
            text, _ = decode_bytes(data)
            try:
                raw.settings = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise FileReadError(f"TOML 格式错误：{exc}", f"Broken TOML: {exc}") from exc
        elif suffix in (".xlsx", ".xlsm"):
            found = False
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
            raw.tables[table] = read_csv_bytes(data)
        else:
            raise FileReadError("不支持的文件类型：请上传 CSV、Excel（.xlsx）、scenario.toml 或 .zip。",
                                "Unsupported file type: upload CSV, Excel (.xlsx), scenario.toml or .zip.")
    except FileReadError as exc:
        raw.read_errors.append((PurePosixPath(name).name, exc))


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
