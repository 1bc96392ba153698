"""solve(): preprocess -> build -> solve -> postprocess, choosing the path by the model's size.

Every model up to province-plus size is built as the PuLP formulation of record and solved through PuLP. Larger
LPs take the fast path: the same model as numpy/scipy arrays (`matrix.build`), passed whole to HiGHS or, for pure
LPs, solved by column generation. The tests prove both paths build the same model.

Integer models (minimum transfer size, partner limits) first dive from the LP plan (`_relaxation_if_integral`),
which proves most of them optimal at once. When it cannot, HiGHS gets the model as arrays and starts from the dive's
plan, improved by a local search over which pairs are open (`_improve_pairings`); CBC and other solvers get the
PuLP formulation. Every solver then breaks ties the same way: nearest counties among equally good plans, with the
pairings of an integer plan kept. `time_limit` is one deadline for all of it.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np

from planner.model.formulation import formulate
from planner.model.market import market
from planner.model.matrix import build
from planner.model.results import SolveResult, postprocess
from planner.model.colgen import _solve_highs_colgen
from planner.model.solvers import RawSolution, _solve_highs, solve_pulp
from planner.scenario import Scenario

SOLVERS = ("highs", "cbc")  # offered in the app; solve() also takes any solver name PuLP knows
ALGORITHMS = ("auto", "fast", "pulp", "simplex", "ipm", "colgen")  # fast: the matrix path whatever the size
# Above this many admissible pairs, building the model in PuLP costs more than solving it (measured: ~1 s per
# 20,000 pairs); the arrays of the fast path take milliseconds.
PULP_MAX_PAIRS = 20_000


def known_solver(name: str) -> bool:
    import pulp

    return name in SOLVERS or name in pulp.listSolvers(onlyAvailable=True)


def choose_algorithm(n_flows: int, solver: str, is_mip: bool, has_adjustment: bool) -> str:
    """PuLP for everything up to PULP_MAX_PAIRS pairs and for every solver but HiGHS; else the fast path.

    Measured on 300 x 1,000 and 800 x 2,800 pair LPs: column generation beats both simplex and interior point on
    the full model by far. Plan adjustment no longer needs the full model: colgen prices `a` columns too and adds
    their link rows with them (issue 14 item 3; `has_adjustment` is kept for callers)."""
    if solver != "highs" or n_flows <= PULP_MAX_PAIRS:
        return "pulp"
    return "simplex" if is_mip else "colgen"


def check_time_limit(time_limit) -> float | None:
    """A time limit is a positive, finite number of seconds (or None: no limit). 0, negative or nan is refused with
    a message: a limit of 0 used to return an empty "plan" that looked like a result."""
    if time_limit is None:
        return None
    try:
        value = float(time_limit)
    except (TypeError, ValueError):
        raise ValueError(f"time limit {time_limit!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"time limit must be a positive number of seconds, not {time_limit!r}")
    return value


def solve(scn: Scenario, solver: str = "highs", time_limit: float | None = None,
          algorithm: str = "auto", mip_gap: float = 0.0) -> SolveResult:
    """Build and solve; never raises for a valid scenario (solver failures are reported in the result).

    `time_limit` is one deadline for the whole solve (build, dive, search, tie-break). `mip_gap`: an integer plan
    within this relative gap of the bound is accepted (0: proven optimal, the default; batch analyses such as Monte
    Carlo accept a small gap, and the result reports the gap it has)."""
    time_limit = check_time_limit(time_limit)
    if not known_solver(solver):
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS} or a solver PuLP knows")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    t0 = time.perf_counter()

    def left() -> float | None:
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    mk = market(scn)
    m = build(mk)
    seconds_build = time.perf_counter() - t0
    if algorithm in ("auto", "fast"):
        algorithm = choose_algorithm(len(mk.flows) if algorithm == "auto" else PULP_MAX_PAIRS + len(mk.flows),
                                     solver, m.is_mip, bool((m.col_kind == "a").any()))
    if solver != "highs":
        algorithm = "pulp"
    raw, start, lp_bound = None, None, None
    if m.is_mip and m.n_cols:
        raw, start, lp_bound = _relaxation_if_integral(mk, m, left, mip_gap)
    # HiGHS takes an integer model as arrays, so it can start from the dive's plan (PuLP's HiGHS cannot).
    mip_direct = raw is None and m.is_mip and solver == "highs"
    t_form = time.perf_counter()
    form = formulate(mk) if algorithm == "pulp" and m.n_cols and raw is None and not mip_direct else None
    seconds_build += time.perf_counter() - t_form
    if raw is not None:
        pass
    elif m.n_cols == 0:
        raw = RawSolution("optimal", "no admissible pair", True, np.zeros(m.n_cols), np.zeros(m.n_rows), 0.0, 0.0)
    elif left() is not None and left() <= 0:
        raw = RawSolution("time_limit", "the time limit was used up before the solver started", False,
                          np.zeros(m.n_cols), None, 0.0, 0.0)
    else:
        try:
            if mip_direct:
                algorithm = "highs-mip"
                if start is not None:
                    # Improve the dive's plan before the search: HiGHS then starts from a good incumbent. Briefly:
                    # HiGHS's own sub-MIPs find better plans faster after that (measured at --time-limit 10 on
                    # 15 x 60 with 50/3/2: 1.0 % gap with 60 % of the time here, 0.32 % with 10 %; the baseline
                    # 0.67 % either way; 60 x 200 4.3 % vs 4.2 %).
                    start = _improve_pairings(m, start, left, 1.0 if left() is None else 0.1 * left())
                raw = _solve_highs(m, left(), "auto", mip_gap, start=start)
                if raw.has_solution:
                    raw = _tie_break_integer(m, raw, left)
            elif form is not None:
                raw = solve_pulp(m, form, solver, left())
            elif algorithm == "colgen" and not m.is_mip:
                # Quality rows (article 4(二)) couple every flow of a buyer: smaller batches re-optimise faster
                # (measured on 300 x 1,000 with lots: 8 s with 2,000 columns a round, 19 s with 10,000), and
                # smoothed duals choose better columns (see `_solve_highs_colgen`).
                quality = bool((m.row_kind == "quality").any())
                raw = _solve_highs_colgen(m, left(), batch=2_000 if quality else 10_000,
                                          smoothing=0.8 if quality else 0.0)
            else:
                raw = _solve_highs(m, left(), algorithm, mip_gap)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            raw = RawSolution("failed", f"{solver}: {exc}", False, np.zeros(m.n_cols), None, 0.0, 0.0)
    if m.is_mip and raw.has_solution and raw.status != "optimal" and lp_bound is not None:
        # Stopped early, a solver may hold only a weak bound (CBC reports none): the LP's is proven too.
        bound = lp_bound if raw.best_bound is None else min(raw.best_bound, lp_bound)
        raw = dataclasses.replace(raw, best_bound=bound, mip_gap=_gap(bound, raw.objective))
    raw = _flag_time_limited(m, raw)
    # Everything but building counts as solving (dive, search, tie-break): the seconds a user waited.
    raw = dataclasses.replace(raw, seconds=max(0.0, time.perf_counter() - t0 - seconds_build))
    return postprocess(scn, m, raw, solver, algorithm, seconds_build)


def _flag_time_limited(m, raw: RawSolution) -> RawSolution:
    """A plan stopped by the time limit that moves nothing is no plan: say so (no county then gets a reason it
    does not have). One that moves something keeps its status and says how far from the best possible it may be."""
    if raw.status != "time_limit" or not raw.has_solution:
        return raw
    moved = float(raw.x[m.col_kind == "x"].sum()) if m.n_cols else 0.0
    if moved <= 1e-6:
        return dataclasses.replace(raw, has_solution=False, x=np.zeros(m.n_cols), objective=0.0,
                                   message=raw.message + " (no plan found within the time limit)")
    return raw


def _gap(bound: float, objective: float) -> float:
    """Proven relative gap: the share of the best possible objective (the bound) the plan may still miss."""
    return max(0.0, (bound - objective) / max(1.0, abs(bound)))


def _tie_break_integer(m, raw: RawSolution, left) -> RawSolution:
    """The nearest-county tie-break of the LP, for an integer plan: keep its pairings (z fixed) and solve the LP over
    the quantities, which keeps the objective and breaks ties by distance (the same rule CBC gets in solvers.py)."""
    remaining = left()
    if m.tie_cost is None or (remaining is not None and remaining <= 0):
        return raw
    z = m.col_kind == "z"
    lo, hi = m.col_lo.copy(), m.col_hi.copy()
    lo[z] = hi[z] = np.round(raw.x[z])
    fixed = dataclasses.replace(m, col_lo=lo, col_hi=hi, integer=np.zeros_like(m.integer), is_mip=False)
    near = _solve_highs(fixed, remaining, "simplex")
    if near.status != "optimal" or float(m.c @ near.x) < raw.objective - 1e-9 * max(1.0, abs(raw.objective)):
        return raw
    x = near.x.copy()
    x[z] = np.round(raw.x[z])
    objective = float(m.c @ x)
    gap = raw.mip_gap
    if raw.best_bound is not None:
        gap = 0.0 if raw.status == "optimal" else _gap(raw.best_bound, objective)
    return dataclasses.replace(raw, x=x, objective=objective, mip_gap=gap, seconds=raw.seconds + near.seconds)


def _relaxation_if_integral(mk, m, left, mip_gap: float = 0.0) \
        -> tuple[RawSolution | None, np.ndarray | None, float | None]:
    """Minimum lots and partner limits only ever take plans away, so the LP without them bounds the integer optimum.
    Dive from its plan: close the pairs that move less than the minimum lot, and each county's smallest pairing
    beyond its partner limit, and solve the LP again, until every pairing keeps the rules. A plan found so that is
    as good as the bound is proven optimal for the integer model — on the baseline in a fifth of a second, where
    branch-and-bound spends seconds finding that plan. Returns (that solution or None, a feasible plan in the integer
    model's columns for the search to start from or None, the LP bound or None)."""
    t0 = time.perf_counter()
    budget = 2.0 if left() is None else 0.25 * left()  # the dive's share of the time: the search needs the rest
    rules = dict(mk.rules, min_lot_mu=0.0, max_partners_per_seller=0, max_partners_per_buyer=0)
    lp_mk = dataclasses.replace(mk, rules=rules)
    lp = build(lp_mk)
    tie_cost, lp.tie_cost = lp.tie_cost, None  # dive on plain vertices: the tie-break spreads quota thinly
    try:
        first = _solve_highs(lp, left(), "simplex")
    except Exception:  # noqa: BLE001 - the integer model is solved as usual
        return None, None, None
    if first.status != "optimal" or not first.has_solution:
        return None, None, None
    bound = float(first.objective)
    r = mk.rules
    min_lot = float(r["min_lot_mu"])
    deal = ~np.isnan(mk.deal_mu())
    flow_pair = mk.flows["pair_idx"].to_numpy()
    x_cols = np.nonzero(lp.col_kind == "x")[0]
    limits = [(mk.pairs[o].to_numpy(), int(r[k])) for o, k in (("seller_idx", "max_partners_per_seller"),
                                                               ("buyer_idx", "max_partners_per_buyer"))
              if int(r[k]) > 0]

    def rule_breakers(raw):
        """(pairs used, pairs to close): under the minimum lot, or the smallest beyond a county's partner limit."""
        total = np.bincount(flow_pair, weights=raw.x[x_cols], minlength=mk.n_pairs)[:mk.n_pairs]
        used = total > 1e-9
        close = used & ~deal & (total < min_lot - 1e-9) if min_lot > 0 else np.zeros(mk.n_pairs, dtype=bool)
        for owner, limit in limits:
            count = np.bincount(owner[(used & ~close) | deal], minlength=owner.max() + 1)
            over = np.nonzero(count > limit)[0]
            for o in over:
                mine = np.nonzero((owner == o) & used & ~deal & ~close)[0]
                if not len(mine):
                    return used, None  # only agreed deals left over the limit: the dive cannot repair that
                close[mine[np.argmin(total[mine])]] = True
        return used, close

    raw = first
    closed = np.zeros(mk.n_pairs, dtype=bool)
    for rounds in range(200):
        if raw.status != "optimal":
            return None, None, None
        used, small = rule_breakers(raw)
        if small is None:
            return None, None, None
        if not small.any():
            break
        if time.perf_counter() - t0 > budget or rounds == 40:
            # Out of the dive's time (or rounds): keep the largest pairings each county may have (greedy) and close the rest;
            # what is left only loses pairings, so the rules hold once the small ones are closed too.
            keep = np.zeros(mk.n_pairs, dtype=bool)
            total = np.bincount(flow_pair, weights=raw.x[x_cols], minlength=mk.n_pairs)[:mk.n_pairs]
            counts = [np.bincount(owner[deal], minlength=owner.max() + 1) for owner, _ in limits]
            keep |= deal
            for q in np.argsort(-total):
                if total[q] <= 1e-9 or deal[q]:
                    continue
                if all(c[owner[q]] < limit for c, (owner, limit) in zip(counts, limits)):
                    keep[q] = True
                    for c, (owner, _) in zip(counts, limits):
                        c[owner[q]] += 1
            small = small | ~keep
            budget, rounds = math.inf, 0
        closed |= small
        lp.col_hi[x_cols[closed[flow_pair]]] = 0.0
        raw = _solve_highs(lp, left(), "simplex")
    else:
        return None, None, None
    tol = max(1e-9, mip_gap) * max(1.0, abs(bound))
    proven = float(raw.objective) >= bound - tol
    if proven and tie_cost is not None:  # nearest counties among the equally good plans, when that keeps the rules
        lp.tie_cost = tie_cost
        near = _solve_highs(lp, left(), "simplex")
        if near.status == "optimal" and float(near.objective) >= bound - tol:
            near_used, near_small = rule_breakers(near)
            if near_small is not None and not near_small.any():
                raw, used = near, near_used
    objective = float(raw.objective)
    full = np.zeros(m.n_cols)
    for kind in ("x", "a", "short"):
        full[m.col_kind == kind] = raw.x[lp.col_kind == kind]
    full[m.col_kind == "z"] = (used | deal)[m.col_ref[m.col_kind == "z"]].astype(float)
    if not proven:
        return None, full, bound
    gap = max(0.0, (bound - objective) / max(1.0, abs(bound)))
    text = "Optimal (an integer plan as good as the LP bound: proven)" if gap <= 1e-9 else \
        f"Within {gap:.2e} of the LP bound (accepted gap {mip_gap:g})"
    return RawSolution("optimal", text, True, full, None, float(m.c @ full), first.seconds + raw.seconds,
                       best_bound=bound, mip_gap=gap), full, bound


def _improve_pairings(m, start: np.ndarray, left, budget: float) -> np.ndarray:
    """Local search over which pairs are open, from a feasible integer plan: open the closed pair whose x <= U·z row
    has the highest shadow price (what one more 亩 there would earn), closing the smallest pairing of a county at
    its partner limit, and keep the change when the LP over the quantities (z fixed) earns more. Partner limits
    leave thousands of equally priced plans, among which branch-and-bound finds good ones slowly; this finds them
    in a few hundred small warm-started LPs."""
    import highspy

    from planner.model.solvers import _highs_lp, _new_highs

    t0 = time.perf_counter()
    z_cols = np.nonzero(m.col_kind == "z")[0]
    if not len(z_cols):
        return start
    mk = m.market
    n = mk.n_pairs
    pair_of_z = m.col_ref[z_cols]
    z_col = np.full(n, -1)
    z_col[pair_of_z] = z_cols
    upper_row = np.full(n, -1)
    is_upper = m.row_kind == "lot_upper"
    upper_row[m.row_ref[is_upper]] = np.nonzero(is_upper)[0]
    deal = ~np.isnan(mk.deal_mu())
    r = mk.rules
    limits = [(mk.pairs[o].to_numpy(), int(r[k])) for o, k in (("seller_idx", "max_partners_per_seller"),
                                                               ("buyer_idx", "max_partners_per_buyer"))
              if int(r[k]) > 0]
    flow_pair = mk.flows["pair_idx"].to_numpy()
    x_cols = np.nonzero(m.col_kind == "x")[0]
    h = _new_highs()
    h.setOptionValue("solver", "simplex")
    lp = _highs_lp(m, np.arange(m.n_cols))
    h.passModel(lp)
    open_ = np.round(start[z_col]) > 0.5

    def evaluate(mask):
        h.changeColsBounds(len(z_cols), z_col.astype(np.int32), mask.astype(float), mask.astype(float))
        remaining = left()
        if remaining is not None:
            h.setOptionValue("time_limit", max(remaining, 1e-3))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return h.getInfo().objective_function_value

    best = evaluate(open_)
    if best is None:
        return start
    best_sol = np.array(h.getSolution().col_value)
    duals = np.array(h.getSolution().row_dual)
    tried = set()
    while time.perf_counter() - t0 < budget and (left() is None or left() > 0):
        score = np.where(open_ | deal, -np.inf, duals[upper_row])
        order = [q for q in np.argsort(-score) if score[q] > 1e-9 and q not in tried][:10]
        if not order:
            break
        improved = False
        for q in order:
            tried.add(q)
            for trial in _swaps(open_, q, limits, deal):
                value = evaluate(trial)
                if value is not None and value > best + 1e-9 * max(1.0, abs(best)):
                    best, open_ = value, trial
                    best_sol = np.array(h.getSolution().col_value)
                    duals = np.array(h.getSolution().row_dual)
                    tried.clear()
                    improved = True
                    break
            if improved:
                break
        if not improved:
            evaluate(open_)  # back to the best plan's duals for the next round
            duals = np.array(h.getSolution().row_dual)
    out = best_sol.copy()
    out[z_cols] = open_[pair_of_z].astype(float)
    return out


def _swaps(open_: np.ndarray, q: int, limits, deal: np.ndarray):
    """The plans with pair q opened: where a county is at its partner limit, each way of closing one of its other
    (non-deal) pairings."""
    choices = []
    for owner, limit in limits:
        mine = np.nonzero(open_ & (owner == owner[q]))[0]
        if len(mine) >= limit:
            drop = mine[~deal[mine]]
            if not len(drop):
                return
            choices.append(drop)
    for combo in itertools.product(*choices):
        trial = open_.copy()
        trial[q] = True
        trial[list(combo)] = False
        yield trial
