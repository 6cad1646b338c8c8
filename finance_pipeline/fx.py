"""Currency normalisation: amounts in transaction currency plus the entity's functional currency.

Rates come from the canonical ``fx_rates`` table (delivered as a file by any source, e.g. the
identity CSV ``fx_rates_<date>.csv``): one row per day and pair, meaning
``1 base_currency = rate quote_currency``. The rates known on a business date are that day's
delivery plus the lake's earlier partitions.

Lookup for converting ``from -> to`` on a day (:meth:`RateBook.quote`):

* the same currency converts at 1 with the transaction's own date;
* otherwise the rate of that day, else the latest earlier one no more than ``max_age_days``
  old (default 7), for the direct pair (``from/to``), its inverse (``1 / (to/from)``), or a
  cross through the pivot currency (default USD: ``from/USD x USD/to``, each leg direct or
  inverse). The freshest candidate wins; on a tie direct beats inverse beats cross. A cross
  rate's date is its older leg's date.

Everything is ``Decimal``. Rounding, stated once: inverse and cross rates are computed at 34
significant digits and rounded half-even to 8 decimals (``fx_rate`` is DECIMAL(18,8));
``functional_amount = amount x fx_rate`` is exact, then rounded half-even to the functional
currency's minor unit (2 for EUR, 0 for JPY) and stored as DECIMAL(18,4). Rows whose entity is
unknown, or for which no rate is found, keep empty FX columns: nothing is dropped. A row that
already carries a ``functional_amount`` (the source converted it) is left as delivered.

Which amount and date are converted (:data:`FX_FIELDS`): invoices (amount, issue_date),
payments (amount, received_date), bank transactions (amount, booking date else value date),
processor transactions (amount, created_at), payouts (amount, arrival_date), orders and
purchase orders (amount, order_date), bills (amount, bill_date), payroll (amount, pay_date),
GL lines (debit - credit, posting_date).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import polars as pl

from finance_pipeline import lake
from finance_pipeline.dedupe import partition_dates
from finance_pipeline.money import CURRENCY_EXPONENTS, MONEY_PRECISION, MONEY_SCALE

RATE_SCALE = 8
RATE_DTYPE = pl.Decimal(18, RATE_SCALE)
MONEY_DTYPE = pl.Decimal(MONEY_PRECISION, MONEY_SCALE)
DEFAULT_MAX_AGE_DAYS = 7
DEFAULT_PIVOT = "USD"
MAX_HISTORY_DAYS = 400  # never read rates older than this before the business date
_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)

FX_FIELDS: dict[str, tuple[pl.Expr, pl.Expr]] = {
    "bank_transactions": (pl.col("amount"), pl.coalesce("booking_date", "value_date")),
    "invoices": (pl.col("amount"), pl.col("issue_date")),
    "payments": (pl.col("amount"), pl.col("received_date")),
    "processor_transactions": (pl.col("amount"), pl.col("created_at").dt.date()),
    "payouts": (pl.col("amount"), pl.col("arrival_date")),
    "orders": (pl.col("amount"), pl.col("order_date")),
    "purchase_orders": (pl.col("amount"), pl.col("order_date")),
    "bills": (pl.col("amount"), pl.col("bill_date")),
    "payroll_entries": (pl.col("amount"), pl.col("pay_date")),
    "gl_journal_lines": (pl.col("debit") - pl.col("credit"), pl.col("posting_date")),
}
"""Per table: the transaction-currency amount and the date whose rate converts it."""


@dataclass(frozen=True)
class Quote:
    """A rate to convert one unit of a currency into another, and where it came from."""

    rate: Decimal
    rate_date: date
    path: str  # same | direct | inverse | cross


def _round_rate(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


class RateBook:
    """Daily rates by pair, with the lookup rules of the module docstring."""

    def __init__(
        self,
        rates: pl.DataFrame,
        *,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        pivot: str = DEFAULT_PIVOT,
        lake_root: Path | None = None,
        business_date: date | None = None,
    ) -> None:
        self.max_age = timedelta(days=max_age_days)
        self.pivot = pivot
        self._today = rates
        self._lake_root = lake_root
        self._business_date = business_date
        self._loaded_from = business_date  # lake partitions before this are not read yet
        self._history: list[pl.DataFrame] = []
        self._index(rates)

    def _index(self, rates: pl.DataFrame) -> None:
        self._series: dict[tuple[str, str], tuple[list[date], list[Decimal]]] = {}
        if rates.height == 0:
            return
        grouped = (
            rates.select("base_currency", "quote_currency", "rate_date", "rate")
            .filter(pl.col("rate") > 0)
            .unique(subset=["base_currency", "quote_currency", "rate_date"], keep="first")
            .sort("base_currency", "quote_currency", "rate_date")
            .group_by("base_currency", "quote_currency", maintain_order=True)
            .agg("rate_date", "rate")
        )
        for base, quote, days, values in grouped.iter_rows():
            self._series[(base, quote)] = (list(days), list(values))

    def ensure_since(self, day: date) -> None:
        """Read the lake's earlier rate partitions needed to convert amounts dated ``day``."""
        if self._lake_root is None or self._business_date is None or self._loaded_from is None:
            return
        first = max(day - self.max_age, self._business_date - timedelta(days=MAX_HISTORY_DAYS))
        if first >= self._loaded_from:
            return
        for part in partition_dates(self._lake_root, "fx_rates"):
            if first <= part < self._loaded_from:
                found = lake.read_partition(self._lake_root, "fx_rates", part)
                if found is not None and found.height:
                    self._history.append(found.select(self._today.columns))
        self._loaded_from = first
        # Today's delivery first, so it wins over an older copy of the same day and pair.
        self._index(pl.concat([self._today, *self._history], how="vertical_relaxed"))

    def _latest(self, base: str, quote: str, day: date) -> tuple[Decimal, date] | None:
        series = self._series.get((base, quote))
        if series is None:
            return None
        days, values = series
        pos = bisect.bisect_right(days, day) - 1
        if pos < 0 or day - days[pos] > self.max_age:
            return None
        return values[pos], days[pos]

    def _leg(self, base: str, quote: str, day: date) -> tuple[Decimal, date, int] | None:
        """Unrounded rate base -> quote: direct or inverse, the fresher (direct on a tie)."""
        found: list[tuple[Decimal, date, int]] = []
        direct = self._latest(base, quote, day)
        if direct is not None:
            found.append((direct[0], direct[1], 0))
        inverse = self._latest(quote, base, day)
        if inverse is not None:
            with localcontext() as ctx:
                ctx.prec = 34
                found.append((Decimal(1) / inverse[0], inverse[1], 1))
        if not found:
            return None
        return max(found, key=lambda f: (f[1], -f[2]))

    def quote(self, source: str, target: str, day: date) -> Quote | None:
        """The rate converting ``source`` to ``target`` for a transaction dated ``day``."""
        if source == target:
            return Quote(Decimal(1).quantize(_QUANTUM), day, "same")
        candidates: list[tuple[Decimal, date, int]] = []
        leg = self._leg(source, target, day)
        if leg is not None:
            candidates.append(leg)
        if self.pivot not in (source, target):
            first = self._leg(source, self.pivot, day)
            second = self._leg(self.pivot, target, day)
            if first is not None and second is not None:
                with localcontext() as ctx:
                    ctx.prec = 34
                    candidates.append((first[0] * second[0], min(first[1], second[1]), 2))
        if not candidates:
            return None
        rate, rate_date, kind = max(candidates, key=lambda c: (c[1], -c[2]))
        rounded = _round_rate(rate)
        if rounded <= 0:
            return None
        return Quote(rounded, rate_date, ("direct", "inverse", "cross")[kind])


def _round_to_minor_unit(value: pl.Expr, currency: pl.Expr) -> pl.Expr:
    exponent = currency.replace_strict(CURRENCY_EXPONENTS, default=2, return_dtype=pl.Int8)
    rounded = pl.when(exponent == 0).then(value.round(0, mode="half_to_even"))
    for digits in sorted(set(CURRENCY_EXPONENTS.values()) - {0}):
        rounded = rounded.when(exponent == digits).then(value.round(digits, mode="half_to_even"))
    return rounded


def add_functional_amounts(
    frame: pl.DataFrame, table: str, entities: pl.DataFrame, book: RateBook
) -> pl.DataFrame:
    """Fill functional_amount, functional_currency, fx_rate and fx_rate_date of ``table``."""
    spec = FX_FIELDS.get(table)
    if spec is None or frame.height == 0 or "functional_amount" not in frame.columns:
        return frame
    amount, day = spec
    functional = entities.select("entity_id", "functional_currency").unique(
        subset="entity_id", keep="first"
    )
    work = frame.with_columns(
        pl.col("entity_id")
        .replace_strict(
            functional["entity_id"],
            functional["functional_currency"],
            default=None,
            return_dtype=pl.String,
        )
        .alias("__fc"),
        day.alias("__day"),
        amount.alias("__amount"),
    )
    todo = work.filter(
        pl.col("functional_amount").is_null()
        & pl.col("__fc").is_not_null()
        & pl.col("currency").is_not_null()
        & pl.col("__day").is_not_null()
        & pl.col("__amount").is_not_null()
    )
    if todo.height == 0:
        return frame
    combos = todo.select("currency", "__fc", "__day").unique().sort("currency", "__fc", "__day")
    if combos.height and combos["__day"].min() is not None:
        book.ensure_since(combos["__day"].min())
    rows = []
    for currency, target, when in combos.iter_rows():  # one lookup per pair and day, not per row
        found = book.quote(currency, target, when)
        if found is not None:
            rows.append((currency, target, when, found.rate, found.rate_date))
    quotes = pl.DataFrame(
        rows,
        schema={
            "currency": pl.String,
            "__fc": pl.String,
            "__day": pl.Date,
            "__rate": RATE_DTYPE,
            "__rate_date": pl.Date,
        },
        orient="row",
    )
    work = work.join(quotes, on=["currency", "__fc", "__day"], how="left", maintain_order="left")
    product = pl.col("__amount").cast(pl.Decimal(38, 12)) * pl.col("__rate")
    fill = pl.col("functional_amount").is_null() & pl.col("__rate").is_not_null()
    work = work.with_columns(
        pl.when(fill)
        .then(_round_to_minor_unit(product, pl.col("__fc")).cast(MONEY_DTYPE))
        .otherwise(pl.col("functional_amount"))
        .alias("functional_amount"),
        pl.when(fill)
        .then(pl.col("__fc"))
        .otherwise(pl.col("functional_currency"))
        .alias("functional_currency"),
        pl.when(fill).then(pl.col("__rate")).otherwise(pl.col("fx_rate")).alias("fx_rate"),
        pl.when(fill)
        .then(pl.col("__rate_date"))
        .otherwise(pl.col("fx_rate_date"))
        .alias("fx_rate_date"),
    )
    return work.select(frame.columns).cast(frame.schema)
