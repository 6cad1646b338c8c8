"""BAI lockbox and CSV lockbox parser tests: the FundersClub vectors read by hand, tampered
copies, custom and broken layouts, and a CSV export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from finance_pipeline.formats import lockbox
from finance_pipeline.formats.lockbox import LayoutError
from finance_pipeline.formats.model import ParseError, RemittanceRef

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors" / "lockbox"
SAMPLE = "fundersclub-test_lockbox.bai"
EMPTY = "fundersclub-test_empty_lockbox.bai"


def read(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def sample_lines() -> list[str]:
    return read(SAMPLE).decode("ascii").splitlines()


def join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("ascii")


# --------------------------------------------------------------------------------------------
# The FundersClub vectors
# --------------------------------------------------------------------------------------------


def test_sample_values_read_by_hand() -> None:
    # Record 6, line 4, by position: 6 | 001 batch | 001 item | 0000700000 amount (cents)
    # | 055002707 routing | 0012345555 account | 0000000180 check | 051616 check date
    # | "BOB E SMITH" remitter (53-82) | "MY BUSINESS COMPANY" payee (83-102).
    # Record 4, line 5: 4 | 001 | 001 | 6 type | 01 sequence | 9 last | "CE554" invoice.
    pf = lockbox.parse(read(SAMPLE), SAMPLE)
    assert pf.format == "lockbox"
    (batch,) = pf.statements
    assert (batch.kind, batch.account, batch.currency, batch.date, batch.sequence) == (
        "batch",
        "0022222",
        "USD",
        dt.date(2016, 5, 23),
        "001",
    )
    assert batch.opening_balance is None and batch.closing_balance is None
    assert batch.location == "line 3"
    (check,) = batch.entries
    assert check.amount == Decimal("7000.00") and isinstance(check.amount, Decimal)
    assert check.currency == "USD"
    assert check.check_number == "180"
    assert check.counterparty_name == "BOB E SMITH"
    assert check.counterparty_account == "055002707/0012345555"
    assert check.remittance == [RemittanceRef("CE554", None, "invoice")]
    assert check.booking_date == dt.date(2016, 5, 23)
    assert (check.status, check.location) == ("BOOK", "line 4")
    assert {c.name: c.detail for c in batch.checks} == {
        "batch_count": "stated 1, computed 1",
        "batch_total": "stated 7000.00, computed 7000.00",
        "batch_number": "batch total 001, checks 001",
        "batch_identity": "header and total agree",
    }
    assert [(c.name, c.ok, c.detail) for c in pf.checks] == [
        ("lockbox_count", True, "line 7: stated 1, computed 1"),
        ("lockbox_total", True, "line 7: stated 7000.00, computed 7000.00"),
        ("record_count", True, "line 8: stated 8, computed 8"),
    ]
    assert pf.ok


def test_empty_lockbox_has_no_entries_and_passes() -> None:
    pf = lockbox.parse(read(EMPTY), EMPTY)
    assert [len(s.entries) for s in pf.statements] == [0]
    assert pf.statements[0].date == dt.date(2016, 5, 27)
    assert pf.ok
    assert next(c for c in pf.checks if c.name == "record_count").detail == (
        "line 6: stated 6, computed 6"
    )


def test_tampered_amount_fails_the_batch_total() -> None:
    lines = sample_lines()
    assert lines[3][7:17] == "0000700000"
    lines[3] = lines[3][:7] + "0000700100" + lines[3][17:]  # the check now says 7,001.00
    pf = lockbox.parse(join(lines), "tampered.bai")
    assert not pf.ok
    assert [(c.name, c.detail) for c in pf.failed_checks()] == [
        ("batch_total", "stated 7000.00, computed 7001.00")
    ]


def test_missing_record_fails_the_record_count() -> None:
    lines = sample_lines()
    del lines[4]  # the overflow record: the check loses its invoice, the trailer still says 8
    pf = lockbox.parse(join(lines), "short.bai")
    assert pf.statements[0].entries[0].remittance == []
    assert [(c.name, c.detail) for c in pf.failed_checks()] == [
        ("record_count", "line 7: stated 8, computed 7")
    ]


def test_batch_total_of_the_lockbox_total() -> None:
    lines = sample_lines()
    lines[6] = lines[6][:24] + "0000800000"  # record 8 claims 8,000.00 for a 7,000.00 batch
    pf = lockbox.parse(join(lines), "eight.bai")
    assert [(c.name, c.detail) for c in pf.failed_checks()] == [
        ("lockbox_total", "line 7: stated 8000.00, computed 7000.00")
    ]


def _edit(index: int, text: str | None) -> list[str]:
    lines = sample_lines()
    if text is None:
        del lines[index]
    else:
        lines[index] = text
    return lines


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (_edit(3, "X" + sample_lines()[3][1:]), "line 4", "unknown record type 'X'"),
        (_edit(3, sample_lines()[3][:12]), "line 4", "field amount needs positions 8-17"),
        (
            _edit(3, sample_lines()[3].replace("0000700000", "00007O0000")),
            "line 4",
            "field amount is not an amount: '00007O0000'",
        ),
        (
            _edit(3, sample_lines()[3].replace("055002707", "05500-707")),
            "line 4",
            "field routing_number is not numeric",
        ),
        (_edit(2, None), "line 3", "record 6 out of order after record 2"),
        (_edit(7, None), "line 7", "file ends without trailer record 9"),
        (_edit(4, "40010026019CE554"), "line 5", "overflow record for item 002 follows item 001"),
        (
            _edit(2, sample_lines()[2].replace("160523", "161323")),
            "line 3",
            "field deposit_date is not a valid yymmdd",
        ),
        (["", ""], "line 1", "empty file"),
    ],
)
def test_errors_name_the_line(lines: list[str], where: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        lockbox.parse(join(lines), "bad.bai")
    assert (info.value.file, info.value.where) == ("bad.bai", where)
    assert message in info.value.message


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


def test_preset_layout_ships_with_the_package() -> None:
    resource = resources.files("finance_pipeline.formats") / "lockbox_layouts" / "bai_lockbox.yaml"
    assert resource.is_file()
    preset = lockbox.preset_layout()
    assert (preset.name, preset.currency) == ("bai_lockbox", "USD")
    assert sorted(preset.records) == ["1", "2", "4", "5", "6", "7", "8", "9"]
    amount = next(f for f in preset.records["6"].fields if f.name == "amount")
    assert (amount.start, amount.end, amount.type) == (8, 17, "amount")


CUSTOM_LAYOUT = """\
# A bank that writes CAD, 8-digit check numbers first and invoice amounts on overflow records.
name: acme_bank
currency: CAD
records:
  1: {name: header, fields: {transmission_date: [2, 7, yymmdd]}}
  5:
    name: batch_header
    fields:
      batch_number: [2, 4, numeric]
      lockbox_number: [5, 10, text]
      deposit_date: [11, 16, mmddyy]
  6:
    name: check
    fields:
      batch_number: [2, 4, numeric]
      item_number: [5, 7, numeric]
      check_number: [8, 15, numeric]
      amount: [16, 25, amount]
      remitter_name: [26, 45, text]
  4:
    name: invoice
    fields:
      batch_number: [2, 4, numeric]
      item_number: [5, 7, numeric]
      invoice: [8, 22, text]
      invoice_amount: [23, 32, amount]
  7:
    name: batch_total
    fields:
      batch_number: [2, 4, numeric]
      item_count: [5, 8, numeric]
      total_amount: [9, 20, amount]
  8: {name: lockbox_total, fields: {item_count: [2, 6, numeric], total_amount: [7, 18, amount]}}
  9: {name: trailer, fields: {record_count: [2, 7, numeric]}}
"""

CUSTOM_FILE = [
    "1240105",
    "5001LB-042010524",
    "6001001" + "00001234" + "0000012550" + "NORTHWIND TRADERS".ljust(20),
    "4001001" + "INV-100".ljust(15) + "0000010000",
    "4001001" + "INV-101".ljust(15) + "0000002550",
    "6001002" + "00000987" + "0000020000" + "CONTOSO LTD",
    "7001" + "0002" + "000000032550",
    "8" + "00002" + "000000032550",
    "9000009",
]


def test_custom_layout(tmp_path: Path) -> None:
    path = tmp_path / "acme_bank.yaml"
    path.write_text(CUSTOM_LAYOUT, encoding="utf-8")
    layout = lockbox.load_layout(path)
    assert (layout.name, layout.currency, layout.source) == ("acme_bank", "CAD", str(path))
    pf = lockbox.parse(join(CUSTOM_FILE), "acme.txt", layout=layout)
    (batch,) = pf.statements
    assert (batch.account, batch.currency, batch.date, batch.sequence) == (
        "LB-042",
        "CAD",
        dt.date(2024, 1, 5),
        "001",
    )
    first, second = batch.entries
    assert (first.amount, first.check_number, first.counterparty_name) == (
        Decimal("125.50"),
        "1234",
        "NORTHWIND TRADERS",
    )
    assert first.counterparty_account is None
    assert first.remittance == [
        RemittanceRef("INV-100", Decimal("100.00"), "invoice"),
        RemittanceRef("INV-101", Decimal("25.50"), "invoice"),
    ]
    assert (second.amount, second.check_number, second.remittance) == (
        Decimal("200.00"),
        "987",
        [],
    )
    assert pf.ok, [c.as_json() for c in pf.failed_checks()]


def _layout_without(path: Path, old: str, new: str) -> Path:
    text = CUSTOM_LAYOUT.replace(old, new)
    assert text != CUSTOM_LAYOUT
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      total_amount: [9, 20, amount]\n",
            "",
            "records.7.fields.total_amount: missing (the parser needs it)",
        ),
        (
            "  9: {name: trailer, fields: {record_count: [2, 7, numeric]}}\n",
            "",
            "records.9: missing (record types 1, 5, 6, 7, 8, 9 are required)",
        ),
        ("amount: [16, 25, amount]", "amount: [16, 25, money]", "records.6.fields.amount: unknown"),
        ("amount: [16, 25, amount]", "amount: [16, 25, text]", "records.6.fields.amount: type"),
        ("amount: [16, 25, amount]", "amount: [16, 25]", "records.6.fields.amount: must be"),
        ("amount: [16, 25, amount]", "amount: [14, 25, amount]", "records.6.fields.amount: over"),
        ("currency: CAD", "currency: CAN", "currency: not an ISO 4217 currency code: 'CAN'"),
        ("name: acme_bank", "nmae: acme_bank", "nmae: unknown key"),
        ("records:", "records: [", "not valid YAML"),
    ],
)
def test_layout_errors_name_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _layout_without(tmp_path / "broken.yaml", old, new)
    with pytest.raises(LayoutError) as info:
        lockbox.load_layout(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_missing_layout_file(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="nowhere.yaml: cannot read layout"):
        lockbox.load_layout(tmp_path / "nowhere.yaml")


# --------------------------------------------------------------------------------------------
# CSV lockbox
# --------------------------------------------------------------------------------------------

CSV_MAPPING = {
    "lockbox": "Lockbox",
    "batch": "Batch",
    "date": "Deposit Date",
    "check_number": "Check No",
    "amount": "Amount",
    "payer": "Payer",
    "account": "Payer Account",
    "invoice": "Invoices",
}
CSV_TEXT = """\
Lockbox,Batch,Deposit Date,Check No,Amount,Payer,Payer Account,Invoices
0022222,001,2024-01-05,000180,"7,000.00",BOB E SMITH,055002707/0012345555,CE554; CE555
0022222,001,2024-01-05,181,12.5,"ACME, INC.",,

0022222,002,2024-01-05,182,1.00,X,,INV-9
"""


def test_csv_lockbox() -> None:
    pf = lockbox.parse_csv(CSV_TEXT.encode(), "lockbox.csv", CSV_MAPPING)
    assert pf.format == "lockbox"
    first, second = pf.statements
    assert (first.kind, first.account, first.sequence, first.date, first.currency) == (
        "batch",
        "0022222",
        "001",
        dt.date(2024, 1, 5),
        "USD",
    )
    a, b = first.entries
    assert (a.amount, a.check_number, a.counterparty_name, a.counterparty_account) == (
        Decimal("7000.00"),
        "180",
        "BOB E SMITH",
        "055002707/0012345555",
    )
    assert a.remittance == [RemittanceRef("CE554"), RemittanceRef("CE555")]
    assert (a.location, b.location) == ("line 2", "line 3")
    assert (b.amount, b.counterparty_name, b.counterparty_account, b.remittance) == (
        Decimal("12.5"),
        "ACME, INC.",
        None,
        [],
    )
    assert [e.location for e in second.entries] == ["line 5"]
    assert first.credits == Decimal("7012.50")
    assert pf.ok
    assert [c.detail for c in first.checks] == [
        "not stated in file; computed 2",
        "not stated in file; computed 7012.50",
    ]


def test_csv_minimal_mapping_uses_the_file_name_as_lockbox() -> None:
    pf = lockbox.parse_csv(b"amt\n10.00\n5\n", "exports/box-7.csv", {"amount": "amt"})
    (batch,) = pf.statements
    assert (batch.account, batch.sequence, batch.date) == ("box-7", None, None)
    assert [e.amount for e in batch.entries] == [Decimal("10.00"), Decimal("5")]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('amt\n"12,50"\n', "line 2", "amount '12,50' is not a positive decimal number"),
        ("amt\n1.005\n", "line 2", "more decimals than USD allows"),
        ("amt\n-3.00\n", "line 2", "not a positive decimal number"),
        ("amt\n\n1\n2,3\n", "line 4", "2 columns, header has 1"),
        ("amount\n1\n", "line 1", "column 'amt' (for amount) not in the header"),
        ("", "line 1", "empty file"),
    ],
)
def test_csv_errors_name_the_line(text: str, where: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        lockbox.parse_csv(text.encode(), "bad.csv", {"amount": "amt"})
    assert info.value.where == where
    assert message in info.value.message


def test_csv_bad_date_and_mapping() -> None:
    with pytest.raises(ParseError, match="line 2: date '05/01/2024' does not match %Y-%m-%d"):
        lockbox.parse_csv(b"a,d\n1,05/01/2024\n", "bad.csv", {"amount": "a", "date": "d"})
    with pytest.raises(LayoutError, match="CSV mapping: payee: unknown field"):
        lockbox.parse_csv(b"a\n1\n", "bad.csv", {"amount": "a", "payee": "p"})
    with pytest.raises(LayoutError, match="CSV mapping: amount: missing"):
        lockbox.parse_csv(b"a\n1\n", "bad.csv", {"check_number": "a"})
