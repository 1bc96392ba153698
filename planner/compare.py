"""Differences between scenarios: in their inputs (parameters, cells, rows) and in their results.

The first scenario is the base; every other one is compared with it. All outputs are plain DataFrames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import i18n, schema
from planner.model import SolveResult, by_pair
from planner.model.stability import changed_mu
from planner.proceeds import allocate
from planner.scenario import Scenario, cell_text, text_table

TABLE_KEYS = {"counties": ["code"], "pairs": ["seller_code", "buyer_code"], "relocation": ["county_code", "group_id"]}
# Result figures compared across scenarios, in table order; their labels are kpi.<name> in the locale files.
KPI_NAMES = ("surplus_offered_mu", "demand_mu", "quota_matched_mu", "proceeds_wan", "unmet_demand_mu",
             "plan_adjustment_mu", "pairings", "mean_price_wan_per_mu", "mean_per_person_wan")


@dataclass
class Comparison:
    names: list[str]
    kpis: pd.DataFrame  # kpi, label_zh, label_en, one column per scenario
    inputs: pd.DataFrame  # scenario, table, key, column, change, base, other
    pairings: pd.DataFrame  # scenario, seller_code, buyer_code, change, base/other quota and price
    counties: pd.DataFrame  # code, name, proceeds per scenario and change vs base
    benefit: pd.DataFrame  # county_code, per-person benefit per scenario

    def is_empty(self) -> bool:
        return self.inputs.empty and self.pairings.empty


def diff_inputs(base: Scenario, other: Scenario, label: str = "") -> pd.DataFrame:
    """Parameters and table cells that differ, rows added and removed."""
    rows = []
    for p in schema.PARAMS:
        a, b = base.param(p.section, p.key), other.param(p.section, p.key)
        if cell_text(a) != cell_text(b):
            rows.append({"table": "scenario.toml", "key": "", "column": f"{p.section}.{p.key}", "change": "changed",
                         "base": cell_text(a), "other": cell_text(b)})
    for table, keys in TABLE_KEYS.items():
        ta, tb = text_table(getattr(base, table)), text_table(getattr(other, table))
        ia = {tuple(r[k] for k in keys): r for r in ta.to_dict("records")}
        ib = {tuple(r[k] for k in keys): r for r in tb.to_dict("records")}
        for key in ia.keys() - ib.keys():
            rows.append({"table": table, "key": "/".join(key), "column": "", "change": "removed", "base": "",
                         "other": ""})
        for key in ib.keys() - ia.keys():
            rows.append({"table": table, "key": "/".join(key), "column": "", "change": "added", "base": "",
                         "other": ""})
        columns = [c for c in ta.columns if c in tb.columns]
        for key in sorted(ia.keys() & ib.keys()):
            ra, rb = ia[key], ib[key]
            for col in columns:
                if col in keys:
                    continue
                if not _same(ra[col], rb[col]):
                    rows.append({"table": table, "key": "/".join(key), "column": col, "change": "changed",
                                 "base": ra[col], "other": rb[col]})
    out = pd.DataFrame(rows, columns=["table", "key", "column", "change", "base", "other"])
    out.insert(0, "scenario", label)
    return out


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    except ValueError:
        return False


def kpis(scn: Scenario, result: SolveResult) -> dict:
    t = dict(result.totals)
    p = result.pairings
    t["mean_price_wan_per_mu"] = float(p["amount_wan"].sum() / p["quota_mu"].sum()) if p["quota_mu"].sum() else 0.0
    if len(scn.relocation):
        g = allocate(scn, p).groups
        persons = g["persons"].sum()
        t["mean_per_person_wan"] = float(g["household_wan"].sum() / persons) if persons else 0.0
    else:
        t["mean_per_person_wan"] = np.nan
    return {k: t.get(k, np.nan) for k in KPI_NAMES}


def compare(scenarios: list[Scenario], results: list[SolveResult], names: list[str] | None = None) -> Comparison:
    if len(scenarios) < 2 or len(scenarios) != len(results):
        raise ValueError("compare needs at least two scenarios, each with its result")
    names = list(names or [s.name or f"#{i + 1}" for i, s in enumerate(scenarios)])
    names = [n if names.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(names)]
    kpi_rows = {name: kpis(s, r) for name, s, r in zip(names, scenarios, results)}
    kpi_df = pd.DataFrame({"kpi": list(KPI_NAMES), "label_zh": [i18n.t(f"kpi.{k}", "zh") for k in KPI_NAMES],
                           "label_en": [i18n.t(f"kpi.{k}", "en") for k in KPI_NAMES]})
    for name in names:
        kpi_df[name] = [kpi_rows[name][k] for k in KPI_NAMES]
    base, base_result = scenarios[0], results[0]
    inputs = pd.concat([diff_inputs(base, s, n) for s, n in zip(scenarios[1:], names[1:])], ignore_index=True)
    pair_frames = [_diff_pairings(base_result.pairings, r.pairings, n) for r, n in zip(results[1:], names[1:])]
    pairings = pd.concat(pair_frames, ignore_index=True)
    county_names = dict(zip(base.counties["code"], base.counties["name"]))
    for s in scenarios[1:]:
        for c, n in zip(s.counties["code"], s.counties["name"]):
            county_names.setdefault(c, n)
    proceeds = pd.DataFrame({n: r.counties.set_index("code")["proceeds_wan"] for n, r in zip(names, results)})
    proceeds = proceeds.fillna(0.0)
    proceeds = proceeds[(proceeds != 0).any(axis=1)]
    counties = proceeds.reset_index(names="code")
    counties.insert(1, "name", counties["code"].map(county_names))
    for n in names[1:]:
        counties[f"change:{n}"] = counties[n] - counties[names[0]]
    benefit_cols = {}
    for n, s, r in zip(names, scenarios, results):
        if len(s.relocation):
            benefit_cols[n] = allocate(s, r.pairings).counties.set_index("county_code")["per_person_wan"]
    benefit = pd.DataFrame(benefit_cols).reset_index(names="county_code") if benefit_cols else pd.DataFrame(
        columns=["county_code"])
    if benefit_cols:
        benefit.insert(1, "name", benefit["county_code"].map(county_names))
    return Comparison(names, kpi_df, inputs, pairings, counties, benefit)


def _diff_pairings(a: pd.DataFrame, b: pd.DataFrame, label: str) -> pd.DataFrame:
    a, b = by_pair(a), by_pair(b)  # a plan by year compares pair by pair over the horizon
    cols = ["seller_code", "buyer_code", "quota_mu", "price_wan_per_mu", "seller_name", "buyer_name"]
    m = a[cols].merge(b[cols], on=["seller_code", "buyer_code"], how="outer", suffixes=("_base", "_other"))
    m["seller_name"] = m["seller_name_base"].fillna(m["seller_name_other"])
    m["buyer_name"] = m["buyer_name_base"].fillna(m["buyer_name_other"])
    qa, qb = m["quota_mu_base"].fillna(0.0), m["quota_mu_other"].fillna(0.0)
    pa, pb = m["price_wan_per_mu_base"], m["price_wan_per_mu_other"]
    change = np.where(m["quota_mu_base"].isna(), "added",
                      np.where(m["quota_mu_other"].isna(), "removed",
                               np.where((qa - qb).abs() > 1e-6, "changed",
                                        np.where((pa - pb).abs() > 1e-9, "price_changed", "same"))))
    m["change"] = change
    m["quota_change_mu"] = qb - qa
    m = m[m["change"] != "same"]
    out = m[["seller_code", "seller_name", "buyer_code", "buyer_name", "change", "quota_mu_base", "quota_mu_other",
             "quota_change_mu", "price_wan_per_mu_base", "price_wan_per_mu_other"]].copy()
    out.insert(0, "scenario", label)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- one scenario, solved again

# Headline figures the Pairings page shows with their change since the previous plan; labels are kpi.<name>.
DELTA_KPIS = ("quota_matched_mu", "proceeds_wan", "unmet_demand_mu", "pairings", "surplus_offered_mu", "demand_mu")


@dataclass
class PlanDelta:
    """What changed between two plans of one scenario (before an edit and after it)."""

    kpis: pd.DataFrame  # kpi, before, after, delta (one row per DELTA_KPIS)
    pairings: pd.DataFrame  # as Comparison.pairings (change: added | removed | changed | price_changed), pair level
    changed_mu: float  # Σ |quota after − quota before| over county pairs: how many 亩 the new plan moves

    def counts(self) -> dict[str, int]:
        """Pairings added / removed / changed in quota / changed in price only."""
        vc = self.pairings["change"].value_counts()
        return {c: int(vc.get(c, 0)) for c in ("added", "removed", "changed", "price_changed")}

    def is_empty(self) -> bool:
        return self.pairings.empty and not (self.kpis["delta"].abs() > 1e-9).any()


def plan_delta(before: SolveResult, after: SolveResult) -> PlanDelta:
    """The change from `before` to `after`: headline figures with their deltas and the pairings added, removed or
    changed in quota or price (pair by pair over lots and years, as the compare page counts them)."""
    rows = []
    for k in DELTA_KPIS:
        a, b = float(before.totals.get(k, np.nan)), float(after.totals.get(k, np.nan))
        rows.append({"kpi": k, "before": a, "after": b, "delta": b - a})
    kpi_df = pd.DataFrame(rows, columns=["kpi", "before", "after", "delta"])
    pairings = _diff_pairings(before.pairings, after.pairings, "").drop(columns=["scenario"])
    return PlanDelta(kpi_df, pairings, changed_mu(after.pairings, before.pairings))
