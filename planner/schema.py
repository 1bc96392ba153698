"""The scenario schema: every column and parameter of the folder format, in one place.

Validation, loading, the editor's column types and the parameter form all read from here, so a rule about what
an input may hold is written once (DESIGN section 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

POVERTY_CLASSES = ("national_key", "provincial", "none")
SELLER_CLASSES = ("national_key", "provincial")
RESETTLEMENT_MODES = ("centralized", "dispersed", "urban", "other")
OBJECTIVES = ("proceeds", "volume", "surplus")
QUALITY_RULES = ("off", "pair", "aggregate")
PROCEEDS_RULES = ("per_capita", "per_household", "by_area", "hybrid")

# Labels staff type in Excel, mapped to the codes the planner uses.
POVERTY_CLASS_ALIASES = {
    "national_key": "national_key", "国家扶贫开发重点县": "national_key", "国家级贫困县": "national_key",
    "国家重点县": "national_key", "国家级": "national_key",
    "provincial": "provincial", "省定片区县": "provincial", "省级贫困县": "provincial", "省定": "provincial",
    "省级": "provincial",
    "none": "none", "无": "none", "非贫困县": "none", "否": "none", "": "none",
}
RESETTLEMENT_MODE_ALIASES = {
    "centralized": "centralized", "集中安置": "centralized", "集中": "centralized",
    "dispersed": "dispersed", "分散安置": "dispersed", "分散": "dispersed",
    "urban": "urban", "进城安置": "urban", "进城": "urban",
    "other": "other", "其他": "other", "其它": "other",
}
TRUE_WORDS = {"true", "1", "yes", "y", "是", "排除", "x", "√"}
FALSE_WORDS = {"false", "0", "no", "n", "否", ""}


@dataclass(frozen=True)
class Column:
    """One column of a scenario table."""

    name: str
    kind: str  # text | number | integer | category | bool
    required: bool = False  # the column must be present
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    allowed: tuple[str, ...] = ()
    aliases: dict = field(default_factory=dict)
    label_zh: str = ""
    label_en: str = ""
    cell_required: bool = False  # every row must fill it


COUNTY_COLUMNS = (
    Column("code", "text", True, cell_required=True, label_zh="代码", label_en="Code"),
    Column("name", "text", True, cell_required=True, label_zh="名称", label_en="Name"),
    Column("prefecture", "text", label_zh="市（州）", label_en="Prefecture"),
    Column("poverty_class", "category", True, allowed=POVERTY_CLASSES, aliases=POVERTY_CLASS_ALIASES,
           label_zh="贫困县类别", label_en="Poverty class"),
    Column("surplus_mu", "number", True, 0, unit="亩", label_zh="节余指标", label_en="Surplus quota"),
    Column("reclaimed_quality_grade", "number", False, 1, 15, label_zh="复垦耕地质量等别",
           label_en="Reclaimed quality grade"),
    Column("floor_price", "number", False, 0, unit="万元/亩", label_zh="最低价", label_en="Floor price"),
    Column("demand_mu", "number", True, 0, unit="亩", label_zh="指标需求", label_en="Demand"),
    Column("ceiling_price", "number", False, 0, unit="万元/亩", label_zh="最高价", label_en="Ceiling price"),
    Column("budget_wan", "number", False, 0, unit="万元", label_zh="预算", label_en="Budget"),
    Column("construction_headroom_mu", "number", False, 0, unit="亩", label_zh="建设用地规划余量",
           label_en="Construction headroom"),
    Column("cultivated_headroom_mu", "number", False, 0, unit="亩", label_zh="耕地保有量余量",
           label_en="Cultivated headroom"),
    Column("cultivated_share", "number", False, 0, 1, label_zh="占用耕地比例", label_en="Cultivated share"),
    Column("occupied_quality_grade", "number", False, 1, 15, label_zh="建新占用耕地等别",
           label_en="Occupied quality grade"),
    Column("plan_adjustable_mu", "number", False, 0, unit="亩", label_zh="可调整规划空间",
           label_en="Plan-adjustable space"),
    Column("lat", "number", False, -90, 90, unit="°", label_zh="纬度", label_en="Latitude"),
    Column("lon", "number", False, -180, 180, unit="°", label_zh="经度", label_en="Longitude"),
)

PAIR_COLUMNS = (
    Column("seller_code", "text", True, cell_required=True, label_zh="出让县代码", label_en="Seller code"),
    Column("buyer_code", "text", True, cell_required=True, label_zh="使用县代码", label_en="Buyer code"),
    Column("floor_price", "number", False, 0, unit="万元/亩", label_zh="配对最低价", label_en="Pair floor"),
    Column("ceiling_price", "number", False, 0, unit="万元/亩", label_zh="配对最高价", label_en="Pair ceiling"),
    Column("agreed_price", "number", False, 0, unit="万元/亩", label_zh="已商定价格", label_en="Agreed price"),
    Column("excluded", "bool", False, label_zh="排除", label_en="Excluded"),
)

RELOCATION_COLUMNS = (
    Column("county_code", "text", True, cell_required=True, label_zh="县代码", label_en="County code"),
    Column("group_id", "text", True, cell_required=True, label_zh="搬迁组编号", label_en="Group id"),
    Column("village", "text", label_zh="村", label_en="Village"),
    Column("resettlement_mode", "category", True, cell_required=True, allowed=RESETTLEMENT_MODES, aliases=RESETTLEMENT_MODE_ALIASES,
           label_zh="安置方式", label_en="Resettlement mode"),
    Column("destination_code", "text", label_zh="安置地县代码", label_en="Destination code"),
    Column("households", "integer", True, 0, unit="户", label_zh="户数", label_en="Households"),
    Column("persons", "integer", True, 0, unit="人", label_zh="人数", label_en="Persons"),
    Column("reclaimed_mu", "number", True, 0, unit="亩", label_zh="复垦面积", label_en="Reclaimed area"),
)

TABLES = {
    "counties": ("counties.csv", COUNTY_COLUMNS, True),
    "pairs": ("pairs.csv", PAIR_COLUMNS, False),
    "relocation": ("relocation.csv", RELOCATION_COLUMNS, False),
}


@dataclass(frozen=True)
class Param:
    """One parameter of scenario.toml."""

    section: str
    key: str
    kind: str  # text | number | integer | choice | bool
    default: object
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    optional: bool = False  # may be absent / empty (None)
    article: str = ""
    label_zh: str = ""
    label_en: str = ""
    help_zh: str = ""
    help_en: str = ""


PARAMS = (
    Param("scenario", "name", "text", "未命名情景", label_zh="情景名称", label_en="Scenario name"),
    Param("scenario", "description", "text", "", label_zh="说明", label_en="Description"),
    Param("pricing", "guide_floor", "number", None, 0, optional=True, article="第十五条",
          label_zh="省级指导价下限（万元/亩）", label_en="Guidance floor (万元/亩)",
          help_zh="省级指导价格区间下限；留空表示不设。", help_en="Provincial guidance floor; blank for none."),
    Param("pricing", "guide_ceiling", "number", None, 0, optional=True, article="第十五条",
          label_zh="省级指导价上限（万元/亩）", label_en="Guidance ceiling (万元/亩)",
          help_zh="省级指导价格区间上限；留空表示不设。", help_en="Provincial guidance ceiling; blank for none."),
    Param("pricing", "bargaining_weight", "number", 0.5, 0, 1, article="第十五条",
          label_zh="议价系数 θ", label_en="Bargaining weight θ",
          help_zh="价格 = 下限 + θ ×（上限 − 下限）；θ=0 偏向使用县，θ=1 偏向产生县。",
          help_en="price = lo + θ·(hi − lo); θ=0 favours the buyer, θ=1 the seller."),
    Param("rules", "objective", "choice", "proceeds", allowed=OBJECTIVES, article="第十七条、第十九条",
          label_zh="优化目标", label_en="Objective",
          help_zh="proceeds：贫困县流转收益最大；volume：流转量最大；surplus：议价空间最大。",
          help_en="proceeds: maximise proceeds to poverty counties; volume: quota moved; surplus: bargaining room."),
    Param("rules", "priority_weight_national_key", "number", 1.0, 0, article="第三条、第二十三条",
          label_zh="国家重点县优先权重", label_en="Priority weight, national key counties"),
    Param("rules", "priority_weight_provincial", "number", 1.0, 0, article="第三条、第二十三条",
          label_zh="省定片区县优先权重", label_en="Priority weight, provincial counties"),
    Param("rules", "quality_rule", "choice", "off", allowed=QUALITY_RULES, article="第四条（二）、第十二条",
          label_zh="耕地质量平衡规则", label_en="Farmland quality rule",
          help_zh="off：不检查；pair：每对复垦等别不劣于占用等别；aggregate：每个使用县加权平均不劣。",
          help_en="off; pair: each pair's reclaimed grade no worse than occupied; aggregate: per buyer on average."),
    Param("rules", "allow_plan_adjustment", "bool", False, article="第六条第二款、第十条（五）",
          label_zh="允许协商调整规划指标", label_en="Allow plan-indicator adjustment"),
    Param("rules", "plan_adjustment_penalty", "number", 0.0, 0, article="第六条第二款",
          label_zh="规划调整惩罚（目标单位/亩）", label_en="Plan adjustment penalty (per 亩)"),
    Param("rules", "min_lot_mu", "number", 0.0, 0, label_zh="最小交易规模（亩）", label_en="Minimum lot (亩)",
          help_zh="大于 0 时，每对交易量为 0 或不少于此数（整数模型）。",
          help_en="When > 0 a pairing is 0 or at least this many 亩 (integer model)."),
    Param("rules", "max_partners_per_seller", "integer", 0, 0, label_zh="每个产生县最多配对数",
          label_en="Max partners per seller", help_zh="0 表示不限。", help_en="0 = no limit."),
    Param("rules", "max_partners_per_buyer", "integer", 0, 0, label_zh="每个使用县最多配对数",
          label_en="Max partners per buyer", help_zh="0 表示不限。", help_en="0 = no limit."),
    Param("rules", "min_sale_share", "number", 0.0, 0, 1, article="第二条、第二十三条",
          label_zh="最低出让比例（软约束）", label_en="Minimum sale share (soft)"),
    Param("proceeds", "reclamation_cost_per_mu", "number", 3.0, 0, article="第十七条",
          label_zh="复垦成本（万元/亩）", label_en="Reclamation cost (万元/亩)"),
    Param("proceeds", "financing_repayment_share", "number", 0.0, 0, 1, article="第十七条",
          label_zh="偿还搬迁融资比例", label_en="Financing repayment share"),
    Param("proceeds", "collective_share", "number", 0.15, 0, 1, article="第二十二条",
          label_zh="村集体分成比例", label_en="Collective share"),
    Param("proceeds", "rule", "choice", "per_capita", allowed=PROCEEDS_RULES, article="第十八条",
          label_zh="分配规则", label_en="Allocation rule"),
    Param("proceeds", "hybrid_alpha", "number", 0.5, 0, 1, article="第十八条",
          label_zh="混合规则 α", label_en="Hybrid α"),
)

PARAMS_BY_KEY = {(p.section, p.key): p for p in PARAMS}
