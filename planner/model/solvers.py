"""Solvers: the PuLP formulation through PuLP (HiGHS in process, CBC, or any solver PuLP knows), and the fast paths
for very large LPs (the matrix passed to HiGHS whole, or column generation). All return a `RawSolution` in the
matrix model's column and row order, so the results stage does not care which path ran. No solver object leaves
this module.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

import numpy as np

from planner.model.formulation import Formulation
from planner.model.market import INF
from planner.model.matrix import LinearModel, col_names, row_names

@dataclass
class RawSolution:
    status: str  # optimal | time_limit | failed
    message: str
    has_solution: bool
    x: np.ndarray
    row_dual: np.ndarray | None  # d(objective)/d(row upper bound), objective maximised
    objective: float
    seconds: float
    best_bound: float | None = None  # integer model: the proven bound on the objective
    mip_gap: float | None = None  # integer model: proven relative gap (0 when optimal)


_HIGHS_GREETED = False


def _new_highs():
    """A silent Highs instance; its once-per-process banner is kept off stdout (it would corrupt CLI output)."""
    import os
    import sys

    import highspy

    global _HIGHS_GREETED
    if _HIGHS_GREETED:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _HIGHS_GREETED = True
    h.setOptionValue("output_flag", False)
    return h


def _solve_highs(m: LinearModel, time_limit: float | None, algorithm: str, mip_gap: float = 0.0,
                 start: np.ndarray | None = None) -> RawSolution:
    """The model passed whole to HiGHS. `start`: a feasible plan (e.g. from the LP dive) HiGHS starts from, so a
    time-limited integer search never returns worse than it."""
    import highspy

    t0 = time.perf_counter()
    h = _new_highs()
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
    if m.is_mip:
        _mip_options(h, mip_gap, time_limited=time_limit is not None)
    if algorithm == "ipm" and not m.is_mip:
        h.setOptionValue("solver", "ipm")
    elif algorithm == "simplex":
        h.setOptionValue("solver", "simplex")
    status = h.passModel(_highs_model(m))
    if status == highspy.HighsStatus.kError:
        return RawSolution("failed", "HiGHS rejected the model", False, np.zeros(m.n_cols), None, 0.0,
                           time.perf_counter() - t0)
    if m.is_mip and start is not None:
        _set_start(h, start)
    h.run()
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kNotset and not m.is_mip and algorithm != "ipm":
        # The dual simplex gives up on very large costs (a min_sale penalty of 1e4 x a price near the 1e12 input
        # limit: "excessive dual values"); interior point copes (found by fuzzing).
        h.clearSolver()
        h.setOptionValue("solver", "ipm")
        h.run()
        ms = h.getModelStatus()
    return _read_highs(h, m, t0, np.arange(m.n_cols), "",
                       time_left=None if time_limit is None else float(time_limit) - (time.perf_counter() - t0))


def _mip_options(h, mip_gap: float, time_limited: bool) -> None:
    """HiGHS's options for an integer model, whichever path passes it (whole, or beside the neighbourhood search)."""
    # HiGHS stops at a 0.01 % gap by default and calls that optimal; with the min_sale penalty in the objective
    # that gap hid ~10 % of the real objective. "optimal" must mean proven optimal (CBC's default does so).
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    # Partner limits make plans with the same objective abound (a price is mostly floor + ceiling, whoever the
    # partner): under a time limit the bound is found at the root, finding a plan that meets it is the work
    # (measured on 15 x 60: 1.4 % gap after 15 s with effort 0.3, 8.4 % with the default 0.05). Without one,
    # proof is the work, and HiGHS's default effort proves sooner (tests/test_model.hard_mip: 79 s vs 51 s;
    # the baseline with 50/3/2 and the quality rule off: 19 s vs 11 s).
    h.setOptionValue("mip_heuristic_effort", 0.3 if time_limited else 0.05)


def _highs_model(m: LinearModel):
    """The whole model as a HighsLp, integer columns marked."""
    import highspy

    lp = _highs_lp(m, np.arange(m.n_cols))
    if m.is_mip:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in m.integer]
    return lp


def _set_start(h, x: np.ndarray) -> None:
    """A plan for HiGHS's next integer run to start from (ignored if it breaks a row)."""
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(x, dtype=float).tolist()
    sol.value_valid = True
    h.setSolution(sol)


def _read_highs(h, m: LinearModel, t0: float, order: np.ndarray, prefix: str, dual_sign: float = 1.0,
                row_order: np.ndarray | None = None, time_left: float | None = None) -> RawSolution:
    """The solution of a finished HiGHS run in the model's column order; ties broken for an optimal LP.

    `order[j]` / `row_order[i]` are HiGHS's column of model column j and row of model row i; `dual_sign` turns
    HiGHS's row duals into d(objective)/d(bound) of the maximised objective (-1 when PuLP handed HiGHS the
    minimisation of -objective)."""
    import highspy

    MS = highspy.HighsModelStatus
    ms = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    has = bool(info.primal_solution_status >= 2)
    x = np.array(sol.col_value, dtype=float)[order] if has else np.zeros(m.n_cols)
    duals = None
    if not m.is_mip and sol.dual_valid and ms == MS.kOptimal:
        duals = dual_sign * np.array(sol.row_dual, dtype=float)
        duals = duals[row_order] if row_order is not None else duals
    obj = float(m.c @ x) if has else 0.0
    text = prefix + h.modelStatusToString(ms)
    bound = gap = None
    if m.is_mip and has:
        # PuLP hands HiGHS the minimisation of -objective: its bound then comes with the sign turned
        bound, gap = dual_sign * float(info.mip_dual_bound), float(info.mip_gap)
    if ms == MS.kOptimal and not m.is_mip and m.tie_cost is not None and np.any(m.tie_cost > 0):
        x = _break_ties(h, m, x, obj, order, time_left)
    seconds = time.perf_counter() - t0
    if ms == MS.kOptimal:
        return RawSolution("optimal", text, True, x, duals, obj, seconds, bound, 0.0 if m.is_mip else None)
    if ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        return RawSolution("time_limit", text, has, x, None, obj, seconds, bound, gap)
    if ms == MS.kModelEmpty:
        return RawSolution("optimal", text, True, np.zeros(m.n_cols), None, 0.0, seconds)
    return RawSolution("failed", f"HiGHS: {text}", False, np.zeros(m.n_cols), None, 0.0, seconds)


def _break_ties(h, m: LinearModel, x: np.ndarray, objective: float, order: np.ndarray | None = None,
                time_left: float | None = None) -> np.ndarray:
    """Among plans as good as the optimum, the one whose pairs are nearest (then fewest long hauls).

    An LP often has many equally good plans: which buyer takes which seller's quota is then the solver's accident,
    and staff could not defend it. A second pass keeps the objective at its optimum (within the solver tolerance) and
    minimises Σ distance·亩, so ties go to nearer counties and the same inputs always give the same plan.
    The shadow prices stay those of the first pass. `order[j]` is the solver's column of model column j (PuLP
    sorts its variables by name); the identity when the model was passed as arrays."""
    import highspy

    order = np.arange(m.n_cols) if order is None else np.asarray(order, dtype=np.int64)
    if time_left is not None:
        if time_left <= 0:  # the time limit is one deadline for the whole solve: no second pass past it
            return x
        h.setOptionValue("time_limit", float(time_left))

    _keep_optimum_minimise_distance(h, order, m.c, m.col_kind == "short", x, m.tie_cost)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return x
    x2 = np.array(h.getSolution().col_value, dtype=float)[order]
    return _tie_broken_or_first(m, x, x2, rel_tol=1e-9, violation_floor=1e-9)


def _keep_optimum_minimise_distance(h, where: np.ndarray, c: np.ndarray, short: np.ndarray, x: np.ndarray,
                                    tie_cost: np.ndarray) -> None:
    """Turn the solved model in `h` into the distance pass: its optimum kept as rows, Σ tie_cost·x minimised.
    Entry j of the arrays is solver column `where[j]`.

    The optimum is kept as two rows, not one: the section-4 objective no lower and the total min_sale shortfall no
    higher. A single row over c mixes prices with the shortfall penalty (1e4 x larger), and HiGHS's tolerance on it,
    after scaling, let the plan lose most of a small objective or overrun a demand (found by fuzzing)."""
    import highspy

    main = ~short
    main_obj = float(c[main] @ x[main])
    nz = np.nonzero((c != 0) & main)[0]
    if len(nz):
        h.addRow(main_obj - 1e-12 * max(1.0, abs(main_obj)), highspy.kHighsInf, len(nz),
                 where[nz].astype(np.int32), c[nz].astype(float))
    if short.any():
        s_idx = np.nonzero(short)[0]
        h.addRow(-highspy.kHighsInf, float(x[short].sum()), len(s_idx), where[s_idx].astype(np.int32),
                 np.ones(len(s_idx)))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(len(where), where.astype(np.int32), tie_cost.astype(float))


def _tie_broken_or_first(m: LinearModel, x: np.ndarray, x2: np.ndarray, rel_tol: float,
                         violation_floor: float) -> np.ndarray:
    """The second pass's plan `x2`, unless it trades objective, shortfall or feasibility for distance: worse on any
    of them than the first pass's `x` (beyond `rel_tol`) and the first stands. (With costs near 1e15 a tie-break
    row can even be refused.) Dust a row's tolerance lets in (1e-5 亩 on a pair the first pass did not use) is not a
    pairing."""
    x2 = np.where((x2 < 1e-5) & (np.abs(x) <= 1e-9), 0.0, x2)
    short = m.col_kind == "short"
    main = ~short
    main_obj, shortfall = float(m.c[main] @ x[main]), float(x[short].sum())
    if (float(m.c[main] @ x2[main]) < main_obj - rel_tol * max(1.0, abs(main_obj))
            or float(x2[short].sum()) > shortfall + rel_tol * max(1.0, shortfall)
            or _worst_violation(m, x2) > max(_worst_violation(m, x), violation_floor)):
        return x
    return x2


def _worst_violation(m: LinearModel, x: np.ndarray) -> float:
    """The largest row violation of a plan, relative to the row's bound (0 when feasible)."""
    if not m.n_rows:
        return 0.0
    act = m.A @ x
    with np.errstate(invalid="ignore"):
        over = np.maximum(np.where(np.isfinite(m.row_hi), act - m.row_hi, -INF),
                          np.where(np.isfinite(m.row_lo), m.row_lo - act, -INF))
    bound = np.where(np.isfinite(m.row_hi), np.abs(m.row_hi), np.abs(np.nan_to_num(m.row_lo, neginf=0.0)))
    return float(max(0.0, np.max(over / np.maximum(1.0, bound))))


def _highs_lp(m: LinearModel, cols: np.ndarray, A_csc=None):
    """The model restricted to `cols` (all rows kept) as a HighsLp."""
    import highspy

    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = len(cols)
    lp.num_row_ = m.n_rows
    lp.col_cost_ = m.c[cols].astype(float)
    lp.col_lower_ = m.col_lo[cols].astype(float)
    lp.col_upper_ = np.where(np.isfinite(m.col_hi[cols]), m.col_hi[cols], inf).astype(float)
    lp.row_lower_ = np.where(np.isfinite(m.row_lo), m.row_lo, -inf).astype(float)
    lp.row_upper_ = np.where(np.isfinite(m.row_hi), m.row_hi, inf).astype(float)
    A_csc = m.A.tocsc() if A_csc is None else A_csc
    A = A_csc[:, cols] if len(cols) != m.n_cols else A_csc
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.sense_ = highspy.ObjSense.kMaximize
    return lp


def solve_pulp(m: LinearModel, form: Formulation, solver: str = "highs",
               time_limit: float | None = None) -> RawSolution:
    """Solve the formulation of record through PuLP; read the answer back by name into the matrix order.

    `solver`: "highs" (HiGHS in process), "cbc" (bundled with PuLP) or any solver name PuLP knows (e.g.
    "GUROBI_CMD", "CPLEX_CMD"), so an office with a commercial solver can use it."""
    import pulp

    t0 = time.perf_counter()
    prob = form.problem
    names, rnames = col_names(m), row_names(m)
    if time_limit is not None and time_limit <= 0:
        return RawSolution("time_limit", f"{solver}: the time limit was used up before the solver started", False,
                           np.zeros(m.n_cols), None, 0.0, 0.0)
    try:
        with tempfile.TemporaryDirectory(prefix="planner-solve-") as tmp:
            # Command-line solvers write the model (*-pulp.mps, hundreds of MB at national size) and their answer
            # to files: in a folder of our own, removed whatever happens (PuLP leaves them behind on an error).
            engine = _pulp_engine(pulp, solver, m, time_limit, tmp)
            prob.solve(engine)
            variables = prob.variablesDict()
            if solver != "highs":
                x = np.array([variables[n].varValue or 0.0 for n in names], dtype=float)
                optimal = prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
                duals = np.array([prob.constraints[r].pi or 0.0 for r in rnames], dtype=float) \
                    if optimal and not m.is_mip else None
                status, sol_status = pulp.LpStatus[prob.status], prob.sol_status
                if optimal:
                    left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
                    x = _break_ties_pulp(pulp, m, form, names, x, lambda: _pulp_engine(pulp, solver, m, left, tmp),
                                         left)
    except Exception as exc:  # noqa: BLE001 - solver missing or crashed: reported, not raised
        return RawSolution("failed", f"{solver}: {exc}", False, np.zeros(m.n_cols), None, 0.0,
                           time.perf_counter() - t0)
    if solver == "highs":
        order = np.array([variables[n].index for n in names], dtype=np.int64)
        row_order = np.array([prob.constraints[r].index for r in rnames], dtype=np.int64)
        return _read_highs(prob.solverModel, m, t0, order, "", dual_sign=-1.0, row_order=row_order,
                           time_left=None if time_limit is None else time_limit - (time.perf_counter() - t0))
    seconds = time.perf_counter() - t0
    has = sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    label = solver.upper() if solver != "cbc" else "CBC"
    if optimal:
        obj = float(m.c @ x)
        return RawSolution("optimal", status, True, x, duals, obj, seconds,
                           obj if m.is_mip else None, 0.0 if m.is_mip else None)
    if has:
        # PuLP says "Optimal" for a feasible integer solution found before the time limit: do not repeat that.
        return RawSolution("time_limit", f"{label}: time limit reached, best solution found (not proven optimal; "
                                         f"PuLP status {status})", True, x, None, float(m.c @ x), seconds)
    if time_limit is not None and seconds >= 0.9 * time_limit:
        return RawSolution("time_limit", f"{label}: {status}, no solution within the time limit", False,
                           np.zeros(m.n_cols), None, 0.0, seconds)
    return RawSolution("failed", f"{label}: {status}", False, np.zeros(m.n_cols), None, 0.0, seconds)


def _pulp_engine(pulp, solver: str, m: LinearModel, time_limit: float | None, tmp_dir: str):
    # A command-line solver starts a process and reads the model before its clock runs: leave it that margin.
    margin = 0.1 * float(time_limit) if time_limit is not None and solver != "highs" else 0.0
    limit = None if time_limit is None else max(float(time_limit) - margin, 1.0 if solver == "cbc" else 1e-3)
    if solver == "highs":
        _new_highs()  # HiGHS greets once per process on stdout; take that greeting off the CLI's output
        return pulp.HiGHS(msg=False, timeLimit=limit, **({"gapRel": 0.0} if m.is_mip else {}))
    engine = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, keepFiles=False) if solver == "cbc" else \
        pulp.getSolver(solver, msg=False, timeLimit=limit)
    if hasattr(engine, "tmpDir"):
        engine.tmpDir = tmp_dir
    return engine


def _break_ties_pulp(pulp, m: LinearModel, form: Formulation, names: np.ndarray, x: np.ndarray, engine,
                     time_left: float | None) -> np.ndarray:
    """`_break_ties` for every solver PuLP drives (CBC, commercial ones): the same rule, so the same inputs give
    the same plan whichever solver runs. An integer model keeps the pairings of the first pass (z fixed); the
    second pass is then an LP over the quantities."""
    if m.tie_cost is None or not np.any(m.tie_cost > 0) or (time_left is not None and time_left <= 0.5):
        return x
    prob = form.problem
    variables = prob.variablesDict()
    cols = [variables[n] for n in names]
    short = m.col_kind == "short"
    main = ~short
    main_obj = float(m.c[main] @ x[main])
    for j in np.nonzero(m.col_kind == "z")[0]:
        cols[j].lowBound = cols[j].upBound = float(round(x[j]))
    nz = np.nonzero((m.c != 0) & main)[0]
    if len(nz):
        prob += (pulp.lpSum(float(m.c[j]) * cols[j] for j in nz) >= main_obj - 1e-9 * max(1.0, abs(main_obj)),
                 "tie_break_objective")
    if short.any():
        prob += (pulp.lpSum(cols[j] for j in np.nonzero(short)[0]) <= float(x[short].sum()) + 1e-9,
                 "tie_break_shortfall")
    prob.sense = pulp.LpMinimize
    prob.setObjective(pulp.lpSum(float(m.tie_cost[j]) * cols[j] for j in np.nonzero(m.tie_cost)[0]))
    try:
        prob.solve(engine())
    except pulp.PulpSolverError:
        # e.g. CBC refusing PuLP's MPS when the first pass had an empty objective (PuLP's __dummy column is then
        # written as a bound without a column): the first pass's plan stands.
        return x
    if prob.status != pulp.LpStatusOptimal:
        return x
    x2 = np.array([v.varValue or 0.0 for v in cols], dtype=float)
    # Command-line solvers hand their answer back through a file, to about 1e-5: looser tolerances here
    # (printable_plan rounds that dust away without breaking a limit).
    return _tie_broken_or_first(m, x, x2, rel_tol=1e-7, violation_floor=1e-4)
