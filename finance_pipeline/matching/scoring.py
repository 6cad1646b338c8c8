"""Confidence from evidence, as Polars expressions over candidate pairs and groups.

A rule states the confidence its evidence deserves when everything agrees exactly; each
weaker piece of evidence takes something off, in proportion to how far it is from exact:

    confidence = rule.confidence
                 - amount.weight   * |difference| / tolerance      (0 when amounts agree)
                 - checks[i].weight * |difference| / tolerance     (quantity, unit price...)
                 - date.per_day    * max(0, |lag| - grace_days)
                 - fuzzy.weight    * (1 - similarity)
                 - evidence.weight * (1 - score)                   (e.g. customer inferred)

clipped to [0, 1] and rounded to 4 decimals, so scores compare the same on every machine and
in every row order. Money is compared in exact integer units of 1/10000.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from finance_pipeline.matching.rules import DateSpec, Rule, ToleranceSpec

UNITS = 10_000  # integer units per major unit at DECIMAL(18,4)
MONEY = pl.Decimal(18, 4)


def to_units(expr: pl.Expr) -> pl.Expr:
    """DECIMAL(18,4) (or any number) to exact Int64 units of 1/10000."""
    return (expr.cast(MONEY) * UNITS).cast(pl.Int64)


def from_units(expr: pl.Expr) -> pl.Expr:
    """Int64 units back to DECIMAL(18,4)."""
    return (expr.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001"), dtype=MONEY)).cast(MONEY)


def money_text(expr: pl.Expr) -> pl.Expr:
    """Units as a readable decimal string (two decimals unless more are needed), built
    from the integers so no Decimal or float formatting is involved."""
    size = expr.abs()
    digits = (size % UNITS).cast(pl.String).str.zfill(4)
    fraction = pl.when(size % 100 == 0).then(digits.str.slice(0, 2)).otherwise(digits)
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, (size // UNITS).cast(pl.String), pl.lit("."), fraction])


def _abs_units(spec: ToleranceSpec) -> int:
    return int(spec.tolerance_abs * UNITS)


def _ppm(spec: ToleranceSpec) -> int:
    """Percent as parts per million of the base (4 decimals of a percent are kept)."""
    return int(spec.tolerance_pct * 10_000)


def tolerance_expr(spec: ToleranceSpec, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """Allowed |difference| in units for the named base."""
    la, ra = left.abs(), right.abs()
    base = {
        "left": la,
        "right": ra,
        "larger": pl.max_horizontal(la, ra),
        "smaller": pl.min_horizontal(la, ra),
    }[spec.base]
    abs_u, ppm = _abs_units(spec), _ppm(spec)
    pct = (base.cast(pl.Int128) * ppm // 1_000_000).cast(pl.Int64)
    if abs_u and ppm:
        both = [pl.lit(abs_u, dtype=pl.Int64), pct]
        return pl.max_horizontal(both) if spec.combine == "max" else pl.min_horizontal(both)
    if ppm:
        return pct
    return pl.lit(abs_u, dtype=pl.Int64)


def search_radius(spec: ToleranceSpec, known: pl.Expr) -> pl.Expr:
    """An upper bound of the tolerance knowing only one side (for blocking and subset-sum).

    With a percentage of the unknown side, |d| <= p * (|known| + |d|) gives |d| <= p|k|/(1-p).
    """
    abs_u, ppm = _abs_units(spec), _ppm(spec)
    if spec.partial:
        return known.abs()
    if not ppm:
        return pl.lit(abs_u, dtype=pl.Int64)
    bound = (known.abs().cast(pl.Int128) * ppm // max(1, 1_000_000 - ppm) + 1).cast(pl.Int64)
    if abs_u and spec.combine == "min":
        return pl.lit(abs_u, dtype=pl.Int64)
    return pl.max_horizontal(pl.lit(abs_u, dtype=pl.Int64), bound) if abs_u else bound


def difference_window(spec: ToleranceSpec, radius: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Bounds of ``left - right`` (in magnitude terms) allowed by the direction."""
    zero = pl.lit(0, dtype=pl.Int64)
    if spec.partial:
        return (-radius, zero)
    if spec.direction == "under":
        return (-radius, zero)
    if spec.direction == "over":
        return (zero, radius)
    return (-radius, radius)


def tolerance_columns(spec: ToleranceSpec, left: pl.Expr, right: pl.Expr, name: str) -> list:
    """``{name}_diff``, ``_tol``, ``_ok`` and ``_pen`` for one numeric comparison.

    Direction is about magnitude: ``under`` means |left| <= |right| with both of the same sign
    (a short payment, a bank credit net of its fee, a debit smaller than expected).
    """
    tol = tolerance_expr(spec, left, right)
    diff = left - right
    magnitude = left.abs() - right.abs()
    same_sign = (left.sign() == right.sign()) | (left == 0) | (right == 0)
    if spec.partial:
        ok = same_sign & (magnitude <= 0) & (left != 0)
        pen = pl.lit(spec.weight) * (magnitude.abs() / pl.max_horizontal(right.abs(), 1))
    else:
        if spec.direction == "under":
            ok = same_sign & (magnitude <= 0) & (magnitude >= -tol)
        elif spec.direction == "over":
            ok = same_sign & (magnitude >= 0) & (magnitude <= tol)
        else:
            ok = diff.abs() <= tol
        pen = pl.lit(spec.weight) * pl.min_horizontal(
            pl.lit(1.0), diff.abs() / pl.max_horizontal(tol, 1)
        )
        pen = pl.when(diff == 0).then(0.0).otherwise(pen)
    return [
        diff.alias(f"{name}_diff"),
        tol.alias(f"{name}_tol"),
        ok.alias(f"{name}_ok"),
        pen.cast(pl.Float64).alias(f"{name}_pen"),
    ]


def date_columns(spec: DateSpec, left: pl.Expr, right: pl.Expr) -> list:
    """``lag`` (left minus right, days), ``date_ok`` and ``date_pen``."""
    lag = (left - right).dt.total_days()
    ok = lag.is_between(spec.min_lag_days, spec.max_lag_days)
    if spec.direction == "left_after_right":
        ok = ok & (lag >= 0)
    elif spec.direction == "left_before_right":
        ok = ok & (lag <= 0)
    over = (lag.abs() - spec.grace_days).clip(lower_bound=0)
    return [
        lag.alias("lag"),
        ok.fill_null(False).alias("date_ok"),
        (pl.lit(spec.per_day) * over).fill_null(0.0).cast(pl.Float64).alias("date_pen"),
    ]


def confidence_expr(rule: Rule, penalties: list[pl.Expr]) -> pl.Expr:
    total = pl.sum_horizontal(penalties) if penalties else pl.lit(0.0)
    return (pl.lit(rule.confidence) - total).clip(0.0, 1.0).round(4).alias("confidence")


def score_pairs(rule: Rule, pairs: pl.DataFrame) -> pl.DataFrame:
    """Add features, ``passed`` (every comparison holds) and ``confidence`` to pairs.

    Expects ``l_cmp``/``r_amt`` (amount units in the right's currency), ``l_date``-style
    columns named by the rule, ``sim`` when fuzzy, ``l_ck{i}``/``r_ck{i}`` for checks and
    ``l_ev{i}``/``r_ev{i}`` for evidence scores.
    """
    exprs: list[pl.Expr] = []
    penalties: list[pl.Expr] = []
    passed: list[pl.Expr] = []
    if rule.amount is not None:
        exprs += tolerance_columns(rule.amount, pl.col("l_cmp"), pl.col("r_amt"), "amt")
        penalties.append(pl.col("amt_pen"))
        passed.append(pl.col("amt_ok"))
    for i, spec in enumerate(rule.checks):
        exprs += tolerance_columns(spec, pl.col(f"l_ck{i}"), pl.col(f"r_ck{i}"), f"ck{i}")
        penalties.append(pl.col(f"ck{i}_pen"))
        passed.append(pl.col(f"ck{i}_ok").fill_null(False))
    if rule.date is not None:
        exprs += date_columns(rule.date, pl.col("l_date"), pl.col("r_date"))
        penalties.append(pl.col("date_pen"))
        passed.append(pl.col("date_ok"))
    if rule.fuzzy is not None:
        penalties.append(pl.lit(rule.fuzzy.weight) * (1.0 - pl.col("sim")))
    for i, ev in enumerate(rule.evidence):
        col = f"{ev.side[0]}_ev{i}"
        penalties.append(pl.lit(ev.weight) * (1.0 - pl.col(col).cast(pl.Float64).fill_null(0.0)))
    scored = pairs.with_columns(exprs) if exprs else pairs
    ok = pl.all_horizontal(passed) if passed else pl.lit(True)
    return scored.with_columns(
        ok.fill_null(False).alias("passed"), confidence_expr(rule, penalties)
    )


def amount_phrase(rule: Rule, left: str, right: str, left_ccy: str, right_ccy: str) -> pl.Expr:
    """'amount 980.00 USD vs 1000.00 USD (difference -20.00, tolerance 20.00)'."""
    if rule.amount is None:
        return pl.lit(None, dtype=pl.String)
    label = rule.amount.label
    return pl.format(
        "{} {} {} vs {} {} (difference {}, tolerance {})",
        pl.lit(label),
        money_text(pl.col(left)),
        pl.col(left_ccy),
        money_text(pl.col(right)),
        pl.col(right_ccy),
        money_text(pl.col("amt_diff")),
        pl.when(pl.lit(rule.amount.partial))
        .then(pl.lit("partial application"))
        .otherwise(money_text(pl.col("amt_tol"))),
    )


def checks_phrase(rule: Rule) -> pl.Expr:
    parts = [
        pl.format(
            "{} {} vs {} (difference {}, tolerance {})",
            pl.lit(spec.label),
            money_text(pl.col(f"l_ck{i}")),
            money_text(pl.col(f"r_ck{i}")),
            money_text(pl.col(f"ck{i}_diff")),
            money_text(pl.col(f"ck{i}_tol")),
        )
        for i, spec in enumerate(rule.checks)
    ]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    return pl.concat_str(parts, separator="; ")


def date_phrase(rule: Rule) -> pl.Expr:
    if rule.date is None:
        return pl.lit(None, dtype=pl.String)
    return pl.format(
        "{} {} vs {} {} ({} days apart)",
        pl.lit(rule.date.left),
        pl.col("l_date").cast(pl.String),
        pl.lit(rule.date.right),
        pl.col("r_date").cast(pl.String),
        pl.col("lag").cast(pl.String),
    )


def verdict_phrase(rule: Rule) -> pl.Expr:
    return pl.format(
        "confidence {} by rule {} v{}",
        pl.col("confidence").round(4).cast(pl.String),
        pl.lit(rule.id),
        pl.lit(rule.version),
    )
