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


@dataclass
class Formulation:
    """The PuLP problem and its variables by kind, keyed by pair index (x, a, z) or seller index (short)."""

    problem: pulp.LpProblem
    x: dict
    a: dict
    z: dict
    short: dict


def formulate(mk: Market) -> Formulation:
    sellers, buyers, pairs, rules = mk.sellers, mk.buyers, mk.pairs, mk.rules
    tok = county_tokens(sellers, buyers)
    s_tok = [tok[str(c)] for c in sellers["code"]]
    b_tok = [tok[str(c)] for c in buyers["code"]]
    si = pairs["seller_idx"].to_numpy()
    bi = pairs["buyer_idx"].to_numpy()
    n = len(pairs)
    prob = pulp.LpProblem("quota_transfer", pulp.LpMaximize)

    # Variables: quota moved per admissible pair (亩), nothing else unless a rule asks for it. A signed or filed
    # agreement (article 16) fixes its pair's quota.
    deal = mk.deal_mu()
    x = {p: pulp.LpVariable(f"x_{s_tok[si[p]]}_{b_tok[bi[p]]}", lowBound=0 if np.isnan(deal[p]) else float(deal[p]),
                            upBound=None if np.isnan(deal[p]) else float(deal[p])) for p in range(n)}
    a = {p: pulp.LpVariable(f"a_{s_tok[si[p]]}_{b_tok[bi[p]]}", lowBound=0) for p in mk.adjustable_pairs()}
    z = {p: pulp.LpVariable(f"z_{s_tok[si[p]]}_{b_tok[bi[p]]}", lowBound=0 if np.isnan(deal[p]) else 1, upBound=1,
                            cat=pulp.LpInteger) for p in range(n)} if mk.is_mip else {}
    share = float(rules["min_sale_share"])
    short = {s: pulp.LpVariable(f"short_{s_tok[s]}", lowBound=0) for s in range(len(sellers))} \
        if share > 0 and n else {}

    by_seller, by_buyer = defaultdict(list), defaultdict(list)
    for p in range(n):
        by_seller[si[p]].append(p)
        by_buyer[bi[p]].append(p)

    # Objective: proceeds, volume or bargaining room, weighted by the seller's priority; plan adjustment and the
    # min_sale shortfall are penalised.
    coef = mk.pair_objective()
    penalty = float(rules["plan_adjustment_penalty"])
    prob += (pulp.lpSum(float(coef[p]) * x[p] for p in x)
             - penalty * pulp.lpSum(a.values())
             - (mk.shortfall_penalty() if short else 0.0) * pulp.lpSum(short.values()))

    price = pairs["price"].to_numpy(dtype=float)
    surplus = sellers["surplus_mu"].to_numpy(dtype=float)
    for s, ps in sorted(by_seller.items()):
        # Supply: a county sells no more than its verified surplus quota.
        prob += pulp.lpSum(x[p] for p in ps) <= float(surplus[s]), f"supply_{s_tok[s]}"

    demand = buyers["demand_mu"].to_numpy(dtype=float)
    budget = buyers["budget_wan"].to_numpy(dtype=float)
    headroom = buyers["construction_headroom_mu"].to_numpy(dtype=float)
    cultivated = buyers["cultivated_headroom_mu"].to_numpy(dtype=float)
    cult_share = buyers["share"].to_numpy(dtype=float)
    grade_b = buyers["occupied_quality_grade"].to_numpy(dtype=float)
    grade_gap = (pairs["seller_grade"].to_numpy(dtype=float) - pairs["buyer_grade"].to_numpy(dtype=float))
    grade_gap = np.where(np.isnan(grade_gap), 0.0, grade_gap)  # a missing grade cannot be checked (warned)
    a_by_buyer = defaultdict(list)
    for p in a:
        a_by_buyer[bi[p]].append(p)
    for b, ps in sorted(by_buyer.items()):
        bought = pulp.lpSum(x[p] for p in ps)
        prob += bought <= float(demand[b]), f"demand_{b_tok[b]}"
        if not np.isnan(budget[b]):
            prob += pulp.lpSum(float(price[p]) * x[p] for p in ps) <= float(budget[b]), f"budget_{b_tok[b]}"
        if not np.isnan(headroom[b]):
            # Article 6 ¶1: the buyer's construction land stays within its planned total, less what the producing
            # counties cede under article 6 ¶2.
            prob += (bought - pulp.lpSum(a[p] for p in a_by_buyer[b]) <= float(headroom[b]),
                     f"construction_{b_tok[b]}")
        if not np.isnan(cultivated[b]):
            # Article 6 ¶1: the cultivated land the new construction occupies stays within the retention target.
            prob += (pulp.lpSum(float(cult_share[b]) * x[p] for p in ps) <= float(cultivated[b]),
                     f"cultivated_{b_tok[b]}")
        if rules["quality_rule"] == "aggregate" and not np.isnan(grade_b[b]):
            # Article 4(二): on average the reclaimed farmland is no worse than the farmland the buyer occupies.
            prob += pulp.lpSum(float(grade_gap[p]) * x[p] for p in ps) <= 0.0, f"quality_{b_tok[b]}"

    if a:
        adjustable = sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
        a_by_seller = defaultdict(list)
        for p in a:
            prob += a[p] - x[p] <= 0.0, f"adjust_link_{s_tok[si[p]]}_{b_tok[bi[p]]}"
            a_by_seller[si[p]].append(p)
        for s, ps in sorted(a_by_seller.items()):
            prob += pulp.lpSum(a[p] for p in ps) <= float(adjustable[s]), f"adjust_cap_{s_tok[s]}"

    if z:
        min_lot = float(rules["min_lot_mu"])
        for p in range(n):
            name = f"{s_tok[si[p]]}_{b_tok[bi[p]]}"
            upper = float(max(min(surplus[si[p]], demand[bi[p]]), 0.0 if np.isnan(deal[p]) else deal[p]))
            prob += x[p] - upper * z[p] <= 0.0, f"lot_upper_{name}"
            if min_lot > 0 and np.isnan(deal[p]):  # an agreement below the minimum lot stands as signed
                prob += x[p] - min_lot * z[p] >= 0.0, f"lot_lower_{name}"
        k_seller = int(rules["max_partners_per_seller"])
        k_buyer = int(rules["max_partners_per_buyer"])
        if k_seller > 0:
            for s, ps in sorted(by_seller.items()):
                prob += pulp.lpSum(z[p] for p in ps) <= k_seller, f"partners_seller_{s_tok[s]}"
        if k_buyer > 0:
            for b, ps in sorted(by_buyer.items()):
                prob += pulp.lpSum(z[p] for p in ps) <= k_buyer, f"partners_buyer_{b_tok[b]}"

    for s, var in short.items():
        # Soft floor: each eligible seller sells at least this share of its surplus, or pays the shortfall penalty.
        prob += (pulp.lpSum(x[p] for p in by_seller.get(s, [])) + var >= share * float(surplus[s]),
                 f"min_sale_{s_tok[s]}")
    return Formulation(problem=prob, x=x, a=a, z=z, short=short)


def write_lp(mk: Market, path) -> Path:
    """Write the formulation of record as an LP file (readable by any LP solver)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formulate(mk).problem.writeLP(str(path))
    return path
