"""The illustrative-data banner (issue 16): shown on every page while the working scenario is the shipped baseline
or derived from it, because the baseline's quantities (surplus, demand, prices, budgets, lots, relocation groups)
are made up and a reader must not take a plan drawn from them for an official figure.

"Derived from it": opened from the baseline's folder, or still carrying its description, or still holding most of
its county quantities (a baseline saved under another name with a few edits is still illustrative).
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import streamlit as st

from planner import load_checked
from planner.scenario import Scenario
from ui import state
from ui.i18n import tr

# The baseline's made-up county figures: a scenario that keeps at least SHARE of them is derived from it.
FIGURES = ("surplus_mu", "demand_mu", "floor_price", "ceiling_price", "budget_wan")
SHARE = 0.5


def _figures(counties: pd.DataFrame) -> set[tuple[str, str, float]]:
    out = set()
    for name in FIGURES:
        if name not in counties:
            continue
        values = pd.to_numeric(counties[name], errors="coerce")
        out |= {(str(code), name, round(float(v), 4)) for code, v in zip(counties["code"], values) if v == v}
    return out


@lru_cache(maxsize=2)
def _baseline_figures(folder: str, stamp: float) -> frozenset:
    scn, _ = load_checked(folder)
    return frozenset(_figures(scn.counties)) if scn is not None else frozenset()


def baseline_figures() -> frozenset:
    folder = state.scenarios_dir() / state.DEFAULT_SCENARIO / "counties.csv"
    try:
        stamp = folder.stat().st_mtime
    except OSError:
        return frozenset()
    return _baseline_figures(str(folder.parent), stamp)


def derived_from_baseline(scn: Scenario, folder: str | None, baseline: frozenset) -> bool:
    """True for the shipped baseline and for scenarios made from it (see the module docstring)."""
    if folder == state.DEFAULT_SCENARIO:
        return True
    if scn.illustrative:
        return True
    return bool(baseline) and len(_figures(scn.counties) & baseline) >= SHARE * len(baseline)


def illustrative_banner() -> None:
    """At the top of every page (called by app.py): the warning, when the working scenario is illustrative."""
    scn = state.working()
    if scn is None:
        return
    if state.folder_name() == state.DEFAULT_SCENARIO or state.memo_by_identity(
            "banner_illustrative", scn, lambda s: derived_from_baseline(s, None, baseline_figures())):
        st.warning(tr("banner.illustrative"), icon=":material/science:")


__all__ = ["derived_from_baseline", "illustrative_banner", "baseline_figures"]
