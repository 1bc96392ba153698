"""Reading and writing the scenario folder format (DESIGN section 3): encodings, labels, blanks, round trips."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from conftest import BASELINE, TINY_COUNTIES, TINY_PAIRS, TINY_RELOCATION, TINY_TOML
from planner.scenario import (FileReadError, Scenario, decode_bytes, parse_csv_text, read_folder, save_scenario,
                              scenario_files)
from planner import schema
from planner.validate import errors, load_checked

COUNTIES_ZH = """\
code,name,prefecture,poverty_class,surplus_mu,demand_mu,ceiling_price,备注
220822,通榆县,白城市,国家扶贫开发重点县,1200,,,重点县
220524,汪清县,延边州,省定片区县,800,,,
220102,南关区,长春市,无,,900,40,"含逗号,的备注"
"""
RELOCATION_ZH = """\
county_code,group_id,village,resettlement_mode,destination_code,households,persons,reclaimed_mu
220822,g1,永安村,集中安置,,100,250,300
220822,g2,靠山村,分散安置,,20,50,60
220524,g3,德胜村,进城安置,220102,30,80,90
220524,g4,新村,其他,,5,9,10
"""


def load_ok(folder) -> Scenario:
    scn, problems = load_checked(folder)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    return scn


def assert_same_scenario(a: Scenario, b: Scenario) -> None:
    for table in schema.TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_dtype=True)
    assert a.settings == b.settings
    assert a.content_hash() == b.content_hash()


# --------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("encoding, detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_counties_in_every_encoding_load_identically(make_scenario, encoding, detected):
    reference = load_ok(make_scenario("ref", counties=COUNTIES_ZH, relocation=RELOCATION_ZH))
    folder = make_scenario(encoding, counties=COUNTIES_ZH.encode(encoding), relocation=RELOCATION_ZH.encode(encoding))
    assert read_folder(folder).encodings["counties"] == detected
    scn = load_ok(folder)
    assert_same_scenario(scn, reference)
    assert scn.counties["name"].tolist() == ["通榆县", "汪清县", "南关区"]
    assert scn.counties.loc[2, "备注"] == "含逗号,的备注"


def test_gbk_bytes_really_differ_from_utf8():
    # guard: the GBK test above would be vacuous if the bytes were the same
    assert COUNTIES_ZH.encode("gbk") != COUNTIES_ZH.encode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        COUNTIES_ZH.encode("gbk").decode("utf-8")


def test_gbk_toml_is_read(make_scenario):
    folder = make_scenario(toml='[scenario]\nname = "吉林测试"\n'.encode("gbk"))
    assert load_ok(folder).name == "吉林测试"


def test_decode_bytes_strips_bom():
    text, enc = decode_bytes("\ufeffcode,name\n1,甲\n".encode("utf-8"))
    assert enc == "utf-8-sig"
    assert text.startswith("code")


@pytest.mark.parametrize("data", [
    b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100,  # an .xlsx renamed to .csv
    b"code,name\x00\x00\x01\x02",
    b"code,name\n" + b"1,a\n" * 2000 + b"\x00" * 64,  # NUL-filled tail beyond the first 4 KB
    "\ufeffcode,name\n".encode("utf-8") + b"\xff\xfe\xfd",  # BOM but broken UTF-8
    "code,name\n1,甲\n".encode("utf-16"),
])
def test_decode_bytes_refuses_binary(data):
    with pytest.raises(FileReadError) as info:
        decode_bytes(data)
    assert info.value.message_zh and info.value.message_en


# --------------------------------------------------------------------------- labels, blanks, columns

@pytest.mark.parametrize("label, code", [
    ("国家扶贫开发重点县", "national_key"), ("省定片区县", "provincial"), ("无", "none"), ("", "none"),
    ("national_key", "national_key"), ("National_Key", "national_key"), (" PROVINCIAL ", "provincial"),
    ("国家级贫困县", "national_key"), ("省级贫困县", "provincial"), ("非贫困县", "none"),
])
def test_poverty_class_labels(make_scenario, label, code):
    counties = f"code,name,poverty_class,surplus_mu,demand_mu\n9,某县,{label},10,\n"
    scn = load_ok(make_scenario(counties=counties))
    assert scn.counties.loc[0, "poverty_class"] == code


def test_resettlement_mode_chinese_labels(make_scenario):
    scn = load_ok(make_scenario(counties=COUNTIES_ZH, relocation=RELOCATION_ZH))
    assert scn.relocation["resettlement_mode"].tolist() == ["centralized", "dispersed", "urban", "other"]


def test_chinese_poverty_classes_make_sellers(make_scenario):
    scn = load_ok(make_scenario(counties=COUNTIES_ZH))
    assert scn.seller_codes() == ["220822", "220524"]
    assert scn.buyer_codes() == ["220102"]


def test_blank_means_not_given(make_scenario):
    scn = load_ok(make_scenario(counties=TINY_COUNTIES, pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    c = scn.counties.set_index("code")
    # blank numbers are NaN ("not given"), never silently 0
    assert math.isnan(c.loc["002", "floor_price"])
    assert math.isnan(c.loc["101", "budget_wan"])
    assert math.isnan(c.loc["001", "demand_mu"])
    assert c.loc["102", "budget_wan"] == 600
    # columns absent from the file are present and blank
    assert c["cultivated_share"].isna().all()
    assert c["construction_headroom_mu"].isna().all()
    assert (c["prefecture"] != "").all()
    # blank bool -> False, blank agreed price -> NaN, blank destination -> ""
    assert scn.pairs["excluded"].tolist() == [False]
    assert math.isnan(scn.pairs.loc[0, "agreed_price"])
    assert scn.relocation["destination_code"].tolist() == ["", "101", ""]


def test_codes_are_text_and_keep_leading_zeros(make_scenario):
    scn = load_ok(make_scenario(counties=TINY_COUNTIES, relocation=TINY_RELOCATION))
    assert scn.counties["code"].tolist() == ["001", "002", "101", "102"]
    assert scn.relocation["county_code"].tolist() == ["001", "001", "002"]


def test_numbers_typed_and_thousands_separator(make_scenario):
    counties = ('code,name,poverty_class,surplus_mu,demand_mu,ceiling_price\n'
                '1,a,national_key,"1,200",,\n2,b,none,, 35.5 ,"1,000.5"\n')
    scn = load_ok(make_scenario(counties=counties))
    assert scn.counties["surplus_mu"].dtype == "float64"
    assert scn.counties.loc[0, "surplus_mu"] == 1200.0
    assert scn.counties.loc[1, "demand_mu"] == 35.5
    assert scn.counties.loc[1, "ceiling_price"] == 1000.5


def test_column_order_is_free(make_scenario):
    rows = [dict(code="001", name="甲县", poverty_class="national_key", surplus_mu=100, demand_mu="", note="x"),
            dict(code="101", name="丙区", poverty_class="none", surplus_mu="", demand_mu=40, ceiling_price=25, note="")]
    reversed_rows = [dict(reversed(list(r.items()))) for r in rows]
    a = load_ok(make_scenario("a", counties=rows))
    b = load_ok(make_scenario("b", counties=reversed_rows))
    assert a.counties.columns.tolist()[:2] == ["code", "name"]  # schema columns come first
    assert a.counties.columns.tolist() == b.counties.columns.tolist()
    assert_same_scenario(a, b)


def test_header_case_and_whitespace_tolerated(make_scenario):
    messy = " CODE ,Name,  Poverty_Class,SURPLUS_MU ,demand_mu,Ceiling_Price \n001,甲县,national_key,100,,\n"
    clean = "code,name,poverty_class,surplus_mu,demand_mu,ceiling_price\n001,甲县,national_key,100,,\n"
    a = load_ok(make_scenario("messy", counties=messy))
    b = load_ok(make_scenario("clean", counties=clean))
    assert_same_scenario(a, b)
    assert a.counties.loc[0, "surplus_mu"] == 100


def test_unknown_columns_kept_as_text(make_scenario):
    counties = ("code,name,poverty_class,surplus_mu,demand_mu,备注,联系人电话\n"
                "001,甲县,national_key,100,,重点,010\n002,乙县,none,,0,,\n")
    scn = load_ok(make_scenario(counties=counties))
    assert scn.counties["备注"].tolist() == ["重点", ""]
    assert scn.counties["联系人电话"].tolist() == ["010", ""]  # text, leading zero kept, not parsed


def test_blank_lines_skipped_and_rows_numbered_like_a_spreadsheet():
    text = 'code,name\n\n1,"two\nlines"\n,,\n2,b\n'
    df = parse_csv_text(text)
    assert df["code"].tolist() == ["1", "2"]
    assert df.loc[0, "name"] == "two\nlines"
    # header is row 1; the blank record is row 2; the multi-line cell is one record (row 3); ",," is row 4
    assert df.attrs["row_numbers"] == [3, 5]


def test_header_only_file_gives_empty_tables(make_scenario):
    scn = load_ok(make_scenario(counties="code,name,poverty_class,surplus_mu,demand_mu\n",
                                pairs="seller_code,buyer_code\n"))
    assert len(scn.counties) == 0 and len(scn.pairs) == 0
    assert "surplus_mu" in scn.counties.columns


# --------------------------------------------------------------------------- round trips

def test_baseline_round_trip(tmp_path):
    scn = load_ok(BASELINE)
    assert len(scn.counties) == 60 and len(scn.pairs) > 0 and len(scn.relocation) > 0
    save_scenario(scn, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == sorted(p.name for p in BASELINE.iterdir())
    again = load_ok(tmp_path / "copy")
    assert_same_scenario(scn, again)
    # saving what was loaded writes the same bytes again (stable, no drift)
    assert scenario_files(again) == scenario_files(scn)


ROUND_TRIP_COUNTIES = """\
code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,\
budget_wan,Remark,编号
001,甲县,甲市,国家扶贫开发重点县,100,5,12,,,,note 1,007
002,乙县,甲市,省定片区县,50,6,,,,,"a,b",
101,丙区,乙市,无,,,,120,30,,,
102,丁区,乙市,none,,,,40,20,600,x,1.50
"""
RELOCATION_FOR_TINY = TINY_RELOCATION.replace("centralized", "集中安置").replace("urban", "进城安置")


def test_round_trip_keeps_unknown_columns_labels_and_sections(make_scenario, tmp_path):
    toml = TINY_TOML + '\n[extra]\nowner = "省自然资源厅"\n'
    folder = make_scenario("src", toml=toml, counties=ROUND_TRIP_COUNTIES.encode("gbk"), pairs=TINY_PAIRS,
                           relocation=RELOCATION_FOR_TINY.encode("gbk"))
    scn = load_ok(folder)
    save_scenario(scn, tmp_path / "out")
    again = load_ok(tmp_path / "out")
    assert_same_scenario(scn, again)
    remark = [c for c in again.counties.columns if c.lower() == "remark"]  # header case is not promised
    assert len(remark) == 1, again.counties.columns.tolist()
    assert again.counties[remark[0]].tolist() == ["note 1", "a,b", "", "x"]
    assert again.counties["编号"].tolist() == ["007", "", "", "1.50"]
    assert again.counties["poverty_class"].tolist() == ["national_key", "provincial", "none", "none"]
    assert again.relocation["resettlement_mode"].tolist() == ["centralized", "urban", "dispersed"]
    assert again.settings["extra"] == {"owner": "省自然资源厅"}
    assert (tmp_path / "out" / "counties.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_content_hash_sees_changes():
    scn = load_ok(BASELINE)
    changed = scn.copy()
    changed.counties.loc[0, "demand_mu"] = changed.counties.loc[0, "demand_mu"] + 1
    assert changed.content_hash() != scn.content_hash()
    assert scn.with_param("pricing", "bargaining_weight", 0.7).content_hash() != scn.content_hash()
    assert scn.copy().content_hash() == scn.content_hash()


def test_save_drops_empty_optional_tables(make_scenario, tmp_path):
    scn = load_ok(make_scenario(pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    out = tmp_path / "out"
    save_scenario(scn, out)
    assert (out / "pairs.csv").exists() and (out / "relocation.csv").exists()
    bare = Scenario(scn.settings, scn.counties, scn.pairs.iloc[0:0], scn.relocation.iloc[0:0])
    save_scenario(bare, out)
    assert not (out / "pairs.csv").exists() and not (out / "relocation.csv").exists()
    again = load_ok(out)
    assert len(again.pairs) == 0 and len(again.relocation) == 0
    assert_same_scenario(again, Scenario.from_raw(scn.settings, {"counties": scn.to_raw()[1]["counties"]}))


def test_param_defaults_and_with_param(make_scenario):
    scn = load_ok(make_scenario())
    assert scn.param("pricing", "bargaining_weight") == 0.5
    assert scn.param("rules", "min_lot_mu") == 0.0  # absent -> schema default
    assert scn.param("proceeds", "rule") == "per_capita"
    changed = scn.with_param("rules", "objective", "volume")
    assert changed.param("rules", "objective") == "volume"
    assert scn.param("rules", "objective") == "proceeds"  # the original is untouched
    assert scn.with_param("pricing", "guide_floor", None).param("pricing", "guide_floor") is None


def test_read_folder_reports_files_without_judging(make_scenario):
    raw = read_folder(make_scenario(counties="code,whatever\n1,2\n"))
    assert raw.read_errors == []
    assert raw.tables["pairs"] is None and raw.tables["relocation"] is None
    assert raw.tables["counties"].columns.tolist() == ["code", "whatever"]


# --------------------------------------------------------------------------- lots, demand, payments, deals (issues 11, 12)

LOTS = ("lot_id,county_code,project_area,approval_no,status,ready_year,area_mu,used_locally_mu,reserved_rural_mu,"
        "turnover_owed_mu\n") + """\
L1,001,一号项目区,吉自然资〔2018〕1号,已确认备案,2018,80,5,5,
L2,001,二号项目区,,reclaiming,2020,40,,,
L3,002,,,confirmed,,50,,,
"""
DEMAND = "county_code,year,demand_mu\n101,2018,60\n101,2019,60\n"
PAYMENTS = ("seller_code,buyer_code,milestone,share,due_year,paid_wan,paid_date\n"
            "001,101,协议签订,0.3,2018,360,2018-05-01\n001,101,acceptance,0.7,2019,,\n")
DEAL_PAIRS = ("seller_code,buyer_code,agreed_price,agreed_mu,status,year,filed_date\n"
              "001,101,20,60,已备案,2018,2018-04-02\n")
LEDGER_TOML = (TINY_TOML.replace("[rules]", "[rules]\nsaleable_status = [\"已确认备案\"]")
               + "\n[horizon]\nstart_year = 2018\n")


@pytest.fixture
def ledger_folder(make_scenario):
    counties = TINY_COUNTIES.replace(",100,5,12,", ",70,5,12,")  # 001: confirmed lot L1 nets 70
    folder = make_scenario(toml=LEDGER_TOML, counties=counties, pairs=DEAL_PAIRS)
    for name, text in (("lots.csv", LOTS), ("demand.csv", DEMAND), ("payments.csv", PAYMENTS)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_new_tables_are_typed_with_codes(ledger_folder):
    scn, problems = load_checked(ledger_folder)
    assert errors(problems) == [], [p.text("en") for p in problems]
    assert scn.lots["status"].tolist() == ["confirmed", "reclaiming", "confirmed"]
    assert scn.lots["ready_year"].tolist()[:2] == [2018.0, 2020.0] and math.isnan(scn.lots["ready_year"][2])
    assert scn.lots["county_code"].tolist() == ["001", "001", "002"]
    assert scn.demand["demand_mu"].tolist() == [60.0, 60.0]
    assert scn.payments["milestone"].tolist() == ["signing", "acceptance"]
    assert scn.pairs.loc[0, "status"] == "filed" and scn.pairs.loc[0, "agreed_mu"] == 60.0
    assert scn.pairs.loc[0, "filed_date"] == "2018-04-02"
    assert scn.settings["rules"]["saleable_status"] == ["confirmed"]  # the label read as its code
    assert scn.settings["horizon"] == {"start_year": 2018}


def test_model_reads_the_new_tables_by_their_names(ledger_folder):
    from planner.model.market import deal_quantity, horizon, saleable_lots

    scn = load_ok(ledger_folder)
    hz = horizon(scn)
    assert (hz.start, hz.end, hz.by_year) == (2018, 2021, True)  # end_year default: start + 3 (article 27)
    assert saleable_lots(scn)["lot_id"].tolist() == ["L1", "L3"]
    assert deal_quantity(scn.pairs).tolist() == [60.0]


def test_pairs_status_blank_means_negotiating(make_scenario):
    scn = load_ok(make_scenario(pairs="seller_code,buyer_code,status\n001,101,\n002,101,已签订\n"))
    assert scn.pairs["status"].tolist() == ["negotiating", "signed"]


def test_every_table_survives_copy_param_save_and_reload(ledger_folder, tmp_path):
    scn = load_ok(ledger_folder)
    assert_same_scenario(scn.copy(), scn)
    changed = scn.with_param("pricing", "bargaining_weight", 0.6)
    for table in ("lots", "demand", "payments"):
        pd.testing.assert_frame_equal(getattr(changed, table), getattr(scn, table))
    files = scenario_files(scn)
    assert {"lots.csv", "demand.csv", "payments.csv", "pairs.csv"} <= set(files)
    save_scenario(scn, tmp_path / "again")
    assert_same_scenario(load_ok(tmp_path / "again"), scn)
    raw_settings, raw_tables = scn.to_raw()
    assert set(raw_tables) == set(schema.TABLES)
    assert_same_scenario(Scenario.from_raw(raw_settings, raw_tables), scn)


def test_content_hash_sees_the_new_tables(ledger_folder):
    scn = load_ok(ledger_folder)
    for table in ("lots", "demand", "payments"):
        other = scn.copy()
        setattr(other, table, getattr(other, table).iloc[:-1].reset_index(drop=True))
        assert other.content_hash() != scn.content_hash(), table


def test_scenario_from_the_four_old_tables_has_empty_new_ones(make_scenario, tmp_path):
    scn = load_ok(make_scenario(pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    old_style = Scenario(scn.settings, scn.counties, scn.pairs, scn.relocation)
    for table in ("lots", "demand", "payments"):
        df = getattr(old_style, table)
        assert len(df) == 0 and list(df.columns) == [c.name for c in schema.TABLES[table][1]]
    save_scenario(old_style, tmp_path / "old")
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["counties.csv", "pairs.csv", "relocation.csv",
                                                                     "scenario.toml"]


def test_save_removes_a_new_table_emptied(ledger_folder, tmp_path):
    scn = load_ok(ledger_folder)
    out = tmp_path / "out"
    save_scenario(scn, out)
    assert (out / "lots.csv").exists()
    scn.lots = scn.lots.iloc[0:0]
    save_scenario(scn, out)
    assert not (out / "lots.csv").exists()


def test_headers_as_app_labels_read_as_names(make_scenario):
    from planner import i18n

    cols = {c.name: c for c in schema.LOT_COLUMNS}
    header = ",".join([i18n.column_label(cols["lot_id"], "zh"), i18n.label(cols["county_code"], "en"),
                       i18n.column_label(cols["status"], "en"), i18n.column_label(cols["area_mu"], "zh")])
    folder = make_scenario()
    (folder / "lots.csv").write_text(header + "\nL1,001,Confirmed and filed,100\n", encoding="utf-8")
    scn = load_ok(folder)
    assert scn.lots[["lot_id", "county_code", "status", "area_mu"]].values.tolist() == [["L1", "001", "confirmed",
                                                                                         100.0]]
