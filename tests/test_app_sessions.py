"""Several users at once: sessions editing and solving concurrently never see each other's state."""
import threading

from test_app import base_table, edit_table, goto, metric, new_app, number


def _session(edit_factor: float, out: dict, name: str, barrier: threading.Barrier):
    try:
        at = goto(new_app(), "pages/2_editor.py")
        counties = base_table(at, "counties")
        sellers = counties.index[counties["surplus_mu"].fillna(0) > 0].tolist()
        barrier.wait(timeout=60)  # both sessions edit and solve at the same time
        edit_table(at, "counties", {int(r): {"surplus_mu": float(counties.loc[r, "surplus_mu"]) * edit_factor}
                                    for r in sellers})
        goto(at, "pages/3_pairings.py")
        out[name] = (number(metric(at, "kpi.surplus")), at.session_state["scn"].counties["surplus_mu"].sum())
    except Exception as exc:  # reported to the main thread
        out[name] = exc


def test_two_sessions_editing_and_solving_at_once_stay_apart():
    out: dict = {}
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_session, args=(f, out, n, barrier)) for f, n in ((0.5, "half"),
                                                                                         (2.0, "double"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    assert not any(isinstance(v, Exception) for v in out.values()), out
    half_kpi, half_total = out["half"]
    double_kpi, double_total = out["double"]
    assert double_total == 4 * half_total  # each session kept only its own edit
    assert double_kpi == 4 * half_kpi  # and solved its own scenario
    fresh = goto(new_app(), "pages/3_pairings.py")  # a third user still sees the shipped baseline
    assert number(metric(fresh, "kpi.surplus")) * 2 == double_kpi
