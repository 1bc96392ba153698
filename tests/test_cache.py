"""ui/cache.py: the shared, bounded stores that let many sessions on the same scenario cost about one.

The stores are process-wide, so AppTest sessions in this process share them as browser sessions of one server do.
"""
from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from planner import load_checked, solve
from test_app import BASELINE, ROOT, goto, new_app
from ui import cache
from ui.figures import flows

PAGES = ["pages/1_overview.py", "pages/3_pairings.py", "pages/4_proceeds.py", "pages/9_export.py",
         "pages/7_ledger.py"]


# --------------------------------------------------------------------------- the store itself


def test_store_keeps_the_most_recently_used_entries_up_to_its_count():
    store = cache.SharedStore("t", max_entries=2, max_mb=1)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # a is now the most recent
    store.put("c", 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3


def test_store_is_bounded_by_bytes_and_never_keeps_a_value_larger_than_itself():
    store = cache.SharedStore("t", max_entries=100, max_mb=1)
    frame = pd.DataFrame({"x": range(50_000)})  # 400 KB
    assert 350_000 < cache.estimate_bytes(frame) < 500_000
    for key in range(5):
        store.put(key, frame.copy())
    assert store.stats()["mb"] <= 1 and store.stats()["entries"] == 2
    assert store.get(4) is not None and store.get(0) is None
    store.put("huge", pd.DataFrame({"x": range(200_000)}))  # 1.6 MB
    assert store.get("huge") is None and store.get(4) is not None


def test_a_second_caller_waits_for_the_first_computation_of_a_key():
    store = cache.SharedStore("t", max_entries=4, max_mb=1)
    started, release, calls, got = threading.Event(), threading.Event(), [], []

    def slow():
        calls.append(1)
        started.set()
        release.wait(10)
        return object()

    first = threading.Thread(target=lambda: got.append(store.compute("k", slow)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: got.append(store.compute("k", slow)))
    second.start()
    time.sleep(0.2)
    assert len(got) == 0  # the second is waiting, not computing
    release.set()
    first.join(10)
    second.join(10)
    assert len(calls) == 1 and len(got) == 2 and got[0] is got[1]
    assert store.compute("other", lambda: 5) == 5 and not store._key_locks  # per-key locks are released


def test_a_failed_computation_keeps_nothing_and_a_forced_one_computes_again():
    store = cache.SharedStore("t", max_entries=4, max_mb=1)
    with pytest.raises(ZeroDivisionError):
        store.compute("k", lambda: 1 / 0)
    assert store.get("k") is None
    assert store.compute("k", lambda: 1) == 1
    assert store.compute("k", lambda: 2) == 1
    assert store.compute("k", lambda: 3, fresh_after=time.monotonic()) == 3


# --------------------------------------------------------------------------- keys


def test_keys_follow_content_not_identity():
    scn, problems = load_checked(BASELINE)
    assert scn is not None, problems
    assert cache.scenario_hash(scn) == scn.content_hash() == cache.scenario_hash(scn.copy())
    assert cache.scenario_hash(scn.with_param("pricing", "bargaining_weight", 0.9)) != cache.scenario_hash(scn)
    df = scn.counties
    assert cache.frame_hash(df) == cache.frame_hash(df.copy())
    assert cache.frame_hash(df) != cache.frame_hash(df.assign(surplus_mu=df["surplus_mu"].fillna(0) + 1))
    with pytest.raises(TypeError):
        cache.shared(len, object())  # an argument without a content key is refused, never keyed by identity


def test_a_checked_chart_gives_the_same_spec():
    scn, _ = load_checked(BASELINE)
    result = solve(scn)
    for builder, args in ((flows.flow_chart, (result.pairings, "zh")),
                          (flows.map_chart, (scn.counties, result.counties, result.pairings, "en"))):
        spec = builder(*args).to_dict()  # validated
        shared = cache.figure(builder, *args)
        assert shared.to_dict() == spec
        assert cache.figure(builder, *[a.copy() if isinstance(a, pd.DataFrame) else a for a in args]) is shared
    assert cache.figure(flows.flow_chart, result.pairings.iloc[0:0], "zh") is None


def test_a_prepared_chart_sends_what_st_altair_chart_sends():
    """The page draws the shared, already converted spec (issue 17: the conversion was ~0.1-0.2 s a chart per run,
    under a process-wide lock); it must be exactly Streamlit's own conversion, and survive being drawn twice
    (st.vega_lite_chart takes the datasets out of the dict it is given)."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    scn, _ = load_checked(BASELINE)
    result = solve(scn)
    args = (scn.counties, result.counties, result.pairings, "zh")
    shared = cache.figure(flows.map_chart, *args)
    assert isinstance(shared, cache.PreparedChart)
    expected = _convert_altair_to_vega_lite_spec(flows.map_chart(*args))
    first = shared.vega_lite_spec()
    assert first == expected and first["datasets"]
    first.pop("datasets")  # what Streamlit does to the dict it draws
    assert shared.vega_lite_spec() == expected
    assert cache.estimate_bytes(shared) > sum(len(v) for v in expected["datasets"].values() if isinstance(v, bytes))


def test_the_server_does_not_collect_garbage_after_every_page_run():
    """A full gc.collect(2) after each run scanned the whole heap: ~45 % of the server's CPU with ten sessions."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


# --------------------------------------------------------------------------- sessions


def _solves_missed() -> int:
    return cache.SHARED_SOLVES.misses


def test_sessions_on_the_same_scenario_solve_once_and_share_the_result():
    cache.clear_shared()
    first = goto(new_app(), "pages/3_pairings.py")
    missed = _solves_missed()
    others = [goto(new_app(), "pages/3_pairings.py") for _ in range(3)]
    assert _solves_missed() == missed  # nobody solved again
    for at in others:
        assert not at.status  # no progress box: the result was there
    results = {id(next(reversed(at.session_state["results"].values())).result) for at in [first, *others]}
    assert len(results) == 1  # one object, not copies


def _digest(value) -> str:
    """A fresh content digest (not the identity-remembered one)."""
    if isinstance(value, pd.DataFrame):
        return cache._frame_digest(value)
    if hasattr(value, "__dataclass_fields__"):
        return "|".join(_digest(getattr(value, f)) for f in value.__dataclass_fields__)
    if isinstance(value, dict):
        return "|".join(f"{k}:{_digest(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    if isinstance(value, (list, tuple)):
        return "|".join(_digest(v) for v in value)
    return repr(value)


def test_pages_never_change_cached_values_in_place():
    cache.clear_shared()
    at = new_app()
    for page in PAGES:
        goto(at, page)
    solves = {k: _digest(v[0]) for k, v in cache.SHARED_SOLVES._data.items()}
    derived = {k: _digest(v[0]) for k, v in cache.SHARED_DERIVED._data.items() if not hasattr(v[0], "mark")}
    assert solves and derived
    for lang in ("en", "zh"):
        at.session_state["lang"] = lang
        for page in PAGES:
            goto(at, page)
    other = new_app()
    for page in PAGES:
        goto(other, page)
    assert {k: _digest(cache.SHARED_SOLVES._data[k][0]) for k in solves} == solves
    assert {k: _digest(cache.SHARED_DERIVED._data[k][0]) for k in derived if k in cache.SHARED_DERIVED._data} \
        == {k: v for k, v in derived.items() if k in cache.SHARED_DERIVED._data}


def test_memory_stays_within_the_stated_bounds():
    for store in cache.SHARED:
        stats = store.stats()
        assert stats["entries"] <= stats["max_entries"] and stats["mb"] <= stats["max_mb"]
    assert sum(s.max_bytes for s in cache.SHARED) <= 704 * 1024 * 1024  # the bound stated in ui/cache.py
