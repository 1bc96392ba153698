"""Validation (issue 2 section 3): every problem kind names file, spreadsheet row, column, value, zh + en message."""
from __future__ import annotations

import random
import shutil

import pytest

from conftest import BASELINE, TINY_COUNTIES, TINY_PAIRS, TINY_RELOCATION, TINY_TOML
from planner.validate import Problem, errors, load_checked, problems_frame, validate_folder, validate_scenario

HEADER = "code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price"
SELLER = "001,甲县,甲市,national_key,100,5,12,,"  # spreadsheet row 2
BUYER = "101,丙区,乙市,none,,,,120,30"  # spreadsheet row 3


def counties_with(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def check(folder) -> list[Problem]:
    scn, problems = load_checked(folder)
    if errors(problems):
        assert scn is None  # a scenario is only handed out when it has no errors
    return problems


def the_problem(problems, file, column, row="any") -> Problem:
    """Exactly one error for (file, column[, row]); its messages are non-empty."""
    hits = [p for p in errors(problems) if p.file == file and p.column == column and (row == "any" or p.row == row)]
    assert len(hits) == 1, [p.text("en") for p in problems]
    p = hits[0]
    assert p.message_zh.strip() and p.message_en.strip()
    assert p.severity == "error"
    return p


def the_warning(problems, file, column, row="any") -> Problem:
    """Exactly one warning for (file, column[, row]); its messages are non-empty."""
    hits = [p for p in problems if p.severity == "warning" and p.file == file and p.column == column
            and (row == "any" or p.row == row)]
    assert len(hits) == 1, [p.text("en") for p in problems]
    assert hits[0].message_zh.strip() and hits[0].message_en.strip()
    return hits[0]


# --------------------------------------------------------------------------- baseline and tiny scenario

def test_baseline_validates_without_errors():
    scn, problems = load_checked(BASELINE)
    assert errors(problems) == [], [p.text("en") for p in problems]
    assert scn is not None and len(scn.counties) == 60


def test_tiny_scenario_is_valid(make_scenario):
    problems = check(make_scenario(pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    assert problems == []


def test_optional_files_may_be_absent(make_scenario):
    assert check(make_scenario()) == []


# --------------------------------------------------------------------------- files

def test_missing_folder(tmp_path):
    scn, problems = load_checked(tmp_path / "nope")
    assert scn is None
    (p,) = problems
    assert p.file.endswith("nope") and p.row is None and p.column == ""
    assert p.message_zh and p.message_en and p.severity == "error"


def test_folder_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    scn, problems = load_checked(tmp_path / "f")
    assert scn is None and len(errors(problems)) == 1


def test_missing_scenario_toml(make_scenario):
    problems = check(make_scenario(toml=None))
    p = the_problem(problems, "scenario.toml", "")
    assert p.row is None
    assert "scenario.toml" in p.message_en


def test_missing_counties_csv(make_scenario):
    problems = check(make_scenario(counties=None, pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    p = the_problem(problems, "counties.csv", "")
    assert p.row is None
    assert "counties.csv" in p.message_en
    # without a counties table, pair and relocation codes cannot be judged: no follow-on noise
    assert [q for q in errors(problems) if q.file != "counties.csv"] == []


BINARY_CONTENTS = {
    "nul": b"code,name\x00\x00\x01\x02\x03",
    "xlsx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)),
    "nul_tail": (TINY_COUNTIES * 80).encode() + b"\x00" * 512,  # good text, then a NUL tail after the first 4 KB
}


@pytest.mark.parametrize("kind", sorted(BINARY_CONTENTS))
@pytest.mark.parametrize("filename", ["counties.csv", "pairs.csv", "relocation.csv", "scenario.toml"])
def test_unreadable_binary_file(make_scenario, filename, kind):
    files = {"toml": TINY_TOML, "counties": TINY_COUNTIES, "pairs": TINY_PAIRS, "relocation": TINY_RELOCATION}
    files[{"scenario.toml": "toml"}.get(filename, filename.removesuffix(".csv"))] = BINARY_CONTENTS[kind]
    problems = check(make_scenario(**files))
    p = the_problem(problems, filename, "")
    assert p.row is None
    if kind == "xlsx":
        assert "Excel" in p.message_en
    # the unreadable file is reported once, not also as "missing"
    assert not any("Missing file" in q.message_en for q in problems)


def test_empty_file(make_scenario):
    problems = check(make_scenario(counties=b""))
    p = the_problem(problems, "counties.csv", "")
    assert "empty" in p.message_en


def test_broken_toml(make_scenario):
    problems = check(make_scenario(toml='[scenario\nname = "x"\n'))
    p = the_problem(problems, "scenario.toml", "")
    assert "TOML" in p.message_en
    assert "line 1" in p.message_en  # the parser's position reaches the user


def test_toml_unclosed_string(make_scenario):
    problems = check(make_scenario(toml='[scenario]\nname = "x\n'))
    the_problem(problems, "scenario.toml", "")


# --------------------------------------------------------------------------- columns and cells

@pytest.mark.parametrize("column", ["code", "name", "poverty_class", "surplus_mu", "demand_mu"])
def test_missing_required_county_column(make_scenario, column):
    cols = HEADER.split(",")
    keep = [i for i, c in enumerate(cols) if c != column]
    rows = [",".join(r.split(",")[i] for i in keep) for r in (SELLER, BUYER)]
    problems = check(make_scenario(counties=counties_with(*rows, header=",".join(cols[i] for i in keep))))
    p = the_problem(problems, "counties.csv", column)
    assert p.row == 1  # the header row
    assert column in p.message_en


@pytest.mark.parametrize("filename, text, column", [
    ("pairs.csv", "seller_code,agreed_price\n001,20\n", "buyer_code"),
    ("relocation.csv", "county_code,group_id,resettlement_mode,households,reclaimed_mu\n001,g,urban,1,2\n", "persons"),
])
def test_missing_required_column_other_tables(make_scenario, filename, text, column):
    problems = check(make_scenario(**{filename.removesuffix(".csv"): text}))
    p = the_problem(problems, filename, column)
    assert p.row == 1


@pytest.mark.parametrize("value", ["abc", "12亩", "1.2.3", "nan", "inf", "--5"])
def test_non_numeric_number(make_scenario, value):
    problems = check(make_scenario(counties=counties_with(SELLER, BUYER.replace(",120,", f",{value},"))))
    p = the_problem(problems, "counties.csv", "demand_mu")
    assert p.row == 3
    assert p.value == value


def test_non_numeric_in_pairs_and_relocation(make_scenario):
    problems = check(make_scenario(
        counties=counties_with(SELLER, BUYER),
        pairs="seller_code,buyer_code,agreed_price\n001,101,二十\n",
        relocation="county_code,group_id,resettlement_mode,households,persons,reclaimed_mu\n"
                   "001,g1,urban,3,10,5\n001,g2,urban,2.5,x,5\n"))
    assert the_problem(problems, "pairs.csv", "agreed_price").row == 2
    assert the_problem(problems, "relocation.csv", "households").row == 3  # integer column: 2.5 households
    assert the_problem(problems, "relocation.csv", "persons").row == 3


@pytest.mark.parametrize("column, position", [("surplus_mu", 4), ("floor_price", 6)])
def test_negative_number(make_scenario, column, position):
    cells = SELLER.split(",")
    cells[position] = "-5"
    problems = check(make_scenario(counties=counties_with(",".join(cells), BUYER)))
    p = the_problem(problems, "counties.csv", column)
    assert p.row == 2
    assert p.value == "-5"  # as typed, not "-5.0"
    assert "negative" in p.message_en


def test_negative_relocation_persons(make_scenario):
    problems = check(make_scenario(relocation="county_code,group_id,resettlement_mode,households,persons,reclaimed_mu\n"
                                              "001,g1,urban,3,-10,5\n"))
    assert the_problem(problems, "relocation.csv", "persons").row == 2


@pytest.mark.parametrize("value", ["0", "16", "-1", "15.5"])
@pytest.mark.parametrize("column", ["reclaimed_quality_grade", "occupied_quality_grade"])
def test_grade_outside_1_to_15(make_scenario, column, value):
    header = HEADER + ",occupied_quality_grade"
    seller, buyer = SELLER + ",", BUYER + ",8"
    if column == "reclaimed_quality_grade":
        seller = seller.replace(",100,5,", f",100,{value},")
        row = 2
    else:
        buyer = buyer.removesuffix(",8") + f",{value}"
        row = 3
    problems = check(make_scenario(counties=counties_with(seller, buyer, header=header)))
    p = the_problem(problems, "counties.csv", column)
    assert p.row == row and p.value == value
    assert "15" in p.message_en and "15" in p.message_zh


@pytest.mark.parametrize("value", ["1", "15", "7.5"])
def test_grade_inside_range_is_fine(make_scenario, value):
    problems = check(make_scenario(counties=counties_with(SELLER.replace(",100,5,", f",100,{value},"), BUYER)))
    assert errors(problems) == []


@pytest.mark.parametrize("value", ["1.5", "-0.1", "150"])
def test_cultivated_share_outside_0_to_1(make_scenario, value):
    problems = check(make_scenario(counties=counties_with(SELLER + ",", BUYER + f",{value}",
                                                          header=HEADER + ",cultivated_share")))
    p = the_problem(problems, "counties.csv", "cultivated_share", row=3)
    assert p.value == value


@pytest.mark.parametrize("key", ["proceeds.collective_share", "proceeds.financing_repayment_share",
                                 "rules.min_sale_share", "proceeds.hybrid_alpha"])
@pytest.mark.parametrize("value", ["1.2", "-0.5"])
def test_share_parameter_outside_0_to_1(make_scenario, key, value):
    section, name = key.split(".")
    # TINY_TOML ends inside [rules]; other sections are appended
    toml = TINY_TOML + (f"{name} = {value}\n" if section == "rules" else f"\n[{section}]\n{name} = {value}\n")
    p = the_problem(check(make_scenario(toml=toml)), "scenario.toml", key)
    assert p.row is None and p.value == value


@pytest.mark.parametrize("value", ["1.5", "-0.1", "2"])
def test_theta_outside_0_to_1(make_scenario, value):
    toml = TINY_TOML.replace("bargaining_weight = 0.5", f"bargaining_weight = {value}")
    problems = check(make_scenario(toml=toml))
    p = the_problem(problems, "scenario.toml", "pricing.bargaining_weight")
    assert p.row is None and p.value == value


@pytest.mark.parametrize("value", ["0", "1", "0.0", "1.0"])
def test_theta_bounds_are_allowed(make_scenario, value):
    toml = TINY_TOML.replace("bargaining_weight = 0.5", f"bargaining_weight = {value}")
    assert errors(check(make_scenario(toml=toml))) == []


def test_theta_as_quoted_text(make_scenario):
    toml = TINY_TOML.replace("bargaining_weight = 0.5", 'bargaining_weight = "0.5"')
    p = the_problem(check(make_scenario(toml=toml)), "scenario.toml", "pricing.bargaining_weight")
    assert "number" in p.message_en


@pytest.mark.parametrize("key, old, bad", [
    ("rules.objective", 'objective = "proceeds"', 'objective = "profit"'),
    ("rules.objective", 'objective = "proceeds"', "objective = 1"),
    ("rules.quality_rule", 'quality_rule = "off"', 'quality_rule = "strict"'),
])
def test_unknown_objective_and_quality_rule(make_scenario, key, old, bad):
    problems = check(make_scenario(toml=TINY_TOML.replace(old, bad)))
    p = the_problem(problems, "scenario.toml", key)
    assert p.row is None
    assert p.value == bad.split(" = ")[1].strip('"')
    allowed_example = "proceeds" if key == "rules.objective" else "aggregate"
    assert allowed_example in p.message_en  # the message says what is allowed


def test_unknown_proceeds_rule(make_scenario):
    problems = check(make_scenario(toml=TINY_TOML + '\n[proceeds]\nrule = "by_need"\n'))
    the_problem(problems, "scenario.toml", "proceeds.rule")


def test_unknown_poverty_class(make_scenario):
    problems = check(make_scenario(counties=counties_with(SELLER.replace("national_key", "贫困"), BUYER)))
    p = the_problem(problems, "counties.csv", "poverty_class")
    assert p.row == 2 and p.value == "贫困"
    assert "national_key" in p.message_en


def test_unknown_resettlement_mode(make_scenario):
    relocation = TINY_RELOCATION.replace("002-01,三村,dispersed", "002-01,三村,投亲靠友")
    problems = check(make_scenario(relocation=relocation))
    p = the_problem(problems, "relocation.csv", "resettlement_mode")
    assert p.row == 4 and p.value == "投亲靠友"
    assert "centralized" in p.message_en


def test_blank_resettlement_mode(make_scenario):
    relocation = TINY_RELOCATION.replace("001-02,二村,urban", "001-02,二村,")
    p = the_problem(check(make_scenario(relocation=relocation)), "relocation.csv", "resettlement_mode")
    assert p.row == 3


def test_duplicate_county_code(make_scenario):
    problems = check(make_scenario(counties=counties_with(SELLER, BUYER, SELLER.replace("甲县", "另一县"))))
    p = the_problem(problems, "counties.csv", "code")
    assert p.row == 4 and p.value == "001"
    assert "2" in p.message_en and "2" in p.message_zh  # points at the first occurrence


def test_blank_county_code(make_scenario):
    p = the_problem(check(make_scenario(counties=counties_with(SELLER, "," + BUYER.split(",", 1)[1]))),
                    "counties.csv", "code")
    assert p.row == 3


@pytest.mark.parametrize("column, pair", [("seller_code", "999,101"), ("buyer_code", "001,999")])
def test_pair_row_naming_unknown_county(make_scenario, column, pair):
    # the bad row carries an agreed price: its band cannot be computed and must not be tried
    pairs = f"seller_code,buyer_code,agreed_price\n001,101,\n{pair},20\n"
    problems = check(make_scenario(counties=counties_with(SELLER, BUYER), pairs=pairs))
    p = the_problem(problems, "pairs.csv", column)
    assert p.row == 3 and p.value == "999"
    assert len(errors(problems)) == 1


@pytest.mark.parametrize("column, row", [("county_code", "888,001-02,二村,urban,101"),
                                         ("destination_code", "001,001-02,二村,urban,888")])
def test_relocation_row_naming_unknown_county(make_scenario, column, row):
    relocation = TINY_RELOCATION.replace("001,001-02,二村,urban,101", row)
    assert relocation != TINY_RELOCATION
    p = the_problem(check(make_scenario(relocation=relocation)), "relocation.csv", column)
    assert p.row == 3 and p.value == "888"


def test_pair_of_a_county_with_itself(make_scenario):
    p = the_problem(check(make_scenario(pairs="seller_code,buyer_code\n001,001\n")), "pairs.csv", "buyer_code")
    assert p.row == 2


# Seller 001 floor 12, buyer 101 ceiling 30, guide band 10–60; pairs may narrow the band further.
@pytest.mark.parametrize("pair_row, why", [
    ("001,101,,,35", "above the buyer's ceiling 30"),
    ("001,101,,,11", "below the seller's floor 12"),
    ("001,101,20,,15", "below the pair's own floor 20"),
    ("001,101,,25,26", "above the pair's own ceiling 25"),
])
def test_agreed_price_outside_band(make_scenario, pair_row, why):
    # a warning, not an error: the two governments set the price (article 15; issue 11 item 2)
    pairs = "seller_code,buyer_code,floor_price,ceiling_price,agreed_price\n002,101,,,20\n" + pair_row + "\n"
    problems = check(make_scenario(pairs=pairs))
    assert errors(problems) == []
    p = the_warning(problems, "pairs.csv", "agreed_price")
    assert p.row == 3, why
    assert p.value == pair_row.rsplit(",", 1)[1]


def test_agreed_price_below_guide_floor(make_scenario):
    # 002 has no floor of its own; the provincial guidance floor 10 still applies
    problems = check(make_scenario(pairs="seller_code,buyer_code,agreed_price\n002,101,9.5\n"))
    p = the_warning(problems, "pairs.csv", "agreed_price", row=2)
    assert "10" in p.message_en


@pytest.mark.parametrize("agreed", ["12", "30", "21.5"])
def test_agreed_price_inside_band_or_on_its_edge(make_scenario, agreed):
    problems = check(make_scenario(pairs=f"seller_code,buyer_code,agreed_price\n001,101,{agreed}\n"))
    assert errors(problems) == []


def test_agreed_price_of_excluded_pair_not_checked(make_scenario):
    problems = check(make_scenario(pairs="seller_code,buyer_code,agreed_price,excluded\n001,101,99,true\n"))
    assert errors(problems) == []


def test_bad_excluded_flag(make_scenario):
    p = the_problem(check(make_scenario(pairs="seller_code,buyer_code,excluded\n001,101,maybe\n")),
                    "pairs.csv", "excluded")
    assert p.row == 2


def test_buyer_with_demand_but_no_ceiling(make_scenario):
    problems = check(make_scenario(counties=counties_with(SELLER, BUYER.removesuffix(",30") + ",")))
    p = the_problem(problems, "counties.csv", "ceiling_price")
    assert p.row == 3


def test_buyer_with_demand_and_no_ceiling_column(make_scenario):
    counties = "code,name,poverty_class,surplus_mu,demand_mu\n001,甲县,national_key,100,\n101,丙区,none,,50\n"
    p = the_problem(check(make_scenario(counties=counties)), "counties.csv", "ceiling_price")
    assert p.row == 3


def test_zero_demand_needs_no_ceiling(make_scenario):
    counties = "code,name,poverty_class,surplus_mu,demand_mu\n001,甲县,national_key,100,0\n101,丙区,none,,0\n"
    assert errors(check(make_scenario(counties=counties))) == []


def test_guide_floor_above_guide_ceiling(make_scenario):
    toml = TINY_TOML.replace("guide_ceiling = 60.0", "guide_ceiling = 5.0")
    the_problem(check(make_scenario(toml=toml)), "scenario.toml", "pricing.guide_floor")


def test_non_poverty_surplus_is_only_a_warning(make_scenario):
    scn, problems = load_checked(make_scenario(counties=counties_with(SELLER, BUYER.replace(",,,,120", ",50,,,120"))))
    assert scn is not None and errors(problems) == []
    (w,) = problems
    assert (w.file, w.row, w.column, w.severity) == ("counties.csv", 3, "surplus_mu", "warning")


def test_unknown_toml_keys_warn_but_load(make_scenario):
    scn, problems = load_checked(make_scenario(toml=TINY_TOML + 'colour = "red"\n\n[notes]\na = 1\n'))
    assert scn is not None
    assert {(p.column, p.severity) for p in problems} == {("rules.colour", "warning"), ("[notes]", "warning")}


# --------------------------------------------------------------------------- row numbering, collection, robustness

def test_rows_numbered_as_a_spreadsheet_shows_them(make_scenario):
    # a blank line and a cell with a line break inside quotes: spreadsheet row = CSV record number
    counties = counties_with(SELLER.replace("甲县", '"甲\n县"'), "", BUYER,
                             BUYER.replace("101", "102").replace(",120,", ",x,"))
    p = the_problem(check(make_scenario(counties=counties)), "counties.csv", "demand_mu")
    assert p.row == 5


def test_all_problems_are_collected(make_scenario):
    bad = SELLER.replace("national_key", "rich").replace(",100,5,", ",lots,20,")  # three bad cells in one row
    toml = TINY_TOML.replace("bargaining_weight = 0.5", "bargaining_weight = 7").replace('"proceeds"', '"x"')
    problems = check(make_scenario(toml=toml, counties=counties_with(bad, BUYER, BUYER),
                                   pairs="seller_code,buyer_code\n001,777\n"))
    where = {(p.file, p.row, p.column) for p in errors(problems)}
    assert {("counties.csv", 2, "poverty_class"), ("counties.csv", 2, "surplus_mu"),
            ("counties.csv", 2, "reclaimed_quality_grade"), ("counties.csv", 4, "code"),
            ("scenario.toml", None, "pricing.bargaining_weight"), ("scenario.toml", None, "rules.objective"),
            ("pairs.csv", 2, "buyer_code")} <= where
    assert len(errors(problems)) >= 7


def test_problem_text_names_file_row_column_and_value(make_scenario):
    problems = check(make_scenario(counties=counties_with(SELLER, BUYER.replace(",120,", ",-3,"))))
    p = the_problem(problems, "counties.csv", "demand_mu")
    en, zh = p.text("en"), p.text("zh")
    assert "counties.csv" in en and "row 3" in en and "[demand_mu]" in en and "-3" in en
    assert "counties.csv" in zh and "第3行" in zh and "[demand_mu]" in zh and "-3" in zh
    frame = problems_frame(problems)
    assert frame.loc[0, "file"] == "counties.csv" and list(frame.columns)[:2] == ["severity", "file"]


GARBAGE = [
    b"",
    b"\xff\xfe\x00\x00garbage",
    bytes(range(256)) * 8,
    b"\x81\x30\x81",  # truncated GB18030 four-byte sequence
    b'"unterminated,quote\n1,2',
    b"=cmd|' /C calc'!A0,@SUM(1),+1\n-2,3,4",
    b"a,a,a,A\n1,2,3,4,5,6\n",
    b"[[x]]\n[x]\n",
    "\ufeff\ufeff,,,\n,,,\n".encode("utf-8"),
]


@pytest.mark.parametrize("i", range(len(GARBAGE)))
def test_validation_never_raises_on_garbage(make_scenario, i):
    data = GARBAGE[i]
    folder = make_scenario(toml=data, counties=data, pairs=data, relocation=data)
    scn, problems = load_checked(folder)
    assert scn is None and errors(problems)
    assert all(isinstance(p, Problem) for p in problems)
    assert not any("Unexpected" in p.message_en for p in problems), [p.text("en") for p in problems]


def test_validation_never_raises_on_random_bytes(make_scenario):
    rng = random.Random(20240519)
    for trial in range(40):
        files = {}
        for key in ("toml", "counties", "pairs", "relocation"):
            n = rng.randint(0, 600)
            alphabet = [b"\x00", b",", b"\n", b'"', b"\xef\xbb\xbf", b"\xd6\xd0", b"code", b"[", b"=", b"1", b"-",
                        bytes([rng.randint(0, 255)])]
            files[key] = b"".join(rng.choice(alphabet) for _ in range(n // 4))
        scn, problems = load_checked(make_scenario(f"t{trial}", **files))
        assert isinstance(problems, list)
        assert not any("Unexpected" in p.message_en for p in problems), (trial, [p.text("en") for p in problems])


def test_truncated_baseline_files_never_raise(tmp_path):
    for cut in (1, 7, 50, 333):
        folder = tmp_path / f"cut{cut}"
        shutil.copytree(BASELINE, folder)
        for f in folder.iterdir():
            data = f.read_bytes()
            f.write_bytes(data[: len(data) * cut // 1000 or 1])
        problems = validate_folder(folder)
        assert errors(problems)
        assert not any("Unexpected" in p.message_en for p in problems)


def test_validate_scenario_in_memory(make_scenario):
    scn, _ = load_checked(make_scenario(pairs=TINY_PAIRS))
    assert validate_scenario(scn) == []
    edited = scn.copy()
    edited.counties.loc[2, "demand_mu"] = -1.0
    edited.counties.loc[3, "ceiling_price"] = float("nan")
    edited = edited.with_param("pricing", "bargaining_weight", 3.0)
    problems = validate_scenario(edited)
    assert the_problem(problems, "counties.csv", "demand_mu").row == 4  # index 2 -> spreadsheet row 4
    assert the_problem(problems, "counties.csv", "ceiling_price").row == 5
    the_problem(problems, "scenario.toml", "pricing.bargaining_weight")


# ------------------------------------------------------------- issues 11, 12: grades, deals, lots, demand, payments

# Seller 001 (grade 5, 100 亩, floor 12), seller 002 (grade 6, 50 亩), buyer 101 (demand 120, ceiling 30,
# occupied grade 6, budget 3000, headrooms 110 / 100 at share 0.5), buyer 102 (demand 40, ceiling 20, grade 8).
DEAL_COUNTIES = (
    "code,name,prefecture,poverty_class,surplus_mu,reclaimed_quality_grade,floor_price,demand_mu,ceiling_price,"
    "budget_wan,construction_headroom_mu,cultivated_headroom_mu,cultivated_share,occupied_quality_grade\n") + """\
001,甲县,甲市,national_key,100,5,12,,,,,,,
002,乙县,甲市,provincial,50,6,,,,,,,,
101,丙区,乙市,none,,,,120,30,3000,110,50,0.5,6
102,丁区,乙市,none,,,,40,20,,,,,8
103,戊县,乙市,none,,7,,,,,,,,
"""
AGGREGATE_TOML = TINY_TOML.replace('quality_rule = "off"', 'quality_rule = "aggregate"')
HORIZON = "\n[horizon]\nstart_year = 2018\n"


def deals(*rows: str) -> str:
    return "seller_code,buyer_code,agreed_price,agreed_mu,status,year,excluded\n" + "\n".join(rows) + "\n"


def folder_with(make_scenario, extra: dict | None = None, **files):
    """A scenario folder; `extra` holds further files by name (lots.csv, demand.csv, payments.csv)."""
    files.setdefault("counties", DEAL_COUNTIES)
    folder = make_scenario(**files)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def cap_error(problems, cap_word: str) -> Problem:
    """The one error about deals exceeding a cap whose English name holds `cap_word`."""
    hits = [p for p in errors(problems) if "Signed deals exceed" in p.message_en and cap_word in p.message_en]
    assert len(hits) == 1, [p.text("en") for p in problems]
    p = hits[0]
    assert p.file == "pairs.csv" and p.column == "agreed_mu" and p.row >= 2 and "已签协议超出" in p.message_zh
    return p


def test_deal_counties_with_a_fitting_deal_are_valid(make_scenario):
    problems = check(folder_with(make_scenario, pairs=deals("001,101,20,60,signed,,")))
    assert problems == [], [p.text("en") for p in problems]


@pytest.mark.parametrize("rule", ["pair", "aggregate"])
def test_missing_grades_warn_naming_county_and_column(make_scenario, rule):
    counties = DEAL_COUNTIES.replace("002,乙县,甲市,provincial,50,6,", "002,乙县,甲市,provincial,50,,") \
        .replace(",8\n", ",\n")
    toml = TINY_TOML.replace('quality_rule = "off"', f'quality_rule = "{rule}"')
    problems = check(folder_with(make_scenario, toml=toml, counties=counties))
    assert errors(problems) == []
    s = the_warning(problems, "counties.csv", "reclaimed_quality_grade")
    b = the_warning(problems, "counties.csv", "occupied_quality_grade")
    assert s.row == 3 and "乙县" in s.message_zh and "复垦耕地质量等别" in s.message_zh and "002" in s.message_en
    assert b.row == 5 and "丁区" in b.message_zh and "102" in b.message_en
    # with the rule off nothing is checked, so nothing is missing
    assert check(folder_with(make_scenario, toml=TINY_TOML, counties=counties)) == []


def test_lot_without_grade_warns_with_the_quality_rule(make_scenario):
    counties = DEAL_COUNTIES.replace("001,甲县,甲市,national_key,100,5,", "001,甲县,甲市,national_key,,,")
    lots = "lot_id,county_code,status,area_mu,reclaimed_quality_grade\nL1,001,confirmed,80,\nL2,001,confirmed,20,4\n"
    problems = check(folder_with(make_scenario, {"lots.csv": lots}, toml=AGGREGATE_TOML, counties=counties))
    w = the_warning(problems, "lots.csv", "reclaimed_quality_grade")
    assert w.row == 2 and "L1" in w.message_en and "甲县" in w.message_zh


def test_signed_status_without_quota_is_not_a_deal(make_scenario):
    problems = check(folder_with(make_scenario, pairs=deals("001,101,20,,signed,,")))
    assert errors(problems) == []
    w = the_warning(problems, "pairs.csv", "agreed_mu")
    assert w.row == 2 and "已签订" in w.message_zh


def test_deal_without_price_warns(make_scenario):
    problems = check(folder_with(make_scenario, pairs=deals("001,101,,60,已备案,,")))  # Chinese label accepted
    assert errors(problems) == []
    w = the_warning(problems, "pairs.csv", "agreed_price")
    assert "001→101" in w.message_en


def test_deal_price_outside_band_is_only_a_warning(make_scenario):
    problems = check(folder_with(make_scenario, pairs=deals("001,101,45,60,signed,,")))
    assert errors(problems) == []
    the_warning(problems, "pairs.csv", "agreed_price")


def test_deal_on_excluded_pair_is_an_error(make_scenario):
    p = the_problem(check(folder_with(make_scenario, pairs=deals("001,101,20,60,signed,,true"))),
                    "pairs.csv", "excluded")
    assert p.row == 2 and "001→101" in p.message_en


def test_deal_of_a_county_that_may_not_sell_is_an_error(make_scenario):
    p = the_problem(check(folder_with(make_scenario, pairs=deals("103,101,20,10,signed,,"))), "pairs.csv",
                    "seller_code")
    assert "article 2" in p.message_en and "第二条" in p.message_zh and "戊县" in p.message_zh


def test_deal_year_outside_the_horizon_is_an_error(make_scenario):
    problems = check(folder_with(make_scenario, toml=TINY_TOML + HORIZON, pairs=deals("001,101,20,60,signed,2023,")))
    p = the_problem(problems, "pairs.csv", "year")
    assert "2018" in p.message_en and "2021" in p.message_en  # end_year defaults to start + 3 (article 27)


@pytest.mark.parametrize("rows, cap_word, total, limit", [
    (("001,101,20,70,signed,,", "001,102,15,35,filed,,"), "saleable quota of 甲县", "105", "100"),
    (("001,101,20,90,signed,,", "002,101,20,40,signed,,"), "demand of 丙区", "130", "120"),
    (("001,101,30,80,signed,,", "002,101,30,30,signed,,"), "budget of 丙区", "3,300", "3,000"),
])
def test_deals_the_caps_cannot_hold(make_scenario, rows, cap_word, total, limit):
    p = cap_error(check(folder_with(make_scenario, pairs=deals(*rows))), cap_word)
    assert f"total {total}" in p.message_en and f"limit is {limit}" in p.message_en
    assert "001→" in p.message_en and "甲县" in p.message_zh  # names the deal(s)


def test_deals_beyond_construction_headroom_even_with_plan_adjustment(make_scenario):
    toml = TINY_TOML + "allow_plan_adjustment = true\n"
    p = cap_error(check(folder_with(make_scenario, toml=toml,
                                    pairs=deals("001,101,20,80,signed,,", "002,101,20,40,signed,,"))),
                  "construction headroom")
    assert "120" in p.message_en and "110" in p.message_en


def test_deals_beyond_cultivated_headroom(make_scenario):
    counties = DEAL_COUNTIES.replace(",3000,110,50,0.5,6", ",3000,,50,0.5,6")
    p = cap_error(check(folder_with(make_scenario, counties=counties,
                                    pairs=deals("001,101,20,80,signed,,", "002,101,20,30,signed,,"))),
                  "cultivated-land headroom")
    assert "total 55" in p.message_en and "limit is 50" in p.message_en


def test_deals_breaking_the_aggregate_quality_balance(make_scenario):
    counties = DEAL_COUNTIES.replace(",0.5,6\n", ",0.5,5\n")  # 丙区 occupies grade-5 land; 乙县 gives grade 6
    ok = check(folder_with(make_scenario, counties=counties, toml=AGGREGATE_TOML,
                           pairs=deals("001,101,20,40,signed,,", "002,101,20,40,signed,,")))
    assert errors(ok) != []
    cap_error(ok, "quality balance")
    # the same deals with the rule off are fine
    assert errors(check(folder_with(make_scenario, counties=counties,
                                    pairs=deals("001,101,20,40,signed,,", "002,101,20,40,signed,,")))) == []


def test_deals_beyond_the_partner_limit(make_scenario):
    toml = TINY_TOML + "max_partners_per_seller = 1\n"
    cap_error(check(folder_with(make_scenario, toml=toml,
                                pairs=deals("001,101,20,40,signed,,", "001,102,15,20,signed,,"))), "partner limit")


def test_deal_needs_quota_ready_by_its_year(make_scenario):
    lots = ("lot_id,county_code,status,ready_year,area_mu\nA,001,confirmed,2018,30\nB,001,confirmed,2020,70\n")
    counties = DEAL_COUNTIES.replace("national_key,100,5", "national_key,,5")
    folder = folder_with(make_scenario, {"lots.csv": lots}, toml=TINY_TOML + HORIZON, counties=counties,
                         pairs=deals("001,101,20,50,signed,2019,"))
    p = cap_error(check(folder), "ready by 2019")
    assert "total 50" in p.message_en and "limit is 30" in p.message_en
    later = folder_with(make_scenario, {"lots.csv": lots}, toml=TINY_TOML + HORIZON, counties=counties,
                        pairs=deals("001,101,20,50,signed,2020,"))
    assert errors(check(later)) == []


def test_deal_beyond_yearly_demand(make_scenario):
    demand = "county_code,year,demand_mu\n101,2018,30\n101,2019,90\n"
    p = cap_error(check(folder_with(make_scenario, {"demand.csv": demand}, toml=TINY_TOML + HORIZON,
                                    pairs=deals("001,101,20,40,signed,2018,"))), "in 2018")
    assert "limit is 30" in p.message_en


LOTS_HEADER = "lot_id,county_code,status,ready_year,area_mu,used_locally_mu,reserved_rural_mu,turnover_owed_mu\n"


def test_lot_with_negative_net_is_an_error(make_scenario):
    lots = LOTS_HEADER + "A,001,confirmed,,50,10,20,30\n"
    p = the_problem(check(folder_with(make_scenario, {"lots.csv": lots})), "lots.csv", "area_mu")
    assert p.row == 2 and "-10" in p.message_en


@pytest.mark.parametrize("column,row", [("area_mu", "A,001,confirmed,,abc,10,20,0"),
                                        ("used_locally_mu", "A,001,confirmed,,50,lots,20,0"),
                                        ("status", "A,001,maybe,,50,10,20,0")])
def test_an_unreadable_lot_cell_is_one_error_not_a_knock_on_negative_net(make_scenario, column, row):
    """An area of "abc" used to be read as 0 as well, adding "negative net quota (-30 亩)" and a warning that the
    county's surplus disagrees with its lots: noise that goes away with the one real error."""
    problems = check(folder_with(make_scenario, {"lots.csv": LOTS_HEADER + row + "\n"}))
    assert [(p.file, p.row, p.column) for p in errors(problems)] == [("lots.csv", 2, column)], \
        [p.text("en") for p in problems]
    assert not [p for p in problems if p.file == "counties.csv" and p.row == 2]  # county 001, whose lot it is
    readable = check(folder_with(make_scenario, {"lots.csv": LOTS_HEADER + "A,001,confirmed,,5,10,20,0\n"}))
    assert the_problem(readable, "lots.csv", "area_mu")  # a readable negative net is still an error
    assert the_warning(readable, "counties.csv", "surplus_mu", row=2)


@pytest.mark.parametrize("status", ["sold", ""])
def test_lot_with_unknown_status_is_an_error(make_scenario, status):
    lots = LOTS_HEADER + f"A,001,{status},,50,,,\n"
    p = the_problem(check(folder_with(make_scenario, {"lots.csv": lots})), "lots.csv", "status")
    assert p.row == 2


def test_lot_statuses_accept_chinese_labels(make_scenario):
    lots = LOTS_HEADER + "A,001,已确认备案,,60,,,\nB,001,复垦中,,40,,,\n"
    counties = DEAL_COUNTIES.replace("national_key,100,5", "national_key,60,5") \
        .replace("provincial,50,", "provincial,,")
    scn, problems = load_checked(folder_with(make_scenario, {"lots.csv": lots}, counties=counties))
    assert problems == [], [p.text("en") for p in problems]
    assert scn.lots["status"].tolist() == ["confirmed", "reclaiming"]


def test_lot_of_an_unknown_county_is_an_error(make_scenario):
    p = the_problem(check(folder_with(make_scenario, {"lots.csv": LOTS_HEADER + "A,999,confirmed,,50,,,\n"})),
                    "lots.csv", "county_code")
    assert p.value == "999"


def test_lot_ready_after_the_horizon_warns(make_scenario):
    lots = LOTS_HEADER + "A,001,confirmed,2018,100,,,\nB,001,confirmed,2025,10,,,\n"
    problems = check(folder_with(make_scenario, {"lots.csv": lots}, toml=TINY_TOML + HORIZON))
    assert errors(problems) == []
    assert the_warning(problems, "lots.csv", "ready_year").row == 3


def test_surplus_disagreeing_with_lots_warns(make_scenario):
    lots = LOTS_HEADER + "A,001,confirmed,,70,,,\nB,001,planned,,30,,,\nC,002,confirmed,,50,,,\n"
    problems = check(folder_with(make_scenario, {"lots.csv": lots}))
    assert errors(problems) == []
    w = the_warning(problems, "counties.csv", "surplus_mu")
    assert w.row == 2 and "100" in w.message_en and "70" in w.message_en  # only confirmed lots are saleable
    toml = TINY_TOML + 'saleable_status = ["confirmed", "已批准实施规划"]\n'
    assert check(folder_with(make_scenario, {"lots.csv": lots}, toml=toml)) == []


@pytest.mark.parametrize("value", ['["sold"]', "3", '[1, 2]'])
def test_bad_saleable_status(make_scenario, value):
    the_problem(check(make_scenario(toml=TINY_TOML + f"saleable_status = {value}\n")), "scenario.toml",
                "rules.saleable_status")


@pytest.mark.parametrize("horizon", ["end_year = 2017", "end_year = 2030"])
def test_horizon_end_year(make_scenario, horizon):
    problems = check(make_scenario(toml=TINY_TOML + HORIZON + horizon + "\n"))
    if horizon.endswith("2017"):
        the_problem(problems, "scenario.toml", "horizon.end_year")
    else:
        assert "article 27" in the_warning(problems, "scenario.toml", "horizon.end_year").message_en


def test_demand_checks(make_scenario):
    demand = "county_code,year,demand_mu\n101,2018,60\n999,2019,10\n101,2030,5\n"
    problems = check(folder_with(make_scenario, {"demand.csv": demand}, toml=TINY_TOML + HORIZON))
    assert the_problem(problems, "demand.csv", "county_code").row == 3
    assert the_warning(problems, "demand.csv", "year").row == 4
    without = check(folder_with(make_scenario, {"demand.csv": "county_code,year,demand_mu\n101,2018,60\n"}))
    w = the_warning(without, "demand.csv", "")
    assert w.row is None and "[horizon]" in w.message_en


def test_payment_checks(make_scenario):
    payments = ("seller_code,buyer_code,milestone,share,due_year\n001,101,signing,0.3,2018\n"
                "001,101,验收,0.5,2020\n002,101,signing,1,2018\n001,102,bonus,1,2018\n")
    problems = check(folder_with(make_scenario, {"payments.csv": payments}, pairs=deals("001,101,20,60,signed,,")))
    assert the_problem(problems, "payments.csv", "milestone").row == 5
    shares = the_warning(problems, "payments.csv", "share")
    assert shares.row == 2 and "0.8" in shares.message_en
    assert {p.row for p in problems if p.column == "buyer_code" and p.severity == "warning"} == {4, 5}


def test_unknown_column_warns_with_the_closest_known_column(make_scenario):
    counties = TINY_COUNTIES.replace("floor_price", "price_min", 1)
    scn, problems = load_checked(make_scenario(counties=counties))
    assert scn is not None
    w = the_warning(problems, "counties.csv", "price_min")
    assert w.message_zh.startswith("price_min 未识别，是否应为 floor_price（最低价）？")
    assert "price_min" in w.message_en and "floor_price" in w.message_en
    assert "price_min" in scn.counties.columns  # kept
    odd = check(make_scenario("odd", pairs="seller_code,buyer_code,zzqx\n001,101,1\n"))
    assert the_warning(odd, "pairs.csv", "zzqx").message_en.startswith("zzqx is not a known column")


@pytest.mark.parametrize("lang, with_unit", [("zh", True), ("zh", False), ("en", True), ("en", False)])
def test_counties_downloaded_with_app_labels_import_back_unchanged(make_scenario, lang, with_unit):
    from planner import i18n, schema
    from planner.scenario import text_table, write_csv_bytes

    scn, _ = load_checked(BASELINE)
    columns = {c.name: c for c in schema.COUNTY_COLUMNS}
    shown = scn.counties.rename(columns={n: (i18n.column_label(c, lang) if with_unit else i18n.label(c, lang))
                                         for n, c in columns.items()})
    shown[shown.columns[3]] = [  # poverty_class, as the app shows it
        i18n.choice_label("poverty_class", v, lang) for v in scn.counties["poverty_class"]]
    folder = make_scenario(toml=(BASELINE / "scenario.toml").read_text(encoding="utf-8"),
                           counties=write_csv_bytes(shown))
    again, problems = load_checked(folder)
    assert errors(problems) == [] and not [p for p in problems if p.file == "counties.csv"], \
        [p.text("en") for p in problems]
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(text_table(again.counties), text_table(scn.counties))


def test_header_labels_are_unambiguous():
    from planner import i18n, schema

    for table, (_, columns, _) in schema.TABLES.items():
        for c in columns:
            for lang in i18n.LANGS:
                for text in (c.name, i18n.label(c, lang), i18n.column_label(c, lang)):
                    assert schema.column_for_header(table, text) == c.name, (table, c.name, text)


def test_scenario_without_new_files_reports_nothing_new(make_scenario):
    scn, problems = load_checked(make_scenario(pairs=TINY_PAIRS, relocation=TINY_RELOCATION))
    assert problems == []
    assert all(len(getattr(scn, t)) == 0 for t in ("lots", "demand", "payments"))
