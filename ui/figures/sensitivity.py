"""What the sensitivity page draws, built from planner.sensitivity's plain tables: localised tables, CSV exports and
Altair charts. No Streamlit and no model logic here (like the other ui/figures modules), so it can be tested without
a browser.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planner.export import csv_bytes
from planner.i18n import choice_label, fmt_number, t
from planner.sensitivity import ROBUST_THRESHOLD, pairing_matrix
from ui.figures import top_legend

# KPI charts on the sweep tab: (column, title key, number format)
SWEEP_CHARTS = [("quota_matched_mu", "sens.kpi.quota_matched_mu", ",.0f"),
                ("proceeds_wan", "sens.kpi.proceeds_wan", ",.0f"),
                ("unmet_demand_mu", "sens.kpi.unmet_demand_mu", ",.0f"),
                ("mean_price_wan_per_mu", "sens.kpi.mean_price_wan_per_mu", ",.2f")]
LINE_COLOR = "#1c7ed6"
CURRENT_COLOR = "#e8590c"
ROBUST_COLOR = "#2b8a3e"
FRAGILE_COLOR = "#f08c00"
MAX_BARS = 40


def value_label(value: float) -> str:
    """A parameter value as a short header: 0.25, 12.5, 1,225."""
    return fmt_number(value, 3)


# --------------------------------------------------------------------------- sweep


def _domain(values: pd.Series, fmt: str) -> list[float] | None:
    """A y range that does not blow tiny differences up into a zig-zag: at least 2 % of the level (or 1 unit)."""
    v = values.dropna().astype(float)
    if v.empty:
        return None
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, 0.02 * max(abs(lo), abs(hi)), 0.01 if ".2f" in fmt else 1.0)
    mid = (lo + hi) / 2
    lo2, hi2 = mid - 0.6 * span, mid + 0.6 * span
    if lo >= 0 > lo2:
        lo2 = 0.0
    return [lo2, hi2]


def sweep_chart(kpis: pd.DataFrame, column: str, title: str, param: str, current: float | None, fmt: str,
                lang: str) -> alt.Chart:
    """One KPI against the parameter: a line with points, the current value as a dashed rule. The page shows the
    title above the chart (Streamlit clips Altair titles in narrow columns)."""
    data = kpis.loc[kpis["status"] != "invalid", ["value", column]].rename(columns={column: "kpi"})
    x = alt.X("value:Q", title=param, scale=alt.Scale(zero=False, nice=False))
    domain = _domain(data["kpi"], fmt)
    y = alt.Y("kpi:Q", title=None, axis=alt.Axis(format=fmt),
              scale=alt.Scale(domain=domain, nice=True) if domain else alt.Scale(zero=False))
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=45), color=LINE_COLOR).encode(
        x=x, y=y, tooltip=[alt.Tooltip("value:Q", title=param, format=",.4g"),
                           alt.Tooltip("kpi:Q", title=title, format=fmt)])
    layers = [line]
    if current is not None and len(data) and data["value"].min() <= current <= data["value"].max():
        rule = alt.Chart(pd.DataFrame({"value": [current], "label": [t("sens.current_marker", lang)]})).mark_rule(
            color=CURRENT_COLOR, strokeDash=[5, 4], size=1.5).encode(
            x="value:Q", tooltip=[alt.Tooltip("label:N", title=""), alt.Tooltip("value:Q", title=param)])
        layers.append(rule)
    return alt.layer(*layers).properties(height=220)


def sweep_charts(kpis: pd.DataFrame, param: str, current: float | None, lang: str) -> list[tuple[str, alt.Chart]]:
    """(title, chart) for matched 亩, proceeds, unmet demand and mean price."""
    return [(t(key, lang), sweep_chart(kpis, col, t(key, lang), param, current, fmt, lang))
            for col, key, fmt in SWEEP_CHARTS]


def sweep_table(kpis: pd.DataFrame, param: str, lang: str) -> pd.DataFrame:
    """KPIs per step with localised headers and status; the parameter column is headed by the parameter name."""
    df = pd.DataFrame({
        t("sens.col.step", lang): kpis["step"].astype(int),
        param: kpis["value"],
        t("sens.col.status", lang): [t(f"sens.status.{s}", lang) for s in kpis["status"]],
    })
    for col, key, _ in SWEEP_CHARTS:
        df[t(key, lang)] = kpis[col].astype(float).round(2 if "price" in col else 1)
    df[t("sens.col.pairings", lang)] = kpis["pairings"].astype("Int64")
    df[t("sens.col.problem", lang)] = kpis["problem_en" if lang == "en" else "problem_zh"].fillna("")
    return df


def sweep_pairs_view(kpis: pd.DataFrame, pairs: pd.DataFrame, lang: str) -> pd.DataFrame:
    """How pairings change across the sweep: one row per pair, one column per parameter value (亩)."""
    wide = pairing_matrix(kpis, pairs)
    steps = kpis["step"].astype(int).tolist()
    headers = {}
    for s, v in zip(steps, kpis["value"]):
        h = value_label(v)
        headers[s] = h if h not in headers.values() else f"{h} (#{s})"
    pairs_text = [f"{a} → {b}" for a, b in zip(wide["seller_name"], wide["buyer_name"])]
    df = pd.DataFrame({t("sens.col.pair", lang): pairs_text})
    for s in steps:
        df[headers[s]] = wide[s].astype(float).round(1).to_numpy() if len(wide) else []
    df[t("sens.col.steps_chosen", lang)] = wide["steps_chosen"].astype(int).to_numpy() if len(wide) else []
    df[t("sens.col.changes", lang)] = [t("common.yes", lang) if v else "" for v in wide["changes"]]
    return df


def sweep_kpis_export(kpis: pd.DataFrame, param: str, lang: str, audit: dict | None = None) -> bytes:
    return csv_bytes(sweep_table(kpis, param, lang), audit, lang)


def sweep_pairs_export(pairs: pd.DataFrame, param: str, lang: str, audit: dict | None = None) -> bytes:
    """Long format: one row per step and pair (as `python -m planner sweep` writes it), localised headers."""
    df = pairs.rename(columns={"step": t("sens.col.step", lang), "value": param,
                               **{k: t(f"col.{k}", lang) for k in ("seller_code", "seller_name", "buyer_code",
                                                                   "buyer_name", "quota_mu", "price_wan_per_mu",
                                                                   "amount_wan")}})
    return csv_bytes(df, audit, lang)


# --------------------------------------------------------------------------- Monte Carlo


def robust_view(pairs: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The robustness table: pair, robust flag, frequency (%), base quota, quota range when chosen, codes."""
    return pd.DataFrame({
        t("sens.col.pair", lang): [f"{a} → {b}" for a, b in zip(pairs["seller_name"], pairs["buyer_name"])],
        t("sens.col.robust", lang): [t("sens.robust_yes", lang) if v else t("sens.robust_no", lang)
                                     for v in pairs["robust"]],
        t("sens.col.frequency", lang): (pairs["frequency"].astype(float) * 100).round(1),
        t("sens.col.in_base", lang): [t("common.yes", lang) if v else "" for v in pairs["in_base"]],
        t("sens.col.base_quota_mu", lang): pairs["base_quota_mu"].astype(float).round(1),
        t("sens.col.min_quota_mu", lang): pairs["min_quota_mu"].astype(float).round(1),
        t("sens.col.mean_quota_mu", lang): pairs["mean_quota_mu"].astype(float).round(1),
        t("sens.col.max_quota_mu", lang): pairs["max_quota_mu"].astype(float).round(1),
        t("col.seller_code", lang): pairs["seller_code"],
        t("col.buyer_code", lang): pairs["buyer_code"],
    }).reset_index(drop=True)


def shown_pairs(pairs: pd.DataFrame, limit: int = MAX_BARS) -> pd.DataFrame:
    """The pairs worth a bar: every pairing of the recommended plan, then the most frequent others."""
    base = pairs[pairs["in_base"]]
    others = pairs[~pairs["in_base"]].head(max(0, limit - len(base)))
    return pd.concat([base, others]).sort_values(["frequency", "base_quota_mu"], ascending=False)


def frequency_chart(pairs: pd.DataFrame, lang: str, limit: int = MAX_BARS) -> alt.Chart | None:
    """Horizontal bars: how often each pairing is chosen; robust (≥ 80 %) green, fragile orange; the recommended
    plan's pairings marked ●; the 80 % threshold as a dashed rule."""
    df = shown_pairs(pairs, limit)
    if df.empty:
        return None
    data = pd.DataFrame({
        "pair": [("● " if b else "○ ") + f"{s} → {u}" for s, u, b in zip(df["seller_name"], df["buyer_name"],
                                                                      df["in_base"])],
        "frequency": df["frequency"].astype(float).to_numpy(),
        "kind": [t("sens.robust_yes", lang) if r else t("sens.robust_no", lang) for r in df["robust"]],
        "base": df["base_quota_mu"].astype(float).round(1).to_numpy(),
        "mean": df["mean_quota_mu"].astype(float).round(1).to_numpy(),
    })
    order = data["pair"].tolist()
    kinds = [t("sens.robust_yes", lang), t("sens.robust_no", lang)]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("frequency:Q", title=t("sens.col.frequency", lang), scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", orient="top")),
        y=alt.Y("pair:N", sort=order, title=None, axis=alt.Axis(labelLimit=280, labelOverlap=False)),
        color=alt.Color("kind:N", title=t("sens.col.robust", lang),
                        scale=alt.Scale(domain=kinds, range=[ROBUST_COLOR, FRAGILE_COLOR]),
                        legend=top_legend()),
        tooltip=[alt.Tooltip("pair:N", title=t("sens.col.pair", lang)),
                 alt.Tooltip("frequency:Q", title=t("sens.col.frequency", lang), format=".0%"),
                 alt.Tooltip("base:Q", title=t("sens.col.base_quota_mu", lang), format=",.1f"),
                 alt.Tooltip("mean:Q", title=t("sens.col.mean_quota_mu", lang), format=",.1f")])
    rule = alt.Chart(pd.DataFrame({"x": [ROBUST_THRESHOLD]})).mark_rule(color="#495057", strokeDash=[4, 3]).encode(
        x="x:Q")
    return (bars + rule).properties(height=alt.Step(22))


def county_robust_view(counties: pd.DataFrame, lang: str) -> pd.DataFrame:
    return pd.DataFrame({
        t("col.name", lang): counties["name"],
        t("col.code", lang): counties["code"],
        t("col.role", lang): [choice_label("role", r, lang) for r in counties["role"]],
        t("sens.col.base_mu", lang): counties["base_mu"].astype(float).round(1),
        t("sens.col.min_mu", lang): counties["min_mu"].astype(float).round(1),
        t("sens.col.mean_mu", lang): counties["mean_mu"].astype(float).round(1),
        t("sens.col.max_mu", lang): counties["max_mu"].astype(float).round(1),
        t("sens.col.active_share", lang): (counties["active_share"].astype(float) * 100).round(1),
    }).reset_index(drop=True)


def robust_export(pairs: pd.DataFrame, lang: str, audit: dict | None = None) -> bytes:
    return csv_bytes(robust_view(pairs, lang), audit, lang)


def runs_export(runs: pd.DataFrame, lang: str, audit: dict | None = None) -> bytes:
    df = runs.drop(columns=[x for x in ("has_solution",) if x in runs.columns]).copy()
    df["status"] = [t(f"sens.status.{s}", lang) for s in df["status"]]
    names = {"run": t("sens.col.run", lang), "status": t("sens.col.status", lang),
             "objective": t("sens.col.objective", lang),
             "pairings": t("sens.col.pairings", lang), **{col: t(key, lang) for col, key, _ in SWEEP_CHARTS}}
    return csv_bytes(df.rename(columns=names), audit, lang)


def county_robust_export(counties: pd.DataFrame, lang: str, audit: dict | None = None) -> bytes:
    return csv_bytes(county_robust_view(counties, lang), audit, lang)


def robust_summary(pairs: pd.DataFrame) -> dict:
    base = pairs[pairs["in_base"]]
    return {"base": int(len(base)), "robust": int(base["robust"].sum()), "seen": int(len(pairs)),
            "base_mu": float(base["base_quota_mu"].sum()),
            "robust_mu": float(base.loc[base["robust"], "base_quota_mu"].sum()),
            "others_robust": int((~pairs["in_base"] & pairs["robust"]).sum())}


__all__ = ["sweep_charts", "sweep_table", "sweep_pairs_view", "sweep_kpis_export", "sweep_pairs_export",
           "robust_view", "frequency_chart", "county_robust_view", "robust_export", "runs_export",
           "county_robust_export", "robust_summary", "value_label"]
