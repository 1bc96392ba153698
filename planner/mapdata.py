"""The map of Jilin: the shipped boundaries (planner/data/jilin_boundaries.json, derived by scripts/make_map.py) and
the Altair chart of a plan on them — counties shaded by quota sold or bought, one line per pairing between county
seats, the prefectures labelled, county names on hover, and an inset that zooms on the Changchun and Jilin-city
districts, whose small shapes crowd each other at province scale.

Altair only builds a Vega-Lite spec (no Streamlit), so the app (ui/figures/flows.py) and the report image
(planner/export/map_image.py) draw the same map. Everything is inline data: no tiles, no outside request.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import altair as alt
import pandas as pd

from planner.i18n import choice_label, t

BOUNDARIES_PATH = Path(__file__).resolve().parent / "data" / "jilin_boundaries.json"
SELLER_COLOR, BUYER_COLOR, NEUTRAL_FILL = "#2b8a3e", "#1c7ed6", "#f1f3f5"
FLOW_COLOR = "#e8590c"
# The districts of the two big cities, each zoomed in an inset: at province scale their shapes are a few pixels wide
# and their names would pile up. (title key, county codes)
INSETS = (("map.inset_changchun", ("220102", "220103", "220104", "220105", "220106")),
          ("map.inset_jilin", ("220202", "220203", "220204", "220211")))
MAIN_SIZE = (620, 540)
INSET_SIZE = (300, 230)


@lru_cache(maxsize=1)
def _boundaries() -> dict:
    return json.loads(BOUNDARIES_PATH.read_text(encoding="utf-8"))


def boundaries() -> dict:
    """The shipped FeatureCollection (a fresh copy: callers may change it)."""
    return copy.deepcopy(_boundaries())


def features(level: str) -> list[dict]:
    """The features of one level ("province", "prefecture" or "county"), read-only: shared between calls."""
    return [f for f in _boundaries()["features"] if f["properties"]["level"] == level]


def county_codes() -> list[str]:
    return [f["properties"]["code"] for f in features("county")]


@lru_cache(maxsize=16)
def _geo_text(level: str, near: tuple[float, float, float, float] | None = None) -> str:
    """The features of one level as a GeoJSON string, only those with a vertex inside `near` when given.

    A string, because Altair walks every coordinate of a Python list in Python (seconds for this file, on each
    page run) while a string passes through untouched; Vega parses it in the browser."""
    feats = features(level)
    if near is not None:
        x0, y0, x1, y1 = near
        feats = [f for f in feats if any(x0 <= x <= x1 and y0 <= y <= y1
                                         for ring in _rings(f["geometry"]) for x, y in ring)]
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False, separators=(",", ":"))


def geo_data(level: str, near: tuple[float, float, float, float] | None = None) -> alt.Data:
    return alt.Data(values=_geo_text(level, near), format=alt.DataFormat(type="json", property="features"))


def _num(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if out != out else out


def plan_by_county(result_counties: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The plan's figures for every county on the map (zero where the plan has none), joined to the shapes by code."""
    rows = {str(r["code"]): r for r in result_counties.to_dict("records")}
    out = []
    for f in features("county"):
        p = f["properties"]
        row = rows.get(p["code"], {})
        sold, bought = round(_num(row.get("sold_mu")), 1), round(_num(row.get("bought_mu")), 1)
        out.append({"code": p["code"], "name": str(row.get("name") or p["name"]),
                    "prefecture": str(row.get("prefecture") or p["prefecture"]), "sold_mu": sold, "bought_mu": bought,
                    "net_mu": round(sold - bought, 1),
                    "role_label": choice_label("role", row.get("role", "none"), lang)})
    return pd.DataFrame(out, columns=["code", "name", "prefecture", "sold_mu", "bought_mu", "net_mu", "role_label"])


def _seats(scn_counties: pd.DataFrame) -> pd.DataFrame:
    pos = scn_counties[["code", "lat", "lon"]].copy()
    pos["code"] = pos["code"].astype(str)
    pos["lat"] = pd.to_numeric(pos["lat"], errors="coerce")
    pos["lon"] = pd.to_numeric(pos["lon"], errors="coerce")
    return pos.dropna()


def flow_frame(seats: pd.DataFrame, pairings: pd.DataFrame) -> pd.DataFrame:
    """One row per seller–buyer pair (years summed) with both seats' coordinates."""
    cols = ["seller", "buyer", "lon", "lat", "lon2", "lat2", "quota", "amount"]
    if pairings.empty:
        return pd.DataFrame(columns=cols)
    p = pairings.copy()
    p["seller_code"], p["buyer_code"] = p["seller_code"].astype(str), p["buyer_code"].astype(str)
    p = p.groupby(["seller_code", "buyer_code"], as_index=False).agg(
        seller=("seller_name", "first"), buyer=("buyer_name", "first"), quota=("quota_mu", "sum"),
        amount=("amount_wan", "sum"))
    xy = seats.set_index("code")
    p = p[p["seller_code"].isin(xy.index) & p["buyer_code"].isin(xy.index)]
    return pd.DataFrame({
        "seller": p["seller"].astype(str).to_numpy(), "buyer": p["buyer"].astype(str).to_numpy(),
        "lon": xy.loc[p["seller_code"], "lon"].to_numpy(), "lat": xy.loc[p["seller_code"], "lat"].to_numpy(),
        "lon2": xy.loc[p["buyer_code"], "lon"].to_numpy(), "lat2": xy.loc[p["buyer_code"], "lat"].to_numpy(),
        "quota": p["quota"].round(1).to_numpy(), "amount": p["amount"].round(1).to_numpy()}, columns=cols)


def _bbox(codes: tuple[str, ...], pad: float = 0.03) -> tuple[float, float, float, float] | None:
    xs, ys = [], []
    for f in features("county"):
        if f["properties"]["code"] in codes:
            for ring in _rings(f["geometry"]):
                xs += [c[0] for c in ring]
                ys += [c[1] for c in ring]
    if not xs:
        return None
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def _box_feature(box: tuple[float, float, float, float]) -> dict:
    """A rectangle (clockwise, as d3-geo wants): the extent an inset fits, and its frame on the main map."""
    x0, y0, x1, y1 = box
    ring = [[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]
    return {"type": "Feature", "properties": {"level": "inset"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _merc_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _merc_lat(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def clip_flows(flows: pd.DataFrame, box: tuple[float, float, float, float]) -> pd.DataFrame:
    """The part of each line inside `box` (Liang-Barsky in Mercator coordinates, where the map draws straight
    lines); lines that miss the box are dropped."""
    x0, y0, x1, y1 = box[0], _merc_y(box[1]), box[2], _merc_y(box[3])
    rows = []
    for r in flows.to_dict("records"):
        ax, ay, bx, by = r["lon"], _merc_y(r["lat"]), r["lon2"], _merc_y(r["lat2"])
        dx, dy = bx - ax, by - ay
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            if p == 0:
                if q < 0:
                    lo, hi = 1.0, 0.0
                continue
            u = q / p
            if p < 0:
                lo = max(lo, u)
            else:
                hi = min(hi, u)
        if lo < hi:
            rows.append({**r, "lon": ax + lo * dx, "lat": _merc_lat(ay + lo * dy),
                         "lon2": ax + hi * dx, "lat2": _merc_lat(ay + hi * dy)})
    return pd.DataFrame(rows, columns=flows.columns)


def _mercator_fit(box: tuple[float, float, float, float], size: tuple[int, int]) -> dict:
    """A Mercator projection showing `box` in `size` pixels. Explicit centre and scale, not "fit": Vega-Lite merges
    the projections of concatenated views that differ only in their fit, and both insets would show one place."""
    x0, y0, x1, y1 = box
    scale = min(size[0] / math.radians(x1 - x0), size[1] / (_merc_y(y1) - _merc_y(y0)))
    mid = _merc_lat((_merc_y(y0) + _merc_y(y1)) / 2)
    return {"type": "mercator", "center": [round((x0 + x1) / 2, 4), round(mid, 4)], "scale": round(scale, 2),
            "translate": [size[0] / 2, size[1] / 2]}


def _shown_box(proj: dict, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The lon/lat extent a _mercator_fit projection shows in `size` pixels (wider than the box it fits on one
    axis)."""
    (lon, lat), scale = proj["center"], proj["scale"]
    half_lon = math.degrees(size[0] / 2 / scale)
    y, half_y = _merc_y(lat), size[1] / 2 / scale
    return lon - half_lon, _merc_lat(y - half_y), lon + half_lon, _merc_lat(y + half_y)


def _rings(geometry: dict):
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for poly in geometry["coordinates"] for ring in poly]


def _labels(feats: list[dict], lang: str, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Label points computed by scripts/make_map.py (inside each shape); English prefecture names in English."""
    rows = []
    for f in feats:
        p = f["properties"]
        name = (names or {}).get(p["code"]) or (p.get("name_en") if lang == "en" and p.get("name_en") else p["name"])
        rows.append({"label": name.replace(" Korean Autonomous Prefecture", ""), "lon": p["label_lon"],
                     "lat": p["label_lat"]})
    return pd.DataFrame(rows, columns=["label", "lon", "lat"])


def _text(df: pd.DataFrame, size: int, bold: bool = False) -> list[alt.Chart]:
    """Text with a white halo underneath, readable over shading and flow lines (two layers)."""
    base = alt.Chart(df).encode(longitude="lon:Q", latitude="lat:Q", text="label:N")
    weight = "bold" if bold else "normal"
    halo = base.mark_text(fontSize=size, fontWeight=weight, stroke="white", strokeWidth=3, strokeOpacity=0.9)
    return [halo, base.mark_text(fontSize=size, fontWeight=weight, color="#212529")]


def _view(plan: pd.DataFrame | None, flows: str | None, seats: pd.DataFrame, lang: str,
          near: tuple[float, float, float, float] | None = None) -> list:
    """The layers every view shares: counties shaded by the plan, prefecture and province borders, flows, seats.
    An inset (`near` given) carries only the shapes near its extent and clips what crosses its frame. Borders have
    fill None, not Vega-Lite's "transparent" for unfilled shapes: a transparent prefecture on top would catch the
    pointer and hide the counties' tooltips."""
    clip = near is not None
    layers = []
    if plan is not None:
        net_max = max(float(plan["net_mu"].abs().max()), 1.0)
        color = alt.Color("net_mu:Q", title=t("map.legend_net", lang),
                          scale=alt.Scale(domain=[-net_max, 0, net_max],
                                          range=[BUYER_COLOR, NEUTRAL_FILL, SELLER_COLOR]),
                          legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=260,
                                            titleLimit=460, format=",.0f"))
        tips = [alt.Tooltip("name:N", title=t("col.name", lang)),
                alt.Tooltip("prefecture:N", title=t("col.prefecture", lang)),
                alt.Tooltip("role_label:N", title=t("col.role", lang)),
                alt.Tooltip("sold_mu:Q", title=t("col.sold_mu", lang), format=",.1f"),
                alt.Tooltip("bought_mu:Q", title=t("col.bought_mu", lang), format=",.1f")]
        fields = [c for c in plan.columns if c != "code"]
        layers.append(alt.Chart(geo_data("county", near)).mark_geoshape(
            stroke="#868e96", strokeWidth=0.4, clip=clip).transform_lookup(
            lookup="properties.code",
            from_=alt.LookupData(data=alt.NamedData(name="plan"), key="code", fields=fields)).encode(
            color=color, tooltip=tips))
        layers.append(alt.Chart(geo_data("prefecture", near)).mark_geoshape(
            filled=False, fill=None, stroke="#495057", strokeWidth=1.1, clip=clip))
        if not clip:
            layers.append(alt.Chart(geo_data("province")).mark_geoshape(
                filled=False, fill=None, stroke="#212529", strokeWidth=1.8))
    if flows:
        layers.append(alt.Chart(alt.NamedData(name=flows)).mark_rule(color=FLOW_COLOR, opacity=0.6, clip=clip).encode(
            longitude="lon:Q", latitude="lat:Q", longitude2="lon2:Q", latitude2="lat2:Q",
            strokeWidth=alt.StrokeWidth("quota:Q", scale=alt.Scale(range=[0.8, 7]),
                                        legend=alt.Legend(title=t("chart.flow_width", lang), orient="bottom")),
            tooltip=[alt.Tooltip("seller:N", title=t("col.seller_name", lang)),
                     alt.Tooltip("buyer:N", title=t("col.buyer_name", lang)),
                     alt.Tooltip("quota:Q", title=t("col.quota_mu", lang), format=",.1f"),
                     alt.Tooltip("amount:Q", title=t("col.amount_wan", lang), format=",.1f")]))
    if not seats.empty:
        layers.append(alt.Chart(alt.NamedData(name="seats")).mark_circle(
            size=14, color="#343a40", opacity=0.8, clip=clip).encode(
            longitude="lon:Q", latitude="lat:Q",
            tooltip=[alt.Tooltip("name:N", title=t("col.name", lang))]))
    return layers


_CHARTS: OrderedDict = OrderedDict()
_CHARTS_KEPT = 8


def _key(*frames: pd.DataFrame, extra: tuple = ()) -> str:
    digest = hashlib.sha256(repr(extra).encode())
    for frame in frames:
        digest.update(repr(list(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def map_chart(scn_counties: pd.DataFrame, result_counties: pd.DataFrame, pairings: pd.DataFrame, lang: str,
              insets: bool = True) -> alt.TopLevelMixin | None:
    """The plan on the map of Jilin; None when the counties have no seat coordinates to draw flows from.
    A scenario whose codes are not Jilin's gets its seats and flows without shapes. The last few charts are
    kept: building one takes about a second, and a page draws the same plan on every rerun."""
    if not {"lat", "lon", "code"} <= set(scn_counties.columns):
        return None
    used = [c for c in ("code", "name", "prefecture", "role", "sold_mu", "bought_mu") if c in result_counties]
    pairs = [c for c in ("seller_code", "buyer_code", "seller_name", "buyer_name", "quota_mu", "amount_wan")
             if c in pairings]
    key = _key(scn_counties[["code", "lat", "lon"]], result_counties[used], pairings[pairs], extra=(lang, insets))
    if key in _CHARTS:
        _CHARTS.move_to_end(key)
        return _CHARTS[key]
    chart = _map_chart(scn_counties, result_counties, pairings, lang, insets)
    _CHARTS[key] = chart
    while len(_CHARTS) > _CHARTS_KEPT:
        _CHARTS.popitem(last=False)
    return chart


def _map_chart(scn_counties: pd.DataFrame, result_counties: pd.DataFrame, pairings: pd.DataFrame, lang: str,
               insets: bool) -> alt.TopLevelMixin | None:
    if not {"lat", "lon", "code"} <= set(scn_counties.columns):
        return None
    seats = _seats(scn_counties)
    if seats.empty:
        return None
    names = dict(zip(result_counties["code"].astype(str), result_counties["name"].astype(str)))
    seats["name"] = [names.get(c, c) for c in seats["code"]]
    on_map = bool(set(names) & set(county_codes()))
    plan = plan_by_county(result_counties, lang) if on_map else None
    flows = flow_frame(seats, pairings)
    main_proj = {"type": "mercator"}
    datasets = {"flows": flows.to_dict("records"), "seats": seats.to_dict("records")}
    main = _view(plan, "flows" if len(flows) else None, seats, lang)
    if on_map:
        main += _text(_labels(features("prefecture"), lang), 13, bold=True)
    else:  # no shapes: name the counties that trade
        active = result_counties[(result_counties["sold_mu"] > 0) | (result_counties["bought_mu"] > 0)]
        pts = seats[seats["code"].isin(active["code"].astype(str))].rename(columns={"name": "label"})
        main += _text(pts[["label", "lon", "lat"]], 10)
    zooms = []
    for title_key, codes in (INSETS if on_map and insets else ()):
        box = _bbox(codes)
        if box is None:
            continue
        main.append(alt.Chart(alt.Data(values=[_box_feature(box)])).mark_geoshape(
            filled=False, fill=None, stroke="#212529", strokeDash=[4, 3], strokeWidth=1))
        proj = _mercator_fit(box, INSET_SIZE)
        # the lines cut to the inset's frame: drawn whole, lines to far counties run thousands of pixels out of
        # the frame, which the PNG renderer rasterises before clipping (seconds per inset)
        name = f"flows_{len(zooms)}"
        datasets[name] = clip_flows(flows, _shown_box(proj, INSET_SIZE)).to_dict("records")
        zoom = _view(plan, name if datasets[name] else None, seats, lang, near=box)
        shown = [f for f in features("county") if f["properties"]["code"] in codes]
        zoom += _text(_labels(shown, lang, names), 11)
        zooms.append(alt.layer(*zoom, projection=alt.Projection(**proj), width=INSET_SIZE[0], height=INSET_SIZE[1],
                               title=t(title_key, lang)))
    # the tables every view uses, once, by name (inline in each layer, Altair would copy them for each)
    if plan is not None:
        datasets["plan"] = plan.to_dict("records")
    # built with keyword arguments, not .properties()/.resolve_scale(): each of those deep-copies the whole chart
    if not zooms:
        return alt.layer(*main, projection=alt.Projection(**main_proj), width=MAIN_SIZE[0], height=MAIN_SIZE[1],
                         datasets=datasets)
    left = alt.layer(*main, projection=alt.Projection(**main_proj), width=MAIN_SIZE[0], height=MAIN_SIZE[1])
    shared = alt.Resolve(scale=alt.ScaleResolveMap(color="shared", strokeWidth="shared"))
    return alt.hconcat(left, alt.vconcat(*zooms, spacing=12), spacing=16, resolve=shared, datasets=datasets)


__all__ = ["BOUNDARIES_PATH", "boundaries", "features", "county_codes", "geo_data", "plan_by_county", "flow_frame",
           "clip_flows", "map_chart"]
