"""The scenario store (issue 5): versioned atomic saves, conflicts, read-only baseline, trash, safe names, crashes.

The crash and concurrency tests run real child interpreters (a script written to tmp_path) and kill them with SIGKILL.
"""
from __future__ import annotations

import inspect
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import planner.scenario as scenario_module
from planner.scenario import Scenario
from planner.store import (META_NAME, SCENARIO_FILES, ConflictError, InvalidScenarioError, ReadOnlyError,
                           ScenarioStore, StoreError, slugify)
from planner.validate import errors, load_checked, validate_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "jilin-baseline"
POSIX = os.name == "posix"


# Variant k of the baseline changes three files at once (scenario.toml, counties.csv, relocation.csv), so a save
# that mixed two versions would show up as an inconsistent k. The same source runs in the child processes.
def variant(base, k):
    scn = base.with_param("pricing", "bargaining_weight", round((k % 10) / 10, 1))
    scn = scn.with_param("scenario", "description", f"variant {k}")
    scn.counties.loc[0, "budget_wan"] = 1000.0 * (k + 1)
    scn.relocation.loc[0, "persons"] = 100.0 + k
    return scn


def variant_of(scn):
    """k of a loaded scenario, or None when its files disagree with each other."""
    if len(scn.counties) == 0 or len(scn.relocation) == 0:
        return None
    k = int(round(scn.counties.loc[0, "budget_wan"] / 1000.0)) - 1
    ok = (scn.description == f"variant {k}" and scn.relocation.loc[0, "persons"] == 100.0 + k
          and abs(float(scn.param("pricing", "bargaining_weight")) - round((k % 10) / 10, 1)) < 1e-12)
    return k if ok else None


VARIANT_SRC = inspect.getsource(variant) + "\n\n" + inspect.getsource(variant_of)

CHILD_SRC = r'''
import os, random, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from planner.store import ScenarioStore, ConflictError, StoreError
from planner.validate import load_checked
{variant}
mode, root, slug = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
base, _ = load_checked({baseline!r})
real_rename = os.rename

def is_second_rename(src, dst):
    return ".staging" in Path(src).parts and Path(dst) == root.resolve() / slug

def say(*words):
    print(*words, flush=True)

if mode == "between":
    # stop for good between the two renames of a save (the current folder is already in .versions)
    def rename(src, dst):
        if is_second_rename(src, dst):
            say("BETWEEN")
            time.sleep(120)
        return real_rename(src, dst)
    os.rename = rename
    store = ScenarioStore(root)
    scn, problems, stamp = store.open(slug)
    store.save(slug, variant(base, 1), stamp)
    say("SAVED")
elif mode in ("loop", "race"):
    pause = 0.03
    def rename(src, dst):
        if is_second_rename(src, dst):  # widen the window between the two renames
            time.sleep(pause if mode == "race" else random.uniform(0, 0.04))
        else:
            time.sleep(random.uniform(0, 0.01))
        return real_rename(src, dst)
    os.rename = rename
    store = ScenarioStore(root)
    k, saved, conflicts = 1, 0, 0
    deadline = time.monotonic() + float(sys.argv[4])
    while time.monotonic() < deadline:
        scn, problems, stamp = store.open(slug)
        if scn is None:  # a concurrent reader may catch the folder between two renames: try again
            continue
        try:
            store.save(slug, variant(base, k), stamp)
            saved += 1
            if mode == "loop":
                say("SAVED", k)
        except StoreError:
            conflicts += 1
        k += 1
        if saved == 1:
            say("READY")
    say("DONE", saved, conflicts)
elif mode == "concurrent":
    # commands on stdin: "open" -> print the stamp; "save K T0" -> wait until time T0, save variant K, print result
    def rename(src, dst):
        time.sleep(0.005)
        return real_rename(src, dst)
    os.rename = rename
    store = ScenarioStore(root)
    stamp = None
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "open":
            scn, problems, stamp = store.open(slug)
            say("STAMP", stamp)
        elif cmd[0] == "save":
            k, t0 = int(cmd[1]), float(cmd[2])
            while time.time() < t0:
                pass
            try:
                store.save(slug, variant(base, k), stamp)
                say("OK", k)
            except ConflictError:
                say("CONFLICT", k)
            except Exception as exc:
                say("ERROR", type(exc).__name__, str(exc).replace("\n", " "))
        elif cmd[0] == "quit":
            break
'''


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def base() -> Scenario:
    scn, problems = load_checked(BASELINE)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    return scn


@pytest.fixture
def root(tmp_path) -> Path:
    """A store root holding a copy of the shipped baseline."""
    r = tmp_path / "scenarios"
    r.mkdir()
    shutil.copytree(BASELINE, r / "jilin-baseline")
    return r


@pytest.fixture
def store(root) -> ScenarioStore:
    return ScenarioStore(root)


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in SCENARIO_FILES if (folder / name).is_file()}


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file and folder under path with its content (folders: None)."""
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


def open_ok(store: ScenarioStore, slug: str) -> Scenario:
    scn, problems, _ = store.open(slug)
    assert scn is not None, [p.text("en") for p in errors(problems)]
    assert not errors(validate_scenario(scn))
    return scn


def child_script(tmp_path: Path) -> Path:
    path = tmp_path / "child.py"
    path.write_text(CHILD_SRC.format(root=str(ROOT), baseline=str(BASELINE), variant=VARIANT_SRC), encoding="utf-8")
    return path


def start_child(script: Path, *args, stdin=False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            text=True, encoding="utf-8", cwd=ROOT)


def read_until(proc: subprocess.Popen, word: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(word):
            return line.strip()
    proc.kill()
    raise AssertionError(f"child never said {word}: {proc.stderr.read()}")


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()


def expire_locks(root: Path) -> None:
    """Age the lock files a killed process may leave, as if the documented 60 s had passed."""
    old = time.time() - 120
    for lock in (root / ".locks").glob("*.lock") if (root / ".locks").is_dir() else []:
        os.utime(lock, (old, old))


def seed_variant(root: Path, base: Scenario, k: int = 0, name: str = "变体") -> str:
    info = ScenarioStore(root).save_as(name, variant(base, k))
    return info.slug


# --------------------------------------------------------------------------- save, versions, restore

def test_save_restore_round_trip(store, base, root):
    info = store.save_as("预算翻倍", base)
    assert info.version == 1 and not info.read_only and info.name == "预算翻倍"
    slug = info.slug
    original, problems, stamp = store.open(slug)
    assert original is not None and stamp == info.stamp
    assert original.name == "预算翻倍"
    original_files = file_bytes(root / slug)

    changed = original.copy()
    changed.counties.loc[0, "budget_wan"] = 2 * changed.counties.loc[0, "budget_wan"]
    changed = changed.with_param("pricing", "bargaining_weight", 0.7)
    info2 = store.save(slug, changed, stamp, note="double the budget")
    assert info2.version == 2 and info2.stamp != stamp
    reopened = open_ok(store, slug)
    assert reopened.content_hash() == changed.content_hash()
    assert reopened.param("pricing", "bargaining_weight") == 0.7

    hist = store.history(slug)
    assert [h["version"] for h in hist] == [2, 1]
    assert [h["current"] for h in hist] == [True, False]
    assert hist[0]["note"] == "double the budget"
    old = store.open_version(slug, 1)
    assert old.content_hash() == original.content_hash()
    assert old.settings == original.settings

    info3 = store.restore_version(slug, 1)
    assert info3.version == 3  # restoring is itself a new version
    assert file_bytes(root / slug) == original_files  # exactly the old content, byte for byte
    assert open_ok(store, slug).content_hash() == original.content_hash()
    hist = store.history(slug)
    assert [h["version"] for h in hist] == [3, 2, 1]
    assert "restore" in hist[0]["note"]
    # the version that was undone is still there
    assert store.open_version(slug, 2).content_hash() == changed.content_hash()
    with pytest.raises(StoreError):
        store.open_version(slug, 9)


def test_saved_folder_is_the_plain_human_editable_format(store, base, root):
    slug = store.save_as("plain", base).slug
    folder = root / slug
    from planner import schema

    tables = [f for t, (f, _, required) in schema.TABLES.items() if required or len(getattr(base, t))]
    assert {"counties.csv", "pairs.csv", "relocation.csv"} <= set(tables)
    assert sorted(p.name for p in folder.iterdir()) == sorted([META_NAME, "scenario.toml", *tables])
    scn, problems = load_checked(folder)
    assert scn is not None
    assert json.loads((folder / META_NAME).read_text(encoding="utf-8"))["version"] == 1
    assert "name = \"plain\"" in (folder / "scenario.toml").read_text(encoding="utf-8")


def test_invalid_scenario_is_not_saved(store, base, root):
    slug = store.save_as("有效", base).slug
    scn, _, stamp = store.open(slug)
    before = tree(root / slug)
    with pytest.raises(InvalidScenarioError) as exc:
        store.save(slug, scn.with_param("proceeds", "collective_share", 1.5), stamp)
    assert any(p.column == "proceeds.collective_share" for p in exc.value.problems)
    assert tree(root / slug) == before
    assert [h["version"] for h in store.history(slug)] == [1]
    with pytest.raises(InvalidScenarioError):
        store.save_as("无效", scn.with_param("proceeds", "rule", "nope"))
    assert not store.exists(slugify("无效"))


def test_save_as_refuses_an_existing_name(store, base):
    store.save_as("Variant A", base)
    with pytest.raises(StoreError) as exc:
        store.save_as("variant a", base)  # same slug
    assert "exists" in str(exc.value) and "已有" in exc.value.text("zh")


def test_clone_and_rename(store, base, root):
    clone = store.clone("jilin-baseline", "副本")
    assert clone.version == 1
    assert open_ok(store, clone.slug).counties.equals(base.counties)
    slug2 = store.save_as("second", base).slug
    scn, _, stamp = store.open(slug2)
    store.save(slug2, scn.with_param("pricing", "bargaining_weight", 0.3), stamp)
    renamed = store.rename(slug2, "第二个")
    assert renamed.slug == slugify("第二个") and renamed.name == "第二个"
    assert not store.exists(slug2)
    assert [h["version"] for h in store.history(renamed.slug)] == [3, 2, 1]  # history follows the rename
    assert open_ok(store, renamed.slug).param("pricing", "bargaining_weight") == 0.3
    with pytest.raises(StoreError):
        store.rename(renamed.slug, "副本")  # taken


# --------------------------------------------------------------------------- read-only baseline

def test_baseline_is_read_only(store, base, root):
    before = tree(root / "jilin-baseline")
    scn, _, stamp = store.open("jilin-baseline")
    assert scn is not None
    infos = store.list()
    assert infos[0].slug == "jilin-baseline" and infos[0].read_only
    with pytest.raises(ReadOnlyError):
        store.save("jilin-baseline", scn.with_param("pricing", "bargaining_weight", 0.9), stamp)
    with pytest.raises(ReadOnlyError):
        store.delete("jilin-baseline")
    with pytest.raises(ReadOnlyError):
        store.rename("jilin-baseline", "新基准")
    assert ReadOnlyError.__mro__[1] is StoreError
    assert tree(root / "jilin-baseline") == before
    assert not store.exists(slugify("新基准"))
    # changes go to a copy
    info = store.save_as("基准修改版", scn.with_param("pricing", "bargaining_weight", 0.9))
    assert not info.read_only
    assert open_ok(store, info.slug).param("pricing", "bargaining_weight") == 0.9
    assert tree(root / "jilin-baseline") == before


# --------------------------------------------------------------------------- trash

def test_delete_goes_to_trash_and_comes_back_with_history(store, base, root):
    slug = store.save_as("要删除的", base).slug
    scn, _, stamp = store.open(slug)
    store.save(slug, scn.with_param("pricing", "bargaining_weight", 0.2), stamp)
    current = file_bytes(root / slug)
    entry = store.delete(slug)
    assert not store.exists(slug) and not (root / slug).exists()
    assert slug not in [i.slug for i in store.list()]
    assert store.trash() == [entry]
    # a new store (recover() runs) must not resurrect it from its versions
    store = ScenarioStore(root)
    assert not store.exists(slug)

    info = store.restore_from_trash(entry)
    assert info.slug == slug and info.version == 2
    assert file_bytes(root / slug) == current
    assert [h["version"] for h in store.history(slug)] == [2, 1]
    assert store.open_version(slug, 1).param("pricing", "bargaining_weight") == 0.5
    assert store.trash() == []
    with pytest.raises(StoreError):
        store.restore_from_trash(entry)


def test_restore_from_trash_when_the_name_is_taken_again(store, base):
    slug = store.save_as("同名", base).slug
    entry = store.delete(slug)
    store.save_as("同名", base.with_param("pricing", "bargaining_weight", 0.1))
    info = store.restore_from_trash(entry)
    assert info.slug != slug and info.slug.startswith(slug)
    assert open_ok(store, slug).param("pricing", "bargaining_weight") == 0.1
    assert open_ok(store, info.slug).param("pricing", "bargaining_weight") == 0.5


@pytest.mark.parametrize("entry", ["../scenarios", "..", "", "/etc", "../../x", "nonexistent-20240101-000000-abcd"])
def test_restore_from_trash_refuses_bad_entries(store, base, entry, tmp_path):
    store.delete(store.save_as("x1", base).slug)
    before = tree(tmp_path)
    with pytest.raises(StoreError):
        store.restore_from_trash(entry)
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- names

BAD_NAMES = ["../x", "/etc/passwd", "a/b", "..", ".hidden", "CON", "nul", "", "   ", "x" * 200, "a\\b", "C:x",
             "LPT1", "com9", "..\\..\\x", "./x", "x\x00y"]
# identifiers used directly as folder names (open, save, delete ...): never outside the root, never a device name
BAD_IDS = ["../x", "/etc/passwd", "a/b", "..", ".", ".hidden", "CON", "nul", "", " x", "a\\b", "C:x", "LPT1",
           "com9", "..\\..\\x", "./x", "x\x00y", "aux.csv", "x" * 300, "../../outside", "/tmp"]


def test_bad_names_are_refused_and_nothing_is_written_outside(store, base, tmp_path, root):
    slug = store.save_as("好名字", base).slug
    before_outside = {p: c for p, c in tree(tmp_path).items() if not p.startswith("scenarios")}
    before_root = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    for name in BAD_NAMES:
        with pytest.raises(StoreError) as exc:
            slugify(name)
        assert exc.value.text("zh") and exc.value.text("en")
        with pytest.raises(StoreError):
            store.save_as(name, base)
        with pytest.raises(StoreError):
            store.clone("jilin-baseline", name)
        with pytest.raises(StoreError):
            store.rename(slug, name)
        assert store.exists(slug)
    assert {p: c for p, c in tree(tmp_path).items() if not p.startswith("scenarios")} == before_outside
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == before_root


def test_bad_identifiers_are_refused(store, base, tmp_path, root):
    slug = store.save_as("好名字", base).slug
    scn, _, stamp = store.open(slug)
    before_outside = {p: c for p, c in tree(tmp_path).items() if not p.startswith("scenarios")}
    before_root = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    for ident in BAD_IDS:
        check_identifier_refused(store, scn, ident)
    assert {p: c for p, c in tree(tmp_path).items() if not p.startswith("scenarios")} == before_outside
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == before_root


def check_identifier_refused(store, scn, ident):
    calls = {"save": lambda: store.save(ident, scn, None), "delete": lambda: store.delete(ident),
             "open": lambda: store.open(ident), "history": lambda: store.history(ident),
             "info": lambda: store.info(ident), "open_version": lambda: store.open_version(ident, 1),
             "restore_version": lambda: store.restore_version(ident, 1), "clone": lambda: store.clone(ident, "c"),
             "rename": lambda: store.rename(ident, "r")}
    for what, call in calls.items():
        with pytest.raises(StoreError):
            call()
            print(f"{what}({ident!r}) was accepted")
    assert store.exists(ident) is False


def test_hand_made_folders_with_odd_names_do_not_break_the_list(store, base, root):
    for odd in ("v1..2", "nul", " spaced"):
        shutil.copytree(BASELINE, root / odd)
    (root / "notes").mkdir()  # a folder without scenario.toml is not a scenario
    slug = store.save_as("正常", base).slug
    slugs = [i.slug for i in ScenarioStore(root).list()]
    assert "jilin-baseline" in slugs and slug in slugs and "notes" not in slugs


def test_version_paths_cannot_leave_the_store(store, base, tmp_path):
    """open_version with a traversing slug must not read a folder outside the root."""
    outside = tmp_path / "outside" / "v0001"
    shutil.copytree(BASELINE, outside)
    for slug in ("../../outside", "../outside", "/tmp/../" + str(tmp_path / "outside")):
        with pytest.raises(StoreError):
            store.open_version(slug, 1)
        with pytest.raises(StoreError):
            store.restore_version(slug, 1)


def test_reserved_and_odd_names_slugify_safely():
    assert slugify("CON.txt") not in ("con", "con.txt")  # dots become dashes, never a reserved device name
    reserved = {"con", "prn", "aux", "nul", "com1", "lpt1"}
    for name in ("Aux", "PRN", "nul.csv", "com1.txt", "lpt1 "):
        try:
            s = slugify(name)
        except StoreError:
            continue
        assert s not in reserved, (name, s)  # refused, or no longer a device name (slugs have no dots)
    for name in ("吉林 变体", "a b c", "x" * 80, "情" * 80, "!!!", "①②", "长春：预算翻倍"):
        s = slugify(name)
        assert s and not s.startswith(".") and "/" not in s and "\\" not in s and ".." not in s
        assert len(s.encode("utf-8")) <= 200, (name, len(s.encode("utf-8")))


# --------------------------------------------------------------------------- Chinese names

def test_chinese_names(store, base, root):
    info = store.save_as("长春市 预算翻倍（方案一）", base)
    assert "长春市" in info.slug and (root / info.slug).is_dir()
    assert info.name == "长春市 预算翻倍（方案一）"
    assert [i.name for i in store.list() if i.slug == info.slug] == ["长春市 预算翻倍（方案一）"]
    assert open_ok(store, info.slug).name == "长春市 预算翻倍（方案一）"
    renamed = store.rename(info.slug, "延边州方案")
    assert renamed.slug == "延边州方案" and open_ok(store, "延边州方案").name == "延边州方案"
    entry = store.delete("延边州方案")
    assert store.restore_from_trash(entry).slug == "延边州方案"


def test_longest_chinese_name_can_be_saved_deleted_and_restored(store, base):
    name = "吉" * 80  # 80 characters are allowed; in UTF-8 that is 240 bytes
    info = store.save_as(name, base)
    assert open_ok(store, info.slug).name == name
    scn, _, stamp = store.open(info.slug)
    store.save(info.slug, scn.with_param("pricing", "bargaining_weight", 0.6), stamp)
    entry = store.delete(info.slug)
    restored = store.restore_from_trash(entry)
    assert open_ok(store, restored.slug).name == name
    assert [h["version"] for h in store.history(restored.slug)] == [2, 1]
    # a different long name sharing the same start is a different scenario
    other = store.save_as("吉" * 79 + "林", base)
    assert other.slug != restored.slug


# --------------------------------------------------------------------------- conflicts

def test_hand_edit_after_open_gives_conflict(store, base, root):
    slug = store.save_as("手工编辑", base).slug
    scn, _, stamp = store.open(slug)
    path = root / slug / "counties.csv"
    path.write_bytes(path.read_bytes().replace(b"76400", b"76500"))
    edited = tree(root / slug)
    with pytest.raises(ConflictError) as exc:
        store.save(slug, scn.with_param("pricing", "bargaining_weight", 0.8), stamp)
    assert "save as" in exc.value.text("en") and "另存为" in exc.value.text("zh")
    assert tree(root / slug) == edited  # the hand edit is kept
    # after reopening, the save goes through and the hand edit is in the history
    scn2, _, stamp2 = store.open(slug)
    assert scn2.counties.loc[0, "budget_wan"] == 76500
    store.save(slug, scn2.with_param("pricing", "bargaining_weight", 0.8), stamp2)
    assert store.open_version(slug, 1).counties.loc[0, "budget_wan"] == 76500


def test_stale_stamp_from_another_session_gives_conflict(store, base):
    slug = store.save_as("两个会话", base).slug
    a, _, stamp_a = store.open(slug)
    b, _, stamp_b = store.open(slug)
    assert stamp_a == stamp_b
    store.save(slug, a.with_param("pricing", "bargaining_weight", 0.1), stamp_a)
    with pytest.raises(ConflictError):
        store.save(slug, b.with_param("pricing", "bargaining_weight", 0.9), stamp_b)
    assert open_ok(store, slug).param("pricing", "bargaining_weight") == 0.1
    assert len(store.history(slug)) == 2


# --------------------------------------------------------------------------- crashes (real processes, SIGKILL)

posix_only = pytest.mark.skipif(not POSIX, reason="SIGKILL tests need POSIX")


@posix_only
def test_kill_between_the_two_renames_leaves_the_previous_version(tmp_path, root, base):
    slug = seed_variant(root, base, 0)
    before = file_bytes(root / slug)
    proc = start_child(child_script(tmp_path), "between", root, slug)
    read_until(proc, "BETWEEN")
    kill(proc)
    assert not (root / slug).exists(), "the child should have been stopped with the current folder moved away"

    store = ScenarioStore(root)  # recover() runs here
    scn = open_ok(store, slug)
    assert variant_of(scn) == 0
    assert file_bytes(root / slug) == before
    assert store.history(slug)[0]["version"] == 1
    # the scenario can be saved again once the dead process's lock has gone stale (60 s)
    expire_locks(root)
    scn, _, stamp = store.open(slug)
    info = store.save(slug, variant(base, 5), stamp)
    assert info.version == 2 and variant_of(open_ok(store, slug)) == 5
    assert variant_of(store.open_version(slug, 1)) == 0


@posix_only
def test_kill_at_random_moments_never_loses_or_mixes(tmp_path, base):
    script = child_script(tmp_path)
    rng = random.Random(7)
    expected = {k: variant(base, k).content_hash() for k in range(200)}
    trials, pairs_at_once = 4, 4
    for batch in range(trials // pairs_at_once):
        runs = []
        for j in range(pairs_at_once):
            r = tmp_path / f"root{batch}-{j}"
            r.mkdir()
            slug = seed_variant(r, base, 0)
            runs.append((r, slug, start_child(script, "loop", r, slug, 30)))
        for r, slug, proc in runs:
            read_until(proc, "READY")
        t_ready = time.monotonic()
        for (r, slug, proc), delay in zip(runs, sorted(rng.uniform(0, 0.6) for _ in runs)):
            time.sleep(max(0.0, t_ready + delay - time.monotonic()))
            kill(proc)
        moved_away = sum(not (r / slug).exists() for r, slug, _ in runs)
        print(f"kills between the two renames: {moved_away} of {len(runs)}")
        for r, slug, proc in runs:
            said = proc.stdout.read().split()
            # "SAVED 1" came before READY and was read already
            last_saved = max((int(said[i + 1]) for i, w in enumerate(said) if w == "SAVED"), default=1)
            store = ScenarioStore(r)
            scn = open_ok(store, slug)
            k = variant_of(scn)
            assert k is not None, "files from different saves were mixed"
            assert k in (last_saved, last_saved + 1), (k, last_saved)  # the old or the new content
            assert scn.content_hash() == expected[k]
            hist = store.history(slug)
            assert hist[0]["version"] >= 2 and hist[-1]["version"] == 1
            # every kept version is complete and consistent too
            for h in hist[1:]:
                old = store.open_version(slug, h["version"])
                assert variant_of(old) is not None and not errors(validate_scenario(old))
            assert variant_of(store.open_version(slug, 1)) == 0
            # and saving works again (once a lock left by the killed process is stale)
            expire_locks(r)
            s, _, stamp = store.open(slug)
            store.save(slug, variant(base, 199), stamp)
            assert variant_of(open_ok(ScenarioStore(r), slug)) == 199


@posix_only
def test_concurrent_saves_from_two_processes(tmp_path, root, base):
    slug = seed_variant(root, base, 0)
    script = child_script(tmp_path)
    procs = [start_child(script, "concurrent", root, slug, stdin=True) for _ in range(2)]
    try:
        version = 1
        for rnd in range(4):
            stamps = []
            for p in procs:
                p.stdin.write("open\n")
                p.stdin.flush()
                stamps.append(read_until(p, "STAMP").split()[1])
            assert stamps[0] == stamps[1], "both sessions opened the same version"
            before = file_bytes(root / slug)
            ks = (10 * rnd + 1, 10 * rnd + 2)
            t0 = time.time() + 0.1
            for p, k in zip(procs, ks):
                p.stdin.write(f"save {k} {t0}\n")
                p.stdin.flush()
            results = [read_until(p, "").split() for p in procs]
            words = sorted(r[0] for r in results)
            assert words == ["CONFLICT", "OK"], results
            winner = int(next(r[1] for r in results if r[0] == "OK"))
            version += 1
            store = ScenarioStore(root)
            scn = open_ok(store, slug)
            assert variant_of(scn) == winner
            assert scn.content_hash() == variant(base, winner).content_hash()
            hist = store.history(slug)
            assert [h["version"] for h in hist] == list(range(version, 0, -1))  # nothing lost, nothing extra
            assert file_bytes(root / ".versions" / slug / f"v{version - 1:04d}") == before
    finally:
        for p in procs:
            try:
                p.stdin.write("quit\n")
                p.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
            p.wait(timeout=10)
    assert not (root / ".locks" / f"{slug}.lock").exists()


@posix_only
def test_opening_a_store_while_another_process_saves(tmp_path, root, base, monkeypatch):
    """A new ScenarioStore (which runs recover()) while a save sits between its two renames must neither crash
    nor break that save: the saver gets a clean result or a StoreError, and the files stay whole."""
    slug = seed_variant(root, base, 0)
    proc = start_child(child_script(tmp_path), "race", root, slug, 2.5)
    read_until(proc, "READY")
    # slow reads, so that opening the scenario often overlaps a save's renames
    real_read = scenario_module.read_csv_file

    def slow_read(path, *args):  # slow after reading, so that the next file may already belong to another version
        table = real_read(path, *args)
        time.sleep(0.008)
        return table

    monkeypatch.setattr(scenario_module, "read_csv_file", slow_read)
    opened = seen = 0
    for phase, seconds in (("new stores", 0.6), ("open only", 1.0)):
        deadline = time.monotonic() + seconds
        store = ScenarioStore(root)
        while time.monotonic() < deadline:
            if phase == "new stores":
                store = ScenarioStore(root)
                opened += 1
            scn, problems, _ = store.open(slug)
            if scn is not None:  # never tables from two different saves
                seen += 1
                assert variant_of(scn) is not None, f"{phase}: a reader got files from two different versions"
    assert seen > 0
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    done = [line for line in out.splitlines() if line.startswith("DONE")]
    assert done, out + err
    saved, conflicts = int(done[0].split()[1]), int(done[0].split()[2])
    assert saved >= 2 and opened >= 2
    # nobody else changed the scenario: a conflict here would be a spurious one caused by recover()
    assert conflicts == 0
    store = ScenarioStore(root)
    scn = open_ok(store, slug)
    assert variant_of(scn) is not None
    hist = store.history(slug)
    for h in hist[1:]:
        assert variant_of(store.open_version(slug, h["version"])) is not None


@pytest.mark.parametrize("code,text", [(28, "No space left on device"), (30, "Read-only file system"),
                                       (13, "Permission denied")])
def test_disk_full_during_save_gives_a_clear_message_and_loses_nothing(tmp_path, monkeypatch, code, text):
    """A save that cannot write (disk full, read-only folder, no permission) raises StoreError with a clear
    message; the saved scenario is untouched and still opens. (Tests run as root, where permission bits do
    not bind, so the failing write is simulated.)"""

    from planner import load_checked
    from planner import store as store_mod
    from planner.store import ScenarioStore, StoreError

    store = ScenarioStore(tmp_path / "scenarios")
    scn, _ = load_checked(BASELINE)
    info = store.save_as("磁盘满", scn)

    def full(*args, **kwargs):
        raise OSError(code, text)

    monkeypatch.setattr(store_mod, "scenario_files", full)
    with pytest.raises(StoreError) as err:
        store.save(info.slug, scn.with_param("pricing", "bargaining_weight", 0.9), info.stamp)
    assert text in err.value.message_en and "磁盘" in err.value.message_zh
    monkeypatch.undo()
    again, problems, _ = ScenarioStore(tmp_path / "scenarios").open(info.slug)
    assert again is not None and again.param("pricing", "bargaining_weight") == scn.param("pricing", "bargaining_weight")


# --------------------------------------------------------------------------- every table of the schema (issue 12)

def with_ledger_tables(base: Scenario) -> Scenario:
    """The baseline plus a lot, yearly demand and a payment row, a horizon and saleable statuses."""
    import pandas as pd

    from planner.scenario import Scenario as S

    seller = base.seller_codes()[0]
    buyer = base.buyer_codes()[0]
    _, raw = base.to_raw()
    raw["pairs"] = raw["pairs"].drop(columns=["agreed_mu"])  # no deals: the lots below replace the supply
    raw["lots"] = pd.DataFrame({"lot_id": ["L1", "L2"], "county_code": [seller, seller],
                                "status": ["confirmed", "复垦中"], "ready_year": ["2018", "2020"],
                                "area_mu": ["100", "40.5"]})
    raw["demand"] = pd.DataFrame({"county_code": [buyer], "year": ["2019"], "demand_mu": ["30"]})
    raw["payments"] = pd.DataFrame({"seller_code": [seller], "buyer_code": [buyer], "milestone": ["signing"],
                                    "share": ["1"]})
    settings = dict(base.settings, horizon={"start_year": 2018, "end_year": 2021})
    settings["rules"] = dict(settings.get("rules", {}), saleable_status=["confirmed", "accepted"])
    return S.from_raw(settings, raw)


def test_every_table_is_a_scenario_file():
    from planner import schema

    assert set(SCENARIO_FILES) == {"scenario.toml", *(f for f, _, _ in schema.TABLES.values())}
    assert {"lots.csv", "demand.csv", "payments.csv"} <= set(SCENARIO_FILES)


def test_new_tables_save_version_and_reopen(store, base, root):
    scn = with_ledger_tables(base)
    assert not errors(validate_scenario(scn)), [p.text("en") for p in errors(validate_scenario(scn))]
    info = store.save_as("台账", scn)
    folder = root / info.slug
    assert {"lots.csv", "demand.csv", "payments.csv"} <= {p.name for p in folder.iterdir()}
    again = open_ok(store, info.slug)
    assert again.content_hash() == scn.with_param("scenario", "name", "台账").content_hash()
    assert again.lots["status"].tolist() == ["confirmed", "reclaiming"]
    assert again.settings["horizon"] == {"start_year": 2018, "end_year": 2021}
    assert again.settings["rules"]["saleable_status"] == ["confirmed", "accepted"]

    # a hand edit of lots.csv changes the stamp: a save with the old stamp is refused, nothing lost
    _, _, stamp = store.open(info.slug)
    seller = again.lots.loc[0, "county_code"]
    with open(folder / "lots.csv", "a", encoding="utf-8") as fh:  # columns: those the typed table writes
        fh.write(",".join({"lot_id": "L3", "county_code": seller, "status": "planned", "area_mu": "1"}.get(c, "")
                          for c in again.lots.columns) + "\n")
    with pytest.raises(ConflictError):
        store.save(info.slug, again, stamp)

    # dropping the tables removes their files; the earlier version keeps them
    _, _, stamp = store.open(info.slug)
    bare = again.copy()
    for table in ("lots", "demand", "payments"):
        setattr(bare, table, getattr(bare, table).iloc[0:0])
    store.save(info.slug, bare, stamp)
    assert not {"lots.csv", "demand.csv", "payments.csv"} & {p.name for p in folder.iterdir()}
    old = store.open_version(info.slug, 1)
    assert len(old.lots) == 3 and len(old.demand) == 1 and len(old.payments) == 1


# --------------------------------------------------------------------------- issue 17: dead locks, hand edits, names

@posix_only
def test_lock_of_a_killed_save_is_taken_over_at_once(tmp_path, root, base):
    """Issue 17 item 6: a killed save left its lock, and every save and delete then waited 10 s and failed for up
    to 60 s although the PID in the lock was dead. The lock is the operating system's now: free when its holder
    dies. The lock file names its holder."""
    slug = seed_variant(root, base, 0)
    proc = start_child(child_script(tmp_path), "between", root, slug)
    read_until(proc, "BETWEEN")
    holder = json.loads((root / ".locks" / f"{slug}.lock").read_text())
    assert holder["pid"] == proc.pid and holder["host"] and holder["process_started"]
    kill(proc)
    t0 = time.monotonic()
    store = ScenarioStore(root)  # no expire_locks(): nothing waits for the dead process
    scn, _, stamp = store.open(slug)
    assert variant_of(scn) == 0
    info = store.save(slug, variant(base, 3), stamp)
    assert time.monotonic() - t0 < 3.0
    assert info.version == 2 and variant_of(open_ok(store, slug)) == 3
    assert not (root / ".versions" / slug / ".pending.json").exists()
    assert not (root / ".locks" / f"{slug}.lock").exists()


@posix_only
def test_killed_save_is_put_back_by_the_next_save_without_a_new_store(tmp_path, root, base):
    """The next holder of the lock, not only a new store's recover(), finishes what a killed save left."""
    slug = seed_variant(root, base, 0)
    store = ScenarioStore(root)
    scn, _, stamp = store.open(slug)
    proc = start_child(child_script(tmp_path), "between", root, slug)
    read_until(proc, "BETWEEN")
    kill(proc)
    info = store.save(slug, variant(base, 4), stamp)  # the stamp of version 1, which is put back first
    assert info.version == 2 and variant_of(open_ok(store, slug)) == 4
    assert variant_of(store.open_version(slug, 1)) == 0
    assert [h["version"] for h in store.history(slug)] == [2, 1]


def test_a_live_lock_still_excludes_other_threads(store, base):
    import threading

    slug = store.save_as("线程", base).slug
    refused = []

    def other():
        try:
            with store._lock(slug, timeout=0.2):
                pass
        except StoreError:
            refused.append(True)

    with store._lock(slug):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert refused == [True]
    with store._lock(slug, timeout=0.2):  # and free again afterwards
        pass


def test_files_added_by_hand_and_toml_comments_survive_a_save(store, base, root):
    """Issue 17 item 8: notes, maps and TOML comments added by hand vanished from the current folder on the next
    save. Unknown files and folders are carried into each new version; scenario.toml keeps its comments and
    unknown keys, and only the changed value is rewritten."""
    slug = store.save_as("手工文件", base).slug
    folder = root / slug
    (folder / "说明.txt").write_text("会议纪要：保留", encoding="utf-8")
    (folder / "maps").mkdir()
    (folder / "maps" / "boundary.geojson").write_bytes(b'{"type": "FeatureCollection"}')
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    toml = toml.replace("[pricing]\n", "# 价格按 2019 年会议确定\n[pricing]\n")
    toml = toml.replace("bargaining_weight = 0.5", "bargaining_weight = 0.5  # θ：双方议定")
    toml += "\n[notes]\nowner = \"省厅耕保处\"  # unknown section, kept\n"
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    scn, _, stamp = store.open(slug)
    store.save(slug, scn.with_param("pricing", "bargaining_weight", 0.7), stamp)
    assert (folder / "说明.txt").read_text(encoding="utf-8") == "会议纪要：保留"
    assert (folder / "maps" / "boundary.geojson").read_bytes() == b'{"type": "FeatureCollection"}'
    saved = (folder / "scenario.toml").read_text(encoding="utf-8")
    assert "# 价格按 2019 年会议确定\n[pricing]" in saved
    assert "bargaining_weight = 0.7  # θ：双方议定" in saved
    assert 'owner = "省厅耕保处"  # unknown section, kept' in saved
    assert saved == toml.replace("bargaining_weight = 0.5", "bargaining_weight = 0.7")
    assert open_ok(store, slug).param("pricing", "bargaining_weight") == 0.7
    assert (root / ".versions" / slug / "v0001" / "说明.txt").exists()  # the earlier version keeps them too


def test_a_folder_deleted_by_hand_does_not_come_back(store, base, root):
    """Issue 17 item 8: a scenario folder deleted by hand came back at an older version on the next start. Its
    history goes to the trash instead (recoverable there), and the name starts afresh."""
    slug = store.save_as("手工删除", base).slug
    scn, _, stamp = store.open(slug)
    store.save(slug, scn.with_param("pricing", "bargaining_weight", 0.2), stamp)
    shutil.rmtree(root / slug)
    store = ScenarioStore(root)
    assert not store.exists(slug) and not (root / slug).exists()
    assert slug not in [i.slug for i in store.list()]
    (entry,) = store.trash()
    info = store.save_as("手工删除", base.with_param("pricing", "bargaining_weight", 0.9))
    assert info.version == 1 and [h["version"] for h in store.history(slug)] == [1]
    store.delete(slug)
    restored = store.restore_from_trash(entry)  # the newest version that was left, with the one before it
    assert open_ok(store, restored.slug).param("pricing", "bargaining_weight") == 0.5
    assert [h["version"] for h in store.history(restored.slug)] == [1]


def test_a_new_scenario_never_takes_the_baselines_folder(store, base, root):
    """Issue 17 item 8: a new scenario saved under the name of the shipped baseline became read-only (its folder
    was the baseline's read-only slug). Such a name is refused with a message, whether or not the baseline's
    folder is there."""
    shutil.rmtree(root / "jilin-baseline")
    store = ScenarioStore(root)
    for name in ("jilin-baseline", "Jilin Baseline", " JILIN  baseline!"):
        with pytest.raises(StoreError) as exc:
            store.save_as(name, base)
        assert "baseline" in exc.value.text("en") and "基准" in exc.value.text("zh")
    slug = store.save_as("别的名字", base).slug
    with pytest.raises(StoreError):
        store.rename(slug, "jilin baseline")
    assert not (root / "jilin-baseline").exists()
    assert all(not i.read_only for i in store.list())


def test_names_differing_by_a_tab_do_not_share_a_folder(store, base, root):
    """Issue 17 item 8: "a b" and "a\\tb" collided. Control characters are refused in names."""
    info = store.save_as("a b", base)
    before = tree(root / info.slug)
    for name in ("a\tb", "a\nb", "a\u202eb", "a\rb"):
        with pytest.raises(StoreError) as exc:
            store.save_as(name, base)
        assert "control" in exc.value.text("en")
    assert tree(root / info.slug) == before and open_ok(store, info.slug).name == "a b"


def test_an_unchanged_scenario_is_read_once_for_every_session(store, base, root, monkeypatch):
    """Every new app session opens the default scenario: the second open is the first one's object (issue 17),
    until the files change on disk; an invalid folder is read again every time."""
    import planner.store as store_module

    slug = store.save_as("共享读取", base).slug
    reads = []
    real = store_module.load_checked
    monkeypatch.setattr(store_module, "load_checked", lambda folder: reads.append(folder) or real(folder))
    a, problems_a, stamp_a = store.open(slug)
    b, problems_b, stamp_b = ScenarioStore(root).open(slug)  # another session's store object
    assert b is a and stamp_b == stamp_a and problems_b == problems_a and len(reads) == 1
    problems_b.append("mine")  # a caller's list is its own
    assert store.open(slug)[1] == problems_a
    path = root / slug / "counties.csv"
    path.write_bytes(path.read_bytes().replace(b"76400", b"76500"))
    c, _, stamp_c = store.open(slug)
    assert c is not a and stamp_c != stamp_a and c.counties.loc[0, "budget_wan"] == 76500 and len(reads) == 2
    (root / slug / "counties.csv").write_text("code,name\n", encoding="utf-8")
    assert store.open(slug)[0] is None and store.open(slug)[0] is None and len(reads) == 4
