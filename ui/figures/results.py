"""What the pages draw, built from the core's plain tables: localised tables, CSV exports, Altair charts, problem
lists. No Streamlit here (and no model logic): every function takes DataFrames and a language and returns a
DataFrame, a Styler, bytes or an Altair chart, so it can be tested without a browser.
"""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from planner import schema
from planner.export import csv_bytes
from planner.i18n import choice_label, column_label, fmt_mu, fmt_number, fmt_wan, t
from planner.validate import Problem

PLAN_ADJUSTMENT_ARTICLE = "第六条第二款、第十条（五）"
ROLE_COLORS = {"seller": "#2b8a3e", "buyer": "#1c7ed6", "both": "#9c36b5", "none": "#adb5bd"}
FLOW_COLOR = "#e8590c"
LEGEND_WIDTH = 190

PAIRING_VIEW_COLUMNS = ["seller_name", "seller_code", "buyer_name", "buyer_code", "quota_mu", "price_wan_per_mu",
                        "amount_wan", "plan_adjustment_mu", "lo_price", "hi_price", "agreed", "note"]
COUNTY_VIEW_COLUMNS = ["name", "code", "prefecture", "poverty_class", "role", "reason", "surplus_mu", "sold_mu",
                       "unsold_mu", "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan",
                       "plan_adjustment_mu"]


def col(name: str, lang: str) -> str:
    """Localised header of a result column (with its unit)."""
    return t(f"col.{name}", lang)


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
    return t("pairings.adjust_note", lang, mu=fmt_mu(mu), article=PLAN_ADJUSTMENT_ARTICLE)


def pairings_view(pairings: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The recommended pairings with localised headers; plan adjustments flagged with their article."""
    df = pairings.copy()
    df["note"] = [plan_adjustment_note(v, lang) for v in df.get("plan_adjustment_mu", pd.Series(dtype=float))]
    df["agreed"] = [t("common.yes", lang) if bool(v) else "" for v in df.get("agreed", pd.Series(dtype=bool))]
    for c in ("lo_price", "hi_price"):
        df[c] = df[c].astype(float).where(np.isfinite(df[c].astype(float)), np.nan)
    df = _rounded(df[[c for c in PAIRING_VIEW_COLUMNS if c in df.columns]])
    return df.rename(columns={c: col(c, lang) for c in df.columns}).reset_index(drop=True)


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    """亩 and 万元 to 0.1, prices to 0.01 (as staff report them); the CLI-format export keeps full precision."""
    df = df.copy()
    for c in df.columns:
        if "price" in c:
            df[c] = df[c].astype(float).round(2)
        elif c.endswith("_mu") or c.endswith("_wan"):
            df[c] = df[c].astype(float).round(1)
    return df


def pairings_export(pairings: pd.DataFrame, lang: str, localized: bool = True, audit: dict | None = None) -> bytes:
    """Pairings CSV (UTF-8 BOM, formula-safe). localized=False: the command line's column names and values.
    `audit` (planner.audit.audit_record) adds trailing columns saying what produced the file."""
    if not localized:
        return csv_bytes(pairings, audit)
    return csv_bytes(pairings_view(pairings, lang), audit, lang)


# --------------------------------------------------------------------------- counties


def county_view(report: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Per-county figures with the reason in `lang`, localised headers and class/role labels."""
    df = report.copy()
    df["reason"] = df.get("reason_en" if lang == "en" else "reason_zh", "")
    df["poverty_class"] = [choice_label("poverty_class", v, lang) for v in df["poverty_class"]]
    df["role"] = [choice_label("role", v, lang) for v in df["role"]]
    df = _rounded(df[[c for c in COUNTY_VIEW_COLUMNS if c in df.columns]])
    return df.rename(columns={c: col(c, lang) for c in df.columns}).reset_index(drop=True)


def county_export(report: pd.DataFrame, lang: str, localized: bool = True, audit: dict | None = None) -> bytes:
    if not localized:
        return csv_bytes(report, audit)
    return csv_bytes(county_view(report, lang), audit, lang)


def shadow_view(shadow: pd.DataFrame, lang: str) -> pd.DataFrame:
    df = pd.DataFrame({
        col("name", lang): shadow["name"],
        col("limit", lang): [choice_label("limit", k, lang) for k in shadow["kind"]],
        col("shadow_price", lang): shadow["shadow_price"].astype(float).round(4),
        col("meaning", lang): shadow["text_en" if lang == "en" else "text_zh"],
    })
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- charts


def flow_chart(pairings: pd.DataFrame, lang: str, max_nodes: int = 40) -> alt.Chart | None:
    """Bipartite chart: sellers on the left, buyers on the right, one line per pairing, width by 亩."""
    if pairings.empty:
        return None
    p = pairings.copy()
    p["seller_label"] = p["seller_name"].fillna(p["seller_code"]).astype(str)
    p["buyer_label"] = p["buyer_name"].fillna(p["buyer_code"]).astype(str)
    sellers = p.groupby("seller_label")["quota_mu"].sum().sort_values(ascending=False).head(max_nodes)
    buyers = p.groupby("buyer_label")["quota_mu"].sum().sort_values(ascending=False).head(max_nodes)
    p = p[p["seller_label"].isin(sellers.index) & p["buyer_label"].isin(buyers.index)]
    n = max(len(sellers), len(buyers), 1)

    def positions(series):
        k = len(series)
        return {name: 1.0 - (i + 0.5) / k for i, name in enumerate(series.index)}

    ys, yb = positions(sellers), positions(buyers)
    edges = pd.DataFrame({
        "x": 0.0, "x2": 1.0,
        "y": p["seller_label"].map(ys), "y2": p["buyer_label"].map(yb),
        "seller": p["seller_label"], "buyer": p["buyer_label"],
        "quota": p["quota_mu"].round(2), "price": p["price_wan_per_mu"].round(2), "amount": p["amount_wan"].round(1),
    })
    nodes = pd.concat([
        pd.DataFrame({"x": 0.0, "y": [ys[k] for k in sellers.index], "name": sellers.index,
                      "label": [f"{k}  {fmt_mu(v)}" for k, v in sellers.items()], "side": "seller",
                      "quota": sellers.values}),
        pd.DataFrame({"x": 1.0, "y": [yb[k] for k in buyers.index], "name": buyers.index,
                      "label": [f"{k}  {fmt_mu(v)}" for k, v in buyers.items()], "side": "buyer",
                      "quota": buyers.values}),
    ], ignore_index=True)
    x_scale = alt.Scale(domain=[-0.75, 1.75])
    y_scale = alt.Scale(domain=[0, 1.06])
    tip = [alt.Tooltip("seller:N", title=t("col.seller_name", lang)),
           alt.Tooltip("buyer:N", title=t("col.buyer_name", lang)),
           alt.Tooltip("quota:Q", title=t("col.quota_mu", lang), format=",.1f"),
           alt.Tooltip("price:Q", title=t("col.price_wan_per_mu", lang), format=",.2f"),
           alt.Tooltip("amount:Q", title=t("col.amount_wan", lang), format=",.1f")]
    lines = alt.Chart(edges).mark_rule(color=FLOW_COLOR, opacity=0.45).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", scale=y_scale, axis=None), x2="x2:Q", y2="y2:Q",
        strokeWidth=alt.StrokeWidth("quota:Q", scale=alt.Scale(range=[1, 12]),
                                    legend=alt.Legend(title=t("chart.flow_width", lang))),
        tooltip=tip)
    dots = alt.Chart(nodes).mark_circle(size=90, opacity=1).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
        color=alt.Color("side:N", scale=alt.Scale(domain=["seller", "buyer"],
                                                  range=[ROLE_COLORS["seller"], ROLE_COLORS["buyer"]]), legend=None),
        tooltip=[alt.Tooltip("name:N", title=t("col.name", lang)),
                 alt.Tooltip("quota:Q", title=t("col.quota_mu", lang), format=",.1f")])
    left = alt.Chart(nodes[nodes["side"] == "seller"]).mark_text(align="right", dx=-8, fontSize=12).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), text="label:N")
    right = alt.Chart(nodes[nodes["side"] == "buyer"]).mark_text(align="left", dx=8, fontSize=12).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), text="label:N")
    heads = pd.DataFrame({"x": [0.0, 1.0], "y": [1.04, 1.04],
                          "text": [t("chart.sellers", lang), t("chart.buyers", lang)]})
    head = alt.Chart(heads).mark_text(fontSize=13, fontWeight="bold").encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), text="text:N")
    return (lines + dots + left + right + head).properties(height=max(260, 24 * n + 60))


def map_chart(scn_counties: pd.DataFrame, result_counties: pd.DataFrame, pairings: pd.DataFrame,
              lang: str) -> alt.Chart | None:
    """Counties as points at their seat coordinates, seller→buyer lines sized by 亩. No tiles: works offline."""
    if not {"lat", "lon"} <= set(scn_counties.columns):
        return None
    pos = scn_counties[["code", "lat", "lon"]].dropna()
    if pos.empty:
        return None
    pts = result_counties.merge(pos, on="code", how="inner")
    pts["role_label"] = [choice_label("role", r, lang) for r in pts["role"]]
    pts["volume"] = np.maximum(pts["sold_mu"], pts["bought_mu"]).round(1)
    lat0 = float(pos["lat"].mean())
    lon_lo, lon_hi = float(pos["lon"].min()) - 0.3, float(pos["lon"].max()) + 0.3
    lat_lo, lat_hi = float(pos["lat"].min()) - 0.3, float(pos["lat"].max()) + 0.3
    height = 600
    ratio = (lon_hi - lon_lo) * math.cos(math.radians(lat0)) / max(lat_hi - lat_lo, 1e-6)
    # Streamlit fits the whole chart, legends included, into `width`: add the legend column to the plot width.
    width = int(min(max(height * ratio, 320), 1000)) + LEGEND_WIDTH
    x_scale = alt.Scale(domain=[lon_lo, lon_hi], zero=False, nice=False)
    y_scale = alt.Scale(domain=[lat_lo, lat_hi], zero=False, nice=False)
    x = alt.X("lon:Q", scale=x_scale, title=t("chart.lon", lang), axis=alt.Axis(grid=True, gridOpacity=0.3))
    y = alt.Y("lat:Q", scale=y_scale, title=t("chart.lat", lang), axis=alt.Axis(grid=True, gridOpacity=0.3))
    roles = ["seller", "buyer", "both", "none"]
    color = alt.Color("role_label:N", title=t("chart.role", lang),
                      scale=alt.Scale(domain=[choice_label("role", r, lang) for r in roles],
                                      range=[ROLE_COLORS[r] for r in roles]))
    layers = []
    if not pairings.empty:
        coords = pos.set_index("code")
        lines = pairings.copy()
        lines = lines[lines["seller_code"].isin(coords.index) & lines["buyer_code"].isin(coords.index)]
        if not lines.empty:
            seg = pd.DataFrame({
                "lon": coords.loc[lines["seller_code"], "lon"].to_numpy(),
                "lat": coords.loc[lines["seller_code"], "lat"].to_numpy(),
                "lon2": coords.loc[lines["buyer_code"], "lon"].to_numpy(),
                "lat2": coords.loc[lines["buyer_code"], "lat"].to_numpy(),
                "seller": lines["seller_name"].astype(str).to_numpy(),
                "buyer": lines["buyer_name"].astype(str).to_numpy(),
                "quota": lines["quota_mu"].round(1).to_numpy(),
                "price": lines["price_wan_per_mu"].round(2).to_numpy(),
            })
            layers.append(alt.Chart(seg).mark_rule(color=FLOW_COLOR, opacity=0.55).encode(
                x=x, y=y, x2="lon2:Q", y2="lat2:Q",
                strokeWidth=alt.StrokeWidth("quota:Q", scale=alt.Scale(range=[0.8, 9]),
                                            legend=alt.Legend(title=t("chart.flow_width", lang))),
                tooltip=[alt.Tooltip("seller:N", title=t("col.seller_name", lang)),
                         alt.Tooltip("buyer:N", title=t("col.buyer_name", lang)),
                         alt.Tooltip("quota:Q", title=t("col.quota_mu", lang), format=",.1f"),
                         alt.Tooltip("price:Q", title=t("col.price_wan_per_mu", lang), format=",.2f")]))
    layers.append(alt.Chart(pts).mark_circle(opacity=0.9, stroke="white", strokeWidth=0.8).encode(
        x=x, y=y, color=color,
        size=alt.Size("volume:Q", title=t("chart.volume", lang),
                      scale=alt.Scale(domain=[0, max(float(pts["volume"].max()), 1.0)], range=[30, 450])),
        tooltip=[alt.Tooltip("name:N", title=t("col.name", lang)),
                 alt.Tooltip("prefecture:N", title=t("col.prefecture", lang)),
                 alt.Tooltip("role_label:N", title=t("col.role", lang)),
                 alt.Tooltip("sold_mu:Q", title=t("col.sold_mu", lang), format=",.1f"),
                 alt.Tooltip("bought_mu:Q", title=t("col.bought_mu", lang), format=",.1f")]))
    active = pts[pts["volume"] > 0]
    if not active.empty:
        layers.append(alt.Chart(active).mark_text(dy=-10, fontSize=10, color="#343a40").encode(
            x=x, y=y, text="name:N"))
    return alt.layer(*layers).properties(width=width, height=height)


# --------------------------------------------------------------------------- validation problems


def problems_view(problems: list[Problem], lang: str, table_frames: dict[str, pd.DataFrame] | None = None,
                  spreadsheet_rows: bool = False) -> pd.DataFrame:
    """Problems as a table: severity, file, row, county, column label, value, message.

    Rows are counted as the editor shows them (first data row = 1), or, with `spreadsheet_rows`, as Excel shows
    the uploaded file (header = row 1)."""
    labels = {}
    for _, (filename, columns, _) in schema.TABLES.items():
        for c in columns:
            labels[(filename, c.name)] = column_label(c, lang)
    params = {f"{p.section}.{p.key}": (p.label_en if lang == "en" else p.label_zh) for p in schema.PARAMS}
    rows = []
    for p in sorted(problems, key=lambda q: (q.severity != "error", q.file, q.row if q.row is not None else -1)):
        who = ""
        table = _table_of(p.file)
        if table_frames is not None and table and p.row is not None:
            frame = table_frames.get(table)
            i = p.row - 2
            if frame is not None and 0 <= i < len(frame):
                who = row_identity(frame.iloc[i], table)
        rows.append({
            t("problems.severity", lang): t(f"problems.{p.severity}", lang),
            t("problems.file", lang): p.file,
            t("problems.row", lang): str(p.row if spreadsheet_rows else p.row - 1) if p.row is not None else "",
            t("problems.item", lang): who,
            t("problems.column", lang): labels.get((p.file, p.column), params.get(p.column, p.column)),
            t("problems.value", lang): p.value,
            t("problems.message", lang): p.message_en if lang == "en" else p.message_zh,
        })
    return pd.DataFrame(rows, columns=[t(k, lang) for k in ("problems.severity", "problems.file", "problems.row",
                                                            "problems.item", "problems.column", "problems.value",
                                                            "problems.message")])


def _table_of(filename: str) -> str | None:
    for table, (name, _, _) in schema.TABLES.items():
        if filename == name:
            return table
    return None


def row_identity(row: pd.Series, table: str) -> str:
    """How a user recognises a row: code + name, pair of codes, or county + group."""
    def s(v):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
    if table == "counties":
        return " ".join(x for x in (s(row.get("code")), s(row.get("name"))) if x)
    if table == "pairs":
        return f"{s(row.get('seller_code'))} → {s(row.get('buyer_code'))}"
    return " / ".join(x for x in (s(row.get("county_code")), s(row.get("group_id"))) if x)


def problem_rows(frame: pd.DataFrame, problems: list[Problem], table: str, lang: str):
    """The rows of an edited table that have problems, with the offending cells highlighted (a pandas Styler),
    and a problems column next to each row; None when the table has no row problem."""
    filename = schema.TABLES[table][0]
    mine = [p for p in problems if p.file == filename and p.row is not None and 0 <= p.row - 2 < len(frame)]
    if not mine:
        return None
    positions = sorted({p.row - 2 for p in mine})
    sub = frame.iloc[positions].copy()
    for c in schema.TABLES[table][1]:
        if c.kind == "category" and c.name in sub.columns:
            sub[c.name] = [choice_label(c.name, v, lang) or ("" if v is None else str(v)) for v in sub[c.name]]
    msg_col = t("problems.message", lang)
    sub[msg_col] = ["；".join((p.message_en if lang == "en" else p.message_zh) for p in mine if p.row - 2 == i)
                    for i in positions]
    bad = {(p.row - 2, p.column): p.severity for p in mine}
    columns = {c.name: column_label(c, lang) for c in schema.TABLES[table][1]}
    sub.index = pd.Index([i + 1 for i in positions], name=t("problems.row", lang))
    display = sub.rename(columns=columns)
    names = list(sub.columns)

    def paint(_):
        css = pd.DataFrame("", index=display.index, columns=display.columns)
        for r, i in enumerate(positions):
            for j, name in enumerate(names):
                sev = bad.get((i, name))
                if sev == "error":
                    css.iat[r, j] = "background-color: #ffc9c9; color: #c92a2a; font-weight: 600"
                elif sev == "warning":
                    css.iat[r, j] = "background-color: #fff3bf"
            css.iat[r, len(names) - 1] = "color: #c92a2a"
        return css

    return display.style.apply(paint, axis=None).format(_plain, na_rep="")


def _plain(value) -> str:
    """A cell as typed: blanks empty, 2600.0 as 2600."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)


__all__ = ["kpis", "pairings_view", "pairings_export", "county_view", "county_export", "shadow_view", "flow_chart",
           "map_chart", "problems_view", "problem_rows", "row_identity", "plan_adjustment_note", "col"]
