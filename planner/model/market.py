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
    return schema.may_sell_provincewide(poverty_class)


def sellers_table(scn: Scenario, counties: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counties that may sell (article 2): listed poverty counties with surplus (from their lots, when given)."""
    c = scn.counties if counties is None else counties
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
    sellers = sellers_table(scn, supply_counties(scn)) if sellers is None else sellers
    buyers = buyers_table(scn) if buyers is None else buyers
    ns, nb = len(sellers), len(buyers)
    si = np.repeat(np.arange(ns), nb)
    bi = np.tile(np.arange(nb), ns)
    # A county never trades with itself. Found on the index arrays: building millions of code strings first and
    # comparing them took seconds at national size.
    b_pos = {code: j for j, code in enumerate(buyers["code"])}
    twin = np.array([b_pos.get(code, -1) for code in sellers["code"]], dtype=np.int64)
    if ns and nb:
        keep = twin[si] != bi
        si, bi = si[keep], bi[keep]
    df = pd.DataFrame({"seller_idx": si, "buyer_idx": bi, "seller_code": _take_codes(sellers["code"], si),
                       "buyer_code": _take_codes(buyers["code"], bi)})
    guide_lo = scn.param("pricing", "guide_floor")
    guide_hi = scn.param("pricing", "guide_ceiling")
    theta = float(scn.param("pricing", "bargaining_weight"))

    over = scn.pairs
    pf = pc = pa = None
    excluded = np.zeros(len(df), dtype=bool)
    deal_mu = np.full(len(df), np.nan)
    deal_year = np.full(len(df), np.nan)
    if len(over) and len(df):
        # pairs.csv rows placed on their candidate pair (the first row of a pair counts), NaN elsewhere; looked
        # up through a seller x buyer grid rather than reindexing millions of pairs by their code strings.
        o = over.drop_duplicates(["seller_code", "buyer_code"])
        grid = np.full(ns * nb, -1, dtype=np.int64)
        grid[si * nb + bi] = np.arange(len(df))
        s_pos = {code: i for i, code in enumerate(sellers["code"])}
        at = np.array([grid[s_pos[s] * nb + b_pos[b]] if s in s_pos and b in b_pos else -1
                       for s, b in zip(o["seller_code"], o["buyer_code"])], dtype=np.int64)
        o, at = o.loc[at >= 0], at[at >= 0]

        def placed(values, fill=np.nan, dtype=float):
            out = np.full(len(df), fill, dtype=dtype)
            out[at] = values
            return out

        pf = placed(o["floor_price"].to_numpy(dtype=float))
        pc = placed(o["ceiling_price"].to_numpy(dtype=float))
        pa = placed(o["agreed_price"].to_numpy(dtype=float))
        excluded = placed(o["excluded"].fillna(False).to_numpy(dtype=bool), False, bool)
        deal_mu = placed(deal_quantity(o))
        if "year" in o.columns:
            deal_year = np.where(np.isnan(deal_mu), np.nan,
                                 placed(pd.to_numeric(o["year"], errors="coerce").to_numpy(dtype=float)))
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
    reasons = ("", "quality", "band", "excluded")  # as codes: millions of strings cost seconds at national size
    reason = np.zeros(n, dtype=np.int8)
    reason[~quality_ok] = 1
    reason[~band_ok] = 2
    reason[excluded] = 3
    # A signed or filed agreement is part of the plan whatever the band or rule says (article 16): the two
    # governments have set price and quantity; validation reports what it contradicts.
    is_deal = ~np.isnan(deal_mu)
    reason[is_deal] = 0
    df["deal_mu"] = deal_mu
    df["deal_year"] = deal_year
    df["excluded"] = excluded
    df["admissible"] = reason == 0
    df["reason"] = pd.Series(reasons).array.take(reason)
    return df


def _take_codes(codes: pd.Series, idx: np.ndarray):
    """codes[idx] as the pairs' code column, without a round trip through millions of Python strings."""
    if isinstance(codes.dtype, pd.StringDtype):
        return codes.array.take(idx)
    return codes.to_numpy(dtype=object)[idx]


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
    # Same prefecture, compared as small integer labels (a named prefecture only; blank or missing never matches)
    pref = pd.Series(np.concatenate([sellers["prefecture"].to_numpy(dtype=object),
                                     buyers["prefecture"].to_numpy(dtype=object)]))
    label, _ = pd.factorize(pref.where(pref != "", None))
    label_s, label_b = label[:len(sellers)], label[len(sellers):]
    same = (label_s[si] == label_b[bi]) & (label_s[si] >= 0)
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


# --------------------------------------------------------------------------- lots and years (articles 8, 14, 27)

DEFAULT_SALEABLE = ("confirmed",)
VALIDITY_YEARS = 4  # article 27: the measures are valid four years from issue


def table(scn: Scenario, name: str) -> pd.DataFrame | None:
    """An optional scenario table (lots, demand, payments), or None when the scenario has none."""
    df = getattr(scn, name, None)
    return df if isinstance(df, pd.DataFrame) and len(df) else None


def _setting(scn: Scenario, section: str, key: str):
    body = scn.settings.get(section)
    return body.get(key) if isinstance(body, dict) else None


@dataclass(frozen=True)
class Horizon:
    """The years a plan runs over; `by_year` when demand.csv gives demand per year (then x carries a year)."""

    start: int
    end: int
    by_year: bool

    @property
    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))


def horizon(scn: Scenario) -> Horizon | None:
    start = _setting(scn, "horizon", "start_year")
    if start is None:
        return None
    end = _setting(scn, "horizon", "end_year")
    end = int(start) + VALIDITY_YEARS - 1 if end is None else int(end)
    return Horizon(int(start), end, table(scn, "demand") is not None)


def lot_net_mu(lots: pd.DataFrame) -> np.ndarray:
    """Net quota of a lot: area − used locally − kept for rural use (article 20) − turnover owed (article 14)."""
    def col(name):
        return pd.to_numeric(lots[name], errors="coerce").fillna(0.0).to_numpy(dtype=float) \
            if name in lots.columns else np.zeros(len(lots))
    return col("area_mu") - col("used_locally_mu") - col("reserved_rural_mu") - col("turnover_owed_mu")


def saleable_statuses(scn: Scenario) -> tuple[str, ...]:
    value = _setting(scn, "rules", "saleable_status")
    if value is None:
        return DEFAULT_SALEABLE
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def saleable_lots(scn: Scenario) -> pd.DataFrame | None:
    """Lots that supply: status saleable, net > 0, ready by the end of the horizon. None without lots.csv."""
    lots = table(scn, "lots")
    if lots is None:
        return None
    out = lots.copy()
    out["lot_idx"] = np.arange(len(out))
    out["net_mu"] = lot_net_mu(out)
    out["ready"] = pd.to_numeric(out.get("ready_year"), errors="coerce") if "ready_year" in out.columns \
        else np.nan
    keep = out["status"].isin(saleable_statuses(scn)) & (out["net_mu"] > TOL)
    hz = horizon(scn)
    if hz is not None:
        keep &= ~(out["ready"] > hz.end)
    return out.loc[keep].reset_index(drop=True)


def supply_counties(scn: Scenario) -> pd.DataFrame:
    """The counties table as supply sees it: with lots.csv, a county's surplus is the net quota of its saleable
    lots and its grade the best of theirs (each lot keeps its own grade in the model)."""
    lots = saleable_lots(scn)
    if lots is None:
        return scn.counties
    c = scn.counties.copy()
    code = c["code"].astype(str)
    by = lots.assign(county_code=lots["county_code"].astype(str)).groupby("county_code")
    c["surplus_mu"] = code.map(by["net_mu"].sum()).fillna(0.0).to_numpy(dtype=float)
    if "reclaimed_quality_grade" in lots.columns:
        best = by["reclaimed_quality_grade"].min()
        c["reclaimed_quality_grade"] = code.map(best).astype(float).fillna(c["reclaimed_quality_grade"])
    return c


def supply_units(scn: Scenario, sellers: pd.DataFrame) -> pd.DataFrame:
    """What sells: one unit per seller county, or one per saleable lot when the scenario has lots."""
    lots = saleable_lots(scn)
    if lots is None:
        return pd.DataFrame({
            "unit_id": sellers["code"].astype(str).to_numpy(dtype=object), "seller_idx": np.arange(len(sellers)),
            "grade": sellers["reclaimed_quality_grade"].to_numpy(dtype=float),
            "supply_mu": sellers["surplus_mu"].to_numpy(dtype=float), "ready": np.full(len(sellers), np.nan),
            "lot_idx": np.full(len(sellers), -1)})
    pos = {str(c): i for i, c in enumerate(sellers["code"])}
    seller_idx = lots["county_code"].astype(str).map(pos)
    lots = lots.loc[seller_idx.notna()].reset_index(drop=True)
    seller_idx = seller_idx.dropna().astype(int).to_numpy()
    grade = lots["reclaimed_quality_grade"].to_numpy(dtype=float) if "reclaimed_quality_grade" in lots.columns \
        else np.full(len(lots), np.nan)
    grade = np.where(np.isnan(grade), sellers["reclaimed_quality_grade"].to_numpy(dtype=float)[seller_idx], grade)
    return pd.DataFrame({
        "unit_id": lots["lot_id"].astype(str).to_numpy(dtype=object), "seller_idx": seller_idx, "grade": grade,
        "supply_mu": lots["net_mu"].to_numpy(dtype=float), "ready": lots["ready"].to_numpy(dtype=float),
        "lot_idx": lots["lot_idx"].to_numpy()})


def flows(scn: Scenario, pairs: pd.DataFrame, units: pd.DataFrame, hz: Horizon | None) -> pd.DataFrame:
    """The model's quota variables: one per (unit, buyer) of each admissible pair — and per year when demand is
    given by year. A unit sells only from its ready year; a deal takes quota ready by its year."""
    n_pairs = len(pairs)
    order = np.argsort(units["seller_idx"].to_numpy(), kind="stable")
    u_seller = units["seller_idx"].to_numpy()[order]
    n_sellers = int(u_seller.max()) + 1 if len(u_seller) else 0
    counts = np.bincount(u_seller, minlength=max(n_sellers, 1))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    si = pairs["seller_idx"].to_numpy() if n_pairs else np.zeros(0, dtype=np.int64)
    per_pair = counts[si] if n_pairs and len(counts) else np.zeros(n_pairs, dtype=np.int64)
    pair_idx = np.repeat(np.arange(n_pairs), per_pair)
    offset = np.arange(len(pair_idx)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    unit_idx = order[starts[si][pair_idx] + offset] if len(pair_idx) else np.zeros(0, dtype=np.int64)
    keep = np.ones(len(pair_idx), dtype=bool)
    grade_u = units["grade"].to_numpy(dtype=float)[unit_idx]
    grade_b = pairs["buyer_grade"].to_numpy(dtype=float)[pair_idx] if n_pairs else np.zeros(0)
    if scn.param("rules", "quality_rule") == "pair":
        keep &= ~(grade_u > grade_b)  # article 4(二) per lot; a missing grade is warned about, not blocked
    ready = units["ready"].to_numpy(dtype=float)[unit_idx]
    deal_year = pairs["deal_year"].to_numpy(dtype=float)[pair_idx] if n_pairs else np.zeros(0)
    keep &= ~(ready > deal_year)
    pair_idx, unit_idx, ready, deal_year = pair_idx[keep], unit_idx[keep], ready[keep], deal_year[keep]
    if hz is None or not hz.by_year:
        return pd.DataFrame({"unit_idx": unit_idx, "pair_idx": pair_idx, "year": np.full(len(pair_idx), np.nan)})
    first = np.where(np.isnan(ready), hz.start, np.maximum(ready, hz.start)).astype(int)
    first = np.where(np.isnan(deal_year), first, deal_year).astype(int)
    last = np.where(np.isnan(deal_year), hz.end, deal_year).astype(int)
    n_years = np.maximum(last - first + 1, 0)
    rep = np.repeat(np.arange(len(pair_idx)), n_years)
    year = first[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(n_years) - n_years, n_years))
    return pd.DataFrame({"unit_idx": unit_idx[rep], "pair_idx": pair_idx[rep], "year": year.astype(float)})


def out_year(mk: "Market") -> np.ndarray:
    """The year each flow is reported in: its own year; else the deal's year; else the first year its quota is
    ready (selling as early as possible); NaN without a horizon."""
    f = mk.flows
    if mk.horizon is None:
        return np.full(len(f), np.nan)
    year = f["year"].to_numpy(dtype=float)
    ready = mk.units["ready"].to_numpy(dtype=float)[f["unit_idx"].to_numpy()]
    first = np.where(np.isnan(ready), mk.horizon.start, np.maximum(ready, mk.horizon.start))
    deal_year = mk.pairs["deal_year"].to_numpy(dtype=float)[f["pair_idx"].to_numpy()]
    return np.where(~np.isnan(year), year, np.where(~np.isnan(deal_year), deal_year, first))


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
    units: pd.DataFrame  # what sells: one row per seller county, or per saleable lot (supply_units)
    flows: pd.DataFrame  # the quota variables: unit_idx, pair_idx, year (NaN unless demand is by year)
    horizon: Horizon | None = None
    has_lots: bool = False
    yearly_demand: tuple = ()  # (county code, year, demand_mu) rows of demand.csv

    @property
    def is_mip(self) -> bool:
        """Minimum lots and partner limits need on/off decisions per pair (the integer model)."""
        r = self.rules
        return bool(float(r["min_lot_mu"]) > 0 or int(r["max_partners_per_seller"]) > 0
                    or int(r["max_partners_per_buyer"]) > 0) and len(self.pairs) > 0

    def deal_mu(self) -> np.ndarray:
        """Per admissible pair: the quota fixed by a signed/filed agreement, NaN where the model decides."""
        return self.pairs["deal_mu"].to_numpy(dtype=float)

    def pair_upper(self) -> np.ndarray:
        """The most a pair can move, from the seller's supply and every limit of the buyer alone: the big-M of the
        integer model, as tight as the data allow (a tight bound makes branch-and-bound prove optimality sooner)."""
        si = self.pairs["seller_idx"].to_numpy()
        bi = self.pairs["buyer_idx"].to_numpy()
        b = self.buyers
        demand = b["demand_mu"].to_numpy(dtype=float).copy()
        if self.horizon is not None and self.horizon.by_year:  # demand.csv, where given, replaces demand_mu
            by_year: dict[str, float] = {}
            for code, year, mu in self.yearly_demand:
                if self.horizon.start <= year <= self.horizon.end:
                    by_year[code] = by_year.get(code, 0.0) + mu
            named = b["code"].astype(str).map(by_year).to_numpy(dtype=float)
            demand = np.where(np.isnan(named), demand, named)
        upper = np.minimum(self.sellers["surplus_mu"].to_numpy(dtype=float)[si], demand[bi])
        price = self.pairs["price"].to_numpy(dtype=float)
        budget = b["budget_wan"].to_numpy(dtype=float)[bi]
        with np.errstate(divide="ignore", invalid="ignore"):
            upper = np.where(~np.isnan(budget) & (price > 0), np.minimum(upper, budget / price), upper)
            share = b["share"].to_numpy(dtype=float)[bi]
            cult = b["cultivated_headroom_mu"].to_numpy(dtype=float)[bi]
            upper = np.where(~np.isnan(cult) & (share > 0), np.minimum(upper, cult / share), upper)
        headroom = b["construction_headroom_mu"].to_numpy(dtype=float)[bi]
        ceded = np.zeros(len(si))
        a = self.adjustable_pairs()
        ceded[a] = self.sellers["plan_adjustable_mu"].fillna(0).to_numpy(dtype=float)[si[a]]
        upper = np.where(~np.isnan(headroom), np.minimum(upper, headroom + ceded), upper)
        deal = self.deal_mu()
        return np.maximum(np.where(np.isnan(deal), upper, np.maximum(upper, deal)), 0.0)

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

    def flow_objective(self) -> np.ndarray:
        return self.pair_objective()[self.flows["pair_idx"].to_numpy()]

    def unit_tokens(self) -> list[str]:
        """Name token of each unit: the county's token, or lot_<id> for a lot."""
        if not self.has_lots:
            tok = county_tokens(self.sellers, self.buyers)
            return [tok[str(u)] for u in self.units["unit_id"]]
        tok = name_tokens(["lot_" + str(u) for u in self.units["unit_id"]])
        return [tok["lot_" + str(u)] for u in self.units["unit_id"]]


def market(scn: Scenario) -> Market:
    sellers = sellers_table(scn, supply_counties(scn))
    buyers = buyers_table(scn)
    cand = candidate_pairs(scn, sellers, buyers)
    pairs = cand[cand["admissible"]].reset_index(drop=True)
    rules = {p.key: scn.param("rules", p.key) for p in schema.PARAMS if p.section == "rules"}
    hz = horizon(scn)
    units = supply_units(scn, sellers)
    return Market(sellers=sellers, buyers=buyers, candidates=cand, pairs=pairs, rules=rules,
                  distance_km=pair_distance_km(pairs, sellers, buyers), units=units,
                  flows=flows(scn, pairs, units, hz), horizon=hz, has_lots=table(scn, "lots") is not None,
                  yearly_demand=demand_rows(scn))


def demand_rows(scn: Scenario) -> tuple:
    """demand.csv as (county code, year, demand_mu) rows; rows without a year or quantity are left out."""
    d = table(scn, "demand")
    if d is None:
        return ()
    year = pd.to_numeric(d.get("year"), errors="coerce")
    mu = pd.to_numeric(d.get("demand_mu"), errors="coerce")
    ok = year.notna() & mu.notna()
    return tuple(zip(d.loc[ok, "county_code"].astype(str), year[ok].astype(int), mu[ok].astype(float)))
