"""FX: rate lookup rules (exact, earlier within N days, inverse, cross) and functional amounts."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl

from contracts.canonical import FxRates, Invoices, LegalEntities
from finance_pipeline import lake
from finance_pipeline.fx import RateBook, add_functional_amounts
from finance_pipeline.validation import frame_from_rows, split_valid

D26, D27 = date(2026, 10, 26), date(2026, 10, 27)
EIGHT = Decimal("0.00000001")


def _rates(*rows: tuple[date, str, str, str]) -> pl.DataFrame:
    return frame_from_rows(
        [
            {
                "business_date": day,
                "source_system": "ecb",
                "source_id": f"{day}-{base}-{quote}",
                "rate_date": day,
                "base_currency": base,
                "quote_currency": quote,
                "rate": Decimal(rate),
            }
            for day, base, quote, rate in rows
        ],
        FxRates,
    )


def test_exact_date_then_latest_earlier_within_the_window() -> None:
    book = RateBook(_rates((date(2026, 10, 20), "USD", "EUR", "0.91"), (D26, "USD", "EUR", "0.92")))
    assert book.quote("USD", "EUR", D26).rate == Decimal("0.92")
    stale = book.quote("USD", "EUR", date(2026, 10, 25))
    assert (stale.rate, stale.rate_date, stale.path) == (
        Decimal("0.91"),
        date(2026, 10, 20),
        "direct",
    )
    assert book.quote("USD", "EUR", date(2026, 11, 2)).rate_date == D26  # 7 days old: usable
    assert book.quote("USD", "EUR", date(2026, 11, 3)) is None  # 8 days old: too old
    assert (
        RateBook(_rates((D26, "USD", "EUR", "0.92")), max_age_days=0).quote("USD", "EUR", D27)
        is None
    )
    assert book.quote("USD", "EUR", date(2026, 10, 19)) is None  # nothing earlier


def test_inverse_and_cross_rates_are_rounded_half_even_to_eight_decimals() -> None:
    book = RateBook(_rates((D26, "USD", "EUR", "0.916972"), (D26, "USD", "GBP", "0.794233")))
    inverse = book.quote("EUR", "USD", D27)
    expected = (Decimal(1) / Decimal("0.916972")).quantize(EIGHT, rounding=ROUND_HALF_EVEN)
    assert (inverse.rate, inverse.rate_date, inverse.path) == (expected, D26, "inverse")
    cross = book.quote("GBP", "EUR", D26)
    exact = Decimal("0.916972") / Decimal("0.794233")
    assert cross.path == "cross"
    assert cross.rate == exact.quantize(EIGHT, rounding=ROUND_HALF_EVEN)
    assert isinstance(cross.rate, Decimal)
    same = book.quote("JPY", "JPY", D27)
    assert (same.rate, same.rate_date, same.path) == (Decimal(1), D27, "same")
    assert book.quote("JPY", "EUR", D26) is None


def test_the_freshest_candidate_wins_and_direct_beats_inverse_on_a_tie() -> None:
    book = RateBook(
        _rates(
            (date(2026, 10, 21), "GBP", "EUR", "1.10"),  # direct but five days old
            (D26, "USD", "EUR", "0.90"),
            (D26, "USD", "GBP", "0.80"),
            (D26, "EUR", "CHF", "0.95"),
            (D26, "CHF", "EUR", "1.06"),  # inconsistent inverse on the same day
        )
    )
    fresh = book.quote("GBP", "EUR", D26)
    assert (fresh.path, fresh.rate, fresh.rate_date) == ("cross", Decimal("1.125"), D26)
    tie = book.quote("EUR", "CHF", D26)
    assert (tie.path, tie.rate) == ("direct", Decimal("0.95"))
    cross_date = RateBook(
        _rates((date(2026, 10, 22), "USD", "EUR", "0.9"), (D26, "USD", "GBP", "0.8")),
    ).quote("GBP", "EUR", D26)
    assert cross_date.rate_date == date(2026, 10, 22)  # a cross rate is as old as its older leg


def _entities() -> pl.DataFrame:
    rows = [("US01", "USD"), ("DE01", "EUR"), ("JP01", "JPY")]
    return frame_from_rows(
        [
            {
                "business_date": D27,
                "source_system": "erp",
                "source_id": e,
                "entity_id": e,
                "name": e,
                "country": e[:2],
                "functional_currency": c,
            }
            for e, c in rows
        ],
        LegalEntities,
    )


def _invoice(inv: str, entity: str, amount: str, currency: str, **extra) -> dict:
    return {
        "business_date": D27,
        "source_system": "erp",
        "source_id": inv,
        "invoice_id": inv,
        "entity_id": entity,
        "invoice_number": inv,
        "issue_date": D26,
        "due_date": D27,
        "amount": Decimal(amount),
        "open_amount": Decimal(amount),
        "currency": currency,
        "status": "open",
        **extra,
    }


def test_functional_amounts_are_filled_per_row_and_rounded_to_the_minor_unit() -> None:
    invoices = frame_from_rows(
        [
            _invoice("a", "US01", "4200.00", "EUR"),
            _invoice("b", "DE01", "100.00", "EUR"),
            _invoice("c", "JP01", "10.00", "USD"),
            _invoice("d", "XX01", "5.00", "USD"),  # unknown entity: left empty
            _invoice("e", "US01", "1.00", "CHF"),  # no rate: left empty
            _invoice("f", "US01", "7.00", "EUR", functional_amount=Decimal("7.77")),
        ],
        Invoices,
    )
    book = RateBook(_rates((D26, "USD", "EUR", "0.916972"), (D26, "USD", "JPY", "152.345")))
    out = add_functional_amounts(invoices, "invoices", _entities(), book)
    rows = {r["invoice_id"]: r for r in out.iter_rows(named=True)}
    eur_usd = (Decimal(1) / Decimal("0.916972")).quantize(EIGHT, rounding=ROUND_HALF_EVEN)
    assert rows["a"]["fx_rate"] == eur_usd and rows["a"]["fx_rate_date"] == D26
    assert rows["a"]["functional_amount"] == (Decimal("4200") * eur_usd).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    assert rows["a"]["functional_currency"] == "USD"
    assert (rows["b"]["functional_amount"], rows["b"]["fx_rate"]) == (Decimal("100"), 1)
    assert rows["c"]["functional_amount"] == Decimal("1523")  # 1523.45 JPY -> 0 decimals
    for key in ("d", "e"):
        assert rows[key]["functional_amount"] is None and rows[key]["fx_rate"] is None
    assert rows["f"]["functional_amount"] == Decimal("7.77") and rows["f"]["fx_rate"] is None
    assert out.columns == invoices.columns and out["invoice_id"].to_list() == list("abcdef")
    assert split_valid(out, Invoices)[1].height == 0


def test_earlier_rates_are_read_from_the_lake_when_needed(tmp_path: Path) -> None:
    lake.write_partition(tmp_path, "fx_rates", D26, _rates((D26, "USD", "EUR", "0.916972")))
    book = RateBook(_rates((D27, "USD", "EUR", "0.917595")), lake_root=tmp_path, business_date=D27)
    invoices = frame_from_rows([_invoice("a", "US01", "100.00", "EUR")], Invoices)
    out = add_functional_amounts(invoices, "invoices", _entities(), book)
    assert out["fx_rate_date"].to_list() == [D26]  # the issue date's rate, from the lake
