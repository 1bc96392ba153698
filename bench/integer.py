"""Benchmark: integer plans (minimum transfer size, partner limits) — the planner against a plain HiGHS MILP.

    .venv/bin/python bench/integer.py [baseline province detailed] [--repeat N] [--time-limit S]

Cases: the Jilin baseline with min_lot_mu = 50, max_partners_per_seller = 3, max_partners_per_buyer = 2; the
synthetic 15 x 60 province and a 60 x 200 region with the same limits. For each case it alternates
  planner: `python -m planner solve DIR --out OUT [--time-limit S]` (a fresh process: the whole command), and
  naive:   `python bench/integer.py --naive DIR [--time-limit S]` (a fresh process: the model of DESIGN section 4
           read from the folder with pandas, naive big-M x <= min(surplus, demand)·z, scipy.optimize.milp),
and prints wall seconds (best of N), the in-process solve seconds, status, objective, proven bound and gap of each
side by side. Not a test: numbers depend on the machine.

The naive model is written from DESIGN section 4 alone (no planner code): sellers, buyers, bands, lots (per-lot
supply and grade, ready years against deal years), deals fixed, budgets, construction and cultivated caps, the
quality aggregate, min lot and partner limits. Plan adjustment and min_sale_share are not covered (the cases use
neither).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMITS = {"min_lot_mu": 50, "max_partners_per_seller": 3, "max_partners_per_buyer": 2}
CASES = {"baseline": None, "province": (15, 60), "region": (60, 200)}


# --------------------------------------------------------------------------- the naive MILP (DESIGN 4 alone)

def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def naive(folder: str, time_limit: float | None = None) -> dict:
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    folder = Path(folder)
    st = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    pricing, rules = st.get("pricing", {}), st.get("rules", {})
    c = pd.read_csv(folder / "counties.csv", dtype={"code": str}, encoding="utf-8-sig")
    for col in ("surplus_mu", "demand_mu"):
        c[col] = pd.to_numeric(c[col], errors="coerce")
    lots_path = folder / "lots.csv"
    end_year = st.get("horizon", {}).get("end_year")
    if "start_year" in st.get("horizon", {}) and end_year is None:
        end_year = st["horizon"]["start_year"] + 3
    if lots_path.exists():
        lots = pd.read_csv(lots_path, dtype={"county_code": str, "lot_id": str}, encoding="utf-8-sig")
        net = _num(lots, "area_mu") - np.nan_to_num(_num(lots, "used_locally_mu")) \
            - np.nan_to_num(_num(lots, "reserved_rural_mu")) - np.nan_to_num(_num(lots, "turnover_owed_mu"))
        lots["net"] = net
        lots["ready"] = _num(lots, "ready_year")
        ok = lots["status"].isin(rules.get("saleable_status", ["confirmed"])) & (lots["net"] > 1e-6)
        if end_year is not None:
            ok &= ~(lots["ready"] > end_year)
        lots = lots[ok]
        c["surplus_mu"] = c["code"].map(lots.groupby("county_code")["net"].sum()).fillna(0.0)
        units = pd.DataFrame({"county": lots["county_code"].to_numpy(), "supply": lots["net"].to_numpy(),
                              "grade": np.where(np.isnan(_num(lots, "reclaimed_quality_grade")),
                                                lots["county_code"].map(dict(zip(c["code"],
                                                                                 _num(c, "reclaimed_quality_grade")))),
                                                _num(lots, "reclaimed_quality_grade")),
                              "ready": lots["ready"].to_numpy()})
    else:
        units = None
    sel = c[c["poverty_class"].isin(["national_key", "provincial"]) & (c["surplus_mu"].fillna(0) > 1e-6)]
    sel = sel.reset_index(drop=True)
    buy = c[c["demand_mu"].fillna(0) > 1e-6].reset_index(drop=True)
    if units is None:
        units = pd.DataFrame({"county": sel["code"], "supply": sel["surplus_mu"],
                              "grade": _num(sel, "reclaimed_quality_grade"), "ready": np.nan})
    units = units[units["county"].isin(set(sel["code"]))].reset_index(drop=True)
    s_pos = {code: i for i, code in enumerate(sel["code"])}
    ns, nb = len(sel), len(buy)

    # Pairs: band, price, overrides, deals.
    over = {}
    pairs_path = folder / "pairs.csv"
    if pairs_path.exists():
        p = pd.read_csv(pairs_path, dtype={"seller_code": str, "buyer_code": str}, encoding="utf-8-sig")
        for row in p.to_dict("records"):
            over.setdefault((row["seller_code"], row["buyer_code"]), row)
    floor_s = np.nan_to_num(_num(sel, "floor_price"))
    ceil_b = _num(buy, "ceiling_price")
    w_s = np.where(sel["poverty_class"] == "national_key", rules.get("priority_weight_national_key", 1.0),
                   rules.get("priority_weight_provincial", 1.0))
    pair_list = []  # (s, b, price, coefficient, deal_mu, deal_year)
    for s in range(ns):
        for b in range(nb):
            sc, bc = sel["code"][s], buy["code"][b]
            if sc == bc:
                continue
            o = over.get((sc, bc), {})
            lo = max(floor_s[s], pricing.get("guide_floor", 0.0) or 0.0)
            hi = ceil_b[b] if not np.isnan(ceil_b[b]) else np.inf
            if pricing.get("guide_ceiling") is not None:
                hi = min(hi, pricing["guide_ceiling"])
            if pd.notna(o.get("floor_price")) and str(o.get("floor_price")).strip() != "":
                lo = max(lo, float(o["floor_price"]))
            if pd.notna(o.get("ceiling_price")) and str(o.get("ceiling_price")).strip() != "":
                hi = min(hi, float(o["ceiling_price"]))
            deal = np.nan
            if str(o.get("status", "")) in ("signed", "filed") and pd.notna(o.get("agreed_mu")) \
                    and float(o["agreed_mu"]) > 0:
                deal = float(o["agreed_mu"])
            if np.isnan(deal):
                if str(o.get("excluded", "")).lower() == "true" or lo > hi + 1e-9:
                    continue
            agreed = o.get("agreed_price")
            price = float(agreed) if pd.notna(agreed) and str(agreed).strip() != "" else \
                lo + float(pricing.get("bargaining_weight", 0.5)) * ((hi if np.isfinite(hi) else lo) - lo)
            objective = rules.get("objective", "proceeds")
            coef = w_s[s] * (price if objective == "proceeds" else 1.0 if objective == "volume"
                             else (hi if np.isfinite(hi) else lo) - lo)
            dyear = float(o["year"]) if not np.isnan(deal) and pd.notna(o.get("year")) else np.nan
            pair_list.append((s, b, price, coef, deal, dyear))
    n = len(pair_list)
    # Flows: one per (unit of the seller, pair); a deal takes only quota ready by its year.
    f_unit, f_pair = [], []
    unit_of = units.groupby("county").indices
    for k, (s, b, _, _, deal, dyear) in enumerate(pair_list):
        for u in unit_of.get(sel["code"][s], []):
            if not np.isnan(dyear) and units["ready"][u] > dyear:
                continue
            f_unit.append(u)
            f_pair.append(k)
    f_unit, f_pair = np.array(f_unit, dtype=int), np.array(f_pair, dtype=int)
    nf = len(f_pair)
    P = np.array([q[:4] for q in pair_list], dtype=float).reshape(-1, 4)
    p_s, p_b, p_price, p_coef = P[:, 0].astype(int), P[:, 1].astype(int), P[:, 2], P[:, 3]
    p_deal = np.array([q[4] for q in pair_list], dtype=float)
    # Columns: x (flows), z (pairs).
    ncol = nf + n
    cost = np.concatenate([-p_coef[f_pair], np.zeros(n)])
    rows, cols, vals, lo_r, hi_r = [], [], [], [], []
    r = 0

    def add(cidx, v, lo_, hi_):
        nonlocal r
        rows.extend([r] * len(cidx))
        cols.extend(cidx)
        vals.extend(v)
        lo_r.append(lo_)
        hi_r.append(hi_)
        r += 1

    fb = p_b[f_pair]
    for u in range(len(units)):
        idx = np.nonzero(f_unit == u)[0]
        if len(idx):
            add(idx, np.ones(len(idx)), -np.inf, units["supply"][u])
    budget, head, cult = _num(buy, "budget_wan"), _num(buy, "construction_headroom_mu"), \
        _num(buy, "cultivated_headroom_mu")
    share = np.nan_to_num(_num(buy, "cultivated_share"), nan=1.0)
    g_b = _num(buy, "occupied_quality_grade")
    g_u = units["grade"].to_numpy(dtype=float)
    for b in range(nb):
        idx = np.nonzero(fb == b)[0]
        if not len(idx):
            continue
        add(idx, np.ones(len(idx)), -np.inf, buy["demand_mu"][b])
        if not np.isnan(budget[b]):
            add(idx, p_price[f_pair[idx]], -np.inf, budget[b])
        if not np.isnan(head[b]):
            add(idx, np.ones(len(idx)), -np.inf, head[b])
        if not np.isnan(cult[b]):
            add(idx, np.full(len(idx), share[b]), -np.inf, cult[b])
        if rules.get("quality_rule", "aggregate") == "aggregate" and not np.isnan(g_b[b]):
            add(idx, np.nan_to_num(g_u[f_unit[idx]] - g_b[b]), -np.inf, 0.0)
    min_lot = float(rules.get("min_lot_mu", 0) or 0)
    ks, kb = int(rules.get("max_partners_per_seller", 0) or 0), int(rules.get("max_partners_per_buyer", 0) or 0)
    surplus = sel["surplus_mu"].to_numpy(dtype=float)
    demand = buy["demand_mu"].to_numpy(dtype=float)
    for k in range(n):
        idx = list(np.nonzero(f_pair == k)[0])
        if not np.isnan(p_deal[k]):
            add(idx, [1.0] * len(idx), p_deal[k], p_deal[k])
        big_m = max(min(surplus[p_s[k]], demand[p_b[k]]), 0.0 if np.isnan(p_deal[k]) else p_deal[k])
        add(idx + [nf + k], [1.0] * len(idx) + [-big_m], -np.inf, 0.0)  # x <= M z
        if min_lot > 0 and np.isnan(p_deal[k]):
            add(idx + [nf + k], [1.0] * len(idx) + [-min_lot], 0.0, np.inf)  # x >= min_lot z
    for owner, limit in ((p_s, ks), (p_b, kb)):
        if limit > 0:
            for o in np.unique(owner):
                idx = nf + np.nonzero(owner == o)[0]
                add(idx, np.ones(len(idx)), -np.inf, float(limit))
    A = sp.csr_matrix((vals, (rows, cols)), shape=(r, ncol))
    integrality = np.concatenate([np.zeros(nf), np.ones(n)])
    z_lo = np.where(np.isnan(p_deal), 0.0, 1.0)
    bounds = Bounds(np.concatenate([np.zeros(nf), z_lo]), np.concatenate([np.full(nf, np.inf), np.ones(n)]))
    t1 = time.perf_counter()
    options = {"time_limit": time_limit} if time_limit else {}
    res = milp(cost, constraints=LinearConstraint(A, lo_r, hi_r), integrality=integrality, bounds=bounds,
               options={**options, "mip_rel_gap": 0.0})
    t2 = time.perf_counter()
    objective = float(-res.fun) if res.x is not None else None
    bound = float(-res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else None
    gap = getattr(res, "mip_gap", None)
    status = {0: "optimal", 1: "time_limit"}.get(res.status, f"failed ({res.message})")
    return {"status": status, "objective": objective, "best_bound": bound,
            "mip_gap": float(gap) if gap is not None else None, "variables": int(ncol), "integer": int(n),
            "rows": int(r), "seconds_build": t1 - t0, "seconds_solve": t2 - t1, "seconds": t2 - t0}


# --------------------------------------------------------------------------- cases and the side-by-side table

def with_limits(folder: Path) -> Path:
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    for key, value in LIMITS.items():
        toml = re.sub(rf"^{key}\s*=.*$", f"{key} = {value}", toml, flags=re.M)
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    return folder


def make_case(name: str, work: Path) -> Path:
    import shutil

    folder = work / name
    if name == "baseline":
        shutil.copytree(ROOT / "scenarios" / "jilin-baseline", folder, dirs_exist_ok=True)
    else:
        from bench.generate import SIZES, make

        SIZES.setdefault(name, CASES[name])
        make(name, folder)
    return with_limits(folder)


MEASURE = """
import json, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - t, "rc": p.returncode, "stdout": p.stdout[-3000:],
                  "stderr": p.stderr[-3000:]}))
"""


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout)


def in_process(folder: Path, time_limit: float | None) -> dict:
    from planner.model import solve
    from planner.validate import load_checked

    scn, _ = load_checked(folder)
    t = time.perf_counter()
    res = solve(scn, time_limit=time_limit)
    return {"seconds": time.perf_counter() - t, "status": res.status, "objective": res.totals["solver_objective"],
            "best_bound": res.best_bound, "mip_gap": res.mip_gap}


def bench_case(name: str, repeat: int, work: Path, time_limit: float | None) -> dict:
    folder = make_case(name, work)
    out = work / f"{name}-out"
    tl = ["--time-limit", str(time_limit)] if time_limit else []
    planner_runs, naive_runs = [], []
    for _ in range(repeat):
        planner_runs.append(measure([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out), *tl]))
        naive_runs.append(measure([sys.executable, str(ROOT / "bench" / "integer.py"), "--naive", str(folder), *tl]))
    for run in planner_runs + naive_runs:
        if run["rc"] not in (0, 1):  # 1: no plan within the time limit (summary.json says so)
            raise SystemExit(f"a run failed: {run['stderr']}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    raw = json.loads(naive_runs[-1]["stdout"].strip().splitlines()[-1])
    proc = in_process(folder, time_limit)
    return {"case": name, "planner_s": min(r["seconds"] for r in planner_runs),
            "naive_s": min(r["seconds"] for r in naive_runs), "planner_in_process_s": proc["seconds"],
            "naive_solve_s": raw["seconds_solve"], "planner_status": summary["status"],
            "naive_status": raw["status"],
            "planner_objective": summary["totals"].get("solver_objective", summary["objective"]),
            "naive_objective": raw["objective"], "planner_gap": summary.get("mip_gap"),
            "naive_gap": raw["mip_gap"], "planner_bound": summary.get("best_bound"),
            "naive_bound": raw["best_bound"]}


def _fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec) if isinstance(v, (int, float)) else str(v)


def print_table(rows: list[dict]) -> None:
    print(f"{'case':<9} {'planner s':>9} {'in-proc s':>9} {'naive s':>8} {'ratio':>6}  "
          f"{'planner status/obj/gap':<40} {'naive status/obj/gap':<40}")
    for r in rows:
        p = f"{r['planner_status']} {_fmt(r['planner_objective'], ',.2f')} {_fmt(r['planner_gap'], '.3%')}"
        q = f"{r['naive_status']} {_fmt(r['naive_objective'], ',.2f')} {_fmt(r['naive_gap'], '.3%')}"
        print(f"{r['case']:<9} {r['planner_s']:>9.2f} {r['planner_in_process_s']:>9.2f} {r['naive_s']:>8.2f} "
              f"{r['planner_s'] / r['naive_s']:>6.2f}  {p:<40} {q:<40}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=list(CASES))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    ap.add_argument("--naive", default=None, help="(internal) solve this folder with the naive MILP; print JSON")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    a = ap.parse_args()
    if a.naive:
        print(json.dumps(naive(a.naive, a.time_limit)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-integer-") as tmp:
        rows = [bench_case(name, a.repeat, Path(tmp), a.time_limit) for name in a.cases]
    print_table(rows)
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
