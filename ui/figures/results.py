"""The solve's results as staff read them: headline figures, pairings, per-county figures with their reasons,
shadow prices, and their CSV downloads. No Streamlit here (and no model logic): every function takes DataFrames and
a language and returns a DataFrame, a list or bytes, so it can be tested without a browser.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planner.export import csv_bytes
from planner import policy
from planner.export.common import Facts, buyer_balance, grade, is_deal
from planner.export.headers import header
from planner.i18n import choice_label, fmt_mu, fmt_number, fmt_wan, has_key, t

PLAN_ADJUSTMENT_ARTICLE = "第六条第二款、第十条（五）"
PAIRING_VIEW_COLUMNS = ["seller_name", "seller_code", "buyer_name", "buyer_code", "year", "quota_mu",
                        "price_wan_per_mu", "amount_wan", "plan_adjustment_mu", "lo_price", "hi_price", "agreed",
                        "deal", "reclaimed_grade", "occupied_grade", "quality_check", "note"]
COUNTY_VIEW_COLUMNS = ["name", "code", "prefecture", "poverty_class", "role", "reason", "surplus_mu", "sold_mu",
                       "unsold_mu", "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan",
                       "plan_adjustment_mu"]
# Display format per result column (st.column_config.NumberColumn): prices to 0.01, the rest with separators.
NUMBER_FORMATS = {"quota_mu": "localized", "amount_wan": "localized", "plan_adjustment_mu": "localized",
                  "price_wan_per_mu": "%.2f", "lo_price": "%.2f", "hi_price": "%.2f", "surplus_mu": "localized",
                  "sold_mu": "localized", "unsold_mu": "localized", "proceeds_wan": "localized",
                  "demand_mu": "localized", "bought_mu": "localized", "unmet_mu": "localized",
                  "paid_wan": "localized"}


def number_formats(lang: str) -> dict[str, str]:
    """Display format per localised header of the pairings and county tables."""
    return {t(f"col.{name}", lang): fmt for name, fmt in NUMBER_FORMATS.items()}


# --------------------------------------------------------------------------- headline figures


def kpis(totals: dict, lang: str) -> list[tuple[str, str, str]]:
    """(label with unit, value, help) for the five headline figures; the unit sits in the label so that large
    numbers fit the metric boxes, and the help repeats the figure with its unit."""
    figures = [("kpi.surplus", totals.get("surplus_offered_mu", 0.0), "亩"),
               ("kpi.demand", totals.get("demand_mu", 0.0), "亩"),
               ("kpi.matched", totals.get("quota_matched_mu", 0.0), "亩"),
               ("kpi.proceeds", totals.get("proceeds_wan", 0.0), "万元"),
               ("kpi.unmet", totals.get("unmet_demand_mu", 0.0), "亩")]
    out = []
    for key, value, unit in figures:
        text = fmt_mu(value) if unit == "亩" else fmt_wan(value)
        label = f"{t(key, lang)}（{unit}）" if lang == "zh" else f"{t(key, lang)} ({unit})"
        out.append((label, fmt_number(value, 0 if abs(float(value)) >= 1000 else 1),
                    f"{t(key + '_help', lang)} {text}"))
    return out


# --------------------------------------------------------------------------- pairings


def plan_adjustment_note(mu: float, lang: str) -> str:
    if mu is None or not (mu > 1e-6):
        return ""
    return t("pairings.adjust_note", lang, mu=fmt_mu(mu), article=policy.cite(PLAN_ADJUSTMENT_ARTICLE, lang))


def pairings_view(pairings: pd.DataFrame, lang: str, quality_rule: str = "off") -> pd.DataFrame:
    """The recommended pairings with localised headers, read as the workbook reads them: the year (a plan by year),
    signed/filed deals, the two grades and the quality check of article 4(二) (`quality_rule` "aggregate": a worse
    pair whose using county balances overall reads as such); plan adjustments flagged with their article."""
    df = pairings.copy()
    records = df.to_dict("records")
    facts = Facts({}, "", quality_rule, buyer_balance(pairings) if quality_rule == "aggregate" else None)
    df["note"] = [plan_adjustment_note(v, lang) for v in df.get("plan_adjustment_mu", pd.Series(dtype=float))]
    df["agreed"] = [t("common.yes", lang) if bool(v) else "" for v in df.get("agreed", pd.Series(dtype=bool))]
    if "deal" in df:
        df["deal"] = [t("report.deal_yes", lang) if is_deal(r) else "" for r in records]
    for c in ("reclaimed_grade", "occupied_grade"):
        if c in df:
            df[c] = [grade(v) for v in df[c]]
    if "quality_check" in df:
        df["quality_check"] = [t(f"report.quality_short_{facts.quality(r)}", lang) for r in records]
    if "year" in df:  # a year, not a quantity: no thousands separator
        df["year"] = [grade(v) for v in df["year"]]
    for c in ("lo_price", "hi_price"):
        df[c] = df[c].astype(float).where(np.isfinite(df[c].astype(float)), np.nan)
    df = _rounded(df[[c for c in PAIRING_VIEW_COLUMNS if c in df.columns]])
    return df.rename(columns={c: _header(c, lang) for c in df.columns}).reset_index(drop=True)


def pairings_shown(pairings: pd.DataFrame, codes=(), year=None) -> np.ndarray:
    """Which rows of the plan a filter shows: those a county takes part in (as seller or buyer; any of `codes`, none:
    all) in `year` (None: all). A mask over the whole plan's rows, so its view is read from the whole plan (a using
    county's quality balance is the whole plan's, not the filtered rows')."""
    keep = np.ones(len(pairings), dtype=bool)
    if codes:
        wanted = {str(c) for c in codes}
        keep &= (pairings["seller_code"].astype(str).isin(wanted) |
                 pairings["buyer_code"].astype(str).isin(wanted)).to_numpy()
    if year is not None and "year" in pairings:
        keep &= (pd.to_numeric(pairings["year"], errors="coerce") == int(year)).to_numpy()
    return keep


def _header(column: str, lang: str) -> str:
    """A result column's header: the app's own (`col.*`) or, for those it shares with the workbook, the workbook's."""
    return t(f"col.{column}", lang) if has_key(f"col.{column}", lang) else header(column, lang)


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    """亩, 万元 and prices to 0.01, as the plan states them (DESIGN 4: quota to at most 2 decimals, amount = quota x
    price as printed) and as the workbook and agreements print them. Quota shown to 0.1 made 245.96 亩 read 246
    beside an amount of 5,411.1 万元 at 22 万元/亩 (found trying the app as a user)."""
    df = df.copy()
    for c in df.columns:
        if "price" in c or c.endswith("_mu") or c.endswith("_wan"):
            df[c] = df[c].astype(float).round(2)
    return df


def pairings_export(pairings: pd.DataFrame, lang: str, localized: bool = True, audit: dict | None = None,
                    quality_rule: str = "off") -> bytes:
    """Pairings CSV (UTF-8 BOM, formula-safe). localized=False: the command line's column names and values.
    `audit` (planner.audit.audit_record) adds trailing columns saying what produced the file."""
    if not localized:
        return csv_bytes(pairings, audit)
    return csv_bytes(pairings_view(pairings, lang, quality_rule), audit, lang)


# --------------------------------------------------------------------------- counties


def county_view(report: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Per-county figures with the reason in `lang`, localised headers and class/role labels."""
    df = report.copy()
    df["reason"] = df.get("reason_en" if lang == "en" else "reason_zh", "")
    df["poverty_class"] = [choice_label("poverty_class", v, lang) for v in df["poverty_class"]]
    df["role"] = [choice_label("role", v, lang) for v in df["role"]]
    df = _rounded(df[[c for c in COUNTY_VIEW_COLUMNS if c in df.columns]])
    return df.rename(columns={c: t(f"col.{c}", lang) for c in df.columns}).reset_index(drop=True)


def county_export(report: pd.DataFrame, lang: str, localized: bool = True, audit: dict | None = None) -> bytes:
    if not localized:
        return csv_bytes(report, audit)
    return csv_bytes(county_view(report, lang), audit, lang)


def shadow_view(shadow: pd.DataFrame, lang: str) -> pd.DataFrame:
    df = pd.DataFrame({
        t("col.name", lang): shadow["name"],
        t("col.limit", lang): [choice_label("limit", k, lang) for k in shadow["kind"]],
        t("col.shadow_price", lang): shadow["shadow_price"].astype(float).round(4),
        t("col.meaning", lang): shadow["text_en" if lang == "en" else "text_zh"],
    })
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- changes since the previous plan

# The headline figures of `kpis`, by their totals key, and whether a rise is good (st.metric delta_color).
KPI_TOTALS = ("surplus_offered_mu", "demand_mu", "quota_matched_mu", "proceeds_wan", "unmet_demand_mu")
KPI_DELTA_COLORS = {"surplus_offered_mu": "off", "demand_mu": "off", "quota_matched_mu": "normal",
                    "proceeds_wan": "normal", "unmet_demand_mu": "inverse"}
# Row colours of the changes table (light tints of the compare page's colours, readable under dark text).
CHANGE_TINTS = {"added": "#d3f9d8", "removed": "#ffe3e3", "changed": "#fff3bf", "price_changed": "#f1f3f5"}


def kpi_deltas(totals: dict, previous: dict, lang: str) -> list[tuple[str, str, str, str | None, str]]:
    """(label, value, help, delta or None, delta colour) for the headline figures: `kpis` with the change from
    the previous plan's totals, as staff read it (1 decimal under 1,000, none above)."""
    out = []
    for (label, value, help_text), key in zip(kpis(totals, lang), KPI_TOTALS):
        change = float(totals.get(key, 0.0)) - float(previous.get(key, 0.0))
        text = None
        if abs(change) >= 0.005:
            text = ("+" if change > 0 else "−") + fmt_number(abs(change), 0 if abs(change) >= 1000 else 1)
        out.append((label, value, help_text, text, KPI_DELTA_COLORS[key]))
    return out


def changes_view(pairings: pd.DataFrame, lang: str) -> pd.DataFrame:
    """planner.compare.PlanDelta.pairings as staff read it: what happened to each pairing, before and after."""
    df = pairings
    out = pd.DataFrame({
        t("cmp.col_change", lang): [t(f"cmp.pair_{c}", lang) for c in df["change"]],
        t("col.seller_name", lang): df["seller_name"].to_numpy(),
        t("col.buyer_name", lang): df["buyer_name"].to_numpy(),
        t("delta.col_before_mu", lang): df["quota_mu_base"].fillna(0.0).astype(float).round(2).to_numpy(),
        t("delta.col_after_mu", lang): df["quota_mu_other"].fillna(0.0).astype(float).round(2).to_numpy(),
        t("delta.col_change_mu", lang): df["quota_change_mu"].astype(float).round(2).to_numpy(),
        t("delta.col_before_price", lang): df["price_wan_per_mu_base"].astype(float).round(2).to_numpy(),
        t("delta.col_after_price", lang): df["price_wan_per_mu_other"].astype(float).round(2).to_numpy(),
    })
    order = {"added": 0, "removed": 1, "changed": 2, "price_changed": 3}
    rank = df["change"].map(order).to_numpy()
    return out.iloc[np.lexsort((-np.abs(df["quota_change_mu"].to_numpy(dtype=float)), rank))].reset_index(drop=True)


def changes_styled(pairings: pd.DataFrame, lang: str):
    """changes_view with each row tinted by its kind of change (a pandas Styler; st.dataframe shows it)."""
    view = changes_view(pairings, lang)
    tint = {t(f"cmp.pair_{c}", lang): colour for c, colour in CHANGE_TINTS.items()}
    kind = t("cmp.col_change", lang)
    formats = {c: "{:,.2f}" for c in view.columns[3:]}
    def colours(row):  # dark text on the tint, whatever the app's theme
        colour = tint.get(row[kind])
        return [f"background-color: {colour}; color: #1f2328" if colour else ""] * len(row)

    return view.style.apply(colours, axis=1).format(formats, na_rep="—")


__all__ = ["kpis", "pairings_view", "pairings_shown", "pairings_export", "county_view", "county_export", "shadow_view",
           "plan_adjustment_note", "number_formats", "PLAN_ADJUSTMENT_ARTICLE", "kpi_deltas", "changes_view",
           "changes_styled"]
