"""An independent formulation of DESIGN section 4, written from the spec and not from planner/model.py.

Dense numpy arrays and `scipy.optimize.milp` (HiGHS inside SciPy, a different code path from the planner's highspy
and PuLP/CBC calls). It reads only the typed tables of a `Scenario` (`counties`, `pairs`) and its parameters.

Reading of the spec used here (see the report for the ambiguous points):
- sellers: poverty_class in {national_key, provincial} and surplus_mu > 0; buyers: demand_mu > 0;
- a pair (s, b), s != b, is admissible when not excluded, lo <= hi and, with quality_rule = pair, grade_s <= grade_b
  (a missing grade is not checked);
- lo = max(floor_s (blank 0), guide_floor, pair floor), hi = min(ceiling_b, guide_ceiling, pair ceiling);
  price = agreed_price if given, else lo + theta * (hi - lo);
- the min_sale_share shortfall is "penalised above everything else": solved lexicographically, first the least
  total shortfall (in 亩), then the best section-4 objective among plans with that shortfall.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

SELLER_CLASSES = ("national_key", "provincial")


def _num(v, default=None):
    if v is None:
        return default
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(f) else f


@dataclass
class Pair:
    s: str
    b: str
    lo: float
    hi: float
    price: float
    grade_s: float | None
    grade_b: float | None


@dataclass
class Market:
    sellers: dict  # code -> dict(surplus, weight, plan_adj)
    buyers: dict  # code -> dict(demand, budget, headroom, cult, share, grade)
    pairs: list  # admissible Pair objects
    blocked: dict  # (s, b) -> 'excluded' | 'band' | 'quality'
    rules: dict
    theta: float
    units: dict = field(default_factory=dict)  # seller code -> [(unit id, net 亩, grade, ready year or None)]
    years: list = field(default_factory=list)  # the horizon's years ([] without a horizon)
    demand_by_year: dict = field(default_factory=dict)  # (buyer, year) -> 亩, for buyers named in demand.csv
    deals: dict = field(default_factory=dict)  # (s, b) -> (agreed 亩, year or None)


LOT_SALEABLE_DEFAULT = ("confirmed",)


def _lots_and_years(scn):
    """Units per seller code from lots.csv (or None), the horizon's years, demand by year: written from DESIGN 3."""
    hz = scn.settings.get("horizon") or {}
    years = []
    if hz.get("start_year") is not None:
        start = int(hz["start_year"])
        end = int(hz["end_year"]) if hz.get("end_year") is not None else start + 3
        years = list(range(start, end + 1))
    lots = getattr(scn, "lots", None)
    units = None
    if lots is not None and len(lots):
        saleable = scn.settings.get("rules", {}).get("saleable_status") or LOT_SALEABLE_DEFAULT
        saleable = (saleable,) if isinstance(saleable, str) else tuple(saleable)
        units = {}
        for r in lots.to_dict("records"):
            net = sum(-(_num(r.get(k), 0.0)) for k in ("used_locally_mu", "reserved_rural_mu", "turnover_owed_mu"))
            net += _num(r.get("area_mu"), 0.0)
            ready = _num(r.get("ready_year"))
            if r.get("status") not in saleable or net <= 0 or (years and ready is not None and ready > years[-1]):
                continue
            units.setdefault(str(r["county_code"]), []).append(
                (str(r["lot_id"]), net, _num(r.get("reclaimed_quality_grade")), ready))
    demand_by_year = {}
    d = getattr(scn, "demand", None)
    if years and d is not None and len(d):
        named = set()
        for r in d.to_dict("records"):
            y, mu = _num(r.get("year")), _num(r.get("demand_mu"))
            if y is None or mu is None:
                continue
            named.add(str(r["county_code"]))
            if years[0] <= y <= years[-1]:
                key = (str(r["county_code"]), int(y))
                demand_by_year[key] = demand_by_year.get(key, 0.0) + mu
        for b in named:
            for y in years:
                demand_by_year.setdefault((b, y), 0.0)
    return units, years, demand_by_year


def rule(scn, section, key, default):
    v = scn.settings.get(section, {}).get(key)
    return default if v is None else v


def market(scn) -> Market:
    c = scn.counties
    rules = {
        "objective": rule(scn, "rules", "objective", "proceeds"),
        "w_nk": float(rule(scn, "rules", "priority_weight_national_key", 1.0)),
        "w_pr": float(rule(scn, "rules", "priority_weight_provincial", 1.0)),
        "quality_rule": rule(scn, "rules", "quality_rule", "aggregate"),
        "allow_adj": bool(rule(scn, "rules", "allow_plan_adjustment", False)),
        "penalty": float(rule(scn, "rules", "plan_adjustment_penalty", 1.0)),
        "min_lot": float(rule(scn, "rules", "min_lot_mu", 0.0)),
        "k_s": int(rule(scn, "rules", "max_partners_per_seller", 0)),
        "k_b": int(rule(scn, "rules", "max_partners_per_buyer", 0)),
        "share": float(rule(scn, "rules", "min_sale_share", 0.0)),
    }
    theta = float(rule(scn, "pricing", "bargaining_weight", 0.5))
    g_lo = _num(scn.settings.get("pricing", {}).get("guide_floor"))
    g_hi = _num(scn.settings.get("pricing", {}).get("guide_ceiling"))
    lot_units, years, demand_by_year = _lots_and_years(scn)
    sellers, buyers, info, units = {}, {}, {}, {}
    for r in c.to_dict("records"):
        code = str(r["code"])
        info[code] = r
        county_grade = _num(r.get("reclaimed_quality_grade"))
        if lot_units is None:
            surplus = _num(r.get("surplus_mu"), 0.0)
            own = [(code, surplus, county_grade, None)]
        else:  # with lots.csv the saleable lots are the supply, each with its grade (county grade if blank)
            own = [(u, net, county_grade if g is None else g, ready) for u, net, g, ready in lot_units.get(code, [])]
            surplus = sum(net for _, net, _, _ in own)
        if r.get("poverty_class") in SELLER_CLASSES and surplus > 0:
            grades = [g for _, _, g, _ in own if g is not None]
            units[code] = own
            sellers[code] = {"surplus": surplus,
                             "weight": rules["w_nk"] if r["poverty_class"] == "national_key" else rules["w_pr"],
                             "plan_adj": _num(r.get("plan_adjustable_mu"), 0.0),
                             "floor": _num(r.get("floor_price"), 0.0),
                             "grade": min(grades) if grades else None}
        demand = _num(r.get("demand_mu"), 0.0)
        if demand > 0:
            buyers[code] = {"demand": demand, "budget": _num(r.get("budget_wan")),
                            "headroom": _num(r.get("construction_headroom_mu")),
                            "cult": _num(r.get("cultivated_headroom_mu")),
                            "share": _num(r.get("cultivated_share"), 1.0),
                            "ceiling": _num(r.get("ceiling_price"), math.inf),
                            "grade": _num(r.get("occupied_quality_grade"))}
    over = {}
    for r in scn.pairs.to_dict("records"):
        over.setdefault((str(r["seller_code"]), str(r["buyer_code"])), r)
    deals = {}
    for key, r in over.items():  # DESIGN 3: a signed or filed row with agreed_mu is a deal, fixed in the plan
        mu = _num(r.get("agreed_mu"))
        if r.get("status") in ("signed", "filed") and mu is not None and mu > 0:
            deals[key] = (mu, _num(r.get("year")) if years else None)
    pairs, blocked = [], {}
    for s, sv in sellers.items():
        for b, bv in buyers.items():
            if s == b:
                continue
            o = over.get((s, b), {})
            lo_parts = [sv["floor"]] + [v for v in (g_lo, _num(o.get("floor_price"))) if v is not None]
            hi_parts = [bv["ceiling"]] + [v for v in (g_hi, _num(o.get("ceiling_price"))) if v is not None]
            lo, hi = max(lo_parts), min(hi_parts)
            agreed = _num(o.get("agreed_price"))
            deal = (s, b) in deals  # an agreed deal is in the plan whatever band or rule say (validation warns)
            if bool(o.get("excluded", False)) and not deal:
                blocked[(s, b)] = "excluded"
                continue
            if lo > hi + 1e-9 and not deal:
                blocked[(s, b)] = "band"
                continue
            if (rules["quality_rule"] == "pair" and sv["grade"] is not None and bv["grade"] is not None
                    and sv["grade"] > bv["grade"] and not deal):
                blocked[(s, b)] = "quality"
                continue
            price = agreed if agreed is not None else lo + theta * (hi - lo)
            pairs.append(Pair(s, b, lo, hi, price, sv["grade"], bv["grade"]))
    return Market(sellers, buyers, pairs, blocked, rules, theta, units, years, demand_by_year, deals)


def objective_coefficients(mk: Market) -> np.ndarray:
    obj = mk.rules["objective"]
    out = []
    for p in mk.pairs:
        w = mk.sellers[p.s]["weight"]
        if obj == "proceeds":
            out.append(w * p.price)
        elif obj == "volume":
            out.append(w)
        elif obj == "surplus":
            out.append(w * (p.hi - p.lo))
        else:
            raise ValueError(obj)
    return np.array(out, dtype=float)


@dataclass
class IndependentSolution:
    status: str
    objective: float  # the section-4 objective (no shortfall term)
    shortfall: float  # total min_sale shortfall in 亩 (0 when the rule is off)
    x: dict = field(default_factory=dict)  # (s, b) -> 亩
    a: dict = field(default_factory=dict)  # (s, b) -> 亩 of plan adjustment
    is_mip: bool = False


def solve_independent(scn) -> IndependentSolution:
    """Columns x per (pair, supply unit, year): always indexed by year when a horizon exists (the planner only when
    demand is given by year), so the two are different formulations of the same optimum."""
    mk = market(scn)
    R = mk.rules
    n = len(mk.pairs)
    if n == 0:
        return IndependentSolution("optimal", 0.0, sum(R["share"] * v["surplus"] for v in mk.sellers.values()))
    seller_list = list(mk.sellers)
    buyer_list = list(mk.buyers)
    cols = []  # (pair k, unit id, unit grade, year)
    for k, p in enumerate(mk.pairs):
        deal = mk.deals.get((p.s, p.b))
        gb = mk.buyers[p.b]["grade"]
        for uid, _net, g, ready in mk.units[p.s]:
            if R["quality_rule"] == "pair" and g is not None and gb is not None and g > gb:
                continue
            if mk.years:
                years = [y for y in mk.years if ready is None or y >= ready]
                if deal is not None and deal[1] is not None:
                    years = [y for y in years if y == deal[1]]
            else:
                years = [None]
            cols += [(k, uid, g, y) for y in years]
    nx = len(cols)
    of_pair = [[j for j, c in enumerate(cols) if c[0] == k] for k in range(n)]
    # column layout: x_j | a_k (for eligible k) | z_k (if integer) | short_s (if share > 0)
    a_idx = [k for k, p in enumerate(mk.pairs)
             if R["allow_adj"] and mk.sellers[p.s]["plan_adj"] > 0 and mk.buyers[p.b]["headroom"] is not None]
    is_mip = R["min_lot"] > 0 or R["k_s"] > 0 or R["k_b"] > 0
    nz = n if is_mip else 0
    ns = len(seller_list) if R["share"] > 0 else 0
    na = len(a_idx)
    N = nx + na + nz + ns
    A0, Z0, S0 = nx, nx + na, nx + na + nz
    rows, lbs, ubs = [], [], []

    def add(coefs: dict, lb=-np.inf, ub=np.inf):
        row = np.zeros(N)
        for j, v in coefs.items():
            row[j] += v
        rows.append(row)
        lbs.append(lb)
        ubs.append(ub)

    for s in seller_list:
        for uid, net, _, _ in mk.units[s]:
            add({j: 1.0 for j, c in enumerate(cols) if mk.pairs[c[0]].s == s and c[1] == uid}, ub=net)  # supply
    for b in buyer_list:
        bv = mk.buyers[b]
        jb = [j for j, c in enumerate(cols) if mk.pairs[c[0]].b == b]
        if (b, mk.years[0] if mk.years else None) in mk.demand_by_year:
            for y in mk.years:
                add({j: 1.0 for j in jb if cols[j][3] == y}, ub=mk.demand_by_year[(b, y)])
        else:
            add({j: 1.0 for j in jb}, ub=bv["demand"])  # demand over the horizon
        if bv["budget"] is not None:
            add({j: mk.pairs[cols[j][0]].price for j in jb}, ub=bv["budget"])
        if bv["headroom"] is not None:
            coefs = {j: 1.0 for j in jb}
            for i, k in enumerate(a_idx):
                if mk.pairs[k].b == b:
                    coefs[A0 + i] = -1.0
            add(coefs, ub=bv["headroom"])
        if bv["cult"] is not None:
            add({j: bv["share"] for j in jb}, ub=bv["cult"])
        if R["quality_rule"] == "aggregate" and bv["grade"] is not None:
            add({j: (cols[j][2] - bv["grade"]) if cols[j][2] is not None else 0.0 for j in jb}, ub=0.0)
    for k, p in enumerate(mk.pairs):
        deal = mk.deals.get((p.s, p.b))
        if deal is not None and of_pair[k]:
            add({j: 1.0 for j in of_pair[k]}, lb=deal[0], ub=deal[0])
    for i, k in enumerate(a_idx):
        coefs = {j: -1.0 for j in of_pair[k]}
        coefs[A0 + i] = 1.0
        add(coefs, ub=0.0)  # a <= x
    for s in seller_list:
        ia = [A0 + i for i, k in enumerate(a_idx) if mk.pairs[k].s == s]
        if ia:
            add({j: 1.0 for j in ia}, ub=mk.sellers[s]["plan_adj"])
    z_lower = np.zeros(N)
    if is_mip:
        for k, p in enumerate(mk.pairs):
            deal = mk.deals.get((p.s, p.b))
            cap = max(min(mk.sellers[p.s]["surplus"], mk.buyers[p.b]["demand"]), deal[0] if deal else 0.0)
            coefs = {j: 1.0 for j in of_pair[k]}
            coefs[Z0 + k] = -cap
            add(coefs, ub=0.0)
            if deal is not None:
                z_lower[Z0 + k] = 1.0
            elif R["min_lot"] > 0:
                coefs = {j: 1.0 for j in of_pair[k]}
                coefs[Z0 + k] = -R["min_lot"]
                add(coefs, lb=0.0)
        if R["k_s"] > 0:
            for s in seller_list:
                add({Z0 + k: 1.0 for k, p in enumerate(mk.pairs) if p.s == s}, ub=R["k_s"])
        if R["k_b"] > 0:
            for b in buyer_list:
                add({Z0 + k: 1.0 for k, p in enumerate(mk.pairs) if p.b == b}, ub=R["k_b"])
    for i, s in enumerate(seller_list[:ns]):
        coefs = {j: 1.0 for j, c in enumerate(cols) if mk.pairs[c[0]].s == s}
        coefs[S0 + i] = 1.0
        add(coefs, lb=R["share"] * mk.sellers[s]["surplus"])

    A = np.array(rows) if rows else np.zeros((0, N))
    lb = np.array(lbs)
    ub = np.array(ubs)
    upper = np.full(N, np.inf)
    upper[Z0:Z0 + nz] = 1.0
    integrality = np.zeros(N)
    integrality[Z0:Z0 + nz] = 1
    c_obj = np.zeros(N)
    pair_coef = objective_coefficients(mk)
    c_obj[:nx] = [pair_coef[c[0]] for c in cols]
    c_obj[A0:A0 + na] = -R["penalty"]
    options = {"mip_rel_gap": 0.0, "presolve": True} if is_mip else {}

    def run(c_min, A_, lb_, ub_):
        res = milp(c_min, constraints=LinearConstraint(A_, lb_, ub_), bounds=Bounds(z_lower, upper),
                   integrality=integrality, options=options)
        if res.status != 0:
            raise RuntimeError(f"independent solve failed: {res.message}")
        return res

    shortfall = 0.0
    if ns:
        c1 = np.zeros(N)
        c1[S0:S0 + ns] = 1.0
        r1 = run(c1, A, lb, ub)
        shortfall = float(r1.fun)
        cap_row = np.zeros(N)
        cap_row[S0:S0 + ns] = 1.0
        A = np.vstack([A, cap_row])
        lb = np.append(lb, -np.inf)
        ub = np.append(ub, shortfall + 1e-9 * (1.0 + sum(v["surplus"] for v in mk.sellers.values())))
    res = run(-c_obj, A, lb, ub)
    xv = res.x
    x = {(p.s, p.b): float(sum(xv[j] for j in of_pair[k])) for k, p in enumerate(mk.pairs)}
    a = {(mk.pairs[k].s, mk.pairs[k].b): float(xv[A0 + i]) for i, k in enumerate(a_idx)}
    sol = IndependentSolution("optimal", float(c_obj @ xv), shortfall, x, a, is_mip)
    sol.by_unit_year = {(mk.pairs[c[0]].s, mk.pairs[c[0]].b, c[1], c[3]): float(xv[j]) for j, c in enumerate(cols)}
    return sol


# --------------------------------------------------------------------------- checking a plan


def plan_from_pairings(pairings) -> tuple[dict, dict, dict]:
    """x, a and price per (seller, buyer) from a SolveResult.pairings table."""
    x, a, price = {}, {}, {}
    for r in pairings.to_dict("records"):
        key = (str(r["seller_code"]), str(r["buyer_code"]))
        x[key] = x.get(key, 0.0) + float(r["quota_mu"])
        a[key] = a.get(key, 0.0) + float(r["plan_adjustment_mu"])
        price[key] = float(r["price_wan_per_mu"])
    return x, a, price


def objective_of(scn, x: dict, a: dict) -> float:
    """The section-4 objective of a plan (without any shortfall term)."""
    mk = market(scn)
    coef = dict(zip([(p.s, p.b) for p in mk.pairs], objective_coefficients(mk)))
    return float(sum(coef[k] * v for k, v in x.items() if k in coef) - mk.rules["penalty"] * sum(a.values()))


def shortfall_of(scn, x: dict) -> float:
    mk = market(scn)
    share = mk.rules["share"]
    if share <= 0:
        return 0.0
    sold = {}
    for (s, _), v in x.items():
        sold[s] = sold.get(s, 0.0) + v
    return float(sum(max(0.0, share * sv["surplus"] - sold.get(s, 0.0)) for s, sv in mk.sellers.items()))


def printed_slack(scn, pairings) -> float:
    """How far an objective recomputed from the printed plan (quota to 0.01 亩) may sit from the optimum."""
    if not len(pairings):
        return 1e-6
    w = max(float(rule(scn, "rules", "priority_weight_national_key", 1.0)),
            float(rule(scn, "rules", "priority_weight_provincial", 1.0)), 1.0)
    hi = pairings["hi_price"].replace(math.inf, 0).astype(float) - pairings["lo_price"].astype(float)
    coef = max(1.0, float(pairings["price_wan_per_mu"].max()), float(hi.max()))
    penalty = float(rule(scn, "rules", "plan_adjustment_penalty", 1.0))
    return 0.01 * len(pairings) * w * (coef + penalty) + 1e-6


def violations(scn, pairings, tol: float = 1e-6) -> list[str]:
    """Every section-4 constraint the plan breaks (empty list = feasible).

    Tolerance: `tol` relative to the bound, plus what rounding each quota to 1e-6 亩 (as the pairings table does)
    can add up to: 1e-6 times the sum of the row's absolute coefficients over the pairs in it."""
    mk = market(scn)
    R = mk.rules
    x, a, price = plan_from_pairings(pairings)
    amount, rows = {}, {}
    for r in pairings.to_dict("records"):  # a pair may have one row per year
        key = (str(r["seller_code"]), str(r["buyer_code"]))
        amount[key] = amount.get(key, 0.0) + float(r["amount_wan"])
        rows[key] = rows.get(key, 0) + 1
    adm = {(p.s, p.b): p for p in mk.pairs}
    out = []

    def over(value, bound, what, coef_sum=0.0):
        if value > bound + tol * max(1.0, abs(bound)) + 1e-6 * coef_sum:
            out.append(f"{what}: {value:.9g} > {bound:.9g}")

    for k, v in x.items():
        if v < -tol:
            out.append(f"negative quota {k}: {v}")
        if k not in adm:
            out.append(f"pairing {k} is not admissible ({mk.blocked.get(k, 'not a seller/buyer pair')})")
            continue
        p = adm[k]
        if abs(price[k] - p.price) > 1e-6 * max(1.0, p.price):
            out.append(f"price {k}: {price[k]} != {p.price}")
        if abs(amount[k] - v * p.price) > 0.005 * rows[k] + 1e-9 * max(1.0, v * p.price):  # amount to 0.01 万元
            out.append(f"amount {k}: {amount[k]} != {v * p.price}")
        if R["min_lot"] > 0 and v > tol:
            if v < R["min_lot"] - tol * max(1.0, R["min_lot"]):
                out.append(f"min lot {k}: {v} < {R['min_lot']}")
    for k, v in a.items():
        if v > tol:
            if not R["allow_adj"]:
                out.append(f"plan adjustment {k} while not allowed")
            elif k in adm and (mk.sellers[k[0]]["plan_adj"] <= 0 or mk.buyers[k[1]]["headroom"] is None):
                out.append(f"plan adjustment {k} without seller space or buyer headroom")
            over(v, x.get(k, 0.0), f"a<=x {k}")
    for s, sv in mk.sellers.items():
        over(sum(v for (ss, _), v in x.items() if ss == s), sv["surplus"], f"supply {s}",
             sum(1 for (ss, _) in x if ss == s))
        over(sum(v for (ss, _), v in a.items() if ss == s), sv["plan_adj"], f"plan adjustable {s}",
             sum(1 for (ss, _) in a if ss == s))
        if R["k_s"] > 0:
            over(sum(1 for (ss, _), v in x.items() if ss == s and v > tol), R["k_s"], f"partners seller {s}")
    sellers_selling = {s for (s, _), v in x.items() if v > tol}
    for s in sellers_selling:
        if s not in mk.sellers:
            out.append(f"{s} sells but is not an eligible seller")
    for b, bv in mk.buyers.items():
        kb = {k: v for k, v in x.items() if k[1] == b}
        tot = sum(kb.values())
        n_in = len(kb)
        over(tot, bv["demand"], f"demand {b}", n_in)
        if bv["budget"] is not None:
            over(sum(adm[k].price * v for k, v in kb.items() if k in adm), bv["budget"], f"budget {b}",
                 sum(adm[k].price for k in kb if k in adm))
        if bv["headroom"] is not None:
            over(tot - sum(v for k, v in a.items() if k[1] == b), bv["headroom"], f"construction {b}",
                 n_in + sum(1 for k in a if k[1] == b))
        if bv["cult"] is not None:
            over(bv["share"] * tot, bv["cult"], f"cultivated {b}", bv["share"] * n_in)
        if R["quality_rule"] == "aggregate" and bv["grade"] is not None:
            diffs = {k: adm[k].grade_s - bv["grade"] for k in kb if k in adm and adm[k].grade_s is not None}
            q = sum(d * kb[k] for k, d in diffs.items())
            over(q, 0.0, f"quality aggregate {b}", sum(abs(d) for d in diffs.values()) + tot)
        if R["k_b"] > 0:
            over(sum(1 for v in kb.values() if v > tol), R["k_b"], f"partners buyer {b}")
    return out


# --------------------------------------------------------------------------- building small scenarios

COUNTY_FIELDS = ("code", "name", "prefecture", "poverty_class", "surplus_mu", "reclaimed_quality_grade", "floor_price",
                 "demand_mu", "ceiling_price", "budget_wan", "construction_headroom_mu", "cultivated_headroom_mu",
                 "cultivated_share", "occupied_quality_grade", "plan_adjustable_mu")
PAIR_FIELDS = ("seller_code", "buyer_code", "floor_price", "ceiling_price", "agreed_price", "excluded", "agreed_mu",
               "status", "year")
LOT_FIELDS = ("lot_id", "county_code", "status", "ready_year", "area_mu", "used_locally_mu", "reserved_rural_mu",
              "turnover_owed_mu", "reclaimed_quality_grade")
DEMAND_FIELDS = ("county_code", "year", "demand_mu")


def seller(code, surplus, floor=None, cls="national_key", **kw) -> dict:
    return {"code": code, "name": f"{code}县", "poverty_class": cls, "surplus_mu": surplus, "floor_price": floor, **kw}


def buyer(code, demand, ceiling, **kw) -> dict:
    return {"code": code, "name": f"{code}区", "poverty_class": "none", "demand_mu": demand, "ceiling_price": ceiling,
            **kw}


def make_scenario(counties, pairs=(), pricing=None, lots=None, demand=None, horizon=None, **rules):
    """A Scenario from county dicts (None = blank), optional pair-override dicts, lot and demand-by-year dicts, a
    horizon (start_year, end_year or None), pricing and rule settings."""
    import pandas as pd

    from planner.scenario import Scenario

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    cdf = pd.DataFrame([{f: cell(c.get(f)) for f in COUNTY_FIELDS} for c in counties], columns=list(COUNTY_FIELDS),
                       dtype=object)
    pdf = pd.DataFrame([{f: cell(p.get(f)) for f in PAIR_FIELDS} for p in pairs], columns=list(PAIR_FIELDS),
                       dtype=object)
    settings = {"scenario": {"name": "test"},
                "pricing": {"bargaining_weight": 0.5, **(pricing or {})},
                "rules": {"objective": "proceeds", **rules}}
    if horizon is not None:
        settings["horizon"] = {"start_year": horizon[0], **({"end_year": horizon[1]} if horizon[1] else {})}
    tables = {"counties": cdf, "pairs": pdf, "relocation": None}
    for name, rows, fields in (("lots", lots, LOT_FIELDS), ("demand", demand, DEMAND_FIELDS)):
        if rows is not None:
            tables[name] = pd.DataFrame([{f: cell(r.get(f)) for f in fields} for r in rows], columns=list(fields),
                                        dtype=object)
    return Scenario.from_raw(settings, tables)
