"""The matching model of DESIGN section 4 in PuLP: the model of record.

This is the formulation a reader, or an auditor with any LP solver, reads: every variable and constraint carries
the county codes in its name (`x_220621_220102` is the quota 220621 transfers to 220102; `supply_220621`,
`construction_220102`, ...), and `write_lp` writes it out as an LP file. It is built from the same `Market` as the
matrix fast path (`planner.model.matrix`), which the tests prove to be the same model.

To add a rule: add its constraint here and its twin in `matrix.build`, then a case in tests/test_formulation.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pulp

from planner.model.market import Market, county_tokens
from planner.model.matrix import _yearly_demand, flow_name


@dataclass
class Formulation:
    """The PuLP problem and its variables by kind, keyed by flow (x), pair (a, z) or seller index (short)."""

    problem: pulp.LpProblem
    x: dict
    a: dict
    z: dict
    short: dict


def formulate(mk: Market) -> Formulation:
    sellers, buyers, pairs, rules, fl = mk.sellers, mk.buyers, mk.pairs, mk.rules, mk.flows
    tok = county_tokens(sellers, buyers)
    s_tok = [tok[str(c)] for c in sellers["code"]]
    b_tok = [tok[str(c)] for c in buyers["code"]]
    u_tok = mk.unit_tokens()
    si = pairs["seller_idx"].to_numpy()
    bi = pairs["buyer_idx"].to_numpy()
    n = len(pairs)
    f_unit, f_pair = fl["unit_idx"].to_numpy(), fl["pair_idx"].to_numpy()
    f_year = fl["year"].to_numpy(dtype=float)
    prob = pulp.LpProblem("quota_transfer", pulp.LpMaximize)

    # Variables: quota moved per flow (亩): from a selling county (or one of its lots) to a buyer (in a year, when
    # demand is given by year). Nothing else unless a rule asks for it.
    x = {f: pulp.LpVariable(flow_name(u_tok[f_unit[f]], b_tok[bi[f_pair[f]]], f_year[f]), lowBound=0)
         for f in range(len(fl))}
    deal = mk.deal_mu()
    a = {p: pulp.LpVariable(f"a_{s_tok[si[p]]}_{b_tok[bi[p]]}", lowBound=0) for p in mk.adjustable_pairs()}
    z = {p: pulp.LpVariable(f"z_{s_tok[si[p]]}_{b_tok[bi[p]]}", lowBound=0 if np.isnan(deal[p]) else 1, upBound=1,
                            cat=pulp.LpInteger) for p in range(n)} if mk.is_mip else {}
    share = float(rules["min_sale_share"])
    short = {s: pulp.LpVariable(f"short_{s_tok[s]}", lowBound=0) for s in range(len(sellers))} \
        if share > 0 and n else {}

    by_unit, by_pair, by_buyer, by_seller = (defaultdict(list) for _ in range(4))
    for f in range(len(fl)):
        p = f_pair[f]
        by_unit[f_unit[f]].append(f)
        by_pair[p].append(f)
        by_buyer[bi[p]].append(f)
        by_seller[si[p]].append(f)

    # Objective: proceeds, volume or bargaining room, weighted by the seller's priority; plan adjustment and the
    # min_sale shortfall are penalised.
    coef = mk.flow_objective()
    penalty = float(rules["plan_adjustment_penalty"])
    prob += (pulp.lpSum(float(coef[f]) * x[f] for f in x)
             - penalty * pulp.lpSum(a.values())
             - (mk.shortfall_penalty() if short else 0.0) * pulp.lpSum(short.values()))

    supply = mk.units["supply_mu"].to_numpy(dtype=float)
    for u, fs in sorted(by_unit.items()):
        # Supply: a county (or lot) sells no more than its verified surplus quota (articles 2, 14).
        prob += pulp.lpSum(x[f] for f in fs) <= float(supply[u]), f"supply_{u_tok[u]}"

    price = pairs["price"].to_numpy(dtype=float)
    demand = buyers["demand_mu"].to_numpy(dtype=float)
    budget = buyers["budget_wan"].to_numpy(dtype=float)
    headroom = buyers["construction_headroom_mu"].to_numpy(dtype=float)
    cultivated = buyers["cultivated_headroom_mu"].to_numpy(dtype=float)
    cult_share = buyers["share"].to_numpy(dtype=float)
    grade_b = buyers["occupied_quality_grade"].to_numpy(dtype=float)
    grade_u = mk.units["grade"].to_numpy(dtype=float)
    yearly = _yearly_demand(mk) or {}
    yearly_buyers = {b for b, _ in yearly}
    a_by_buyer = defaultdict(list)
    for p in a:
        a_by_buyer[bi[p]].append(p)
    for b, fs in sorted(by_buyer.items()):
        bought = pulp.lpSum(x[f] for f in fs)
        if b in yearly_buyers:
            for t in mk.horizon.years:
                in_year = [f for f in fs if f_year[f] == t]
                if in_year:
                    prob += pulp.lpSum(x[f] for f in in_year) <= yearly[(b, t)], f"demand_{b_tok[b]}_{t}"
        else:
            prob += bought <= float(demand[b]), f"demand_{b_tok[b]}"
        if not np.isnan(budget[b]):
            prob += pulp.lpSum(float(price[f_pair[f]]) * x[f] for f in fs) <= float(budget[b]), f"budget_{b_tok[b]}"
        if not np.isnan(headroom[b]):
            # Article 6 ¶1: the buyer's construction land stays within its planned total, less what the producing
            # counties cede under article 6 ¶2.
            prob += (bought - pulp.lpSum(a[p] for p in a_by_buyer[b]) <= float(headroom[b]),
                     f"construction_{b_tok[b]}")
        if not np.isnan(cultivated[b]):
            # Article 6 ¶1: the cultivated land the new construction occupies stays within the retention target.
            prob += (pulp.lpSum(float(cult_share[b]) * x[f] for f in fs) <= float(cultivated[b]),
                     f"cultivated_{b_tok[b]}")
        if rules["quality_rule"] == "aggregate" and not np.isnan(grade_b[b]):
            # Article 4(二): on average the reclaimed farmland (each lot's grade) is no worse than the farmland the
            # buyer's construction occupies; a missing grade cannot be checked (validation warns).
            gap = [0.0 if np.isnan(grade_u[f_unit[f]]) else float(grade_u[f_unit[f]] - grade_b[b]) for f in fs]
            prob += pulp.lpSum(g * x[f] for g, f in zip(gap, fs)) <= 0.0, f"quality_{b_tok[b]}"

    for p, fs in sorted(by_pair.items()):
        if not np.isnan(deal[p]):
            # Article 16: a signed or filed agreement is in the plan at its quantity.
            prob += pulp.lpSum(x[f] for f in fs) == float(deal[p]), f"deal_{s_tok[si[p]]}_{b_tok[bi[p]]}"

    if a:
        adjustable = sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
        a_by_seller = defaultdict(list)
        for p in a:
            prob += a[p] - pulp.lpSum(x[f] for f in by_pair[p]) <= 0.0, f"adjust_link_{s_tok[si[p]]}_{b_tok[bi[p]]}"
            a_by_seller[si[p]].append(p)
        for s, ps in sorted(a_by_seller.items()):
            prob += pulp.lpSum(a[p] for p in ps) <= float(adjustable[s]), f"adjust_cap_{s_tok[s]}"

    if z:
        min_lot = float(rules["min_lot_mu"])
        pair_upper = mk.pair_upper()  # the most the pair can move: the big-M of x <= U z
        for p in range(n):
            name = f"{s_tok[si[p]]}_{b_tok[bi[p]]}"
            moved = pulp.lpSum(x[f] for f in by_pair[p])
            upper = float(pair_upper[p])
            prob += moved - upper * z[p] <= 0.0, f"lot_upper_{name}"
            if min_lot > 0 and np.isnan(deal[p]):  # an agreement below the minimum lot stands as signed
                prob += moved - min_lot * z[p] >= 0.0, f"lot_lower_{name}"
        k_seller = int(rules["max_partners_per_seller"])
        k_buyer = int(rules["max_partners_per_buyer"])
        pairs_of_seller, pairs_of_buyer = defaultdict(list), defaultdict(list)
        for p in range(n):
            pairs_of_seller[si[p]].append(p)
            pairs_of_buyer[bi[p]].append(p)
        if k_seller > 0:
            for s, ps in sorted(pairs_of_seller.items()):
                prob += pulp.lpSum(z[p] for p in ps) <= k_seller, f"partners_seller_{s_tok[s]}"
        if k_buyer > 0:
            for b, ps in sorted(pairs_of_buyer.items()):
                prob += pulp.lpSum(z[p] for p in ps) <= k_buyer, f"partners_buyer_{b_tok[b]}"

    surplus = sellers["surplus_mu"].to_numpy(dtype=float)
    for s, var in short.items():
        # Soft floor: each eligible seller sells at least this share of its surplus, or pays the shortfall penalty.
        prob += (pulp.lpSum(x[f] for f in by_seller.get(s, [])) + var >= share * float(surplus[s]),
                 f"min_sale_{s_tok[s]}")
    return Formulation(problem=prob, x=x, a=a, z=z, short=short)


def write_lp(mk: Market, path) -> Path:
    """Write the formulation of record as an LP file (readable by any LP solver)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formulate(mk).problem.writeLP(str(path))
    return path
