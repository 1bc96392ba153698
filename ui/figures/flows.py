"""Charts of the recommended transfers: a bipartite flow chart (sellers left, buyers right) and a map of the
counties at their seat coordinates. Altair only, no tiles and no outside request: the app works offline.
"""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from planner.i18n import choice_label, fmt_mu, t

ROLE_COLORS = {"seller": "#2b8a3e", "buyer": "#1c7ed6", "both": "#9c36b5", "none": "#adb5bd"}
FLOW_COLOR = "#e8590c"
LEGEND_WIDTH = 190


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


__all__ = ["flow_chart", "map_chart"]
