"""Why each county sold or bought less than it could, and what relaxing a limit is worth — in a policy officer's words.

Reasons come from the candidate-pair table (which pairs were admissible and why not) and from which model rows
bind at the optimum. Shadow prices are the solver's duals turned into "one more 亩 / 万元 here adds X".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planner import schema
from planner.model import SolveResult
from planner.scenario import Scenario

TOL = 1e-6

# reason code -> (zh, en); {placeholders} filled per county
REASONS = {
    "fully_sold": ("节余指标已全部流转。", "All surplus quota is transferred."),
    "fully_met": ("指标需求已全部满足。", "All demand is met."),
    "not_eligible": ("不是国家扶贫开发重点县或省定片区县，节余指标不能在省域内流转（第二条）。",
                     "Not a listed poverty county: its surplus cannot be sold province-wide (article 2)."),
    "no_surplus": ("没有可流转的节余指标。", "Has no surplus quota to sell."),
    "no_partner_seller": ("没有可配对的使用县：{detail}。", "No admissible buyer: {detail}."),
    "no_partner_buyer": ("没有可配对的产生县：{detail}。", "No admissible seller: {detail}."),
    "buyers_full": ("还有 {left} 亩未流转：可配对的使用县已无法再接收指标（{detail}）。",
                    "{left} 亩 unsold: the buyers it may pair with can take no more ({detail})."),
    "partner_limit": ("还有 {left} 亩未流转：已达到每县最多配对数。", "{left} 亩 unsold: the partner limit is reached."),
    "budget": ("还有 {left} 亩需求未满足：预算已用完（{budget} 万元）。",
               "{left} 亩 of demand unmet: the budget ({budget} 万元) is used up."),
    "construction": ("还有 {left} 亩需求未满足：建设用地总规模余量已用完（第六条）。",
                     "{left} 亩 of demand unmet: the construction-land cap is reached (article 6)."),
    "cultivated": ("还有 {left} 亩需求未满足：再用将使耕地保有量低于规划目标（第六条）。",
                   "{left} 亩 of demand unmet: more would take cultivated land below the retention target "
                   "(article 6)."),
    "quality": ("还有 {left} 亩需求未满足：可配对指标的复垦耕地质量不足以补充占用耕地（第四条、第十二条）。",
                "{left} 亩 of demand unmet: the reclaimed farmland on offer is not good enough to replace "
                "the farmland taken (articles 4, 12)."),
    "outbid": ("还有 {left} 亩需求未满足：可配对的产生县指标已流转给出价更高或更优先的使用县。",
               "{left} 亩 of demand unmet: the sellers it may pair with sold to better-paying or "
               "higher-priority buyers."),
    "supply_short": ("还有 {left} 亩需求未满足：可配对的产生县没有更多节余指标可流转给它。",
                     "{left} 亩 of demand unmet: the sellers it may pair with have no more quota for it."),
    "not_chosen": ("还有 {left} 亩未流转：在当前目标下不流转更优。", "{left} 亩 left: the objective prefers not to."),
    "not_solved": ("求解未成功，无法说明。", "The solve did not succeed; no explanation."),
    "none": ("既不出让也不使用节余指标。", "Neither sells nor buys quota."),
}

BLOCK_WORDS = {
    "band": ("价格区间不重叠（最低价高于对方最高价或超出指导价）", "price bands do not overlap"),
    "quality": ("耕地质量等别不满足（第四条）", "farmland quality grade (article 4)"),
    "excluded": ("已被排除", "excluded"),
}
LIMIT_WORDS = {
    "demand": ("需求已满", "demand filled"),
    "budget": ("预算用完", "budget used up"),
    "construction": ("建设用地规模已满", "construction cap reached"),
    "cultivated": ("耕地保有量约束", "cultivated-land retention"),
    "quality": ("质量平衡约束", "quality balance"),
    "partners_buyer": ("配对数上限", "partner limit"),
}


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")


def _reason(code: str, **kw) -> tuple[str, str, str]:
    zh, en = REASONS[code]
    return code, zh.format(**{k: v[0] if isinstance(v, tuple) else v for k, v in kw.items()}), \
        en.format(**{k: v[1] if isinstance(v, tuple) else v for k, v in kw.items()})


def _join(words: list[tuple[str, str]]) -> tuple[str, str]:
    return "、".join(w[0] for w in words), ", ".join(w[1] for w in words)


def explain_counties(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """One row per county: reason code and text in Chinese and English."""
    cand = result.candidates
    cons = result.constraints
    binding = cons[cons["binding"]]
    bind_by_county: dict[str, set[str]] = {}
    moved = cand[cand["quota_mu"] > TOL] if "quota_mu" in cand.columns else cand.iloc[0:0]
    sold_to = moved.groupby("seller_code")["buyer_code"].agg(set).to_dict()  # seller -> buyers it sold to
    for kind, code in zip(binding["kind"], binding["county_code"]):
        bind_by_county.setdefault(code, set()).add(kind)
    # Row positions of each county's candidate pairs, found once (a filter per county is quadratic at scale).
    seller_rows = cand.groupby("seller_code", sort=False).indices if len(cand) else {}
    buyer_rows = cand.groupby("buyer_code", sort=False).indices if len(cand) else {}
    no_rows = np.zeros(0, dtype=np.int64)
    rows = []
    for rec in result.counties.to_dict("records"):
        code = rec["code"]
        role = rec["role"]
        parts = []
        if not result.has_solution:
            parts.append(_reason("not_solved"))
        else:
            if rec["surplus_mu"] > TOL and not rec["eligible_seller"]:
                parts.append(_reason("not_eligible"))
            if role in ("seller", "both"):
                parts.append(_seller_reason(rec, cand.iloc[seller_rows.get(code, no_rows)], bind_by_county))
            if role in ("buyer", "both"):
                parts.append(_buyer_reason(rec, cand.iloc[buyer_rows.get(code, no_rows)], bind_by_county, sold_to))
            if not parts:
                parts.append(_reason("none"))
        rows.append({"code": code, "name": rec["name"], "role": role,
                     "reason_code": ";".join(p[0] for p in parts),
                     "reason_zh": " ".join(p[1] for p in parts), "reason_en": " ".join(p[2] for p in parts)})
    return pd.DataFrame(rows, columns=["code", "name", "role", "reason_code", "reason_zh", "reason_en"])


def _blocked_detail(pairs: pd.DataFrame) -> tuple[str, str]:
    counts = pairs["reason"].value_counts()
    words = [(f"{BLOCK_WORDS[r][0]} {n} 个", f"{BLOCK_WORDS[r][1]}: {n}") for r, n in counts.items() if r in BLOCK_WORDS]
    return _join(words) if words else ("没有对方县", "no counterpart")


def _seller_reason(rec, pairs: pd.DataFrame, bind: dict) -> tuple[str, str, str]:
    left = rec["unsold_mu"]
    if left <= TOL:
        return _reason("fully_sold")
    ok = pairs[pairs["admissible"]]
    if ok.empty:
        return _reason("no_partner_seller", detail=_blocked_detail(pairs))
    if "partners_seller" in bind.get(rec["code"], set()):
        return _reason("partner_limit", left=_fmt(left))
    limits: dict[str, int] = {}
    for b in ok["buyer_code"]:
        for kind in bind.get(b, set()):
            if kind in LIMIT_WORDS:
                limits[kind] = limits.get(kind, 0) + 1
    if limits:
        words = [(f"{LIMIT_WORDS[k][0]} {n} 个", f"{LIMIT_WORDS[k][1]}: {n}") for k, n in limits.items()]
        return _reason("buyers_full", left=_fmt(left), detail=_join(words))
    return _reason("not_chosen", left=_fmt(left))


def _buyer_reason(rec, pairs: pd.DataFrame, bind: dict, sold_to: dict | None = None) -> tuple[str, str, str]:
    left = rec["unmet_mu"]
    if left <= TOL:
        return _reason("fully_met")
    ok = pairs[pairs["admissible"]]
    if ok.empty:
        return _reason("no_partner_buyer", detail=_blocked_detail(pairs))
    own = bind.get(rec["code"], set())
    for kind in ("budget", "construction", "cultivated", "quality"):
        if kind in own:
            if kind == "budget":
                return _reason("budget", left=_fmt(left), budget=_fmt(rec["paid_wan"]))
            return _reason(kind, left=_fmt(left))
    if "partners_buyer" in own:
        return _reason("partner_limit", left=_fmt(left))
    # Outbid only when a seller it may pair with sold to some other buyer; otherwise the quota simply ran out.
    if sold_to is not None:
        others = set().union(*(sold_to.get(s, set()) for s in ok["seller_code"])) - {rec["code"]}
        if not others:
            return _reason("supply_short", left=_fmt(left))
    return _reason("outbid", left=_fmt(left))


# --------------------------------------------------------------------------- shadow prices

OBJECTIVE_UNITS = {"proceeds": ("万元流转收益", "万元 of proceeds"), "volume": ("亩流转量", "亩 transferred"),
                   "surplus": ("万元议价空间", "万元 of bargaining room")}
SHADOW_TEXT = {
    "supply": ("{name}每多 1 亩节余指标，{unit}增加 {v}。", "One more 亩 of surplus in {name} would add {v} {unit}."),
    "demand": ("{name}每多 1 亩指标需求，{unit}增加 {v}。", "One more 亩 of demand in {name} would add {v} {unit}."),
    "budget": ("{name}预算每增加 1 万元，{unit}增加 {v}。", "Relaxing {name}'s budget by 1 万元 would add {v} {unit}."),
    "construction": ("{name}建设用地规划余量每增加 1 亩，{unit}增加 {v}（第六条）。",
                     "One more 亩 of construction headroom in {name} would add {v} {unit} (article 6)."),
    "cultivated": ("{name}耕地保有量余量每增加 1 亩，{unit}增加 {v}（第六条）。",
                   "One more 亩 of cultivated-land headroom in {name} would add {v} {unit} (article 6)."),
    "adjust_cap": ("{name}可调整规划空间每增加 1 亩，{unit}增加 {v}（第六条第二款）。",
                   "One more 亩 of plan-adjustable space in {name} would add {v} {unit} (article 6 ¶2)."),
    "quality": ("{name}质量平衡约束放宽 1 个等别·亩，{unit}增加 {v}（第四条）。",
                "Relaxing {name}'s quality balance by 1 grade·亩 would add {v} {unit} (article 4)."),
    "min_sale": ("{name}最低出让比例每降低 1 亩，{unit}增加 {v}。",
                 "Lowering {name}'s minimum sale by 1 亩 would add {v} {unit}."),
}


def shadow_prices(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """County-level limits with a non-zero shadow price, largest first; empty for integer models."""
    cols = ["kind", "code", "name", "shadow_price", "text_zh", "text_en"]
    cons = result.constraints
    if cons.empty or cons["shadow_price"].isna().all():
        return pd.DataFrame(columns=cols)
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    unit = OBJECTIVE_UNITS[scn.param("rules", "objective")]
    weighted = (float(scn.param("rules", "priority_weight_national_key")) != 1.0
                or float(scn.param("rules", "priority_weight_provincial")) != 1.0)
    if weighted:
        unit = ("加权" + unit[0], "weighted " + unit[1])
    sel = cons[(cons["county_code"] != "") & (cons["shadow_price"].abs() > 1e-7) & cons["kind"].isin(SHADOW_TEXT)]
    if sel.empty:  # nothing binds with a price (e.g. every price 0): mapping an empty str column below stays str
        return pd.DataFrame(columns=cols)
    # When a seller misses its minimum sale, the dual of its min_sale row is the shortfall penalty M itself, and any
    # other row that would let it sell more carries M too (k·M for k 亩 of shortfall avoided). Those values count
    # 亩 of shortfall, not 万元, so they are not shown; M is read off the missed rows (|values| >= M/1000 dropped).
    sold = sel["county_code"].map(dict(zip(result.counties["code"], result.counties["sold_mu"]))).fillna(0.0)
    missed = (sel["kind"] == "min_sale") & (sold < sel["bound"] - TOL)
    if missed.any():
        penalty = float(sel.loc[missed, "shadow_price"].abs().min())
        sel = sel[~missed & (sel["shadow_price"].abs() < 1e-3 * penalty)]
    rows = []
    for kind, code, value in zip(sel["kind"], sel["county_code"], sel["shadow_price"]):
        name = names.get(code, code)
        zh, en = SHADOW_TEXT[kind]
        v = _fmt(float(value))
        rows.append({"kind": kind, "code": code, "name": name, "shadow_price": float(value),
                     "text_zh": zh.format(name=name, unit=unit[0], v=v),
                     "text_en": en.format(name=name, unit=unit[1], v=v)})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("shadow_price", ascending=False, key=np.abs).reset_index(drop=True)


def county_report(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """The per-county table with its reason, as written to counties.csv."""
    reasons = explain_counties(scn, result)[["code", "reason_code", "reason_zh", "reason_en"]]
    return result.counties.merge(reasons, on="code", how="left")


__all__ = ["explain_counties", "shadow_prices", "county_report", "REASONS", "schema"]
