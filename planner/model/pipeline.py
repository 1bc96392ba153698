"""solve(): preprocess -> build -> solve -> postprocess, choosing the path by the model's size.

Every model up to province-plus size is built as the PuLP formulation of record and solved through PuLP. Larger
LPs take the fast path: the same model as numpy/scipy arrays (`matrix.build`), passed whole to HiGHS or, for pure
LPs, solved by column generation. The tests prove both paths build the same model.

Integer models (minimum transfer size, partner limits) first dive from the LP plan (`integer.dive`), which proves
most of them optimal at once. When it cannot, HiGHS gets the model as arrays and starts from the dive's plan: with a
time limit, its branch-and-bound runs beside a neighbourhood search (`integer.search`); without one, after a local
search over which pairs are open (`integer.improve_pairings`), alone, so the same inputs give the same plan. CBC and
other solvers get the PuLP formulation. Every solver then breaks ties the same way: nearest counties among equally good plans, with the
pairings of an integer plan kept. `time_limit` is one deadline for all of it.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from planner.model.formulation import formulate
from planner.model.integer import dive, gap, improve_pairings, pairing_duals, search, tie_break
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
          algorithm: str = "auto", mip_gap: float = 0.0, progress=None) -> SolveResult:
    """Build and solve; never raises for a valid scenario (solver failures are reported in the result).

    `time_limit` is one deadline for the whole solve (build, dive, search, tie-break). `mip_gap`: an integer plan
    within this relative gap of the bound is accepted (0: proven optimal, the default; batch analyses such as Monte
    Carlo accept a small gap, and the result reports the gap it has). `progress(seconds_spent, gap)`: called about
    twice a second while an integer model is searched under a time limit (see `integer.search`)."""
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
        raw, start, lp_bound = dive(mk, m, left, mip_gap)
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
                if start is not None and left() is not None:
                    # With a deadline: branch-and-bound and a neighbourhood search side by side (integer.search),
                    # leaving a sliver of the time for the distance tie-break.
                    raw = search(m, start, lp_bound, left() - min(1.0, 0.03 * left()), mip_gap, progress)
                else:
                    # No deadline: one deterministic path (the same inputs always give the same plan). Improve
                    # the dive's plan, so HiGHS starts from a good incumbent, then prove it.
                    if start is not None:
                        start = improve_pairings(m, start, left, 1.0)
                    raw = _solve_highs(m, left(), "auto", mip_gap, start=start)
                if raw.has_solution:
                    raw = tie_break(m, raw, left)
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
        raw = dataclasses.replace(raw, best_bound=bound, mip_gap=gap(bound, raw.objective))
    raw = _flag_time_limited(m, raw)
    if m.is_mip and raw.has_solution and raw.row_dual is None:
        raw = dataclasses.replace(raw, row_dual=pairing_duals(m, raw.x, left))  # given the recommended pairings
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
