"""solve(): preprocess -> build -> solve -> postprocess, choosing the path by the model's size.

Every model up to province-plus size is built as the PuLP formulation of record and solved through PuLP. Larger
LPs take the fast path: the same model as numpy/scipy arrays (`matrix.build`), passed whole to HiGHS or, for pure
LPs, solved by column generation. The tests prove both paths build the same model.
"""
from __future__ import annotations

import dataclasses
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
    the full model by far."""
    if solver != "highs" or n_flows <= PULP_MAX_PAIRS:
        return "pulp"
    return "colgen" if not (is_mip or has_adjustment) else "simplex"


def solve(scn: Scenario, solver: str = "highs", time_limit: float | None = None,
          algorithm: str = "auto", mip_gap: float = 0.0) -> SolveResult:
    """Build and solve; never raises for a valid scenario (solver failures are reported in the result).

    `mip_gap`: an integer plan within this relative gap of the bound is accepted (0: proven optimal, the default;
    batch analyses such as Monte Carlo accept a small gap, and the result reports the gap it has)."""
    if not known_solver(solver):
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS} or a solver PuLP knows")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    t0 = time.perf_counter()
    mk = market(scn)
    m = build(mk)
    if algorithm in ("auto", "fast"):
        algorithm = choose_algorithm(len(mk.flows) if algorithm == "auto" else PULP_MAX_PAIRS + len(mk.flows),
                                     solver, m.is_mip, bool((m.col_kind == "a").any()))
    if solver != "highs":
        algorithm = "pulp"
    form = formulate(mk) if algorithm == "pulp" and m.n_cols else None
    seconds_build = time.perf_counter() - t0
    raw = None
    if m.is_mip and m.n_cols:
        raw = _relaxation_if_integral(mk, m, solver, time_limit, algorithm, mip_gap)
    if raw is not None:
        pass
    elif m.n_cols == 0:
        raw = RawSolution("optimal", "no admissible pair", True, np.zeros(0), np.zeros(m.n_rows), 0.0, 0.0)
    else:
        try:
            if form is not None:
                raw = solve_pulp(m, form, solver, time_limit)
            elif algorithm == "colgen" and not m.is_mip:
                # Quality rows (article 4(二)) couple every flow of a buyer: smaller batches re-optimise faster
                # (measured on 300 x 1,000 with lots: 8 s with 2,000 columns a round, 19 s with 10,000).
                raw = _solve_highs_colgen(m, time_limit, batch=2_000 if (m.row_kind == "quality").any() else 10_000)
            else:
                raw = _solve_highs(m, time_limit, algorithm, mip_gap)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            raw = RawSolution("failed", f"{solver}: {exc}", False, np.zeros(m.n_cols), None, 0.0, 0.0)
    return postprocess(scn, m, raw, solver, algorithm, seconds_build)


def _relaxation_if_integral(mk, m, solver: str, time_limit: float | None, algorithm: str,
                            mip_gap: float = 0.0) -> RawSolution | None:
    """Minimum lots and partner limits only ever take plans away, so the LP without them bounds the integer optimum.
    Dive from its plan: close the pairs that move less than the minimum lot and solve the LP again, until every
    pairing keeps the rules. A plan found so that is as good as the bound is proven optimal for the integer model —
    on the baseline in a fifth of a second, where branch-and-bound spends seconds finding that plan. Otherwise None
    (the integer model is then solved as usual)."""
    rules = dict(mk.rules, min_lot_mu=0.0, max_partners_per_seller=0, max_partners_per_buyer=0)
    lp_mk = dataclasses.replace(mk, rules=rules)
    lp = build(lp_mk)
    try:
        first = solve_pulp(lp, formulate(lp_mk), solver, time_limit) if algorithm == "pulp" else \
            _solve_highs(lp, time_limit, "simplex")
    except Exception:  # noqa: BLE001 - the integer model is solved as usual
        return None
    if first.status != "optimal" or not first.has_solution:
        return None
    bound = float(first.objective)
    r = mk.rules
    min_lot = float(r["min_lot_mu"])
    deal = ~np.isnan(mk.deal_mu())
    flow_pair = mk.flows["pair_idx"].to_numpy()
    x_cols = np.nonzero(lp.col_kind == "x")[0]
    tie_cost, lp.tie_cost = lp.tie_cost, None  # dive on plain vertices: the tie-break spreads quota thinly

    def keeps_rules(raw):
        total = np.bincount(flow_pair, weights=raw.x[x_cols], minlength=mk.n_pairs)[:mk.n_pairs]
        used = total > 1e-9
        for owner, limit in (("seller_idx", int(r["max_partners_per_seller"])),
                             ("buyer_idx", int(r["max_partners_per_buyer"]))):
            if limit > 0 and np.bincount(mk.pairs[owner].to_numpy()[used | deal]).max(initial=0) > limit:
                return used, None
        return used, used & ~deal & (total < min_lot - 1e-9) if min_lot > 0 else np.zeros(mk.n_pairs, dtype=bool)

    raw = _solve_highs(lp, time_limit, "simplex") if tie_cost is not None else first
    closed = np.zeros(mk.n_pairs, dtype=bool)
    for _ in range(25):
        if raw.status != "optimal":
            return None
        used, small = keeps_rules(raw)
        if small is None:
            return None
        if not small.any():
            break
        closed |= small
        lp.col_hi[x_cols[closed[flow_pair]]] = 0.0
        raw = _solve_highs(lp, time_limit, "simplex")
    else:
        return None
    tol = max(1e-9, mip_gap) * max(1.0, abs(bound))
    if float(raw.objective) < bound - tol:
        return None
    if tie_cost is not None:  # nearest counties among the equally good plans, when that keeps the rules
        lp.tie_cost = tie_cost
        near = _solve_highs(lp, time_limit, "simplex")
        if near.status == "optimal" and float(near.objective) >= bound - tol:
            near_used, near_small = keeps_rules(near)
            if near_small is not None and not near_small.any():
                raw, used = near, near_used
    objective = float(raw.objective)
    full = np.zeros(m.n_cols)
    for kind in ("x", "a", "short"):
        full[m.col_kind == kind] = raw.x[lp.col_kind == kind]
    full[m.col_kind == "z"] = (used | deal)[m.col_ref[m.col_kind == "z"]].astype(float)
    gap = max(0.0, (bound - objective) / max(1.0, abs(bound)))
    text = "Optimal (an integer plan as good as the LP bound: proven)" if gap <= 1e-9 else \
        f"Within {gap:.2e} of the LP bound (accepted gap {mip_gap:g})"
    return RawSolution("optimal", text, True, full, None, float(m.c @ full), first.seconds + raw.seconds,
                       best_bound=bound, mip_gap=gap)
