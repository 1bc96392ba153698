"""The scenario schema: every column and parameter of the folder format, in one place.

Validation, loading, the editor's column types and the parameter form all read from here, so a rule about what
an input may hold is written once (DESIGN section 3). Labels and help texts are not here: they live in the locale
files (`col.<table>.<name>`, `param.<section>.<key>`, `param_help.<section>.<key>`) and `planner.i18n` reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from planner import i18n

POVERTY_CLASSES = ("national_key", "provincial", "none")
SELLER_CLASSES = ("national_key", "provincial")


def may_sell_provincewide(poverty_class):
    """Article 2: only listed poverty counties (national key, provincial) may transfer surplus quota province-wide.
    The one place this rule lives; takes a class code or a pandas Series of them."""
    isin = getattr(poverty_class, "isin", None)
    return isin(SELLER_CLASSES) if isin is not None else poverty_class in SELLER_CLASSES
RESETTLEMENT_MODES = ("centralized", "dispersed", "urban", "other")
OBJECTIVES = ("proceeds", "volume", "surplus")
QUALITY_RULES = ("off", "pair", "aggregate")
PROCEEDS_RULES = ("per_capita", "per_household", "by_area", "hybrid")
DEAL_STATUSES = ("negotiating", "signed", "filed")  # article 16: an agreement is negotiated, signed, filed
LOT_STATUSES = ("planned", "reclaiming", "accepted", "confirmed")  # articles 8, 12, 14: 规划 -> 复垦 -> 验收 -> 备案
MILESTONES = ("signing", "approval", "acceptance")  # when a deal's instalments fall due

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
DEAL_STATUS_ALIASES = {
    "协商中": "negotiating", "协商": "negotiating", "洽谈中": "negotiating",
    "已签订": "signed", "已签": "signed", "签订": "signed", "已签约": "signed",
    "已备案": "filed", "备案": "filed",
}
LOT_STATUS_ALIASES = {
    "已批准实施规划": "planned", "规划": "planned", "已批准": "planned",
    "复垦中": "reclaiming", "复垦": "reclaiming",
    "已竣工验收": "accepted", "已验收": "accepted", "竣工验收": "accepted",
    "已确认备案": "confirmed", "已确认": "confirmed", "确认备案": "confirmed",
}
MILESTONE_ALIASES = {
    "签订": "signing", "签约": "signing", "协议签订": "signing",
    "批准": "approval", "批复": "approval", "审批": "approval",
    "验收": "acceptance", "竣工验收": "acceptance",
}


def _with_choice_labels(aliases: dict, kind: str, codes: tuple[str, ...]) -> dict:
    """The typed-in words plus every label the app shows for a code (choice.<kind>.<code>, zh and en), so a value
    copied from the app's own tables or downloads reads back as its code. ASCII keys are lower case, as looked up."""
    out = dict(aliases)
    for code in codes:
        for lang in i18n.LANGS:
            text = i18n.choice_label(kind, code, lang).strip()
            out.setdefault(text.lower() if text.isascii() else text, code)
    return out


POVERTY_CLASS_ALIASES = _with_choice_labels(POVERTY_CLASS_ALIASES, "poverty_class", POVERTY_CLASSES)
RESETTLEMENT_MODE_ALIASES = _with_choice_labels(RESETTLEMENT_MODE_ALIASES, "resettlement_mode", RESETTLEMENT_MODES)
DEAL_STATUS_ALIASES = _with_choice_labels(DEAL_STATUS_ALIASES, "deal_status", DEAL_STATUSES)
LOT_STATUS_ALIASES = _with_choice_labels(LOT_STATUS_ALIASES, "lot_status", LOT_STATUSES)
MILESTONE_ALIASES = _with_choice_labels(MILESTONE_ALIASES, "milestone", MILESTONES)

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
    cell_required: bool = False  # every row must fill it
    table: str = ""  # the TABLES key, set there; the label key is col.<table>.<name>
    choice_kind: str = ""  # category labels are choice.<choice_kind>.<code> (default: the column name)
    blank_code: str = ""  # a category cell left blank (or unknown) reads as this code

    @property
    def choices(self) -> str:
        """The `kind` of `i18n.choice_label` for this category column's values."""
        return self.choice_kind or self.name


def _in_table(table: str, columns: tuple[Column, ...]) -> tuple[Column, ...]:
    return tuple(replace(c, table=table) for c in columns)


COUNTY_COLUMNS = _in_table("counties", (
    Column("code", "text", True, cell_required=True),
    Column("name", "text", True, cell_required=True),
    Column("prefecture", "text"),
    Column("poverty_class", "category", True, allowed=POVERTY_CLASSES, aliases=POVERTY_CLASS_ALIASES,
           blank_code="none"),
    Column("surplus_mu", "number", True, 0, unit="亩"),
    Column("reclaimed_quality_grade", "number", False, 1, 15),
    Column("floor_price", "number", False, 0, unit="万元/亩"),
    Column("demand_mu", "number", True, 0, unit="亩"),
    Column("ceiling_price", "number", False, 0, unit="万元/亩"),
    Column("budget_wan", "number", False, 0, unit="万元"),
    Column("construction_headroom_mu", "number", False, 0, unit="亩"),
    Column("cultivated_headroom_mu", "number", False, 0, unit="亩"),
    Column("cultivated_share", "number", False, 0, 1),
    Column("occupied_quality_grade", "number", False, 1, 15),
    Column("plan_adjustable_mu", "number", False, 0, unit="亩"),
    Column("lat", "number", False, -90, 90, unit="°"),
    Column("lon", "number", False, -180, 180, unit="°"),
))

PAIR_COLUMNS = _in_table("pairs", (
    Column("seller_code", "text", True, cell_required=True),
    Column("buyer_code", "text", True, cell_required=True),
    Column("floor_price", "number", False, 0, unit="万元/亩"),
    Column("ceiling_price", "number", False, 0, unit="万元/亩"),
    Column("agreed_price", "number", False, 0, unit="万元/亩"),
    Column("excluded", "bool", False),
    Column("agreed_mu", "number", False, 0, unit="亩"),
    Column("status", "category", False, allowed=DEAL_STATUSES, aliases=DEAL_STATUS_ALIASES,
           choice_kind="deal_status", blank_code="negotiating"),
    Column("year", "integer", False, 1900, 2200),
    Column("filed_date", "text"),
))

RELOCATION_COLUMNS = _in_table("relocation", (
    Column("county_code", "text", True, cell_required=True),
    Column("group_id", "text", True, cell_required=True),
    Column("village", "text"),
    Column("resettlement_mode", "category", True, cell_required=True, allowed=RESETTLEMENT_MODES,
           aliases=RESETTLEMENT_MODE_ALIASES, blank_code="other"),
    Column("destination_code", "text"),
    Column("households", "integer", True, 0, unit="户"),
    Column("persons", "integer", True, 0, unit="人"),
    Column("reclaimed_mu", "number", True, 0, unit="亩"),
))

# Net quota of a lot = area − used locally − kept for rural use (article 20) − turnover owed (article 14).
LOT_COLUMNS = _in_table("lots", (
    Column("lot_id", "text", True, cell_required=True),
    Column("county_code", "text", True, cell_required=True),
    Column("project_area", "text"),
    Column("approval_no", "text"),
    Column("status", "category", True, cell_required=True, allowed=LOT_STATUSES, aliases=LOT_STATUS_ALIASES,
           choice_kind="lot_status", blank_code="planned"),
    Column("ready_year", "integer", False, 1900, 2200),
    Column("area_mu", "number", True, 0, unit="亩", cell_required=True),
    Column("used_locally_mu", "number", False, 0, unit="亩"),
    Column("reserved_rural_mu", "number", False, 0, unit="亩"),
    Column("turnover_owed_mu", "number", False, 0, unit="亩"),
    Column("reclaimed_quality_grade", "number", False, 1, 15),
))

DEMAND_COLUMNS = _in_table("demand", (
    Column("county_code", "text", True, cell_required=True),
    Column("year", "integer", True, 1900, 2200, cell_required=True),
    Column("demand_mu", "number", True, 0, unit="亩", cell_required=True),
))

PAYMENT_COLUMNS = _in_table("payments", (
    Column("seller_code", "text", True, cell_required=True),
    Column("buyer_code", "text", True, cell_required=True),
    Column("milestone", "category", True, cell_required=True, allowed=MILESTONES, aliases=MILESTONE_ALIASES),
    Column("share", "number", False, 0, 1),
    Column("due_year", "integer", False, 1900, 2200),
    Column("paid_wan", "number", False, 0, unit="万元"),
    Column("paid_date", "text"),
))

# table -> (file name, columns, required file). Every table is carried by `Scenario` as an attribute of this name.
TABLES = {
    "counties": ("counties.csv", COUNTY_COLUMNS, True),
    "pairs": ("pairs.csv", PAIR_COLUMNS, False),
    "relocation": ("relocation.csv", RELOCATION_COLUMNS, False),
    "lots": ("lots.csv", LOT_COLUMNS, False),
    "demand": ("demand.csv", DEMAND_COLUMNS, False),
    "payments": ("payments.csv", PAYMENT_COLUMNS, False),
}


@dataclass(frozen=True)
class Param:
    """One parameter of scenario.toml."""

    section: str
    key: str
    kind: str  # text | number | integer | choice | bool | choices (a list of `allowed` values)
    default: object
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    optional: bool = False  # may be absent / empty (None)
    article: str = ""
    choice_kind: str = ""  # labels of the allowed values are choice.<choice_kind>.<code> (default: the key)
    aliases: dict = field(default_factory=dict)  # for choices: labels accepted for a code

    @property
    def choices(self) -> str:
        return self.choice_kind or self.key


PARAMS = (
    Param("scenario", "name", "text", i18n.t("common.unnamed", "zh")),  # a new scenario's name, in Chinese
    Param("scenario", "description", "text", ""),
    Param("pricing", "guide_floor", "number", None, 0, optional=True, article="规划选择"),
    Param("pricing", "guide_ceiling", "number", None, 0, optional=True, article="规划选择"),
    Param("pricing", "bargaining_weight", "number", 0.5, 0, 1, article="第十五条"),
    Param("rules", "objective", "choice", "proceeds", allowed=OBJECTIVES, article="规划选择"),
    Param("rules", "priority_weight_national_key", "number", 1.0, 0, article="规划选择（参照第二十三条）"),
    Param("rules", "priority_weight_provincial", "number", 1.0, 0, article="规划选择（参照第二十三条）"),
    Param("rules", "quality_rule", "choice", "aggregate", allowed=QUALITY_RULES, article="第四条（二）、第十二条"),
    Param("rules", "allow_plan_adjustment", "bool", False, article="第六条第二款、第十条（五）"),
    Param("rules", "plan_adjustment_penalty", "number", 1.0, 0, article="第六条第二款"),
    Param("rules", "min_lot_mu", "number", 0.0, 0, article="规划选择"),
    Param("rules", "max_partners_per_seller", "integer", 0, 0, article="规划选择"),
    Param("rules", "max_partners_per_buyer", "integer", 0, 0, article="规划选择"),
    Param("rules", "min_sale_share", "number", 0.0, 0, 1, article="规划选择"),
    Param("rules", "saleable_status", "choices", ("confirmed",), allowed=LOT_STATUSES, article="第八条、第十四条",
          choice_kind="lot_status", aliases=LOT_STATUS_ALIASES),
    Param("proceeds", "reclamation_cost_per_mu", "number", 3.0, 0, article="第四条（三）"),
    Param("proceeds", "financing_repayment_share", "number", 0.0, 0, 1, article="第十七条（财综〔2016〕36号）"),
    Param("proceeds", "collective_share", "number", 0.15, 0, 1, article="规划选择"),
    Param("proceeds", "rule", "choice", "per_capita", allowed=PROCEEDS_RULES, article="第十八条"),
    Param("proceeds", "hybrid_alpha", "number", 0.5, 0, 1, article="第十八条"),
    # A plan by year (DESIGN section 4); without start_year the plan is one period. end_year blank: start_year + 3.
    Param("horizon", "start_year", "integer", None, 1900, 2200, optional=True, article="第二十七条"),
    Param("horizon", "end_year", "integer", None, 1900, 2200, optional=True, article="第二十七条"),
)

PARAMS_BY_KEY = {(p.section, p.key): p for p in PARAMS}


# --------------------------------------------------------------------------- headers

# Words people use in a header for what the schema calls floor / ceiling (e.g. price_min -> floor_price).
_HEADER_SYNONYMS = {"min": "floor", "minimum": "floor", "lowest": "floor", "low": "floor",
                    "max": "ceiling", "maximum": "ceiling", "highest": "ceiling", "high": "ceiling"}


def header_key(text) -> str:
    """A header as compared: lower case, no blanks, ASCII brackets (full-width （） as typed in Chinese)."""
    text = str(text).strip().lstrip("\ufeff").lower()
    text = text.replace("（", "(").replace("）", ")")
    return "".join(text.split())


@lru_cache(maxsize=None)
def _header_forms(table: str) -> dict[str, str]:
    """Every header accepted for a table's columns -> the column name: the name itself and the column's label in
    each language as the app shows it, with and without the unit (so an app download imports back unchanged)."""
    forms: dict[str, str] = {}
    for col in TABLES[table][1]:
        forms.setdefault(header_key(col.name), col.name)
    for col in TABLES[table][1]:
        for lang in i18n.LANGS:
            for text in (i18n.column_label(col, lang), i18n.label(col, lang)):
                forms.setdefault(header_key(text), col.name)
    return forms


def column_for_header(table: str, header) -> str | None:
    """The schema column a header names (by name or label), or None for an unknown column."""
    return _header_forms(table).get(header_key(header))


def _tokens_sorted(text: str) -> str:
    words = [_HEADER_SYNONYMS.get(w, w) for w in text.replace("-", "_").replace(" ", "_").split("_") if w]
    return "_".join(sorted(words))


def closest_column(table: str, header) -> Column | None:
    """The known column an unknown header most likely meant (difflib similarity over names and labels, words in
    any order, min/max read as floor/ceiling), or None when nothing is close."""
    import difflib

    h = header_key(header)
    tries = {h, _tokens_sorted(h)}
    best, best_score = None, 0.0
    by_name = {c.name: c for c in TABLES[table][1]}
    for form, name in _header_forms(table).items():
        for cand in {form, _tokens_sorted(form)}:
            for t in tries:
                score = difflib.SequenceMatcher(None, t, cand).ratio()
                if score > best_score:
                    best, best_score = by_name[name], score
    return best if best_score >= 0.6 else None
