"""The matching model of DESIGN section 4, in stages kept apart:

market (who may sell, who buys, admissible pairs and prices) -> formulation (PuLP, named variables and
constraints: the model of record) | matrix (the same model as arrays: the fast path) -> solvers -> results.
`solve(scn)` runs them all and returns plain tables; no solver object leaves this package.
"""
from planner.model.formulation import Formulation, formulate, write_lp
from planner.model.market import (Market, buyers_table, candidate_pairs, eligible_seller, market, pair_distance_km,
                                  sellers_table)
from planner.model.matrix import LinearModel, build, col_names, row_names
from planner.model.pipeline import ALGORITHMS, PULP_MAX_PAIRS, SOLVERS, known_solver, solve
from planner.model.results import PAIRING_COLUMNS, SolveResult, by_pair

__all__ = ["solve", "SolveResult", "by_pair", "SOLVERS", "ALGORITHMS", "PULP_MAX_PAIRS", "PAIRING_COLUMNS", "known_solver",
           "Market", "market", "sellers_table", "buyers_table", "candidate_pairs", "eligible_seller",
           "pair_distance_km", "Formulation", "formulate", "write_lp", "LinearModel", "build", "col_names",
           "row_names"]
