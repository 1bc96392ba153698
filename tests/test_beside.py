"""planner.export.beside: a document written by a forked child, or here when that fails."""
from __future__ import annotations

import os

import pytest

from planner.export import beside

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")


def test_the_child_writes_the_file_and_the_parent_does_not(tmp_path):
    target = tmp_path / "doc.txt"
    writers = []

    def write():
        writers.append(os.getpid())  # only the child's list grows: the parent's stays empty if the child succeeds
        target.write_text(str(os.getpid()), encoding="utf-8")

    join = beside.start_beside(write)
    join()
    assert target.exists() and int(target.read_text(encoding="utf-8")) != os.getpid()
    assert writers == []


def test_a_failing_child_is_replaced_by_writing_here(tmp_path):
    target = tmp_path / "doc.txt"

    def write():
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        target.write_text("parent", encoding="utf-8")

    parent = os.getpid()
    beside.start_beside(write)()
    assert target.read_text(encoding="utf-8") == "parent"


def test_without_fork_it_writes_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv(beside.NO_FORK_ENV, "1")
    calls = []
    join = beside.start_beside(lambda: calls.append(os.getpid()))
    assert calls == [os.getpid()]
    join()
    assert calls == [os.getpid()]
