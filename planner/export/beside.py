"""Writing one document in a second process while this one writes the others.

Why: the command line writes five kinds of documents one after another, all pure Python under one GIL; at national
size with lots (3,151 pairings) that was ~35 s, the workbook alone ~20 s. A forked child writes the workbook on the
second core from the same memory (copy-on-write: nothing is pickled or re-read). Where fork is missing (Windows) or
the child fails, the document is written here instead, so a plan never lacks a document.
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import Callable

NO_FORK_ENV = "PLANNER_NO_FORK"  # set to write every document in this process (debugging, measuring)


def start_beside(write: Callable[[], object]) -> Callable[[], None]:
    """Start `write()` in a forked child; returns `join()`, which waits for it (and writes here if it failed)."""
    if not hasattr(os, "fork") or os.environ.get(NO_FORK_ENV):
        write()
        return lambda: None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: write, then leave at once (no atexit handlers, no buffers of the parent flushed)
        code = 1
        try:
            write()
            code = 0
        except BaseException:  # noqa: BLE001 - reported, and the parent writes the document itself
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)

    def join() -> None:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            write()

    return join
