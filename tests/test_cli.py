"""The command line (DESIGN section 5), run as a user would: `python -m planner ...` in a subprocess."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BASELINE, ROOT, TINY_COUNTIES, TINY_OBJECTIVE, TINY_RELOCATION, write_scenario
from planner import __main__ as cli
from planner.validate import errors, load_checked

PAIRING_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu", "price_wan_per_mu",
                   "amount_wan", "plan_adjustment_mu"]
SUMMARY_KEYS = {"status", "objective", "totals", "solver", "seconds"}
HAS_PROCEEDS = (ROOT / "planner" / "proceeds.py").exists()


def run(*args, env_extra=None, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONIOENCODING", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "planner", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", env=env, timeout=timeout)


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stdout + proc.stderr


def read_csv(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"{path.name} must start with a UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


@pytest.fixture(scope="module")
def baseline_highs(tmp_path_factory):
    out = tmp_path_factory.mktemp("highs")
    return run("solve", BASELINE, "--out", out), out


@pytest.fixture(scope="module")
def baseline_cbc(tmp_path_factory):
    out = tmp_path_factory.mktemp("cbc")
    return run("solve", BASELINE, "--out", out, "--solver", "cbc", "--time-limit", "60"), out


# --------------------------------------------------------------------------- validate (subprocess)

def _invalid_folder(tmp_path) -> Path:
    counties = TINY_COUNTIES.replace("001,甲县,甲市,national_key,100,5,",
                                     "001,甲县,甲市,rich,-100,16,").replace(",40,20,600", ",40,,600")
    return write_scenario(tmp_path / "bad", toml="[pricing]\nbargaining_weight = 2\n", counties=counties,
                          pairs="seller_code,buyer_code,agreed_price\n002,999,5\n",
                          relocation=b"PK\x03\x04binary")


@pytest.fixture(scope="module")
def invalid_folder(tmp_path_factory):
    return _invalid_folder(tmp_path_factory.mktemp("invalid"))


def test_validate_baseline_exit_0():
    proc = run("validate", BASELINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VALID" in proc.stdout and "INVALID" not in proc.stdout
    no_traceback(proc)


def test_validate_invalid_exit_2_and_every_problem_printed(invalid_folder):
    problems = errors(load_checked(invalid_folder)[1])
    assert len(problems) >= 7
    proc = run("validate", invalid_folder)
    assert proc.returncode == 2
    no_traceback(proc)
    for p in problems:
        assert p.text("en") in proc.stdout
        assert p.text("zh") in proc.stdout
    assert f"INVALID: {len(problems)} error(s)" in proc.stdout
    assert "counties.csv row 2 [poverty_class]" in proc.stdout  # file, spreadsheet row, column


def test_validate_on_a_console_that_cannot_print_chinese(invalid_folder):
    # e.g. output redirected on a non-Chinese Windows: the messages must not become a UnicodeEncodeError traceback
    proc = run("validate", invalid_folder, env_extra={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 2
    no_traceback(proc)
    assert "counties.csv row 2 [poverty_class]" in proc.stdout


# --------------------------------------------------------------------------- solve (subprocess)

def test_solve_invalid_exit_2_writes_nothing(invalid_folder, tmp_path):
    problems = errors(load_checked(invalid_folder)[1])
    out = tmp_path / "out"
    proc = run("solve", invalid_folder, "--out", out)
    assert proc.returncode == 2
    no_traceback(proc)
    for p in problems:
        assert p.text("en") in proc.stderr
    assert not out.exists()


def test_solve_baseline_writes_pairings(baseline_highs):
    proc, out = baseline_highs
    assert proc.returncode == 0, proc.stdout + proc.stderr
    no_traceback(proc)
    rows = read_csv(out / "pairings.csv")
    assert rows, "the baseline moves quota"
    assert set(PAIRING_COLUMNS) <= set(rows[0])
    scn, _ = load_checked(BASELINE)
    counties = scn.counties.set_index("code")
    sellers, buyers = set(scn.seller_codes()), set(scn.buyer_codes())
    sold: dict[str, float] = {}
    bought: dict[str, float] = {}
    for r in rows:
        q, price, amount = float(r["quota_mu"]), float(r["price_wan_per_mu"]), float(r["amount_wan"])
        assert q > 0
        assert amount == pytest.approx(q * price, rel=1e-6, abs=1e-6)
        assert float(r["plan_adjustment_mu"]) >= 0
        assert r["seller_code"] in sellers and r["buyer_code"] in buyers
        assert r["seller_name"] == counties.loc[r["seller_code"], "name"]
        assert r["buyer_name"] == counties.loc[r["buyer_code"], "name"]
        sold[r["seller_code"]] = sold.get(r["seller_code"], 0) + q
        bought[r["buyer_code"]] = bought.get(r["buyer_code"], 0) + q
    for code, q in sold.items():
        assert q <= counties.loc[code, "surplus_mu"] + 1e-6
    for code, q in bought.items():
        assert q <= counties.loc[code, "demand_mu"] + 1e-6
    # one row per pair and year (DESIGN 5: the baseline has a horizon)
    assert len({(r["seller_code"], r["buyer_code"], r["year"]) for r in rows}) == len(rows)


def test_solve_baseline_writes_report_and_agreement_documents(baseline_highs):
    """DESIGN section 5: report.docx (the plan for people) and one agreements/*.docx per pairing."""
    import docx

    proc, out = baseline_highs
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = read_csv(out / "pairings.csv")
    report = docx.Document(str(out / "report.docx"))
    body = "\n".join(p.text for p in report.paragraphs)
    cells = {c.text for t in report.tables for r in t.rows for c in r.cells}
    scn, _ = load_checked(BASELINE)
    assert scn.name in body
    assert {r["seller_name"] for r in rows} <= cells and {r["buyer_name"] for r in rows} <= cells
    agreements = sorted((out / "agreements").glob("*.docx"))
    assert len(agreements) == len(rows)
    first = docx.Document(str(agreements[0]))
    text = "\n".join(p.text for p in first.paragraphs)
    assert rows[0]["seller_name"] in text and rows[0]["buyer_name"] in text
    # issue 11: both grades and the quality check, signature lines, a Beijing date, the plan's check code; the
    # pairings carry the deal flag and the grades; no wrong word anywhere (the policy's title quoted as it is)
    assert {"deal", "reclaimed_grade", "occupied_grade", "quality_check"} <= set(rows[0])
    for needle in ("复垦耕地质量等别", "建新占用耕地等别", "质量核验", "方案校验码", "法定代表人或委托代理人（签字）："):
        assert needle in text, needle
    assert re.search(r"生成日期：\d{4}年\d{1,2}月\d{1,2}日", text)
    assert "方案校验码" in body and re.search(r"生成日期 \d{4}年\d{1,2}月\d{1,2}日", body)
    wrong = re.compile("出让县|购入|结余|国土资源|农户资金池|农户收益|审计")
    for path in [out / "report.docx", *agreements]:
        d = docx.Document(str(path))
        words = "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])
        assert not wrong.findall(words), (path.name, wrong.findall(words))


def test_solve_baseline_writes_summary(baseline_highs):
    _, out = baseline_highs
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "optimal"
    assert summary["solver"] == "highs"
    assert summary["seconds"] >= 0
    rows = read_csv(out / "pairings.csv")
    totals = summary["totals"]
    assert totals["quota_matched_mu"] == pytest.approx(sum(float(r["quota_mu"]) for r in rows), rel=1e-6)
    assert totals["proceeds_wan"] == pytest.approx(sum(float(r["amount_wan"]) for r in rows), rel=1e-6)
    # objective "proceeds" with unit priority weights and no plan adjustment: objective = proceeds
    assert summary["objective"] == pytest.approx(totals["proceeds_wan"], rel=1e-6)


def test_solve_baseline_writes_county_report(baseline_highs):
    _, out = baseline_highs
    rows = read_csv(out / "counties.csv")
    assert len(rows) == 60
    for col in ("code", "name", "sold_mu", "unsold_mu", "bought_mu", "unmet_mu"):
        assert col in rows[0], rows[0].keys()
    assert any(c.startswith("reason") for c in rows[0])
    pairings = read_csv(out / "pairings.csv")
    by_code = {r["code"]: r for r in rows}
    for code in {r["seller_code"] for r in pairings}:
        sold = sum(float(p["quota_mu"]) for p in pairings if p["seller_code"] == code)
        assert float(by_code[code]["sold_mu"]) == pytest.approx(sold, rel=1e-6)


def test_solve_baseline_proceeds_file(baseline_highs):
    _, out = baseline_highs
    if not HAS_PROCEEDS:
        pytest.skip("planner/proceeds.py is not written yet")
    rows = read_csv(out / "proceeds.csv")
    scn, _ = load_checked(BASELINE)
    assert len(rows) == len(scn.relocation)
    for col in ("county_code", "group_id", "resettlement_mode", "destination_code", "persons", "households",
                "reclaimed_mu", "household_wan", "collective_wan", "per_person_wan"):
        assert col in rows[0]


def test_solve_with_cbc_gives_the_same_objective(baseline_highs, baseline_cbc):
    proc, out = baseline_cbc
    assert proc.returncode == 0, proc.stdout + proc.stderr
    no_traceback(proc)
    cbc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    highs = json.loads((baseline_highs[1] / "summary.json").read_text(encoding="utf-8"))
    assert cbc["solver"] == "cbc" and cbc["status"] == "optimal"
    assert cbc["time_limit"] == 60
    assert cbc["objective"] == pytest.approx(highs["objective"], rel=1e-6)
    assert all(float(r["quota_mu"]) > 0 for r in read_csv(out / "pairings.csv"))


def _check_tiny_output(out: Path, solver: str) -> None:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal" and summary["solver"] == solver
    assert summary["objective"] == pytest.approx(TINY_OBJECTIVE, rel=1e-6)
    rows = read_csv(out / "pairings.csv")
    assert all(float(r["quota_mu"]) > 0 for r in rows)
    sold, bought = {}, {}
    for r in rows:
        sold[r["seller_code"]] = sold.get(r["seller_code"], 0) + float(r["quota_mu"])
        bought[r["buyer_code"]] = bought.get(r["buyer_code"], 0) + float(r["quota_mu"])
    # hand-computed optimum; codes keep their leading zeros through the whole pipeline
    assert sold == pytest.approx({"001": 100.0, "002": 50.0})
    assert bought == pytest.approx({"101": 120.0, "102": 30.0})
    assert not (out / "proceeds.csv").exists()  # no relocation data, no proceeds file


def test_solve_tiny_known_optimum(tmp_path):
    folder = write_scenario(tmp_path / "tiny")
    out = tmp_path / "out"
    out.mkdir()
    (out / "pairings.csv").write_text("stale", encoding="utf-8")  # an earlier run's output is replaced
    proc = run("solve", folder, "--out", out, "--time-limit", "30")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    no_traceback(proc)
    _check_tiny_output(out, "highs")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["time_limit"] == 30


# --------------------------------------------------------------------------- the same entry point, in process (fast)

def test_main_tiny_with_cbc_and_nested_out(tmp_path, capsys):
    out = tmp_path / "a" / "b"  # the output folder is created, parents too
    assert cli.main(["solve", str(write_scenario(tmp_path / "tiny")), "--out", str(out), "--solver", "cbc",
                     "--time-limit", "20"]) == 0
    _check_tiny_output(out, "cbc")
    assert "optimal" in capsys.readouterr().out


def test_main_validate_missing_folder(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "does-not-exist")]) == 2
    printed = capsys.readouterr().out
    assert "does not exist" in printed and "INVALID" in printed


def test_main_validate_garbage(tmp_path, capsys):
    junk = bytes(range(1, 256)) * 4
    folder = write_scenario(tmp_path / "junk", toml=junk, counties=junk, pairs=junk, relocation=junk)
    assert cli.main(["validate", str(folder)]) == 2
    printed = capsys.readouterr().out
    assert "scenario.toml" in printed and "counties.csv" in printed


def test_main_validate_gbk_folder(tmp_path, capsys):
    folder = write_scenario(tmp_path / "gbk", counties=TINY_COUNTIES.replace("national_key", "国家扶贫开发重点县"),
                            relocation=TINY_RELOCATION.replace("centralized", "集中安置"), encoding="gbk")
    assert cli.main(["validate", str(folder)]) == 0, capsys.readouterr().out


def test_main_validate_warnings_only_is_valid(tmp_path, capsys):
    folder = write_scenario(tmp_path / "w", toml='[scenario]\nname = "w"\n[colour]\nred = 1\n')
    assert cli.main(["validate", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "WARNING" in printed and "[colour]" in printed and "VALID" in printed


@pytest.mark.parametrize("argv", [
    ["solve", str(BASELINE), "--out", "unused", "--solver", "gurobi"],
    ["solve", str(BASELINE), "--out", "unused", "--time-limit", "soon"],
    ["solve", str(BASELINE)],  # --out is required
    ["frobnicate", str(BASELINE)],
])
def test_main_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err
    assert not (ROOT / "unused").exists()


def test_main_out_is_a_file(tmp_path, capsys):
    (tmp_path / "occupied").write_text("x")
    code = cli.main(["solve", str(write_scenario(tmp_path / "tiny")), "--out", str(tmp_path / "occupied")])
    assert code == 1
    assert "occupied" in capsys.readouterr().err
    assert (tmp_path / "occupied").read_text() == "x"


# --------------------------------------------------------------------------- validate: deals, lots, unknown columns (issues 11, 12)

DEAL_TOML = "[scenario]\nname = \"协议\"\n[rules]\nquality_rule = \"aggregate\"\n[horizon]\nstart_year = 2018\n"


def _ledger_folder(tmp_path, pairs: str) -> Path:
    counties = TINY_COUNTIES.replace("floor_price", "price_min", 1)  # a misspelt header
    folder = write_scenario(tmp_path / "ledger", toml=DEAL_TOML, counties=counties, pairs=pairs)
    (folder / "lots.csv").write_text("lot_id,county_code,status,ready_year,area_mu,used_locally_mu\n"
                                     "L1,001,已确认备案,2018,100,\nL2,002,confirmed,2019,50,60\n", encoding="utf-8")
    return folder


def test_validate_cli_reports_deal_caps_and_lots_in_both_languages(tmp_path):
    pairs = "seller_code,buyer_code,agreed_price,agreed_mu,status,year\n001,102,15,60,已签订,2018\n"
    proc = run("validate", _ledger_folder(tmp_path, pairs))
    no_traceback(proc)
    assert proc.returncode == 2, proc.stdout
    out = proc.stdout
    assert "INVALID" in out
    # the deal 001->102 (60 亩) is more than 丁区 wants (40 亩): named with the cap, in Chinese and English
    assert "已签协议超出" in out and "Signed deals exceed the demand of 丁区 (102)" in out and "001→102" in out
    assert "lots.csv" in out and "净指标为负" in out and "Negative net quota" in out  # L2: 50 − 60
    assert "price_min 未识别，是否应为 floor_price（最低价）？" in out
    assert "did you mean floor_price" in out
    # missing grades under the aggregate rule: the buyers have no occupied grade
    assert "occupied_quality_grade" in out


def test_validate_cli_deal_that_fits_is_valid_with_warnings(tmp_path):
    pairs = "seller_code,buyer_code,agreed_price,agreed_mu,status,year\n001,101,25,60,filed,2018\n"
    folder = _ledger_folder(tmp_path, pairs)
    lots = (folder / "lots.csv").read_text(encoding="utf-8").replace("2019,50,60", "2019,50,")
    (folder / "lots.csv").write_text(lots, encoding="utf-8")
    proc = run("validate", folder)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout
    assert "VALID" in proc.stdout and "WARNING" in proc.stdout and "price_min" in proc.stdout


def test_the_report_carries_the_map_drawn_beside_and_leaves_no_temporary_file(baseline_highs, tmp_path):
    """The map and the workbook are made by forked processes (planner/export/beside.py): the report still has its
    map, the workbook is there, and the map's temporary PNG is gone; --no-map leaves the map out."""
    import docx
    import tempfile

    proc, out = baseline_highs
    assert proc.returncode == 0, proc.stderr
    assert len(docx.Document(str(out / "report.docx")).inline_shapes) == 1
    assert (out / "workbook.xlsx").stat().st_size > 10_000
    assert not list(Path(tempfile.gettempdir()).glob("planner-map-*.png"))
    plain = run("solve", BASELINE, "--out", tmp_path / "plain", "--no-map")
    assert plain.returncode == 0, plain.stderr
    assert not docx.Document(str(tmp_path / "plain" / "report.docx")).inline_shapes


# --------------------------------------------------------------------------- progress of a long solve

class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _progress_output(tty: bool, gap, lang="en") -> str:
    import time

    stream = _Stream(tty)
    progress = cli._SolveProgress(lang, 60.0, stream=stream)
    progress.QUIET_S, progress.every_s = 0.0, 0.02
    progress(1.0, gap)  # the search has reported before the first line is due
    with progress:
        time.sleep(0.2)
    return stream.getvalue()


def test_a_long_solve_says_what_it_is_doing_and_how_far_the_integer_search_is():
    text = _progress_output(tty=False, gap=0.0123)
    lines = text.splitlines()
    assert len(lines) >= 2 and all(line.startswith("Searching for a better integer plan") for line in lines)
    assert "within 1.23 %" in lines[-1] and "at most 60 s" in lines[-1]
    assert "秒" in _progress_output(tty=False, gap=None, lang="zh")  # an LP (no gap): the seconds only, in Chinese
    assert _progress_output(tty=False, gap=None).startswith("Solving… ")


def test_progress_on_a_terminal_is_one_updating_line_that_ends_with_a_newline():
    text = _progress_output(tty=True, gap=None)
    assert text.startswith("\r") and text.endswith("\n") and text.count("\n") == 1 and text.count("\r") >= 2


def test_a_quick_solve_prints_no_progress(baseline_highs):
    proc, _ = baseline_highs
    assert "正在求解" not in proc.stderr and "Solving" not in proc.stderr
