"""Durable files for the scenario store and the drafts: fsynced writes and directories, and the operating system's
file lock (released when its process dies, so a killed saver never leaves a stale lock)."""
from __future__ import annotations

import os
from pathlib import Path

try:  # POSIX flock; msvcrt on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

UNLINK_WHILE_LOCKED = fcntl is not None  # POSIX unlinks a held lock file; Windows cannot unlink an open file


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    """Write and fsync: the bytes are on disk before any rename that publishes them."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def try_lock(fd: int) -> bool:
    """Take the operating system's exclusive lock on an open file without waiting; False when another holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False
