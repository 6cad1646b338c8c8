"""Data-quality rules for the lake, evaluated as Great Expectations 1.x expectations.

Plain Python (no Dagster): ``assets/quality_checks.py`` reads the lake and wraps these
results in asset checks. Each rule first shapes a small Polars frame (one row per key, file,
journal or bank line) and then states its expectation on that frame, so the verdict and the
evidence (observed value, unexpected rows) come from GX in one uniform shape.

GX is imported lazily, inside :func:`run_expectations`: importing it takes seconds, and
loading the Dagster definitions (webserver, daemon, every run worker) must not pay for that.
A frame with no rows skips GX for row-wise expectations, which hold vacuously there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

ROW_WISE_PREFIXES = ("expect_column_values_", "expect_column_pair_values_", "expect_multicolumn_")
SAMPLE = 5


@dataclass(frozen=True)
class Expectation:
    """A GX expectation by its snake_case type and arguments (the caller needs no GX import)."""

    type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def gx_class_name(self) -> str:
        return "".join(part.capitalize() for part in self.type.split("_"))


def unique(column: str) -> Expectation:
    return Expectation("expect_column_values_to_be_unique", {"column": column})


def all_in(column: str, values: Sequence[Any]) -> Expectation:
    return Expectation("expect_column_values_to_be_in_set", {"column": column, "value_set": values})


def pair_equal(left: str, right: str) -> Expectation:
    return Expectation(
        "expect_column_pair_values_to_be_equal", {"column_A": left, "column_B": right}
    )


def mean_at_least(column: str, floor: float) -> Expectation:
    return Expectation("expect_column_mean_to_be_between", {"column": column, "min_value": floor})


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict, compact enough for check metadata."""

    expectation: str
    columns: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    sample: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expectation": self.expectation,
            "columns": self.columns,
            "success": self.success,
        }
        if self.observed is not None:
            out["observed"] = self.observed
        if self.unexpected_count is not None:
            out["unexpected_count"] = self.unexpected_count
        if self.sample:
            out["sample"] = list(self.sample)
        return out


@dataclass(frozen=True)
class QualityResult:
    success: bool
    rows: int
    outcomes: tuple[Outcome, ...]

    def summary(self) -> list[dict[str, Any]]:
        return [o.as_json() for o in self.outcomes]


def _plain(value: Any) -> Any:
    """JSON-safe scalars for metadata (GX returns numpy numbers and Decimals)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float):
        return value
    return str(value)


def _text(value: Any) -> str:
    plain = _plain(value)
    return ", ".join(str(v) for v in plain) if isinstance(plain, list) else str(plain)


def _columns(kwargs: Mapping[str, Any]) -> str:
    names = [str(kwargs[k]) for k in ("column", "column_A", "column_B") if k in kwargs]
    names += [str(c) for c in kwargs.get("column_list", [])]
    return ",".join(names)


def _vacuous(frame: pl.DataFrame, expectations: Sequence[Expectation]) -> QualityResult | None:
    if frame.height or not all(e.type.startswith(ROW_WISE_PREFIXES) for e in expectations):
        return None
    outcomes = tuple(
        Outcome(e.type, _columns(e.kwargs), True, unexpected_count=0) for e in expectations
    )
    return QualityResult(True, 0, outcomes)


def run_expectations(
    frame: pl.DataFrame, expectations: Sequence[Expectation], name: str = "frame"
) -> QualityResult:
    """Validate ``frame`` against ``expectations`` in a throwaway (ephemeral) GX context."""
    vacuous = _vacuous(frame, expectations)
    if vacuous is not None:
        return vacuous
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    asset = context.data_sources.add_pandas(f"{name}_source").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch").get_batch(
        batch_parameters={"dataframe": frame.to_pandas()}
    )
    suite = gx.ExpectationSuite(
        name=f"{name}_suite",
        expectations=[
            getattr(gx.expectations, e.gx_class_name())(**e.kwargs) for e in expectations
        ],
    )
    validation = batch.validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE}
    )
    outcomes = []
    for item in validation.results:
        result = item.result or {}
        sample = tuple(_text(v) for v in (result.get("partial_unexpected_list") or [])[:SAMPLE])
        error = (item.exception_info or {}).get("exception_message")
        outcomes.append(
            Outcome(
                expectation=item.expectation_config.type,
                columns=_columns(item.expectation_config.kwargs),
                success=bool(item.success),
                observed=_plain(result.get("observed_value", error)),
                unexpected_count=result.get("unexpected_count"),
                sample=sample,
            )
        )
    return QualityResult(bool(validation.success), frame.height, tuple(outcomes))


# --- rules ------------------------------------------------------------------------------------


def key_frame(keys: pl.Series, other_days: Iterable[str] = ()) -> pl.DataFrame:
    """One row per key of the day, flagged when the same key was loaded on another day."""
    elsewhere = sorted(set(other_days))
    return pl.DataFrame({"key": keys.cast(pl.String)}).with_columns(
        pl.col("key").is_in(elsewhere).alias("on_other_day")
    )


def check_unique_keys(keys: pl.Series, other_days: Iterable[str] | None = None) -> QualityResult:
    """Natural keys are unique in the day and, when ``other_days`` is given, across days."""
    expectations = [unique("key")]
    if other_days is not None:
        expectations.append(all_in("on_other_day", [False]))
    return run_expectations(key_frame(keys, other_days or ()), expectations, "keys")


STATED = re.compile(r"stated (\d+), computed \d+$")
# Check names whose stated value is the number of booked entries of a statement or batch.
ENTRY_COUNT_CHECKS: dict[str, tuple[tuple[str, ...], ...]] = {
    # one tuple per way a format can state it; the counts in a tuple add up
    "bank_transactions": (
        ("TxsSummry/TtlNtries/NbOfNtries",),  # camt: all booked entries
        ("TxsSummry/TtlCdtNtries/NbOfNtries", "TxsSummry/TtlDbtNtries/NbOfNtries"),
        ("credit_count", "debit_count"),  # MT940 :90C: and :90D:
    ),
    "payments": (("batch_count",),),  # lockbox batch trailer item count
}


def stated_counts(
    file_checks: pl.DataFrame, table: str, quarantined: Iterable[str]
) -> pl.DataFrame:
    """Per loaded file: entries the file's own control totals state, summed over statements.

    A file counts only when every statement in it states a total (else nothing to compare);
    BAI2 states record counts and amounts, not entries, so it never appears here. Quarantined
    files (by SHA-256) were not loaded and are left out.
    """
    schema = {"file_name": pl.String, "stated": pl.Int64, "statements": pl.UInt32}
    bad = sorted(set(quarantined))
    checks = file_checks.filter(
        pl.col("statement_index").is_not_null() & ~pl.col("sha256").is_in(bad)
    ).with_columns(pl.col("detail").str.extract(STATED.pattern, 1).cast(pl.Int64).alias("n"))
    per_statement = []
    for keys, rows in checks.group_by("file_name", "sha256", "statement_index"):
        stated = {r["check_name"]: r["n"] for r in rows.iter_rows(named=True)}
        total = None
        for names in ENTRY_COUNT_CHECKS[table]:
            if all(stated.get(n) is not None for n in names):
                total = sum(stated[n] for n in names)
                break
        per_statement.append({"file_name": keys[0], "stated": total})
    if not per_statement:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(per_statement, schema={"file_name": pl.String, "stated": pl.Int64})
    return (
        frame.group_by("file_name")
        .agg(
            pl.col("stated").sum(),
            pl.len().alias("statements"),
            pl.col("stated").null_count().alias("unstated"),
        )
        .filter(pl.col("unstated") == 0)
        .select(list(schema))
        .cast(schema)
        .sort("file_name")
    )


def control_total_frame(
    stated: pl.DataFrame, loaded: pl.DataFrame, rejected: pl.DataFrame
) -> pl.DataFrame:
    """Per file: stated entries against rows loaded plus rows rejected by the contract.

    ``loaded`` and ``rejected`` are rows with a ``source_file`` column (loaded rows already
    restricted to booked entries). Every entry the bank reported must be accounted for.
    """

    def per_file(rows: pl.DataFrame, name: str) -> pl.DataFrame:
        return rows.group_by(pl.col("source_file").alias("file_name")).agg(pl.len().alias(name))

    return (
        stated.join(per_file(loaded, "loaded"), on="file_name", how="left")
        .join(per_file(rejected, "rejected"), on="file_name", how="left")
        .with_columns(pl.col("loaded", "rejected").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("loaded") + pl.col("rejected")).alias("accounted"))
        .sort("file_name")
    )


def check_control_totals(frame: pl.DataFrame) -> QualityResult:
    return run_expectations(
        frame.select("file_name", "stated", "accounted"),
        [pair_equal("stated", "accounted")],
        "control_totals",
    )


def coverage_frame(
    bank_ids: pl.Series, matched_ids: Iterable[str], exception_ids: Iterable[str]
) -> pl.DataFrame:
    matched, excepted = sorted(set(matched_ids)), sorted(set(exception_ids))
    return (
        pl.DataFrame({"transaction_id": bank_ids.cast(pl.String)})
        .with_columns(
            pl.col("transaction_id").is_in(matched).alias("matched"),
            pl.col("transaction_id").is_in(excepted).alias("exception"),
        )
        .with_columns((pl.col("matched") | pl.col("exception")).alias("accounted"))
    )


def check_bank_lines_accounted(frame: pl.DataFrame) -> QualityResult:
    """Every bank line is in a match or is an exception: nothing silently dropped."""
    shown = frame.select(
        pl.when(pl.col("accounted"))
        .then(pl.lit("ok"))
        .otherwise(pl.col("transaction_id"))
        .alias("line")
    )
    return run_expectations(shown, [all_in("line", ["ok"])], "bank_coverage")


def journal_balance_frame(journals: pl.DataFrame) -> pl.DataFrame:
    zero = pl.lit(0).cast(journals.schema["debit"])
    return (
        journals.group_by("journal_id", "entity", "currency")
        .agg(
            pl.col("debit").fill_null(zero).sum().alias("debit"),
            pl.col("credit").fill_null(zero).sum().alias("credit"),
            pl.len().alias("lines"),
        )
        .with_columns((pl.col("debit") - pl.col("credit")).alias("difference"))
        .sort("journal_id", "entity", "currency")
    )


def check_journals_balanced(frame: pl.DataFrame) -> QualityResult:
    """Debits equal credits per journal, entity and currency (exact decimals, no rounding)."""
    shown = frame.select(
        pl.when(pl.col("difference") == 0)
        .then(pl.lit("balanced"))
        .otherwise(
            pl.format(
                "{}/{}/{} off by {}",
                "journal_id",
                "entity",
                "currency",
                pl.col("difference").cast(pl.String),
            )
        )
        .alias("journal")
    )
    return run_expectations(shown, [all_in("journal", ["balanced"])], "journals")


def check_match_rate(frame: pl.DataFrame, floor: float) -> QualityResult:
    """Share of the day's bank lines in a match (auto or suggested) is at least ``floor``."""
    rates = frame.select(pl.col("matched").cast(pl.Int8))
    return run_expectations(rates, [mean_at_least("matched", floor)], "match_rate")
