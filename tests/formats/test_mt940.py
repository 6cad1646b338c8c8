"""MT940 / MT942 parser tests: public vectors against wolph/mt940's expected output, then
synthetic files for the cases the vectors do not cover (reversals, year rollover, MT942...)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from finance_pipeline.formats import mt940
from finance_pipeline.formats.model import Entry, ParsedFile, ParseError, Statement

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors" / "mt940"

# Whole files (they start a message with :20:) that parse() must accept.
FULL_FILES = [
    "betterplace/sepa_snippet.sta",
    "betterplace/with_binary_character.sta",
    "jejik/abnamro.sta",
    "jejik/generic.sta",
    "jejik/ing.sta",
    "jejik/knab.sta",
    "jejik/postfinance.sta",
    "jejik/rabobank-iban.sta",
    "jejik/rabobank.sta",
    "jejik/sns.sta",
    "jejik/triodos.sta",
    "mBank/mt940.sta",
    "mBank/mt942.sta",
    "mBank/with_newline_in_tnr.sta",
]
# Single fields cut out of a statement: not a valid file, so checked field by field.
FRAGMENTS = [
    "betterplace/amount_formats.sta",
    "betterplace/currency_in_25.sta",
    "betterplace/empty_86.sta",
    "betterplace/empty_entry_date.sta",
    "betterplace/empty_line.sta",
    "betterplace/missing_crlf_at_end.sta",
    "cmxl/account_balance_credit.sta",
    "cmxl/account_balance_debit.sta",
    "cmxl/account_identification_iban.sta",
    "cmxl/account_identification_legacy.sta",
    "cmxl/available_balance.sta",
    "cmxl/closing_balance.sta",
    "cmxl/reference.sta",
    "cmxl/statement_details.sta",
    "cmxl/statement_line.sta",
    "cmxl/statement_number.sta",
]
BROKEN = ["betterplace/sepa_snippet_broken.sta"]

# balance_proof per statement, in file order. The shared README names abnamro, ing and triodos
# as not reconciling; the arithmetic shows more (listed in fixtures/vectors/mt940/*/SOURCE.md).
BALANCE_PROOF = {
    "betterplace/sepa_snippet.sta": [True, False],  # 2nd: -4472349.17 vs -4472049.09
    "betterplace/with_binary_character.sta": [True, True],
    "jejik/abnamro.sta": [False, False],
    "jejik/generic.sta": [True, True],
    "jejik/ing.sta": [False],
    "jejik/knab.sta": [True, False],  # 2nd: 3058.98 - 7260 + 500 != 798.98
    "jejik/postfinance.sta": [True, False],  # 2nd: 229.2 - 79.9 + 10.1 = 159.4, closing 159.6
    "jejik/rabobank-iban.sta": [True, True],
    "jejik/rabobank.sta": [False, True, False, True],
    "jejik/sns.sta": [True, True],
    "jejik/triodos.sta": [False],
    "mBank/mt940.sta": [True],
    "mBank/with_newline_in_tnr.sta": [False],  # 0.46 + 89.00 != 860.17
}
# Files with nothing to flag at all: every check (balance, currency, continuity, charset) passes.
CLEAN = {
    "jejik/generic.sta",
    "jejik/rabobank-iban.sta",
    "jejik/sns.sta",
    "mBank/mt940.sta",
    "mBank/mt942.sta",
}


# --------------------------------------------------------------------------------------------
# Reading wolph/mt940's expected output (.yml written by PyYAML's Python dumper)
# --------------------------------------------------------------------------------------------


class _WolphLoader(yaml.SafeLoader):
    """Reads the Python-tagged YAML as plain data, never constructing Python objects."""


def _mapping(loader: _WolphLoader, node: yaml.MappingNode) -> Iterator[dict[str, Any]]:
    data: dict[str, Any] = {}
    yield data  # transactions point back at their parent: build the dict before its content
    data.update(loader.construct_mapping(node, deep=True))


def _python_tag(loader: _WolphLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return _mapping(loader, node)
    if isinstance(node, yaml.SequenceNode):
        args = loader.construct_sequence(node, deep=True)
        if suffix.endswith("decimal.Decimal"):
            return Decimal(args[0])
        if suffix.endswith(("models.Date", "models.DateTime")) and isinstance(args[0], bytes):
            raw = args[0]  # datetime's pickle state: year (2 bytes), month, day[, h, m, ...]
            return dt.date(raw[0] * 256 + raw[1], raw[2], raw[3])
        return None  # compiled regexes, timedeltas: not needed
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_WolphLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


def expected(sta: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = VECTORS / sta.replace(".sta", ".yml")
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_WolphLoader)
    return doc["data"], [t["data"] for t in doc["transactions"]]


def read(sta: str) -> bytes:
    return (VECTORS / sta).read_bytes()


def _ref(value: str | None) -> str | None:
    """wolph keeps NONREF and padding; the parser maps "no reference" to None."""
    if value is None:
        return None
    value = value.split("\n")[0].strip()  # wolph appends :86: KREF text after a newline
    return None if value in ("", "NONREF", "NOTPROVIDED") else value


_STRUCTURED = re.compile(r"^[0-9]{3}[?>][0-9]{2}")


def _compare_transaction(got: dict[str, Any], want: dict[str, Any], label: str) -> None:
    """``got`` is the parser's view of one :61: (+ :86:), ``want`` wolph's transaction."""
    assert got["amount"] == want["amount"]["amount"], label
    assert isinstance(got["amount"], Decimal), label
    assert got["value_date"] == want["date"], label
    if want.get("entry_date"):
        assert got["entry_date"] == want["entry_date"], label
    assert got["type_code"] == want["id"], label
    if want.get("customer_reference") is not None or not want.get("transaction_code"):
        # For German structured :86: wolph replaces the :61: reference with the :86: KREF+
        # value (None when absent); the parser keeps what :61: says.
        assert got["customer_reference"] == _ref(want.get("customer_reference")), label
    assert got["bank_reference"] == _ref(want.get("bank_reference")), label
    if "currency" in got and want.get("currency"):
        assert got["currency"] == want["currency"], label
    if "funds_code" in got:
        assert got["funds_code"] == want.get("funds_code"), label
    assert got["details"] == (want.get("extra_details") or None), label
    if want.get("purpose"):
        assert got["text"] == want["purpose"], label
    elif want.get("transaction_details") and not _STRUCTURED.match(want["transaction_details"]):
        assert got["text"] == want["transaction_details"], label
    if "end_to_end_reference" in want:
        assert got["end_to_end_id"] == want["end_to_end_reference"], label
    if "applicant_name" in want:
        assert got["name"] == want["applicant_name"], label
        assert got["account"] == want["applicant_iban"], label


def _entry_view(entry: Entry) -> dict[str, Any]:
    details = [r.reference for r in entry.remittance if r.kind == "text"]
    return {
        "amount": entry.amount,
        "value_date": entry.value_date,
        "entry_date": entry.booking_date,
        "type_code": entry.type_code,
        "customer_reference": entry.customer_reference,
        "bank_reference": entry.bank_reference,
        "currency": entry.currency,
        "details": details[0] if details else None,
        "text": entry.remittance_text,
        "end_to_end_id": entry.end_to_end_id,
        "name": entry.counterparty_name,
        "account": entry.counterparty_account,
    }


def _field_view(line: mt940.StatementLine, info: mt940.Information | None) -> dict[str, Any]:
    return {
        "amount": line.amount,
        "value_date": line.value_date,
        "entry_date": line.entry_date,
        "type_code": line.type_code,
        "customer_reference": line.customer_reference,
        "bank_reference": line.bank_reference,
        "funds_code": line.funds_code,
        "details": line.supplementary_details,
        "text": info.text if info else None,
        "end_to_end_id": info.end_to_end_id if info else None,
        "name": info.counterparty_name if info else None,
        "account": info.counterparty_account if info else None,
    }


_BALANCE_KEYS = {
    "final_opening_balance": "opening",
    "intermediate_opening_balance": "intermediate_opening",
    "final_closing_balance": "closing",
    "intermediate_closing_balance": "intermediate_closing",
    "available_balance": "closing_available",
}


def _compare_statement_data(pf: ParsedFile, data: dict[str, Any]) -> None:
    """wolph's ``data`` holds, per key, the value of the last statement that stated it."""
    last = pf.statements[-1]
    for key, want in data.items():
        if key in _BALANCE_KEYS:
            balances = [
                b for s in pf.statements for b in s.balances if b.kind == _BALANCE_KEYS[key]
            ]
            got = balances[-1]
            assert (got.amount, got.currency, got.as_of) == (
                want["amount"]["amount"],
                want["amount"]["currency"],
                want["date"],
            ), key
        elif key == "account_identification":
            assert want in (last.account, f"{last.account}{last.currency}"), key
        elif key == "transaction_reference":
            assert last.reference == want
        elif key in ("statement_number", "sequence_number"):
            number, page = data["statement_number"], data.get("sequence_number")
            raw = f"{number}/{page}" if page else number
            assert last.sequence == (None if int(number) == 0 else raw), key
        elif key in ("c_floor_limit", "d_floor_limit"):
            (limit,) = [b for b in last.balances if b.kind == "floor_limit"]
            assert (limit.amount, limit.currency) == (Decimal(want["amount"]), want["currency"])
        elif key == "date":
            assert last.date == want
        elif key in ("sum_credit_entries", "sum_debit_entries"):
            side = "credit" if key.startswith("sum_credit") else "debit"
            checks = {c.name: c for c in last.checks}
            count, total = checks[f"{side}_count"], checks[f"{side}_sum"]
            assert count.ok and total.ok
            assert count.detail.startswith(f"stated {int(want['number'])},")
            assert total.detail.startswith(f"stated {Decimal(want['amount'])},")
        else:
            pytest.fail(f"unhandled expected key {key}")


# --------------------------------------------------------------------------------------------
# Public vectors
# --------------------------------------------------------------------------------------------


def test_every_vector_is_covered() -> None:
    """A vector added to fixtures must be sorted into one of the lists above."""
    with_yml = {
        str(p.relative_to(VECTORS))
        for p in VECTORS.rglob("*.sta")
        if p.with_suffix(".yml").exists()
    }
    assert with_yml == set(FULL_FILES) | set(FRAGMENTS) | set(BROKEN)


@pytest.mark.parametrize("sta", FULL_FILES)
def test_full_file_matches_wolph(sta: str) -> None:
    pf = mt940.parse(read(sta), sta)
    data, transactions = expected(sta)
    pairs = [(stmt, e) for stmt in pf.statements for e in stmt.entries]
    assert len(pairs) == len(transactions)
    for index, ((stmt, entry), want) in enumerate(zip(pairs, transactions, strict=True)):
        label = f"{sta} transaction {index}"
        assert stmt.reference == want["transaction_reference"], label
        got = _entry_view(entry)
        if sta == "jejik/ing.sta" and index == len(pairs) - 1:
            # wolph glues the statement-level :86: after :62F: (and the "-XXX" trailer) onto
            # the last entry; the parser keeps statement information off the entries.
            want = {**want, "transaction_details": want["transaction_details"].split("\nD0")[0]}
        _compare_transaction(got, want, label)
        assert entry.status == "BOOK" and entry.location.startswith("line ")
    _compare_statement_data(pf, data)
    assert pf.format == ("mt942" if sta.endswith("mt942.sta") else "mt940")


@pytest.mark.parametrize("sta", sorted(BALANCE_PROOF))
def test_balance_proof(sta: str) -> None:
    pf = mt940.parse(read(sta), sta)
    proofs = [next(c for c in s.checks if c.name == "balance_proof") for s in pf.statements]
    assert [c.ok for c in proofs] == BALANCE_PROOF[sta], [c.detail for c in proofs]


@pytest.mark.parametrize("sta", ["jejik/abnamro.sta", "jejik/ing.sta", "jejik/triodos.sta"])
def test_named_non_reconciling_files_are_flagged(sta: str) -> None:
    pf = mt940.parse(read(sta), sta)
    assert not pf.ok
    assert any(c.name == "balance_proof" for c in pf.failed_checks())


@pytest.mark.parametrize("sta", FULL_FILES)
def test_clean_files_pass_every_check(sta: str) -> None:
    pf = mt940.parse(read(sta), sta)
    assert pf.ok == (sta in CLEAN), [c.as_json() for c in pf.failed_checks()]


def test_continuity_between_statements() -> None:
    postfinance = mt940.parse(read("jejik/postfinance.sta"), "postfinance.sta")
    second = postfinance.statements[1]
    # 28C 999/1 then 999/2: the next page of the same statement; 62M 229.2 carries to 60M.
    assert [(c.name, c.ok) for c in second.checks if c.name in ("continuity", "sequence")] == [
        ("continuity", True),
        ("sequence", True),
    ]
    knab = mt940.parse(read("jejik/knab.sta"), "knab.sta")
    continuity = next(c for c in knab.statements[1].checks if c.name == "continuity")
    assert not continuity.ok and continuity.detail == "previous closing 500.0, opening 3058.98"
    rabobank = mt940.parse(read("jejik/rabobank-iban.sta"), "rabobank-iban.sta")
    # Rabobank numbers every statement 0 (= not numbered): no sequence check, continuity holds.
    assert [(c.name, c.ok) for c in rabobank.statements[1].checks] == [
        ("balance_proof", True),
        ("currency", True),
        ("continuity", True),
    ]


def test_sepa_structured_86() -> None:
    pf = mt940.parse(read("betterplace/sepa_snippet.sta"), "sepa_snippet.sta")
    first = pf.statements[0].entries[0]
    assert first.amount == Decimal("50990.05")
    assert first.end_to_end_id == "EndToEndId TFNR 22 004 00001"
    assert first.remittance_text == "Verw CTSc-01 BC-PPP TFNr 22 004"
    assert first.counterparty_name == "KARL        KAUFMANN"
    assert first.counterparty_account == "DE14508800500194785000"
    assert first.booking_date == dt.date(2007, 9, 4) and first.value_date == dt.date(2007, 9, 7)
    assert pf.statements[0].account == "50880050/0194787400888"
    assert pf.statements[0].sequence == "00004/00001"


def test_triodos_structured_86_with_angle_brackets() -> None:
    pf = mt940.parse(read("jejik/triodos.sta"), "triodos.sta")
    first, second = pf.statements[0].entries
    assert first.remittance_text == (
        "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    )
    assert first.counterparty_account == "0390123456"
    assert second.remittance_text == "HUUR KANTOOR - FEB 2010"


def test_account_with_currency_suffix() -> None:
    pf = mt940.parse(read("jejik/rabobank.sta"), "rabobank.sta")
    assert pf.statements[0].account == "1291.99.348"
    assert next(c for c in pf.statements[0].checks if c.name == "currency").detail == (
        ":25: EUR, :60F: EUR, :62F: EUR"
    )


@pytest.mark.parametrize("sta", FRAGMENTS + BROKEN)
def test_fragment_fields_match_wolph(sta: str) -> None:
    """Fragments are checked field by field with the public field parsers."""
    data, transactions = expected(sta)
    fields = mt940.tokenize(read(sta), sta)
    by_tag: dict[str, list[mt940.Field]] = {}
    for fld in fields:
        by_tag.setdefault(fld.tag, []).append(fld)
    for tag, key in (("60F", "final_opening_balance"), ("62F", "final_closing_balance")):
        if key in data:
            balance = mt940.parse_balance(by_tag[tag][-1].value)
            want = data[key]
            assert balance.amount == want["amount"]["amount"]
            assert (balance.currency, balance.date, balance.mark) == (
                want["amount"]["currency"],
                want["date"],
                want["status"],
            )
    if "available_balance" in data and "64" in by_tag:
        assert (
            mt940.parse_balance(by_tag["64"][-1].value).amount
            == (data["available_balance"]["amount"]["amount"])
        )
    if "account_identification" in data and sta not in BROKEN:
        assert by_tag["25"][-1].value == data["account_identification"]
    if "transaction_reference" in data:
        assert by_tag["20"][-1].value == data["transaction_reference"]
    if "statement_number" in data and "28C" in by_tag:
        assert by_tag["28C"][-1].value == f"{data['statement_number']}/{data['sequence_number']}"
    lines = by_tag.get("61", [])
    assert len(lines) == len(transactions)
    for index, (fld, want) in enumerate(zip(lines, transactions, strict=True)):
        following = fields[fields.index(fld) + 1] if fld is not fields[-1] else None
        info = None
        if following is not None and following.tag == "86":
            info = mt940.parse_information(following.value)
        _compare_transaction(
            _field_view(mt940.parse_statement_line(fld.value), info), want, f"{sta} #{index}"
        )


@pytest.mark.parametrize("sta", FRAGMENTS)
def test_fragments_are_not_files(sta: str) -> None:
    """A lone field is not a statement: no :20:, or no account/balances after it."""
    with pytest.raises(ParseError) as info:
        mt940.parse(read(sta), sta)
    assert re.fullmatch(r"line \d+", info.value.where)
    assert "before :20:" in info.value.message or "statement has no" in info.value.message


def test_amount_formats() -> None:
    amounts = [
        mt940.parse_balance(f.value).amount
        for f in mt940.tokenize(read("betterplace/amount_formats.sta"), "amount_formats.sta")
    ]
    assert amounts == [Decimal(v) for v in ("380115.12", "380115.1", "380115", "0.12", "0.12")] + [
        Decimal("1.12")
    ]


# --------------------------------------------------------------------------------------------
# Malformed vectors
# --------------------------------------------------------------------------------------------


def test_sepa_snippet_broken_is_rejected() -> None:
    """A :25: (account) where the :86: of the first entry should be.

    Reading on, as wolph/mt940 does, would silently re-assign the whole statement to an
    "account" called "166?00GUTSCHRIFT?100399?20EREF+EndT" and drop the entry's details. The
    account a statement belongs to is the one thing a reconciliation cannot guess, so a strict
    pipeline rejects the file and names the line; nothing from it is booked.
    """
    with pytest.raises(ParseError) as info:
        mt940.parse(read("betterplace/sepa_snippet_broken.sta"), "sepa_snippet_broken.sta")
    assert info.value.where == "line 6"
    assert info.value.message == "field :25: out of order after :61:"
    assert str(info.value).startswith("sepa_snippet_broken.sta: line 6: ")


def test_with_binary_character_is_parsed_and_flagged() -> None:
    """UTF-8 "Ü"/"ß" inside the :20: references and :86: texts; the structure is intact.

    SWIFT text is limited to a printable ASCII subset, so these bytes mean the file was
    re-encoded or damaged on the way; the :20: references even differ between statements
    ("STAR1ÜTßUMS" / "STAR1ÜTUMS"). Amounts, dates and balances are validated strictly and both
    statements reconcile, so rejecting the file would throw away good money data; accepting it
    silently would let a mangled reference through. The parser reads it and fails a file-level
    "charset" check naming each line, so ``ParsedFile.ok`` is False and the file is held for
    review with everything inspectable.
    """
    pf = mt940.parse(read("betterplace/with_binary_character.sta"), "with_binary_character.sta")
    assert [c.ok for s in pf.statements for c in s.checks if c.name == "balance_proof"] == [
        True,
        True,
    ]
    assert not pf.ok
    (charset,) = pf.failed_checks()
    assert charset.name == "charset"
    assert "line 1: U+00DC U+00DF" in charset.detail
    assert "line 18: U+00DC" in charset.detail and "line 24: U+00DC" in charset.detail
    assert pf.statements[0].reference == "STAR1\u00dcT\u00dfUMS"


def test_ing_control_characters_are_flagged() -> None:
    pf = mt940.parse(read("jejik/ing.sta"), "ing.sta")
    charset = next(c for c in pf.checks if c.name == "charset")
    assert not charset.ok
    assert "line 13: U+0009" in charset.detail and "line 15: U+00AD" in charset.detail


# --------------------------------------------------------------------------------------------
# Synthetic files
# --------------------------------------------------------------------------------------------


def _mt940(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _one(data: bytes) -> Statement:
    pf = mt940.parse(data, "synthetic.sta")
    assert len(pf.statements) == 1
    return pf.statements[0]


def test_reversal_signs() -> None:
    stmt = _one(
        _mt940(
            ":20:REVERSALS",
            ":25:DE89370400440532013000",
            ":28C:7/1",
            ":60F:C240105EUR100,00",
            ":61:2401050105RC10,00NTRFNONREF//B1",  # reversal of a credit: money goes out
            ":61:2401050105RDR5,50NRTINONREF//B2",  # reversal of a debit, funds code R (EUR)
            ":61:2401050105D1,00NCHGNONREF",
            ":62F:C240105EUR94,50",
            "-",
        )
    )
    assert [(e.amount, e.reversal) for e in stmt.entries] == [
        (Decimal("-10.00"), True),
        (Decimal("5.50"), True),
        (Decimal("-1.00"), False),
    ]
    assert stmt.debits == Decimal("11.00") and stmt.credits == Decimal("5.50")
    assert all(c.ok for c in stmt.checks)
    line = mt940.parse_statement_line("2401050105RCR10,00NTRFREF")
    assert (line.mark, line.funds_code, line.amount) == ("RC", "R", Decimal("-10.00"))


def test_entry_date_rolls_over_the_year() -> None:
    stmt = _one(
        _mt940(
            ":20:ROLLOVER",
            ":25:12345678",
            ":28C:1",
            ":60F:C101231EUR0,",
            ":61:1012310102C1,00NTRFNONREF",  # value 31 Dec 2010, booked 2 Jan 2011
            ":61:1101011231D1,00NTRFNONREF",  # value 1 Jan 2011, booked 31 Dec 2010
            ":62F:C110102EUR0,",
        )
    )
    assert [(e.value_date, e.booking_date) for e in stmt.entries] == [
        (dt.date(2010, 12, 31), dt.date(2011, 1, 2)),
        (dt.date(2011, 1, 1), dt.date(2010, 12, 31)),
    ]
    assert (stmt.from_date, stmt.to_date, stmt.date) == (
        dt.date(2010, 12, 31),
        dt.date(2011, 1, 2),
        dt.date(2011, 1, 2),
    )


def test_86_attaches_to_the_preceding_61() -> None:
    stmt = _one(
        _mt940(
            ":20:MULTILINE",
            ":25:DE89370400440532013000EUR",
            ":28C:00012/001",
            ":60F:C240105EUR0,00",
            ":61:2401050105C25,00NTRFINV-1//BANKREF1",
            "SUPPLEMENTARY DETAILS",
            ":86:166?00GUTSCHRIFT?20EREF+E2E-1?21SVWZ+Invoice 4711 and",
            "?22 4712?30COBADEFFXXX?31DE02120300000000202051?32ACME",
            "?33 GMBH",
            ":61:2401050105D5,00NCHGNONREF",
            ":86:Bank charges",
            "for January",
            ":62F:C240105EUR20,00",
            ":64:C240105EUR20,00",
            ":86:STATEMENT LEVEL INFORMATION",
            "-",
        )
    )
    first, second = stmt.entries
    assert first.customer_reference == "INV-1" and first.bank_reference == "BANKREF1"
    assert first.remittance == [mt940.RemittanceRef("SUPPLEMENTARY DETAILS", None, "text")]
    assert first.end_to_end_id == "E2E-1"
    assert first.remittance_text == "Invoice 4711 and 4712"
    assert first.counterparty_name == "ACME GMBH"
    assert first.counterparty_account == "DE02120300000000202051"
    assert first.location == "line 5"
    assert second.remittance_text == "Bank charges\nfor January"  # not the statement-level text
    assert stmt.account == "DE89370400440532013000"
    assert [b.kind for b in stmt.balances] == ["opening", "closing", "closing_available"]
    assert stmt.ok


MT942 = (
    "{1:F01BANKDEFFAXXX0000000000}{2:O9421200240105BANKDEFFAXXX00000000002401051200N}{4:",
    ":20:INTRADAY1",
    ":25:DE89370400440532013000",
    ":28C:5/1",
    ":34F:EURD0,",
    ":34F:EURC100,",
    ":13D:2401051200+0100",
    ":61:2401050105C150,00NTRFNONREF//R1",
    ":86:first",
    ":61:2401050105D20,25NTRFNONREF//R2",
    ":61:2401050105C0,75NTRFNONREF//R3",
    ":90D:1EUR20,25",
    ":90C:2EUR150,75",
    "-}{5:{CHK:123456789ABC}}",
)


def test_mt942_report() -> None:
    pf = mt940.parse(_mt940(*MT942), "intraday.sta")
    assert pf.format == "mt942"
    (stmt,) = pf.statements
    assert (stmt.kind, stmt.date, stmt.currency, stmt.sequence) == (
        "report",
        dt.date(2024, 1, 5),
        "EUR",
        "5/1",
    )
    assert stmt.opening_balance is None and stmt.closing_balance is None
    assert [(b.kind, b.amount) for b in stmt.balances] == [
        ("debit_floor_limit", Decimal("0")),
        ("credit_floor_limit", Decimal("100")),
    ]
    assert [e.amount for e in stmt.entries] == [
        Decimal("150.00"),
        Decimal("-20.25"),
        Decimal("0.75"),
    ]
    assert {c.name: c.ok for c in stmt.checks} == {
        "debit_count": True,
        "debit_sum": True,
        "credit_count": True,
        "credit_sum": True,
        "currency": True,
    }
    assert pf.ok
    tampered = _mt940(*[":90C:3EUR150,75" if line.startswith(":90C:") else line for line in MT942])
    bad = mt940.parse(tampered, "intraday.sta")
    assert [c.detail for c in bad.failed_checks()] == ["stated 3, computed 2"]


def test_swift_envelope_with_two_messages_and_a_gap() -> None:
    message = (
        "{{1:F01BANKDEFFAXXX0000000000}}{{2:O940}}{{4:",
        ":20:REF{n}",
        ":25:12345678",
        ":28C:{n}/1",
        ":60F:C240105EUR{o},00",
        ":61:240105C1,00NTRFNONREF",
        ":62F:C240105EUR{c},00",
        "-}}",
    )
    text = [line.format(n=1, o=10, c=11) for line in message]
    text += [line.format(n=3, o=12, c=13) for line in message]  # statement 2 is missing
    pf = mt940.parse(_mt940(*text), "two.sta")
    assert [s.reference for s in pf.statements] == ["REF1", "REF3"]
    assert [(c.name, c.detail) for c in pf.failed_checks()] == [
        ("continuity", "previous closing 11.00, opening 12.00"),
        ("sequence", "previous sequence 1/1, this 3/1"),
    ]


def test_currency_mismatch_between_60_and_62_is_flagged() -> None:
    stmt = _one(_mt940(":20:X", ":25:1", ":28C:1", ":60F:C240105EUR1,00", ":62F:C240105USD1,00"))
    currency = next(c for c in stmt.checks if c.name == "currency")
    assert not currency.ok and currency.detail == ":60F: EUR, :62F: USD"


HEAD = (":20:ERR", ":25:12345678", ":28C:1", ":60F:C240105EUR1,00")


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        ((*HEAD, ":99:NOT A TAG", ":62F:C240105EUR1,00"), "line 5", "unknown tag :99:"),
        ((*HEAD, ":6X1:2401", ":62F:C240105EUR1,00"), "line 5", "not a SWIFT field tag"),
        ((*HEAD, ":61:240105C12.50NTRFX", ":62F:C240105EUR1,00"), "line 5", "not a SWIFT amount"),
        ((*HEAD, ":61:240105CNTRFX", ":62F:C240105EUR1,00"), "line 5", "no amount"),
        ((*HEAD, ":61:240105C1,234NTRFX", ":62F:C240105EUR1,00"), "line 5", "more decimals"),
        ((*HEAD, ":61:240105C1,00XTRF", ":62F:C240105EUR1,00"), "line 5", "no transaction type"),
        ((*HEAD, ":61:240105CD1,00NTRF", ":62F:C240105EUR1,00"), "line 5", "funds code 'D'"),
        ((*HEAD, ":61:241305C1,00NTRF", ":62F:C240105EUR1,00"), "line 5", "not a valid YYMMDD"),
        ((*HEAD, ":62F:C240105EUR1,0,0"), "line 5", "not a SWIFT amount"),
        ((*HEAD, ":62F:C240105XYZ1,00"), "line 5", "unknown currency code 'XYZ'"),
        ((*HEAD[:3], ":61:240105C1,00NTRFX"), "line 4", "without a preceding :60F:/:60M:"),
        ((*HEAD, ":61:240105C1,00NTRFX"), "line 1", "no :62F:/:62M: closing balance"),
        ((*HEAD[:2], ":60F:C240105EUR1,00", ":62F:C240105EUR1,00"), "line 1", "no :28C:"),
        ((*HEAD, ":60F:C240105EUR1,00"), "line 5", "out of order after :60F:"),
        ((*HEAD, ":62F:C240105EUR1,00", "MORE"), "line 6", "cannot continue"),
        ((*HEAD, ":86:before any entry"), "line 5", ":86: must follow a :61:"),
        ((":25:1", *HEAD), "line 1", "field :25: before :20:"),
        ((*HEAD, ":62F:C240105EUR1,00", ":34F:EUR0,"), "line 6", "out of order"),
        ((*HEAD, ":13D:2401051200"), "line 5", "field :13D: does not belong in an MT940"),
        (("", "  "), "line 1", "no :20: statement found"),
    ],
)
def test_errors_name_the_line(lines: tuple[str, ...], where: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        mt940.parse(_mt940(*lines), "bad.sta")
    assert info.value.file == "bad.sta"
    assert info.value.where == where
    assert message in info.value.message


def test_mixed_mt940_and_mt942_is_rejected() -> None:
    statement = (":20:A", ":25:1", ":28C:1", ":60F:C240105EUR1,00", ":62F:C240105EUR1,00", "-")
    report = (":20:B", ":25:1", ":28C:2", ":34F:EUR0,", ":13D:2401051200", "-")
    with pytest.raises(ParseError) as info:
        mt940.parse(_mt940(*statement, *report), "mixed.sta")
    assert info.value.where == "line 7"


def test_latin1_file_is_read_and_flagged() -> None:
    data = _mt940(":20:X", ":25:1", ":28C:1", ":60F:C240105EUR1,00", ":62F:C240105EUR1,00")
    data = data.replace(b":20:X", b":20:X\xe4")  # a Latin-1 "ä": not valid UTF-8
    pf = mt940.parse(data, "latin1.sta")
    assert pf.statements[0].reference == "X\u00e4"
    assert pf.checks[0].detail.startswith(
        "characters outside printable ASCII: not valid UTF-8, read as Latin-1; line 1: U+00E4"
    )
