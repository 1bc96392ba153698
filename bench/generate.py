"""Synthetic scenarios in the scenario-folder format, at the sizes the planner must handle.

province 15 x 60, detailed 300 x 1,000, national 800 x 2,800 (sellers x buyers). Budgets, construction and
cultivated caps bind for some buyers, bands overlap for most but not all pairs, and a few pair overrides exist.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SIZES = {"province": (15, 60), "detailed": (300, 1000), "national": (800, 2800)}

TOML = """[scenario]
name = "合成情景 {size}"
description = "Synthetic benchmark scenario ({n_s} sellers x {n_b} buyers); all numbers are random."

[pricing]
guide_floor = 10.0
guide_ceiling = 60.0
bargaining_weight = 0.5

[rules]
objective = "proceeds"
priority_weight_national_key = 1.2
priority_weight_provincial = 1.0
quality_rule = "off"
allow_plan_adjustment = false
plan_adjustment_penalty = 0.0
min_lot_mu = 0
max_partners_per_seller = 0
max_partners_per_buyer = 0
min_sale_share = 0.0

[proceeds]
reclamation_cost_per_mu = 3.0
financing_repayment_share = 0.0
collective_share = 0.15
rule = "per_capita"
hybrid_alpha = 0.5
"""


def make(size: str, folder: Path, seed: int = 7) -> Path:
    n_s, n_b = SIZES[size]
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(TOML.format(size=size, n_s=n_s, n_b=n_b), encoding="utf-8")
    s_codes = [f"{100000 + i}" for i in range(n_s)]
    b_codes = [f"{500000 + j}" for j in range(n_b)]
    sellers = pd.DataFrame({
        "code": s_codes, "name": [f"产生县{i}" for i in range(n_s)], "prefecture": "",
        "poverty_class": rng.choice(["national_key", "provincial"], n_s, p=[0.55, 0.45]),
        "surplus_mu": rng.integers(200, 2500, n_s),
        "reclaimed_quality_grade": rng.integers(4, 13, n_s),
        "floor_price": rng.uniform(8, 20, n_s).round(2),
        "lat": rng.uniform(41, 46, n_s).round(4), "lon": rng.uniform(122, 131, n_s).round(4),
    })
    demand = rng.integers(100, 2000, n_b)
    ceiling = rng.uniform(14, 45, n_b).round(2)
    budget = np.where(rng.random(n_b) < 0.6, (demand * ceiling * rng.uniform(0.3, 0.9, n_b)).round(0), np.nan)
    construction = np.where(rng.random(n_b) < 0.3, (demand * rng.uniform(0.4, 0.9, n_b)).round(0), np.nan)
    cultivated = np.where(rng.random(n_b) < 0.2, (demand * rng.uniform(0.3, 0.8, n_b)).round(0), np.nan)
    buyers = pd.DataFrame({
        "code": b_codes, "name": [f"使用县{j}" for j in range(n_b)], "prefecture": "", "poverty_class": "none",
        "demand_mu": demand, "ceiling_price": ceiling, "budget_wan": budget,
        "construction_headroom_mu": construction, "cultivated_headroom_mu": cultivated,
        "cultivated_share": np.where(np.isnan(cultivated), np.nan, rng.uniform(0.5, 1.0, n_b).round(2)),
        "occupied_quality_grade": rng.integers(3, 11, n_b),
        "lat": rng.uniform(41, 46, n_b).round(4), "lon": rng.uniform(122, 131, n_b).round(4),
    })
    counties = pd.concat([sellers, buyers], ignore_index=True)
    counties.to_csv(folder / "counties.csv", index=False, encoding="utf-8-sig")
    k = max(3, n_s // 5)
    pairs = pd.DataFrame({"seller_code": rng.choice(s_codes, k, replace=False),
                          "buyer_code": rng.choice(b_codes, k, replace=False),
                          "floor_price": "", "ceiling_price": "", "agreed_price": "", "excluded": "true"})
    pairs.to_csv(folder / "pairs.csv", index=False, encoding="utf-8-sig")
    return folder


LOT_STATUSES = ["confirmed"] * 6 + ["accepted", "reclaiming", "planned"]


def make_with_lots(size: str, folder: Path, seed: int = 7, lots_per_seller: int = 3) -> Path:
    """The same market with ~3 lots per seller (mixed statuses, ready years, own grades) and a four-year horizon
    (article 27), every rule of issue 12 on: the quality balance per lot, supply from confirmed lots only."""
    folder = make(size, folder, seed)
    rng = np.random.default_rng(seed + 1)
    counties = pd.read_csv(folder / "counties.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    sellers = counties[counties["poverty_class"] != "none"]
    rows = []
    for code, surplus, grade in zip(sellers["code"], sellers["surplus_mu"].astype(float),
                                    sellers["reclaimed_quality_grade"].astype(float).astype(int)):
        k = int(rng.integers(lots_per_seller - 1, lots_per_seller + 2))
        share = rng.dirichlet(np.full(k, 3.0))
        for i in range(k):
            rows.append({"lot_id": f"{code}-{i + 1}", "county_code": code, "status": rng.choice(LOT_STATUSES),
                         "ready_year": int(rng.integers(2017, 2022)), "area_mu": round(surplus * share[i] + 20, 1),
                         "used_locally_mu": 10, "reserved_rural_mu": 10, "turnover_owed_mu": 0,
                         "reclaimed_quality_grade": int(np.clip(grade + rng.integers(-2, 3), 1, 15))})
    pd.DataFrame(rows).to_csv(folder / "lots.csv", index=False, encoding="utf-8-sig")
    counties.loc[counties["poverty_class"] != "none", "surplus_mu"] = ""  # the lots are the supply
    counties.to_csv(folder / "counties.csv", index=False, encoding="utf-8-sig")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8").replace('quality_rule = "off"',
                                                                          'quality_rule = "aggregate"')
    (folder / "scenario.toml").write_text(toml + "\n[horizon]\nstart_year = 2018\nend_year = 2021\n",
                                          encoding="utf-8")
    return folder


def make_every_rule(size: str, folder: Path, seed: int = 7) -> Path:
    """The same market with every LP rule of DESIGN 4 on (issue 14): the quality balance ("aggregate"), plan
    adjustment allowed (half the sellers can cede planning space, penalised) and a minimum sale share."""
    folder = make(size, folder, seed)
    rng = np.random.default_rng(seed + 2)
    counties = pd.read_csv(folder / "counties.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    is_seller = (counties["poverty_class"] != "none").to_numpy()
    cede = np.where(rng.random(len(counties)) < 0.5, rng.integers(20, 300, len(counties)), 0)
    counties["plan_adjustable_mu"] = np.where(is_seller & (cede > 0), cede.astype(str), "")
    counties.to_csv(folder / "counties.csv", index=False, encoding="utf-8-sig")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    for old, new in (('quality_rule = "off"', 'quality_rule = "aggregate"'),
                     ("allow_plan_adjustment = false", "allow_plan_adjustment = true"),
                     ("plan_adjustment_penalty = 0.0", "plan_adjustment_penalty = 1.0"),
                     ("min_sale_share = 0.0", "min_sale_share = 0.2")):
        toml = toml.replace(old, new)
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    return folder


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("size", choices=list(SIZES))
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(make(a.size, Path(a.out), a.seed))
