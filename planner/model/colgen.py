"""Column generation: the fast path for very large LPs (national size). Exact for the LP: the restricted master
grows by the columns with positive reduced cost until none is left, so its optimum and duals are the whole model's.

Plan adjustment (article 6 ¶2) is priced as well, without its link rows (a_sb <= Σ_u x_ub, one per pair: 330,000
at national size, which made every master solve crawl). The master sees a quota flow in two forms: plain, and
"adjusted" (one 亩 of x_ub together with one 亩 of a_sb: it counts against supply, demand, budget and the seller's
adjustable space but not against the buyer's construction cap, and pays the penalty). Any plan with a_sb <= Σ_u
x_ub splits into plain and adjusted flows and back, so the two LPs are the same; the link row's dual is recovered
as max(0, reduced cost of a_sb without it), which makes every column of the full model price out (tested).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from planner.model.matrix import LinearModel
from planner.model.pricing import BlockPricing
from planner.model.solvers import (RawSolution, _highs_lp, _keep_optimum_minimise_distance, _new_highs,
                                   _tie_broken_or_first)

PRICED = ("x", "a")  # column kinds pricing brings in; every other column sits in the master from the start
LINK = "adjust_link"


def _initial_columns(m: LinearModel, per_county: int) -> np.ndarray:
    """Every column that is not priced, every agreed deal's flows (and plan adjustment), plus each supply unit's and
    each buyer's best-paying flows."""
    x_cols = np.nonzero(m.col_kind == "x")[0]
    keep = ~np.isin(m.col_kind, PRICED)
    x_pair = m.x_pairs()
    deal = ~np.isnan(m.pairs["deal_mu"].to_numpy(dtype=float))
    keep[x_cols[deal[x_pair]]] = True  # a signed deal's flows must be in the master from the start
    a_cols = np.nonzero(m.col_kind == "a")[0]
    keep[a_cols[deal[m.col_ref[a_cols]]]] = True  # and what may hold it under a construction cap
    c = m.c[x_cols]
    by_score = np.argsort(-c, kind="stable")  # one sort of 4 million scores serves both owners
    units = m.market.flows["unit_idx"].to_numpy()[m.col_ref[x_cols]]
    for by in (units, m.pairs["buyer_idx"].to_numpy()[x_pair]):
        keep[x_cols[_best_per_owner(c, by, per_county, by_score)]] = True
    return np.nonzero(keep)[0]


def _best_per_owner(score: np.ndarray, owner: np.ndarray, k: int, by_score: np.ndarray | None = None) -> np.ndarray:
    """Positions of the k highest scores of each owner (ties: the earlier position first). `by_score`: the positions
    already stably sorted by descending score, when the caller has them."""
    # Two stable sorts instead of np.lexsort, and each group's start by a running maximum instead of a binary search
    # per element: on 4 million flows (national size with lots) about 1.6 s instead of 2.5 s, the same positions.
    # Owners are indices: as 16-bit integers numpy sorts them by radix (0.15 s instead of 0.7 s there).
    order = np.argsort(-score, kind="stable") if by_score is None else by_score
    owners = owner[order]
    if len(owners) and 0 <= owners.min() and owners.max() < 2**16:
        owners = owners.astype(np.uint16)
    order = order[np.argsort(owners, kind="stable")]
    owners = owner[order]
    at = np.arange(len(order))
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = owners[1:] != owners[:-1]
    first = np.maximum.accumulate(np.where(starts, at, 0)) if len(order) else at
    return order[(at - first) < k]


def _column_owner(m: LinearModel) -> np.ndarray:
    """The buyer each priced column serves (-1 for others): a round takes a few columns per buyer."""
    owner = np.full(m.n_cols, -1, dtype=np.int64)
    x_cols = np.nonzero(m.col_kind == "x")[0]
    bi = m.pairs["buyer_idx"].to_numpy()
    owner[x_cols] = bi[m.x_pairs()]
    a_cols = np.nonzero(m.col_kind == "a")[0]
    owner[a_cols] = bi[m.col_ref[a_cols]]
    return owner


def _select(rc: np.ndarray, candidates: np.ndarray, owner: np.ndarray, batch: int, per_owner: int) -> np.ndarray:
    """The batch of a round: at most `per_owner` columns per buyer, the most attractive first, `batch` in all."""
    if per_owner and len(candidates) > batch:
        pool = candidates
        if len(pool) > 20 * batch:  # a buyer's best few are among the overall best by far
            pool = pool[np.argpartition(-rc[pool], 20 * batch)[:20 * batch]]
        pool = pool[_best_per_owner(rc[pool], owner[pool], per_owner)]
        if len(pool) >= min(batch, len(candidates)) // 2:
            candidates = pool
    if len(candidates) > batch:
        candidates = candidates[np.argpartition(-rc[candidates], batch)[:batch]]
    return np.sort(candidates)


def _priced_in(rc: np.ndarray, tol: float, batch: int, positions=None) -> np.ndarray:
    """The columns worth a look this round: all with reduced cost above `tol`, or, when there are millions, only the
    best few times `batch` of them (`_select` then takes the batch; `batch` 0: all of them).

    Early rounds find most of the 4 million flows attractive: listing them all and partitioning them was a third of
    the time outside the master. A threshold read off a sample keeps ~4 x `batch` of the best instead (the exact
    top `batch` is then picked from those); when the sample misleads, the full list is taken. `positions(values,
    threshold, inclusive)`: where values exceed the threshold (`BlockPricing.positions` runs it in threads)."""
    find = positions or _positions
    stride = 64
    if len(rc) < 64 * stride or batch <= 0:
        return find(rc, tol, False)
    sample = rc[::stride]
    keep = 4 * batch // stride + 1  # sampled values expected above the threshold
    if keep >= len(sample) or np.count_nonzero(sample > tol) <= keep:
        return find(rc, tol, False)
    threshold = np.partition(sample, len(sample) - keep)[len(sample) - keep]
    best = find(rc, max(threshold, np.nextafter(tol, np.inf)), True)
    if len(best) < batch:  # unlucky sample: fewer above the threshold than a batch
        return find(rc, tol, False)
    return best


def _positions(values: np.ndarray, threshold: float, inclusive: bool) -> np.ndarray:
    return np.nonzero(values >= threshold if inclusive else values > threshold)[0]


def _solve_highs_colgen(m: LinearModel, time_limit: float | None, per_county: int = 5,
                        batch: int = 10_000, purge_after: int = 2, per_owner: int = 0,
                        smoothing: float = 0.0) -> RawSolution:
    """Column generation over quota (and plan adjustment) columns: exact for the LP, and far faster at national size.

    The restricted model starts with each supply unit's and each buyer's best-paying flows; every round prices all
    columns at once with the duals (reduced cost c - A'y, one sparse product) and adds the most attractive ones
    (`per_owner` > 0: at most that many per buyer); when no column has a positive reduced cost the restricted
    optimum is optimal for the whole model, duals included.

    `smoothing` ranks the improving columns by their reduced cost at smoothed duals (each round's duals averaged
    with the past ones, weight `smoothing` on the past) instead of at this round's alone. The master's duals jump
    between the many equally good dual solutions of this degenerate model (every lot ranks buyers by nearly the same
    price); the average points at columns that stay useful. Only columns improving at this round's duals enter, and
    the loop still ends only when none is left, so the optimum is the same. Measured on national size with lots:
    386 rounds and 104 s without, 210 rounds and 80 s with 0.8 (0.5: 340 rounds; 0.9: 198). Without quality rows
    it does not pay (national size: 12 s without, 19 s with 0.8), so the pipeline smooths only with them.
    """
    import highspy

    t0 = time.perf_counter()
    MS = highspy.HighsModelStatus
    inf = highspy.kHighsInf
    A_csc = m.A.tocsc()
    AT = A_csc.T  # CSR view: pricing is one product with it
    n = m.n_cols

    # Adjusted flows (see the module docstring): one per quota column of a pair with an `a` column.
    a_cols = np.nonzero(m.col_kind == "a")[0]
    x_cols = np.nonzero(m.col_kind == "x")[0]
    a_of_pair = np.full(len(m.pairs), -1, dtype=np.int64)
    a_of_pair[m.col_ref[a_cols]] = a_cols
    x_a = a_of_pair[m.x_pairs()] if len(x_cols) else np.zeros(0, dtype=np.int64)
    comp_x, comp_a = x_cols[x_a >= 0], x_a[x_a >= 0]
    plain_bounds = np.all(m.col_lo[comp_x] == 0) and np.all(m.col_lo[a_cols] == 0) and \
        not np.isfinite(m.col_hi[comp_x]).any() and not np.isfinite(m.col_hi[a_cols]).any()
    split = len(a_cols) > 0 and bool(plain_bounds)
    if not split:  # bounds set on x or a (never by the planner today): price `a` with its link rows in the master
        comp_x = comp_a = np.zeros(0, dtype=np.int64)
    link = (m.row_kind == LINK) if split else np.zeros(m.n_rows, dtype=bool)
    rows_in = np.nonzero(~link)[0]
    row_pos = np.full(m.n_rows, -1, dtype=np.int64)
    row_pos[rows_in] = np.arange(len(rows_in))
    A_comp = (A_csc[:, comp_x] + A_csc[:, comp_a]).tocsc() if split else None
    if split:
        A_comp.eliminate_zeros()  # the construction entry (+1 - 1) and the link entry (-1 + 1) cancel
    nv = n + len(comp_x)  # virtual columns: the model's, then the adjusted flows
    c_v = np.concatenate([m.c, m.c[comp_x] + m.c[comp_a]])
    lo_v = np.concatenate([m.col_lo, np.zeros(len(comp_x))])
    hi_v = np.concatenate([m.col_hi, np.full(len(comp_x), np.inf)])
    priced = np.concatenate([np.isin(m.col_kind, PRICED), np.ones(len(comp_x), dtype=bool)])
    owner = None  # each column's buyer: only a per-buyer cap needs it
    if per_owner:
        owner = _column_owner(m)
        owner = np.concatenate([owner, owner[comp_x]])

    def column_block(v):
        """Master columns for virtual columns v (sorted): CSC restricted to the master's rows."""
        plain, comp = v[v < n], v[v >= n] - n
        sub = A_csc[:, plain]
        if len(comp):
            sub = sp.hstack([sub, A_comp[:, comp]], format="csc")
        on = row_pos[sub.indices] >= 0
        return _kept_starts(on, sub.indptr), row_pos[sub.indices[on]], sub.data[on]

    init = _initial_columns(m, per_county)
    if split:
        init = init[m.col_kind[init] != "a"]
        deal = ~np.isnan(m.pairs["deal_mu"].to_numpy(dtype=float))
        deal_comp = np.nonzero(deal[m.col_ref[comp_x]])[0]  # a deal may need plan adjustment under its cap
        init = np.concatenate([init, n + deal_comp])
    cols = np.sort(init)

    h = _new_highs()
    h.setOptionValue("solver", "simplex")
    # Adding columns keeps the basis primal feasible, so primal simplex re-optimises from where it stopped
    # (measured 2.5x faster than dual simplex here).
    h.setOptionValue("simplex_strategy", 4)
    lp = _highs_lp(m, np.zeros(0, dtype=np.int64), A_csc)
    lp.row_lower_ = np.asarray(lp.row_lower_)[rows_in]
    lp.row_upper_ = np.asarray(lp.row_upper_)[rows_in]
    lp.num_row_ = len(rows_in)
    if h.passModel(lp) == highspy.HighsStatus.kError:
        return RawSolution("failed", "HiGHS rejected the model", False, np.zeros(n), None, 0.0, 0.0)

    def add_columns(v):
        starts, index, value = column_block(v)
        h.addCols(len(v), c_v[v].astype(float), lo_v[v].astype(float),
                  np.where(np.isfinite(hi_v[v]), hi_v[v], inf).astype(float), len(index),
                  starts.astype(np.int32), index.astype(np.int32), value.astype(float))

    add_columns(cols)
    # The tolerance scales with what priced columns earn: the min_sale shortfall's penalty (1e4 x larger) would
    # otherwise hide columns worth a few 万元 (found by the every-rule test).
    tol = 1e-7 * max(1.0, float(np.max(np.abs(c_v[priced]))) if priced.any() else 1.0)
    best = -np.inf
    stalled = 0  # rounds without progress: purging then stops, so columns only accumulate and the loop ends
    rounds = 0
    idle = np.zeros(len(cols), dtype=np.int32)  # rounds each master column has sat out of the basis
    y = np.zeros(m.n_rows)
    rc = np.zeros(n)
    rc_smooth = None  # reduced costs at the smoothed duals: linear in the duals, so averaged like them
    pricing = BlockPricing(AT, m.c)
    rank = np.empty(nv)  # what a round ranks columns by: reduced cost, or when smoothed the smoothed one
    while True:
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            if left <= 0:
                ms = MS.kTimeLimit
                break
            h.setOptionValue("time_limit", float(left))
        h.run()
        rounds += 1
        ms = h.getModelStatus()
        if ms != MS.kOptimal:
            break
        sol = h.getSolution()
        y[rows_in] = np.array(sol.row_dual, dtype=float)  # link rows stay at 0: they are not in the master
        first = rc_smooth is None
        if smoothing > 0 and first:
            rc_smooth = np.empty(n)

        def price(lo, hi):
            """Reduced costs of columns lo..hi and what ranks them (see `rank` below), written in place."""
            rc_block = pricing.block_reduced_costs(y, lo, hi)
            if smoothing > 0:
                smooth = rc_smooth[lo:hi]
                if first:
                    smooth[:] = rc_block
                else:  # in place: 4 million values a round
                    smooth *= smoothing
                    smooth += np.multiply(rc_block, 1.0 - smoothing, out=pricing.scratch(lo, hi))
                rank[lo:hi] = -np.inf  # improving columns, ranked by their smoothed reduced cost
                np.copyto(rank[lo:hi], smooth, where=rc_block > tol)
            else:
                rank[lo:hi] = rc_block

        pricing.map(price)
        rc = pricing.rc
        if split:  # the adjusted flows, after the model's columns
            rc_comp = rc[comp_x] + rc[comp_a]
            rank[n:] = np.where(rc_comp > tol, rc_smooth[comp_x] + rc_smooth[comp_a], -np.inf) if smoothing > 0 \
                else rc_comp
            rank[a_cols] = -np.inf  # `a` enters only within adjusted flows
        rank[cols] = -np.inf  # the master's own columns (indexing them beats a mask over millions)
        candidates = _priced_in(rank, -np.inf if smoothing > 0 else tol, batch if not per_owner else 0,
                                pricing.positions)
        if len(candidates) == 0:
            break
        objective = float(h.getInfo().objective_function_value)
        stalled = stalled + 1 if objective <= best + 1e-12 * max(1.0, abs(best)) else 0
        best = max(best, objective)
        if purge_after and stalled < 10:
            # Keep the master small: drop priced columns that stayed nonbasic at zero for `purge_after` rounds
            # (pricing brings any of them back if it becomes attractive again). Simplex iterations cost grows
            # with the master's width, so this keeps late rounds cheap.
            basic = np.array(h.getBasis().col_status) == highspy.HighsBasisStatus.kBasic
            at_zero = np.abs(np.array(sol.col_value)) <= 1e-12
            idle = np.where(basic | ~at_zero, 0, idle + 1)
            drop = np.nonzero((idle >= purge_after) & priced[cols])[0]
            if len(drop):
                h.deleteCols(len(drop), drop.astype(np.int32))
                keep = np.ones(len(cols), dtype=bool)
                keep[drop] = False
                cols, idle = cols[keep], idle[keep]
        candidates = _select(rank, candidates, owner, batch, per_owner)
        add_columns(candidates)
        cols = np.concatenate([cols, candidates])
        idle = np.concatenate([idle, np.zeros(len(candidates), dtype=np.int32)])
    sol = h.getSolution()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    has = bool(info.primal_solution_status >= 2)
    x = _model_plan(np.array(sol.col_value, dtype=float), (cols, n, comp_x, comp_a)) if has else np.zeros(n)
    obj = float(m.c @ x) if has else 0.0
    note = f" (column generation: {rounds} rounds, {len(cols)} of {nv} columns in the final master)"
    if ms == MS.kOptimal:
        duals = np.zeros(m.n_rows)
        duals[rows_in] = np.array(sol.row_dual, dtype=float)
        if split:
            # The link row's dual: what one more 亩 of adjustment would earn on the pair, if anything.
            link_rows = np.nonzero(link)[0]
            link_a = a_of_pair[m.row_ref[link_rows]]
            duals[link_rows] = np.maximum(0.0, rc[link_a])
        to_model = (cols, n, comp_x, comp_a)
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        x = _nearer_in_master(h, m, to_model, c_v, np.array(sol.col_value, dtype=float), x, left)
        seconds = time.perf_counter() - t0
        return RawSolution("optimal", h.modelStatusToString(ms) + note, True, x, duals, float(m.c @ x), seconds)
    if ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        # Restricted columns are a subset: the best plan found is feasible for the whole model.
        return RawSolution("time_limit", "Time limit reached" + note, has, x, None, obj, seconds)
    return RawSolution("failed", f"HiGHS: {h.modelStatusToString(ms)}{note}", False, np.zeros(n), None, 0.0,
                       seconds)


def _model_plan(value: np.ndarray, to_model) -> np.ndarray:
    """The model's columns from the master's values (an adjusted flow counts on its x and its a)."""
    cols, n, comp_x, comp_a = to_model
    x = np.zeros(n)
    plain = cols < n
    x[cols[plain]] = value[plain]
    k = cols[~plain] - n
    np.add.at(x, comp_x[k], value[~plain])
    np.add.at(x, comp_a[k], value[~plain])
    return x


def _nearer_in_master(h, m: LinearModel, to_model, c_v: np.ndarray, value: np.ndarray, x: np.ndarray,
                      time_left: float | None) -> np.ndarray:
    """The distance pass of the other paths (`solvers._break_ties`), over the columns of the final master: among the
    plans as good as the optimum that those columns make, the nearest pairs. Not the nearest over every column (that
    would be a second column generation, as long as the first at national size), but the same for the same inputs,
    and one more master solve."""
    import highspy

    if m.tie_cost is None or not np.any(m.tie_cost) or (time_left is not None and time_left <= 0):
        return x
    cols, n, comp_x, comp_a = to_model
    if time_left is not None:
        h.setOptionValue("time_limit", float(time_left))
    short = np.concatenate([m.col_kind, m.col_kind[comp_x]])[cols] == "short"
    tie_v = np.concatenate([m.tie_cost, m.tie_cost[comp_x] + m.tie_cost[comp_a]])
    _keep_optimum_minimise_distance(h, np.arange(len(cols)), c_v[cols], short, value, tie_v[cols])
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return x
    x2 = _model_plan(np.array(h.getSolution().col_value, dtype=float), to_model)
    return _tie_broken_or_first(m, x, x2, rel_tol=1e-9, violation_floor=1e-9)


def _kept_starts(keep: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Start of each compressed column once the entries where `keep` is False are dropped."""
    return np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])[indptr[:-1]]
