"""Charts of the recommended transfers: a bipartite flow chart (sellers left, buyers right) and the map of Jilin
(planner.mapdata: boundaries shipped with the project). Altair only, no tiles and no outside request: the app works
offline.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planner import mapdata
from planner.i18n import fmt_mu, t

ROLE_COLORS = {"seller": mapdata.SELLER_COLOR, "buyer": mapdata.BUYER_COLOR}
FLOW_COLOR = mapdata.FLOW_COLOR


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
              lang: str) -> alt.TopLevelMixin | None:
    """The plan on the map of Jilin (shipped boundaries, shading, flows, prefecture labels, district insets).
    Built in planner.mapdata, which the report's map image uses too; None without seat coordinates."""
    return mapdata.map_chart(scn_counties, result_counties, pairings, lang)


__all__ = ["flow_chart", "map_chart"]
