"""The quota ledger over the years (issue 12; articles 14, 16, 20, 23, 27): by lot, reconciled per county, deals
with their filing status, payments due / paid / overdue, the timeline and the quota unsold at expiry."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import ledger, load_checked, solve
from planner.model.rounding import rounding_residue_mu
from planner.scenario import Scenario
from tests.independent import buyer, make_scenario, seller

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "jilin-baseline"
PARTS = ["used_locally_mu", "reserved_rural_mu", "turnover_owed_mu", "sold_mu", "remaining_mu"]


def lot(lot_id, county, area, status="confirmed", ready=None, **kw):
    return {"lot_id": lot_id, "county_code": county, "status": status, "ready_year": ready, "area_mu": area, **kw}


def with_payments(scn: Scenario, rows: list[dict]) -> Scenario:
    settings, tables = scn.to_raw()
    tables["payments"] = pd.DataFrame([{k: "" if v is None else str(v) for k, v in r.items()} for r in rows],
                                      dtype=object)
    return Scenario.from_raw(settings, tables)


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn, solve(scn)


def check_reconciles(scn, result) -> pd.DataFrame:
    """Every lot: net = area − deductions = sold + remaining, its years add up to its sales, it sells only from its
    ready year; every county: produced = used + reserved + turnover + sold + remaining, exactly."""
    led = ledger.lot_ledger(scn, result)
    rec = ledger.county_reconciliation(scn, result)
    if len(scn.lots):
        assert len(led) == len(scn.lots)
        lots = scn.lots.fillna({c: 0.0 for c in ("used_locally_mu", "reserved_rural_mu", "turnover_owed_mu")})
        net = lots["area_mu"] - lots["used_locally_mu"] - lots["reserved_rural_mu"] - lots["turnover_owed_mu"]
        assert np.allclose(led["net_mu"], net, atol=1e-9)
        assert np.allclose(led["net_mu"], led["sold_mu"] + led["remaining_mu"], atol=1e-9)
        assert (led["remaining_mu"] >= -1e-9).all()
        assert np.allclose(led["sold_mu"], result.lots["sold_mu"], atol=0.0100001)
        assert (led.loc[~led["saleable"], "sold_mu"] == 0).all()
        years = [c for c in led.columns if c.startswith("sold_") and c[5:9].isdigit()]
        if years:
            assert np.allclose(led[years].sum(axis=1), led["sold_mu"], atol=1e-6)
            for c in years:
                early = pd.to_numeric(led["ready_year"], errors="coerce") > int(c[5:9])
                assert (led.loc[early, c] == 0).all(), c
            per_year = result.pairings.groupby(["seller_code", "year"])["quota_mu"].sum()
            for (code, year), q in per_year.items():
                mine = led.loc[led["county_code"] == code, f"sold_{int(year)}_mu"].sum()
                assert mine == pytest.approx(q, abs=0.02 * max(1, len(led))), (code, year)
        by_county = led.groupby("county_code")["area_mu"].sum()
        assert np.allclose(rec.set_index("county_code").loc[by_county.index, "produced_mu"], by_county, atol=1e-9)
    assert (rec["difference_mu"] == 0).all()
    assert np.allclose(rec["produced_mu"], rec[PARTS].sum(axis=1), rtol=0, atol=1e-9)
    return rec


def test_baseline_reconciles_to_the_lot_for_every_county(baseline):
    scn, result = baseline
    rec = check_reconciles(scn, result)
    assert len(rec) == scn.lots["county_code"].nunique()
    assert rec["sold_mu"].sum() == pytest.approx(result.pairings["quota_mu"].sum(), abs=0.05)


def _random_case(seed: int) -> Scenario:
    rng = np.random.default_rng(1000 + seed)
    counties, lots = [], []
    for i in range(int(rng.integers(1, 4))):
        counties.append(seller(f"S{i}", None, round(float(rng.uniform(5, 15)), 1)))
        for k in range(int(rng.integers(1, 4))):
            area = float(rng.integers(20, 300)) + round(float(rng.random()), 3)
            lots.append(lot(f"L{i}{k}", f"S{i}", area,
                            status=str(rng.choice(["confirmed", "confirmed", "planned", "accepted", "reclaiming"])),
                            ready=[None, 2017, 2018, 2019, 2020, 2021, 2023][int(rng.integers(0, 7))],
                            used_locally_mu=float(rng.integers(0, 10)), reserved_rural_mu=float(rng.integers(0, 8)),
                            turnover_owed_mu=[None, 5.0][int(rng.integers(0, 2))]))
    for j in range(int(rng.integers(1, 4))):
        counties.append(buyer(f"B{j}", float(rng.integers(20, 400)), round(float(rng.uniform(10, 40)), 1)))
    demand = None
    if rng.random() < 0.5:
        demand = [{"county_code": "B0", "year": y, "demand_mu": float(rng.integers(0, 150))} for y in range(2018, 2022)]
    return make_scenario(counties, lots=lots, demand=demand, horizon=(2018, None) if rng.random() < 0.8 else None,
                         quality_rule="off")


@pytest.mark.parametrize("seed", range(12))
def test_random_lot_scenarios_reconcile(seed):
    scn = _random_case(seed)
    result = solve(scn)
    assert result.status == "optimal"
    check_reconciles(scn, result)
    expiry = ledger.unsold_at_expiry(scn, result)
    if result.horizon is None:
        assert expiry.empty
    else:
        led = ledger.lot_ledger(scn, result)
        unsold = led[led["saleable"]].groupby("county_code")["remaining_mu"].sum()
        unsold = unsold[unsold > 0.005]
        residue = ledger.unsold_at_expiry(scn, result, residue=True)
        both = pd.concat([expiry, residue])
        assert dict(zip(both["county_code"], both["unsold_mu"])) == pytest.approx(unsold.to_dict())
        rows = result.pairings["seller_code"].astype(str).value_counts()
        limit = lambda code: rounding_residue_mu(rows.get(str(code), 0))  # noqa: E731
        assert all(u >= limit(c) - 1e-9 for c, u in zip(expiry["county_code"], expiry["unsold_mu"]))
        assert all(u < limit(c) for c, u in zip(residue["county_code"], residue["unsold_mu"]))


def test_without_lots_the_ledger_falls_back_to_county_supply():
    scn = make_scenario([seller("S1", 100, 10), seller("S2", 50, 10, cls="none"), buyer("B1", 120, 30)])
    result = solve(scn)
    assert ledger.lot_ledger(scn, result).empty
    rec = check_reconciles(scn, result).set_index("county_code")
    assert rec.loc["S1", "produced_mu"] == 100 and rec.loc["S1", "sold_mu"] == 100
    assert rec.loc["S2", "saleable_mu"] == 0 and rec.loc["S2", "remaining_mu"] == 50  # article 2: never sells
    assert ledger.timeline(scn, result).empty and ledger.unsold_at_expiry(scn, result).empty
    assert ledger.deal_ledger(scn, result).empty and ledger.payment_ledger(scn, result).rows.empty
    hz = make_scenario([seller("S1", 100, 10), buyer("B1", 60, 30)], horizon=(2018, None))
    r = solve(hz)
    tl = ledger.timeline(hz, r)
    assert tl["year"].tolist() == [2018, 2019, 2020, 2021]
    assert tl["saleable_ready_mu"].tolist() == [100, 0, 0, 0] and tl["remaining_mu"].iloc[-1] == 40
    assert ledger.unsold_at_expiry(hz, r)[["county_code", "unsold_mu"]].values.tolist() == [["S1", 40]]


def test_unsold_at_expiry_and_the_timeline_by_year():
    counties = [seller("S1", None, 10), buyer("B1", 100, 30)]
    lots = [lot("L1", "S1", 80, ready=2018, reserved_rural_mu=10), lot("L2", "S1", 60, ready=2020),
            lot("L3", "S1", 500, status="planned", ready=2019), lot("L4", "S1", 40, ready=2024)]
    demand = [{"county_code": "B1", "year": 2019, "demand_mu": 50}, {"county_code": "B1", "year": 2021,
                                                                      "demand_mu": 50}]
    scn = make_scenario(counties, lots=lots, demand=demand, horizon=(2018, 2021))
    r = solve(scn)
    check_reconciles(scn, r)
    led = ledger.lot_ledger(scn, r).set_index("lot_id")
    assert led.loc["L2", ["sold_2018_mu", "sold_2019_mu"]].tolist() == [0, 0]  # ready 2020: nothing before
    assert led.loc["L3", "sold_mu"] == 0 and not led.loc["L4", "saleable"]  # planned; ready after expiry
    assert led["sold_mu"].sum() == 100
    tl = ledger.timeline(scn, r).set_index("year")
    assert tl.loc[2018, "ready_confirmed_mu"] == 70 and tl.loc[2020, "ready_confirmed_mu"] == 60
    assert tl.loc[2019, "ready_planned_mu"] == 500 and tl["saleable_ready_mu"].sum() == 130
    assert tl["sold_mu"].tolist() == [0, 50, 0, 50]
    assert tl.loc[2021, "remaining_mu"] == 30
    expiry = ledger.unsold_at_expiry(scn, r)
    assert expiry[["county_code", "end_year", "saleable_mu", "sold_mu", "unsold_mu"]].values.tolist() == \
        [["S1", 2021, 130, 100, 30]]


def _deal_case() -> Scenario:
    counties = [seller("S1", None, 10), seller("S2", 200, 10), buyer("B1", 300, 30), buyer("B2", 100, 25)]
    pairs = [{"seller_code": "S1", "buyer_code": "B1", "agreed_price": 20, "agreed_mu": 100, "status": "signed",
              "year": 2019},
             {"seller_code": "S2", "buyer_code": "B2", "agreed_price": 15, "agreed_mu": 40, "status": "filed",
              "year": 2020},
             {"seller_code": "S2", "buyer_code": "B1", "agreed_mu": 10, "status": "negotiating"}]
    scn = make_scenario(counties, pairs, lots=[lot("L1", "S1", 150, ready=2018)], horizon=(2018, 2021))
    return with_payments(scn, [
        {"seller_code": "S1", "buyer_code": "B1", "milestone": "signing", "share": 0.3, "due_year": 2019,
         "paid_wan": 600, "paid_date": "2019-05-01"},
        {"seller_code": "S1", "buyer_code": "B1", "milestone": "approval", "share": 0.4, "due_year": 2020,
         "paid_wan": 300},
        {"seller_code": "S1", "buyer_code": "B1", "milestone": "acceptance", "share": 0.3, "due_year": 2021},
        {"seller_code": "S2", "buyer_code": "B2", "milestone": "signing", "share": 1.0, "due_year": 2020,
         "paid_wan": 600}])


def test_deal_ledger_lists_signed_and_filed_agreements_with_their_filing_status():
    scn = _deal_case()
    r = solve(scn)
    deals = ledger.deal_ledger(scn, r).set_index("seller_code")
    assert list(deals.index) == ["S1", "S2"]  # the negotiating row is no deal
    assert deals.loc["S1", ["agreed_mu", "price_wan_per_mu", "amount_wan", "year", "planned_mu"]].tolist() == \
        [100, 20, 2000, 2019, 100]
    assert deals.loc["S1", "filing_status"] == "已签订未备案"
    assert deals.loc["S2", "filing_status"] == "已报市（州）和省自然资源部门备案"
    en = ledger.deal_ledger(scn, r, "en").set_index("seller_code")
    assert en.loc["S1", "filing_status"] == "Signed, not yet filed"


def test_payments_due_paid_and_overdue_by_hand():
    scn = _deal_case()
    r = solve(scn)
    pay = ledger.payment_ledger(scn, r, as_of_year=2021)
    rows = pay.rows
    assert rows["due_wan"].tolist() == [600, 800, 600, 600]
    assert rows["outstanding_wan"].tolist() == [0, 500, 600, 0]
    assert rows["overdue"].tolist() == [False, True, False, False]  # due in 2021 is not late in 2021
    deal = pay.deals.set_index("seller_code").loc["S1"]
    assert deal[["amount_wan", "due_wan", "paid_wan", "outstanding_wan", "overdue_wan"]].tolist() == \
        [2000, 2000, 900, 1100, 500]
    c = pay.counties.set_index("county_code")
    assert c.loc["S1", ["receivable_wan", "received_wan", "overdue_in_wan"]].tolist() == [2000, 900, 500]
    assert c.loc["B1", ["payable_wan", "paid_out_wan", "outstanding_out_wan", "overdue_out_wan"]].tolist() == \
        [2000, 900, 1100, 500]
    assert c.loc["B2", "overdue_out_wan"] == 0
    later = ledger.payment_ledger(scn, r, as_of_year=2022)
    assert later.rows["overdue"].tolist() == [False, True, True, False]


def test_payments_as_of_defaults_to_this_year_clipped_to_the_horizon(monkeypatch):
    scn = _deal_case()
    r = solve(scn)
    monkeypatch.setattr(ledger, "current_year", lambda: 2030)
    assert ledger.payment_ledger(scn, r).as_of_year == 2021
    monkeypatch.setattr(ledger, "current_year", lambda: 2010)
    assert ledger.payment_ledger(scn, r).as_of_year == 2018
    monkeypatch.setattr(ledger, "current_year", lambda: 2020)
    assert ledger.payment_ledger(scn, r).as_of_year == 2020


def test_baseline_has_overdue_payments_and_quota_unsold_at_expiry(baseline):
    scn, result = baseline
    pay = ledger.payment_ledger(scn, result, as_of_year=2021)
    assert pay.rows["deal_found"].all()
    assert pay.deals["scheduled_share"].round(6).eq(1).all()
    assert pay.rows["overdue"].any()
    deals = ledger.deal_ledger(scn, result)
    assert set(deals["status"]) == {"signed", "filed"}
    assert (deals["planned_mu"] == deals["agreed_mu"]).all()
    assert not ledger.unsold_at_expiry(scn, result).empty


def test_cli_writes_the_lot_ledger_and_the_workbook_sheet(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "planner", "solve", str(BASELINE), "--out", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    led = pd.read_csv(out / "ledger.csv", encoding="utf-8-sig", dtype={"county_code": str})
    assert len(led) == len(load_checked(BASELINE)[0].lots)
    assert np.allclose(led["area_mu"], led[PARTS].sum(axis=1), atol=1e-6)
    counties = pd.read_csv(out / "ledger_counties.csv", encoding="utf-8-sig", dtype=str)
    assert "produced_mu" in counties.columns
    import openpyxl

    wb = openpyxl.load_workbook(out / "workbook.xlsx", read_only=True)
    cells = [c for row in wb["指标台账"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "一、指标批次" in cells and "已报市（州）和省自然资源部门备案" in cells and "已签订未备案" in cells
    assert any("和龙市 0.01 亩" in c and "取整尾差" in c for c in cells)  # the rounding residue, said once


def test_cli_without_lots_keeps_the_county_ledger(tmp_path):
    from tests.conftest import write_scenario

    folder = write_scenario(tmp_path / "tiny")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    led = pd.read_csv(out / "ledger.csv", encoding="utf-8-sig", dtype=str)
    assert "produced_mu" in led.columns and not (out / "ledger_counties.csv").exists()
