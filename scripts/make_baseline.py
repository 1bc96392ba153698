"""Generate the default scenario folder ``scenarios/jilin-baseline/``.

Deterministic: quantities are hand-set below, and the relocation groups are drawn
from a seeded numpy RNG, so every run writes byte-identical files.

Real data (from /work/shared/data/jilin_counties.csv): county codes, Chinese names,
prefectures, poverty classes, county-seat coordinates.
Illustrative (made up, plausible orders of magnitude only): surplus quota, demand,
prices, budgets, plan headroom, quality grades, relocation groups, quota lots and their
statuses, the signed agreements and their payment schedule.

Usage:
    python scripts/make_baseline.py [--source PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/work/shared/data/jilin_counties.csv")
DEFAULT_OUT = REPO / "scenarios" / "jilin-baseline"
SEED = 20180423

GUIDE_FLOOR = 10.0
GUIDE_CEILING = 60.0

# --------------------------------------------------------------------------------------
# Sellers: the 15 poverty counties.
# code: (surplus_mu, reclaimed_quality_grade, floor_price 万元/亩, plan_adjustable_mu or None)
# Western plain counties (Baicheng, Songyuan, Siping) have more old homestead land and
# poorer (saline-alkali) reclaimed farmland; mountain counties in the east have less.
# --------------------------------------------------------------------------------------
SELLERS: dict[str, tuple[int, int, float, int | None]] = {
    # national key (国家扶贫开发工作重点县)
    "220622": (1200, 8, 12.5, None),   # 靖宇县
    "220821": (2100, 10, 9.5, 200),    # 镇赉县
    "220822": (2450, 12, 9.0, 300),    # 通榆县
    "220882": (1950, 11, 10.0, None),  # 大安市
    "222405": (1150, 7, 11.5, None),   # 龙井市
    "222406": (1300, 9, 10.5, None),   # 和龙市
    "222424": (1650, 10, 11.0, 100),   # 汪清县
    "222426": (1400, 9, 12.0, None),   # 安图县
    # provincial (省定贫困县)
    "220382": (1100, 6, 12.0, None),   # 双辽市
    "220524": (650, 5, 13.0, None),    # 柳河县
    "220623": (380, 11, 14.0, None),   # 长白朝鲜族自治县
    "220722": (1250, 8, 10.5, 150),    # 长岭县
    "220802": (820, 9, 11.0, None),    # 洮北区
    "220881": (1050, 10, 9.5, None),   # 洮南市
    "222402": (420, 9, 15.0, None),    # 图们市
}

# --------------------------------------------------------------------------------------
# Buyers: growing districts and cities.
# code: (demand_mu, ceiling_price, budget share of demand*ceiling or None = unlimited,
#        construction_headroom_mu, cultivated_headroom_mu, cultivated_share, occupied_quality_grade)
# Article-6 construction cap binds for 南关区, 龙潭区, 延吉市 (headroom < demand);
# cultivated retention binds for 公主岭市, 梅河口市, 宁江区 (share*demand > headroom).
# Budgets are 55-90 % of demand*ceiling; since the default price is the band midpoint, shares of
# 55-60 % bind for the big Changchun/Jilin buyers (宽城, 二道, 绿园, 昌邑) under the default rules.
# Low ceilings (12-18) echo the ~12 万元/亩 implied by a 2019 intra-province deal.
# 洮北区 (Baicheng's main district) is itself a poverty county, so it is a seller only.
# --------------------------------------------------------------------------------------
N = None
BUYERS: dict[str, tuple] = {
    "220102": (2600, 42.0, 0.70, 1800, N, N, 7),      # 南关区
    "220103": (2200, 38.0, 0.55, 3500, N, N, 7),      # 宽城区
    "220104": (2800, 45.0, N, 4500, N, N, 6),         # 朝阳区
    "220105": (2400, 40.0, 0.55, N, N, N, 7),         # 二道区
    "220106": (2000, 36.0, 0.60, 3000, N, N, 6),      # 绿园区
    "220112": (1100, 24.0, 0.85, N, 800, 0.6, 8),     # 双阳区
    "220113": (1300, 22.0, 0.80, 2000, 1500, 0.9, 7), # 九台区
    "220184": (1500, 20.0, 0.75, N, 900, 0.8, 6),     # 公主岭市
    "220202": (1400, 30.0, 0.60, N, N, N, 8),         # 昌邑区
    "220203": (900, 26.0, 0.80, 600, N, N, 9),        # 龙潭区
    "220204": (1200, 32.0, N, N, N, N, 8),            # 船营区
    "220211": (800, 25.0, 0.85, N, N, N, 9),          # 丰满区
    "220302": (700, 18.0, 0.75, N, N, N, 7),          # 四平 铁西区
    "220303": (600, 16.0, 0.80, N, N, N, 7),          # 四平 铁东区
    "220402": (500, 14.0, N, N, N, N, 9),             # 辽源 龙山区
    "220403": (300, 12.0, 0.90, N, N, N, 10),          # 辽源 西安区
    "220502": (700, 17.0, 0.70, N, N, N, 11),          # 通化 东昌区
    "220581": (1200, 22.0, 0.80, 2500, 700, 0.7, 9),  # 梅河口市
    "220602": (400, 15.0, 0.85, N, N, N, 13),         # 白山 浑江区
    "220702": (1000, 19.0, 0.75, N, 400, 0.5, 9),     # 松原 宁江区
    "222401": (1500, 28.0, N, 1100, N, N, 11),         # 延吉市
    "222403": (500, 13.0, 0.90, N, N, N, 12),          # 敦化市
    "222404": (900, 21.0, 0.80, N, N, N, 12),          # 珲春市
}

# pairs.csv: (seller, buyer, pair floor, pair ceiling, agreed price, excluded,
#             agreed_mu, status, year, filed_date)
PAIRS = [
    ("220822", "220102", N, N, 12.0, False, N, "negotiating", N, ""),  # 通榆 -> 南关: price agreed (cf. ~12 万元/亩 in 2019)
    ("220882", "220202", N, N, 18.0, False, N, "negotiating", N, ""),  # 大安 -> 昌邑: price agreed, quantity open
    ("222424", "222401", 14.0, N, N, False, N, "negotiating", N, ""),  # 汪清 -> 延吉: pair's own floor
    ("220821", "220702", N, 16.0, N, False, N, "negotiating", N, ""),  # 镇赉 -> 宁江: pair's own ceiling
    ("222402", "220104", N, N, N, True, N, "negotiating", N, ""),      # 图们 -> 朝阳: excluded
    # signed and filed agreements (article 16): fixed in the plan at their quantity and price
    ("222405", "222401", N, N, 20.0, False, 300, "filed", 2019, "2019-06-20"),  # 龙井 -> 延吉
    ("220524", "220581", N, N, 17.0, False, 150, "signed", 2020, ""),           # 柳河 -> 梅河口
    ("220622", "220602", N, N, 14.0, False, 100, "signed", 2020, ""),           # 靖宇 -> 浑江
]

# payments.csv: the schedule of each deal (signing / approval / acceptance shares) and what has been paid.
PAYMENTS = [
    # seller, buyer, milestone, share, due_year, paid share of the milestone, paid_date
    ("222405", "222401", "signing", 0.3, 2019, 1.0, "2019-07-15"),
    ("222405", "222401", "approval", 0.4, 2020, 1.0, "2020-09-30"),
    ("222405", "222401", "acceptance", 0.3, 2021, 0.0, ""),
    ("220524", "220581", "signing", 0.3, 2020, 1.0, "2020-05-10"),
    ("220524", "220581", "approval", 0.4, 2020, 0.5, "2020-12-01"),
    ("220524", "220581", "acceptance", 0.3, 2021, 0.0, ""),
    ("220622", "220602", "signing", 0.3, 2020, 0.0, ""),
    ("220622", "220602", "approval", 0.4, 2021, 0.0, ""),
    ("220622", "220602", "acceptance", 0.3, 2021, 0.0, ""),
]
DEAL_SELLERS = {p[0] for p in PAIRS if p[7] in ("signed", "filed")}
START_YEAR, END_YEAR = 2018, 2021  # article 27: valid four years from issue

# Lots: each seller's surplus comes from 2-4 approved project areas (articles 8, 14). The confirmed (已确认备案)
# lots add up to the county's surplus_mu; further lots are still being reclaimed, accepted or only planned.
LOT_STATUS_MIX = ["accepted", "reclaiming", "planned"]

# Nearby city district in the same prefecture, for "urban" (进城安置) groups whose people
# now live in another county (money follows people). None: urban groups stay in county.
URBAN_DESTINATION = {
    "220382": "220302",  # 双辽 -> 四平 铁西区
    "220524": "220502",  # 柳河 -> 通化 东昌区
    "220622": "220602",  # 靖宇 -> 白山 浑江区
    "220623": "220602",  # 长白 -> 白山 浑江区
    "220722": "220702",  # 长岭 -> 松原 宁江区
    "220802": None,      # 洮北区 is Baicheng's urban district itself
    "220821": "220802",  # 镇赉 -> 白城 洮北区
    "220822": "220802",  # 通榆 -> 白城 洮北区
    "220881": "220802",  # 洮南 -> 白城 洮北区
    "220882": "220802",  # 大安 -> 白城 洮北区
    "222402": "222401",  # 图们 -> 延吉市
    "222405": "222401",  # 龙井 -> 延吉市
    "222406": "222401",  # 和龙 -> 延吉市
    "222424": "222401",  # 汪清 -> 延吉市
    "222426": "222401",  # 安图 -> 延吉市
}

# Generic, common village names (illustrative; not claimed to be the real relocated villages).
VILLAGE_POOL = [
    "新兴村", "胜利村", "永丰村", "红旗村", "向阳村", "团结村", "长兴村", "太平村",
    "东升村", "前进村", "和平村", "富民村", "民主村", "兴隆村", "双合村", "三合村",
    "五星村", "光明村", "德胜村", "平安村", "新立村", "庆丰村", "保安村", "二龙村",
    "明月村", "福安村", "长青村", "双山村", "红星村", "靠山村", "新合村", "复兴村",
    "永安村", "丰收村", "西山村", "东岗村", "北沟村", "南岔村", "柳树村", "榆林村",
]

MODES = ["centralized", "dispersed", "urban", "other"]
MODE_P = [0.35, 0.20, 0.20, 0.25]

DESCRIPTION_ZH = (
    "吉林省运用城乡建设用地增减挂钩节余指标支持脱贫攻坚的默认示例情景。"
    "县级行政区代码、名称、所属市（州）、贫困县类别（8个国家扶贫开发工作重点县、7个省定贫困县）"
    "及县城驻地坐标为真实数据；节余指标、需求面积、价格、预算、规划空间、耕地质量等别、项目区指标批次及其状态、"
    "已签订协议、付款计划及易地扶贫搬迁分组等数量均为示意性假设数据，并非官方统计，仅供演示和测试使用。"
)
DESCRIPTION_EN = (
    "Default example scenario. County codes, names, prefectures, poverty classes and seat coordinates "
    "are real; surplus, demand, prices, budgets, plan headroom, quality grades, quota lots and their statuses, "
    "signed agreements, the payment schedule and relocation groups are illustrative, not official data."
)

SCENARIO_TOML = """\
[scenario]
name = "吉林省基准情景"
description = "{description}"

[pricing]                          # 万元/亩
guide_floor = {guide_floor:.1f}
guide_ceiling = {guide_ceiling:.1f}
bargaining_weight = 0.5

[rules]
objective = "proceeds"             # proceeds | volume | surplus
priority_weight_national_key = 1.0
priority_weight_provincial = 1.0
quality_rule = "aggregate"         # aggregate | pair | off: article 4(二) quantity and quality balance
allow_plan_adjustment = false      # article 6 ¶2: only where planning space is truly short
plan_adjustment_penalty = 1.0
min_lot_mu = 50                    # planning choice: no agreement for less than 50 亩
max_partners_per_seller = 0
max_partners_per_buyer = 0
min_sale_share = 0.0
saleable_status = ["confirmed"]    # lots confirmed and filed with the province (articles 8, 14)

[proceeds]
reclamation_cost_per_mu = 3.0      # 万元/亩 sold, repaid first
financing_repayment_share = 0.9    # most proceeds repay the relocation financing first, as in practice
collective_share = 0.15            # planning choice
rule = "per_capita"                # per_capita | per_household | by_area | hybrid
hybrid_alpha = 0.5

[horizon]                          # article 27: the measures are valid four years from issue
start_year = {start_year}
end_year = {end_year}
"""

COUNTY_COLUMNS = [
    "code", "name", "prefecture", "poverty_class", "surplus_mu", "reclaimed_quality_grade",
    "floor_price", "demand_mu", "ceiling_price", "budget_wan", "construction_headroom_mu",
    "cultivated_headroom_mu", "cultivated_share", "occupied_quality_grade", "plan_adjustable_mu",
    "lat", "lon",
]
PAIR_COLUMNS = ["seller_code", "buyer_code", "floor_price", "ceiling_price", "agreed_price", "excluded", "agreed_mu",
                "status", "year", "filed_date"]
LOT_COLUMNS = ["lot_id", "county_code", "project_area", "approval_no", "status", "ready_year", "area_mu",
               "used_locally_mu", "reserved_rural_mu", "turnover_owed_mu", "reclaimed_quality_grade"]
PAYMENT_COLUMNS = ["seller_code", "buyer_code", "milestone", "share", "due_year", "paid_wan", "paid_date"]
RELOCATION_COLUMNS = [
    "county_code", "group_id", "village", "resettlement_mode", "destination_code",
    "households", "persons", "reclaimed_mu",
]


# --------------------------------------------------------------------------------------
# cell formatting: everything is written as text, blank for "not given"
# --------------------------------------------------------------------------------------
def fmt_int(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if float(v) != int(v):
        raise ValueError(f"not an integer: {v!r}")
    return str(int(v))


def fmt_num(v, ndigits: int = 2) -> str:
    """Short decimal text: 12.0 -> '12.0', 0.8 -> '0.8', 1234.5 -> '1234.5'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(round(float(v), ndigits))


def toml_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


# --------------------------------------------------------------------------------------
def build_counties(src: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for rec in src.itertuples(index=False):
        row = {c: "" for c in COUNTY_COLUMNS}
        row.update(code=rec.code, name=rec.name_zh, prefecture=rec.prefecture_zh,
                   poverty_class=rec.poverty_class, lat=rec.seat_lat, lon=rec.seat_lon)
        if rec.code in SELLERS:
            surplus, grade, floor, adjustable = SELLERS[rec.code]
            row.update(surplus_mu=fmt_int(surplus), reclaimed_quality_grade=fmt_int(grade),
                       floor_price=fmt_num(floor), plan_adjustable_mu=fmt_int(adjustable))
        if rec.code in BUYERS:
            demand, ceiling, bshare, chead, culthead, cshare, ograde = BUYERS[rec.code]
            budget = None if bshare is None else round(demand * ceiling * bshare, -2)
            row.update(demand_mu=fmt_int(demand), ceiling_price=fmt_num(ceiling),
                       budget_wan=fmt_int(budget), construction_headroom_mu=fmt_int(chead),
                       cultivated_headroom_mu=fmt_int(culthead), cultivated_share=fmt_num(cshare),
                       occupied_quality_grade=fmt_int(ograde))
        rows.append(row)
    return pd.DataFrame(rows, columns=COUNTY_COLUMNS)


def build_pairs() -> pd.DataFrame:
    rows = []
    for s, b, pf, pc, agreed, excluded, mu, status, year, filed in PAIRS:
        rows.append({
            "seller_code": s, "buyer_code": b, "floor_price": fmt_num(pf),
            "ceiling_price": fmt_num(pc), "agreed_price": fmt_num(agreed),
            "excluded": "true" if excluded else "false", "agreed_mu": fmt_int(mu), "status": status,
            "year": fmt_int(year), "filed_date": filed,
        })
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def build_lots(rng: np.random.Generator, src: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """2-4 lots per seller: the confirmed ones split surplus_mu; the others are further, not yet saleable quota.
    Gross area = net + land used locally + kept for rural use (article 20) + turnover quota owed (article 14)."""
    rows = []
    for code in src["code"]:
        if code not in SELLERS:
            continue
        surplus, grade = SELLERS[code][0], SELLERS[code][1]
        n_conf = int(rng.integers(1, 3))
        nets = split_integer(surplus, rng.dirichlet(np.full(n_conf, 3.0)))
        statuses = ["confirmed"] * n_conf + [str(rng.choice(LOT_STATUS_MIX)) for _ in range(int(rng.integers(1, 3)))]
        for k, status in enumerate(statuses):
            net = int(nets[k]) if k < n_conf else int(rng.integers(2, 8)) * 50
            used = int(rng.integers(0, 4)) * 10
            reserved = int(round(net * float(rng.uniform(0.03, 0.08)) / 5)) * 5
            turnover = int(rng.choice([0, 0, 20, 50]))
            ready = {"confirmed": int(rng.integers(START_YEAR - 1, START_YEAR + 2)),
                     "accepted": START_YEAR + 1, "reclaiming": START_YEAR + 2,
                     "planned": START_YEAR + 3}[status]
            offset = int(rng.integers(-1, 2))
            if code in DEAL_SELLERS:  # keep the signed deals within article 4(二)'s quality balance
                offset = min(offset, 0)
            lot_grade = int(min(15, max(1, grade + offset)))
            rows.append({
                "lot_id": f"{code}-{k + 1:02d}", "county_code": code,
                "project_area": f"{names[code]}{['东', '西', '南', '北'][k % 4]}部拆旧项目区",
                # the provincial department was 国土资源厅 until the 2018 reform, 自然资源厅 after
                "approval_no": f"{'吉自然资' if ready - 1 >= 2018 else '吉国土资'}发〔{ready - 1}〕"
                               f"{int(rng.integers(10, 99))}号",
                "status": status, "ready_year": fmt_int(ready),
                "area_mu": fmt_int(net + used + reserved + turnover), "used_locally_mu": fmt_int(used),
                "reserved_rural_mu": fmt_int(reserved), "turnover_owed_mu": fmt_int(turnover),
                "reclaimed_quality_grade": fmt_int(lot_grade),
            })
    return pd.DataFrame(rows, columns=LOT_COLUMNS)


def build_payments() -> pd.DataFrame:
    deals = {(p[0], p[1]): (p[4], p[6]) for p in PAIRS if p[7] in ("signed", "filed")}
    rows = []
    for s, b, milestone, share, due, paid_share, paid_date in PAYMENTS:
        price, mu = deals[(s, b)]
        rows.append({"seller_code": s, "buyer_code": b, "milestone": milestone, "share": fmt_num(share),
                     "due_year": fmt_int(due), "paid_wan": fmt_num(price * mu * share * paid_share, 2),
                     "paid_date": paid_date})
    return pd.DataFrame(rows, columns=PAYMENT_COLUMNS)


def split_integer(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of an integer total proportional to weights."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    rest = total - out.sum()
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    return out


def build_relocation(rng: np.random.Generator, src: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for code in src["code"]:  # source order
        if code not in SELLERS:
            continue
        surplus = SELLERS[code][0]
        n = int(rng.integers(3, 7))                       # 3..6 groups
        total_persons = int(rng.integers(1000, 1201))     # about 1,100 persons per county
        persons = split_integer(total_persons, rng.dirichlet(np.full(n, 4.0)))
        ratio = rng.uniform(2.3, 2.8, size=n)             # persons per household
        households = np.maximum(1, np.rint(persons / ratio)).astype(int)
        # every county has centralized, dispersed and urban groups (so "equal benefit" across
        # modes can be compared everywhere); extra groups drawn at random, order shuffled
        modes = ["centralized", "dispersed", "urban"] + list(rng.choice(MODES, size=n - 3, p=MODE_P))
        modes = [str(m) for m in rng.permutation(modes)]
        area_w = households * rng.uniform(0.8, 1.2, size=n)
        tenths = split_integer(surplus * 10, area_w)      # reclaimed_mu sums exactly to surplus
        villages = rng.choice(VILLAGE_POOL, size=n, replace=False)
        for i in range(n):
            dest = ""
            if modes[i] == "urban" and URBAN_DESTINATION[code] and rng.random() < 0.6:
                dest = URBAN_DESTINATION[code]
            rows.append({
                "county_code": code,
                "group_id": f"{code}-{i + 1:02d}",
                "village": str(villages[i]),
                "resettlement_mode": str(modes[i]),
                "destination_code": dest,
                "households": fmt_int(households[i]),
                "persons": fmt_int(persons[i]),
                "reclaimed_mu": fmt_num(tenths[i] / 10, 1),
            })
    return pd.DataFrame(rows, columns=RELOCATION_COLUMNS)


# --------------------------------------------------------------------------------------
def check(counties: pd.DataFrame, pairs: pd.DataFrame, reloc: pd.DataFrame, src: pd.DataFrame) -> None:
    assert len(counties) == 60 and list(counties["code"]) == list(src["code"])
    assert counties["code"].is_unique
    codes = set(counties["code"])
    for df in (counties, pairs, reloc):
        for col in df.columns:
            vals = df[col].astype(str)
            bad = ["nan", "<na>", "null"] + ([] if col == "poverty_class" else ["none"])
            assert not vals.str.lower().isin(bad).any(), col
            if col.endswith("code"):
                filled = vals[vals != ""]
                assert filled.str.fullmatch(r"\d{6}").all(), col
                assert set(filled) <= codes, (col, set(filled) - codes)
    assert set(SELLERS) == set(counties.loc[counties.poverty_class != "none", "code"])
    assert not (set(SELLERS) & set(BUYERS))

    # pair bands
    for s, b, pf, pc, agreed, excluded, *_ in PAIRS:
        assert s in SELLERS and b in BUYERS
        lo = max(SELLERS[s][2], GUIDE_FLOOR, pf if pf is not None else -math.inf)
        hi = min(BUYERS[b][1], GUIDE_CEILING, pc if pc is not None else math.inf)
        assert lo <= hi, (s, b, lo, hi)
        if agreed is not None:
            assert lo <= agreed <= hi, (s, b, lo, agreed, hi)

    # relocation
    assert set(reloc["county_code"]) == set(SELLERS)
    assert reloc["group_id"].is_unique
    assert set(reloc["resettlement_mode"]) <= set(MODES)
    r = reloc.assign(households=reloc.households.astype(int), persons=reloc.persons.astype(int),
                     reclaimed_mu=reloc.reclaimed_mu.astype(float))
    assert (r.persons >= r.households).all()
    for code, g in r.groupby("county_code"):
        assert 3 <= len(g) <= 6
        assert abs(g.reclaimed_mu.sum() - SELLERS[code][0]) < 1e-6
        assert 2.2 <= g.persons.sum() / g.households.sum() <= 2.9
    for dest, mode in zip(reloc.destination_code, reloc.resettlement_mode):
        if dest:
            assert mode == "urban"

    total_surplus = sum(v[0] for v in SELLERS.values())
    total_demand = sum(v[0] for v in BUYERS.values())
    assert 1.3 <= total_demand / total_surplus <= 2.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    src = pd.read_csv(args.source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rng = np.random.default_rng(SEED)

    counties = build_counties(src)
    pairs = build_pairs()
    reloc = build_relocation(rng, src)
    check(counties, pairs, reloc, src)
    lots = build_lots(np.random.default_rng(SEED + 1), src, dict(zip(counties.code, counties.name)))
    payments = build_payments()

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    toml = SCENARIO_TOML.format(
        description=toml_escape(DESCRIPTION_ZH + " " + DESCRIPTION_EN),
        guide_floor=GUIDE_FLOOR, guide_ceiling=GUIDE_CEILING, start_year=START_YEAR, end_year=END_YEAR,
    )
    (out / "scenario.toml").write_bytes(toml.encode("utf-8"))  # UTF-8, no BOM, LF
    for name, df in (("counties.csv", counties), ("pairs.csv", pairs), ("relocation.csv", reloc),
                     ("lots.csv", lots), ("payments.csv", payments)):
        df.to_csv(out / name, index=False, encoding="utf-8-sig", lineterminator="\n")

    # summary
    name_of = dict(zip(counties.code, counties.name))
    total_surplus = sum(v[0] for v in SELLERS.values())
    total_demand = sum(v[0] for v in BUYERS.values())
    print(f"wrote {out}")
    print(f"counties: {len(counties)}  sellers: {len(SELLERS)}  buyers: {len(BUYERS)}")
    print(f"total surplus: {total_surplus:,} 亩   total demand: {total_demand:,} 亩   "
          f"ratio: {total_demand / total_surplus:.2f}")
    print(f"pairs: {len(pairs)}   relocation groups: {len(reloc)}")
    r = reloc.assign(households=reloc.households.astype(int), persons=reloc.persons.astype(int),
                     reclaimed_mu=reloc.reclaimed_mu.astype(float))
    agg = r.groupby("county_code", sort=False).agg(
        groups=("group_id", "size"), households=("households", "sum"),
        persons=("persons", "sum"), reclaimed_mu=("reclaimed_mu", "sum"))
    print("persons per poverty county:")
    for code, a in zip(agg.index, agg.itertuples(index=False)):
        print(f"  {code} {name_of[code]:<10} groups={a.groups} households={a.households} "
              f"persons={a.persons} ({a.persons / a.households:.2f}/hh) reclaimed_mu={a.reclaimed_mu:.1f}")
    print(f"  total persons: {int(agg.persons.sum()):,}")


if __name__ == "__main__":
    main()
