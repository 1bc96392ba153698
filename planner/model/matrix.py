"""The fast path: the model of DESIGN section 4 assembled as numpy/scipy arrays, vectorised over flows.

Used for LPs too large to build through PuLP in good time (national size) and by the column-generation solver.
Every column and row has the same name as its PuLP twin (`col_names`, `row_names`), which is how the tests prove
that this is the same model as the formulation of record (`formulation.formulate`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.model.market import INF, Market, county_tokens

# What a row belongs to: a county (code), a supply unit, a pair, or a buyer in a year.
OWNER_COUNTY, OWNER_UNIT, OWNER_PAIR, OWNER_YEAR = 0, 1, 2, 3


@dataclass
class LinearModel:
    """max c·x  s.t. row_lo <= A x <= row_hi, col_lo <= x <= col_hi; integer where `integer`."""

    c: np.ndarray
    A: sp.csc_matrix  # column-wise: what HiGHS, pricing and the results read
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    col_kind: np.ndarray  # x | a | z | short
    col_ref: np.ndarray  # index into flows (x), pairs (a, z) or sellers (short)
    row_kind: np.ndarray
    row_code: np.ndarray  # county code the row belongs to (the seller's for a unit row; '' for pair rows)
    row_ref: np.ndarray  # pair index for pair rows, unit index for unit rows, year for year rows, else -1
    row_owner: np.ndarray  # OWNER_* of each row
    market: Market
    is_mip: bool
    tie_cost: np.ndarray | None = None  # per column: what breaks ties between equally good plans (km apart)

    @property
    def sellers(self) -> pd.DataFrame:
        return self.market.sellers

    @property
    def buyers(self) -> pd.DataFrame:
        return self.market.buyers

    @property
    def pairs(self) -> pd.DataFrame:
        return self.market.pairs

    @property
    def candidates(self) -> pd.DataFrame:
        return self.market.candidates

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)

    def x_pairs(self) -> np.ndarray:
        """Pair index of each x column (the county pair a flow belongs to)."""
        return self.market.flows["pair_idx"].to_numpy()[self.col_ref[self.col_kind == "x"]]


class _Rows:
    """Accumulates sparse rows as COO triplets."""

    def __init__(self):
        self.r, self.cidx, self.v = [], [], []
        self.lo, self.hi, self.kind, self.code, self.ref, self.owner = [], [], [], [], [], []
        self.n = 0

    def add_block(self, row_local, cols, vals, lo, hi, kind, codes, refs, owner=OWNER_COUNTY):
        """Add len(lo) rows; row_local gives each triplet's row within the block."""
        k = len(lo)
        if k == 0:
            return
        # int32 indices: at national size with lots the triplets run to tens of millions (memory, not range)
        self.r.append((np.asarray(row_local, dtype=np.int64) + self.n).astype(np.int32))
        self.cidx.append(np.asarray(cols, dtype=np.int32))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.kind.append(np.full(k, kind, dtype=object))
        self.code.append(np.asarray(codes, dtype=object))
        self.ref.append(np.asarray(refs, dtype=np.int64))
        self.owner.append(np.full(k, owner, dtype=np.int8))
        self.n += k

    def grouped(self, kind, owners, cols, vals, rhs, codes, lo=False, owner=OWNER_COUNTY, refs=None):
        """One row per distinct owner: sum of vals*col over the owner's columns <= rhs[owner] (>= when lo)."""
        owners = np.asarray(owners)
        if not len(owners):
            return
        # Owners are small non-negative indices: counting beats sorting millions of them (np.unique).
        present = np.bincount(owners) > 0
        used = np.nonzero(present)[0]
        local = np.cumsum(present) - 1
        bound = np.asarray(rhs, dtype=float)[used]
        self.add_block(local[owners], cols, vals,
                       bound if lo else np.full(len(used), -INF), np.full(len(used), INF) if lo else bound,
                       kind, np.asarray(codes, dtype=object)[used],
                       np.full(len(used), -1) if refs is None else np.asarray(refs)[used], owner)

    def matrix(self, n_cols):
        if not self.n:
            e = np.zeros(0)
            return (sp.csc_matrix((0, n_cols)), e, e, np.zeros(0, dtype=object), np.zeros(0, dtype=object),
                    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8))
        return (self._csc(n_cols), np.concatenate(self.lo), np.concatenate(self.hi), np.concatenate(self.kind),
                np.concatenate(self.code), np.concatenate(self.ref), np.concatenate(self.owner))


    def _csc(self, n_cols):
        """The matrix column-wise (what HiGHS and pricing read), placed directly: blocks come in row order and no
        block holds a column twice, so filling each column block by block leaves its rows sorted (no sort, no
        COO copy: at national size with lots that is seconds and hundreds of MB)."""
        counts = np.zeros(n_cols, dtype=np.int64)
        for cols in self.cidx:
            per = np.bincount(cols, minlength=n_cols)
            if per.max(initial=0) > 1:  # not expected; the general path sums duplicates
                return sp.csc_matrix((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.cidx))),
                                     shape=(self.n, n_cols))
            counts += per
        indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        nnz = int(indptr[-1])
        index_type = np.int32 if nnz < 2**31 else np.int64
        indices = np.empty(nnz, dtype=index_type)
        data = np.empty(nnz, dtype=float)
        fill = indptr[:-1].copy()
        for r, cols, v in zip(self.r, self.cidx, self.v):
            at = fill[cols]
            indices[at] = r
            data[at] = v
            fill[cols] += 1
        return sp.csc_matrix((data, indices, indptr.astype(index_type)), shape=(self.n, n_cols))


def build(mk: Market) -> LinearModel:
    """The model of DESIGN section 4 as arrays: the same rows, in the same words, as `formulation.formulate`."""
    sellers, buyers, pairs, rules, fl = mk.sellers, mk.buyers, mk.pairs, mk.rules, mk.flows
    n, nf = len(pairs), len(fl)
    si = pairs["seller_idx"].to_numpy()
    bi = pairs["buyer_idx"].to_numpy()
    f_pair = fl["pair_idx"].to_numpy()
    f_unit = fl["unit_idx"].to_numpy()
    f_year = fl["year"].to_numpy(dtype=float)
    f_si, f_bi = si[f_pair] if nf else np.zeros(0, dtype=np.int64), bi[f_pair] if nf else np.zeros(0, dtype=np.int64)

    surplus = sellers["surplus_mu"].to_numpy(dtype=float)
    demand = buyers["demand_mu"].to_numpy(dtype=float)
    deal = mk.deal_mu()
    is_deal = ~np.isnan(deal)

    # Columns: x (one per flow), then a (per adjustable pair), z (per pair, integer model), short (per seller).
    # No upper bounds on x, a or short: they would only repeat rows and take the dual away from them.
    a_pairs = mk.adjustable_pairs()
    is_mip = mk.is_mip
    nz = n if is_mip else 0
    share = float(rules["min_sale_share"])
    n_short = len(sellers) if share > 0 and n else 0
    a0, z0 = nf, nf + len(a_pairs)
    short0 = z0 + nz
    penalty = float(rules["plan_adjustment_penalty"])
    c = np.concatenate([mk.flow_objective(), np.full(len(a_pairs), -penalty), np.zeros(nz),
                        np.full(n_short, -mk.shortfall_penalty() if n_short else 0.0)])
    n_cols = len(c)
    col_lo = np.zeros(n_cols)
    col_hi = np.full(n_cols, INF)
    col_hi[z0:z0 + nz] = 1.0
    col_lo[z0:z0 + nz] = is_deal.astype(float) if nz else 0.0  # a signed deal is a pairing: z = 1
    integer = np.zeros(n_cols, dtype=bool)
    integer[z0:z0 + nz] = True
    col_kind = np.concatenate([np.full(nf, "x", dtype=object), np.full(len(a_pairs), "a", dtype=object),
                               np.full(nz, "z", dtype=object), np.full(n_short, "short", dtype=object)])
    col_ref = np.concatenate([np.arange(nf), a_pairs, np.arange(nz), np.arange(n_short)]).astype(np.int64)

    rows = _Rows()
    scodes = sellers["code"].to_numpy(dtype=object)
    bcodes = buyers["code"].to_numpy(dtype=object)
    x_cols = np.arange(nf)
    ones = np.ones(nf)
    price = pairs["price"].to_numpy(dtype=float)
    if nf:
        units = mk.units
        rows.grouped("supply", f_unit, x_cols, ones, units["supply_mu"].to_numpy(dtype=float),
                     scodes[units["seller_idx"].to_numpy()], owner=OWNER_UNIT, refs=np.arange(len(units)))
        by_year = _yearly_demand(mk)
        if by_year is None:
            rows.grouped("demand", f_bi, x_cols, ones, demand, bcodes)
        else:
            # Demand per year where demand.csv gives it; the total over the horizon for other buyers.
            total = ~np.isin(f_bi, list({b for b, _ in by_year}))
            rows.grouped("demand", f_bi[total], x_cols[total], ones[total], demand, bcodes)
            keys = sorted(by_year)
            pos = {k: i for i, k in enumerate(keys)}
            k_of = np.array([pos.get((b, int(t)), -1) for b, t in zip(f_bi, np.nan_to_num(f_year, nan=-1))])
            yearly = k_of >= 0
            rows.grouped("demand", k_of[yearly], x_cols[yearly], ones[yearly], [by_year[k] for k in keys],
                         [bcodes[b] for b, _ in keys], owner=OWNER_YEAR, refs=[t for _, t in keys])
        budget = buyers["budget_wan"].to_numpy(dtype=float)
        has = ~np.isnan(budget[f_bi])
        rows.grouped("budget", f_bi[has], x_cols[has], price[f_pair][has], budget, bcodes)
        headroom = buyers["construction_headroom_mu"].to_numpy(dtype=float)
        has = ~np.isnan(headroom[f_bi])
        a_has = ~np.isnan(headroom[bi[a_pairs]]) if len(a_pairs) else np.zeros(0, dtype=bool)
        rows.grouped("construction", np.concatenate([f_bi[has], bi[a_pairs][a_has]]),
                     np.concatenate([x_cols[has], a0 + np.arange(len(a_pairs))[a_has]]),
                     np.concatenate([ones[has], -np.ones(int(a_has.sum()))]), headroom, bcodes)
        cult = buyers["cultivated_headroom_mu"].to_numpy(dtype=float)
        has = ~np.isnan(cult[f_bi])
        rows.grouped("cultivated", f_bi[has], x_cols[has], buyers["share"].to_numpy(dtype=float)[f_bi][has], cult,
                     bcodes)
        if rules["quality_rule"] == "aggregate":
            grade_b = buyers["occupied_quality_grade"].to_numpy(dtype=float)
            gap = units["grade"].to_numpy(dtype=float)[f_unit] - grade_b[f_bi]
            has = ~np.isnan(grade_b[f_bi])
            rows.grouped("quality", f_bi[has], x_cols[has], np.nan_to_num(gap[has], nan=0.0), np.zeros(len(buyers)),
                         bcodes)
        deal_flows = is_deal[f_pair]
        if deal_flows.any():
            d_pairs = np.unique(f_pair[deal_flows])
            local = np.searchsorted(d_pairs, f_pair[deal_flows])
            rows.add_block(local, x_cols[deal_flows], ones[deal_flows], deal[d_pairs], deal[d_pairs], "deal",
                           np.full(len(d_pairs), "", dtype=object), d_pairs, OWNER_PAIR)
        if len(a_pairs):
            # a_sb <= x_sb (summed over the pair's flows); the seller cedes at most its adjustable space.
            k = len(a_pairs)
            a_local = np.full(n, -1)
            a_local[a_pairs] = np.arange(k)
            fk = a_local[f_pair]
            on = fk >= 0
            rows.add_block(np.concatenate([np.arange(k), fk[on]]), np.concatenate([a0 + np.arange(k), x_cols[on]]),
                           np.concatenate([np.ones(k), -ones[on]]), np.full(k, -INF), np.zeros(k), "adjust_link",
                           np.full(k, "", dtype=object), a_pairs, OWNER_PAIR)
            adj_cap = sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
            rows.grouped("adjust_cap", si[a_pairs], a0 + np.arange(k), np.ones(k), adj_cap, scodes)
        if is_mip:
            z_cols = z0 + np.arange(n)
            upper = mk.pair_upper()
            # sum of the pair's flows - U z <= 0, and >= min_lot z unless the pair is a signed deal
            rows.add_block(np.concatenate([f_pair, np.arange(n)]), np.concatenate([x_cols, z_cols]),
                           np.concatenate([ones, -upper]), np.full(n, -INF), np.zeros(n), "lot_upper",
                           np.full(n, "", dtype=object), np.arange(n), OWNER_PAIR)
            min_lot = float(rules["min_lot_mu"])
            free = np.nonzero(~is_deal)[0]
            if min_lot > 0 and len(free):
                local = np.full(n, -1)
                local[free] = np.arange(len(free))
                on = local[f_pair] >= 0
                rows.add_block(np.concatenate([local[f_pair][on], np.arange(len(free))]),
                               np.concatenate([x_cols[on], z_cols[free]]),
                               np.concatenate([ones[on], -np.full(len(free), min_lot)]), np.zeros(len(free)),
                               np.full(len(free), INF), "lot_lower", np.full(len(free), "", dtype=object), free,
                               OWNER_PAIR)
            k_seller, k_buyer = int(rules["max_partners_per_seller"]), int(rules["max_partners_per_buyer"])
            if k_seller > 0:
                rows.grouped("partners_seller", si, z_cols, np.ones(n), np.full(len(sellers), float(k_seller)),
                             scodes)
            if k_buyer > 0:
                rows.grouped("partners_buyer", bi, z_cols, np.ones(n), np.full(len(buyers), float(k_buyer)), bcodes)
        if n_short:
            # sum of the seller's flows + short_s >= share * surplus_s (every seller gets the row)
            used = np.arange(n_short)
            rows.add_block(np.concatenate([f_si, used]), np.concatenate([x_cols, short0 + used]),
                           np.concatenate([ones, np.ones(n_short)]), share * surplus, np.full(n_short, INF),
                           "min_sale", scodes, np.full(n_short, -1))

    A, row_lo, row_hi, row_kind, row_code, row_ref, row_owner = rows.matrix(n_cols)
    tie_cost = np.zeros(n_cols)
    if nf:
        tie_cost[:nf] = mk.distance_km[f_pair]
        if mk.horizon is not None:
            # Among equally good plans, sell as early as the quota is ready (a metre per year, far below a tie).
            tie_cost[:nf] += 1e-3 * np.nan_to_num(f_year - mk.horizon.start, nan=0.0)
    return LinearModel(
        c=c, A=A, row_lo=row_lo, row_hi=row_hi, col_lo=col_lo, col_hi=col_hi, integer=integer, col_kind=col_kind,
        col_ref=col_ref, row_kind=row_kind, row_code=row_code, row_ref=row_ref, row_owner=row_owner, market=mk,
        is_mip=is_mip, tie_cost=tie_cost)


def _yearly_demand(mk: Market) -> dict[tuple[int, int], float] | None:
    """(buyer index, year) -> demand in 亩 from demand.csv, for buyers it names; None when demand is not by year."""
    if mk.horizon is None or not mk.horizon.by_year:
        return None
    demand = mk.yearly_demand
    pos = {str(c): i for i, c in enumerate(mk.buyers["code"])}
    out: dict[tuple[int, int], float] = {}
    for code, year, mu in demand:
        if str(code) in pos and mk.horizon.start <= year <= mk.horizon.end:
            key = (pos[str(code)], int(year))
            out[key] = out.get(key, 0.0) + float(mu)
    named = {b for b, _ in out}
    for b in named:  # a buyer that gives demand by year wants nothing in the years it leaves out
        for t in mk.horizon.years:
            out.setdefault((b, t), 0.0)
    return out or None


def _tokens(m: LinearModel):
    tok = county_tokens(m.sellers, m.buyers)
    s = m.pairs["seller_code"].astype(str).map(tok).to_numpy(dtype=object)
    b = m.pairs["buyer_code"].astype(str).map(tok).to_numpy(dtype=object)
    return tok, s, b


def col_names(m: LinearModel) -> np.ndarray:
    """Each column's name, as in the PuLP formulation: x_<unit>_<buyer>[_<year>], a_/z_<s>_<b>, short_<seller>."""
    tok, s, b = _tokens(m)
    units = m.market.unit_tokens()
    scode = m.sellers["code"].astype(str).map(tok).to_numpy(dtype=object)
    fl = m.market.flows
    f_unit, f_pair, f_year = fl["unit_idx"].to_numpy(), fl["pair_idx"].to_numpy(), fl["year"].to_numpy(dtype=float)
    out = np.empty(m.n_cols, dtype=object)
    for j, (kind, ref) in enumerate(zip(m.col_kind, m.col_ref)):
        if kind == "x":
            out[j] = flow_name(units[f_unit[ref]], b[f_pair[ref]], f_year[ref])
        elif kind == "short":
            out[j] = f"short_{scode[ref]}"
        else:
            out[j] = f"{kind}_{s[ref]}_{b[ref]}"
    return out


def flow_name(unit_token: str, buyer_token: str, year: float) -> str:
    return f"x_{unit_token}_{buyer_token}" + ("" if np.isnan(year) else f"_{int(year)}")


def row_names(m: LinearModel) -> np.ndarray:
    """Each row's name, as in the PuLP formulation: supply_<unit>, budget_<buyer>, demand_<buyer>_<year>, ..."""
    tok, s, b = _tokens(m)
    units = m.market.unit_tokens()
    out = np.empty(m.n_rows, dtype=object)
    for i, (kind, code, ref, owner) in enumerate(zip(m.row_kind, m.row_code, m.row_ref, m.row_owner)):
        if owner == OWNER_PAIR:
            out[i] = f"{kind}_{s[ref]}_{b[ref]}"
        elif owner == OWNER_UNIT:
            out[i] = f"{kind}_{units[ref]}"
        elif owner == OWNER_YEAR:
            out[i] = f"{kind}_{tok[str(code)]}_{ref}"
        else:
            out[i] = f"{kind}_{tok[str(code)]}"
    return out
