"""The plan's map as a PNG for the Word report: the same chart as the app's map (planner.mapdata), rendered
offline by vl-convert (Vega in an embedded JavaScript engine, fonts from the system: no browser, no network).

Chinese needs a CJK font on the machine (fonts-noto-cjk on Linux; Windows has Microsoft YaHei/SimHei). Without
vl-convert, or when rendering fails, the report goes without the map rather than failing: `plan_map_png` returns
None and the caller leaves the figure out.
"""
from __future__ import annotations

import logging

from planner import mapdata

log = logging.getLogger(__name__)

# Sans-serif faces first: the map's labels read better in a 黑体-like face; Vega falls back along the list.
FONT = ("Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, SimHei, WenQuanYi Micro Hei, "
        "Noto Sans, Arial, sans-serif")
SCALE = 1.3  # pixels per CSS pixel: ~1,250 px across 16 cm of A4 (about 200 dpi); 2.0 doubles the render time


def map_spec(scn, result, lang: str = "zh") -> dict | None:
    """The Vega-Lite spec of the plan's map, with fonts suited to rendering outside a browser."""
    chart = mapdata.map_chart(scn.counties, result.counties, result.pairings, lang)
    if chart is None:
        return None
    spec = chart.to_dict(validate=False)  # the same chart the app draws (and tests validate): skip 0.5 s
    config = spec.setdefault("config", {})
    config["font"] = FONT
    config.setdefault("background", "white")
    return spec


def on_shipped_map(scn) -> bool:
    """Most of the scenario's counties have a shape on the shipped map of Jilin: only then does the report carry a
    map (a synthetic or another province's scenario would be seats and lines on an empty page, slow to render)."""
    codes = set(scn.counties["code"].astype(str)) if "code" in scn.counties else set()
    return bool(codes) and len(codes & set(mapdata.county_codes())) >= 0.5 * len(codes)


def plan_map_png(scn, result, lang: str = "zh") -> bytes | None:
    """The plan's map as PNG bytes, or None when it cannot be drawn here (not a Jilin scenario, no coordinates, no
    vl-convert, or the renderer failed: logged, never raised, so the report is written regardless)."""
    if not on_shipped_map(scn):
        return None
    try:
        import vl_convert
    except ImportError:
        return None
    try:
        spec = map_spec(scn, result, lang)
        if spec is None:
            return None
        return vl_convert.vegalite_to_png(spec, scale=SCALE)
    except Exception as exc:  # noqa: BLE001 - a missing figure must not stop the report
        log.warning("map image not rendered: %s", exc)
        return None


__all__ = ["plan_map_png", "map_spec", "on_shipped_map"]
