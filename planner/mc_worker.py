"""A worker process for planner.sensitivity.monte_carlo: `python -m planner.mc_worker`.

Started as a fresh interpreter (never forked, and never importing the caller's main script — under `streamlit run`
the main module is the app script, which multiprocessing's "spawn" would run again in every child). Protocol, all
pickles: the worker writes ("ready", pid) once it has imported the planner; it reads one message
(common_args, [(chunk_index, seeds), ...]) from stdin; it writes (chunk_index, result) per chunk, then exits.
Anything the solvers print goes to stderr, so stdout carries only the protocol.
"""
from __future__ import annotations

import os
import pickle
import sys


def main() -> int:
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C-level prints must not corrupt the protocol stream
    from planner.sensitivity import _run_chunk

    pickle.dump(("ready", os.getpid()), proto)
    proto.flush()
    common, chunks = pickle.load(sys.stdin.buffer)
    scn, price_pct, quantity_pct, solver, time_limit = common
    for index, seeds in chunks:
        result = _run_chunk((scn, seeds, price_pct, quantity_pct, solver, time_limit))
        pickle.dump((index, result), proto)
        proto.flush()
    proto.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
