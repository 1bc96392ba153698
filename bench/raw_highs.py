"""The reference: the same LP built directly with numpy and solved by scipy's HiGHS interior point.

Written from DESIGN section 4 without the planner's code, for the LP case the benchmark generates (no plan
adjustment, no integer rules, quality rule off). Prints JSON: objective, seconds to build, to solve, in total.
"""
from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog


def main(folder: str, method: str = "highs-ipm") -> dict:
    t0 = time.perf_counter()
    folder = Path(folder)
    settings = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    pricing, rules = settings["pricing"], settings["rules"]
    c = pd.read_csv(folder / "counties.csv", dtype={"code": str}, encoding="utf-8-sig")
    pairs_path = folder / "pairs.csv"
    excluded = set()
    if pairs_path.exists():
        p = pd.read_csv(pairs_path, dtype={"seller_code": str, "buyer_code": str}, encoding="utf-8-sig")
        excluded = {(s, b) for s, b, e in zip(p["seller_code"], p["buyer_code"], p["excluded"]) if str(e) == "True"
                    or str(e).lower() == "true"}
    sel = c[c["poverty_class"].isin(["national_key", "provincial"]) & (c["surplus_mu"].fillna(0) > 0)]
    buy = c[c["demand_mu"].fillna(0) > 0]
    ns, nb = len(sel), len(buy)
    lo = np.maximum.outer(np.maximum(sel["floor_price"].fillna(0).to_numpy(), pricing["guide_floor"]), np.zeros(nb))
    hi = np.minimum.outer(np.full(ns, pricing["guide_ceiling"]), buy["ceiling_price"].to_numpy())
    ok = lo <= hi
    ok &= sel["code"].to_numpy()[:, None] != buy["code"].to_numpy()[None, :]
    if excluded:
        scodes, bcodes = sel["code"].to_numpy(), buy["code"].to_numpy()
        for s, b in excluded:
            i, j = np.nonzero(scodes == s)[0], np.nonzero(bcodes == b)[0]
            if len(i) and len(j):
                ok[i[0], j[0]] = False
    si, bi = np.nonzero(ok)
    price = lo[si, bi] + pricing["bargaining_weight"] * (hi[si, bi] - lo[si, bi])
    w = np.where(sel["poverty_class"].to_numpy() == "national_key", rules["priority_weight_national_key"],
                 rules["priority_weight_provincial"])[si]
    n = len(si)
    cols = np.arange(n)
    blocks, rhs = [], []
    blocks.append(sp.csr_matrix((np.ones(n), (si, cols)), shape=(ns, n)))
    rhs.append(sel["surplus_mu"].to_numpy(dtype=float))
    blocks.append(sp.csr_matrix((np.ones(n), (bi, cols)), shape=(nb, n)))
    rhs.append(buy["demand_mu"].to_numpy(dtype=float))
    for col, coef in (("budget_wan", price), ("construction_headroom_mu", np.ones(n)),
                      ("cultivated_headroom_mu", buy["cultivated_share"].fillna(1.0).to_numpy()[bi])):
        cap = buy[col].to_numpy(dtype=float)
        rows = np.nonzero(~np.isnan(cap))[0]
        keep = np.isin(bi, rows)
        local = np.searchsorted(rows, bi[keep])
        blocks.append(sp.csr_matrix((coef[keep], (local, cols[keep])), shape=(len(rows), n)))
        rhs.append(cap[rows])
    A = sp.vstack(blocks).tocsr()
    b = np.concatenate(rhs)
    t1 = time.perf_counter()
    res = linprog(-(w * price), A_ub=A, b_ub=b, bounds=(0, None), method=method)
    t2 = time.perf_counter()
    return {"objective": float(-res.fun) if res.status == 0 else None, "status": res.message,
            "variables": int(n), "rows": int(A.shape[0]), "seconds_build": t1 - t0, "seconds_solve": t2 - t1,
            "seconds": t2 - t0}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
