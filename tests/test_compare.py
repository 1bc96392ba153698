"""Comparing scenarios (issue 5): inputs diff, result diffs, and `python -m planner compare`."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.__main__ import main as cli_main
from planner.compare import KPI_NAMES, compare, diff_inputs
from planner.model import solve
from planner.proceeds import allocate
from planner.scenario import Scenario, save_scenario
from planner.validate import errors, load_checked

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "jilin-baseline"
INPUT_COLUMNS = ["scenario", "table", "key", "column", "change", "base", "other"]
CLI_FILES = ["kpis.csv", "inputs_diff.csv", "pairings_diff.csv", "counties_diff.csv", "benefit_diff.csv"]


@pytest.fixture(scope="module")
def base():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    result = solve(scn)
    assert result.status == "optimal"
    return scn, result


def solved(scn: Scenario):
    result = solve(scn)
    assert result.status == "optimal"
    return result


def only_row(df: pd.DataFrame) -> dict:
    assert len(df) == 1, df.to_string()
    return df.iloc[0].to_dict()


# --------------------------------------------------------------------------- a scenario against itself

def test_scenario_against_itself_shows_no_difference(base):
    scn, result = base
    again = solved(scn.copy())  # solved a second time, not the same result object
    cmp = compare([scn, scn.copy()], [result, again], ["base", "same"])
    assert cmp.is_empty()
    assert cmp.inputs.empty and list(cmp.inputs.columns) == INPUT_COLUMNS
    assert cmp.pairings.empty
    assert list(cmp.kpis["kpi"]) == list(KPI_NAMES)
    np.testing.assert_allclose(cmp.kpis["base"].to_numpy(float), cmp.kpis["same"].to_numpy(float), rtol=1e-9)
    assert (cmp.counties["change:same"].abs() < 1e-6).all()
    assert len(cmp.counties) == (result.counties["proceeds_wan"] != 0).sum()
    np.testing.assert_allclose(cmp.benefit["base"].to_numpy(float), cmp.benefit["same"].to_numpy(float))
    assert diff_inputs(scn, scn.copy()).empty


def test_same_names_are_made_unique(base):
    scn, result = base
    cmp = compare([scn, scn], [result, result])
    assert len(set(cmp.names)) == 2 and all(n.startswith(scn.name) for n in cmp.names)
    assert all(n in cmp.kpis.columns for n in cmp.names)


def test_compare_needs_two_scenarios_with_results(base):
    scn, result = base
    with pytest.raises(ValueError):
        compare([scn], [result])
    with pytest.raises(ValueError):
        compare([scn, scn], [result])


def test_absent_parameter_equals_its_default(base):
    scn, _ = base
    assert scn.param("rules", "max_partners_per_seller") == 0
    assert diff_inputs(scn.with_param("rules", "max_partners_per_seller", None), scn).empty
    assert diff_inputs(scn.with_param("rules", "min_lot_mu", 0.0), scn.with_param("rules", "min_lot_mu", 0)).empty


# --------------------------------------------------------------------------- a known change shows exactly that change

def test_bargaining_weight_change(base):
    scn, result = base
    other = scn.with_param("pricing", "bargaining_weight", 0.7)
    r2 = solved(other)
    cmp = compare([scn, other], [result, r2], ["base", "θ=0.7"])
    assert only_row(cmp.inputs) == {"scenario": "θ=0.7", "table": "scenario.toml", "key": "",
                                    "column": "pricing.bargaining_weight", "change": "changed", "base": "0.5",
                                    "other": "0.7"}
    k = cmp.kpis.set_index("kpi")
    # a larger θ moves every negotiated price towards the buyer's ceiling: more money to the poverty counties
    assert k.loc["proceeds_wan", "θ=0.7"] > k.loc["proceeds_wan", "base"]
    assert k.loc["mean_price_wan_per_mu", "θ=0.7"] > k.loc["mean_price_wan_per_mu", "base"]
    assert k.loc["mean_per_person_wan", "θ=0.7"] > k.loc["mean_per_person_wan", "base"]
    assert k.loc["proceeds_wan", "θ=0.7"] == pytest.approx(r2.totals["proceeds_wan"])
    # pairings: every pair in both plans is priced at least as high
    p = cmp.pairings
    assert not p.empty and set(p["change"]) <= {"added", "removed", "changed", "price_changed"}
    both = p.dropna(subset=["price_wan_per_mu_base", "price_wan_per_mu_other"])
    assert (both["price_wan_per_mu_other"] >= both["price_wan_per_mu_base"] - 1e-9).all()
    pc = p[p["change"] == "price_changed"]
    assert len(pc) > 0 and (pc["quota_change_mu"].abs() < 1e-6).all()
    assert (pc["price_wan_per_mu_other"] > pc["price_wan_per_mu_base"]).all()
    # agreed prices do not move
    agreed = scn.pairs[scn.pairs["agreed_price"].notna()]
    for s, b in zip(agreed["seller_code"], agreed["buyer_code"]):
        rows = p[(p["seller_code"] == s) & (p["buyer_code"] == b) & (p["change"] == "price_changed")]
        assert rows.empty
    # per-county proceeds change is the difference of the two results, and adds up to the KPI change
    c = cmp.counties.set_index("code")
    for code, row in r2.counties.set_index("code").iterrows():
        if code in c.index:
            assert c.loc[code, "change:θ=0.7"] == pytest.approx(
                row["proceeds_wan"] - result.counties.set_index("code").loc[code, "proceeds_wan"], abs=1e-6)
    assert c["change:θ=0.7"].sum() == pytest.approx(k.loc["proceeds_wan", "θ=0.7"] - k.loc["proceeds_wan", "base"],
                                                    abs=1e-4)
    # per-person benefit per county is what the proceeds allocation of each plan gives
    ben = cmp.benefit.set_index("county_code")
    for name, s, r in (("base", scn, result), ("θ=0.7", other, r2)):
        expected = allocate(s, r.pairings).counties.set_index("county_code")["per_person_wan"]
        np.testing.assert_allclose(ben[name].reindex(expected.index).to_numpy(float), expected.to_numpy(float))
    assert (ben["θ=0.7"] != ben["base"]).any()


def test_budget_doubled(base):
    scn, result = base
    other = scn.copy()
    c = result.constraints
    code = c[(c["kind"] == "budget") & c["binding"]]["county_code"].iloc[0]  # a buyer whose budget binds
    paid = result.counties.set_index("code").loc[code, "paid_wan"]
    budget = scn.counties.set_index("code").loc[code, "budget_wan"]
    # used up to what quota stated in 0.01 亩 can reach: less than 0.01 亩 at the dearest price is left
    assert budget - 0.01 * result.pairings["price_wan_per_mu"].max() <= paid <= budget
    other.counties.loc[other.counties["code"] == code, "budget_wan"] = 2 * budget
    r2 = solved(other)
    cmp = compare([scn, other], [result, r2], ["base", "budget×2"])
    assert only_row(cmp.inputs) == {"scenario": "budget×2", "table": "counties", "key": code,
                                    "column": "budget_wan", "change": "changed", "base": f"{budget:.0f}",
                                    "other": f"{2 * budget:.0f}"}
    k = cmp.kpis.set_index("kpi")
    # relaxing a binding budget cannot lower the optimal proceeds
    assert k.loc["proceeds_wan", "budget×2"] >= k.loc["proceeds_wan", "base"] - 1e-6
    assert r2.counties.set_index("code").loc[code, "bought_mu"] >= \
        result.counties.set_index("code").loc[code, "bought_mu"] - 1e-6
    assert not cmp.pairings.empty
    assert code in set(cmp.pairings["buyer_code"])
    # every changed pairing's quota change is other − base
    p = cmp.pairings
    qa, qb = p["quota_mu_base"].fillna(0), p["quota_mu_other"].fillna(0)
    np.testing.assert_allclose(p["quota_change_mu"], qb - qa)
    assert set(p.loc[p["quota_mu_base"].isna(), "change"]) <= {"added"}
    assert set(p.loc[p["quota_mu_other"].isna(), "change"]) <= {"removed"}


def test_row_added_to_pairs_excluding_a_used_pair(base):
    scn, result = base
    # the largest pairing that has no override row yet (which one depends on the plan, not on this test)
    overridden = set(zip(scn.pairs["seller_code"], scn.pairs["buyer_code"]))
    free = result.pairings[[(s, b) not in overridden for s, b in zip(result.pairings["seller_code"],
                                                                       result.pairings["buyer_code"])]]
    top = free.sort_values("quota_mu", ascending=False).iloc[0]
    seller, buyer = top["seller_code"], top["buyer_code"]
    used = result.pairings[(result.pairings["seller_code"] == seller) & (result.pairings["buyer_code"] == buyer)]
    assert len(used) == 1 and used["quota_mu"].iloc[0] > 0
    new_row = pd.DataFrame([{"seller_code": seller, "buyer_code": buyer, "excluded": True}])
    pairs = pd.concat([scn.pairs, new_row], ignore_index=True)
    other = Scenario(scn.settings, scn.counties, pairs, scn.relocation)
    r2 = solved(other)
    cmp = compare([scn, other], [result, r2], ["base", "excl"])
    row = only_row(cmp.inputs)
    assert row == {"scenario": "excl", "table": "pairs", "key": f"{seller}/{buyer}", "column": "", "change": "added",
                   "base": "", "other": ""}
    p = cmp.pairings.set_index(["seller_code", "buyer_code"])
    assert p.loc[(seller, buyer), "change"] == "removed"
    assert p.loc[(seller, buyer), "quota_mu_base"] == pytest.approx(used["quota_mu"].iloc[0])
    assert p.loc[(seller, buyer), "quota_change_mu"] == pytest.approx(-used["quota_mu"].iloc[0])
    k = cmp.kpis.set_index("kpi")
    assert k.loc["proceeds_wan", "excl"] <= k.loc["proceeds_wan", "base"] + 1e-6  # a tighter problem
    # and the reverse comparison shows the row as removed
    back = diff_inputs(other, scn, "back")
    assert only_row(back)["change"] == "removed" and only_row(back)["key"] == f"{seller}/{buyer}"


def test_cell_and_row_changes_in_relocation(base):
    scn, _ = base
    other = scn.copy()
    other.relocation.loc[0, "persons"] = other.relocation.loc[0, "persons"] + 5
    dropped = other.relocation.iloc[-1]
    other.relocation = other.relocation.iloc[:-1].reset_index(drop=True)
    d = diff_inputs(scn, other, "x")
    assert len(d) == 2, d.to_string()
    changed = only_row(d[d["change"] == "changed"])
    assert changed["table"] == "relocation" and changed["column"] == "persons"
    assert changed["key"] == f"{scn.relocation.loc[0, 'county_code']}/{scn.relocation.loc[0, 'group_id']}"
    assert float(changed["other"]) - float(changed["base"]) == 5
    removed = only_row(d[d["change"] == "removed"])
    assert removed["table"] == "relocation" and removed["key"] == f"{dropped['county_code']}/{dropped['group_id']}"


def test_three_scenarios_are_each_compared_with_the_first(base):
    scn, result = base
    a = scn.with_param("pricing", "bargaining_weight", 0.7)
    b = scn.with_param("pricing", "guide_floor", 15.0)
    cmp = compare([scn, a, b], [result, solved(a), solved(b)], ["base", "a", "b"])
    assert sorted(cmp.inputs["scenario"]) == ["a", "b"]
    assert set(cmp.inputs["column"]) == {"pricing.bargaining_weight", "pricing.guide_floor"}
    assert only_row(cmp.inputs[cmp.inputs["scenario"] == "b"])["base"] == "10"
    assert {"change:a", "change:b"} <= set(cmp.counties.columns)
    assert list(cmp.kpis.columns[-3:]) == ["base", "a", "b"]


def test_scenario_without_relocation_data(base):
    scn, result = base
    other = Scenario(scn.settings, **{**scn.tables(), "relocation": scn.relocation.iloc[0:0]})
    cmp = compare([scn, other], [result, solved(other)], ["base", "none"])
    k = cmp.kpis.set_index("kpi")
    assert np.isnan(k.loc["mean_per_person_wan", "none"]) and k.loc["mean_per_person_wan", "base"] > 0
    assert set(cmp.inputs["change"]) == {"removed"} and set(cmp.inputs["table"]) == {"relocation"}
    assert len(cmp.inputs) == len(scn.relocation)
    assert cmp.pairings.empty  # relocation data do not change the plan


# --------------------------------------------------------------------------- command line

def read_bom_csv(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), path.name
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def run_cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONIOENCODING", None)
    return subprocess.run([sys.executable, "-m", "planner", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", env=env, timeout=120)


def test_cli_compare_writes_its_files(base, tmp_path):
    scn, _ = base
    variant = tmp_path / "variant"
    save_scenario(scn.with_param("pricing", "bargaining_weight", 0.7), variant)
    out = tmp_path / "out"
    proc = run_cli("compare", BASELINE, variant, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(CLI_FILES)
    inputs = read_bom_csv(out / "inputs_diff.csv")
    assert len(inputs) == 1
    assert inputs[0]["column"] == "pricing.bargaining_weight" and inputs[0]["other"] == "0.7"
    assert inputs[0]["scenario"].endswith("(variant)")
    kpis = read_bom_csv(out / "kpis.csv")
    assert [r["kpi"] for r in kpis] == list(KPI_NAMES)
    assert len(kpis[0]) == 5 + 5  # kpi, two labels, two scenarios, then the five audit columns
    assert kpis[0]["audit_scenario_hash"].count("|") == 1
    assert read_bom_csv(out / "pairings_diff.csv")
    assert read_bom_csv(out / "counties_diff.csv")
    assert "1 input differences" in proc.stdout


def test_cli_compare_invalid_folder_exits_2(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "scenario.toml").write_text("[pricing]\nbargaining_weight = 3\n", encoding="utf-8")
    proc = run_cli("compare", BASELINE, tmp_path / "missing", "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "missing" in proc.stderr
    assert not (tmp_path / "out").exists()
    # in-process for the other failures (faster)
    assert cli_main(["compare", str(BASELINE), str(broken), "--out", str(tmp_path / "out")]) == 2
    assert cli_main(["compare", str(broken), str(BASELINE), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exc:  # one folder is not a comparison
        cli_main(["compare", str(BASELINE), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2


def test_cli_compare_unwritable_out_fails_cleanly(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    code = cli_main(["compare", str(BASELINE), str(BASELINE), "--out", str(blocker / "out")])
    assert code == 1
    assert "out" in capsys.readouterr().err


# --------------------------------------------------------------------------- one scenario solved again (issue 15)

def _more_surplus(scn: Scenario, county: str, mu: float) -> Scenario:
    out = scn.copy()
    lots = out.lots
    i = lots.index[(lots["county_code"] == county) & (lots["status"] == "confirmed")][0]
    lots.loc[i, "area_mu"] = float(lots.loc[i, "area_mu"]) + mu
    return out


def test_plan_delta_of_a_plan_with_itself_is_empty(base):
    from planner.compare import DELTA_KPIS, plan_delta

    scn, result = base
    delta = plan_delta(result, solved(scn.copy()))
    assert delta.is_empty() and delta.changed_mu == 0.0
    assert list(delta.kpis["kpi"]) == list(DELTA_KPIS)
    assert (delta.kpis["delta"] == 0).all()
    assert delta.counts() == {"added": 0, "removed": 0, "changed": 0, "price_changed": 0}


def test_plan_delta_after_an_edit(base):
    """Raising one county's surplus by 400 亩: the KPI deltas are the differences of the totals; each pairing row
    says how it changed, pair by pair over the years; the 亩 moved add up."""
    from planner.compare import plan_delta
    from planner.model import by_pair

    scn, before = base
    after = solved(_more_surplus(scn, "220722", 400.0))
    delta = plan_delta(before, after)
    k = delta.kpis.set_index("kpi")
    for name in ("quota_matched_mu", "proceeds_wan", "unmet_demand_mu", "surplus_offered_mu"):
        assert k.loc[name, "before"] == before.totals[name] and k.loc[name, "after"] == after.totals[name]
        assert k.loc[name, "delta"] == pytest.approx(after.totals[name] - before.totals[name])
    assert k.loc["surplus_offered_mu", "delta"] == pytest.approx(400.0)
    p = delta.pairings
    assert set(p["change"]) <= {"added", "removed", "changed", "price_changed"} and len(p)
    assert not p.duplicated(["seller_code", "buyer_code"]).any()  # one row per pair, whatever the years
    qa = by_pair(before.pairings).set_index(["seller_code", "buyer_code"])["quota_mu"]
    qb = by_pair(after.pairings).set_index(["seller_code", "buyer_code"])["quota_mu"]
    for r in p.itertuples():
        key = (r.seller_code, r.buyer_code)
        if r.change == "added":
            assert key not in qa and qb[key] == r.quota_mu_other
        elif r.change == "removed":
            assert key not in qb and qa[key] == r.quota_mu_base
        elif r.change == "changed":
            assert r.quota_change_mu == pytest.approx(qb[key] - qa[key])
    keys = qa.index.union(qb.index)
    moved = (qb.reindex(keys, fill_value=0) - qa.reindex(keys, fill_value=0)).abs().sum()
    assert delta.changed_mu == pytest.approx(moved, abs=0.01)
    assert delta.changed_mu == pytest.approx(p["quota_change_mu"].abs().sum(), abs=0.01)
