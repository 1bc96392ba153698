"""The matching model of DESIGN section 4: preprocess -> build -> solve -> postprocess, kept apart.

`candidate_pairs` works out every seller-buyer band and why a pair is or is not admissible; `build` turns the
admissible pairs into a linear model held as numpy/scipy arrays (fast at national size); `solve` hands it to HiGHS
in process (highspy) or to CBC through PuLP and returns plain tables. No solver object leaves this module.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner import schema
from planner.scenario import Scenario

INF = math.inf
SOLVERS = ("highs", "cbc")
TOL = 1e-6


# --------------------------------------------------------------------------- preprocess

def sellers_table(scn: Scenario) -> pd.DataFrame:
    """Counties that may sell (article 2): listed poverty counties with surplus."""
    c = scn.counties
    mask = c["poverty_class"].isin(schema.SELLER_CLASSES) & (c["surplus_mu"].fillna(0) > TOL)
    s = c.loc[mask].copy()
    weights = {"national_key": float(scn.param("rules", "priority_weight_national_key")),
               "provincial": float(scn.param("rules", "priority_weight_provincial"))}
    s["weight"] = s["poverty_class"].map(weights).astype(float)
    s["floor"] = s["floor_price"].fillna(0.0)
    return s.reset_index(drop=True)


def buyers_table(scn: Scenario) -> pd.DataFrame:
    c = scn.counties
    b = c.loc[c["demand_mu"].fillna(0) > TOL].copy()
    b["share"] = b["cultivated_share"].fillna(1.0)
    return b.reset_index(drop=True)


def candidate_pairs(scn: Scenario, sellers: pd.DataFrame | None = None,
                    buyers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every seller x buyer with its price band, price and admissibility (reason when not admissible)."""
    sellers = sellers_table(scn) if sellers is None else sellers
    buyers = buyers_table(scn) if buyers is None else buyers
    ns, nb = len(sellers), len(buyers)
    si = np.repeat(np.arange(ns), nb)
    bi = np.tile(np.arange(nb), ns)
    df = pd.DataFrame({
        "seller_idx": si, "buyer_idx": bi,
        "seller_code": sellers["code"].to_numpy(dtype=object)[si] if ns else np.array([], dtype=object),
        "buyer_code": buyers["code"].to_numpy(dtype=object)[bi] if nb else np.array([], dtype=object),
    })
    df = df[df["seller_code"] != df["buyer_code"]].reset_index(drop=True)
    si, bi = df["seller_idx"].to_numpy(), df["buyer_idx"].to_numpy()
    guide_lo = scn.param("pricing", "guide_floor")
    guide_hi = scn.param("pricing", "guide_ceiling")
    theta = float(scn.param("pricing", "bargaining_weight"))

    over = scn.pairs
    pf = pc = pa = None
    excluded = np.zeros(len(df), dtype=bool)
    if len(over) and len(df):
        o = over.drop_duplicates(["seller_code", "buyer_code"]).set_index(["seller_code", "buyer_code"])
        key = pd.MultiIndex.from_arrays([df["seller_code"], df["buyer_code"]])
        o = o.reindex(key)
        pf = o["floor_price"].to_numpy(dtype=float)
        pc = o["ceiling_price"].to_numpy(dtype=float)
        pa = o["agreed_price"].to_numpy(dtype=float)
        excluded = o["excluded"].fillna(False).to_numpy(dtype=bool)
    n = len(df)
    lo = sellers["floor"].to_numpy(dtype=float)[si] if n else np.zeros(0)
    hi = buyers["ceiling_price"].to_numpy(dtype=float)[bi] if n else np.zeros(0)
    hi = np.where(np.isnan(hi), INF, hi)
    if guide_lo is not None:
        lo = np.maximum(lo, float(guide_lo))
    if guide_hi is not None:
        hi = np.minimum(hi, float(guide_hi))
    if pf is not None:
        lo = np.where(np.isnan(pf), lo, np.maximum(lo, pf))
        hi = np.where(np.isnan(pc), hi, np.minimum(hi, pc))
    df["lo"] = lo
    df["hi"] = hi
    agreed = pa if pa is not None else np.full(n, np.nan)
    df["agreed_price"] = agreed
    band_ok = lo <= hi + 1e-9
    finite_hi = np.where(np.isfinite(hi), hi, lo)
    df["price"] = np.where(np.isnan(agreed), lo + theta * (finite_hi - lo), agreed)
    g_s = sellers["reclaimed_quality_grade"].to_numpy(dtype=float)[si] if n else np.zeros(0)
    g_b = buyers["occupied_quality_grade"].to_numpy(dtype=float)[bi] if n else np.zeros(0)
    df["seller_grade"] = g_s
    df["buyer_grade"] = g_b
    quality_ok = np.ones(n, dtype=bool)
    if scn.param("rules", "quality_rule") == "pair":
        # A missing grade cannot be checked; such pairs are not blocked (validation warns about it).
        quality_ok = ~(g_s > g_b)
    reason = np.full(n, "", dtype=object)
    reason[~quality_ok] = "quality"
    reason[~band_ok] = "band"
    reason[excluded] = "excluded"
    df["excluded"] = excluded
    df["admissible"] = reason == ""
    df["reason"] = reason
    return df


# --------------------------------------------------------------------------- build

@dataclass
class LinearModel:
    """max c·x  s.t. row_lo <= A x <= row_hi, col_lo <= x <= col_hi; integer where `integer`."""

    c: np.ndarray
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    col_kind: np.ndarray  # x | a | z | short
    col_ref: np.ndarray  # index into pairs (x, a, z) or sellers (short)
    row_kind: np.ndarray
    row_code: np.ndarray  # county code the row belongs to ('' for pair rows)
    row_ref: np.ndarray  # pair index for pair rows, else -1
    sellers: pd.DataFrame
    buyers: pd.DataFrame
    pairs: pd.DataFrame  # admissible pairs only, reindexed 0..n-1
    candidates: pd.DataFrame
    is_mip: bool
    tie_cost: np.ndarray | None = None  # per column: what breaks ties between equally good plans (km apart)

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)


class _Rows:
    """Accumulates sparse rows as COO triplets."""

    def __init__(self):
        self.r, self.cidx, self.v = [], [], []
        self.lo, self.hi, self.kind, self.code, self.ref = [], [], [], [], []
        self.n = 0

    def add_block(self, row_local, cols, vals, lo, hi, kind, codes, refs):
        """Add len(lo) rows; row_local gives each triplet's row within the block."""
        k = len(lo)
        if k == 0:
            return
        self.r.append(np.asarray(row_local, dtype=np.int64) + self.n)
        self.cidx.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.kind.append(np.full(k, kind, dtype=object))
        self.code.append(np.asarray(codes, dtype=object))
        self.ref.append(np.asarray(refs, dtype=np.int64))
        self.n += k

    def matrix(self, n_cols):
        if not self.n:
            return (sp.csr_matrix((0, n_cols)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object),
                    np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
        A = sp.csr_matrix((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.cidx))),
                          shape=(self.n, n_cols))
        return (A, np.concatenate(self.lo), np.concatenate(self.hi), np.concatenate(self.kind),
                np.concatenate(self.code), np.concatenate(self.ref))


def _finite(values) -> np.ndarray:
    return ~np.isnan(np.asarray(values, dtype=float))


def build(scn: Scenario) -> LinearModel:
    sellers = sellers_table(scn)
    buyers = buyers_table(scn)
    cand = candidate_pairs(scn, sellers, buyers)
    pairs = cand[cand["admissible"]].reset_index(drop=True)
    n = len(pairs)
    si = pairs["seller_idx"].to_numpy()
    bi = pairs["buyer_idx"].to_numpy()
    rules = {p.key: scn.param("rules", p.key) for p in schema.PARAMS if p.section == "rules"}

    surplus = sellers["surplus_mu"].to_numpy(dtype=float)
    demand = buyers["demand_mu"].to_numpy(dtype=float)
    weight = sellers["weight"].to_numpy(dtype=float)

    # Columns: x (one per pair), then a, z, short.
    kinds = [np.full(n, "x", dtype=object)]
    refs = [np.arange(n)]
    upper_x = np.minimum(surplus[si], demand[bi]) if n else np.zeros(0)
    # No column upper bounds on x, a or short: they would only repeat rows (supply, demand, a <= x, plan space) and
    # a binding duplicate bound takes the dual away from its row, so shadow prices would read 0.
    col_hi = [np.full(n, INF)]
    w_pair = weight[si] if n else np.zeros(0)
    objective = rules["objective"]
    if objective == "proceeds":
        c_x = w_pair * pairs["price"].to_numpy(dtype=float)
    elif objective == "volume":
        c_x = w_pair.copy()
    else:
        c_x = w_pair * (pairs["hi"].to_numpy(dtype=float) - pairs["lo"].to_numpy(dtype=float))
    costs = [c_x]

    penalty = float(rules["plan_adjustment_penalty"])
    adj_cap = sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
    headroom = buyers["construction_headroom_mu"].to_numpy(dtype=float)
    a_pairs = np.zeros(0, dtype=np.int64)
    if rules["allow_plan_adjustment"] and n:
        a_mask = (adj_cap[si] > TOL) & _finite(headroom[bi])
        a_pairs = np.nonzero(a_mask)[0]
    x0 = 0
    a0 = n
    kinds.append(np.full(len(a_pairs), "a", dtype=object))
    refs.append(a_pairs)
    col_hi.append(np.full(len(a_pairs), INF))
    costs.append(np.full(len(a_pairs), -penalty))

    min_lot = float(rules["min_lot_mu"])
    k_seller = int(rules["max_partners_per_seller"])
    k_buyer = int(rules["max_partners_per_buyer"])
    is_mip = bool(min_lot > 0 or k_seller > 0 or k_buyer > 0) and n > 0
    z0 = a0 + len(a_pairs)
    nz = n if is_mip else 0
    kinds.append(np.full(nz, "z", dtype=object))
    refs.append(np.arange(nz))
    col_hi.append(np.ones(nz))
    costs.append(np.zeros(nz))

    share = float(rules["min_sale_share"])
    short0 = z0 + nz
    n_short = len(sellers) if share > 0 and n else 0
    max_c = float(np.max(np.abs(c_x))) if n else 1.0
    # The shortfall ranks above everything else, the plan-adjustment penalty included.
    big_m = 1e4 * (max_c + penalty + 1.0)
    kinds.append(np.full(n_short, "short", dtype=object))
    refs.append(np.arange(n_short))
    col_hi.append(np.full(n_short, INF))
    costs.append(np.full(n_short, -big_m))

    c = np.concatenate(costs)
    n_cols = len(c)
    col_hi_arr = np.concatenate(col_hi)
    integer = np.zeros(n_cols, dtype=bool)
    integer[z0:z0 + nz] = True

    rows = _Rows()
    scodes = sellers["code"].to_numpy(dtype=object)
    bcodes = buyers["code"].to_numpy(dtype=object)
    x_cols = np.arange(n)

    def per_seller(kind, vals, rhs_by_seller, cols=x_cols, owners=si, extra=None):
        """One row per seller that has pairs: sum over its pairs of vals*col <= rhs."""
        used = np.unique(owners)
        local = np.searchsorted(used, owners)
        r, cc, vv = [local], [cols], [vals]
        if extra is not None:
            r.append(np.searchsorted(used, extra[0])), cc.append(extra[1]), vv.append(extra[2])
        rows.add_block(np.concatenate(r), np.concatenate(cc), np.concatenate(vv),
                       np.full(len(used), -INF), rhs_by_seller[used], kind, scodes[used], np.full(len(used), -1))

    def per_buyer(kind, vals, rhs_by_buyer, mask_buyers=None, cols=x_cols, owners=bi, extra=None, lo=None):
        used = np.unique(owners)
        if mask_buyers is not None:
            used = used[mask_buyers[used]]
        keep = np.isin(owners, used)
        local = np.searchsorted(used, owners[keep])
        r, cc, vv = [local], [cols[keep]], [np.asarray(vals)[keep]]
        if extra is not None:
            ekeep = np.isin(extra[0], used)
            r.append(np.searchsorted(used, extra[0][ekeep]))
            cc.append(extra[1][ekeep])
            vv.append(extra[2][ekeep])
        rows.add_block(np.concatenate(r), np.concatenate(cc), np.concatenate(vv),
                       np.full(len(used), -INF), rhs_by_buyer[used], kind, bcodes[used], np.full(len(used), -1))

    if n:
        ones = np.ones(n)
        per_seller("supply", ones, surplus)
        per_buyer("demand", ones, demand)
        budget = buyers["budget_wan"].to_numpy(dtype=float)
        per_buyer("budget", pairs["price"].to_numpy(dtype=float), budget, _finite(budget))
        a_extra = None
        if len(a_pairs):
            a_extra = (bi[a_pairs], a0 + np.arange(len(a_pairs)), -np.ones(len(a_pairs)))
        per_buyer("construction", ones, headroom, _finite(headroom), extra=a_extra)
        cult = buyers["cultivated_headroom_mu"].to_numpy(dtype=float)
        per_buyer("cultivated", buyers["share"].to_numpy(dtype=float)[bi], cult, _finite(cult))
        if rules["quality_rule"] == "aggregate":
            gs = pairs["seller_grade"].to_numpy(dtype=float)
            gb = pairs["buyer_grade"].to_numpy(dtype=float)
            diff = np.where(np.isnan(gs) | np.isnan(gb), 0.0, gs - gb)
            per_buyer("quality", diff, np.zeros(len(buyers)), _finite(buyers["occupied_quality_grade"]))
        if len(a_pairs):
            k = len(a_pairs)
            rows.add_block(np.concatenate([np.arange(k), np.arange(k)]),
                           np.concatenate([a0 + np.arange(k), a_pairs]),
                           np.concatenate([np.ones(k), -np.ones(k)]),
                           np.full(k, -INF), np.zeros(k), "adjust_link", np.full(k, "", dtype=object), a_pairs)
            a_si = si[a_pairs]
            used = np.unique(a_si)
            rows.add_block(np.searchsorted(used, a_si), a0 + np.arange(k), np.ones(k), np.full(len(used), -INF),
                           adj_cap[used], "adjust_cap", scodes[used], np.full(len(used), -1))
        if is_mip:
            z_cols = z0 + np.arange(n)
            ar = np.arange(n)
            # x - U z <= 0 and x - lot z >= 0
            rows.add_block(np.concatenate([ar, ar]), np.concatenate([x_cols, z_cols]),
                           np.concatenate([ones, -upper_x]), np.full(n, -INF), np.zeros(n), "lot_upper",
                           np.full(n, "", dtype=object), ar)
            if min_lot > 0:
                rows.add_block(np.concatenate([ar, ar]), np.concatenate([x_cols, z_cols]),
                               np.concatenate([ones, -np.full(n, min_lot)]), np.zeros(n), np.full(n, INF),
                               "lot_lower", np.full(n, "", dtype=object), ar)
            if k_seller > 0:
                per_seller("partners_seller", ones, np.full(len(sellers), float(k_seller)), cols=z_cols)
            if k_buyer > 0:
                per_buyer("partners_buyer", ones, np.full(len(buyers), float(k_buyer)), cols=z_cols)
        if n_short:
            # sum_b x_sb + short_s >= share * surplus_s
            used = np.arange(n_short)
            rows.add_block(np.concatenate([si, used]), np.concatenate([x_cols, short0 + used]),
                           np.concatenate([ones, np.ones(n_short)]), share * surplus, np.full(n_short, INF),
                           "min_sale", scodes, np.full(n_short, -1))

    A, row_lo, row_hi, row_kind, row_code, row_ref = rows.matrix(n_cols)
    tie_cost = np.zeros(n_cols)
    tie_cost[:n] = pair_distance_km(pairs, sellers, buyers)
    return LinearModel(
        c=c, A=A, row_lo=row_lo, row_hi=row_hi, col_lo=np.zeros(n_cols), col_hi=col_hi_arr, integer=integer,
        col_kind=np.concatenate(kinds), col_ref=np.concatenate(refs).astype(np.int64), row_kind=row_kind,
        row_code=row_code, row_ref=row_ref, sellers=sellers, buyers=buyers, pairs=pairs, candidates=cand,
        is_mip=is_mip, tie_cost=tie_cost)


UNKNOWN_DISTANCE_KM = 300.0  # between counties without coordinates in different (or unknown) prefectures


def pair_distance_km(pairs: pd.DataFrame, sellers: pd.DataFrame, buyers: pd.DataFrame) -> np.ndarray:
    """Great-circle distance between the county seats of each pair; the tie-break among equally good plans.

    Without coordinates: 0 within one prefecture, UNKNOWN_DISTANCE_KM otherwise."""
    if not len(pairs):
        return np.zeros(0)
    si, bi = pairs["seller_idx"].to_numpy(), pairs["buyer_idx"].to_numpy()
    lat1 = np.radians(sellers["lat"].to_numpy(dtype=float)[si])
    lon1 = np.radians(sellers["lon"].to_numpy(dtype=float)[si])
    lat2 = np.radians(buyers["lat"].to_numpy(dtype=float)[bi])
    lon2 = np.radians(buyers["lon"].to_numpy(dtype=float)[bi])
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    pref_s = sellers["prefecture"].to_numpy(dtype=object)[si]
    pref_b = buyers["prefecture"].to_numpy(dtype=object)[bi]
    same = (pref_s == pref_b) & (pref_s != "")
    return np.where(np.isnan(km), np.where(same, 0.0, UNKNOWN_DISTANCE_KM), km)


# --------------------------------------------------------------------------- solve

@dataclass
class RawSolution:
    status: str  # optimal | time_limit | failed
    message: str
    has_solution: bool
    x: np.ndarray
    row_dual: np.ndarray | None  # d(objective)/d(row upper bound), objective maximised
    objective: float
    seconds: float


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


def _solve_highs(m: LinearModel, time_limit: float | None, algorithm: str) -> RawSolution:
    import highspy

    t0 = time.perf_counter()
    h = _new_highs()
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if m.is_mip:
        # HiGHS stops at a 0.01 % gap by default and calls that optimal; with the min_sale penalty in the objective
        # that gap hid ~10 % of the real objective. "optimal" must mean proven optimal (CBC's default does so).
        h.setOptionValue("mip_rel_gap", 0.0)
    if algorithm == "ipm" and not m.is_mip:
        h.setOptionValue("solver", "ipm")
    elif algorithm == "simplex":
        h.setOptionValue("solver", "simplex")
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = m.n_cols
    lp.num_row_ = m.n_rows
    lp.col_cost_ = m.c.astype(float)
    lp.col_lower_ = m.col_lo.astype(float)
    lp.col_upper_ = np.where(np.isfinite(m.col_hi), m.col_hi, inf).astype(float)
    lp.row_lower_ = np.where(np.isfinite(m.row_lo), m.row_lo, -inf).astype(float)
    lp.row_upper_ = np.where(np.isfinite(m.row_hi), m.row_hi, inf).astype(float)
    A = m.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.sense_ = highspy.ObjSense.kMaximize
    if m.is_mip:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in m.integer]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        return RawSolution("failed", "HiGHS rejected the model", False, np.zeros(m.n_cols), None, 0.0,
                           time.perf_counter() - t0)
    h.run()
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kNotset and not m.is_mip and algorithm != "ipm":
        # The dual simplex gives up on very large costs (a min_sale penalty of 1e4 x a price near the 1e12 input
        # limit: "excessive dual values"); interior point copes (found by fuzzing).
        h.clearSolver()
        h.setOptionValue("solver", "ipm")
        h.run()
        ms = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    seconds = time.perf_counter() - t0
    MS = highspy.HighsModelStatus
    has = bool(info.primal_solution_status >= 2) if hasattr(info, "primal_solution_status") else sol.value_valid
    x = np.array(sol.col_value, dtype=float) if has else np.zeros(m.n_cols)
    duals = None
    if not m.is_mip and sol.dual_valid and ms == MS.kOptimal:
        # HiGHS reports duals as d(objective)/d(row bound) in the model's own sense.
        duals = np.array(sol.row_dual, dtype=float)
    obj = float(m.c @ x) if has else 0.0
    text = h.modelStatusToString(ms)
    if ms == MS.kOptimal and not m.is_mip and m.tie_cost is not None and np.any(m.tie_cost > 0):
        x = _break_ties(h, m, x, obj)
        seconds = time.perf_counter() - t0
    if ms == MS.kOptimal:
        return RawSolution("optimal", text, True, x, duals, obj, seconds)
    if ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        return RawSolution("time_limit", text, has, x, None, obj, seconds)
    if ms == MS.kModelEmpty:
        return RawSolution("optimal", text, True, np.zeros(m.n_cols), None, 0.0, seconds)
    return RawSolution("failed", f"HiGHS: {text}", False, np.zeros(m.n_cols), None, 0.0, seconds)


def _break_ties(h, m: LinearModel, x: np.ndarray, objective: float) -> np.ndarray:
    """Among plans as good as the optimum, the one whose pairs are nearest (then fewest long hauls).

    An LP often has many equally good plans: which buyer takes which seller's quota is then the solver's accident,
    and staff could not defend it. A second pass keeps the objective at its optimum (within the solver tolerance) and
    minimises Σ distance·亩, so ties go to nearer counties and the same inputs always give the same plan.
    The shadow prices stay those of the first pass."""
    import highspy

    # The optimum is kept as two rows, not one: the section-4 objective no lower and the total min_sale shortfall no
    # higher. A single row over m.c mixes prices with the shortfall penalty (1e4 x larger), and HiGHS's tolerance on
    # it, after scaling, let the plan lose most of a small objective or overrun a demand (found by fuzzing).
    short = m.col_kind == "short"
    main = ~short
    main_obj = float(m.c[main] @ x[main])
    nz = np.nonzero((m.c != 0) & main)[0]
    if len(nz):
        h.addRow(main_obj - 1e-12 * max(1.0, abs(main_obj)), highspy.kHighsInf, len(nz), nz.astype(np.int32),
                 m.c[nz].astype(float))
    if short.any():
        s_idx = np.nonzero(short)[0]
        h.addRow(-highspy.kHighsInf, float(x[short].sum()), len(s_idx), s_idx.astype(np.int32), np.ones(len(s_idx)))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(m.n_cols, np.arange(m.n_cols, dtype=np.int32), m.tie_cost.astype(float))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return x
    x2 = np.array(h.getSolution().col_value, dtype=float)[:m.n_cols]
    # Dust the objective row's tolerance lets in (1e-5 亩 on a pair the first pass did not use) is not a pairing.
    x2[(x2 < 1e-5) & (np.abs(x) <= 1e-9)] = 0.0
    # Never trade objective, shortfall or feasibility for distance: a second-pass plan that is worse on any of them
    # than the first pass's (beyond rounding) is not taken. (With costs near 1e15 a row above can even be refused.)
    if (float(m.c[main] @ x2[main]) < main_obj - 1e-9 * max(1.0, abs(main_obj))
            or float(x2[short].sum()) > float(x[short].sum()) + 1e-9 * max(1.0, float(x[short].sum()))
            or _worst_violation(m, x2) > max(_worst_violation(m, x), 1e-9)):
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


def _initial_columns(m: LinearModel, per_county: int) -> np.ndarray:
    """Every non-pair column, plus each seller's and each buyer's best-paying pairs."""
    x_cols = np.nonzero(m.col_kind == "x")[0]
    keep = np.zeros(m.n_cols, dtype=bool)
    keep[m.col_kind != "x"] = True
    pairs = m.pairs
    c = m.c[x_cols]
    for owner in ("seller_idx", "buyer_idx"):
        order = np.lexsort((-c, pairs[owner].to_numpy()))
        owners = pairs[owner].to_numpy()[order]
        first = np.searchsorted(owners, owners, side="left")
        rank = np.arange(len(order)) - first
        keep[x_cols[order[rank < per_county]]] = True
    return np.nonzero(keep)[0]


def _solve_highs_colgen(m: LinearModel, time_limit: float | None, per_county: int = 5,
                        batch: int = 10_000, purge_after: int = 2) -> RawSolution:
    """Column generation over pair columns: exact for the LP, and far faster at national size.

    The restricted model starts with each county's best-paying pairs; every round prices all pair columns at once
    with the duals (reduced cost c - A'y, one sparse product) and adds the most attractive ones; when no column
    has a positive reduced cost the restricted optimum is optimal for the whole model, duals included.
    """
    import highspy

    t0 = time.perf_counter()
    MS = highspy.HighsModelStatus
    cols = _initial_columns(m, per_county)
    active = np.zeros(m.n_cols, dtype=bool)
    active[cols] = True
    A_csc = m.A.tocsc()
    AT = A_csc.T  # CSR view: pricing is one product with it
    h = _new_highs()
    h.setOptionValue("solver", "simplex")
    # Adding columns keeps the basis primal feasible, so primal simplex re-optimises from where it stopped
    # (measured 2.5x faster than dual simplex here).
    h.setOptionValue("simplex_strategy", 4)
    if h.passModel(_highs_lp(m, cols, A_csc)) == highspy.HighsStatus.kError:
        return RawSolution("failed", "HiGHS rejected the model", False, np.zeros(m.n_cols), None, 0.0, 0.0)
    tol = 1e-7 * max(1.0, float(np.max(np.abs(m.c))) if m.n_cols else 1.0)
    rounds = 0
    idle = np.zeros(len(cols), dtype=np.int32)  # rounds each master column has sat out of the basis
    is_pair = m.col_kind == "x"
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
        y = np.array(sol.row_dual, dtype=float)
        rc = m.c - AT @ y
        rc[active] = -np.inf
        candidates = np.nonzero(rc > tol)[0]
        if len(candidates) == 0:
            break
        if purge_after:
            # Keep the master small: drop pair columns that stayed nonbasic at zero for `purge_after` rounds
            # (pricing brings any of them back if it becomes attractive again). Simplex iterations cost grows
            # with the master's width, so this keeps late rounds cheap.
            basic = np.array([s == highspy.HighsBasisStatus.kBasic for s in h.getBasis().col_status])
            at_zero = np.abs(np.array(sol.col_value)) <= 1e-12
            idle = np.where(basic | ~at_zero, 0, idle + 1)
            drop = np.nonzero((idle >= purge_after) & is_pair[cols])[0]
            if len(drop):
                h.deleteCols(len(drop), drop.astype(np.int32))
                keep = np.ones(len(cols), dtype=bool)
                keep[drop] = False
                active[cols[drop]] = False
                cols, idle = cols[keep], idle[keep]
        if len(candidates) > batch:
            # The most attractive columns overall (spreading the batch over sellers and buyers was measured
            # slower: more rounds for the same columns).
            candidates = candidates[np.argpartition(-rc[candidates], batch)[:batch]]
        candidates.sort()
        sub = A_csc[:, candidates]
        inf = highspy.kHighsInf
        h.addCols(len(candidates), m.c[candidates].astype(float), m.col_lo[candidates].astype(float),
                  np.where(np.isfinite(m.col_hi[candidates]), m.col_hi[candidates], inf).astype(float),
                  sub.nnz, sub.indptr[:-1].astype(np.int32), sub.indices.astype(np.int32), sub.data.astype(float))
        cols = np.concatenate([cols, candidates])
        idle = np.concatenate([idle, np.zeros(len(candidates), dtype=np.int32)])
        active[candidates] = True
    sol = h.getSolution()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    has = bool(info.primal_solution_status >= 2)
    x = np.zeros(m.n_cols)
    if has:
        x[cols] = np.array(sol.col_value, dtype=float)
    obj = float(m.c @ x) if has else 0.0
    note = f" (column generation: {rounds} rounds, {len(cols)} of {m.n_cols} columns in the final master)"
    if ms == MS.kOptimal:
        return RawSolution("optimal", h.modelStatusToString(ms) + note, True, x,
                           np.array(sol.row_dual, dtype=float), obj, seconds)
    if ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        # Restricted columns are a subset: the best plan found is feasible for the whole model.
        return RawSolution("time_limit", "Time limit reached" + note, has, x, None, obj, seconds)
    return RawSolution("failed", f"HiGHS: {h.modelStatusToString(ms)}{note}", False, np.zeros(m.n_cols), None, 0.0,
                       seconds)


def _solve_cbc(m: LinearModel, time_limit: float | None) -> RawSolution:
    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem("quota_transfer", pulp.LpMaximize)
    cols = [pulp.LpVariable(f"v{j}", lowBound=0, upBound=None if not np.isfinite(m.col_hi[j]) else float(m.col_hi[j]),
                            cat=pulp.LpInteger if m.integer[j] else pulp.LpContinuous) for j in range(m.n_cols)]
    prob += pulp.LpAffineExpression([(cols[j], float(m.c[j])) for j in np.nonzero(m.c)[0]] or [(cols[0], 0.0)]
                                    if m.n_cols else 0)
    A = m.A.tocsr()
    names = []
    for i in range(m.n_rows):
        start, end = A.indptr[i], A.indptr[i + 1]
        expr = pulp.LpAffineExpression([(cols[j], float(v)) for j, v in zip(A.indices[start:end], A.data[start:end])])
        lo, hi = m.row_lo[i], m.row_hi[i]
        if np.isfinite(hi):
            name = f"r{i}_u"
            prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=float(hi), name=name)
            names.append((i, name, 1.0))
        if np.isfinite(lo):
            name = f"r{i}_l"
            prob += pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=float(lo), name=name)
            names.append((i, name, 1.0))
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    try:
        prob.solve(solver)
    except Exception as exc:  # solver binary missing or crashed: report, do not raise
        return RawSolution("failed", f"CBC: {exc}", False, np.zeros(m.n_cols), None, 0.0, time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    status = pulp.LpStatus[prob.status]
    sol_status = prob.sol_status
    x = np.array([v.varValue if v.varValue is not None else 0.0 for v in cols], dtype=float)
    has = sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if prob.status == pulp.LpStatusOptimal and sol_status == pulp.LpSolutionOptimal:
        duals = None
        if not m.is_mip:
            duals = np.zeros(m.n_rows)
            for i, name, _ in names:
                pi = prob.constraints[name].pi
                duals[i] += float(pi) if pi is not None else 0.0
        return RawSolution("optimal", status, True, x, duals, float(m.c @ x), seconds)
    if has:
        # PuLP says "Optimal" for a feasible integer solution found before the time limit: do not repeat that.
        return RawSolution("time_limit", f"CBC: time limit reached, best solution found (not proven optimal; "
                                         f"PuLP status {status})", True, x, None, float(m.c @ x), seconds)
    if time_limit is not None and seconds >= 0.9 * time_limit:
        return RawSolution("time_limit", f"CBC: {status}, no solution within the time limit", False,
                           np.zeros(m.n_cols), None, 0.0, seconds)
    return RawSolution("failed", f"CBC: {status}", False, np.zeros(m.n_cols), None, 0.0, seconds)


# --------------------------------------------------------------------------- result

@dataclass
class SolveResult:
    """Plain tables and facts of one solve."""

    status: str  # optimal | time_limit | failed
    message: str
    has_solution: bool
    objective: float
    solver: str
    algorithm: str
    is_mip: bool
    seconds_build: float
    seconds_solve: float
    pairings: pd.DataFrame  # one row per pair with quota_mu > 0
    counties: pd.DataFrame  # one row per county
    constraints: pd.DataFrame  # one row per model row: kind, county, activity, bound, slack, shadow price
    candidates: pd.DataFrame  # every seller x buyer, admissible or not, with the amount moved
    scenario_name: str = ""
    scenario_hash: str = ""
    totals: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"status": self.status, "message": self.message, "has_solution": self.has_solution,
                "objective": self.objective, "solver": self.solver, "algorithm": self.algorithm,
                "is_mip": self.is_mip, "seconds": round(self.seconds_build + self.seconds_solve, 4),
                "seconds_build": round(self.seconds_build, 4), "seconds_solve": round(self.seconds_solve, 4),
                "scenario_name": self.scenario_name, "scenario_hash": self.scenario_hash, "totals": self.totals}


PAIRING_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu", "price_wan_per_mu",
                   "amount_wan", "plan_adjustment_mu", "lo_price", "hi_price", "agreed"]


def solve(scn: Scenario, solver: str = "highs", time_limit: float | None = None,
          algorithm: str = "auto") -> SolveResult:
    """Build and solve; never raises for a valid scenario (solver failures are reported in the result)."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    t0 = time.perf_counter()
    m = build(scn)
    seconds_build = time.perf_counter() - t0
    if algorithm == "auto":
        # Measured: on 300 x 1,000 and 800 x 2,800 pair LPs column generation beats both simplex and interior
        # point on the full model by far; small models go straight to simplex.
        large = int((m.col_kind == "x").sum()) > 20_000
        algorithm = "colgen" if (large and not m.is_mip and not (m.col_kind == "a").any()) else "simplex"
    if m.n_cols == 0:
        raw = RawSolution("optimal", "no admissible pair", True, np.zeros(0), np.zeros(m.n_rows), 0.0, 0.0)
    elif solver == "highs":
        try:
            if algorithm == "colgen" and not m.is_mip:
                raw = _solve_highs_colgen(m, time_limit)
            else:
                raw = _solve_highs(m, time_limit, algorithm)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            raw = RawSolution("failed", f"HiGHS: {exc}", False, np.zeros(m.n_cols), None, 0.0, 0.0)
    else:
        raw = _solve_cbc(m, time_limit)
        algorithm = "branch-and-cut" if m.is_mip else "cbc-simplex"
    return postprocess(scn, m, raw, solver, algorithm, seconds_build)


def postprocess(scn: Scenario, m: LinearModel, raw: RawSolution, solver: str, algorithm: str,
                seconds_build: float) -> SolveResult:
    x_all = np.where(np.abs(raw.x) < 1e-7, 0.0, raw.x)
    n = len(m.pairs)
    x = x_all[:n] if n else np.zeros(0)
    adj = np.zeros(n)
    a_mask = m.col_kind == "a"
    if a_mask.any():
        adj[m.col_ref[a_mask]] = x_all[a_mask]
    pairs = m.pairs.copy()
    pairs["quota_mu"] = np.round(x, 6)
    pairs["plan_adjustment_mu"] = np.round(adj, 6)
    pairs["amount_wan"] = np.round(pairs["quota_mu"] * pairs["price"], 6)
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    moved = pairs[pairs["quota_mu"] > 1e-6].copy()
    pairings = pd.DataFrame({
        "seller_code": moved["seller_code"].astype(str), "seller_name": moved["seller_code"].map(names),
        "buyer_code": moved["buyer_code"].astype(str), "buyer_name": moved["buyer_code"].map(names),
        "quota_mu": moved["quota_mu"], "price_wan_per_mu": moved["price"].round(6),
        "amount_wan": moved["amount_wan"], "plan_adjustment_mu": moved["plan_adjustment_mu"],
        "lo_price": moved["lo"], "hi_price": moved["hi"], "agreed": moved["agreed_price"].notna(),
    }, columns=PAIRING_COLUMNS).sort_values(["seller_code", "quota_mu"], ascending=[True, False])
    pairings = pairings.reset_index(drop=True)

    cand = m.candidates.copy()
    cand["quota_mu"] = 0.0
    if n:
        key = cand.index[cand["admissible"]]
        cand.loc[key, "quota_mu"] = pairs["quota_mu"].to_numpy()

    counties = county_table(scn, pairings)
    constraints = constraint_table(m, raw, x_all)
    # The min_sale shortfall penalty only ranks plans (DESIGN 4: "above everything else"); the objective reported
    # is the section-4 objective, not a number dominated by that artificial penalty.
    short = m.col_kind == "short"
    objective = float(raw.objective)
    if raw.has_solution and short.any():
        objective = float(m.c[~short] @ raw.x[~short])
    totals = {
        "surplus_offered_mu": float(m.sellers["surplus_mu"].sum()),
        "demand_mu": float(m.buyers["demand_mu"].sum()),
        "quota_matched_mu": float(pairings["quota_mu"].sum()),
        "proceeds_wan": float(pairings["amount_wan"].sum()),
        "unmet_demand_mu": float(m.buyers["demand_mu"].sum() - pairings["quota_mu"].sum()),
        "plan_adjustment_mu": float(pairings["plan_adjustment_mu"].sum()),
        "min_sale_shortfall_mu": float(x_all[short].sum()),
        "pairings": int(len(pairings)),
        "sellers": int(len(m.sellers)), "buyers": int(len(m.buyers)),
        "admissible_pairs": int(n), "variables": int(m.n_cols), "constraints": int(m.n_rows),
    }
    return SolveResult(
        status=raw.status, message=raw.message, has_solution=raw.has_solution, objective=objective,
        solver=solver, algorithm=algorithm, is_mip=m.is_mip, seconds_build=seconds_build, seconds_solve=raw.seconds,
        pairings=pairings, counties=counties, constraints=constraints, candidates=cand,
        scenario_name=scn.name, scenario_hash=scn.content_hash(), totals=totals)


def county_table(scn: Scenario, pairings: pd.DataFrame) -> pd.DataFrame:
    c = scn.counties
    sold = pairings.groupby("seller_code")["quota_mu"].sum()
    bought = pairings.groupby("buyer_code")["quota_mu"].sum()
    got = pairings.groupby("seller_code")["amount_wan"].sum()
    paid = pairings.groupby("buyer_code")["amount_wan"].sum()
    adj = pairings.groupby("seller_code")["plan_adjustment_mu"].sum()
    eligible = c["poverty_class"].isin(schema.SELLER_CLASSES)
    surplus = c["surplus_mu"].fillna(0.0)
    demand = c["demand_mu"].fillna(0.0)
    out = pd.DataFrame({
        "code": c["code"].astype(str), "name": c["name"], "prefecture": c["prefecture"],
        "poverty_class": c["poverty_class"], "eligible_seller": eligible,
        "surplus_mu": surplus, "sold_mu": c["code"].map(sold).fillna(0.0),
        "demand_mu": demand, "bought_mu": c["code"].map(bought).fillna(0.0),
        "proceeds_wan": c["code"].map(got).fillna(0.0), "paid_wan": c["code"].map(paid).fillna(0.0),
        "plan_adjustment_mu": c["code"].map(adj).fillna(0.0),
    })
    out["unsold_mu"] = (out["surplus_mu"] - out["sold_mu"]).clip(lower=0).round(6)
    out["unmet_mu"] = (out["demand_mu"] - out["bought_mu"]).clip(lower=0).round(6)
    role = np.where(eligible & (surplus > TOL), "seller", np.where(demand > TOL, "buyer", "none"))
    role = np.where(eligible & (surplus > TOL) & (demand > TOL), "both", role)
    out["role"] = role
    order = ["code", "name", "prefecture", "poverty_class", "role", "eligible_seller", "surplus_mu", "sold_mu",
             "unsold_mu", "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan", "plan_adjustment_mu"]
    return out[order].reset_index(drop=True)


def constraint_table(m: LinearModel, raw: RawSolution, x_all: np.ndarray) -> pd.DataFrame:
    activity = m.A @ x_all if m.n_rows else np.zeros(0)
    bound = np.where(np.isfinite(m.row_hi), m.row_hi, m.row_lo)
    slack = np.where(np.isfinite(m.row_hi), m.row_hi - activity, activity - m.row_lo)
    df = pd.DataFrame({"kind": m.row_kind, "county_code": m.row_code, "pair_index": m.row_ref,
                       "activity": activity, "bound": bound, "slack": np.round(slack, 9)})
    if raw.row_dual is not None and len(raw.row_dual) == m.n_rows:
        # Shadow price: objective gained per unit the bound is relaxed (upper bound raised / lower bound lowered).
        sign = np.where(np.isfinite(m.row_hi), 1.0, -1.0)
        df["shadow_price"] = np.round(sign * raw.row_dual, 9) + 0.0
    else:
        df["shadow_price"] = np.nan
    df["binding"] = df["slack"].abs() <= 1e-6
    return df
