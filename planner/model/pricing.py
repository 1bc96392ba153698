"""Work over millions of columns, split in blocks run by threads: the pricing step of column generation.

Why: at national size with lots, column generation prices 4 million columns a round for about 200 rounds. In one
thread that was a quarter of the solve (15 of 64 s) while the second core sat idle. numpy's element-wise work and
scipy's sparse product release the GIL, so threads over blocks of columns use every core. Each column is computed
exactly as in one thread (its own row of A', in the same order), so the numbers, and with them the plan, do not
depend on how many cores the machine has.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import scipy.sparse as sp

MIN_BLOCK = 250_000  # columns: on fewer, a thread costs more than it saves
MAX_WORKERS = 4

try:  # what `A' @ y` itself calls: it takes a block's rows in place, where slicing the matrix would copy them
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a scipy without it: each block is copied once instead
    _csr_matvec = None


class BlockPricing:
    """Column blocks of a model, and the reduced costs c - A'y of all its columns computed block by block."""

    def __init__(self, AT: sp.csr_matrix, c: np.ndarray, workers: int | None = None):
        n = AT.shape[0]
        workers = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS)
        k = max(1, min(workers, n // MIN_BLOCK))
        edges = np.linspace(0, n, k + 1).astype(np.int64)
        self.blocks = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
        self.AT, self.c = AT, np.asarray(c, dtype=float)
        self.rc = np.empty(n)  # the latest reduced costs, overwritten by every `block_reduced_costs`
        # Scratch space for a block's work, kept: 30 MB arrays made afresh each round cost page faults (seconds).
        self._scratch = np.empty(n)
        self._copies = None  # block start -> the block's rows, when they cannot be read in place
        if _csr_matvec is None or AT.indptr.dtype != AT.indices.dtype:
            self._copies = {lo: AT[lo:hi] for lo, hi in self.blocks}

    def map(self, work: Callable[[int, int], object]) -> list:
        """work(lo, hi) for each block of columns [lo, hi), in threads when there are several; results in order."""
        if len(self.blocks) == 1:
            return [work(*self.blocks[0])]
        with ThreadPoolExecutor(len(self.blocks)) as pool:  # a few threads a round: nothing lives on after
            return list(pool.map(lambda block: work(*block), self.blocks))

    def block_reduced_costs(self, y: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """rc[lo:hi] = c[lo:hi] - (A'y)[lo:hi], written into `rc`; returns that slice."""
        out = self.rc[lo:hi]
        if self._copies is not None:
            product = self._copies[lo] @ y
        else:
            product = self.scratch(lo, hi)
            product.fill(0.0)
            at = self.AT
            _csr_matvec(hi - lo, at.shape[1], at.indptr[lo:hi + 1], at.indices, at.data, y, product)
        np.subtract(self.c[lo:hi], product, out=out)
        return out

    def scratch(self, lo: int, hi: int) -> np.ndarray:
        """Space for work on columns lo..hi, free again once the block's work has read it."""
        return self._scratch[lo:hi]

    def positions(self, values: np.ndarray, threshold: float, inclusive: bool) -> np.ndarray:
        """Where values > threshold (>= when inclusive), over the blocks and any tail of `values` beyond them."""
        test = np.greater_equal if inclusive else np.greater

        def find(lo, hi):
            return lo + np.nonzero(test(values[lo:hi], threshold))[0]

        found = self.map(find)
        n = self.blocks[-1][1]
        if len(values) > n:
            found.append(find(n, len(values)))
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
