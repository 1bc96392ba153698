"""Preprocess: the market the model sees — who may sell, who buys, which pairs may trade and at what price.

Both model builders (the PuLP formulation of record and the matrix fast path) read one `Market`, so a rule about
who trades with whom lives here once (DESIGN section 4).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import schema
from planner.scenario import Scenario

INF = math.inf
TOL = 1e-6
UNKNOWN_DISTANCE_KM = 300.0  # between counties without coordinates in different (or unknown) prefectures


def eligible_seller(poverty_class: pd.Series) -> pd.Series:
    """Article 2: only listed poverty counties (national key, provincial) may transfer quota province-wide."""
    return poverty_class.isin(schema.SELLER_CLASSES)


def sellers_table(scn: Scenario) -> pd.DataFrame:
    """Counties that may sell (article 2): listed poverty counties with surplus."""
    c = scn.counties
    mask = eligible_seller(c["poverty_class"]) & (c["surplus_mu"].fillna(0) > TOL)
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
    deal_mu = np.full(len(df), np.nan)
    if len(over) and len(df):
        o = over.drop_duplicates(["seller_code", "buyer_code"]).set_index(["seller_code", "buyer_code"])
        key = pd.MultiIndex.from_arrays([df["seller_code"], df["buyer_code"]])
        o = o.reindex(key)
        pf = o["floor_price"].to_numpy(dtype=float)
        pc = o["ceiling_price"].to_numpy(dtype=float)
        pa = o["agreed_price"].to_numpy(dtype=float)
        excluded = o["excluded"].fillna(False).to_numpy(dtype=bool)
        deal_mu = deal_quantity(o)
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
    # A signed or filed agreement is part of the plan whatever the band or rule says (article 16): the two
    # governments have set price and quantity; validation reports what it contradicts.
    is_deal = ~np.isnan(deal_mu)
    reason[is_deal] = ""
    df["deal_mu"] = deal_mu
    df["excluded"] = excluded
    df["admissible"] = reason == ""
    df["reason"] = reason
    return df


DEAL_STATUSES = ("signed", "filed")


def deal_quantity(pairs: pd.DataFrame) -> np.ndarray:
    """Per pairs.csv row: the quota of a signed or filed agreement (a deal, fixed in the plan), else NaN."""
    n = len(pairs)
    if "agreed_mu" not in pairs.columns or "status" not in pairs.columns:
        return np.full(n, np.nan)
    mu = pd.to_numeric(pairs["agreed_mu"], errors="coerce").to_numpy(dtype=float)
    signed = pairs["status"].isin(DEAL_STATUSES).to_numpy(dtype=bool)
    return np.where(signed & (mu > 0), mu, np.nan)


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


def name_tokens(codes) -> dict[str, str]:
    """County code -> a token safe in LP-file names (letters, digits, _), unique among `codes`.

    Real codes (6-digit administrative codes) pass unchanged, so names read `supply_220621`; other text is
    reduced to ASCII and suffixed where two codes would collide."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for code in codes:
        code = str(code)
        if code in out:
            continue
        base = "".join(ch if (ch.isascii() and (ch.isalnum() or ch == "_")) else "_" for ch in code) or "c"
        token, k = base, 1
        while token in taken:
            k += 1
            token = f"{base}_{k}"
        taken.add(token)
        out[code] = token
    return out


def county_tokens(sellers: pd.DataFrame, buyers: pd.DataFrame) -> dict[str, str]:
    """One name token per county of the model, shared by every variable and constraint name."""
    return name_tokens(list(sellers["code"].astype(str)) + list(buyers["code"].astype(str)))


@dataclass
class Market:
    """What the model is built from: the sellers, buyers and admissible pairs with their prices, and the rules."""

    sellers: pd.DataFrame
    buyers: pd.DataFrame
    candidates: pd.DataFrame  # every seller x buyer, admissible or not, with the reason
    pairs: pd.DataFrame  # admissible pairs only, reindexed 0..n-1
    rules: dict
    distance_km: np.ndarray  # per admissible pair: the tie-break

    @property
    def is_mip(self) -> bool:
        """Minimum lots and partner limits need on/off decisions per pair (the integer model)."""
        r = self.rules
        return bool(float(r["min_lot_mu"]) > 0 or int(r["max_partners_per_seller"]) > 0
                    or int(r["max_partners_per_buyer"]) > 0) and len(self.pairs) > 0

    def deal_mu(self) -> np.ndarray:
        """Per admissible pair: the quota fixed by a signed/filed agreement, NaN where the model decides."""
        return self.pairs["deal_mu"].to_numpy(dtype=float)

    def adjustable_pairs(self) -> np.ndarray:
        """Pairs that get a plan-adjustment variable (article 6 ¶2): allowed, seller can cede space, buyer capped."""
        n = len(self.pairs)
        if not self.rules["allow_plan_adjustment"] or not n:
            return np.zeros(0, dtype=np.int64)
        si = self.pairs["seller_idx"].to_numpy()
        bi = self.pairs["buyer_idx"].to_numpy()
        adj_cap = self.sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)
        headroom = self.buyers["construction_headroom_mu"].to_numpy(dtype=float)
        return np.nonzero((adj_cap[si] > TOL) & ~np.isnan(headroom[bi]))[0]

    def pair_objective(self) -> np.ndarray:
        """Objective coefficient of each pair's quota (DESIGN section 4), priority weight included."""
        w = self.sellers["weight"].to_numpy(dtype=float)[self.pairs["seller_idx"].to_numpy()]
        objective = self.rules["objective"]
        if objective == "proceeds":
            return w * self.pairs["price"].to_numpy(dtype=float)
        if objective == "volume":
            return w.copy()
        return w * (self.pairs["hi"].to_numpy(dtype=float) - self.pairs["lo"].to_numpy(dtype=float))

    def shortfall_penalty(self) -> float:
        """The min_sale shortfall ranks above everything else, the plan-adjustment penalty included."""
        c = self.pair_objective()
        max_c = float(np.max(np.abs(c))) if len(c) else 1.0
        return 1e4 * (max_c + float(self.rules["plan_adjustment_penalty"]) + 1.0)

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)


def market(scn: Scenario) -> Market:
    sellers = sellers_table(scn)
    buyers = buyers_table(scn)
    cand = candidate_pairs(scn, sellers, buyers)
    pairs = cand[cand["admissible"]].reset_index(drop=True)
    rules = {p.key: scn.param("rules", p.key) for p in schema.PARAMS if p.section == "rules"}
    return Market(sellers=sellers, buyers=buyers, candidates=cand, pairs=pairs, rules=rules,
                  distance_km=pair_distance_km(pairs, sellers, buyers))
