"""Global one-use assignment and bounded subset-sum, on hand-made candidates."""

from __future__ import annotations

import numpy as np
import polars as pl

from finance_pipeline.matching import assign
from finance_pipeline.matching.subset_sum import PAD, find_subsets


def _problem(cands: list[tuple[list[str], list[str], float]]):
    """Candidates as (lefts, rights, confidence), in the given order; records are numbered
    in name order, as the engine numbers them in id order."""
    frame = pl.DataFrame(
        {"cid": list(range(len(cands))), "confidence": [c for _, _, c in cands]},
        schema={"cid": pl.Int64, "confidence": pl.Float64},
    )
    names = sorted({r for lefts, rights, _ in cands for r in [*lefts, *rights]})
    number = {name: i for i, name in enumerate(names)}
    rows = [
        (i, number[rid], side)
        for i, (lefts, rights, _) in enumerate(cands)
        for side, rids in (("left", lefts), ("right", rights))
        for rid in rids
    ]
    members = pl.DataFrame(
        rows, schema={"cid": pl.Int64, "ix": pl.Int64, "side": pl.String}, orient="row"
    )
    return frame, members


def _solve(cands, **caps):
    frame, members = _problem(cands)
    opts = {"max_component_size": 400, "max_set_packing": 22, **caps}
    chosen = assign.solve(frame, members, **opts)
    return chosen, frame, members


def test_best_total_beats_greedy_first():
    cands = [(["P1"], ["I1"], 0.95), (["P1"], ["I2"], 0.94), (["P2"], ["I1"], 0.93)]
    chosen, frame, members = _solve(cands)
    assert sorted(chosen["cid"]) == [1, 2]  # P1-I2 and P2-I1: 1.87 > 0.95
    assert not chosen["greedy"].any()
    # the greedy baseline would have taken P1-I1 and stranded P2
    assert assign._greedy(
        [0, 1, 2], [9500, 9400, 9300], [["P1"], ["P1"], ["P2"]], [["I1"], ["I2"], ["I1"]]
    ) == [0]
    doubt = assign.ambiguous(frame, members, chosen, 0.005)
    assert doubt.height == 0


def test_groups_are_packed_exactly():
    cands = [
        (["L1"], ["R1", "R2"], 0.95),
        (["L2"], ["R2", "R3"], 0.90),
        (["L1"], ["R4"], 0.60),
    ]
    chosen, _, _ = _solve(cands)
    assert sorted(chosen["cid"]) == [1, 2]


def test_too_large_components_fall_back_to_greedy_and_say_so():
    cands = [(["L1"], ["R1", "R2"], 0.95), (["L2"], ["R2", "R3"], 0.90), (["L1"], ["R4"], 0.6)]
    chosen, _, _ = _solve(cands, max_set_packing=2)
    assert sorted(chosen["cid"]) == [0]
    assert chosen["greedy"].all()


def test_ties_resolve_by_key_whatever_the_order():
    cands = [(["P1"], ["I1"], 0.9), (["P1"], ["I2"], 0.9)]
    chosen, frame, members = _solve(cands)
    assert chosen["cid"].to_list() == [0]
    doubt = assign.ambiguous(frame, members, chosen, 0.0)
    assert doubt["cid"].to_list() == [0]  # an equally good alternative: never auto


def test_swapped_partners_of_equal_value_are_ambiguous():
    cands = [
        (["P1"], ["I1"], 0.9),
        (["P1"], ["I2"], 0.9),
        (["P2"], ["I1"], 0.9),
        (["P2"], ["I2"], 0.9),
    ]
    chosen, frame, members = _solve(cands)
    assert chosen.height == 2
    doubt = assign.ambiguous(frame, members, chosen, 0.0)
    assert sorted(doubt["cid"]) == sorted(chosen["cid"])


def test_independent_candidates_are_all_taken():
    cands = [([f"P{i}"], [f"I{i}"], 0.99) for i in range(50)]
    chosen, _, _ = _solve(cands)
    assert chosen.height == 50


def test_subset_sum_finds_every_fitting_combination():
    matrix = np.array([[250, 400, 350, 1000, PAD], [300, 700, PAD, PAD, PAD]], dtype=np.int64)
    hits = find_subsets(
        matrix, np.array([1000, 1000]), np.array([1000, 1000]), min_size=2, max_size=4
    )
    found = {
        (int(row), tuple(int(p) for p in pos))
        for hit in hits
        for row, pos in zip(hit.rows, hit.members, strict=True)
    }
    assert found == {(0, (0, 1, 2)), (1, (0, 1))}
    assert all(int(t) == 1000 for hit in hits for t in hit.totals)


def test_subset_sum_respects_a_tolerance_window():
    matrix = np.array([[100, 200, 305]], dtype=np.int64)
    hits = find_subsets(matrix, np.array([500]), np.array([505]), min_size=2, max_size=3)
    found = {tuple(int(p) for p in pos) for hit in hits for pos in hit.members}
    assert found == {(1, 2)}
