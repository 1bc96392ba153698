"""Postprocess: the solver's numbers turned into the plain tables people read (pairings, counties, constraints)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.model.market import TOL, eligible_seller, lot_net_mu, out_year, supply_counties, table
from planner.model.matrix import OWNER_UNIT, LinearModel
from planner.model.rounding import PRICE_DECIMALS, amount_wan, clean_mu, printable_plan
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
    lots: pd.DataFrame = field(default_factory=pd.DataFrame)  # per lot: net, sold, remaining (with lots.csv)
    horizon: tuple[int, int] | None = None  # (start_year, end_year) when the plan runs by year

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
    mk = m.market
    fl = mk.flows
    nf = len(fl)
    f_pair = fl["pair_idx"].to_numpy()
    x_flow = x_print[:nf]
    adj = np.zeros(n)
    a_mask = m.col_kind == "a"
    if a_mask.any():
        adj[m.col_ref[a_mask]] = x_print[a_mask]
    pairs = m.pairs.copy()
    # Numbers a person reads (DESIGN 4): quota to 0.01 亩, amount = quota x price as printed, no solver dust.
    pairs["quota_mu"] = clean_mu(np.bincount(f_pair, weights=x_flow, minlength=n)[:n] if nf else np.zeros(n))
    pairs["plan_adjustment_mu"] = clean_mu(adj)
    pairings = pairing_table(scn, m, x_flow, pairs)

    cand = m.candidates.copy()
    cand["quota_mu"] = 0.0
    if n:
        key = cand.index[cand["admissible"]]
        cand.loc[key, "quota_mu"] = pairs["quota_mu"].to_numpy()

    counties = county_table(scn, pairings, supply_counties(scn))
    lots = lot_table(scn, m, x_flow)
    constraints = constraint_table(m, raw, x_all)
    # The min_sale shortfall penalty only ranks plans (DESIGN 4: "above everything else"); the objective reported
    # is the section-4 objective, not a number dominated by that artificial penalty.
    # It is the objective of the plan as printed (quota to 0.01 亩), so it adds up from the pairings table; the
    # solver's own value (before rounding) is kept as `solver_objective` in the summary.
    short = m.col_kind == "short"
    objective = float(m.c[~short] @ x_print[~short]) if raw.has_solution else 0.0
    totals = {
        "surplus_offered_mu": float(m.sellers["surplus_mu"].sum()),
        "demand_mu": float(m.buyers["demand_mu"].sum()),
        "quota_matched_mu": float(clean_mu(pairings["quota_mu"].sum())),
        "proceeds_wan": float(np.round(pairings["amount_wan"].sum(), PRICE_DECIMALS)),
        "solver_objective": float(raw.objective - (m.c[short] @ raw.x[short] if raw.has_solution else 0.0)),
        "unmet_demand_mu": float(clean_mu(m.buyers["demand_mu"].sum() - pairings["quota_mu"].sum())),
        "plan_adjustment_mu": float(clean_mu(pairings["plan_adjustment_mu"].sum())),
        "min_sale_shortfall_mu": float(clean_mu(x_all[short].sum())),
        "deals": int(pairings["deal"].sum()),
        "quality_unchecked_pairs": int((pairings["quality_check"] == "unchecked").sum()),
        "quality_worse_pairs": int((pairings["quality_check"] == "worse").sum()),
        "pairings": int(len(pairings)),  # rows: one per pair, and per year in a plan by year
        "county_pairs": int(len(pairings[["seller_code", "buyer_code"]].drop_duplicates())) if len(pairings) else 0,
        "sellers": int(len(m.sellers)), "buyers": int(len(m.buyers)),
        "admissible_pairs": int(n), "variables": int(m.n_cols), "constraints": int(m.n_rows),
    }
    return SolveResult(
        status=raw.status, message=raw.message, has_solution=raw.has_solution, objective=objective,
        solver=solver, algorithm=algorithm, is_mip=m.is_mip, seconds_build=seconds_build, seconds_solve=raw.seconds,
        pairings=pairings, counties=counties, constraints=constraints, candidates=cand,
        scenario_name=scn.name, scenario_hash=scn.content_hash(), totals=totals,
        best_bound=_shortfall_free(m, raw.best_bound, raw.x), mip_gap=raw.mip_gap, lots=lots,
        horizon=None if mk.horizon is None else (mk.horizon.start, mk.horizon.end))


def _shortfall_free(m: LinearModel, bound: float | None, x: np.ndarray) -> float | None:
    """The solver's bound includes the min_sale shortfall penalty; report it on the DESIGN objective's scale."""
    if bound is None:
        return None
    short = m.col_kind == "short"
    return float(bound + m.c[short] @ x[short] * -1.0) if short.any() else float(bound)


def pairing_table(scn: Scenario, m: LinearModel, x_flow: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per pair (and year, with a horizon) that moves quota: who, how much, at what price, the grades on
    both sides and whether the pair keeps article 4(二)'s quality balance."""
    mk = m.market
    fl = mk.flows
    grade_u = mk.units["grade"].to_numpy(dtype=float)[fl["unit_idx"].to_numpy()]
    df = pd.DataFrame({"pair": fl["pair_idx"].to_numpy(), "year": out_year(mk), "quota": x_flow,
                       "grade": grade_u})
    df = df[df["quota"] > 0]
    buyer_grade = pairs["buyer_grade"].to_numpy(dtype=float)
    df["check"] = quality_check(df["grade"], buyer_grade[df["pair"].to_numpy()])
    df["gq"] = df["grade"].fillna(0.0) * df["quota"]
    df["q_graded"] = np.where(df["grade"].notna(), df["quota"], 0.0)
    rank = {"ok": 0, "unchecked": 1, "worse": 2}
    df["rank"] = df["check"].map(rank)
    g = df.groupby(["pair", "year"], dropna=False, sort=True).agg(
        quota=("quota", "sum"), gq=("gq", "sum"), q_graded=("q_graded", "sum"), rank=("rank", "max")).reset_index()
    p = pairs.iloc[g["pair"].to_numpy()].reset_index(drop=True)
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    quota = clean_mu(g["quota"])
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.where(g["q_graded"] > 0, np.round(g["gq"] / g["q_graded"], 2), np.nan)
    # A pair's plan adjustment is stated once, on its first row.
    first = ~g["pair"].duplicated().to_numpy()
    out = pd.DataFrame({
        "seller_code": p["seller_code"].astype(str), "seller_name": p["seller_code"].map(names),
        "buyer_code": p["buyer_code"].astype(str), "buyer_name": p["buyer_code"].map(names),
        "year": g["year"].to_numpy(dtype=float),
        "quota_mu": quota, "price_wan_per_mu": p["price"].round(6), "amount_wan": amount_wan(quota, p["price"]),
        "plan_adjustment_mu": np.where(first, p["plan_adjustment_mu"], 0.0),
        "lo_price": p["lo"], "hi_price": p["hi"], "agreed": p["agreed_price"].notna(), "deal": p["deal_mu"].notna(),
        "reclaimed_grade": grade, "occupied_grade": p["buyer_grade"],
        "quality_check": g["rank"].map({v: k for k, v in rank.items()}).to_numpy(dtype=object),
    })
    out = out[out["quota_mu"] > 0]
    columns = PAIRING_COLUMNS if mk.horizon is None else PAIRING_COLUMNS[:4] + ["year"] + PAIRING_COLUMNS[4:]
    if mk.horizon is not None:
        out["year"] = out["year"].astype(int)
    order = ["seller_code", "quota_mu"] if mk.horizon is None else ["seller_code", "year", "quota_mu"]
    asc = [True, False] if mk.horizon is None else [True, True, False]
    return out[columns].sort_values(order, ascending=asc, kind="stable").reset_index(drop=True)


def by_pair(pairings: pd.DataFrame) -> pd.DataFrame:
    """The pairings with one row per (seller, buyer): quota, amount and plan adjustment summed over the years (a
    plan by year has a row per pair and year); other columns as in the pair's first row."""
    if "year" not in pairings.columns or not pairings.duplicated(["seller_code", "buyer_code"]).any():
        return pairings.drop(columns=["year"], errors="ignore")
    sums = {c: "sum" for c in ("quota_mu", "amount_wan", "plan_adjustment_mu") if c in pairings.columns}
    firsts = {c: "first" for c in pairings.columns if c not in sums and c not in ("seller_code", "buyer_code", "year")}
    out = pairings.groupby(["seller_code", "buyer_code"], sort=False, as_index=False).agg({**sums, **firsts})
    out["quota_mu"] = clean_mu(out["quota_mu"])
    return out[[c for c in pairings.columns if c != "year"]]


LOT_COLUMNS = ["lot_id", "county_code", "status", "ready_year", "net_mu", "saleable", "sold_mu", "remaining_mu"]


def lot_table(scn: Scenario, m: LinearModel, x_flow: np.ndarray) -> pd.DataFrame:
    """Per lot of lots.csv: net quota, whether it may sell, sold and remaining (DESIGN 5 lots.csv)."""
    lots = table(scn, "lots")
    if lots is None:
        return pd.DataFrame(columns=LOT_COLUMNS)
    units = m.market.units
    sold_unit = np.bincount(m.market.flows["unit_idx"].to_numpy(), weights=x_flow, minlength=len(units)) \
        if len(x_flow) else np.zeros(len(units))
    sold = np.zeros(len(lots))
    lot_idx = units["lot_idx"].to_numpy()
    sold[lot_idx[lot_idx >= 0]] = sold_unit[:len(units)][lot_idx >= 0]
    net = lot_net_mu(lots)
    saleable = np.zeros(len(lots), dtype=bool)
    saleable[lot_idx[lot_idx >= 0]] = True
    return pd.DataFrame({
        "lot_id": lots["lot_id"].astype(str), "county_code": lots["county_code"].astype(str),
        "status": lots["status"], "ready_year": pd.to_numeric(lots.get("ready_year"), errors="coerce"),
        "net_mu": clean_mu(net), "saleable": saleable, "sold_mu": clean_mu(sold),
        "remaining_mu": clean_mu(np.maximum(net - sold, 0.0))}, columns=LOT_COLUMNS)


def county_table(scn: Scenario, pairings: pd.DataFrame, counties: pd.DataFrame | None = None) -> pd.DataFrame:
    c = scn.counties if counties is None else counties
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
        out[col] = np.round(out[col], PRICE_DECIMALS) + 0.0
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
    lot_id = np.full(m.n_rows, "", dtype=object)  # a lot's own supply row names the lot (a county has several)
    unit_rows = m.row_owner == OWNER_UNIT
    if m.market.has_lots and unit_rows.any():
        lot_id[unit_rows] = m.market.units["unit_id"].astype(str).to_numpy(dtype=object)[m.row_ref[unit_rows]]
    df["lot_id"] = lot_id
    if raw.row_dual is not None and len(raw.row_dual) == m.n_rows:
        # Shadow price: objective gained per unit the bound is relaxed (upper bound raised / lower bound lowered).
        sign = np.where(np.isfinite(m.row_hi), 1.0, -1.0)
        df["shadow_price"] = np.round(sign * raw.row_dual, 9) + 0.0
    else:
        df["shadow_price"] = np.nan
    df["binding"] = is_binding(df["slack"], df["bound"])
    return df
