"""Candidate generation: blocking joins in Polars, fuzzy similarity in rapidfuzz, groups.

Comparing every left record with every right record is quadratic; a rule instead names what
two records must share (entity, currency, a reference, an amount window, a near-identical
reference via its deletion neighbourhood, a name token) and only those pairs are built, with
hash joins. Everything downstream (scoring, subset-sum, assignment) sees only these pairs.

Side frames carry the standard columns ``rid`` (``record_type:record_id``), ``ix`` (an
integer index in ``rid`` order, so joins and sorts run on integers yet stay independent of
the input row order), ``record_type``, ``record_id``, ``source_system``, ``source_id``,
``entity``, ``currency``, ``amount``, ``amt`` (Int64 units of 1/10000), ``date`` and
``label``, plus whatever fields rules name.

A candidate frame has ``l_ixs``/``r_ixs`` (member indices, ascending), ``l_applied``/
``r_applied`` (units each member applies), ``confidence`` and the features its explanation
is written from; explanations are only written for the candidates that get selected.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from finance_pipeline.matching import scoring
from finance_pipeline.matching.rules import CONTEXT_FIELDS, FuzzySpec, Rule, ToleranceSpec
from finance_pipeline.matching.subset_sum import PAD, find_subsets
from finance_pipeline.matching.text import normalise

IX = pl.Int64
IX_LIST = pl.List(pl.Int64)
_SCORERS = {
    "levenshtein": (Levenshtein.normalized_similarity, 1.0),
    # optimal string alignment: an adjacent transposition ("10023" -> "10203") is one edit
    "damerau": (OSA.normalized_similarity, 1.0),
    "ratio": (fuzz.ratio, 100.0),
    "token_set": (fuzz.token_set_ratio, 100.0),
    "token_sort": (fuzz.token_sort_ratio, 100.0),
    "partial": (fuzz.partial_ratio, 100.0),
    "jaro_winkler": (JaroWinkler.normalized_similarity, 1.0),
}
CANDIDATE_COLUMNS = ("l_ixs", "r_ixs", "l_applied", "r_applied", "confidence")
NEAR_MISS_SCHEMA = {"ix": IX, "confidence": pl.Float64, "reason": pl.String}


def rule_fields(rule: Rule, side: str) -> list[str]:
    """Every field of one side a rule reads (checked up front, selected per rule)."""
    pick = 0 if side == "left" else 1
    fields = list(rule.same)
    fields += [(k.left, k.right)[pick] for k in rule.keys]
    if rule.fuzzy:
        fields.append((rule.fuzzy.left, rule.fuzzy.right)[pick])
    for spec in ([rule.amount] if rule.amount else []) + list(rule.checks):
        fields.append((spec.left, spec.right)[pick])
    if rule.date:
        fields.append((rule.date.left, rule.date.right)[pick])
    fields += list((rule.aggregate_left, rule.aggregate_right)[pick])
    fields += [e.field for e in rule.evidence if e.side == side]
    fields += list((rule.left_where, rule.right_where)[pick])
    return list(dict.fromkeys(fields))


# --- features attached to pairs and groups ----------------------------------------------------


def _features(rule: Rule, frame: pl.DataFrame, side: str) -> pl.DataFrame:
    """The columns scoring and explanations need, prefixed ``l_``/``r_``, one row per record."""
    p = side[0]
    amount = rule.amount.left if rule.amount and side == "left" else None
    amount = rule.amount.right if rule.amount and side == "right" else amount
    cols = [
        pl.col("ix").alias(f"{p}_ix"),
        pl.col("label").alias(f"{p}_label"),
        pl.col("currency").alias(f"{p}_currency"),
        (
            scoring.to_units(pl.col(amount)) if amount and amount != "amount" else pl.col("amt")
        ).alias(f"{p}_amt"),
        (pl.col("note") if "note" in frame.columns else pl.lit(None, dtype=pl.String)).alias(
            f"{p}_note"
        ),
    ]
    if rule.date is not None:
        name = rule.date.left if side == "left" else rule.date.right
        cols.append(pl.col(name).cast(pl.Date).alias(f"{p}_date"))
    for i, spec in enumerate(rule.checks):
        name = spec.left if side == "left" else spec.right
        cols.append(scoring.to_units(pl.col(name)).alias(f"{p}_ck{i}"))
    for i, ev in enumerate(rule.evidence):
        if ev.side == side:
            cols.append(pl.col(ev.field).cast(pl.Float64).alias(f"{p}_ev{i}"))
    return frame.select(cols)


def _gather(features: pl.DataFrame, key: str, wanted: pl.Series) -> pl.DataFrame:
    """Rows of ``features`` for each value of ``wanted`` (which must all be present), by
    position rather than by a hash join: record indices are small dense integers."""
    keys = features[key].to_numpy()
    position = np.full(int(keys.max()) + 1 if len(keys) else 1, -1, dtype=np.int64)
    position[keys] = np.arange(len(keys))
    return features.drop(key)[position[wanted.to_numpy()]]


def _convert(pairs: pl.DataFrame, fx: pl.DataFrame | None) -> pl.DataFrame:
    """``l_cmp``: the left amount in the right's currency (FX at the left's date, or before)."""
    same = pl.col("l_currency") == pl.col("r_currency")
    if fx is None or fx.height == 0 or "l_date" not in pairs.columns:
        return pairs.with_columns(pl.when(same).then(pl.col("l_amt")).alias("l_cmp"))
    keyed = pairs.with_row_index("__pair").sort("l_date")
    joined = keyed.join_asof(
        fx.sort("rate_date"),
        left_on="l_date",
        right_on="rate_date",
        by_left=["l_currency", "r_currency"],
        by_right=["from_ccy", "to_ccy"],
        strategy="backward",
        check_sortedness=False,
    )
    converted = scoring.to_units((scoring.from_units(pl.col("l_amt")) * pl.col("rate")).round(4))
    joined = joined.with_columns(
        pl.when(same).then(pl.col("l_amt")).otherwise(converted).alias("l_cmp")
    )
    return joined.sort("__pair").drop("__pair", "rate", "rate_date", strict=False)


def fx_table(fx_rates: pl.DataFrame | None) -> pl.DataFrame | None:
    """fx_rates with inverse rates added, as (rate_date, from_ccy, to_ccy, rate)."""
    if fx_rates is None or fx_rates.height == 0:
        return None
    direct = fx_rates.select(
        "rate_date",
        pl.col("base_currency").alias("from_ccy"),
        pl.col("quote_currency").alias("to_ccy"),
        pl.col("rate").cast(pl.Decimal(18, 8)),
    )
    # Inverse rates: a small master-data table, divided exactly in Decimal.
    inverse = pl.DataFrame(
        {
            "rate_date": direct["rate_date"],
            "from_ccy": direct["to_ccy"],
            "to_ccy": direct["from_ccy"],
            "rate": [
                (Decimal(1) / r).quantize(Decimal("0.00000001")) for r in direct["rate"].to_list()
            ],
        },
        schema=direct.schema,
    )
    both = pl.concat([direct, inverse]).sort(["from_ccy", "to_ccy", "rate_date", "rate"])
    return both.unique(["rate_date", "from_ccy", "to_ccy"], keep="first", maintain_order=True)


# --- blocking ----------------------------------------------------------------------------------


def _is_list(frame: pl.DataFrame, name: str) -> bool:
    return isinstance(frame.schema[name], pl.List)


def _radius_class(width: pl.Expr) -> pl.Expr:
    """Power-of-two bucket width class, so a large tolerance does not coarsen small ones."""
    return (width.cast(pl.Float64).log(2).ceil().fill_nan(0).clip(0, 62)).cast(pl.Int64)


def _blocked_pairs(rule: Rule, left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """(l_ix, r_ix, evidence text, sim) for every pair the rule's blocking lets through."""
    lcols: list[pl.Expr] = [pl.col("ix").alias("l_ix")]
    rcols: list[pl.Expr] = [pl.col("ix").alias("r_ix")]
    on_l: list[str] = []
    on_r: list[str] = []
    explode_l: list[str] = []
    explode_r: list[str] = []
    evidence: list[pl.Expr] = []
    for i, f in enumerate(rule.same):
        lcols.append(pl.col(f).alias(f"__sl{i}"))
        rcols.append(pl.col(f).alias(f"__sr{i}"))
        on_l.append(f"__sl{i}")
        on_r.append(f"__sr{i}")
    normalised: list[tuple[str, str]] = []
    for i, key in enumerate(rule.keys):
        lcols.append(pl.col(key.left).alias(f"__kl{i}"))
        rcols.append(pl.col(key.right).alias(f"__kr{i}"))
        if _is_list(left, key.left):
            explode_l.append(f"__kl{i}")
        if _is_list(right, key.right):
            explode_r.append(f"__kr{i}")
        if key.compare == "normalised":
            normalised.append((f"__kl{i}", f"__kr{i}"))
        on_l.append(f"__kl{i}")
        on_r.append(f"__kr{i}")
        if key.left not in CONTEXT_FIELDS:
            evidence.append(pl.format("{} {}", pl.lit(key.right), pl.col(f"__kl{i}")))
    fz = rule.fuzzy
    if fz is not None:
        lcols.append(pl.col(fz.left).alias("__fl"))
        rcols.append(pl.col(fz.right).alias("__fr"))
    use_amount = (not rule.keys and fz is None) or (fz is not None and fz.block == "amount")
    if use_amount:
        assert rule.amount is not None
        for cols, name in ((lcols, rule.amount.left), (rcols, rule.amount.right)):
            units = scoring.to_units(pl.col(name)) if name != "amount" else pl.col("amt")
            cols.append(units.alias("__al" if cols is lcols else "__ar"))
    ls = left.select(lcols)
    rs = right.select(rcols)
    for c in explode_l:
        ls = ls.explode(c)
    for c in explode_r:
        rs = rs.explode(c)
    # normalise after exploding: one string operation per value, not one per list
    ls = ls.with_columns([normalise(pl.col(a)) for a, _ in normalised])
    rs = rs.with_columns([normalise(pl.col(b)) for _, b in normalised])
    ls = ls.drop_nulls(on_l)
    rs = rs.drop_nulls(on_r)
    if fz is not None:
        ls, rs = _explode_text(ls, "__fl"), _explode_text(rs, "__fr")
        if fz.block in ("edits", "tokens"):
            ls, rs = _fuzzy_blocks(fz, ls, rs)
            on_l.append("__bl")
            on_r.append("__br")
    if len(on_l) > 1 and all(
        ls.schema[a] == pl.String and rs.schema[b] == pl.String
        for a, b in zip(on_l, on_r, strict=True)
    ):
        # one string key hashes faster than several
        ls = ls.with_columns(pl.concat_str(on_l, separator="\x1f").alias("__jl"))
        rs = rs.with_columns(pl.concat_str(on_r, separator="\x1f").alias("__jr"))
        on_l, on_r = ["__jl"], ["__jr"]
    if use_amount:
        assert rule.amount is not None
        pairs = _amount_join(rule.amount, ls, rs, on_l, on_r)
    elif on_l:
        pairs = ls.join(rs, left_on=on_l, right_on=on_r, how="inner")
    else:
        pairs = ls.join(rs, how="cross")
    if fz is not None:
        pairs = _similarity(fz, pairs)
        evidence.append(
            pl.format(
                "{} {} ~ {} {} (similarity {})",
                pl.lit(fz.left),
                pl.col("__fl"),
                pl.lit(fz.right),
                pl.col("__fr"),
                pl.col("sim").round(3).cast(pl.String),
            )
        )
    else:
        pairs = pairs.with_columns(pl.lit(None, dtype=pl.Float64).alias("sim"))
    ev = pl.concat_str(evidence, separator=", ") if evidence else pl.lit("", dtype=pl.String)
    pairs = pairs.select("l_ix", "r_ix", ev.fill_null("").alias("evidence"), "sim")
    if pairs.select(pl.struct("l_ix", "r_ix").is_duplicated().any()).item():
        # One row per pair: the strongest evidence, then the smallest text (deterministic).
        pairs = pairs.sort(
            ["l_ix", "r_ix", "sim", "evidence"],
            descending=[False, False, True, False],
            nulls_last=True,
        ).unique(["l_ix", "r_ix"], keep="first", maintain_order=True)
    return pairs


def _explode_text(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    if isinstance(frame.schema[name], pl.List):
        frame = frame.explode(name)
    return frame.filter(pl.col(name).is_not_null() & (pl.col(name).cast(pl.String) != ""))


def _deletions(expr: pl.Expr, max_len: int) -> pl.Expr:
    parts = [expr] + [
        pl.when(expr.str.len_chars() > i).then(expr.str.slice(0, i) + expr.str.slice(i + 1))
        for i in range(max_len)
    ]
    return pl.concat_list(parts).list.drop_nulls().list.unique()


def _fuzzy_blocks(
    fz: FuzzySpec, ls: pl.DataFrame, rs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deletion neighbourhoods (any pair within ``max_edits`` edits shares a key) or tokens
    (shared words, leaving out words more than ``max_token_frequency`` right records share)."""
    if fz.block == "edits":
        longest = max(
            int(ls["__fl"].str.len_chars().max() or 0), int(rs["__fr"].str.len_chars().max() or 0)
        )
        longest = min(longest, 64)
        ls = ls.with_columns(_deletions(pl.col("__fl"), longest).alias("__bl"))
        rs = rs.with_columns(_deletions(pl.col("__fr"), longest).alias("__br"))
        if fz.max_edits == 2:
            ls = ls.explode("__bl").with_columns(_deletions(pl.col("__bl"), longest))
            rs = rs.explode("__br").with_columns(_deletions(pl.col("__br"), longest))
        return ls.explode("__bl").unique(), rs.explode("__br").unique()
    words = pl.element().filter(pl.element().str.len_chars() >= 2)
    ls = ls.with_columns(pl.col("__fl").str.split(" ").list.eval(words).alias("__bl"))
    rs = rs.with_columns(pl.col("__fr").str.split(" ").list.eval(words).alias("__br"))
    ls = ls.explode("__bl").drop_nulls("__bl").unique()
    rs = rs.explode("__br").drop_nulls("__br").unique()
    frequent = (
        rs.group_by("__br")
        .agg(pl.col("r_ix").n_unique().alias("n"))
        .filter(pl.col("n") > fz.max_token_frequency)
        .select("__br")
    )
    return ls, rs.join(frequent, on="__br", how="anti")


def _amount_join(
    spec: ToleranceSpec, ls: pl.DataFrame, rs: pl.DataFrame, on_l: list[str], on_r: list[str]
) -> pl.DataFrame:
    """Join on amount windows: exact units when the tolerance is nil, else bucketed."""
    radius = scoring.search_radius(spec, pl.col("__al"))
    ls = ls.with_columns(
        (pl.col("__al") - radius).alias("__lo"), (pl.col("__al") + radius).alias("__hi")
    )
    width = ls.select((pl.col("__hi") - pl.col("__lo")).max()).item() if ls.height else 0
    if not width:
        return (
            ls.join(rs, left_on=[*on_l, "__al"], right_on=[*on_r, "__ar"], how="inner")
            .drop("__lo", "__hi")
            .with_columns(pl.col("__al").alias("__ar"))
        )
    ls = ls.with_columns(_radius_class(pl.col("__hi") - pl.col("__lo") + 1).alias("__cls"))
    parts = []
    for cls in sorted(ls["__cls"].unique().to_list()):
        w = 1 << int(cls)
        lpart = (
            ls.filter(pl.col("__cls") == cls)
            .with_columns(
                pl.int_ranges(pl.col("__lo").floordiv(w), pl.col("__hi").floordiv(w) + 1).alias(
                    "__bk"
                )
            )
            .explode("__bk")
        )
        rpart = rs.with_columns(pl.col("__ar").floordiv(w).alias("__bk"))
        joined = lpart.join(rpart, left_on=[*on_l, "__bk"], right_on=[*on_r, "__bk"])
        parts.append(
            joined.filter(pl.col("__ar").is_between(pl.col("__lo"), pl.col("__hi"))).drop(
                "__bk", "__cls", "__lo", "__hi"
            )
        )
    if parts:
        return pl.concat(parts, how="vertical_relaxed")
    return ls.head(0).join(rs.head(0), left_on=on_l, right_on=on_r)


def _similarity(fz: FuzzySpec, pairs: pl.DataFrame) -> pl.DataFrame:
    """rapidfuzz similarity of each distinct (left text, right text), kept above the bar."""
    if pairs.height == 0:
        return pairs.with_columns(pl.lit(None, dtype=pl.Float64).alias("sim"))
    pairs = pairs.with_columns(pl.col("__fl").cast(pl.String), pl.col("__fr").cast(pl.String))
    texts = pairs.select("__fl", "__fr").unique()
    scorer, scale = _SCORERS[fz.scorer]
    scores = process.cpdist(
        texts["__fl"].to_list(),
        texts["__fr"].to_list(),
        scorer=scorer,
        workers=-1,
        dtype=np.float64,
    )
    texts = texts.with_columns(pl.Series("sim", np.round(scores / scale, 6)))
    joined = pairs.join(texts, on=["__fl", "__fr"], how="inner")
    return joined.filter(pl.col("sim") >= fz.min_similarity)


# --- pairs ---------------------------------------------------------------------------------------


def pair_candidates(
    rule: Rule, left: pl.DataFrame, right: pl.DataFrame, fx: pl.DataFrame | None
) -> pl.DataFrame:
    """Scored pairs (every blocked pair, with ``passed`` and ``confidence``) for a rule."""
    blocked = _blocked_pairs(rule, left, right)
    pairs = pl.concat(
        [
            blocked,
            _gather(_features(rule, left, "left"), "l_ix", blocked["l_ix"]),
            _gather(_features(rule, right, "right"), "r_ix", blocked["r_ix"]),
        ],
        how="horizontal",
    )
    pairs = _convert(pairs, fx if rule.fx else None)
    return scoring.score_pairs(rule, pairs)


def pairs_to_candidates(rule: Rule, pairs: pl.DataFrame) -> pl.DataFrame:
    """Passing pairs as candidates: one left, one right, and the amount each one applies."""
    partial = rule.amount is not None and rule.amount.partial
    right_applied = pl.col("l_cmp") if partial else pl.col("r_amt")
    return pairs.with_columns(
        pl.concat_list(pl.col("l_ix")).alias("l_ixs"),
        pl.concat_list(pl.col("r_ix")).alias("r_ixs"),
        pl.concat_list(pl.col("l_amt")).alias("l_applied"),
        pl.concat_list(right_applied).alias("r_applied"),
    )


def explain_pairs(rule: Rule) -> pl.Expr:
    """The explanation of a selected pair, from its features."""
    head = pl.format(
        "{}: {} <-> {}", pl.lit(rule.description), pl.col("l_label"), pl.col("r_label")
    )
    evidence = pl.when(pl.col("evidence") != "").then(
        pl.format("matched on {}", pl.col("evidence"))
    )
    note = (
        pl.when(pl.col("amt_diff") != 0).then(pl.col("l_note"))
        if rule.amount
        else pl.lit(None, dtype=pl.String)
    )
    converted = pl.when(pl.col("l_currency") != pl.col("r_currency")).then(
        pl.format(
            "{} {} converted at the rate of {} is {} {}",
            scoring.money_text(pl.col("l_amt")),
            pl.col("l_currency"),
            pl.col("l_date").cast(pl.String) if rule.date else pl.lit("the day"),
            scoring.money_text(pl.col("l_cmp")),
            pl.col("r_currency"),
        )
    )
    parts = [
        head,
        evidence,
        scoring.amount_phrase(rule, "l_amt", "r_amt", "l_currency", "r_currency"),
        converted if rule.fx else pl.lit(None, dtype=pl.String),
        scoring.checks_phrase(rule),
        scoring.date_phrase(rule),
        note,
        scoring.verdict_phrase(rule),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


def near_misses(rule: Rule, pairs: pl.DataFrame, suggest: float) -> pl.DataFrame:
    """Why identified pairs did not become candidates, for the unmatched report."""
    if not rule.identifying or pairs.height == 0:
        return pl.DataFrame(schema=NEAR_MISS_SCHEMA)
    missed = ~pl.col("passed") | (pl.col("confidence") < suggest)
    pairs = pairs.filter(missed)
    if pairs.height == 0:
        return pl.DataFrame(schema=NEAR_MISS_SCHEMA)
    failed_window = pl.format(
        "outside_window: {} and {} match on {} but a date or quantity check fails (rule {})",
        pl.col("l_label"),
        pl.col("r_label"),
        pl.col("evidence"),
        pl.lit(rule.id),
    )
    low = pl.format(
        "below_threshold: {} and {} scored {} < {} (rule {})",
        pl.col("l_label"),
        pl.col("r_label"),
        pl.col("confidence").cast(pl.String),
        pl.lit(suggest),
        pl.lit(rule.id),
    )
    reason = pl.when(~pl.col("passed")).then(failed_window).otherwise(low)
    if rule.amount is not None:
        variance = pl.format(
            "amount_variance: {} and {} match on {} but {} (rule {})",
            pl.col("l_label"),
            pl.col("r_label"),
            pl.col("evidence"),
            scoring.amount_phrase(rule, "l_amt", "r_amt", "l_currency", "r_currency"),
            pl.lit(rule.id),
        )
        reason = pl.when(~pl.col("amt_ok")).then(variance).otherwise(reason)
    misses = pairs.with_columns(reason.alias("reason"))
    out = pl.concat(
        [
            misses.select(pl.col("l_ix").alias("ix"), "confidence", "reason"),
            misses.select(pl.col("r_ix").alias("ix"), "confidence", "reason"),
        ]
    )
    return out.sort(["ix", "confidence", "reason"], descending=[False, True, False]).unique(
        "ix", keep="first", maintain_order=True
    )


# --- groups: aggregate keys -----------------------------------------------------------------


def _group_side(rule: Rule, frame: pl.DataFrame, side: str, grouped: bool) -> pl.DataFrame:
    p = side[0]
    keys = list(rule.aggregate_left if side == "left" else rule.aggregate_right)
    key_cols = [pl.col(k).alias(f"__g{i}") for i, k in enumerate(keys)]
    key_cols += [pl.col(f).alias(f"__s{i}") for i, f in enumerate(rule.same)]
    base = pl.concat([frame.select(key_cols), _features(rule, frame, side)], how="horizontal")
    by = [f"__g{i}" for i in range(len(keys))] + [f"__s{i}" for i in range(len(rule.same))]
    base = base.drop_nulls([f"__g{i}" for i in range(len(keys))])
    if not grouped:
        return base.with_columns(
            pl.concat_list(pl.col(f"{p}_ix")).alias(f"{p}_ixs"),
            pl.concat_list(pl.col(f"{p}_amt")).alias(f"{p}_applied"),
            pl.lit(1, dtype=pl.UInt32).alias(f"{p}_n"),
        )
    aggs = [
        pl.col(f"{p}_ix").alias(f"{p}_ixs"),
        pl.col(f"{p}_amt").alias(f"{p}_applied"),
        pl.col(f"{p}_amt").sum().alias(f"{p}_amt"),
        pl.len().alias(f"{p}_n"),
        pl.col(f"{p}_currency").first(),
        pl.col(f"{p}_label").first(),
        pl.col(f"{p}_note").drop_nulls().first(),
    ]
    if rule.date is not None:
        aggs.append(pl.col(f"{p}_date").max())
    aggs += [pl.col(f"{p}_ck{i}").sum() for i in range(len(rule.checks))]
    aggs += [pl.col(f"{p}_ev{i}").min() for i, ev in enumerate(rule.evidence) if ev.side == side]
    out = base.sort(f"{p}_ix").group_by(by, maintain_order=True).agg(aggs)
    return out.with_columns(
        pl.when(pl.col(f"{p}_n") > 1)
        .then(pl.format("{} and {} more", pl.col(f"{p}_label"), pl.col(f"{p}_n") - 1))
        .otherwise(pl.col(f"{p}_label"))
        .alias(f"{p}_label")
    )


def aggregate_candidates(rule: Rule, left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """Groups sharing the aggregate keys, compared as totals (scored like pairs)."""
    lg = _group_side(rule, left, "left", rule.cardinality in ("N:1", "N:M"))
    rg = _group_side(rule, right, "right", rule.cardinality in ("1:N", "N:M"))
    on = [f"__g{i}" for i in range(len(rule.aggregate_left))]
    on += [f"__s{i}" for i in range(len(rule.same))]
    joined = lg.join(rg, on=on, how="inner")
    joined = joined.with_columns(
        pl.col("l_amt").alias("l_cmp"),
        pl.lit(None, dtype=pl.Float64).alias("sim"),
        pl.concat_str([pl.col(c).cast(pl.String) for c in on], separator=" / ").alias("evidence"),
    )
    return scoring.score_pairs(rule, joined)


def explain_groups(rule: Rule) -> pl.Expr:
    head = pl.format(
        "{}: {} ({} records) <-> {} ({} records)",
        pl.lit(rule.description),
        pl.col("l_label"),
        pl.col("l_n"),
        pl.col("r_label"),
        pl.col("r_n"),
    )
    parts = [
        head,
        pl.format("grouped by {}", pl.col("evidence")),
        scoring.amount_phrase(rule, "l_amt", "r_amt", "l_currency", "r_currency"),
        scoring.checks_phrase(rule),
        scoring.date_phrase(rule),
        scoring.verdict_phrase(rule),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


# --- groups: bounded subset-sum ---------------------------------------------------------------


def subset_candidates(
    rule: Rule, left: pl.DataFrame, right: pl.DataFrame, fx: pl.DataFrame | None
) -> pl.DataFrame:
    """1:N / N:1 by subset-sum over each record's best ``max_candidates`` blocked partners."""
    assert rule.amount is not None
    spec = rule.amount
    pairs = pair_candidates(dataclasses.replace(rule, amount=None), left, right, fx)
    one_to_many = rule.cardinality == "1:N"
    one, many = ("l", "r") if one_to_many else ("r", "l")
    pairs = pairs.filter(
        pl.col("passed")
        & (pl.col("l_currency") == pl.col("r_currency"))
        & (pl.col("l_amt").sign() == pl.col("r_amt").sign())
        & (pl.col(f"{many}_amt") != 0)
    )
    empty = pl.DataFrame(
        schema={
            "l_ixs": IX_LIST,
            "r_ixs": IX_LIST,
            "l_applied": IX_LIST,
            "r_applied": IX_LIST,
            "confidence": pl.Float64,
        }
    )
    if pairs.height == 0:
        return empty
    lag = pl.col("lag").abs() if "lag" in pairs.columns else pl.lit(0)
    ranked = (
        pairs.with_columns(lag.alias("__lag"))
        .sort(
            [f"{one}_ix", "confidence", "__lag", f"{many}_ix"],
            descending=[False, True, False, False],
        )
        .with_columns(pl.int_range(pl.len()).over(f"{one}_ix").alias("__rank"))
        .filter(pl.col("__rank") < rule.caps.max_candidates)
        # within a record, candidates in index order: a subset's positions are then too
        .sort([f"{one}_ix", f"{many}_ix"])
    )
    per_one = ranked.group_by(f"{one}_ix", maintain_order=True).agg(
        pl.col(f"{one}_amt").first().abs().alias("target"),
        pl.col(f"{one}_amt").first().alias(f"{one}_amt"),
        pl.col(f"{one}_label").first(),
        pl.col(f"{one}_note").first(),
        pl.col(f"{one}_currency").first(),
        pl.col(f"{many}_ix").alias("ixs"),
        pl.col(f"{many}_amt").abs().alias("amts"),
        pl.col(f"{many}_amt").alias("signed"),
        pl.col("confidence").alias("confs"),
        pl.col("evidence").alias("evs"),
        pl.col(f"{many}_label").alias("labels"),
    )
    width = int(per_one["ixs"].list.len().max() or 0)
    radius = scoring.search_radius(spec, pl.col("target"))
    lo, hi = scoring.difference_window(spec, radius)
    # For 1:N, |left| - sum in [lo, hi]; for N:1, sum - |right| in [lo, hi].
    bounds = per_one.select(
        (pl.col("target") - hi if one_to_many else pl.col("target") + lo).alias("low"),
        (pl.col("target") - lo if one_to_many else pl.col("target") + hi).alias("high"),
    )
    pad = pl.lit([PAD] * width, dtype=pl.List(pl.Int64))
    matrix = (
        per_one.select(pl.col("amts").list.concat(pad).list.head(width).list.to_array(width))
        .to_series()
        .to_numpy()
    )
    hits = find_subsets(
        matrix,
        bounds["low"].to_numpy(),
        bounds["high"].to_numpy(),
        min_size=rule.caps.min_group_size,
        max_size=rule.caps.max_group_size,
    )
    if not hits:
        return empty
    found = pl.concat(
        [
            pl.DataFrame({"row": hit.rows, "pos": hit.members}).with_columns(
                pl.col("pos").arr.to_list()
            )
            for hit in hits
        ],
        how="vertical_relaxed",
    ).with_columns(pl.col("row").cast(pl.UInt32))
    groups = found.join(per_one.with_row_index("row"), on="row").with_columns(
        pl.col("ixs").list.gather(pl.col("pos")).alias(f"{many}_ixs"),
        pl.col("signed").list.gather(pl.col("pos")).alias(f"{many}_applied"),
        pl.col("confs").list.gather(pl.col("pos")).list.min().alias("pair_conf"),
        pl.col("evs").list.gather(pl.col("pos")).list.unique().list.sort().alias("evs"),
        pl.col("labels").list.gather(pl.col("pos")).alias("labels"),
    )
    groups = groups.with_columns(
        pl.col(f"{many}_applied").list.sum().alias(f"{many}_amt"),
        pl.concat_list(pl.col(f"{one}_ix")).alias(f"{one}_ixs"),
        pl.concat_list(pl.col(f"{one}_amt")).alias(f"{one}_applied"),
        pl.col(f"{one}_currency").alias(f"{many}_currency"),
        pl.col("labels").list.len().alias("size"),
    )
    groups = groups.with_columns(
        scoring.tolerance_columns(spec, pl.col("l_amt"), pl.col("r_amt"), "amt")
    ).filter(pl.col("amt_ok"))
    groups = groups.with_columns(
        (pl.col("pair_conf") - pl.col("amt_pen")).clip(0.0, 1.0).round(4).alias("confidence"),
        pl.col(f"{many}_ixs").list.first().alias("__first"),
        pl.col("amt_diff").abs().alias("__absdiff"),
    )
    return (
        groups.sort(
            [f"{one}_ix", "confidence", "__absdiff", "size", "__first"],
            descending=[False, True, False, False, False],
            maintain_order=True,
        )
        .with_columns(pl.int_range(pl.len()).over(f"{one}_ix").alias("__alt"))
        .filter(pl.col("__alt") < rule.caps.max_alternatives)
        .rename({f"{one}_label": "one_label", f"{one}_note": "one_note"})
    )


def explain_subsets(rule: Rule) -> pl.Expr:
    many_labels = pl.col("labels").list.join(", ")
    if rule.cardinality == "1:N":
        head = pl.format(
            "{}: {} <-> {} {}",
            pl.lit(rule.description),
            pl.col("one_label"),
            pl.col("size"),
            many_labels,
        )
    else:
        head = pl.format(
            "{}: {} {} <-> {}",
            pl.lit(rule.description),
            pl.col("size"),
            many_labels,
            pl.col("one_label"),
        )
    parts = [
        head,
        pl.format("matched on {}", pl.col("evs").list.join(", ")),
        scoring.amount_phrase(rule, "l_amt", "r_amt", "l_currency", "r_currency"),
        pl.when(pl.col("amt_diff") != 0).then(pl.col("one_note")),
        scoring.verdict_phrase(rule),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)
