"""Several users at once: sessions open side by side, editing and solving in turn, never see each other's state.

The sessions are interleaved step by step in one thread (AppTest drives a script in its own thread and is not made
to be driven from several threads at once; the Streamlit server gives each browser session its own state the same
way these AppTest sessions have theirs)."""
from test_app import base_table, edit_table, goto, metric, new_app, number


LOT_AREAS = ("area_mu", "used_locally_mu", "reserved_rural_mu", "turnover_owed_mu")


def test_two_sessions_editing_and_solving_side_by_side_stay_apart():
    # The baseline's supply is its lots: one session halves every lot, the other doubles it.
    half, double = goto(new_app(), "pages/2_editor.py"), goto(new_app(), "pages/2_editor.py")
    for at, factor in ((half, 0.5), (double, 2.0)):  # both edit before either solves
        lots = base_table(at, "lots")
        edit_table(at, "lots", {int(r): {c: float(lots.loc[r, c]) * factor for c in LOT_AREAS} for r in lots.index})
    goto(half, "pages/3_pairings.py")
    goto(double, "pages/3_pairings.py")
    goto(half, "pages/3_pairings.py")  # revisit after the other session solved
    half_kpi, double_kpi = number(metric(half, "kpi.surplus")), number(metric(double, "kpi.surplus"))
    assert double.session_state["scn"].lots["area_mu"].sum() == 4 * half.session_state["scn"].lots["area_mu"].sum()
    assert double_kpi == 4 * half_kpi  # each solved its own scenario
    half_codes = set(half.session_state["results"][next(reversed(half.session_state["results"]))].result
                     .pairings["seller_code"])
    assert half_codes  # and kept its own result
    fresh = goto(new_app(), "pages/3_pairings.py")  # a third user still sees the shipped baseline
    assert number(metric(fresh, "kpi.surplus")) * 2 == double_kpi


def test_sessions_reaching_the_same_content_share_one_solve():
    # Results are shared by content (ui/cache.py): a colleague who makes the same edit gets the same solve, at once,
    # while each session keeps its own record of what it has seen.
    from ui import cache

    first, second = goto(new_app(), "pages/2_editor.py"), goto(new_app(), "pages/2_editor.py")
    for at in (first, second):
        lots = base_table(at, "lots")
        edit_table(at, "lots", {0: {"area_mu": float(lots.loc[0, "area_mu"]) + 1.0}})
    goto(first, "pages/3_pairings.py")
    solved = cache.SHARED_SOLVES.misses
    goto(second, "pages/3_pairings.py")
    assert cache.SHARED_SOLVES.misses == solved and not second.status  # no second solve, no progress box
    mine, theirs = (next(reversed(at.session_state["results"].values())) for at in (first, second))
    assert mine is theirs and number(metric(first, "kpi.surplus")) == number(metric(second, "kpi.surplus"))
    assert first.session_state["results"] is not second.session_state["results"]


def test_the_scenario_sessions_share_is_never_changed_in_place():
    # Sessions that open the same stored scenario share one object (planner.store keeps it; issue 17): a page that
    # changed it in place would change every colleague's scenario. One session visits every page and edits; the next
    # session still gets exactly the files' content.
    from test_app import BASELINE

    from planner import load_checked

    fresh, _ = load_checked(BASELINE)
    at = new_app()
    for page in sorted(str(p.relative_to(BASELINE.parents[1])) for p in (BASELINE.parents[1] / "pages").glob("*.py")):
        goto(at, page)
    goto(at, "pages/2_editor.py")
    lots = base_table(at, "lots")
    edit_table(at, "lots", {0: {"area_mu": float(lots.loc[0, "area_mu"]) + 1.0}})
    goto(at, "pages/3_pairings.py")
    assert at.session_state["scn"].content_hash() != fresh.content_hash()  # the edit took, on a new object
    other = new_app()
    assert other.session_state["scn"] is at.session_state["scn_original"]  # shared
    assert other.session_state["scn"].content_hash() == fresh.content_hash()
