"""Bounded subset-sum for 1:N and N:1 matches, vectorised with NumPy.

One payment paying three invoices is found by trying every subset of a record's best
``max_candidates`` candidates up to ``max_group_size`` members and keeping those whose total
lands inside the tolerance window. Greedy allocation (take candidates until the amount is
reached) misses exact combinations and finds wrong ones; exhaustive search over a capped
candidate list is exact within the cap, and the cap is stated in the rules file.

All arithmetic is on integer units of 1/10000 (the DECIMAL(18,4) scale), so sums are exact.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Padding for rows with fewer candidates than the widest row: no subset containing it fits,
# and a sum of up to 12 paddings still fits in int64.
PAD = 1 << 58
# Upper bound on the elements of one (rows x subsets x size) block, to bound memory.
_BLOCK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class SubsetHits:
    """Feasible subsets of one size: ``rows[i]`` took candidate positions ``members[i]``."""

    size: int
    rows: np.ndarray  # (hits,) int64
    members: np.ndarray  # (hits, size) int64 positions into the row's candidates
    totals: np.ndarray  # (hits,) int64


@lru_cache(maxsize=64)
def _combinations(n: int, k: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(-1, k)


def count_subsets(n: int, min_size: int, max_size: int) -> int:
    return sum(math.comb(n, k) for k in range(min_size, min(max_size, n) + 1))


def find_subsets(
    matrix: np.ndarray, low: np.ndarray, high: np.ndarray, *, min_size: int, max_size: int
) -> list[SubsetHits]:
    """Every subset of each row of ``matrix`` (candidate amounts padded with ``PAD``) of size
    in [min_size, max_size] whose total lies in [low[row], high[row]].

    Each subset size is one array operation over a block of rows, so the cost per row is
    NumPy's, not Python's.
    """
    rows, width = matrix.shape
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    out: list[SubsetHits] = []
    if rows == 0 or width == 0:
        return out
    for size in range(min_size, min(max_size, width) + 1):
        combos = _combinations(width, size)
        block = max(1, _BLOCK_ELEMENTS // max(1, combos.shape[0] * size))
        hit_rows, hit_combos, hit_totals = [], [], []
        for start in range(0, rows, block):
            part = matrix[start : start + block]
            totals = part[:, combos].sum(axis=2)  # (block rows, subsets)
            ok = (totals >= low[start : start + block, None]) & (
                totals <= high[start : start + block, None]
            )
            r_idx, c_idx = np.nonzero(ok)
            if r_idx.size:
                hit_rows.append(r_idx + start)
                hit_combos.append(combos[c_idx])
                hit_totals.append(totals[r_idx, c_idx])
        if hit_rows:
            out.append(
                SubsetHits(
                    size,
                    np.concatenate(hit_rows),
                    np.concatenate(hit_combos),
                    np.concatenate(hit_totals),
                )
            )
    return out
