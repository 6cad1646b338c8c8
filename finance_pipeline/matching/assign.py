"""Global one-use assignment: choose the set of candidates with the highest total confidence
such that no record is used twice.

Why not greedy: taking candidates in order of confidence is wrong as soon as they compete.
Payment P1 fits invoice I1 (0.95) and I2 (0.94); P2 fits only I1 (0.93). Greedy gives P1-I1
and leaves P2 unmatched (total 0.95); the best assignment is P1-I2, P2-I1 (total 1.87).

How:
1. Candidates and records form a graph; its connected components are independent problems
   (scipy.sparse.csgraph). A component with one candidate is taken as is, in one vectorised
   step; at scale that is nearly all of them.
2. A component of 1:1 candidates is a maximum-weight bipartite matching, solved exactly by
   scipy.optimize.linear_sum_assignment on the component's weight matrix (non-edges weigh 0,
   and every real candidate weighs more than 0, so the optimum only uses real candidates).
3. A component with groups (1:N, N:1, N:M) is weighted set packing, NP-hard in general but
   tiny here: an exact branch-and-bound over at most ``max_set_packing`` candidates.
4. Components beyond the caps fall back to greedy by (confidence, key) and are flagged, so
   their matches are only ever suggested.

Weights are confidences in integer ten-thousandths, so sums compare exactly. Rows and columns
are ordered by record id and candidates by their key, so ties resolve the same way whatever the
input order.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SELECTION_SCHEMA = {"cid": pl.Int64, "greedy": pl.Boolean}


def solve(
    scores: pl.DataFrame,
    members: pl.DataFrame,
    *,
    max_component_size: int,
    max_set_packing: int,
) -> pl.DataFrame:
    """Selected candidate ids (``cid``) and whether each came from the greedy fallback.

    ``scores``: cid (0..n-1, in the rule's fixed candidate order), confidence.
    ``members``: cid, ix (record index), side.
    """
    if scores.height == 0:
        return pl.DataFrame(schema=SELECTION_SCHEMA)
    n_c = scores.height
    ixs = members["ix"].to_numpy().astype(np.int64)
    size = n_c + int(ixs.max()) + 1
    graph = coo_matrix(
        (np.ones(len(ixs), dtype=np.int8), (members["cid"].to_numpy().astype(np.int64), ixs + n_c)),
        shape=(size, size),
    )
    _, labels = connected_components(graph, directed=False)
    comp = pl.DataFrame({"cid": np.arange(n_c, dtype=np.int64), "comp": labels[:n_c]})
    comp = comp.with_columns(pl.len().over("comp").alias("n"))
    singles = comp.filter(pl.col("n") == 1).select("cid", pl.lit(False).alias("greedy"))
    contested = comp.filter(pl.col("n") > 1)
    if contested.height == 0:
        return singles.sort("cid")
    weights = scores.select(
        "cid", (pl.col("confidence") * 10_000).round(0).cast(pl.Int64).alias("w")
    )
    detail = (
        contested.join(weights, on="cid")
        .join(members.select("cid", "ix", "side"), on="cid")
        .sort(["comp", "cid", "side", "ix"])
        .group_by(["comp", "cid"], maintain_order=True)
        .agg(
            pl.col("w").first(),
            pl.col("ix").filter(pl.col("side") == "left").alias("lefts"),
            pl.col("ix").filter(pl.col("side") == "right").alias("rights"),
        )
        .group_by("comp", maintain_order=True)
        .agg("cid", "w", "lefts", "rights")
        .sort("comp")
    )
    picked: list[int] = []
    greedy: list[bool] = []
    for comp_row in detail.iter_rows(named=True):  # one iteration per contested component
        cids, ws = comp_row["cid"], comp_row["w"]
        lefts, rights = comp_row["lefts"], comp_row["rights"]
        pairs_only = all(len(a) == 1 and len(b) == 1 for a, b in zip(lefts, rights, strict=True))
        records = len({r for rs in lefts for r in rs}) + len({r for rs in rights for r in rs})
        if pairs_only and records <= max_component_size:
            chosen, fell_back = _bipartite(cids, ws, lefts, rights), False
        elif not pairs_only and len(cids) <= max_set_packing:
            chosen, fell_back = _set_packing(cids, ws, lefts, rights), False
        else:
            chosen, fell_back = _greedy(cids, ws, lefts, rights), True
        picked.extend(chosen)
        greedy.extend([fell_back] * len(chosen))
    solved = pl.DataFrame({"cid": picked, "greedy": greedy}, schema=SELECTION_SCHEMA)
    return pl.concat([singles, solved]).sort("cid")


def _bipartite(
    cids: list[int], ws: list[int], lefts: list[list[int]], rights: list[list[int]]
) -> list[int]:
    """Exact maximum-weight matching of one component of 1:1 candidates."""
    left_ids = sorted({a[0] for a in lefts})
    right_ids = sorted({b[0] for b in rights})
    li = {r: i for i, r in enumerate(left_ids)}
    ri = {r: i for i, r in enumerate(right_ids)}
    matrix = np.zeros((len(left_ids), len(right_ids)), dtype=np.float64)
    which = np.full(matrix.shape, -1, dtype=np.int64)
    # Ties: among assignments of equal total confidence prefer candidates earlier in key
    # order. Each candidate gets a bonus below one confidence unit in total (the scale M
    # exceeds the largest possible bonus sum), so the bonus never beats real evidence.
    n = len(cids)
    scale = n * n + 1 if n <= 30_000 else 1
    for rank, (cid, w, a, b) in enumerate(zip(cids, ws, lefts, rights, strict=True)):
        i, j = li[a[0]], ri[b[0]]
        weight = float(w * scale + (n - rank if scale > 1 else 0))
        if which[i, j] < 0 or weight > matrix[i, j]:
            matrix[i, j] = weight
            which[i, j] = cid
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    return sorted(int(which[i, j]) for i, j in zip(rows, cols, strict=True) if which[i, j] >= 0)


def _set_packing(
    cids: list[int], ws: list[int], lefts: list[list[int]], rights: list[list[int]]
) -> list[int]:
    """Exact maximum-weight set of disjoint candidates by branch and bound."""
    index: dict[int, int] = {}
    masks = []
    for a, b in zip(lefts, rights, strict=True):
        mask = 0
        for r in [*a, *b]:
            mask |= 1 << index.setdefault(r, len(index))
        masks.append(mask)
    order = sorted(range(len(cids)), key=lambda i: (-ws[i], cids[i]))
    suffix = [0] * (len(order) + 1)
    for pos in range(len(order) - 1, -1, -1):
        suffix[pos] = suffix[pos + 1] + ws[order[pos]]
    best_total = -1
    best: list[int] = []

    def search(pos: int, used: int, total: int, chosen: list[int]) -> None:
        nonlocal best_total, best
        if total + suffix[pos] <= best_total:
            return  # cannot strictly improve: the first optimum found in order is kept
        if pos == len(order):
            best_total, best = total, list(chosen)
            return
        i = order[pos]
        if not masks[i] & used:
            chosen.append(i)
            search(pos + 1, used | masks[i], total + ws[i], chosen)
            chosen.pop()
        search(pos + 1, used, total, chosen)

    search(0, 0, 0, [])
    return sorted(cids[i] for i in best)


def _greedy(
    cids: list[int], ws: list[int], lefts: list[list[int]], rights: list[list[int]]
) -> list[int]:
    used: set[int] = set()
    chosen = []
    for i in sorted(range(len(cids)), key=lambda i: (-ws[i], cids[i])):
        records = {*lefts[i], *rights[i]}
        if records & used:
            continue
        used |= records
        chosen.append(cids[i])
    return sorted(chosen)


def ambiguous(
    scores: pl.DataFrame, members: pl.DataFrame, selected: pl.DataFrame, margin: float
) -> pl.DataFrame:
    """Selected candidates that an equally good alternative could replace: (cid, alt_cid).

    Two cases, both vectorised: (a) another candidate that uses only records that are free or
    belong to this match, scoring within ``margin``; (b) for 1:1 matches, a swap of partners
    between two matches that scores within ``margin`` of the pair. Such matches are never
    auto: picking one of two equally good answers is a coin toss a person should see.
    """
    schema = {"cid": pl.Int64, "alt_cid": pl.Int64}
    if selected.height == 0:
        return pl.DataFrame(schema=schema)
    # Only records shared by two or more candidates can make a choice ambiguous.
    shared = members.group_by("ix").agg(pl.len().alias("n")).filter(pl.col("n") > 1)
    if shared.height == 0:
        return pl.DataFrame(schema=schema)
    members = members.join(
        members.join(shared.select("ix"), on="ix").select("cid").unique(), on="cid"
    )
    conf = scores.join(members.select("cid").unique(), on="cid").select("cid", "confidence")
    chosen = selected.join(conf.select("cid"), on="cid").select("cid")
    owner = members.join(chosen, on="cid").select("ix", pl.col("cid").alias("owner"))
    others = members.join(chosen, on="cid", how="anti").join(owner, on="ix", how="left")
    single_owner = (
        others.group_by("cid")
        .agg(pl.col("owner").drop_nulls().unique().alias("owners"))
        .filter(pl.col("owners").list.len() == 1)
        .with_columns(pl.col("owners").list.first().alias("owner"))
        .join(conf, on="cid")
        .join(conf.rename({"cid": "owner", "confidence": "own_conf"}), on="owner")
        .filter(pl.col("confidence") >= pl.col("own_conf") - margin - 1e-9)
        .select(pl.col("owner").alias("cid"), pl.col("cid").alias("alt_cid"))
    )
    sizes = members.group_by("cid").agg(
        (pl.col("side") == "left").sum().alias("nl"), (pl.col("side") == "right").sum().alias("nr")
    )
    one_one = sizes.filter((pl.col("nl") == 1) & (pl.col("nr") == 1)).select("cid")
    pairs = (
        (
            members.join(one_one, on="cid")
            .pivot("side", index="cid", values="ix")
            .rename({"left": "l", "right": "r"})
            .join(conf, on="cid")
        )
        if one_one.height
        else pl.DataFrame(
            schema={"cid": pl.Int64, "l": pl.Int64, "r": pl.Int64, "confidence": pl.Float64}
        )
    )
    sel = pairs.join(chosen, on="cid")
    swap = (
        sel.join(pairs.rename({"cid": "c3", "r": "r2", "confidence": "w3"}), on="l")
        .filter(pl.col("r2") != pl.col("r"))
        .join(sel.rename({"cid": "c2", "l": "l2", "r": "r2", "confidence": "w2"}), on="r2")
        .join(pairs.rename({"cid": "c4", "l": "l2", "confidence": "w4"}), on=["l2", "r"])
        .filter(pl.col("w3") + pl.col("w4") >= pl.col("confidence") + pl.col("w2") - margin - 1e-9)
    )
    swapped = pl.concat(
        [
            swap.select("cid", pl.col("c3").alias("alt_cid")),
            swap.select(pl.col("c2").alias("cid"), pl.col("c4").alias("alt_cid")),
        ]
    )
    out = pl.concat([single_owner, swapped]).cast(schema)
    return out.sort(["cid", "alt_cid"]).unique("cid", keep="first", maintain_order=True)
