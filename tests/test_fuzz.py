"""Fuzzing (issue 8): whatever staff feed the planner, load -> validate -> solve -> explain -> proceeds -> export
ends in either a list of validation errors or a result, never an exception; and for random *valid* scenarios the
result satisfies every DESIGN section 4 constraint and is optimal, both checked by the independent formulation in
tests/independent.py (scipy milp, written from the spec and not from planner/model.py).

Two families of tests:

1. Malformed input (`test_fuzz_*_file`, `test_fuzz_arbitrary_bytes`, ...): a valid scenario folder (the tiny
   scenario of conftest.py, with relocation data) where one or more of scenario.toml, counties.csv, pairs.csv and
   relocation.csv is mangled: arbitrary bytes, truncation, wrong encodings (UTF-16/32, Latin-1, GBK with a UTF-8
   BOM), huge numbers, NaN/inf, negative zero, empty and header-only tables, duplicate headers, ragged rows, a BOM in
   the middle, CRLF/CR line endings, quoted newlines, formula-like text, very long strings. `pipeline` asserts the
   outcome.
2. Random valid scenarios (`valid_scenarios`): 1-6 sellers, 1-8 buyers with random optional caps, budgets, grades
   and shares, pair overrides, pricing and rules (quality off/pair/aggregate, plan adjustment, every objective,
   sometimes lots, partner limits and a minimum sale share), written to a folder and read back through
   `load_checked`; the plan must be feasible per `violations` and its objective must equal the independent optimum.

Example counts are explicit per test (no global profile) and chosen so the whole file stays well under a minute on
a busy 2-core machine; `derandomize=True` makes every run (and CI) try the same examples.
"""
from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, example, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from planner import schema
from planner.explain import county_report, shadow_prices
from planner.export import csv_bytes
from planner.model import solve
from planner.proceeds import allocate
from planner.scenario import save_scenario, scenario_files
from planner.validate import errors, load_checked, validate_scenario
from tests.conftest import TINY_COUNTIES, TINY_PAIRS, TINY_RELOCATION, TINY_TOML, write_scenario
from tests.independent import (market, objective_coefficients, objective_of, plan_from_pairings, printed_slack,
                               shortfall_of,
                               solve_independent, violations)

STATUSES = {"optimal", "time_limit", "failed"}
UNEXPECTED = ("Unexpected error", "意外错误")  # what load_checked/validate_raw say when they caught an exception


# For a deeper, exploratory run: PLANNER_FUZZ_SCALE=20 multiplies every example count and draws fresh random examples
# (not derandomized) each run. Unset (CI), the counts below hold and every run tries the same examples.
FUZZ_SCALE = float(os.environ.get("PLANNER_FUZZ_SCALE", "0") or 0)


def fuzz_settings(n: int, **kw):
    """Explicit, bounded settings for one test (no global profile: other test files are unaffected)."""
    if FUZZ_SCALE > 0:
        return settings(max_examples=max(1, int(n * FUZZ_SCALE)), deadline=None, derandomize=False, database=None,
                        **kw)
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, **kw)


# --------------------------------------------------------------------------- the pipeline and its outcome


def _event(text: str) -> None:
    """Count outcomes (shown by --hypothesis-show-statistics); a no-op in the plain regression tests."""
    if currently_in_test_context():
        event(text)


def pipeline(folder: Path, solver: str = "highs", roundtrip: bool = True):
    """Run what the app and the command line run; return ('invalid', problems) or ('result', (scn, result)).

    Asserts the contract: no exception anywhere; an invalid folder comes with at least one error, none of them an
    exception caught and turned into a problem; a valid one solves (not 'failed': these inputs are tiny), and the
    explanations, proceeds allocation and CSV exports work on the result.
    """
    scn, problems = load_checked(folder)
    assert all(p.severity in ("error", "warning") for p in problems)
    texts = [p.text("en") + " | " + p.text("zh") for p in problems]
    assert not [t for t in texts if any(u in t for u in UNEXPECTED)], texts
    for p in problems:  # every message names its file, and says what is wrong in both languages
        assert p.file and p.message_zh and p.message_en, p
    if scn is None:
        assert errors(problems), texts
        _event("outcome: invalid")
        return "invalid", problems
    _event("outcome: valid, solved")
    assert not errors(problems), texts
    # The typed scenario is still valid when checked again in memory (the app re-validates after every edit) ...
    again = validate_scenario(scn)
    assert not errors(again), [p.text("en") for p in errors(again)]
    # ... and when saved and read back: the copy is valid and saving it again writes the same bytes.
    if roundtrip:
        _check_roundtrip(scn)
    result = solve(scn, solver, time_limit=30)
    assert result.status in STATUSES
    assert result.status != "failed", result.message
    assert result.has_solution
    assert math.isfinite(result.objective)
    report = county_report(scn, result)
    assert len(report) == len(scn.counties)
    shadow_prices(scn, result)
    alloc = allocate(scn, result.pairings)
    scale = max(1.0, float(alloc.counties["gross_wan"].abs().sum())) if len(alloc.counties) else 1.0
    assert alloc.total_check() <= 1e-9 * scale
    for df in (result.pairings, report, alloc.groups, alloc.counties, alloc.destinations):
        data = csv_bytes(df)
        assert data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")
    return "result", (scn, result)


def _check_roundtrip(scn) -> None:
    """Saved and read back, a scenario is still valid and saving it again writes the same bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        save_scenario(scn, Path(tmp) / "copy")
        scn2, problems2 = load_checked(Path(tmp) / "copy")
        assert scn2 is not None, [p.text("en") for p in errors(problems2)]
        assert scenario_files(scn2) == scenario_files(scn)


def run_files(**files):
    """Write the tiny scenario with some files replaced (str/bytes/None as write_scenario takes) and run it."""
    base = {"toml": TINY_TOML, "counties": TINY_COUNTIES, "pairs": TINY_PAIRS, "relocation": TINY_RELOCATION}
    base.update(files)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scenario(Path(tmp) / "s", **{k: v for k, v in base.items()})
        return pipeline(folder)


# --------------------------------------------------------------------------- malformed input strategies

LONG = "长" * 5_000
VERY_LONG = "x" * 140_000  # longer than Python csv's field limit (131,072)
NASTY_CELLS = [
    "", " ", "\t", "　", "nan", "NaN", "-nan", "NAN", "inf", "-inf", "+inf", "Infinity", "-Infinity", "infinity",
    "1e308", "-1e308", "1.7976931348623157e308", "1e309", "-1e309", "1e20", "-1e20", "1e12", "999999999999",
    "1000000000001", "1e-320", "5e-324", "-0", "-0.0", "+0", "0", "0.0", "00", "007", "1", "15", "16", "0.5",
    "-1", "-0.000001", "1,200", "1，200", "１２", "1_000", "0x10", "1e", ".", "-", "+", "e5", "1.2.3", "12亩",
    "true", "false", "TRUE", "是", "否", "排除", "x", "√", "national_key", "NATIONAL_KEY", "Provincial", "none",
    "国家级", "省定", "非贫困县", "集中安置", "urban", "其他",
    "=1+1", "@SUM(A1:A2)", "+1+1", "-1+1", "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "'=1",
    "a\nb", "a\r\nb", "a\rb", 'say "hi"', '"', '""', ",", ";", "\ufeff", "\ufeff1", "1\ufeff", "\u00a01", "\u200b",
    "\u202e123", "🙂", "\ud7ff", "<script>alert(1)</script>", "../../etc/passwd", "NULL", "None", "#N/A", "#DIV/0!",
    LONG, VERY_LONG,
]
nasty_cell = st.one_of(
    st.sampled_from(NASTY_CELLS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.text(max_size=12),
)

TEXT_ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1",
                  "cp1252", "big5", "shift_jis", "gbk-with-utf8-bom"]


GOOD_ENCODINGS = ["utf-8", "utf-8-sig", "gb18030"]  # what the loader must read (DESIGN 3)


def encode(text: str, encoding: str) -> bytes:
    if encoding == "gbk-with-utf8-bom":  # GBK text that claims to be UTF-8
        return b"\xef\xbb\xbf" + text.encode("gbk", errors="replace")
    return text.encode(encoding, errors="replace")


def _rows(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text))]


@st.composite
def mangled_csv(draw, text: str) -> bytes:
    """A valid CSV text mangled at the table level, then at the text level, then encoded."""
    rows = _rows(text)
    n_ops = draw(st.sampled_from([1, 1, 2, 3, 4]))
    for _ in range(n_ops):
        op = draw(st.sampled_from(["cell", "cell", "cell", "more_cells", "fewer_cells", "dup_header", "drop_column",
                                   "header_only", "blank_rows", "permute_columns", "drop_row", "dup_row",
                                   "header_case", "empty", "new_column"]))
        body = len(rows) - 1
        width = max((len(r) for r in rows), default=0)
        if op == "cell" and rows and width:
            i = draw(st.integers(0, len(rows) - 1))
            if rows[i]:
                j = draw(st.integers(0, len(rows[i]) - 1))
                rows[i][j] = draw(nasty_cell)
        elif op == "more_cells" and rows:
            i = draw(st.integers(0, len(rows) - 1))
            rows[i] = rows[i] + draw(st.lists(nasty_cell, min_size=1, max_size=3))
        elif op == "fewer_cells" and rows:
            i = draw(st.integers(0, len(rows) - 1))
            rows[i] = rows[i][:draw(st.integers(0, max(0, len(rows[i]) - 1)))]
        elif op == "dup_header" and rows and len(rows[0]) >= 2:
            j, k = draw(st.integers(0, len(rows[0]) - 1)), draw(st.integers(0, len(rows[0]) - 1))
            rows[0][j] = rows[0][k]
        elif op == "drop_column" and rows and rows[0]:
            j = draw(st.integers(0, len(rows[0]) - 1))
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif op == "header_only":
            rows = rows[:1]
        elif op == "blank_rows":
            i = draw(st.integers(0, len(rows)))
            rows = rows[:i] + [[""] * draw(st.integers(0, 3))] * draw(st.integers(1, 3)) + rows[i:]
        elif op == "permute_columns" and rows and rows[0]:
            perm = draw(st.permutations(list(range(len(rows[0])))))
            rows = [[r[j] if j < len(r) else "" for j in perm] for r in rows]
        elif op == "drop_row" and body > 0:
            i = draw(st.integers(1, len(rows) - 1))
            rows = rows[:i] + rows[i + 1:]
        elif op == "dup_row" and body > 0:
            i = draw(st.integers(1, len(rows) - 1))
            rows = rows + [list(rows[i])]
        elif op == "header_case" and rows:
            rows[0] = [draw(st.sampled_from([h.upper(), f" {h} ", h.title(), h])) for h in rows[0]]
        elif op == "empty":
            rows = []
        elif op == "new_column" and rows:
            rows[0] = rows[0] + [draw(st.sampled_from(["备注", "note", "", "code", "=1+1", VERY_LONG[:300]]))]
            rows[1:] = [r + [draw(nasty_cell)] for r in rows[1:]]
    buf = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    w = csv.writer(buf, quoting=quoting, lineterminator=newline)
    for r in rows:
        w.writerow(r)
    out = buf.getvalue()
    for _ in range(draw(st.integers(0, 2))):
        tweak = draw(st.sampled_from(["truncate", "bom_middle", "bom_start", "insert_text", "no_final_newline",
                                      "mixed_newlines"]))
        if tweak == "truncate" and out:
            out = out[:draw(st.integers(0, len(out)))]
        elif tweak == "bom_middle":
            i = draw(st.integers(0, len(out)))
            out = out[:i] + "\ufeff" + out[i:]
        elif tweak == "bom_start":
            out = "\ufeff" + out
        elif tweak == "insert_text":
            i = draw(st.integers(0, len(out)))
            out = out[:i] + draw(st.sampled_from(['"', ",", "\n", "\r", '"\n"', "\x1a", "\x85", "\u2028"])) + out[i:]
        elif tweak == "no_final_newline":
            out = out.rstrip("\r\n")
        elif tweak == "mixed_newlines":
            out = out.replace("\n", draw(st.sampled_from(["\r\n", "\r", "\n\n", "\n\r"])), 1)
    data = encode(out, draw(st.one_of(st.sampled_from(GOOD_ENCODINGS), st.sampled_from(TEXT_ENCODINGS))))
    if draw(st.integers(0, 9)) == 0 and data:  # a few raw byte flips
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        data = bytes(b)
    return data


TOML_VALUES = [
    "nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e308", "-1e308", "1e20", "-1e20", "1e12", "1000000000000.5",
    "-1e12", "1e-320", "-0.0", "0.0", "0", "-0", "1", "-1", "0.5", "2", "1.5", "9223372036854775807",
    "-9223372036854775808", '"x"', '""', '"nan"', '"1"', '"0.5"', "true", "false", "[]", "[1, 2]", "{}",
    "{ a = 1 }", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", '"=1+1"', '"@SUM(A1)"', "0x10", "0o7", "0b1",
    "1_000", '"proceeds"', '"volume"', '"surplus"', '"off"', '"pair"', '"aggregate"', '"per_capita"', '"hybrid"',
    '"吉林"', '"' + "长" * 3000 + '"', "'''a\nb'''",
]
toml_value = st.one_of(
    st.sampled_from(TOML_VALUES),
    st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda s: "e" in s or "." in s),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(str),
)
PARAM_KEYS = [(p.section, p.key) for p in schema.PARAMS]


@st.composite
def mangled_toml(draw) -> bytes:
    """scenario.toml with parameters set to odd values, sections broken, or the text itself damaged."""
    sections: dict[str, dict[str, str]] = {"scenario": {"name": '"小测试"'},
                                          "pricing": {"guide_floor": "10.0", "guide_ceiling": "60.0",
                                                      "bargaining_weight": "0.5"},
                                          "rules": {"objective": '"proceeds"', "quality_rule": '"off"'}}
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["set", "set", "set", "drop", "unknown_key", "unknown_section",
                                   "section_as_value", "drop_section"]))
        if op == "set":
            sec, key = draw(st.sampled_from(PARAM_KEYS))
            if sections.get(sec) is None:
                sections[sec] = {}
            sections[sec][key] = draw(toml_value)
        elif op == "drop":
            sec = draw(st.sampled_from(sorted(sections))) if sections else None
            if sec and sections[sec]:
                sections[sec].pop(draw(st.sampled_from(sorted(sections[sec]))))
        elif op == "unknown_key":
            sec = draw(st.sampled_from(["rules", "pricing"]))
            if sections.get(sec) is None:
                sections[sec] = {}
            sections[sec]["mystery"] = draw(toml_value)
        elif op == "unknown_section":
            sections["extra"] = {"k": draw(toml_value)}
        elif op == "section_as_value":
            sections[draw(st.sampled_from(["rules", "pricing", "proceeds", "scenario"]))] = None
        elif op == "drop_section" and sections:
            sections.pop(draw(st.sampled_from(sorted(sections))), None)
    lines = []
    top = [f"{s} = 1" for s, body in sections.items() if body is None]
    lines += top
    for sec, body in sections.items():
        if body is None:
            continue
        lines.append(f"[{sec}]")
        lines += [f"{k} = {v}" for k, v in body.items()]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"
    tweak = draw(st.sampled_from(["none", "none", "none", "truncate", "dup_key", "bom", "bom_middle", "junk"]))
    if tweak == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    elif tweak == "dup_key":
        text += "[rules]\nobjective = \"volume\"\n"
    elif tweak == "bom":
        text = "\ufeff" + text
    elif tweak == "bom_middle":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + "\ufeff" + text[i:]
    elif tweak == "junk":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(["=", "[", "]", '"', "\n[[rules]]\n", "\x00", "\x7f"])) + text[i:]
    return encode(text, draw(st.sampled_from(TEXT_ENCODINGS[:5] + ["utf-16", "latin-1", "gbk-with-utf8-bom"])))


# --------------------------------------------------------------------------- malformed input tests


@fuzz_settings(100)
@given(data=mangled_csv(TINY_COUNTIES))
def test_fuzz_counties_file(data):
    run_files(counties=data)


@fuzz_settings(60)
@given(data=mangled_csv(TINY_PAIRS + "002,102,5,25,,\n001,102,,,15,\n002,101,,,,是\n"))
def test_fuzz_pairs_file(data):
    run_files(pairs=data)


@fuzz_settings(60)
@given(data=mangled_csv(TINY_RELOCATION))
def test_fuzz_relocation_file(data):
    run_files(relocation=data)


@fuzz_settings(100)
@given(data=mangled_toml())
def test_fuzz_scenario_toml(data):
    run_files(toml=data)


NUMERIC_PARAMS = [(p.section, p.key) for p in schema.PARAMS if p.kind in ("number", "integer")]
numeric_toml_value = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "1e20", "1e13", "1e12", "1000000000000",
                     "999999999999", "1e-320", "-0.0", "-0", "0", "0.0", "1", "0.5", "2", "-1", "9223372036854775807",
                     '"1"', "true", "[1]"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e13, max_value=1e13).map(repr),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(str),
)


@fuzz_settings(60)
@given(values=st.dictionaries(st.sampled_from(NUMERIC_PARAMS), numeric_toml_value, min_size=1, max_size=4),
       allow=st.booleans())
@example(values={("rules", "min_lot_mu"): "1e20"}, allow=False)
@example(values={("rules", "priority_weight_national_key"): "1e20"}, allow=False)
@example(values={("rules", "priority_weight_provincial"): "1e12"}, allow=False)
@example(values={("rules", "plan_adjustment_penalty"): "1e308"}, allow=True)
@example(values={("rules", "max_partners_per_buyer"): "9223372036854775807"}, allow=False)
def test_fuzz_toml_numbers(values, allow):
    """Numeric parameters at odd values in an otherwise valid file: refused with a message, or solved."""
    body = {"scenario": {"name": '"小测试"'}, "pricing": {"guide_floor": "10.0", "guide_ceiling": "60.0"},
            "rules": {"allow_plan_adjustment": "true" if allow else "false"}, "proceeds": {}, "horizon": {}}
    for (sec, key), v in values.items():
        body[sec][key] = v
    toml = "".join(f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for sec, kv in body.items() if kv)
    run_files(toml=toml)


FILE_KEYS = ["toml", "counties", "pairs", "relocation"]


@fuzz_settings(60)
@given(target=st.sampled_from(FILE_KEYS),
       data=st.one_of(st.binary(max_size=600), st.just(b""), st.just(b"PK\x03\x04rest of a zip"),
                      st.binary(max_size=200).map(lambda b: b"\xef\xbb\xbf" + b)))
def test_fuzz_arbitrary_bytes(target, data):
    run_files(**{target: data})


@fuzz_settings(40)
@given(counties=mangled_csv(TINY_COUNTIES), pairs=mangled_csv(TINY_PAIRS),
       relocation=mangled_csv(TINY_RELOCATION), toml=mangled_toml(),
       absent=st.sets(st.sampled_from(FILE_KEYS), max_size=2))
def test_fuzz_all_files_at_once(counties, pairs, relocation, toml, absent):
    files = {"counties": counties, "pairs": pairs, "relocation": relocation, "toml": toml}
    run_files(**{k: (None if k in absent else v) for k, v in files.items()})


# Numbers at the edge of what validation accepts (|x| <= 1e12 in any cell or parameter, weight x price <= 1e12)
# must still solve: HiGHS refuses costs >= 1e20 and matrix entries > 1e15, so an accepted scenario must stay below.
EDGE_NUMBERS = ["1e12", "999999999999.99", "1e6", "0.000001", "1e-9", "5e-324", "-0", "0"]
MODEL_COLUMNS = ["surplus_mu", "floor_price", "demand_mu", "ceiling_price", "budget_wan", "construction_headroom_mu",
                 "cultivated_headroom_mu", "plan_adjustable_mu"]
EDGE_PARAMS = ["priority_weight_national_key", "priority_weight_provincial", "plan_adjustment_penalty", "min_lot_mu",
               "max_partners_per_seller", "max_partners_per_buyer"]


@fuzz_settings(40)
@given(cells=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(MODEL_COLUMNS), st.sampled_from(EDGE_NUMBERS)),
                      min_size=1, max_size=8),
       params=st.dictionaries(st.sampled_from(EDGE_PARAMS), st.sampled_from(["1e12", "1e6", "1e-9", "0", "1"]),
                              max_size=3),
       objective=st.sampled_from(schema.OBJECTIVES), share=st.sampled_from(["0", "0.5", "1"]),
       guide=st.sampled_from(["", "guide_floor = 0\n", "guide_ceiling = 1e12\n"]))
@example(cells=[(0, "floor_price", "1e12"), (2, "ceiling_price", "1e12"), (2, "demand_mu", "1e12"),
                (0, "surplus_mu", "1e12")],
         params={"priority_weight_national_key": "1e12"}, objective="proceeds", share="0.5", guide="")
@example(cells=[(0, "plan_adjustable_mu", "1e12"), (2, "construction_headroom_mu", "0")],
         params={"plan_adjustment_penalty": "1e12", "min_lot_mu": "1e12"}, objective="volume", share="1", guide="")
@example(cells=[(2, "demand_mu", "1e12"), (2, "ceiling_price", "1e12")], params={}, objective="proceeds", share="0.5",
         guide="")  # found: dual simplex gave up ("Not Set"), then the tie-break pass dropped every trade
def test_fuzz_edge_numbers_still_solve(cells, params, objective, share, guide):
    df = pd.read_csv(io.StringIO(TINY_COUNTIES), dtype=str, keep_default_na=False)
    for c in MODEL_COLUMNS:
        if c not in df.columns:
            df[c] = ""
    for i, col, v in cells:
        df.loc[i, col] = v
    ints = {"max_partners_per_seller", "max_partners_per_buyer"}
    rules = {k: (str(int(float(v))) if k in ints and float(v) >= 1 else v) for k, v in params.items()
             if not (k in ints and float(v) < 1)}
    toml = ("[scenario]\nname = \"边界\"\n[pricing]\n" + guide + "[rules]\n"
            f"objective = \"{objective}\"\nallow_plan_adjustment = true\nmin_sale_share = {share}\n"
            + "".join(f"{k} = {v}\n" for k, v in rules.items()))
    run_files(counties=df.to_csv(index=False), toml=toml)


# --------------------------------------------------------------------------- random valid scenarios

money = st.integers(1, 8000).map(lambda v: v / 100)  # 0.01 .. 80 万元/亩
area = st.integers(1, 50_000).map(lambda v: v / 100)  # 0.01 .. 500 亩
grade = st.integers(1, 15)


def opt(strategy, p_none: float = 0.5):
    """None (blank cell) or a value."""
    return st.one_of(st.none(), strategy) if p_none else strategy


@st.composite
def valid_scenarios(draw):
    """Files of a valid scenario: (toml text, counties rows, pairs rows, relocation rows)."""
    ns, nb = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    counties = []
    for i in range(ns):
        counties.append({
            "code": f"S{i:02d}", "name": f"卖{i}县", "prefecture": "甲市",
            "poverty_class": draw(st.sampled_from(["national_key", "provincial", "国家级", "省定"])),
            "surplus_mu": draw(area), "reclaimed_quality_grade": draw(opt(grade)), "floor_price": draw(opt(money)),
            "plan_adjustable_mu": draw(st.one_of(st.none(), area, area)),
            # a seller may also want quota (role "both")
            "demand_mu": draw(st.one_of(st.none(), st.none(), st.none(), area)),
        })
    for j in range(nb):
        counties.append({
            "code": f"B{j:02d}", "name": f"买{j}区", "prefecture": "乙市", "poverty_class": "none",
            "demand_mu": draw(area), "budget_wan": draw(opt(st.integers(1, 20_000).map(float))),
            "construction_headroom_mu": draw(st.sampled_from([None, None, 0.0, 3.0, 10.0, 25.0, 80.0, 600.0])),
            "cultivated_headroom_mu": draw(opt(st.integers(0, 600).map(float))),
            "cultivated_share": draw(opt(st.integers(0, 100).map(lambda v: v / 100))),
            "occupied_quality_grade": draw(opt(grade)),
        })
    for c in counties:  # every county that wants quota needs a ceiling price
        if c.get("demand_mu"):
            c["ceiling_price"] = draw(money)
    if draw(st.booleans()):  # a county that is neither seller nor buyer, or an ineligible one with surplus
        counties.append({"code": "N00", "name": "旁观县", "poverty_class": "none",
                         "surplus_mu": draw(st.one_of(st.none(), area))})
    pricing = {"bargaining_weight": draw(st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]))}
    g_lo, g_hi = draw(opt(money, 0.6)), draw(opt(money, 0.6))
    if g_lo is not None and g_hi is not None and g_lo > g_hi:
        g_lo, g_hi = g_hi, g_lo
    if g_lo is not None:
        pricing["guide_floor"] = g_lo
    if g_hi is not None:
        pricing["guide_ceiling"] = g_hi
    by_code = {c["code"]: c for c in counties}
    sellers = [c["code"] for c in counties[:ns]]
    buyers = [c["code"] for c in counties if c.get("demand_mu")]
    pairs = []
    for s in sellers:
        for b in buyers:
            if s == b:
                continue
            kind = draw(st.sampled_from(["none"] * 5 + ["band", "agreed", "excluded"]))
            if kind == "none":
                continue
            p = {"seller_code": s, "buyer_code": b}
            if kind == "excluded":
                p["excluded"] = draw(st.sampled_from(["true", "是", "1", "x"]))
            elif kind == "band":
                p["floor_price"], p["ceiling_price"] = draw(opt(money)), draw(opt(money))
                if draw(st.booleans()):
                    p["excluded"] = "false"
            else:
                lo = max([by_code[s].get("floor_price") or 0.0] + ([g_lo] if g_lo is not None else []))
                hi = min([by_code[b]["ceiling_price"]] + ([g_hi] if g_hi is not None else []))
                if lo > hi:
                    continue
                u = draw(st.sampled_from([0.0, 0.3, 0.5, 1.0]))
                p["agreed_price"] = min(max(round(lo + u * (hi - lo), 2), lo), hi)
            pairs.append(p)
    rules = {
        "objective": draw(st.sampled_from(schema.OBJECTIVES)),
        "priority_weight_national_key": draw(st.sampled_from([1.0, 0.5, 2.0, 3.0])),
        "priority_weight_provincial": draw(st.sampled_from([1.0, 0.5, 1.5])),
        "quality_rule": draw(st.sampled_from(schema.QUALITY_RULES)),
        "allow_plan_adjustment": draw(st.booleans()),
        "plan_adjustment_penalty": draw(st.sampled_from([0.0, 0.5, 5.0])),
        "min_lot_mu": draw(st.sampled_from([0.0] * 4 + [5.0, 20.0, 40.0])),
        "max_partners_per_seller": draw(st.sampled_from([0] * 4 + [1, 2])),
        "max_partners_per_buyer": draw(st.sampled_from([0] * 4 + [1, 2])),
        "min_sale_share": draw(st.sampled_from([0.0] * 3 + [0.1, 0.3, 0.6])),
    }
    toml = "[scenario]\nname = \"随机情景\"\n[pricing]\n" + "".join(f"{k} = {v}\n" for k, v in pricing.items())
    toml += "[rules]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in rules.items())
    toml += "[proceeds]\n" + f"rule = \"{draw(st.sampled_from(schema.PROCEEDS_RULES))}\"\n"
    relocation = []
    for s in sellers:
        for g in range(draw(st.integers(0, 2))):
            relocation.append({"county_code": s, "group_id": f"{s}-{g}", "village": f"{g}村",
                               "resettlement_mode": draw(st.sampled_from(["centralized", "分散安置", "urban", "other"])),
                               "destination_code": draw(st.sampled_from(["", "", buyers[0], s])),
                               "households": draw(st.integers(0, 50)), "persons": draw(st.integers(0, 150)),
                               "reclaimed_mu": draw(st.integers(0, 300))})
    return toml, counties, pairs, relocation


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def load_valid(case, folder: Path):
    toml, counties, pairs, relocation = case
    write_scenario(folder, toml=toml, counties=counties, pairs=pairs or None, relocation=relocation or None)
    scn, problems = load_checked(folder)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    return scn


def check_against_independent(scn, result):
    """Every section-4 constraint holds and the objective is the independent optimum."""
    assert result.status == "optimal", result.message
    bad = violations(scn, result.pairings)
    assert bad == [], bad
    indep = solve_independent(scn)
    x, a, _ = plan_from_pairings(result.pairings)
    scale = max(1.0, abs(indep.objective))
    # With a minimum sale share the independent solve is lexicographic and lets its second stage exceed the least
    # shortfall by 1e-9 x (1 + total surplus) 亩, which it may turn into that much more objective.
    mk = market(scn)
    coef = float(np.max(np.abs(objective_coefficients(mk)))) if mk.pairs else 0.0
    slack = 2 * coef * 1e-9 * (1 + sum(v["surplus"] for v in mk.sellers.values())) if indep.shortfall > 0 else 0.0
    # the plan as printed states quota to 0.01 亩 (DESIGN 4): recomputed values carry that much rounding
    assert math.isclose(shortfall_of(scn, x), indep.shortfall, rel_tol=1e-6, abs_tol=0.01 * max(1, len(x))), \
        (shortfall_of(scn, x), indep.shortfall)
    assert math.isclose(result.totals["solver_objective"], indep.objective, rel_tol=1e-6,
                        abs_tol=1e-6 * scale + slack), (result.totals["solver_objective"], indep.objective)
    assert math.isclose(result.objective, indep.objective, rel_tol=1e-6,
                        abs_tol=1e-6 * scale + slack + printed_slack(scn, result.pairings)), (result.objective,
                                                                                          indep.objective)
    # the plan as exported (quotas to 0.01 亩) is worth the same, within that rounding
    assert math.isclose(objective_of(scn, x, a), indep.objective, rel_tol=1e-6,
                        abs_tol=printed_slack(scn, result.pairings)), (objective_of(scn, x, a), indep.objective)
    return indep


# Found by the deep run: 0.01 亩 at 0.01 万元/亩 with a 10 % minimum sale; the tie-break pass (nearest counties among
# equally good plans) kept only the minimum sale, 10 % of the optimum, within its objective row's scaled tolerance.
TINY_TIE_CASE = ('[pricing]\nbargaining_weight = 0.0\nguide_floor = 0.01\n[rules]\nmin_sale_share = 0.1\n',
                 [{"code": "S00", "name": "卖0县", "poverty_class": "national_key", "surplus_mu": 0.01},
                  {"code": "B00", "name": "买0区", "poverty_class": "none", "demand_mu": 0.01, "ceiling_price": 0.01},
                  {"code": "B01", "name": "买1区", "poverty_class": "none", "demand_mu": 0.01, "ceiling_price": 0.01}],
                 [], [])




def _case(toml: str, counties: list[dict], pairs: list[dict] = ()) -> tuple:
    """A valid_scenarios() value written by hand: names and prefectures filled in (sellers 甲市, buyers 乙市)."""
    rows = [{"name": c["code"], "prefecture": "甲市" if c["code"].startswith("S") else "乙市", **c} for c in counties]
    return toml, rows, list(pairs), []


def _sellers(*surplus, **kw) -> list[dict]:
    return [{"code": f"S{i:02d}", "poverty_class": "national_key", "surplus_mu": v, **kw.get(f"S{i:02d}", {})}
            for i, v in enumerate(surplus)]


def _buyers(*demand_ceiling) -> list[dict]:
    return [{"code": f"B{j:02d}", "poverty_class": "none", "demand_mu": d, "ceiling_price": c}
            for j, (d, c) in enumerate(demand_ceiling)]


# Found by the deep run after the first tie-break fix: the objective row's tolerance, relative to an objective made
# huge by the shortfall penalty, let the tie-break pass lose 38 % of the section-4 objective and overrun B03's demand
# by 6e-6 亩 (first case), or lose 87 % of it (second case).
TIE_CASE_SURPLUS = _case('[pricing]\nbargaining_weight = 0.0\nguide_ceiling = 0.6\n'
                         '[rules]\nobjective = "surplus"\nmin_sale_share = 0.6\n',
                         _sellers(0.02, 148.76, 11.68, 13.38, 500.0, 0.01, S04={"floor_price": 73.66})
                         + _buyers((0.01, 4.38), (0.01, 6.49), (370.46, 0.01), (0.01, 0.01)),
                         [{"seller_code": "S01", "buyer_code": "B00", "agreed_price": 0.0},
                          {"seller_code": "S01", "buyer_code": "B02", "excluded": "true"},
                          {"seller_code": "S01", "buyer_code": "B01"}, {"seller_code": "S01", "buyer_code": "B03"},
                          {"seller_code": "S02", "buyer_code": "B03"}, {"seller_code": "S04", "buyer_code": "B00"}])
TIE_CASE_TINY = _case('[pricing]\nbargaining_weight = 0.0\n[rules]\nobjective = "surplus"\nmin_sale_share = 0.1\n',
                      _sellers(0.01, 0.01, 0.01, 0.01, 346.54, 0.01, S04={"floor_price": 0.02})
                      + _buyers(*[(0.01, 0.01)] * 4))


@fuzz_settings(70)
@given(case=valid_scenarios())
@example(case=TINY_TIE_CASE)
@example(case=TIE_CASE_SURPLUS)
@example(case=TIE_CASE_TINY)
def test_random_valid_scenarios_highs(case):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        load_valid(case, folder)
        kind, (scn, result) = pipeline(folder, "highs", roundtrip=False)
    check_against_independent(scn, result)


@fuzz_settings(25)
@given(case=valid_scenarios())
def test_random_valid_scenarios_cbc(case):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        scn = load_valid(case, folder)
    result = solve(scn, "cbc", time_limit=30)
    check_against_independent(scn, result)


def test_random_valid_scenarios_cover_the_rules():
    """The strategy really produces integer models, shortfalls, plan adjustments, every objective and quality rule
    (a coverage check on a fixed sample, so a change to the strategy cannot silently make it trivial)."""
    seen = {"mip": 0, "short": 0, "adjust": 0, "agreed": 0, "excluded": 0, "objectives": set(), "quality": set()}

    @fuzz_settings(200)
    @given(case=valid_scenarios())
    def sample(case):
        with tempfile.TemporaryDirectory() as tmp:
            scn = load_valid(case, Path(tmp) / "s")
        indep = solve_independent(scn)
        seen["mip"] += indep.is_mip
        seen["short"] += indep.shortfall > 1e-6
        seen["adjust"] += any(v > 1e-6 for v in indep.a.values())
        seen["agreed"] += bool(scn.pairs["agreed_price"].notna().any())
        seen["excluded"] += bool(scn.pairs["excluded"].any())
        seen["objectives"].add(scn.param("rules", "objective"))
        seen["quality"].add(scn.param("rules", "quality_rule"))

    sample()
    assert seen["mip"] >= 10 and seen["short"] >= 3 and seen["adjust"] >= 2, seen
    assert seen["agreed"] >= 10 and seen["excluded"] >= 10, seen
    assert seen["objectives"] == set(schema.OBJECTIVES) and seen["quality"] == set(schema.QUALITY_RULES), seen


# --------------------------------------------------------------------------- regressions found by the fuzzing


def test_shadow_prices_when_no_limit_has_a_price():
    """Found by test_random_valid_scenarios_highs: with every price 0 (θ = 0, no floor) nothing is traded, no row has
    a non-zero dual, and shadow_prices compared an empty text column with numbers (TypeError under pandas 3)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scenario(Path(tmp) / "s", toml="[pricing]\nbargaining_weight = 0.0\n",
                                counties="code,name,poverty_class,surplus_mu,demand_mu,ceiling_price\n"
                                         "S00,卖,national_key,0.01,,\nB00,买,none,,0.01,0.01\n")
        kind, (scn, result) = pipeline(folder)
    assert result.status == "optimal" and result.objective == 0.0
    assert shadow_prices(scn, result).empty


@pytest.mark.parametrize("key,value", [("min_lot_mu", "1e20"), ("priority_weight_national_key", "1e308"),
                                       ("plan_adjustment_penalty", "-1e13"),
                                       ("max_partners_per_buyer", "10000000000000")])
def test_huge_parameter_is_refused_with_a_message(key, value):
    """Found by test_fuzz_toml_numbers: parameters had no size limit, so min_lot_mu = 1e20 (or a weight of 1e20) passed
    validation and the solve then failed ("HiGHS rejected the model"). Now refused like a cell above 1e12."""
    kind, problems = run_files(toml=TINY_TOML + f"{key} = {value}\n")
    assert kind == "invalid"
    assert [p.column for p in errors(problems)] == [f"rules.{key}"]
    assert "too large" in errors(problems)[0].message_en


def test_weight_times_price_beyond_the_solver_is_refused():
    """Found by test_fuzz_edge_numbers_still_solve: a weight of 1e12 and a price of 1e12, each accepted on its own,
    give an objective coefficient of 1e24, which HiGHS takes for infinite: the solve failed. Now a validation error
    naming the weight; a volume objective (no price in it) is not affected."""
    counties = TINY_COUNTIES.replace("101,丙区,乙市,none,,,,120,30,", "101,丙区,乙市,none,,,,120,1e12,")
    toml = TINY_TOML.replace("guide_ceiling = 60.0\n", "") + "priority_weight_national_key = 1e12\n"
    kind, problems = run_files(counties=counties, toml=toml)
    assert kind == "invalid"
    assert [p.column for p in errors(problems)] == ["rules.priority_weight_national_key"]
    kind, _ = run_files(counties=counties, toml=toml.replace('objective = "proceeds"', 'objective = "volume"'))
    assert kind == "result"


def test_formula_like_header_round_trips():
    """Found by test_fuzz_relocation_file: an unknown column named like a formula changed name on every save
    (planner/export.csv_bytes escaped header cells twice: '=1+1' was saved as "''=1+1", read back as "'=1+1").
    Fixed in export.py by its owner while this file was written."""
    relocation = TINY_RELOCATION.replace("reclaimed_mu\n", "reclaimed_mu,=1+1\n", 1)
    kind, (scn, _) = run_files(relocation=relocation)  # pipeline's round-trip check is the assertion
    assert "=1+1" in scn.relocation.columns


@pytest.mark.xfail(strict=True, reason="model.build ranks the min_sale shortfall with a finite penalty, 1e4 x (largest "
                                       "objective coefficient + plan penalty + 1); when one buyer's prices differ by "
                                       "more than about 1e4 x, selling 1 亩 more of a short seller costs more than "
                                       "that in objective, and the model keeps the shortfall. DESIGN 4 says 'above "
                                       "everything else' (a lexicographic solve would be exact). Not fixed here.")
def test_min_sale_shortfall_ranks_above_everything_with_extreme_price_ratios():
    """Known limit, found while reviewing what the random scenarios do not reach (their prices stay within 0.01-80,
    a ratio of 8,000): seller A sells to buyer X at 0.001 万元/亩, seller B at 60 (ratio 60,000), X's budget binds;
    with min_sale_share 0.1, B can reach its minimum only if A sells 6,000 亩 less (volume objective)."""
    from tests.independent import make_scenario, seller, buyer

    scn = make_scenario([seller("A", 10000, None), seller("B", 1, None, cls="provincial"),
                         buyer("X", 100000, 60, budget_wan=10)],
                        pairs=[{"seller_code": "A", "buyer_code": "X", "agreed_price": 0.001}],
                        objective="volume", min_sale_share=0.1, plan_adjustment_penalty=0.0)
    assert not errors(validate_scenario(scn))
    result = solve(scn)
    assert result.status == "optimal"
    assert violations(scn, result.pairings) == []
    indep = solve_independent(scn)
    assert indep.shortfall <= 1e-4  # B can sell its 0.1 亩
    assert result.totals["min_sale_shortfall_mu"] <= 1e-4, result.totals["min_sale_shortfall_mu"]


# --------------------------------------------------------------------------- issue 17: hostile files, refused early

def _zip_bytes(name: str, data: bytes, method=None) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method or zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def _timed_peak(fn):
    """(result, seconds, peak traced MB) of fn(): timed on its own, then run again under tracemalloc (which slows
    everything down) for the memory it takes."""
    import time
    import tracemalloc

    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return out, seconds, peak


def _limit_message(raw) -> str:
    assert raw.read_errors, "the file should have been refused"
    return " | ".join(e.message_en + " " + e.message_zh for _, e in raw.read_errors)


@pytest.mark.parametrize("lines", [b"\n", b",,,,\r\n"])
def test_zip_of_blank_lines_is_refused_at_once_with_little_memory(lines):
    """Issue 17 item 2: a 61 KB zip of 60 MB blank lines took the server to 4.9 GB for 50 s (every row was held).
    Now the member is read as a stream and refused after MAX_BLANK_ROWS empty lines."""
    from planner.uploads import raw_from_uploads

    payload = b"code,name,poverty_class\n" + lines * (60_000_000 // len(lines))
    data = _zip_bytes("counties.csv", payload)
    del payload
    assert len(data) < 200_000
    raw, seconds, peak_mb = _timed_peak(lambda: raw_from_uploads([("s.zip", data)]))
    assert "empty lines" in _limit_message(raw) and "空行" in _limit_message(raw)
    assert raw.tables["counties"] is None
    assert seconds < 1.0, seconds
    assert peak_mb < 50, peak_mb


def test_csv_of_blank_lines_is_refused_at_once():
    """A 20 MB CSV of blank lines took 11 s and 1.7 GB; as an upload, a table upload and a file in a folder."""
    from planner.uploads import raw_from_uploads, read_table_upload
    from planner.scenario import FileReadError

    data = b"seller_code,buyer_code\n" + b"\r\n" * 10_000_000
    raw, seconds, peak_mb = _timed_peak(lambda: raw_from_uploads([("pairs.csv", data)]))
    assert "empty lines" in _limit_message(raw) and seconds < 1.0 and peak_mb < 50, (seconds, peak_mb)
    with pytest.raises(FileReadError) as exc:
        read_table_upload("pairs.csv", data, "pairs")
    assert "empty lines" in exc.value.message_en
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scenario(Path(tmp) / "s", pairs=data)
        (scn, problems), seconds, peak_mb = _timed_peak(lambda: load_checked(folder))
    assert scn is None and seconds < 2.0 and peak_mb < 80, (seconds, peak_mb)
    assert [(p.file, "empty lines" in p.message_en) for p in errors(problems)] == [("pairs.csv", True)]


def test_tables_above_their_row_limit_are_refused_while_read(monkeypatch):
    """The row limits are stated per table, far above a national scenario, and a table above its limit is refused
    while it is read (the rows before are never all held). The test lowers the limit so that it runs fast."""
    from planner import scenario as scenario_module
    from planner.uploads import raw_from_uploads

    national = {"counties": 2_844, "lots": 10_000, "pairs": 800 // 5, "demand": 2_844 * 4, "payments": 3 * 10_000}
    for table, rows in national.items():
        assert scenario_module.MAX_ROWS[table] >= 5 * rows, table
    assert scenario_module.MAX_ROWS["pairs"] >= 100 * 100  # a band for every pair of a large province
    monkeypatch.setitem(scenario_module.MAX_ROWS, "counties", 3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_scenario(Path(tmp) / "s")
        scn, problems = load_checked(folder)
    assert scn is None
    (p,) = errors(problems)
    assert p.file == "counties.csv" and "Row 5" in p.message_en and "3 data rows" in p.message_en
    raw = raw_from_uploads([("counties.csv", TINY_COUNTIES.encode())])
    assert "3 data rows" in _limit_message(raw)
    monkeypatch.setitem(scenario_module.MAX_ROWS, "counties", 4)
    assert not raw_from_uploads([("counties.csv", TINY_COUNTIES.encode())]).read_errors


def test_workbook_with_a_far_away_cell_is_refused_at_once():
    """An .xlsx whose only data sits a million rows down (rows between are empty) was padded row by row."""
    import openpyxl

    from planner.uploads import raw_from_uploads

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "counties"
    sheet.append(["code", "name"])
    sheet.cell(row=1_000_000, column=1, value="001")
    buf = io.BytesIO()
    book.save(buf)
    raw, seconds, _ = _timed_peak(lambda: raw_from_uploads([("book.xlsx", buf.getvalue())]))
    assert "empty lines" in _limit_message(raw) and seconds < 2.0, seconds


def test_zip_with_an_unusual_compression_is_refused():
    import zipfile

    from planner.uploads import raw_from_uploads

    raw = raw_from_uploads([("s.zip", _zip_bytes("counties.csv", TINY_COUNTIES.encode(), zipfile.ZIP_BZIP2))])
    assert "compression" in _limit_message(raw)


def test_zip_member_larger_than_declared_is_refused():
    """The sizes a zip declares are checked first, and what comes out is counted again while it is read."""
    import struct
    import zipfile

    from planner.uploads import raw_from_uploads

    good = _zip_bytes("counties.csv", TINY_COUNTIES.encode(), zipfile.ZIP_STORED)
    # declare 10 bytes in the central directory (the local header keeps the real size: zipfile reads the former)
    cd = good.rindex(b"PK\x01\x02")
    lied = bytearray(good)
    struct.pack_into("<I", lied, cd + 24, 10)
    raw = raw_from_uploads([("s.zip", bytes(lied))])
    assert raw.read_errors and raw.tables["counties"] is None


def _deep_toml(depth: int = 5_000) -> str:
    return TINY_TOML + "[x]\ny = " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("depth", [30, 5_000])
def test_deeply_nested_toml_is_a_validation_problem(depth):
    """Issue 17 item 3: `x = [[[[…]]]]` (11 KB) raised RecursionError: an error box in the app, 'Unexpected error
    while reading' in `validate`. Now a problem naming scenario.toml, in the folder, the upload and the store."""
    from planner.store import ScenarioStore
    from planner.uploads import raw_from_uploads

    kind, problems = run_files(toml=_deep_toml(depth))  # pipeline: no "Unexpected error" among the problems
    assert kind == "invalid"
    assert [(p.file, "nests deeper" in p.message_en) for p in errors(problems)] == [("scenario.toml", True)]
    raw = raw_from_uploads([("scenario.toml", _deep_toml(depth).encode())])
    assert "nests deeper" in _limit_message(raw)
    with tempfile.TemporaryDirectory() as tmp:
        write_scenario(Path(tmp) / "store" / "deep", toml=_deep_toml(depth))
        assert [i.slug for i in ScenarioStore(Path(tmp) / "store").list()] == ["deep"]


def test_validate_command_reports_deep_toml_without_a_traceback(tmp_path):
    import subprocess
    import sys

    folder = write_scenario(tmp_path / "s", toml=_deep_toml())
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "planner", "validate", str(folder)], capture_output=True, text=True,
                         cwd=root, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Unexpected" not in out.stdout + out.stderr
    assert "scenario.toml" in out.stdout


@pytest.mark.parametrize("cell", ["1.234,5", "12,5", "1_000", "1,23", "1,2345", "1.234.567,8", "12,5e3", "1，5"])
def test_ambiguous_numbers_are_refused_naming_the_cell(cell):
    """Issue 17 item 4: `1.234,5` read as 1.2345, `12,5` as 125, `1_000` as 1000, without a word."""
    counties = TINY_COUNTIES.replace("002,乙县,甲市,provincial,50,", f'002,乙县,甲市,provincial,"{cell}",')
    kind, problems = run_files(counties=counties)
    assert kind == "invalid"
    assert [(p.file, p.row, p.column, p.value) for p in errors(problems)] == [("counties.csv", 3, "surplus_mu", cell)]
    assert "Ambiguous number" in errors(problems)[0].message_en and "歧义" in errors(problems)[0].message_zh


@pytest.mark.parametrize("cell,value", [("1,234.5", 1234.5), ("1,234", 1234.0), ("12,345,678", 12345678.0),
                                        ("1，200", 1200.0), ("-1,000.25", -1000.25), ("50", 50.0)])
def test_unambiguous_thousands_separators_are_read(cell, value):
    from planner.csvio import parse_number

    assert parse_number(cell) == value
    counties = TINY_COUNTIES.replace("002,乙县,甲市,provincial,50,", f'002,乙县,甲市,provincial,"{cell}",')
    if value > 0:
        kind, (scn, _) = run_files(counties=counties)
        assert scn.counties.loc[1, "surplus_mu"] == value


def test_one_number_parser():
    """The scenario's cell parser is planner.csvio.parse_number (one reading of a number everywhere)."""
    from planner import csvio, scenario

    assert scenario.parse_number is csvio.parse_number
