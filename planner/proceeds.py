"""Money follows people (articles 17-18): transfer proceeds return to the producing county and reach relocated groups.

DESIGN section 6, per producing county: gross G, reclamation R = min(G, cost·sold), financing F = share·(G−R),
collective C = collective_share·(G−R−F) split by reclaimed area, household pool H = G−R−F−C split by the rule. A
group's household money goes to its destination county. Nothing is lost: when a county has no group that can take
a share (no relocation rows, or all weights zero), the money is kept as `unallocated_wan` and shown.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import i18n, schema
from planner.scenario import Scenario, is_blank

RULES = schema.PROCEEDS_RULES  # labels: choice.rule.<rule> in the locale files


@dataclass(frozen=True)
class ProceedsParams:
    reclamation_cost_per_mu: float = 3.0
    financing_repayment_share: float = 0.0
    collective_share: float = 0.15
    rule: str = "per_capita"
    hybrid_alpha: float = 0.5

    @classmethod
    def from_scenario(cls, scn: Scenario, **overrides) -> ProceedsParams:
        values = {k: scn.param("proceeds", k) for k in cls.__dataclass_fields__}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(float(values["reclamation_cost_per_mu"]), float(values["financing_repayment_share"]),
                   float(values["collective_share"]), str(values["rule"]), float(values["hybrid_alpha"]))


@dataclass
class Allocation:
    """Plain tables of one allocation."""

    params: ProceedsParams
    groups: pd.DataFrame  # one row per relocated group (DESIGN section 5 proceeds.csv columns first)
    counties: pd.DataFrame  # the deductions waterfall per producing county
    destinations: pd.DataFrame  # household money by the county where people now live

    def total_check(self) -> float:
        """Gross minus everything accounted for; 0 when money is conserved."""
        c = self.counties
        return float((c["gross_wan"] - c["reclamation_wan"] - c["financing_wan"] - c["collective_wan"]
                      - c["household_wan"] - c["unallocated_wan"]).abs().sum())


GROUP_COLUMNS = ["county_code", "group_id", "resettlement_mode", "destination_code", "persons", "households",
                 "reclaimed_mu", "household_wan", "collective_wan", "per_person_wan", "county_name", "village",
                 "destination_name", "per_household_wan", "total_wan"]


def _split(total: float, weights: np.ndarray) -> np.ndarray | None:
    """Split total in proportion to weights; None when the weights cannot carry it (all zero)."""
    w = np.clip(np.nan_to_num(weights.astype(float)), 0, None)
    s = w.sum()
    if s <= 0:
        return None
    return total * w / s


def _household_weights(g: pd.DataFrame, p: ProceedsParams) -> np.ndarray:
    persons = g["persons"].to_numpy(dtype=float)
    households = g["households"].to_numpy(dtype=float)
    area = g["reclaimed_mu"].to_numpy(dtype=float)
    if p.rule == "per_capita":
        return persons
    if p.rule == "per_household":
        return households
    if p.rule == "by_area":
        return area
    shares = []
    for w in (persons, area):
        s = np.nansum(w)
        shares.append(np.nan_to_num(w) / s if s > 0 else np.zeros_like(w))
    if np.nansum(persons) <= 0 or np.nansum(area) <= 0:  # hybrid degenerates to whichever part exists
        return shares[0] + shares[1]
    return p.hybrid_alpha * shares[0] + (1 - p.hybrid_alpha) * shares[1]


def allocate(scn: Scenario, pairings: pd.DataFrame, params: ProceedsParams | None = None, **overrides) -> Allocation:
    p = params or ProceedsParams.from_scenario(scn, **overrides)
    if p.rule not in RULES:
        raise ValueError(f"unknown proceeds rule {p.rule!r}")
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    gross = pairings.groupby("seller_code")["amount_wan"].sum() if len(pairings) else pd.Series(dtype=float)
    sold = pairings.groupby("seller_code")["quota_mu"].sum() if len(pairings) else pd.Series(dtype=float)
    reloc = scn.relocation.copy()
    for col in ("persons", "households", "reclaimed_mu"):
        reloc[col] = reloc[col].fillna(0.0)
    # blank destination (also None/NaN, e.g. a row added in pandas) = the people stayed in their county
    reloc["destination_code"] = [c if is_blank(d) else str(d).strip()
                                 for c, d in zip(reloc["county_code"], reloc["destination_code"])]
    codes = list(dict.fromkeys(list(gross.index) + reloc["county_code"].tolist()))
    county_rows, group_frames = [], []
    for code in codes:
        G = float(gross.get(code, 0.0))
        sold_mu = float(sold.get(code, 0.0))
        R = min(G, p.reclamation_cost_per_mu * sold_mu)
        F = p.financing_repayment_share * (G - R)
        C = p.collective_share * (G - R - F)
        H = G - R - F - C
        g = reloc[reloc["county_code"] == code].copy()
        unallocated = 0.0
        coll = _split(C, g["reclaimed_mu"].to_numpy()) if len(g) else None
        if coll is None and len(g):
            coll = _split(C, g["persons"].to_numpy())
        if coll is None and len(g):
            coll = np.full(len(g), C / len(g))
        if coll is None:
            unallocated += C
            coll = np.zeros(len(g))
        house = _split(H, _household_weights(g, p)) if len(g) else None
        if house is None:
            unallocated += H
            house = np.zeros(len(g))
        g["collective_wan"] = coll
        g["household_wan"] = house
        group_frames.append(g)
        persons = float(g["persons"].sum())
        county_rows.append({"county_code": code, "county_name": names.get(code, code), "sold_mu": sold_mu,
                            "gross_wan": G, "reclamation_wan": R, "financing_wan": F,
                            "collective_wan": float(coll.sum()), "household_wan": float(house.sum()),
                            "unallocated_wan": unallocated, "groups": len(g), "persons": persons,
                            "per_person_wan": float(house.sum()) / persons if persons > 0 else np.nan})
    groups = pd.concat(group_frames, ignore_index=True) if group_frames else reloc.assign(
        collective_wan=pd.Series(dtype=float), household_wan=pd.Series(dtype=float))
    persons = groups["persons"].to_numpy(dtype=float)
    hh = groups["households"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        groups["per_person_wan"] = np.where(persons > 0, groups["household_wan"] / np.where(persons > 0, persons, 1),
                                            np.nan)
        groups["per_household_wan"] = np.where(hh > 0, groups["household_wan"] / np.where(hh > 0, hh, 1), np.nan)
    groups["total_wan"] = groups["household_wan"] + groups["collective_wan"]
    groups["county_name"] = groups["county_code"].map(names)
    groups["destination_name"] = groups["destination_code"].map(names)
    groups = groups[GROUP_COLUMNS].reset_index(drop=True)
    counties = pd.DataFrame(county_rows, columns=["county_code", "county_name", "sold_mu", "gross_wan",
                                                  "reclamation_wan", "financing_wan", "collective_wan",
                                                  "household_wan", "unallocated_wan", "groups", "persons",
                                                  "per_person_wan"])
    dest = groups.groupby("destination_code", as_index=False).agg(
        household_wan=("household_wan", "sum"), persons=("persons", "sum"), groups=("group_id", "count"))
    dest["destination_name"] = dest["destination_code"].map(names)
    moved = groups[groups["destination_code"] != groups["county_code"]]
    dest["from_elsewhere_wan"] = dest["destination_code"].map(
        moved.groupby("destination_code")["household_wan"].sum()).fillna(0.0)
    dest = dest[["destination_code", "destination_name", "household_wan", "from_elsewhere_wan", "persons", "groups"]]
    return Allocation(p, groups, counties, dest.sort_values("household_wan", ascending=False).reset_index(drop=True))


# --------------------------------------------------------------------------- comparison of rules

def gini(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted Gini coefficient (weights = persons); 0 = everyone gets the same."""
    v = np.asarray(values, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    keep = (w > 0) & np.isfinite(v)
    v, w = v[keep], w[keep]
    if len(v) == 0 or np.sum(v * w) <= 0:
        return 0.0
    order = np.argsort(v)
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    cvw = np.cumsum(v * w)
    # area under the Lorenz curve by trapezoids
    x = np.concatenate([[0], cw / cw[-1]])
    y = np.concatenate([[0], cvw / cvw[-1]])
    area = np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2)
    return float(max(0.0, 1 - 2 * area))


def lorenz(values: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = (w > 0) & np.isfinite(v)
    v, w = v[keep], w[keep]
    order = np.argsort(v)
    v, w = v[order], w[order]
    total_w, total_v = w.sum(), (v * w).sum()
    x = np.concatenate([[0], np.cumsum(w) / total_w]) if total_w > 0 else np.array([0.0, 1.0])
    y = np.concatenate([[0], np.cumsum(v * w) / total_v]) if total_v > 0 else x.copy()
    return pd.DataFrame({"population_share": x, "money_share": y})


def benefit_metrics(groups: pd.DataFrame) -> dict:
    """Inequality of per-person household benefit across relocated people."""
    g = groups[groups["persons"] > 0]
    v = g["per_person_wan"].to_numpy(dtype=float)
    w = g["persons"].to_numpy(dtype=float)
    if len(v) == 0 or w.sum() <= 0:
        return {"gini": 0.0, "cv": 0.0, "max_min_ratio": 1.0, "mean_per_person_wan": 0.0}
    mean = float(np.average(v, weights=w))
    sd = float(np.sqrt(np.average((v - mean) ** 2, weights=w)))
    vmin, vmax = float(v.min()), float(v.max())
    ratio = vmax / vmin if vmin > 0 else (1.0 if vmax == 0 else float("inf"))
    return {"gini": gini(v, w), "cv": sd / mean if mean > 0 else 0.0, "max_min_ratio": ratio,
            "mean_per_person_wan": mean}


def mode_benefit(groups: pd.DataFrame) -> pd.DataFrame:
    """Per-person benefit by resettlement mode (person-weighted)."""
    g = groups[groups["persons"] > 0]
    out = g.groupby("resettlement_mode", as_index=False).agg(household_wan=("household_wan", "sum"),
                                                             persons=("persons", "sum"))
    out["per_person_wan"] = out["household_wan"] / out["persons"]
    return out


def equal_benefit_gap(groups: pd.DataFrame, tol: float = 1e-9) -> float:
    """Largest relative gap in per-person benefit between resettlement modes within one county (0 = equal)."""
    worst = 0.0
    for _, g in groups[groups["persons"] > 0].groupby("county_code"):
        by_mode = g.groupby("resettlement_mode").apply(
            lambda d: d["household_wan"].sum() / d["persons"].sum(), include_groups=False)
        per_group = g["per_person_wan"].to_numpy(dtype=float)
        hi, lo = max(by_mode.max(), per_group.max()), min(by_mode.min(), per_group.min())
        if hi > tol:
            worst = max(worst, (hi - lo) / hi)
    return float(worst)


def compare_rules(scn: Scenario, pairings: pd.DataFrame, rules=RULES, county: str | None = None,
                  **overrides) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Allocation]]:
    """Allocate under each rule; returns (metrics per rule, per-mode benefit per rule, allocations)."""
    metric_rows, mode_frames, allocs = [], [], {}
    for rule in rules:
        alloc = allocate(scn, pairings, rule=rule, **overrides)
        allocs[rule] = alloc
        groups = alloc.groups if county is None else alloc.groups[alloc.groups["county_code"] == county]
        m = benefit_metrics(groups)
        gap = equal_benefit_gap(groups)
        m.update({"rule": rule, "mode_gap": gap, "equal_benefit": gap <= 1e-6})
        metric_rows.append(m)
        modes = mode_benefit(groups)
        modes.insert(0, "rule", rule)
        mode_frames.append(modes)
    metrics = pd.DataFrame(metric_rows, columns=["rule", "mean_per_person_wan", "gini", "cv", "max_min_ratio",
                                                 "mode_gap", "equal_benefit"])
    modes = pd.concat(mode_frames, ignore_index=True) if mode_frames else pd.DataFrame()
    return metrics, modes, allocs


def verdict(row: dict, lang: str = "zh") -> str:
    """One line on whether people resettled in different ways benefit equally under a rule (article 18)."""
    if row["rule"] not in RULES:
        raise KeyError(row["rule"])
    rule = i18n.choice_label("rule", row["rule"], lang)
    if row["equal_benefit"]:
        return i18n.t("verdict.equal_benefit", lang, rule=rule)
    return i18n.t("verdict.unequal_benefit", lang, rule=rule, gap=row["mode_gap"] * 100)
