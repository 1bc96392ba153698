"""Uploaded files: CSV/Excel/zip to raw tables; unsafe zips are refused, never extracted."""
import io
import zipfile

from conftest import BASELINE
from planner.uploads import MAX_UNZIPPED_BYTES, raw_from_uploads, zip_bytes


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buf.getvalue()


def _baseline_files():
    return {p.name: p.read_bytes() for p in BASELINE.iterdir() if p.is_file()}


def test_zip_of_a_scenario_folder_loads():
    raw = raw_from_uploads([("s.zip", zip_bytes(_baseline_files(), "吉林"))])
    assert not raw.read_errors
    assert raw.settings["scenario"]["name"] == "吉林省基准情景"
    assert len(raw.tables["counties"]) == 60


def test_path_traversal_entry_is_refused():
    for bad in ("../counties.csv", "/etc/counties.csv", "a/../../counties.csv", "C:/x/counties.csv"):
        raw = raw_from_uploads([("s.zip", _zip([(bad, b"code,name\n1,a\n")]))])
        assert raw.read_errors, bad
        assert "Unsafe path" in raw.read_errors[0][1].message_en
        assert raw.tables["counties"] is None


def test_symlink_entry_is_refused():
    info = zipfile.ZipInfo("counties.csv")
    info.external_attr = (0o120777 << 16)
    raw = raw_from_uploads([("s.zip", _zip([(info, b"/etc/passwd")]))])
    assert raw.read_errors and "symbolic link" in raw.read_errors[0][1].message_en


def test_oversized_expansion_is_refused():
    big = b"0" * (MAX_UNZIPPED_BYTES + 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("counties.csv", big)
    raw = raw_from_uploads([("bomb.zip", buf.getvalue())])
    assert raw.read_errors and "too large" in raw.read_errors[0][1].message_en


def test_broken_zip_is_a_message_not_an_exception():
    raw = raw_from_uploads([("s.zip", b"PK\x03\x04 not really a zip")])
    assert raw.read_errors


def test_gbk_csv_upload_reads():
    text = "code,name,poverty_class,surplus_mu,demand_mu\n220822,通榆县,国家扶贫开发重点县,100,\n"
    raw = raw_from_uploads([("counties.csv", text.encode("gbk"))])
    assert not raw.read_errors
    assert raw.tables["counties"].iloc[0]["name"] == "通榆县"


def test_every_table_has_words_that_name_it():
    from planner import schema
    from planner.uploads import TABLE_WORDS, table_for_name

    assert set(TABLE_WORDS) == set(schema.TABLES)
    for table, (filename, _, _) in schema.TABLES.items():
        assert table_for_name(filename) == table
    for name, table in {"指标批次.csv": "lots", "年度需求.xlsx": "demand", "付款计划.csv": "payments",
                        "county_demand.csv": "demand", "县表.csv": "counties", "Pairs": "pairs"}.items():
        assert table_for_name(name) == table, name


def test_new_tables_upload_as_csv_and_workbook_sheets():
    import pandas as pd

    lots = "lot_id,county_code,status,area_mu\nL1,220822,confirmed,100\n"
    raw = raw_from_uploads([("lots.csv", lots.encode("gbk")), ("demand.csv", b"county_code,year,demand_mu\n1,2018,5\n")])
    assert not raw.read_errors
    assert raw.tables["lots"]["lot_id"].tolist() == ["L1"] and len(raw.tables["demand"]) == 1
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        pd.DataFrame({"seller_code": ["1"], "buyer_code": ["2"], "milestone": ["signing"], "share": [1]}).to_excel(
            xw, sheet_name="payments", index=False)
    raw = raw_from_uploads([("book.xlsx", buf.getvalue())])
    assert not raw.read_errors and raw.tables["payments"]["milestone"].tolist() == ["signing"]


def test_a_file_naming_no_table_lists_every_table():
    raw = raw_from_uploads([("notes.csv", b"a,b\n1,2\n")])
    ((name, err),) = raw.read_errors
    assert name == "notes.csv"
    for filename in ("counties.csv", "lots.csv", "demand.csv", "payments.csv"):
        assert filename in err.message_en and filename in err.message_zh
