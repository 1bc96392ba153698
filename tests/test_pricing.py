"""Pricing in threads over blocks of columns gives exactly what one thread gives (so the plan does not depend on
the machine's cores)."""
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.model import pricing  # noqa: E402
from planner.model.pricing import BlockPricing  # noqa: E402


def _model(n_cols=5_003, n_rows=40, seed=1):
    rng = np.random.default_rng(seed)
    A = sp.random(n_rows, n_cols, density=0.15, random_state=seed, format="csc")
    return A.T.tocsr(), rng.normal(size=n_cols), rng.normal(size=n_rows)


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
@pytest.mark.parametrize("in_place", [True, False])
def test_reduced_costs_are_bit_for_bit_those_of_one_product(monkeypatch, workers, in_place):
    monkeypatch.setattr(pricing, "MIN_BLOCK", 100)
    if not in_place:  # a scipy without the in-place product: blocks are copied once
        monkeypatch.setattr(pricing, "_csr_matvec", None)
    AT, c, y = _model()
    p = BlockPricing(AT, c, workers)
    assert len(p.blocks) == workers
    assert p.blocks[0][0] == 0 and p.blocks[-1][1] == AT.shape[0]
    got = p.map(lambda lo, hi: p.block_reduced_costs(y, lo, hi).copy())
    assert np.array_equal(np.concatenate(got), c - AT @ y)  # exactly, not approximately
    assert np.array_equal(p.rc, c - AT @ y)


def test_few_columns_stay_in_one_block():
    AT, c, _ = _model(n_cols=1_000)
    assert len(BlockPricing(AT, c, 4).blocks) == 1


@pytest.mark.parametrize("workers", [1, 3])
def test_positions_cover_the_blocks_and_the_tail(monkeypatch, workers):
    monkeypatch.setattr(pricing, "MIN_BLOCK", 100)
    AT, c, _ = _model()
    p = BlockPricing(AT, c, workers)
    values = np.random.default_rng(2).normal(size=AT.shape[0] + 777)  # virtual columns after the model's
    values[[0, 5, AT.shape[0] + 3]] = 0.25
    for inclusive in (True, False):
        want = np.nonzero(values >= 0.25 if inclusive else values > 0.25)[0]
        assert np.array_equal(p.positions(values, 0.25, inclusive), want)
