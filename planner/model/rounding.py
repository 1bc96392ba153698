"""Numbers as documents state them: quota to 0.01 亩, amounts as quota × price exactly as printed, and the plan
rounded to that grid without breaking a limit or leaving rounding dust behind as "unsold" quota."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from planner.model.matrix import LinearModel

MU_DECIMALS = 2  # 0.01 亩 (about 6.7 m²): the precision quota is stated in
WAN_DECIMALS = 2  # 0.01 万元 = 100 元


def clean_mu(values) -> np.ndarray:
    """Quota as documents state it: 2 decimals, solver dust gone (1259.999992 is 1260), never −0."""
    return np.round(np.asarray(values, dtype=float), MU_DECIMALS) + 0.0


def rounding_residue_mu(flows: int) -> float:
    """What stating a county's flows to 0.01 亩 can leave of a limit the solver uses up: less than 0.01 亩 for each
    of its pairing rows, and one more. The one measure of a rounding residue, for the reasons (planner.explain) and
    the quota ledger's unsold-at-expiry lines (planner.ledger) alike."""
    return 10.0 ** -MU_DECIMALS * (1 + int(flows))


PRICE_DECIMALS = 6  # a price is printed as given or computed (lo + θ·(hi − lo)), to 1e-6 万元/亩


def amount_wan(quota_mu, price_wan_per_mu) -> np.ndarray:
    """Amount = quota x price exactly as both are printed (quota to 0.01 亩, price as computed), so anyone can
    multiply the two columns and get this one; documents show it to 0.01 万元."""
    price = np.round(np.asarray(price_wan_per_mu, dtype=float), PRICE_DECIMALS)
    return np.round(np.asarray(quota_mu, dtype=float) * price, PRICE_DECIMALS + MU_DECIMALS) + 0.0


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
    C = m.A.tocsc()
    A = C[:, cols].tocsr()
    upper = np.isfinite(m.row_hi)
    step = 10.0 ** -MU_DECIMALS
    act = C @ q  # kept up to date column by column below: a full product per step took 12 s at national size

    def move(j: int, new: float) -> None:
        lo, hi = C.indptr[j], C.indptr[j + 1]
        act[C.indices[lo:hi]] += (new - q[j]) * C.data[lo:hi]
        q[j] = new

    for _ in range(10 * len(cols)):
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
        move(j, round(q[j] - step, MU_DECIMALS))
    # Giving back 0.01 亩 to one buyer leaves the seller 0.01 亩 short of what it really sells: hand it to another of
    # its flows that was rounded down, where every limit of that flow still holds.
    act = C @ q  # afresh: the checks below compare it with the bounds to 1e-9
    for i in np.nonzero(m.row_kind == "supply")[0]:
        start, end = A.indptr[i], A.indptr[i + 1]
        members = cols[A.indices[start:end]]
        target = round(float(x[members].sum()), MU_DECIMALS)
        for j in members[np.argsort(q[members] - x[members])]:
            if float(q[members].sum()) >= target - 1e-9:
                break
            if q[j] >= x[j]:
                continue
            rows_j, coef_j = C.indices[C.indptr[j]:C.indptr[j + 1]], C.data[C.indptr[j]:C.indptr[j + 1]]
            after = act[rows_j] + step * coef_j
            hi = m.row_hi[rows_j]
            if np.all(~np.isfinite(hi) | (after <= hi + 1e-9 * np.maximum(1.0, np.abs(hi)))):
                q[j] = round(q[j] + step, MU_DECIMALS)
                act[rows_j] = after
    q = fill_short_supply(m, x, q, C, movable)
    # A signed deal is stated exactly: its flows add up to the agreed quota after rounding.
    for i in np.nonzero(m.row_kind == "deal")[0]:
        start, end = A.indptr[i], A.indptr[i + 1]
        members = cols[A.indices[start:end]]
        if len(members):
            j = members[np.argmax(q[members])]
            q[j] = round(q[j] + m.row_hi[i] - float(q[members].sum()), MU_DECIMALS)
    return q


HOPS = 4  # how far from a short lot the rounding may move flows
USED_UP_KINDS = ("demand", "budget", "construction", "cultivated")  # a buyer's limits a reason may cite
# What stating the last 0.01 亩 may cost. Measured at national size with lots (235 lots short, 3,168 flows around
# them): HiGHS states 75 of them in 5 s and no more in 20 s, and nothing in 2 s; on the baseline (36 flows) it
# proves in milliseconds. Beyond MAX_FLOWS the step is skipped: the ledger calls what is left a rounding residue.
# The search stops after NODE_LIMIT branch-and-bound nodes, so the same plan always prints the same (a time limit
# alone would depend on the machine); TIME_LIMIT_S is only a guard.
NODE_LIMIT = 200
TIME_LIMIT_S = 2.0
MAX_FLOWS = 1_000


def fill_short_supply(m: LinearModel, x: np.ndarray, q: np.ndarray, C: sp.csc_matrix,
                      movable: np.ndarray) -> np.ndarray:
    """Where the plan sells a lot in full but no single flow can take the last 0.01 亩 (each buyer's quality
    balance, budget or demand would break by a hair), the printed lot showed 0.01–0.04 亩 "unsold at expiry": a
    false alarm (235 of 1,557 lots at national size). A small integer programme moves each flow of the lots
    concerned, of their buyers, and so on for HOPS steps, by a step or two (at most 0.02 亩 from the solver's
    value), so that every limit holds as printed and as much as possible of each lot's (rounded) sale is stated.
    Where quality balances bind at fractions, no plan on the 0.01 亩 grid may sell the last hundredth; where the
    neighbourhood is too large (MAX_FLOWS) or the search finds nothing within NODE_LIMIT, the plan stays as the
    greedy steps left it (what remains is a rounding residue: `rounding_residue_mu`)."""
    step = 10.0 ** -MU_DECIMALS
    supply = m.row_kind == "supply"
    if not supply.any():
        return q
    act, exact = C @ q, C @ x
    target = np.round(exact, MU_DECIMALS)
    short = np.nonzero(supply & (act < target - 1e-9))[0]
    if not len(short):
        return q
    # Only the flows the plan uses may move (a few thousand of four million at national size): every neighbourhood
    # below is read from their columns alone.
    used = np.nonzero(movable & (q > 0))[0]  # never a new pairing (nor one of a solver's 1e-6 dust)
    C_used = C[:, used]
    R_used = C_used.tocsr()
    keep = np.ones(len(used), dtype=bool)
    deal_rows = np.nonzero(m.row_kind == "deal")[0]
    if len(deal_rows):
        keep[R_used[deal_rows].indices] = False  # a signed deal's flows are stated exactly elsewhere
    local = np.unique(R_used[short].indices)
    local = local[keep[local]]
    # The flows around them: the short lots' buyers' other flows, those flows' lots' other flows, and so on (a
    # step into one buyer may need a step out of another lot's flow, which that lot makes up elsewhere).
    for _ in range(HOPS):
        more = np.unique(R_used[np.unique(C_used[:, local].indices)].indices)
        more = np.union1d(more[keep[more]], local)
        if len(more) == len(local):
            break
        local = more
    cols = used[local]
    if not len(cols) or len(cols) > MAX_FLOWS:
        return q
    # A flow may end anywhere from one step below its rounded-down value to one step above its rounded-up one
    # (within 0.02 亩 of the solver's plan): a flow the solver set to a whole number may then give way too.
    floor = np.maximum(np.floor(x[cols] / step + 1e-6) - 1, 1) * step  # and no pairing dropped
    ceil = (np.ceil(x[cols] / step - 1e-6) + 1) * step
    can_up = np.maximum(np.round((ceil - q[cols]) / step), 0)
    can_down = np.maximum(np.round((q[cols] - floor) / step), 0)
    if not can_up.any():
        return q
    block = C_used[:, local]
    touched = np.unique(block.indices)  # the rows these flows are in
    sub = block.tocsr()[touched]
    row_bounds = np.concatenate([m.row_lo[touched], m.row_hi[touched]])
    tol = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(row_bounds), row_bounds, 0.0)))
    hi = np.where(np.isfinite(m.row_hi[touched]), m.row_hi[touched] - act[touched], np.inf)
    hi = np.where(supply[touched], np.minimum(hi, np.maximum(target[touched] - act[touched], 0.0)), hi)
    hi = np.maximum(hi, 0.0) + tol[len(touched):]
    lo = np.where(np.isfinite(m.row_lo[touched]), m.row_lo[touched] - act[touched], -np.inf)
    lo = np.minimum(lo, 0.0) - tol[:len(touched)]
    # A limit the solver's plan uses up stays as used up as printed: a buyer's budget spent to the last 0.01 亩 must
    # not be left with more, or it would no longer read as the reason the buyer got no more (planner.explain).
    used_up = np.isin(m.row_kind[touched], USED_UP_KINDS) & np.isfinite(m.row_hi[touched]) & \
        (m.row_hi[touched] - exact[touched] <= 1e-6 * np.maximum(1.0, np.abs(m.row_hi[touched])))
    lo = np.where(used_up, np.maximum(lo, -tol[:len(touched)]), lo)
    k = len(cols)
    # Variables: up_j, down_j whole steps; a flow moves by step x (up - down). Most quota stated first, then the
    # fewest moves.
    A = sp.hstack([sub, -sub], format="csr") * step
    cost = np.concatenate([np.full(k, -1.0 + 1e-3), np.full(k, 1.0 + 1e-3)])
    bounds = Bounds(np.zeros(2 * k), np.concatenate([can_up, can_down]))
    try:
        res = milp(cost, constraints=LinearConstraint(A, lo, hi), integrality=np.ones(2 * k), bounds=bounds,
                   options={"node_limit": NODE_LIMIT, "time_limit": TIME_LIMIT_S, "disp": False})
    except ValueError:
        return q
    if res.x is None or res.fun is None or res.fun >= 0:
        return q
    move = np.round(res.x[:k]) - np.round(res.x[k:])
    out = q.copy()
    out[cols] = np.round(q[cols] + step * move, MU_DECIMALS) + 0.0
    return out


