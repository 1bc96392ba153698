"""The plan as documents state it (planner.model.rounding): quota to 0.01 亩 with every limit holding as printed, and
no lot that the plan sells in full printed with 0.01 亩 "unsold at expiry"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner import load_checked, solve
from planner.model.market import market
from planner.model.matrix import build
from planner.model import rounding
from planner.model.rounding import fill_short_supply, printable_plan, rounding_residue_mu
from planner.model.solvers import _solve_highs
from planner.scenario import Scenario
from tests.independent import violations

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "jilin-baseline"


@pytest.fixture(scope="module")
def baseline():
    scn, _ = load_checked(BASELINE)
    return scn


def test_lots_sold_in_full_are_printed_sold_in_full_where_a_0_01_grid_plan_can(baseline):
    # Before: 汪清县 and 和龙市 showed 1,649.99 of 1,650 and 1,299.99 of 1,300 亩 sold (镇赉县 699.99 of 700 in 2019),
    # and the ledger warned that 0.01 亩 would be unsold at expiry (article 27). 汪清县 and 镇赉县 now sell in full;
    # for 和龙市 no plan on the 0.01 亩 grid keeps 西安区's quality balance and sells the last 0.01 亩 (its 124.0889 亩
    # of a worse grade is balanced exactly by better-grade quota from lots that are themselves sold out).
    result = solve(baseline)
    lots = result.lots.set_index("lot_id")
    assert lots.loc["222424-01", "remaining_mu"] == 0 and lots.loc["222424-01", "sold_mu"] == 1650
    dust = lots[lots["saleable"] & (lots["remaining_mu"] > 0) & (lots["remaining_mu"] < 0.05)]
    assert list(dust.index) == ["222406-01"] and dust["remaining_mu"].iloc[0] == 0.01
    assert violations(baseline, result.pairings) == []


def test_the_printed_plan_keeps_every_limit_and_stays_within_two_hundredths_of_the_solver(baseline, monkeypatch):
    settings = dict(baseline.settings)
    settings["rules"] = {**settings.get("rules", {}), "min_lot_mu": 0.0}  # an LP: a fractional plan to round
    lp = Scenario(settings, **baseline.tables())
    m = build(market(lp))
    assert not m.is_mip
    raw = _solve_highs(m, None, "simplex", 0.0)
    q = printable_plan(m, raw.x)
    assert np.all(np.abs(q - raw.x) <= 0.02 + 1e-9)
    assert np.allclose(q, np.round(q, 2))
    act = m.A @ q
    assert np.all(act <= m.row_hi + 1e-9 * np.maximum(1.0, np.abs(m.row_hi)))
    assert np.all(act >= m.row_lo - 1e-9 * np.maximum(1.0, np.abs(m.row_lo)))
    supply = m.row_kind == "supply"
    target = np.round(m.A @ raw.x, 2)
    short = float(np.clip(target - act, 0, None)[supply].sum())
    monkeypatch.setattr(rounding, "MAX_FLOWS", 0)  # the greedy steps alone
    greedy = float(np.clip(target - m.A @ printable_plan(m, raw.x), 0, None)[supply].sum())
    assert short < greedy - 0.005  # the search states hundredths that the greedy steps left unsold
    assert violations(lp, solve(lp).pairings) == []


def test_nothing_short_leaves_the_plan_as_it_is(baseline):
    m = build(market(baseline))
    q = np.zeros(m.n_cols)
    assert fill_short_supply(m, q, q.copy(), m.A.tocsc(), np.zeros(m.n_cols, dtype=bool)) is not None
    assert not fill_short_supply(m, q, q.copy(), m.A.tocsc(), np.zeros(m.n_cols, dtype=bool)).any()


def test_the_ledger_and_the_reasons_read_a_rounding_residue_alike(baseline):
    """One measure (rounding_residue_mu): 和龙市's 0.01 亩 is a residue on the ledger and in its reason."""
    from planner import ledger
    from planner.explain import county_report

    assert rounding_residue_mu(0) == 0.01 and rounding_residue_mu(4) == pytest.approx(0.05)
    result = solve(baseline)
    residue = ledger.unsold_at_expiry(baseline, result, residue=True)
    assert residue["county_code"].tolist() == ["222406"]
    report = county_report(baseline, result).set_index("code")
    assert report.loc["222406", "reason_code"] == "rounding_left"
    assert "222406" not in set(ledger.unsold_at_expiry(baseline, result)["county_code"])
