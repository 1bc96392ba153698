"""The scenario store: list, open, save (atomic, versioned, conflict-checked), save as, clone, rename, delete.

Layout under the store root (normally `scenarios/`):

    <slug>/                      the current version, in the plain DESIGN section 3 format (human-editable);
                                 files added by hand (notes, maps) are carried into every new version
    <slug>/.meta.json            version number and save time (absent in hand-made folders: version 0)
    .versions/<slug>/v0003/      earlier versions, each a complete folder
    .versions/<slug>/.pending.json   only while a save is between its two renames
    .trash/<slug>-<time>/        deleted scenarios with their versions, recoverable
    .staging/, .locks/           work areas for saves in progress

A save writes the new folder in `.staging`, fsyncs it, then under a lock notes in `.pending.json` which version it
moves aside, moves the current folder into `.versions` and the new one into place: two renames, each atomic. A
crash between them leaves the previous version complete in `.versions` and the note says so; the next holder of the
lock (or `recover()`, run by every store) puts it back. A folder deleted by hand has no such note: its history goes
to the trash instead of bringing it back. The lock is held by the operating system (flock), so a killed saver's
lock is free at once. The version stamp a session got when it opened a scenario is a hash of the files; saving
with a stale stamp raises `ConflictError` instead of overwriting.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from planner import i18n, schema
from planner.csvio import FileReadError
from planner.disk import UNLINK_WHILE_LOCKED, fsync_dir, try_lock, write_synced
from planner.scenario import TOML_NAME, Scenario, parse_toml_text, scenario_files, settings_toml_bytes
from planner.validate import Problem, load_checked


META_NAME = ".meta.json"
PENDING_NAME = ".pending.json"
_STARTED = dt.datetime.now().astimezone().isoformat(timespec="seconds")
READ_ONLY = frozenset({"jilin-baseline"})
RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                      *(f"lpt{i}" for i in range(1, 10))})
SCENARIO_FILES = (TOML_NAME, *(f for f, _, _ in schema.TABLES.values()))
MAX_SLUG_BYTES = 120  # in UTF-8; leaves room for the trash suffix under the usual 255-byte file name limit


class StoreError(Exception):
    """A store operation was refused; carries a bilingual message for the UI and the command line."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    @classmethod
    def of(cls, code: str, /, **fmt) -> StoreError:
        """The error with the locale template store_error.<code> as its Chinese and English message."""
        return cls(*i18n.both(f"store_error.{code}", **fmt))

    def text(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


class ConflictError(StoreError):
    pass


class ReadOnlyError(StoreError):
    pass


class InvalidScenarioError(StoreError):
    def __init__(self, problems: list[Problem]):
        super().__init__(*i18n.both("store_error.invalid", n=len(problems)))
        self.problems = problems


@dataclass(frozen=True)
class ScenarioInfo:
    slug: str
    name: str
    version: int
    saved_at: str
    read_only: bool
    stamp: str


def slugify(name: str) -> str:
    """A safe folder name: letters, digits, CJK, '-' and '_'; refuses names that could leave the store."""
    text = (name or "").strip()
    if not text:
        raise StoreError.of("name_empty")
    if len(text) > 80:
        raise StoreError.of("name_too_long", most=80)
    if "/" in text or "\\" in text or text.startswith(".") or ".." in text or ":" in text or "\x00" in text:
        raise StoreError.of("name_path")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):  # "a\tb" would share the folder of "a b"
        raise StoreError.of("name_control")
    slug = re.sub(r"[^0-9A-Za-z_\-\u3400-\u9fff]+", "-", text).strip("-_").lower()
    if not slug:
        slug = "scenario-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    if len(slug.encode("utf-8")) > MAX_SLUG_BYTES:  # e.g. 80 Chinese characters are 240 bytes
        head = slug.encode("utf-8")[:MAX_SLUG_BYTES - 9].decode("utf-8", "ignore").rstrip("-_")
        slug = f"{head}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"
    if slug.split(".")[0] in RESERVED:
        raise StoreError.of("name_reserved")
    return slug


def files_stamp(folder: Path) -> str:
    """Hash of the scenario files as they are on disk (detects saves by others and hand edits)."""
    h = hashlib.sha256()
    for name in SCENARIO_FILES:
        path = folder / name
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):  # absent, or moved away by a save
            continue
        h.update(name.encode())
        h.update(data)
    return h.hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _disk_errors_as_store_errors(method):
    """A full disk or a folder without write permission becomes a clear StoreError, never a traceback; the
    two-rename save means what was saved before is still intact when this happens."""
    import functools

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except StoreError:
            raise
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StoreError.of("write_failed", reason=reason) from exc

    return wrapper


def _log_save(kind: str, info: ScenarioInfo, scn: Scenario, note: str) -> None:
    from planner.audit import log_event

    log_event(kind, slug=info.slug, scenario_name=info.name, version=info.version, stamp=info.stamp,
              scenario_hash=scn.content_hash(), note=note)


# Valid scenarios as last read, by folder and files stamp (the hash of the files' bytes, so any change on disk
# misses). Every new session of the app opens the default scenario: reading and checking it is ~0.15 s of CPU, and 40
# colleagues opening the app in the same second waited up to 20 s for their first page (issue 17). A scenario is
# never changed in place, so one object serves every session.
_OPENED_MAX = 16  # the app's compare page may hold several saved scenarios at once
_OPENED: OrderedDict[tuple[str, str], tuple[Scenario, tuple[Problem, ...]]] = OrderedDict()
_OPENED_LOCK = threading.Lock()


def _opened(folder: Path, stamp: str) -> tuple[Scenario, list[Problem], str] | None:
    with _OPENED_LOCK:
        hit = _OPENED.get((str(folder), stamp))
        if hit is None:
            return None
        _OPENED.move_to_end((str(folder), stamp))
    return hit[0], list(hit[1]), stamp


def _remember_opened(folder: Path, stamp: str, scn: Scenario, problems: list[Problem]) -> None:
    with _OPENED_LOCK:
        _OPENED[(str(folder), stamp)] = (scn, tuple(problems))
        while len(_OPENED) > _OPENED_MAX:
            _OPENED.popitem(last=False)


class ScenarioStore:
    def __init__(self, root: Path, read_only: frozenset[str] = READ_ONLY):
        self.root = Path(root).resolve()
        self.read_only = read_only
        self.root.mkdir(parents=True, exist_ok=True)
        self.recover()

    # -- paths
    def _folder(self, slug: str) -> Path:
        if (not slug or slug != slug.strip() or slug.startswith(".") or ".." in slug
                or any(ch in slug for ch in "/\\:\x00") or slug.split(".")[0].lower() in RESERVED
                or len(slug.encode("utf-8")) > 200):
            raise StoreError.of("bad_slug")
        path = (self.root / slug).resolve()
        if path.parent != self.root:
            raise StoreError.of("path_outside")
        return path

    def _versions(self, slug: str) -> Path:
        return self.root / ".versions" / slug

    @contextmanager
    def _lock(self, slug: str, timeout: float = 10.0, settle: bool = True):
        """Cross-process and cross-thread lock on `.locks/<slug>.lock`, held by the operating system: when its holder
        is killed the lock is free at once (issue 17: a lock left by a killed save blocked every save for 60 s).
        The file names its holder (pid, host, start time) for whoever looks; it is removed by its holder on release,
        so a waiter that opened the old file checks it still locks the file in place."""
        locks = self.root / ".locks"
        locks.mkdir(exist_ok=True)
        path = locks / f"{slug}.lock"
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            if try_lock(fd):
                try:
                    if os.fstat(fd).st_ino == os.stat(path).st_ino:
                        break
                except FileNotFoundError:
                    pass
            os.close(fd)
            if time.monotonic() > deadline:
                raise StoreError.of("locked") from None
            time.sleep(0.02)
        try:
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "process_started": _STARTED, "since": _now()}
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(holder).encode())
            if settle:
                self._settle(slug)
            yield
        finally:
            if UNLINK_WHILE_LOCKED:  # unlinked while still held (on Windows it stays)
                path.unlink(missing_ok=True)
            os.close(fd)

    def _settle(self, slug: str) -> bool:
        """Under the slug's lock: put back the version a killed save moved aside (its `.pending.json` says which);
        and send the history of a folder deleted by hand to the trash, so that it never comes back by itself at
        an older version and a new scenario of that name starts a history of its own (issue 17)."""
        folder, vdir = self.root / slug, self._versions(slug)
        pending, restored = vdir / PENDING_NAME, False
        if pending.is_file():
            try:
                moved = vdir / str(json.loads(pending.read_text(encoding="utf-8"))["moved"])
            except (OSError, ValueError, KeyError, TypeError):
                moved = self._latest_version_dir(slug)
            if not folder.exists() and moved is not None and moved.is_dir() and moved.parent == vdir:
                # copy aside, then one atomic rename: never a half-copied folder in place
                (self.root / ".staging").mkdir(exist_ok=True)
                tmp = self.root / ".staging" / f"recover-{uuid.uuid4().hex}"
                try:
                    shutil.copytree(moved, tmp)
                    os.rename(tmp, folder)
                    restored = True
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
            pending.unlink()
            fsync_dir(vdir)
            return restored
        if not folder.exists() and self._latest_version_dir(slug) is not None:
            entry = self._trash_entry(slug)
            os.rename(self._latest_version_dir(slug), entry / "current")
            os.rename(vdir, entry / "versions")
        return False

    def _trash_entry(self, slug: str) -> Path:
        trash = self.root / ".trash"
        trash.mkdir(exist_ok=True)
        entry = trash / f"{slug}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        entry.mkdir()
        return entry

    # -- reading
    def recover(self) -> list[str]:
        """Put back scenarios whose save was interrupted between its two renames; clear stale staging.

        On a read-only or full disk nothing can be put back; reading still works, so that is not an error here."""
        restored: list[str] = []
        try:
            self._recover(restored)
        except OSError:
            pass
        return restored

    def _recover(self, restored: list[str]) -> None:
        versions = self.root / ".versions"
        if versions.is_dir():
            for vdir in versions.iterdir():
                try:
                    self._folder(vdir.name)
                except StoreError:
                    continue
                # a missing folder: a save between its two renames (its lock is held: let it finish), a killed
                # save (the lock is free and .pending.json says what to put back) or a deletion by hand
                deadline = time.monotonic() + 1.0
                while vdir.is_dir() and not (self.root / vdir.name).exists() and time.monotonic() < deadline:
                    try:
                        with self._lock(vdir.name, timeout=0, settle=False):
                            if self._settle(vdir.name):
                                restored.append(vdir.name)
                        break
                    except StoreError:
                        time.sleep(0.01)
        staging = self.root / ".staging"
        if staging.is_dir():
            for item in staging.iterdir():
                try:
                    if time.time() - item.stat().st_mtime > 3600:
                        shutil.rmtree(item, ignore_errors=True)
                except OSError:
                    pass

    def _latest_version_dir(self, slug: str) -> Path | None:
        vdir = self._versions(slug)
        if not vdir.is_dir():
            return None
        dirs = sorted(d for d in vdir.iterdir() if d.is_dir() and re.fullmatch(r"v\d+", d.name))
        return dirs[-1] if dirs else None

    def _meta(self, folder: Path) -> dict:
        try:
            return json.loads((folder / META_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def info(self, slug: str) -> ScenarioInfo:
        folder = self._folder(slug)
        if not (folder / TOML_NAME).is_file():
            raise StoreError.of("not_found", slug=slug)
        meta = self._meta(folder)
        name = slug
        try:
            section = parse_toml_text((folder / TOML_NAME).read_text(encoding="utf-8-sig")).get("scenario")
            name = section.get("name", slug) if isinstance(section, dict) else slug
        except (OSError, ValueError, UnicodeDecodeError, FileReadError):
            pass
        return ScenarioInfo(slug, str(name), int(meta.get("version", 0)), str(meta.get("saved_at", "")),
                            slug in self.read_only, files_stamp(folder))

    def list(self) -> list[ScenarioInfo]:
        out = []
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and not folder.name.startswith(".") and (folder / TOML_NAME).is_file():
                try:
                    out.append(self.info(folder.name))
                except StoreError:  # a hand-made folder whose name the store cannot address safely
                    continue
        # the read-only default first
        return sorted(out, key=lambda i: (not i.read_only, i.name))

    def exists(self, slug: str) -> bool:
        try:
            return (self._folder(slug) / TOML_NAME).is_file()
        except StoreError:
            return False

    def open(self, slug: str) -> tuple[Scenario | None, list[Problem], str]:
        """(scenario or None, problems, version stamp to pass back to save). A valid scenario read before, with the
        same files, comes from memory (see `_OPENED`)."""
        folder = self._folder(slug)
        hit = _opened(folder, files_stamp(folder))
        if hit is not None:
            return hit
        for _ in range(50):
            stamp = files_stamp(folder)
            scn, problems = load_checked(folder)
            # a save by another process can swap the folder while it is read: read again until the files did
            # not change during the read, so the tables never come from two different versions
            if files_stamp(folder) == stamp:
                break
            time.sleep(0.01)
        if scn is not None:
            _remember_opened(folder, stamp, scn, problems)
        return scn, problems, stamp

    # -- writing
    @_disk_errors_as_store_errors
    def save(self, slug: str, scn: Scenario, expected_stamp: str | None, note: str = "") -> ScenarioInfo:
        """Save over an existing scenario; refuses if someone else saved since `expected_stamp`."""
        if slug in self.read_only:
            raise ReadOnlyError.of("baseline_read_only")
        folder = self._folder(slug)
        self._check_valid(scn)
        staged = self._stage(scn, note)
        try:
            with self._lock(slug):
                current = files_stamp(folder) if folder.exists() else None
                if folder.exists() and expected_stamp is not None and current != expected_stamp:
                    raise ConflictError.of("conflict_changed")
                version = int(self._meta(folder).get("version", 0)) if folder.exists() else 0
                self._write_meta(staged, version + 1, note)
                vdir = self._versions(slug)
                if folder.exists():
                    self._carry_over(folder, staged, scn)
                    vdir.mkdir(parents=True, exist_ok=True)
                    target = vdir / f"v{version:04d}"
                    if target.exists():
                        shutil.rmtree(target)
                    write_synced(vdir / PENDING_NAME, json.dumps({"moved": target.name}).encode())
                    os.rename(folder, target)
                try:
                    os.rename(staged, folder)
                except OSError:
                    if not folder.exists():
                        raise
                    # another process's recover() put the previous version back meanwhile: nothing is lost,
                    # but this save did not happen
                    raise ConflictError.of("conflict_restored") from None
                fsync_dir(self.root)
                (vdir / PENDING_NAME).unlink(missing_ok=True)
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        info = self.info(slug)
        _log_save("save", info, scn, note)
        return info

    @_disk_errors_as_store_errors
    def save_as(self, name: str, scn: Scenario, note: str = "") -> ScenarioInfo:
        """Save under a new name (a new folder); refuses an existing name."""
        slug = self.slug_for_new(name)
        if self.exists(slug):
            raise StoreError.of("name_taken", name=name)
        scn = scn.with_param("scenario", "name", name.strip())
        self._check_valid(scn)
        staged = self._stage(scn, note)
        try:
            with self._lock(slug):
                if self._folder(slug).exists():
                    raise StoreError.of("name_taken", name=name)
                self._write_meta(staged, 1, note)
                os.rename(staged, self._folder(slug))
                fsync_dir(self.root)
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        info = self.info(slug)
        _log_save("save_as", info, scn, note)
        return info

    @_disk_errors_as_store_errors
    def clone(self, slug: str, new_name: str) -> ScenarioInfo:
        scn, problems, _ = self.open(slug)
        if scn is None:
            raise InvalidScenarioError(problems)
        return self.save_as(new_name, scn, note=f"clone of {slug}")

    @_disk_errors_as_store_errors
    def rename(self, slug: str, new_name: str) -> ScenarioInfo:
        if slug in self.read_only:
            raise ReadOnlyError.of("baseline_rename")
        new_slug = self.slug_for_new(new_name) if slugify(new_name) != slug else slug
        scn, problems, stamp = self.open(slug)
        if scn is None:
            raise InvalidScenarioError(problems)
        if new_slug != slug and self.exists(new_slug):
            raise StoreError.of("name_exists", name=new_name)
        if new_slug != slug:
            with self._lock(slug):
                os.rename(self._folder(slug), self._folder(new_slug))
                if self._versions(slug).exists():
                    os.rename(self._versions(slug), self._versions(new_slug))
            stamp = files_stamp(self._folder(new_slug))
        return self.save(new_slug, scn.with_param("scenario", "name", new_name.strip()), stamp, note="rename")

    @_disk_errors_as_store_errors
    def delete(self, slug: str) -> str:
        """Move to the trash (recoverable); returns the trash entry name."""
        if slug in self.read_only:
            raise ReadOnlyError.of("baseline_delete")
        folder = self._folder(slug)
        if not folder.exists():
            raise StoreError.of("not_found", slug=slug)
        with self._lock(slug):
            if not folder.exists():
                raise StoreError.of("not_found", slug=slug)
            entry = self._trash_entry(slug)
            os.rename(folder, entry / "current")
            if self._versions(slug).exists():
                os.rename(self._versions(slug), entry / "versions")
        return entry.name

    def trash(self) -> list[str]:
        t = self.root / ".trash"
        return sorted((d.name for d in t.iterdir() if d.is_dir()), reverse=True) if t.is_dir() else []

    @_disk_errors_as_store_errors
    def restore_from_trash(self, entry: str) -> ScenarioInfo:
        t = (self.root / ".trash" / entry).resolve()
        if t.parent != (self.root / ".trash").resolve() or not (t / "current").is_dir():
            raise StoreError.of("no_trash_entry")
        slug = re.sub(r"-\d{8}-\d{6}-[0-9a-f]{4}$", "", entry)
        if self.exists(slug):
            slug = f"{slug}-restored-{uuid.uuid4().hex[:4]}"
        os.rename(t / "current", self._folder(slug))
        if (t / "versions").exists():
            self._versions(slug).parent.mkdir(exist_ok=True)
            os.rename(t / "versions", self._versions(slug))
        shutil.rmtree(t, ignore_errors=True)
        return self.info(slug)

    # -- versions
    def history(self, slug: str) -> list[dict]:
        """Earlier versions, newest first, plus the current one at the top."""
        out = []
        cur = self.info(slug)
        out.append({"version": cur.version, "saved_at": cur.saved_at, "current": True,
                    "note": self._meta(self._folder(slug)).get("note", "")})
        vdir = self._versions(slug)
        if vdir.is_dir():
            for d in sorted((d for d in vdir.iterdir() if re.fullmatch(r"v\d+", d.name)), reverse=True):
                meta = self._meta(d)
                out.append({"version": int(d.name[1:]), "saved_at": meta.get("saved_at", ""), "current": False,
                            "note": meta.get("note", "")})
        return out

    def open_version(self, slug: str, version: int) -> Scenario:
        self._folder(slug)  # refuses identifiers that would leave the store
        d = self._versions(slug) / f"v{int(version):04d}"
        if not d.is_dir():
            raise StoreError.of("no_version", version=version)
        scn, problems = load_checked(d)
        if scn is None:
            raise InvalidScenarioError(problems)
        return scn

    @_disk_errors_as_store_errors
    def restore_version(self, slug: str, version: int) -> ScenarioInfo:
        """Make an earlier version current again (itself a new, versioned save)."""
        scn = self.open_version(slug, version)
        return self.save(slug, scn, files_stamp(self._folder(slug)), note=f"restore v{version}")

    # -- internals
    def slug_for_new(self, name: str) -> str:
        """The folder a new scenario of this name gets (slugify), refusing a read-only one (the shipped baseline's)
        even when that folder is missing, so a new scenario never becomes read-only by its name. For the UI's
        folder preview too."""
        slug = slugify(name)
        if slug in self.read_only:
            raise StoreError.of("name_baseline", name=name.strip(), slug=slug)
        return slug

    def _check_valid(self, scn: Scenario) -> None:
        from planner.validate import errors, validate_scenario

        problems = errors(validate_scenario(scn))
        if problems:
            raise InvalidScenarioError(problems)

    def _stage(self, scn: Scenario, note: str) -> Path:
        staging = self.root / ".staging"
        staging.mkdir(exist_ok=True)
        path = staging / uuid.uuid4().hex
        path.mkdir()
        for name, data in scenario_files(scn).items():
            write_synced(path / name, data)
        fsync_dir(path)
        return path

    def _carry_over(self, folder: Path, staged: Path, scn: Scenario) -> None:
        """What the planner does not write itself stays with the scenario: files and folders added by hand (notes,
        maps) are copied into the new version, and scenario.toml keeps its comments and layout where only values
        changed (planner.scenario.settings_toml_bytes; unknown keys are always kept)."""
        for item in folder.iterdir():
            if item.name in SCENARIO_FILES or item.name == META_NAME:
                continue
            if item.is_dir() and not item.is_symlink():
                shutil.copytree(item, staged / item.name, symlinks=True)
            else:
                shutil.copy2(item, staged / item.name, follow_symlinks=False)
        try:
            previous = (folder / TOML_NAME).read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return
        write_synced(staged / TOML_NAME, settings_toml_bytes(scn.settings, previous))

    def _write_meta(self, folder: Path, version: int, note: str) -> None:
        with open(folder / META_NAME, "w", encoding="utf-8") as fh:
            json.dump({"version": version, "saved_at": _now(), "note": note}, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
