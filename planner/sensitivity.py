"""How far a recommendation holds: one-parameter sweeps and Monte Carlo robustness of pairings.

Parameters are named by a small spec string so the page, the command line and tests speak the same language:
`pricing.bargaining_weight`, `pricing.guide_floor`, `pricing.guide_ceiling`, or `county:<code>:<column>` with
column one of surplus_mu, demand_mu, budget_wan, ceiling_price, floor_price. Monte Carlo runs are seeded per run
(SeedSequence.spawn), so results do not depend on how many worker processes share them.
"""
from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from planner.model import solve
from planner.scenario import Scenario

GLOBAL_PARAMS = ("pricing.bargaining_weight", "pricing.guide_floor", "pricing.guide_ceiling")
COUNTY_COLUMNS = ("surplus_mu", "demand_mu", "budget_wan", "ceiling_price", "floor_price")
PARAM_LABELS = {
    "pricing.bargaining_weight": ("议价系数 θ", "Bargaining weight θ"),
    "pricing.guide_floor": ("指导价下限（万元/亩）", "Guidance floor (万元/亩)"),
    "pricing.guide_ceiling": ("指导价上限（万元/亩）", "Guidance ceiling (万元/亩)"),
    "surplus_mu": ("节余指标（亩）", "Surplus (亩)"), "demand_mu": ("指标需求（亩）", "Demand (亩)"),
    "budget_wan": ("预算（万元）", "Budget (万元)"), "ceiling_price": ("最高价（万元/亩）", "Ceiling price (万元/亩)"),
    "floor_price": ("最低价（万元/亩）", "Floor price (万元/亩)"),
}
KPI_COLUMNS = ["quota_matched_mu", "proceeds_wan", "unmet_demand_mu", "mean_price_wan_per_mu", "pairings",
               "objective"]
Progress = Callable[[int, int], None]


def apply_parameter(scn: Scenario, spec: str, value: float) -> Scenario:
    """A copy of the scenario with one parameter set."""
    if spec in GLOBAL_PARAMS:
        section, key = spec.split(".")
        return scn.with_param(section, key, float(value))
    parts = spec.split(":")
    if len(parts) == 3 and parts[0] == "county" and parts[2] in COUNTY_COLUMNS:
        code, column = parts[1], parts[2]
        out = scn.copy()
        mask = out.counties["code"] == code
        if not mask.any():
            raise ValueError(f"no county with code {code}")
        out.counties.loc[mask, column] = float(value)
        return out
    raise ValueError(f"unknown parameter {spec!r}")


def current_value(scn: Scenario, spec: str) -> float | None:
    if spec in GLOBAL_PARAMS:
        section, key = spec.split(".")
        v = scn.param(section, key)
        return None if v is None else float(v)
    _, code, column = spec.split(":")
    v = scn.counties.loc[scn.counties["code"] == code, column]
    return None if v.empty or pd.isna(v.iloc[0]) else float(v.iloc[0])


def _kpis(result) -> dict:
    t = result.totals
    q = t["quota_matched_mu"]
    return {"status": result.status, "objective": result.objective, "quota_matched_mu": q,
            "proceeds_wan": t["proceeds_wan"], "unmet_demand_mu": t["unmet_demand_mu"],
            "mean_price_wan_per_mu": t["proceeds_wan"] / q if q > 1e-9 else 0.0, "pairings": t["pairings"]}


def sweep(scn: Scenario, spec: str, values, solver: str = "highs", time_limit: float | None = None,
          progress: Progress | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPIs per step and the pairings of every step (long format)."""
    rows, pair_frames = [], []
    values = list(values)
    for i, v in enumerate(values):
        result = solve(apply_parameter(scn, spec, v), solver=solver, time_limit=time_limit)
        rows.append({"value": float(v), **_kpis(result)})
        p = result.pairings[["seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu",
                             "price_wan_per_mu"]].copy()
        p.insert(0, "value", float(v))
        pair_frames.append(p)
        if progress:
            progress(i + 1, len(values))
    pairs = pd.concat(pair_frames, ignore_index=True) if pair_frames else pd.DataFrame()
    return pd.DataFrame(rows), pairs


# --------------------------------------------------------------------------- Monte Carlo

@dataclass
class Robustness:
    runs: pd.DataFrame  # one row per run: KPIs
    pairs: pd.DataFrame  # one row per pair seen: frequency, quota range, base quota
    base_kpis: dict


def perturb(scn: Scenario, rng: np.random.Generator, price_pct: float, quantity_pct: float) -> Scenario:
    """Independent uniform ±pct factors per county on prices and on quantities; agreed prices stay (a contract)."""
    out = scn.copy()
    c = out.counties
    n = len(c)
    for col in ("floor_price", "ceiling_price"):
        c[col] = c[col] * rng.uniform(1 - price_pct, 1 + price_pct, n)
    for col in ("surplus_mu", "demand_mu", "budget_wan"):
        c[col] = c[col] * rng.uniform(1 - quantity_pct, 1 + quantity_pct, n)
    return out


def _run_chunk(args) -> list[tuple[dict, list[tuple[str, str, float]]]]:
    scn, seeds, price_pct, quantity_pct, solver, time_limit = args
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        result = solve(perturb(scn, rng, price_pct, quantity_pct), solver=solver, time_limit=time_limit)
        moved = list(zip(result.pairings["seller_code"], result.pairings["buyer_code"],
                         result.pairings["quota_mu"].astype(float)))
        out.append((_kpis(result), moved))
    return out


def monte_carlo(scn: Scenario, n_runs: int = 200, price_pct: float = 0.1, quantity_pct: float = 0.1,
                seed: int = 0, solver: str = "highs", time_limit: float | None = None, workers: int | None = None,
                progress: Progress | None = None) -> Robustness:
    """Perturb prices and quantities n_runs times; how often does each pairing appear, and how big is it?"""
    seeds = np.random.SeedSequence(seed).spawn(n_runs)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    chunk = max(1, math.ceil(n_runs / max(1, workers) / 8))
    chunks = [seeds[i:i + chunk] for i in range(0, n_runs, chunk)]
    jobs = [(scn, c, price_pct, quantity_pct, solver, time_limit) for c in chunks]
    results: list = [None] * len(jobs)
    done = 0
    if workers <= 1 or n_runs < 20:
        for i, job in enumerate(jobs):
            results[i] = _run_chunk(job)
            done += len(job[1])
            if progress:
                progress(done, n_runs)
    else:
        ctx = multiprocessing.get_context("spawn")  # safe inside a threaded server (no fork of its threads)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_run_chunk, job): i for i, job in enumerate(jobs)}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                done += len(jobs[i][1])
                if progress:
                    progress(done, n_runs)
    runs, seen = [], {}
    for chunk_result in results:
        for kpis, moved in chunk_result:
            runs.append(kpis)
            for s, b, q in moved:
                seen.setdefault((s, b), []).append(q)
    base = solve(scn, solver=solver, time_limit=time_limit)
    base_q = {(s, b): q for s, b, q in zip(base.pairings["seller_code"], base.pairings["buyer_code"],
                                           base.pairings["quota_mu"])}
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    rows = []
    for (s, b) in set(seen) | set(base_q):
        q = np.array(seen.get((s, b), []), dtype=float)
        rows.append({"seller_code": s, "seller_name": names.get(s, s), "buyer_code": b,
                     "buyer_name": names.get(b, b), "frequency": len(q) / n_runs if n_runs else 0.0,
                     "base_quota_mu": float(base_q.get((s, b), 0.0)),
                     "min_quota_mu": float(q.min()) if len(q) else 0.0,
                     "mean_quota_mu": float(q.sum() / n_runs) if n_runs else 0.0,
                     "max_quota_mu": float(q.max()) if len(q) else 0.0})
    pairs = pd.DataFrame(rows, columns=["seller_code", "seller_name", "buyer_code", "buyer_name", "frequency",
                                        "base_quota_mu", "min_quota_mu", "mean_quota_mu", "max_quota_mu"])
    pairs["in_base"] = pairs["base_quota_mu"] > 0
    pairs["robust"] = pairs["frequency"] >= 0.8
    pairs = pairs.sort_values(["frequency", "base_quota_mu"], ascending=False).reset_index(drop=True)
    return Robustness(pd.DataFrame(runs), pairs, _kpis(base))
