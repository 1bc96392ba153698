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
