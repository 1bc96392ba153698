"""Postprocess: the solver's numbers turned into the plain tables people read (pairings, counties, constraints)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.model.market import TOL, eligible_seller
from planner.model.matrix import LinearModel
from planner.model.solvers import RawSolution
from planner.scenario import Scenario

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

    best_bound: float | None = None  # integer model: proven bound on the objective
    mip_gap: float | None = None  # integer model: proven relative gap, 0 when optimal

    def summary(self) -> dict:
        extra = {"best_bound": self.best_bound, "mip_gap": self.mip_gap} if self.is_mip else {}
        return {"status": self.status, "message": self.message, "has_solution": self.has_solution,
                "objective": self.objective, "solver": self.solver, "algorithm": self.algorithm,
                "is_mip": self.is_mip, **extra, "seconds": round(self.seconds_build + self.seconds_solve, 4),
                "seconds_build": round(self.seconds_build, 4), "seconds_solve": round(self.seconds_solve, 4),
                "scenario_name": self.scenario_name, "scenario_hash": self.scenario_hash, "totals": self.totals}


PAIRING_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu", "price_wan_per_mu",
                   "amount_wan", "plan_adjustment_mu", "lo_price", "hi_price", "agreed", "deal", "reclaimed_grade",
                   "occupied_grade", "quality_check"]


MU_DECIMALS = 2  # 0.01 亩 (about 6.7 m²): the precision quota is stated in
WAN_DECIMALS = 2  # 0.01 万元 = 100 元


def clean_mu(values) -> np.ndarray:
    """Quota as documents state it: 2 decimals, solver dust gone (1259.999992 is 1260), never −0."""
    return np.round(np.asarray(values, dtype=float), MU_DECIMALS) + 0.0


def amount_wan(quota_mu, price_wan_per_mu) -> np.ndarray:
    """Amount = quota x price as both are printed, to 0.01 万元."""
    return np.round(np.asarray(quota_mu, dtype=float) * np.asarray(price_wan_per_mu, dtype=float), WAN_DECIMALS) + 0.0


def printable_plan(m: LinearModel, x: np.ndarray) -> np.ndarray:
    """The plan rounded to 0.01 亩 without breaking a limit: nearest rounding, then where a rounded-up quota pushes a
    row past its bound (14.285714 亩 at 35 万元/亩 would overspend a budget by 0.15 万元), that row's most
    rounded-up quota gives back 0.01 亩 until it holds. Agreed deals are never touched."""
    q = clean_mu(x)
    kinds = m.col_kind
    movable = ((kinds == "x") | (kinds == "a")) & (m.col_lo < m.col_hi)
    cols = np.nonzero(movable & (q > 0))[0]
    if not len(cols) or not m.n_rows:
        return q
    A = m.A.tocsc()[:, cols].tocsr()
    upper = np.isfinite(m.row_hi)
    step = 10.0 ** -MU_DECIMALS
    for _ in range(10 * len(cols)):
        act = m.A @ q
        over = np.nonzero(upper & (act > m.row_hi + 1e-9 * np.maximum(1.0, np.abs(m.row_hi))))[0]
        if not len(over):
            break
        i = over[0]
        start, end = A.indptr[i], A.indptr[i + 1]
        local, coef = A.indices[start:end], A.data[start:end]
        cand = cols[local[(coef > 0)]]
        cand = cand[q[cand] >= step]
        if not len(cand):
            break
        j = cand[np.argmax(q[cand] - x[cand])]
        q[j] = round(q[j] - step, MU_DECIMALS)
    return q


def quality_check(reclaimed_grade, occupied_grade) -> np.ndarray:
    """Article 4(二) per pair: "ok" (reclaimed no worse), "worse" (grade number higher) or "unchecked" (a grade
    is missing)."""
    g_s = np.asarray(reclaimed_grade, dtype=float)
    g_b = np.asarray(occupied_grade, dtype=float)
    return np.where(np.isnan(g_s) | np.isnan(g_b), "unchecked", np.where(g_s > g_b, "worse", "ok")).astype(object)


def postprocess(scn: Scenario, m: LinearModel, raw: RawSolution, solver: str, algorithm: str,
                seconds_build: float) -> SolveResult:
    x_all = np.where(np.abs(raw.x) < 1e-7, 0.0, raw.x)
    x_print = printable_plan(m, x_all) if raw.has_solution else np.zeros(m.n_cols)
    n = len(m.pairs)
    x = x_print[:n] if n else np.zeros(0)
    adj = np.zeros(n)
    a_mask = m.col_kind == "a"
    if a_mask.any():
        adj[m.col_ref[a_mask]] = x_print[a_mask]
    pairs = m.pairs.copy()
    # Numbers a person reads (DESIGN 4): quota to 0.01 亩, amount = quota x price as printed, no solver dust.
    pairs["quota_mu"] = clean_mu(x)
    pairs["plan_adjustment_mu"] = clean_mu(adj)
    pairs["amount_wan"] = amount_wan(pairs["quota_mu"], pairs["price"])
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    moved = pairs[pairs["quota_mu"] > 0].copy()
    pairings = pd.DataFrame({
        "seller_code": moved["seller_code"].astype(str), "seller_name": moved["seller_code"].map(names),
        "buyer_code": moved["buyer_code"].astype(str), "buyer_name": moved["buyer_code"].map(names),
        "quota_mu": moved["quota_mu"], "price_wan_per_mu": moved["price"].round(6),
        "amount_wan": moved["amount_wan"], "plan_adjustment_mu": moved["plan_adjustment_mu"],
        "lo_price": moved["lo"], "hi_price": moved["hi"], "agreed": moved["agreed_price"].notna(),
        "deal": moved["deal_mu"].notna(),
        "reclaimed_grade": moved["seller_grade"], "occupied_grade": moved["buyer_grade"],
        "quality_check": quality_check(moved["seller_grade"], moved["buyer_grade"]),
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
        "quota_matched_mu": float(clean_mu(pairings["quota_mu"].sum())),
        "proceeds_wan": float(np.round(pairings["amount_wan"].sum(), WAN_DECIMALS)),
        "unmet_demand_mu": float(clean_mu(m.buyers["demand_mu"].sum() - pairings["quota_mu"].sum())),
        "plan_adjustment_mu": float(clean_mu(pairings["plan_adjustment_mu"].sum())),
        "min_sale_shortfall_mu": float(clean_mu(x_all[short].sum())),
        "deals": int(pairings["deal"].sum()),
        "quality_unchecked_pairs": int((pairings["quality_check"] == "unchecked").sum()),
        "quality_worse_pairs": int((pairings["quality_check"] == "worse").sum()),
        "pairings": int(len(pairings)),
        "sellers": int(len(m.sellers)), "buyers": int(len(m.buyers)),
        "admissible_pairs": int(n), "variables": int(m.n_cols), "constraints": int(m.n_rows),
    }
    return SolveResult(
        status=raw.status, message=raw.message, has_solution=raw.has_solution, objective=objective,
        solver=solver, algorithm=algorithm, is_mip=m.is_mip, seconds_build=seconds_build, seconds_solve=raw.seconds,
        pairings=pairings, counties=counties, constraints=constraints, candidates=cand,
        scenario_name=scn.name, scenario_hash=scn.content_hash(), totals=totals,
        best_bound=_shortfall_free(m, raw.best_bound, raw.x), mip_gap=raw.mip_gap)


def _shortfall_free(m: LinearModel, bound: float | None, x: np.ndarray) -> float | None:
    """The solver's bound includes the min_sale shortfall penalty; report it on the DESIGN objective's scale."""
    if bound is None:
        return None
    short = m.col_kind == "short"
    return float(bound + m.c[short] @ x[short] * -1.0) if short.any() else float(bound)


def county_table(scn: Scenario, pairings: pd.DataFrame) -> pd.DataFrame:
    c = scn.counties
    sold = pairings.groupby("seller_code")["quota_mu"].sum()
    bought = pairings.groupby("buyer_code")["quota_mu"].sum()
    got = pairings.groupby("seller_code")["amount_wan"].sum()
    paid = pairings.groupby("buyer_code")["amount_wan"].sum()
    adj = pairings.groupby("seller_code")["plan_adjustment_mu"].sum()
    eligible = eligible_seller(c["poverty_class"])
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
    out["unsold_mu"] = clean_mu((out["surplus_mu"] - out["sold_mu"]).clip(lower=0))
    out["unmet_mu"] = clean_mu((out["demand_mu"] - out["bought_mu"]).clip(lower=0))
    for col in ("sold_mu", "bought_mu", "plan_adjustment_mu"):
        out[col] = clean_mu(out[col])
    for col in ("proceeds_wan", "paid_wan"):
        out[col] = np.round(out[col], WAN_DECIMALS) + 0.0
    role = np.where(eligible & (surplus > TOL), "seller", np.where(demand > TOL, "buyer", "none"))
    role = np.where(eligible & (surplus > TOL) & (demand > TOL), "both", role)
    out["role"] = role
    order = ["code", "name", "prefecture", "poverty_class", "role", "eligible_seller", "surplus_mu", "sold_mu",
             "unsold_mu", "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan", "plan_adjustment_mu"]
    return out[order].reset_index(drop=True)


BINDING_ABS = 0.01  # a limit left with less than 0.01 亩 / 0.01 万元 is used up, as a person reads it
BINDING_REL = 1e-6


def is_binding(slack, bound) -> np.ndarray:
    """A limit counts as binding by a tolerance: a budget spent to 25,199.99984 of 25,200 万元 is used up."""
    slack = np.abs(np.asarray(slack, dtype=float))
    bound = np.nan_to_num(np.abs(np.asarray(bound, dtype=float)), posinf=0.0)
    return slack < np.maximum(BINDING_ABS, BINDING_REL * bound)


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
    df["binding"] = is_binding(df["slack"], df["bound"])
    return df
