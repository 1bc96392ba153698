"""The fast path: the model of DESIGN section 4 assembled as numpy/scipy arrays, vectorised over pairs.

Used for LPs too large to build through PuLP in good time (national size) and by the column-generation solver.
Every column and row has the same name as its PuLP twin (`col_names`, `row_names`), which is how the tests prove
that this is the same model as the formulation of record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.model.market import INF, Market, county_tokens


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


def build(mk: Market) -> LinearModel:
    """The model of DESIGN section 4 as arrays, vectorised over pairs: the fast path at national size.

    It must stay the same model as `formulation.formulate` (the PuLP model of record); tests compare the two
    row by row through the names `col_names`/`row_names` give."""
    sellers, buyers, pairs, rules = mk.sellers, mk.buyers, mk.pairs, mk.rules
    n = len(pairs)
    si = pairs["seller_idx"].to_numpy()
    bi = pairs["buyer_idx"].to_numpy()

    surplus = sellers["surplus_mu"].to_numpy(dtype=float)
    demand = buyers["demand_mu"].to_numpy(dtype=float)

    # Columns: x (one per pair), then a, z, short.
    kinds = [np.full(n, "x", dtype=object)]
    refs = [np.arange(n)]
    deal = mk.deal_mu()
    is_deal = ~np.isnan(deal)
    upper_x = np.minimum(surplus[si], demand[bi]) if n else np.zeros(0)
    upper_x = np.where(is_deal, np.maximum(upper_x, np.nan_to_num(deal)), upper_x)
    # No column upper bounds on x, a or short: they would only repeat rows (supply, demand, a <= x, plan space) and
    # a binding duplicate bound takes the dual away from its row, so shadow prices would read 0.
    # A signed or filed agreement (article 16) fixes its pair's quota: lower bound = upper bound.
    col_hi = [np.where(is_deal, deal, INF)]
    col_lo = [np.where(is_deal, deal, 0.0)]
    costs = [mk.pair_objective()]

    penalty = float(rules["plan_adjustment_penalty"])
    adj_cap = sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
    headroom = buyers["construction_headroom_mu"].to_numpy(dtype=float)
    a_pairs = mk.adjustable_pairs()
    a0 = n
    kinds.append(np.full(len(a_pairs), "a", dtype=object))
    refs.append(a_pairs)
    col_hi.append(np.full(len(a_pairs), INF))
    col_lo.append(np.zeros(len(a_pairs)))
    costs.append(np.full(len(a_pairs), -penalty))

    min_lot = float(rules["min_lot_mu"])
    k_seller = int(rules["max_partners_per_seller"])
    k_buyer = int(rules["max_partners_per_buyer"])
    is_mip = mk.is_mip
    z0 = a0 + len(a_pairs)
    nz = n if is_mip else 0
    kinds.append(np.full(nz, "z", dtype=object))
    refs.append(np.arange(nz))
    col_hi.append(np.ones(nz))
    col_lo.append(is_deal.astype(float) if nz else np.zeros(0))
    costs.append(np.zeros(nz))

    share = float(rules["min_sale_share"])
    short0 = z0 + nz
    n_short = len(sellers) if share > 0 and n else 0
    kinds.append(np.full(n_short, "short", dtype=object))
    refs.append(np.arange(n_short))
    col_hi.append(np.full(n_short, INF))
    col_lo.append(np.zeros(n_short))
    costs.append(np.full(n_short, -mk.shortfall_penalty() if n_short else 0.0))

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
            free = np.nonzero(~is_deal)[0]  # an agreement below the minimum lot stands as signed
            k = len(free)
            if min_lot > 0 and k:
                rows.add_block(np.concatenate([np.arange(k), np.arange(k)]),
                               np.concatenate([x_cols[free], z_cols[free]]),
                               np.concatenate([np.ones(k), -np.full(k, min_lot)]), np.zeros(k), np.full(k, INF),
                               "lot_lower", np.full(k, "", dtype=object), free)
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
    tie_cost[:n] = mk.distance_km
    return LinearModel(
        c=c, A=A, row_lo=row_lo, row_hi=row_hi, col_lo=np.concatenate(col_lo), col_hi=col_hi_arr, integer=integer,
        col_kind=np.concatenate(kinds), col_ref=np.concatenate(refs).astype(np.int64), row_kind=row_kind,
        row_code=row_code, row_ref=row_ref, sellers=sellers, buyers=buyers, pairs=pairs, candidates=mk.candidates,
        is_mip=is_mip, tie_cost=tie_cost)


def col_names(m: LinearModel) -> np.ndarray:
    """Each column's name, as in the PuLP formulation: x_<seller>_<buyer>, a_..., z_..., short_<seller>."""
    tok = county_tokens(m.sellers, m.buyers)
    s = m.pairs["seller_code"].astype(str).map(tok).to_numpy(dtype=object)
    b = m.pairs["buyer_code"].astype(str).map(tok).to_numpy(dtype=object)
    scode = m.sellers["code"].astype(str).map(tok).to_numpy(dtype=object)
    out = np.empty(m.n_cols, dtype=object)
    for j, (kind, ref) in enumerate(zip(m.col_kind, m.col_ref)):
        out[j] = f"short_{scode[ref]}" if kind == "short" else f"{kind}_{s[ref]}_{b[ref]}"
    return out


def row_names(m: LinearModel) -> np.ndarray:
    """Each row's name, as in the PuLP formulation: supply_<seller>, budget_<buyer>, lot_upper_<s>_<b>, ..."""
    tok = county_tokens(m.sellers, m.buyers)
    s = m.pairs["seller_code"].astype(str).map(tok).to_numpy(dtype=object)
    b = m.pairs["buyer_code"].astype(str).map(tok).to_numpy(dtype=object)
    out = np.empty(m.n_rows, dtype=object)
    for i, (kind, code, ref) in enumerate(zip(m.row_kind, m.row_code, m.row_ref)):
        out[i] = f"{kind}_{s[ref]}_{b[ref]}" if ref >= 0 else f"{kind}_{tok[str(code)]}"
    return out
