"""收益分配 Proceeds: money follows people (articles 17-18).

The proceeds of the recommended pairings return to the producing counties; the page applies the allocation
parameters of the working scenario (editable here, validated like the editor's parameter form), leads with the plain
verdict on equal benefit and the money per person by resettlement mode, compares 2-4 allocation rules for one county
or the whole province (Gini and Lorenz curves one click deeper), and offers the allocation as CSV.
"""
from __future__ import annotations

import streamlit as st

from ui import cache, state, widgets
from ui.i18n import tr
from ui.views import proceeds


def main() -> None:
    scn = widgets.page_header("proceeds.title")
    if scn is None:
        return
    st.caption(tr("proceeds.intro", name=scn.name or tr("common.unnamed")))
    widgets.pending_edits_note()
    if scn.relocation.empty:
        st.info(tr("proceeds.no_relocation"), icon=":material/group_off:")
        st.page_link("pages/2_editor.py", label=tr("proceeds.go_editor"), icon=":material/edit_note:")
        return
    proceeds.params(scn)
    entry = proceeds.solve_entry(scn)
    if entry is None:
        return
    result = entry.result
    if result.status != "optimal":
        widgets.solve_outcome(result)
    if not result.has_solution:
        return

    county, rules = proceeds.pickers(scn, result.pairings)
    # the plain verdict and money per person first; the comparison of rules and inequality measures after
    proceeds.headline(scn, result.pairings, county)
    if not rules:
        st.info(tr("proceeds.rules_none"))
        return
    if len(rules) < 2:
        st.info(tr("proceeds.rules_too_few"))
    metrics, modes, allocs = cache.rule_comparison(scn, result.pairings, rules, county)
    proceeds.compare(scn, metrics, modes, allocs, rules, county)
    detail, groups = proceeds.money_flow(scn, allocs, rules, county)
    proceeds.allocation(scn, result, groups, detail, county)


state.require_app()
main()
