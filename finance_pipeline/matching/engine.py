"""Public API of the matching engine: run one workflow's rules over canonical tables.

    result = run_workflow("cash_application", tables, run_id=..., created_at=...)
    result.matches   # recon.matches rows
    result.members   # recon.match_members rows
    result.unmatched # every input record in no match, with the reason
    result.rule_set_version

Rules run in the file's order. Each rule builds candidates among the records earlier rules
left free, then takes the globally best one-use assignment of them (assign.py). A workflow may
have several legs (pairs of sides, e.g. payout->balance transactions and payout->bank
deposit); a record is used at most once per leg and matches that share a record across legs
are merged, so no record is in two matches of a workflow.

Records are numbered in ``rid`` order (``ix``) so the hot path joins and sorts integers, and
the numbering does not depend on the input row order. Outputs are sorted and ids are hashes
of content, so the same inputs and rules give byte-identical tables whatever the row order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from contracts.recon import Matches, MatchMembers
from finance_pipeline.matching import assign, candidates, scoring, workflows
from finance_pipeline.matching.rules import (
    Rule,
    RuleError,
    RuleSet,
    default_rules_path,
    load_rules,
)
from finance_pipeline.validation import polars_schema

UNMATCHED_SCHEMA: dict[str, pl.DataType] = {
    "record_type": pl.String,
    "record_id": pl.String,
    "source_system": pl.String,
    "source_id": pl.String,
    "side": pl.String,
    "entity": pl.String,
    "currency": pl.String,
    "amount": scoring.MONEY,
    "reason": pl.String,
}
SIDE_COLUMNS = (
    "rid", "record_type", "record_id", "source_system", "source_id", "entity", "currency",
    "amount", "date", "label",
)  # fmt: skip
RECORD_COLUMNS = (
    "ix", "rid", "record_type", "record_id", "source_system", "source_id", "entity",
    "currency", "amount", "role",
)  # fmt: skip
KEY_SHIFT = 40  # a leg match's key: rule index << KEY_SHIFT | candidate id
_MATCH_SCHEMA = {
    "key": pl.Int64, "rule_id": pl.String, "rule_version": pl.String,
    "rule_index": pl.Int32, "leg": pl.String, "confidence": pl.Float64,
    "status": pl.String, "explanation": pl.String,
}  # fmt: skip
_MEMBER_SCHEMA = {"key": pl.Int64, "ix": pl.Int64, "side": pl.String, "applied": pl.Int64}
_DROPPED_SCHEMA = {"ix": pl.Int64, "reason": pl.String}


@dataclass(frozen=True)
class MatchResult:
    matches: pl.DataFrame
    members: pl.DataFrame
    unmatched: pl.DataFrame
    rule_set_version: str


def run_workflow(
    workflow: str,
    tables: Mapping[str, pl.DataFrame],
    *,
    run_id: str,
    created_at: datetime,
    rules_path: Path | None = None,
) -> MatchResult:
    """Match one workflow's records; missing tables count as empty."""
    ruleset = load_rules(rules_path or default_rules_path(workflow))
    if ruleset.workflow != workflow:
        raise RuleError(ruleset.path, "workflow", f"is {ruleset.workflow!r}, not {workflow!r}")
    sides = {
        name: standardise(frame)
        for name, frame in workflows.prepare(workflow, tables, ruleset).items()
    }
    return match_sides(ruleset, sides, tables.get("fx_rates"), run_id=run_id, created_at=created_at)


def standardise(frame: pl.DataFrame) -> pl.DataFrame:
    """Add integer amount units, drop duplicate record ids, fix the row order."""
    missing = [c for c in SIDE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"prepared side lacks column(s) {missing}")
    frame = frame.with_columns(
        pl.col("amount").cast(scoring.MONEY),
        scoring.to_units(pl.col("amount")).alias("amt"),
        pl.col("date").cast(pl.Date),
    )
    if frame["rid"].is_duplicated().any():
        order = ["rid", "source_system", "source_id", "amt", "date"]
        frame = frame.sort(order, nulls_last=True).unique("rid", keep="first", maintain_order=True)
    return frame.sort("rid")


def match_sides(
    ruleset: RuleSet,
    sides: Mapping[str, pl.DataFrame],
    fx_rates: pl.DataFrame | None,
    *,
    run_id: str,
    created_at: datetime,
) -> MatchResult:
    """Run the rules over standardised sides (exposed for tests and benchmarks)."""
    _check_fields(ruleset, sides)
    indexed, records = _index(ruleset, sides)
    fx = candidates.fx_table(fx_rates)
    used: dict[tuple[str, str], np.ndarray] = {}
    chosen: list[pl.DataFrame] = []
    chosen_members: list[pl.DataFrame] = []
    misses: list[pl.DataFrame] = []
    for rule in ruleset.rules:
        taken = used.setdefault(rule.leg, np.zeros(records.height, dtype=bool))
        left = _available(indexed[rule.left], taken, rule, "left")
        right = _available(indexed[rule.right], taken, rule, "right")
        if left.height == 0 or right.height == 0:
            continue
        cands, miss, explain, describe = _candidates(ruleset, rule, left, right, fx)
        if miss.height:
            misses.append(miss.with_columns(pl.lit(rule.index, dtype=pl.Int32).alias("rule_index")))
        if cands.height == 0:
            continue
        picked, members = _select(ruleset, rule, cands, explain, describe)
        chosen.append(picked)
        chosen_members.append(members)
        taken[members["ix"].to_numpy()] = True
    matches, members, dropped = _merge_legs(ruleset, chosen, chosen_members)
    matches_out, members_out = _outputs(ruleset, matches, members, records, run_id, created_at)
    unmatched = _unmatched(ruleset, indexed, records, members, misses, dropped)
    # one chunk per column: the bytes written do not depend on how the frames were built
    return MatchResult(
        matches_out.rechunk(), members_out.rechunk(), unmatched.rechunk(), ruleset.full_version
    )


def _check_fields(ruleset: RuleSet, sides: Mapping[str, pl.DataFrame]) -> None:
    for rule in ruleset.rules:
        key = f"rules[{rule.index}]"
        for side_key, name in (("left", rule.left), ("right", rule.right)):
            if name not in sides:
                raise RuleError(
                    ruleset.path,
                    f"{key}.{side_key}",
                    f"no side {name!r} in workflow {ruleset.workflow} (sides: {sorted(sides)})",
                )
            columns = sides[name].columns
            for field in candidates.rule_fields(rule, side_key):
                if field not in columns:
                    raise RuleError(
                        ruleset.path,
                        key,
                        f"rule {rule.id!r} reads {side_key} field {field!r}, which side "
                        f"{name!r} does not have (fields: {sorted(columns)})",
                    )


def _index(
    ruleset: RuleSet, sides: Mapping[str, pl.DataFrame]
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Number every record in ``rid`` order; return the sides with ``ix`` and the records.

    Sides come sorted by ``rid``, so the record list is a merge and each side's numbers a
    binary search: no hashing of millions of strings.
    """
    left_sides = {r.left for r in ruleset.rules}
    parts = [
        frame.select(
            "rid", "record_type", "record_id", "source_system", "source_id", "entity",
            "currency", "amount",
        ).with_columns(pl.lit("left" if name in left_sides else "right").alias("role"))
        for name, frame in sorted(sides.items())
    ]  # fmt: skip
    records = parts[0]
    for part in parts[1:]:
        records = records.merge_sorted(part, key="rid")
    records = (
        records.filter(pl.col("rid") != pl.col("rid").shift(1).fill_null(""))
        .with_row_index("ix")
        .with_columns(pl.col("ix").cast(pl.Int64))
        .select(RECORD_COLUMNS)
    )
    rids = records["rid"]
    indexed = {
        name: frame.with_columns(
            pl.Series("ix", rids.search_sorted(frame["rid"], side="left"), dtype=pl.Int64)
        )
        for name, frame in sides.items()
    }
    return indexed, records


def _available(frame: pl.DataFrame, taken: np.ndarray, rule: Rule, side: str) -> pl.DataFrame:
    """The side's records still free in this leg that pass the rule's filter, with only the
    columns the rule reads (so list columns it does not use are not copied)."""
    where = rule.left_where if side == "left" else rule.right_where
    columns = ["ix", *SIDE_COLUMNS, "amt"]
    columns += [c for c in ("note",) if c in frame.columns]
    columns += [c for c in candidates.rule_fields(rule, side) if c not in columns]
    out = frame.select(columns)
    if taken.any():
        out = out.filter(pl.Series(~taken[out["ix"].to_numpy()]))
    for name, value in sorted(where.items()):
        if value is None:
            out = out.filter(pl.col(name).is_null())
        elif isinstance(value, list):
            out = out.filter(pl.col(name).is_in(value))
        else:
            out = out.filter(pl.col(name) == value)
    return out


def _candidates(
    ruleset: RuleSet,
    rule: Rule,
    left: pl.DataFrame,
    right: pl.DataFrame,
    fx: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Expr, pl.Expr]:
    """Candidates above the suggest threshold, numbered ``cid`` in a fixed order; the near
    misses; how to explain a selected candidate and how to name an alternative."""
    suggest = ruleset.suggest_threshold
    miss = pl.DataFrame(schema=candidates.NEAR_MISS_SCHEMA)
    if rule.cardinality == "1:1":
        pairs = candidates.pair_candidates(rule, left, right, fx)
        miss = candidates.near_misses(rule, pairs, suggest)
        good = pairs.filter(pl.col("passed") & (pl.col("confidence") >= suggest))
        # candidate ids in (left, right) index order, without reordering the wide frame
        order = (pl.col("l_ix") * (1 << 31) + pl.col("r_ix")).rank("ordinal") - 1
        cands = candidates.pairs_to_candidates(rule, good).with_columns(
            order.cast(pl.Int64).alias("cid")
        )
        explain = candidates.explain_pairs(rule)
        describe = pl.format("{} <-> {}", pl.col("l_label"), pl.col("r_label"))
    else:
        describe = pl.format("{} <-> {}", pl.col("l_label"), pl.col("r_label"))
        if rule.aggregate_left:
            groups = candidates.aggregate_candidates(rule, left, right)
            good = groups.filter(pl.col("passed") & (pl.col("confidence") >= suggest))
            explain = candidates.explain_groups(rule)
        else:
            good = candidates.subset_candidates(rule, left, right, fx)
            good = good.filter(pl.col("confidence") >= suggest)
            explain = candidates.explain_subsets(rule)
            describe = pl.format("{} <-> {}", pl.col("one_label"), pl.col("labels").list.join(", "))
        key = pl.concat_str(
            [
                pl.col("l_ixs").cast(pl.List(pl.String)).list.join(","),
                pl.col("r_ixs").cast(pl.List(pl.String)).list.join(","),
            ],
            separator="|",
        )
        cands = (
            good.with_columns(key.alias("__key"))
            .sort("__key")
            .unique("__key", keep="first", maintain_order=True)
            .drop("__key")
        )
        cands = cands.with_row_index("cid").with_columns(pl.col("cid").cast(pl.Int64))
    return cands, miss, explain, describe


def _members(cands: pl.DataFrame) -> pl.DataFrame:
    parts = []
    for side in ("left", "right"):
        p = side[0]
        parts.append(
            cands.select(
                "cid", pl.col(f"{p}_ixs").alias("ix"), pl.col(f"{p}_applied").alias("applied")
            )
            .explode(["ix", "applied"])
            .with_columns(pl.lit(side).alias("side"))
        )
    return pl.concat(parts).select("cid", "ix", "side", "applied")


def _select(
    ruleset: RuleSet, rule: Rule, cands: pl.DataFrame, explain: pl.Expr, describe: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assign, then decide auto or suggested, and explain each selected candidate."""
    members = _members(cands)
    caps = rule.caps
    scores = cands.select("cid", "confidence")
    selection = assign.solve(
        scores,
        members,
        max_component_size=caps.max_component_size,
        max_set_packing=caps.max_set_packing,
    )
    margin = ruleset.ambiguity_margin if rule.ambiguity_margin is None else rule.ambiguity_margin
    doubt = assign.ambiguous(scores, members, selection, margin)
    chosen_mask = np.zeros(cands.height, dtype=bool)
    chosen_mask[selection["cid"].to_numpy()] = True
    greedy = np.zeros(cands.height, dtype=bool)
    greedy[selection.filter(pl.col("greedy"))["cid"].to_numpy()] = True
    picked = cands.filter(pl.Series(chosen_mask[cands["cid"].to_numpy()]))
    picked = picked.with_columns(pl.Series("greedy", greedy[picked["cid"].to_numpy()]))
    if doubt.height:
        names = cands.filter(pl.col("cid").is_in(doubt["alt_cid"].implode())).select(
            pl.col("cid").alias("alt_cid"), describe.alias("alternative")
        )
        doubt = doubt.join(names, on="alt_cid", how="left").select("cid", "alternative")
        picked = picked.join(doubt, on="cid", how="left")
    else:
        picked = picked.with_columns(pl.lit(None, dtype=pl.String).alias("alternative"))
    auto = (
        (pl.col("confidence") >= ruleset.auto_threshold)
        & pl.lit(rule.can_auto)
        & pl.col("alternative").is_null()
        & ~pl.col("greedy")
    )
    notes = pl.concat_str(
        [
            explain,
            pl.when(pl.col("alternative").is_not_null()).then(
                pl.format(
                    "suggested only: an equally good alternative exists ({})",
                    pl.col("alternative"),
                )
            ),
            pl.when(pl.col("greedy")).then(
                pl.lit("suggested only: too many competing candidates to prove the best choice")
            ),
            pl.when((pl.col("confidence") >= ruleset.auto_threshold) & ~pl.lit(rule.can_auto)).then(
                pl.lit("suggested only: this rule may not auto-match")
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    key = (pl.lit(rule.index, dtype=pl.Int64) * (1 << KEY_SHIFT) + pl.col("cid")).alias("key")
    picked = picked.select(
        key,
        pl.lit(rule.id).alias("rule_id"),
        pl.lit(rule.version).alias("rule_version"),
        pl.lit(rule.index, dtype=pl.Int32).alias("rule_index"),
        pl.lit(f"{rule.left}>{rule.right}").alias("leg"),
        "confidence",
        pl.when(auto).then(pl.lit("auto")).otherwise(pl.lit("suggested")).alias("status"),
        notes.alias("explanation"),
    )
    chosen = members.filter(pl.Series(chosen_mask[members["cid"].to_numpy()])).select(
        key, "ix", "side", "applied"
    )
    return picked, chosen


def _merge_legs(
    ruleset: RuleSet, chosen: list[pl.DataFrame], chosen_members: list[pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One match per connected set of leg matches (sharing a record), members unioned.

    With ``require_all_legs`` a set that lacks a leg is dropped (a PO line received but not
    billed is not a three-way match yet); its records come back with a ``missing_leg`` reason.
    """
    matches = pl.concat(
        [pl.DataFrame(schema=_MATCH_SCHEMA), *[c.cast(_MATCH_SCHEMA) for c in chosen]]
    )
    members = pl.concat(
        [pl.DataFrame(schema=_MEMBER_SCHEMA), *[m.cast(_MEMBER_SCHEMA) for m in chosen_members]]
    )
    legs = sorted({f"{r.left}>{r.right}" for r in ruleset.rules})
    if len(legs) == 1 or matches.height == 0:
        return matches, members, pl.DataFrame(schema=_DROPPED_SCHEMA)
    keys = matches.select("key").sort("key").with_row_index("k")
    edges = members.join(keys, on="key")
    n_k = keys.height
    size = n_k + int(members["ix"].max()) + 1
    graph = coo_matrix(
        (
            np.ones(edges.height, dtype=np.int8),
            (edges["k"].to_numpy().astype(np.int64), edges["ix"].to_numpy() + n_k),
        ),
        shape=(size, size),
    )
    _, labels = connected_components(graph, directed=False)
    group = keys.with_columns(pl.Series("group", labels[:n_k]))
    merged = (
        matches.join(group, on="key")
        .sort(["group", "rule_index", "key"])
        .group_by("group", maintain_order=True)
        .agg(
            pl.col("key").first().alias("new_key"),
            pl.col("rule_id").str.join("+").alias("rule_id"),
            pl.col("rule_version").unique(maintain_order=True).str.join("+").alias("rule_version"),
            pl.col("rule_index").min(),
            pl.col("leg").unique().sort().alias("legs"),
            pl.col("confidence").min(),
            pl.when((pl.col("status") == "auto").all())
            .then(pl.lit("auto"))
            .otherwise(pl.lit("suggested"))
            .first()
            .alias("status"),
            pl.col("explanation").str.join(" | "),
        )
    )
    remap = group.join(merged.select("group", "new_key", "legs"), on="group").select(
        "key", "new_key", "legs"
    )
    members = members.join(remap, on="key").drop("key").rename({"new_key": "key"})
    dropped = pl.DataFrame(schema=_DROPPED_SCHEMA)
    if ruleset.require_all_legs:
        complete = pl.col("legs").list.len() == len(legs)
        missing = pl.lit(legs, dtype=pl.List(pl.String)).list.set_difference(pl.col("legs"))
        dropped = (
            members.filter(~complete)
            .select(
                "ix",
                pl.format(
                    "missing_leg: matched on {} but found nothing for {}",
                    pl.col("legs").list.join(", "),
                    missing.list.join(", "),
                ).alias("reason"),
            )
            .unique("ix", keep="first")
            .sort("ix")
        )
        members = members.filter(complete)
        merged = merged.filter(complete)
    members = (
        members.drop("legs")
        .sort(["key", "side", "ix", "applied"])
        .unique(["key", "side", "ix"], keep="first", maintain_order=True)
    )
    merged = (
        merged.rename({"new_key": "key"})
        .with_columns(pl.col("legs").list.join("+").alias("leg"))
        .select(list(_MATCH_SCHEMA))
    )
    return merged, members, dropped


def _sha256(texts: pl.Series) -> pl.Series:
    """SHA-256 (hex) of each text: stable across versions and machines, unlike hash()."""
    con = duckdb.connect()
    try:
        con.register("t", pl.DataFrame({"x": texts}).with_row_index("i"))
        table = con.sql("select sha256(x) as h from t order by i").to_arrow_table()
    finally:
        con.close()
    return pl.from_arrow(table.column("h")).cast(pl.String)


def _outputs(
    ruleset: RuleSet,
    matches: pl.DataFrame,
    members: pl.DataFrame,
    records: pl.DataFrame,
    run_id: str,
    created_at: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    match_schema = polars_schema(Matches)
    member_schema = polars_schema(MatchMembers)
    if matches.height == 0:
        return pl.DataFrame(schema=match_schema), pl.DataFrame(schema=member_schema)
    described = pl.concat([members, records.drop("ix")[members["ix"].to_numpy()]], how="horizontal")
    # match_id = hash(workflow, rule ids, sorted members); ix order is rid order
    ids = (
        described.select("key", "side", "ix", "rid")
        .sort(["key", pl.col("side") == "right", "ix"])
        .group_by("key", maintain_order=True)
        .agg(pl.format("{}:{}", pl.col("side"), pl.col("rid")).str.join(",").alias("m"))
        .join(matches.select("key", "rule_id"), on="key")
    )
    text = pl.format("{}|{}|{}", pl.lit(ruleset.workflow), pl.col("rule_id"), pl.col("m"))
    digest = _sha256(ids.select(text).to_series())
    ids = ids.select(
        "key",
        ("m_" + digest.str.slice(0, 24)).alias("match_id"),
        # sorting by a 60-bit integer prefix of the hash is the same order, and cheap
        digest.str.slice(0, 15).str.to_integer(base=16).alias("order"),
    )
    # a shared 60-bit prefix is all but impossible; if it happens the full id breaks the tie
    order = ["order", "match_id"] if ids["order"].is_duplicated().any() else ["order"]
    out_matches = (
        matches.join(ids, on="key")
        .select(
            "order",
            "match_id",
            pl.lit(ruleset.workflow).alias("workflow"),
            "rule_id",
            "rule_version",
            pl.col("confidence").round(4),
            "status",
            pl.lit(run_id).alias("run_id"),
            pl.lit(created_at).cast(match_schema["created_at"]).alias("created_at"),
            "explanation",
        )
        .sort(order)
        .drop("order")
    )
    out_members = (
        described.join(ids, on="key")
        .sort([*order, pl.col("side") == "right", "ix"])  # ix order is record id order
        .select(
            "match_id",
            "side",
            "record_type",
            "record_id",
            "source_system",
            "source_id",
            scoring.from_units(pl.col("applied")).alias("amount_applied"),
            "currency",
        )
    )
    return out_matches.cast(match_schema), out_members.cast(member_schema)


def _unmatched(
    ruleset: RuleSet,
    sides: Mapping[str, pl.DataFrame],
    records: pl.DataFrame,
    members: pl.DataFrame,
    misses: list[pl.DataFrame],
    dropped: pl.DataFrame,
) -> pl.DataFrame:
    """Records in no match (with the closest miss as reason) and anchors missing a leg."""
    miss_schema = {**candidates.NEAR_MISS_SCHEMA, "rule_index": pl.Int32}
    miss = pl.concat(
        [
            pl.DataFrame(schema=miss_schema),
            dropped.select(
                "ix",
                pl.lit(1.0).alias("confidence"),
                "reason",
                pl.lit(-1, dtype=pl.Int32).alias("rule_index"),
            ),
            *[m.select(list(miss_schema)).cast(miss_schema) for m in misses],
        ]
    )
    best = miss.sort(
        ["ix", "rule_index", "confidence", "reason"], descending=[False, False, True, False]
    ).unique("ix", keep="first", maintain_order=True)
    matched = np.zeros(records.height, dtype=bool)
    matched[members["ix"].to_numpy()] = True
    free = records.filter(pl.Series(~matched))
    free = free.join(best.select("ix", "reason"), on="ix", how="left").with_columns(
        pl.col("reason").fill_null("no_candidate: no rule found a counterpart")
    )
    rows = [free]
    legs = sorted({r.leg for r in ruleset.rules})
    if len(legs) > 1 and members.height and not ruleset.require_all_legs:
        rows.append(_missing_legs(legs, sides, records, members))
    out = pl.concat(
        [
            r.select(
                "record_type",
                "record_id",
                "source_system",
                "source_id",
                pl.col("role").alias("side"),
                "entity",
                "currency",
                "amount",
                "reason",
            )  # fmt: skip
            for r in rows
        ]
    )
    return out.cast(UNMATCHED_SCHEMA).sort(["side", "record_type", "record_id", "reason"])


def _missing_legs(
    legs: list[tuple[str, str]],
    sides: Mapping[str, pl.DataFrame],
    records: pl.DataFrame,
    members: pl.DataFrame,
) -> pl.DataFrame:
    parts = []
    for left_side, right_side in legs:
        anchored = members.join(sides[left_side].select("ix"), on="ix").select("key", "ix")
        with_leg = members.join(sides[right_side].select("ix"), on="ix").select("key").unique()
        lacking = anchored.join(with_leg, on="key", how="anti").select("ix").unique()
        parts.append(
            lacking.join(records, on="ix").with_columns(
                pl.lit(f"missing_leg: matched, but no {right_side} counterpart found").alias(
                    "reason"
                )
            )
        )
    return pl.concat(parts)
