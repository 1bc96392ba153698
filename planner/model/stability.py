"""Stable plans on request: among the plans within a stated tolerance of the optimum, the one that changes fewest 亩
against a reference plan (the previous solve, or a saved scenario's plan).

An LP or integer model often has many plans as good, or nearly as good, as the optimum; after a small edit the
solver may pick one that reshuffles many pairings, which staff then have to renegotiate and explain. Two stages:
1. solve as usual (`pipeline.solve`): the optimum, as every page and the CLI show it;
2. the same model (the PuLP formulation of record, or its matrix twin for very large LPs) plus one row keeping the
   objective within the tolerance of that optimum (and one keeping the min_sale shortfall no higher), minimising
   Σ |x_p − x_ref_p| over county pairs p (quota summed over lots and years), through split variables
   x_p − x_ref_p = d⁺_p − d⁻_p.
Every rule of the model holds in stage 2 (it is the same model with two more rows), integer rules included; the
result is postprocessed like any solve, so it is an ordinary SolveResult.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner import i18n
from planner.csvio import read_csv_file
from planner.model.formulation import formulate
from planner.model.market import Market, county_tokens, market
from planner.model.matrix import LinearModel, build, col_names
from planner.model.pipeline import solve
from planner.model.results import SolveResult, by_pair, postprocess
from planner.model.solvers import RawSolution, _solve_highs, _worst_violation, solve_pulp
from planner.scenario import Scenario

DEFAULT_TOLERANCE = 0.001  # 0.1 % of the objective: a planning choice, set by the user
SHORTFALL_SLACK_MU = 0.01  # the optimum's shortfall is known to 0.01 亩 (as printed)
REFERENCE_COLUMNS = ("seller_code", "buyer_code", "quota_mu")


def reference_quota(mk: Market, reference_pairings: pd.DataFrame) -> tuple[np.ndarray, float]:
    """The reference plan's quota per admissible pair of `mk` (0 where it has none), and the quota it has on pairs
    that are no longer admissible (a change whatever the new plan does)."""
    ref = by_pair(reference_pairings) if len(reference_pairings) else reference_pairings
    if not len(ref):
        return np.zeros(len(mk.pairs)), 0.0
    quota = pd.to_numeric(ref["quota_mu"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    keys = list(zip(ref["seller_code"].astype(str), ref["buyer_code"].astype(str)))
    by_key: dict[tuple[str, str], float] = {}
    for key, q in zip(keys, quota):
        by_key[key] = by_key.get(key, 0.0) + q
    pair_keys = list(zip(mk.pairs["seller_code"].astype(str), mk.pairs["buyer_code"].astype(str)))
    out = np.array([by_key.pop(k, 0.0) for k in pair_keys], dtype=float)
    return out, float(sum(by_key.values()))


def changed_mu(pairings: pd.DataFrame, reference_pairings: pd.DataFrame) -> float:
    """Σ |x − x_ref| over county pairs (quota summed over lots and years): how many 亩 a plan moves."""
    a = _pair_quota(pairings)
    b = _pair_quota(reference_pairings)
    both = a.index.union(b.index)
    return float(np.round((a.reindex(both, fill_value=0.0) - b.reindex(both, fill_value=0.0)).abs().sum(), 2))


def _pair_quota(pairings: pd.DataFrame) -> pd.Series:
    if not len(pairings):
        return pd.Series(dtype=float)
    df = pairings.assign(seller_code=pairings["seller_code"].astype(str),
                         buyer_code=pairings["buyer_code"].astype(str),
                         quota_mu=pd.to_numeric(pairings["quota_mu"], errors="coerce").fillna(0.0))
    return df.groupby(["seller_code", "buyer_code"])["quota_mu"].sum()


def read_reference(path) -> pd.DataFrame:
    """A pairings CSV as `solve --out` writes it, or as the app downloads it (headers in Chinese or English)."""
    df, _ = read_csv_file(Path(path))
    labels = {i18n.t(f"col.{c}", lg).strip().lower(): c for c in REFERENCE_COLUMNS for lg in i18n.LANGS}
    df = df.rename(columns={h: labels.get(str(h).strip().lower(), str(h).strip().lower()) for h in df.columns})
    missing = [c for c in REFERENCE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: reference pairings need the columns {', '.join(missing)}")
    out = df[list(REFERENCE_COLUMNS) + (["year"] if "year" in df.columns else [])].copy()
    out["quota_mu"] = pd.to_numeric(out["quota_mu"], errors="coerce")
    if out["quota_mu"].isna().any():
        bad = int(np.flatnonzero(out["quota_mu"].isna())[0]) + 2
        raise ValueError(f"{path}: row {bad}: quota_mu is not a number")
    return out


def solve_near(scn: Scenario, reference_pairings: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE,
               solver: str = "highs", time_limit: float | None = None) -> SolveResult:
    """The plan nearest to `reference_pairings` (fewest 亩 changed, pair by pair) among the plans whose objective is
    within `tolerance` (relative, e.g. 0.001 = 0.1 %) of the optimum. Never raises for a valid scenario: when stage 2
    fails, the optimum of stage 1 is returned and its message says so.

    totals gain `reference_changed_mu` (Σ|x − x_ref| of this plan), `optimum_changed_mu` (the same for the plain
    optimum), `optimum_objective`, `near_tolerance` and `near_found` (False when the optimum is shown instead)."""
    if not 0.0 <= float(tolerance) < 1.0:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance!r}")
    first = solve(scn, solver=solver, time_limit=time_limit)
    plain_changed = changed_mu(first.pairings, reference_pairings)
    facts = {"optimum_objective": first.objective, "optimum_changed_mu": plain_changed,
             "reference_changed_mu": plain_changed, "near_tolerance": float(tolerance), "near_found": False}
    if not first.has_solution:
        return _with_facts(first, facts, " (stable plan not sought: no optimum)")
    t0 = time.perf_counter()
    mk = market(scn)
    m = dataclasses.replace(build(mk), tie_cost=None)  # the tie-break's distance would pull the plan away again
    if m.n_cols == 0 or plain_changed == 0.0:  # the optimum is as near as can be
        return _with_facts(first, {**facts, "near_found": True}, "")
    ref, gone_mu = reference_quota(mk, reference_pairings)
    short = m.col_kind == "short"
    optimum = float(first.totals["solver_objective"])
    # The plan is printed to 0.01 亩 (and snapped to the reference's 0.01 亩): keep room for what that may cost
    # (half a hundredth of a 亩 a pair), so that the printed plan, not only the solver's, stays within the
    # tolerance; at most 2 % of the tolerance, so that a plan well within it still counts.
    printing = 0.005 * float(np.abs(m.c[~short]).max(initial=0.0)) * (len(first.pairings) + int((ref > 0).sum()))
    floor = optimum - float(tolerance) * abs(optimum) + min(0.02 * float(tolerance) * abs(optimum), printing)
    short_cap = float(first.totals.get("min_sale_shortfall_mu", 0.0)) + SHORTFALL_SLACK_MU if short.any() else None
    seconds_build = time.perf_counter() - t0
    remaining = None if time_limit is None else max(1.0, float(time_limit) - first.seconds_solve)
    try:
        raw = _stage_two(mk, m, ref, floor, short_cap, solver, first.algorithm, remaining)
    except Exception as exc:  # noqa: BLE001 - the optimum stands; reported, not raised
        return _with_facts(first, facts, f" (stable plan not found: {exc})")
    if not raw.has_solution:
        return _with_facts(first, facts, f" (stable plan not found: {raw.message})")
    raw = _as_planner_solution(m, raw, first, ref)
    near = postprocess(scn, m, raw, solver, f"{first.algorithm}+near", first.seconds_build + seconds_build)
    near.seconds_solve += first.seconds_solve
    facts.update(reference_changed_mu=changed_mu(near.pairings, reference_pairings), near_found=True)
    if facts["reference_changed_mu"] > plain_changed + 1e-6:  # rounding can only cost 0.01 亩 a pair; never worse
        return _with_facts(first, {**facts, "reference_changed_mu": plain_changed}, "")
    near.message = (f"{raw.message}; nearest plan to the reference within {tolerance:.4g} of the optimum "
                    f"({facts['reference_changed_mu']:g} 亩 changed, {plain_changed:g} in the optimum; "
                    f"{gone_mu:g} 亩 on pairs no longer admissible)")
    return _with_facts(near, facts, "")


def _stage_two(mk: Market, m: LinearModel, ref: np.ndarray, floor: float, short_cap: float | None, solver: str,
               algorithm: str, time_limit: float | None) -> RawSolution:
    """The nearest plan: by the dive when it proves itself, else by the solver on the formulation of record (or on
    the arrays, as stage 1 did for very large models); the better of the two when both have a plan."""
    m2 = _near_model(m, ref, floor, short_cap)
    dived, proven = _dive(m2, m.n_cols, ref, time_limit) if m.is_mip and solver == "highs" else (None, False)
    if proven:
        return dived
    if algorithm == "pulp":
        raw = _near_pulp(mk, m, ref, floor, short_cap, solver, time_limit)
    else:
        raw = _solve_highs(m2, time_limit, "auto")
        raw = dataclasses.replace(raw, x=raw.x[:m.n_cols], row_dual=None)
    if dived is not None and (not raw.has_solution or _distance(m, dived.x, ref) < _distance(m, raw.x, ref) - 1e-6):
        return dataclasses.replace(dived, status=raw.status if raw.status != "failed" else "time_limit",
                                   message=f"{dived.message}; {raw.message}")
    return raw


def _with_facts(result: SolveResult, facts: dict, note: str) -> SolveResult:
    result.totals = {**result.totals, **facts}
    result.message += note
    return result


def _as_planner_solution(m: LinearModel, raw: RawSolution, first: SolveResult, ref: np.ndarray) -> RawSolution:
    """Stage 2's answer stated on the planner's objective: its value, the optimum's bound and the proven gap to it;
    the shadow prices are the optimum's (what one unit more of a limit is worth there)."""
    objective = float(m.c @ raw.x)
    optimum = float(first.totals["solver_objective"])
    # A bound below the optimum's own value is no bound (PuLP hands HiGHS the minimisation of −objective, and the
    # bound comes back with that sign): the optimum then serves, proven optimal as it is.
    bound = max(first.best_bound, optimum) if first.best_bound is not None else optimum
    short = m.col_kind == "short"
    main = float(m.c[~short] @ raw.x[~short])
    gap = max(0.0, (bound - main) / max(1.0, abs(bound))) if m.is_mip else None
    duals = None
    shadow = first.constraints.get("shadow_price") if len(first.constraints) == m.n_rows else None
    if shadow is not None and not shadow.isna().all() and not m.is_mip:
        sign = np.where(np.isfinite(m.row_hi), 1.0, -1.0)
        duals = sign * shadow.to_numpy(dtype=float)
    return dataclasses.replace(raw, x=_on_grid(m, raw.x, ref), objective=objective, row_dual=duals,
                               best_bound=bound if m.is_mip else None, mip_gap=gap)


def _on_grid(m: LinearModel, x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Each pair's flows (by lot and year) on the 0.01-亩 grid, adding up to the reference's quota where the pair
    is within 0.01 亩 of it, else to the pair's total to 0.01 亩.

    The reference is a printed plan (0.01 亩) and stage 2 fixes pair totals, not how a pair splits over lots and
    years: 306 亩 may come as 0.005 + 305.995, which prints as 305.99, and 74.57 亩 as 74.5767 (printed 74.58) —
    changes of 0.01 亩 nobody made. Flows are rounded down and the pair's remaining hundredths go to its flows with
    the largest remainders (the results stage then still keeps every limit)."""
    x = x.copy()
    x_cols, x_pair = _pair_flows(m)
    if not len(x_cols):
        return x
    v = np.maximum(x[x_cols], 0.0)
    cents = np.floor(v * 100.0 + 1e-6)
    total = np.bincount(x_pair, weights=v, minlength=len(ref))
    target = np.where(np.abs(total - ref) < 0.01 - 1e-9, np.round(ref * 100.0), np.round(total * 100.0))
    missing = np.maximum(0.0, target - np.bincount(x_pair, weights=cents, minlength=len(ref)))
    remainder = np.round(v * 100.0 - cents, 6)
    order = np.lexsort((-v, -remainder, x_pair))  # on a tie the larger flow: dust (0.005 亩) goes, not grows
    rank = np.arange(len(order)) - np.searchsorted(x_pair[order], x_pair[order])  # position within its pair
    bump = np.zeros(len(order))
    bump[order] = (rank < missing[x_pair[order]]).astype(float)
    x[x_cols] = (cents + bump) / 100.0
    return x


def _pair_flows(m: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """x columns and the pair each belongs to."""
    x_cols = np.flatnonzero(m.col_kind == "x")
    return x_cols, m.market.flows["pair_idx"].to_numpy()[m.col_ref[x_cols]]


def _near_model(m: LinearModel, ref: np.ndarray, floor: float, short_cap: float | None) -> LinearModel:
    """Stage 2 as arrays: the model's columns (cost 0) plus d⁺, d⁻ per pair (cost −1: maximise −Σ(d⁺ + d⁻)); its
    rows plus one per pair (Σ x − d⁺ + d⁻ = x_ref), the objective row (≥ floor) and the shortfall row (≤ cap)."""
    n, rows = m.n_cols, m.n_rows
    x_cols, x_pair = _pair_flows(m)
    pairs = np.unique(x_pair)
    k = len(pairs)
    local = np.searchsorted(pairs, x_pair)
    short = np.flatnonzero(m.col_kind == "short")
    main = np.flatnonzero((m.col_kind != "short") & (m.c != 0))
    r = [local, np.arange(k), np.arange(k), np.full(len(main), k)]
    c = [x_cols, n + np.arange(k), n + k + np.arange(k), main]
    v = [np.ones(len(x_cols)), -np.ones(k), np.ones(k), m.c[main]]
    extra_lo, extra_hi = list(ref[pairs]) + [floor], list(ref[pairs]) + [np.inf]
    if short_cap is not None:
        r.append(np.full(len(short), k + 1))
        c.append(short)
        v.append(np.ones(len(short)))
        extra_lo.append(-np.inf)
        extra_hi.append(short_cap)
    n_extra = len(extra_lo)
    block = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(n_extra, n + 2 * k))
    A = sp.vstack([sp.hstack([m.A, sp.csr_matrix((rows, 2 * k))]), block]).tocsr()
    return dataclasses.replace(
        m, c=np.concatenate([np.zeros(n), -np.ones(2 * k)]), A=A,
        row_lo=np.concatenate([m.row_lo, extra_lo]), row_hi=np.concatenate([m.row_hi, extra_hi]),
        col_lo=np.concatenate([m.col_lo, np.zeros(2 * k)]), col_hi=np.concatenate([m.col_hi, np.full(2 * k, np.inf)]),
        integer=np.concatenate([m.integer, np.zeros(2 * k, dtype=bool)]),
        col_kind=np.concatenate([m.col_kind, np.full(2 * k, "d", dtype=object)]),
        col_ref=np.concatenate([m.col_ref, pairs, pairs]),
        row_kind=np.concatenate([m.row_kind, np.full(n_extra, "near", dtype=object)]),
        row_code=np.concatenate([m.row_code, np.full(n_extra, "", dtype=object)]),
        row_ref=np.concatenate([m.row_ref, np.full(n_extra, -1)]),
        row_owner=np.concatenate([m.row_owner, np.zeros(n_extra, dtype=m.row_owner.dtype)]))


def _dive(m2: LinearModel, n: int, ref: np.ndarray, time_limit: float | None) -> tuple[RawSolution | None, bool]:
    """Integer models: stage 2 with the on/off decisions relaxed bounds the fewest 亩 changed. Dive from its plan:
    a pair moving less than the minimum lot is opened (at least the minimum lot) when the reference has it at that
    size, else closed, and the relaxation solved again, until every pairing keeps the rules. Returns the plan (model
    columns only) and whether it is proven nearest (as near as the bound); (None, False) when the dive fails
    (branch-and-bound then decides)."""
    mk = m2.market
    r = mk.rules
    lp = dataclasses.replace(m2, integer=np.zeros(m2.n_cols, dtype=bool), is_mip=False,
                             col_lo=m2.col_lo.copy(), col_hi=m2.col_hi.copy())
    x_cols, x_pair = _pair_flows(m2)
    z_col = np.full(len(mk.pairs), -1)
    z_mask = m2.col_kind == "z"
    z_col[m2.col_ref[z_mask]] = np.flatnonzero(z_mask)
    deal = ~np.isnan(mk.deal_mu())
    min_lot = float(r["min_lot_mu"])
    raw = _solve_highs(lp, time_limit, "simplex")
    if raw.status != "optimal":
        return None, False
    bound = -float(raw.objective)
    seconds = raw.seconds
    for _ in range(25):
        total = np.bincount(x_pair, weights=raw.x[x_cols], minlength=len(mk.pairs))
        used = total > 1e-9
        for owner, limit in (("seller_idx", int(r["max_partners_per_seller"])),
                             ("buyer_idx", int(r["max_partners_per_buyer"]))):
            if limit > 0 and np.bincount(mk.pairs[owner].to_numpy()[used | deal]).max(initial=0) > limit:
                return None, False
        small = used & ~deal & (total < min_lot - 1e-9)
        if not small.any():
            break
        opened = small & (ref >= min_lot - 1e-9) & (z_col >= 0)
        lp.col_lo[z_col[opened]] = 1.0
        closed = small & ~opened
        lp.col_hi[x_cols[closed[x_pair]]] = 0.0
        raw = _solve_highs(lp, time_limit, "simplex")
        seconds += raw.seconds
        if raw.status != "optimal" and opened.any():  # opening asked too much: close them after all
            lp.col_lo[z_col[opened]] = 0.0
            lp.col_hi[x_cols[opened[x_pair]]] = 0.0
            raw = _solve_highs(lp, time_limit, "simplex")
            seconds += raw.seconds
        if raw.status != "optimal":
            return None, False
    else:
        return None, False
    full = raw.x.copy()
    full[z_mask] = (used | deal)[m2.col_ref[z_mask]].astype(float)
    if _worst_violation(m2, full) > 1e-7:
        return None, False
    distance = -float(m2.c @ full)
    proven = distance <= bound + 1e-6 * max(1.0, bound)
    text = "Optimal (a plan as near as the bound: proven)" if proven else "Nearest plan found by the dive"
    return RawSolution("optimal", text, True, full[:n], None, 0.0, seconds), proven


def _distance(m: LinearModel, x: np.ndarray, ref: np.ndarray) -> float:
    x_cols, x_pair = _pair_flows(m)
    total = np.bincount(x_pair, weights=x[x_cols], minlength=len(ref))
    return float(np.abs(total - ref).sum())


def _near_pulp(mk: Market, m: LinearModel, ref: np.ndarray, floor: float, short_cap: float | None, solver: str,
               time_limit: float | None) -> RawSolution:
    """Stage 2 on the formulation of record: the same named model plus `near_<seller>_<buyer>` rows with their split
    variables `dplus_/dminus_<seller>_<buyer>`, `objective_floor` and `shortfall_cap`; minimise Σ(d⁺ + d⁻)."""
    import pulp

    form = formulate(mk)
    prob = form.problem
    names = col_names(m)
    variables = prob.variablesDict()
    cols = [variables[name] for name in names]
    short = m.col_kind == "short"
    prob += (pulp.lpSum(float(m.c[j]) * cols[j] for j in np.flatnonzero(~short & (m.c != 0))) >= floor,
             "objective_floor")
    if short_cap is not None:
        prob += pulp.lpSum(cols[j] for j in np.flatnonzero(short)) <= short_cap, "shortfall_cap"
    tok = county_tokens(mk.sellers, mk.buyers)
    x_cols, x_pair = _pair_flows(m)
    flows_of: dict[int, list] = {}
    for j, p in zip(x_cols, x_pair):
        flows_of.setdefault(int(p), []).append(cols[j])
    distance = []
    for p, xs in sorted(flows_of.items()):
        name = f"{tok[str(mk.pairs['seller_code'].iat[p])]}_{tok[str(mk.pairs['buyer_code'].iat[p])]}"
        up, down = pulp.LpVariable(f"dplus_{name}", lowBound=0), pulp.LpVariable(f"dminus_{name}", lowBound=0)
        prob += pulp.lpSum(xs) - up + down == float(ref[p]), f"near_{name}"
        distance += [up, down]
    prob.sense = pulp.LpMinimize
    prob.setObjective(pulp.lpSum(distance))
    return solve_pulp(m, form, solver, time_limit)


__all__ = ["solve_near", "reference_quota", "changed_mu", "read_reference", "DEFAULT_TOLERANCE"]
