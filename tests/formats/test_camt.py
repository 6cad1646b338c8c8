"""camt.052/053/054 parser: public vectors against their expected values, plus synthetic cases.

The genkgo vectors ship a ``.json`` of what genkgo/camt parsed (amounts in minor units, times
in UTC); every pair is compared field by field so a regression in any element shows up.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finance_pipeline.formats import camt
from finance_pipeline.formats.model import Check, Entry, ParsedFile, ParseError, Statement
from finance_pipeline.money import exponent

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors" / "camt"
RECURSION = "__RECURSIVITY__"  # genkgo's serialiser writes an already-seen object as this

GENKGO_PAIRS = [
    "genkgo-camt052.v1",
    "genkgo-camt052.v2",
    "genkgo-camt052.v2.other-account",
    "genkgo-camt052.v2.with-account-name",
    "genkgo-camt052.v4",
    "genkgo-camt052.v6",
    "genkgo-camt052.v6.Amt-zero",
    "genkgo-camt052.v8",
    "genkgo-camt053.v2.all-balance-types",
    "genkgo-camt053.v2.five.decimals",
    "genkgo-camt053.v2.minimal",
    "genkgo-camt053.v2.minimal.ultimate",
    "genkgo-camt053.v2.with-account-name",
    "genkgo-camt053.v2.with-party-ids",
    "genkgo-camt053.v3",
    "genkgo-camt053.v4",
    "genkgo-camt054.v2",
    "genkgo-camt054.v2.with-account-name",
    "genkgo-camt054.v4",
    "genkgo-camt054.v8",
    "genkgo-camt054.v8-with-financial-institution",
    "genkgo-camt53.only-Dt-with-DtTm",
]

# genkgo's balance type names for the ISO codes (our kind keeps the code, except opening/closing).
GENKGO_BALANCE_TYPES = {
    "opening": "opening",
    "closing": "closing",
    "OPAV": "opening_available",
    "CLAV": "closing_available",
    "FWAV": "forward_available",
    "INFO": "information",
    "ITAV": "interim_available",
    "ITBD": "interim",
    "XPCD": "expected_credit",
}
# genkgo record class -> (Statement.kind, ParsedFile.format)
GENKGO_RECORDS = {
    "Statement": ("statement", "camt.053"),
    "Report": ("report", "camt.052"),
    "Notification": ("notification", "camt.054"),
}

# Worked out by hand from each file: opening (OPBD) + booked entries vs closing (CLBD).
# None: the file does not state both balances, so there is nothing to prove.
BALANCE_PROOF: dict[str, tuple[bool | None, str]] = {
    "genkgo-camt053.v2.all-balance-types": (False, "opening 1.01 + entries 8.850 = 9.860"),
    "genkgo-camt053.v2.five.decimals": (False, "= 27.000; closing stated 27.050"),
    "genkgo-camt053.v2.minimal": (False, "= 27.00; closing stated -27.00"),
    "genkgo-camt053.v2.minimal.ultimate": (False, "= 27.00; closing stated -27.00"),
    "genkgo-camt053.v2.with-party-ids": (False, "= 27.00; closing stated -27.00"),
    "genkgo-camt053.v3": (False, "= 27.00; closing stated -27.00"),
    "genkgo-camt053.v4": (False, "= 27.00; closing stated -27.00"),
}


def _load(stem: str) -> ParsedFile:
    path = VECTORS / f"{stem}.xml"
    return camt.parse(path.read_bytes(), path.name)


def _check(stmt: Statement, name: str) -> Check:
    found = [c for c in stmt.checks if c.name == name]
    assert len(found) == 1, f"expected one {name} check, got {stmt.checks}"
    return found[0]


# --------------------------------------------------------------------------- genkgo json helpers


def _resolve(parent: dict[str, Any], list_key: str, single_key: str) -> list[dict[str, Any]]:
    """A genkgo list whose first item repeats the singular getter serialised just before it."""
    return [parent[single_key] if item == RECURSION else item for item in parent[list_key] or []]


def _records(expected: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(record, its entries) in file order; a record is written in full only where first seen."""
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for entry in expected["getEntries"]:
        if isinstance(entry["getRecord"], dict):
            out.append((entry["getRecord"], []))
        out[-1][1].append(entry)
    out.extend((r, []) for r in expected["getRecords"] if isinstance(r, dict))
    assert len(out) == len(expected["getRecords"])
    return out


def _same_day(actual: date | None, expected: dict[str, Any] | None) -> bool:
    """genkgo moves times to UTC; the files write them at UTC or UTC+01:00 and we keep that day."""
    if expected is None:
        return actual is None
    instant = datetime.fromisoformat(expected["0"])
    return actual in {instant.date(), (instant + timedelta(hours=1)).date()}


def _minor(amount: Decimal, currency: str) -> Decimal:
    return amount.scaleb(exponent(currency))


def _type_code(btc: dict[str, Any] | None) -> str | None:
    if not btc:
        return None
    domain = btc.get("getDomain")
    if domain:
        family = domain["getFamily"]
        return f"{domain['getCode']}/{family['getCode']}/{family['getSubFamilyCode']}"
    proprietary = btc.get("getProprietary")
    return proprietary["getCode"] if proprietary else None


def _party(detail: dict[str, Any], credit: bool) -> tuple[str | None, str | None]:
    """Name and account of the other side: the debtor of a credit, the creditor of a debit."""
    role = "Debtor" if credit else "Creditor"
    parties = {
        p["getRelatedPartyType"]["__CLASS__"].rsplit("\\", 1)[-1]: p
        for p in detail["getRelatedParties"]
    }
    party = parties.get(role) or parties.get("Ultimate" + role)
    if party is None:
        return None, None
    account = party.get("getAccount")
    account_id = account["getIdentification"] if account else None
    return party["getRelatedPartyType"]["getName"], account_id


def _remittance(details: list[dict[str, Any]]) -> tuple[list[str], str | None]:
    """Creditor references of every structured block, and the unstructured text as we join it."""
    refs: list[str] = []
    texts: list[str] = []
    for detail in details:
        info = detail.get("getRemittanceInformation")
        if not info:
            continue
        for block in _resolve(info, "getStructuredBlocks", "getStructuredBlock"):
            cref = block["getCreditorReferenceInformation"]
            if cref == RECURSION:
                cref = info["getCreditorReferenceInformation"]
            if cref and cref["getRef"]:
                refs.append(cref["getRef"])
        lines = [
            b["getMessage"] for b in _resolve(info, "getUnstructuredBlocks", "getUnstructuredBlock")
        ]
        if lines:
            texts.append(" ".join(lines))
    return refs, " | ".join(texts) or None


def _assert_entry(entry: Entry, expected: dict[str, Any]) -> None:
    money = expected["getAmount"]
    currency = money["getCurrency"]["getCode"]
    assert entry.currency == currency
    assert _minor(entry.amount, currency) == Decimal(money["getAmount"])
    credit = expected["getCreditDebitIndicator"] == "CRDT"
    assert entry.amount >= 0 if credit else entry.amount <= 0
    assert entry.status == expected["getStatus"]
    assert entry.reversal is bool(expected["getReversalIndicator"])
    assert _same_day(entry.booking_date, expected["getBookingDate"])
    assert _same_day(entry.value_date, expected["getValueDate"])
    assert entry.acct_svcr_ref == expected["getAccountServicerReference"]
    assert entry.type_code == _type_code(expected["getBankTransactionCode"])
    details = (
        _resolve(expected, "getTransactionDetails", "getTransactionDetail")
        if expected["getTransactionDetails"]
        else []
    )
    assert entry.details_count == max(1, len(details))
    if len(details) == 1:
        reference = details[0]["getReference"] or {}
        assert entry.end_to_end_id == reference.get("getEndToEndId")
        name, account = _party(details[0], credit != entry.reversal)
        assert entry.counterparty_name == name
        assert entry.counterparty_account == account
    refs, text = _remittance(details)
    assert [r.reference for r in entry.remittance if r.kind == "creditor_reference"] == refs
    assert entry.remittance_text == text


# --------------------------------------------------------------------------- public vectors


@pytest.mark.parametrize("stem", GENKGO_PAIRS)
def test_genkgo_vector_matches_expected_json(stem: str) -> None:
    parsed = _load(stem)
    expected = json.loads((VECTORS / f"{stem}.json").read_text(encoding="utf-8"))
    records = _records(expected)
    assert len(parsed.statements) == len(records)
    for stmt, (record, entries) in zip(parsed.statements, records, strict=True):
        kind, format_name = GENKGO_RECORDS[record["__CLASS__"].rsplit("\\", 1)[-1]]
        assert (stmt.kind, parsed.format) == (kind, format_name)
        assert stmt.account == record["getAccount"]["getIdentification"]
        assert stmt.sequence == (
            record["getElectronicSequenceNumber"] or record["getLegalSequenceNumber"]
        )
        if record["getFromDate"] or record["getToDate"]:
            assert stmt.date is None
            assert _same_day(stmt.from_date, record["getFromDate"])
            assert _same_day(stmt.to_date, record["getToDate"])
        else:
            assert _same_day(stmt.date, record["getCreatedOn"])
        got_balances = [
            (GENKGO_BALANCE_TYPES[b.kind], _minor(b.amount, b.currency), b.currency)
            for b in stmt.balances
        ]
        want_balances = [
            (
                b["getType"],
                Decimal(b["getAmount"]["getAmount"]),
                b["getAmount"]["getCurrency"]["getCode"],
            )
            for b in record.get("getBalances", [])
        ]
        assert got_balances == want_balances
        for balance, want in zip(stmt.balances, record.get("getBalances", []), strict=True):
            assert _same_day(balance.as_of, want["getDate"])
        assert len(stmt.entries) == len(entries) == len(record["getEntries"])
        for entry, want_entry in zip(stmt.entries, entries, strict=True):
            _assert_entry(entry, want_entry)


@pytest.mark.parametrize("stem", GENKGO_PAIRS)
def test_genkgo_balance_proof_worked_by_hand(stem: str) -> None:
    (stmt,) = _load(stem).statements
    expected_ok, detail = BALANCE_PROOF.get(stem, (None, "opening or closing balance not stated"))
    proof = _check(stmt, "balance_proof")
    assert proof.ok is (expected_ok is not False)
    assert detail in proof.detail
    if expected_ok is False:
        assert not stmt.ok


def test_genkgo_minimal_mixed_currency_balances_are_flagged() -> None:
    (stmt,) = _load("genkgo-camt053.v2.minimal").statements
    assert stmt.currency == "EUR"
    assert stmt.opening_balance == Decimal("18.15")
    assert stmt.closing_balance == Decimal("-27.00")  # DBIT, and stated in SEK
    check = _check(stmt, "currency")
    assert not check.ok
    assert "closing balance in SEK" in check.detail
    assert "CLAV balance in JPY" in check.detail


def test_genkgo_all_balance_types_opbd_and_prcd_disagree() -> None:
    (stmt,) = _load("genkgo-camt053.v2.all-balance-types").statements
    assert [b.kind for b in stmt.balances] == [
        "opening",
        "opening",
        "OPAV",
        "closing",
        "CLAV",
        "FWAV",
        "INFO",
        "ITAV",
        "ITBD",
        "XPCD",
    ]
    assert stmt.opening_balance == Decimal("1.01")  # OPBD wins over PRCD
    assert stmt.closing_balance == Decimal("4.04")
    check = _check(stmt, "opening_balance")
    assert not check.ok
    assert check.detail == "OPBD 1.01, PRCD 2.02"


def test_genkgo_extra_decimals_are_kept() -> None:
    (stmt,) = _load("genkgo-camt053.v2.five.decimals").statements
    assert str(stmt.opening_balance) == "18.150"
    assert str(stmt.entries[0].amount) == "8.850"
    (ron,) = _load("genkgo-camt53.only-Dt-with-DtTm").statements
    assert str(ron.opening_balance) == "5442.09000"
    assert ron.balances[0].as_of == date(2025, 7, 23)  # Bal/Dt/DtTm
    assert ron.entries == []


def test_genkgo_wrong_file_has_no_statement() -> None:
    path = VECTORS / "genkgo-camt053.v2.wrong.xml"
    with pytest.raises(ParseError) as err:
        camt.parse(path.read_bytes(), path.name)
    assert err.value.file == "genkgo-camt053.v2.wrong.xml"
    assert err.value.where == "/Document/BkToCstmrStmt/Stmt"
    assert "missing required element Stmt" in err.value.message


def test_genkgo_v1_report_and_locations() -> None:
    parsed = _load("genkgo-camt052.v1")
    (stmt,) = parsed.statements
    assert stmt.location == "/Document/BkToCstmrAcctRptV01/Rpt[1]"
    assert stmt.entries[0].location == "/Document/BkToCstmrAcctRptV01/Rpt[1]/Ntry[1]"
    assert stmt.account == "CH2801234000123456789"  # Acct/Id/PrtryAcct/Id in .001.01
    assert [c.name for c in parsed.checks] == ["pagination"]
    assert parsed.checks[0].ok


def test_iso_business_sample_camt052() -> None:
    parsed = _load("iso-business_sample_camt.052.001.04")
    assert parsed.format == "camt.052"
    (rpt,) = parsed.statements
    assert rpt.kind == "report"
    assert rpt.account == "50000000054910000003"
    assert rpt.currency == "SEK"
    assert (rpt.from_date, rpt.to_date, rpt.date) == (date(2010, 10, 18), date(2010, 10, 18), None)
    assert rpt.balances == []
    batch, pending = rpt.entries
    assert batch.amount == Decimal("-200000")
    assert batch.status == "BOOK"
    assert batch.booking_date == date(2010, 10, 18)
    assert batch.type_code == "PAYM/0001/0003"
    assert batch.acct_svcr_ref == "AAAASESS-FP-ACCR-01"
    assert batch.details_count == 1  # Btch says 20 transactions but lists no TxDtls
    assert pending.amount == Decimal("30000")
    assert pending.status == "PDNG"
    assert pending.booking_date is None
    assert pending.end_to_end_id == "AAAASS1085FINPSS"
    assert pending.customer_reference == "FP-004567-FX"
    assert pending.type_code == "TREA/0002/0000"
    assert (rpt.credits, rpt.debits) == (Decimal(0), Decimal("200000"))  # booked only
    assert rpt.ok


def test_iso_business_sample_camt054() -> None:
    parsed = _load("iso-business_sample_camt.054.001.04")
    assert parsed.format == "camt.054"
    (ntf,) = parsed.statements
    assert ntf.kind == "notification"
    assert ntf.date == date(2010, 10, 18)  # CreDtTm, no FrToDt
    (entry,) = ntf.entries
    assert entry.amount == Decimal("105678.50")
    assert entry.currency == "SEK"
    assert entry.end_to_end_id == "MUELL/FINP/RA12345"
    assert entry.counterparty_name == "MUELLER"
    assert entry.acct_svcr_ref == "AAAASESS-FP-CN-98765/01"
    assert entry.type_code == "PAYM/0001/0005"
    assert entry.location == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]"
    assert parsed.ok


# --------------------------------------------------------------------------- synthetic documents


def _document(body: str, message: str = "053", version: str = "08", header: str = "") -> bytes:
    element, record = {
        "052": ("BkToCstmrAcctRpt", "Rpt"),
        "053": ("BkToCstmrStmt", "Stmt"),
        "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[message]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{message}.001.{version}">'
        f"<{element}><GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-03-01T18:00:00+01:00</CreDtTm>"
        f"{header}</GrpHdr>{body}</{element}></Document>"
    ).encode()


def _record(
    inner: str,
    tag: str = "Stmt",
    account: str = "DE89370400440532013000",
    seq: str = "1",
    balances: str = "",
) -> str:
    return (
        f"<{tag}><Id>S{seq}</Id><ElctrncSeqNb>{seq}</ElctrncSeqNb>"
        "<CreDtTm>2024-03-01T18:00:00+01:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balances}{inner}</{tag}>"
    )


def _balance(code: str, amount: str, ind: str = "CRDT", day: str = "2024-03-01") -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>'
        f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def _entry(
    amount: str,
    ind: str = "CRDT",
    extra: str = "",
    details: str = "",
    status: str = "<Sts><Cd>BOOK</Cd></Sts>",
) -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{extra}{status}'
        "<BookgDt><Dt>2024-03-01</Dt></BookgDt><ValDt><Dt>2024-03-01</Dt></ValDt>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd>{details}</Ntry>"
    )


def _parse(data: bytes) -> ParsedFile:
    return camt.parse(data, "synthetic.xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>&lol3;</MsgId></GrpHdr></BkToCstmrStmt></Document>"""


def test_doctype_with_entities_is_rejected() -> None:
    with pytest.raises(ParseError) as err:
        _parse(BILLION_LAUGHS)
    assert "DOCTYPE" in err.value.message
    assert err.value.where == "line 2"


def test_external_entity_is_rejected() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
    )
    with pytest.raises(ParseError, match="DOCTYPE"):
        _parse(xxe)


def test_doctype_in_utf16_is_rejected_by_the_parser_guard() -> None:
    declaration = b'<?xml version="1.0" encoding="UTF-16"?>'
    data = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', declaration)
    with pytest.raises(ParseError, match="DOCTYPE"):
        _parse(data.decode().encode("utf-16"))


def test_reversal_is_signed_by_its_indicator() -> None:
    debtor = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs><RltdPties>"
        "<Dbtr><Pty><Nm>Original Payer</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></DbtrAcct>"
        "<Cdtr><Pty><Nm>Us</Nm></Pty></Cdtr></RltdPties></TxDtls></NtryDtls>"
    )
    body = _record(
        _entry("100.00", "CRDT", details=debtor)
        + _entry("100.00", "DBIT", "<RvslInd>true</RvslInd>", details=debtor)
        + _entry("40.00", "CRDT", "<RvslInd>true</RvslInd>")
    )
    (stmt,) = _parse(_document(body)).statements
    payment, reversal, debit_reversal = stmt.entries
    assert (payment.amount, payment.reversal) == (Decimal("100.00"), False)
    assert (reversal.amount, reversal.reversal) == (Decimal("-100.00"), True)
    assert (debit_reversal.amount, debit_reversal.reversal) == (Decimal("40.00"), True)
    # A reversed credit still names the original payer as the other side.
    assert reversal.counterparty_name == payment.counterparty_name == "Original Payer"
    assert reversal.counterparty_account == "NL91ABNA0417164300"
    assert stmt.credits - stmt.debits == Decimal("40.00")


def test_batch_with_three_details_is_one_entry() -> None:
    def detail(n: int) -> str:
        return (
            f"<TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs>"
            f'<Amt Ccy="EUR">{n}0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<RltdPties><Dbtr><Pty><Nm>Payer {n}</Nm></Pty></Dbtr></RltdPties>"
            f"<RmtInf><Ustrd>Invoice {n}</Ustrd><Strd><RfrdDocInf><Nb>INV-{n}</Nb></RfrdDocInf>"
            "</Strd></RmtInf></TxDtls>"
        )

    details = (
        "<NtryDtls><Btch><NbOfTxs>3</NbOfTxs></Btch>"
        + "".join(detail(n) for n in (1, 2, 3))
        + "</NtryDtls>"
    )
    (stmt,) = _parse(_document(_record(_entry("60.00", details=details)))).statements
    (entry,) = stmt.entries
    assert entry.amount == Decimal("60.00")
    assert entry.details_count == 3
    assert entry.end_to_end_id is None  # which of the three? none is the entry's own
    assert entry.counterparty_name is None
    assert [r.reference for r in entry.remittance] == ["INV-1", "INV-2", "INV-3"]
    assert {r.kind for r in entry.remittance} == {"invoice"}
    assert entry.remittance_text == "Invoice 1 | Invoice 2 | Invoice 3"


def test_structured_creditor_reference_and_invoice_amount() -> None:
    details = (
        "<NtryDtls><TxDtls><Refs><AcctSvcrRef>BANK-REF-9</AcctSvcrRef>"
        "<EndToEndId>NOTPROVIDED</EndToEndId><ChqNb>000123</ChqNb></Refs>"
        "<RmtInf><Ustrd>first line</Ustrd><Ustrd>second line</Ustrd>"
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        "<Ref>RF18539007547034</Ref></CdtrRefInf></Strd>"
        "<Strd><RfrdDocInf><Nb>INV-2024-17</Nb></RfrdDocInf>"
        '<RfrdDocAmt><DuePyblAmt Ccy="EUR">130.00</DuePyblAmt>'
        '<RmtdAmt Ccy="EUR">125.50</RmtdAmt></RfrdDocAmt></Strd>'
        "</RmtInf></TxDtls></NtryDtls>"
    )
    (stmt,) = _parse(_document(_record(_entry("125.50", details=details)))).statements
    (entry,) = stmt.entries
    creditor, invoice = entry.remittance
    assert (creditor.reference, creditor.kind, creditor.amount) == (
        "RF18539007547034",
        "creditor_reference",
        None,
    )
    assert (invoice.reference, invoice.kind, invoice.amount) == (
        "INV-2024-17",
        "invoice",
        Decimal("125.50"),
    )
    assert entry.remittance_text == "first line second line"
    assert entry.acct_svcr_ref == "BANK-REF-9"  # from TxDtls/Refs when Ntry has none
    assert entry.end_to_end_id is None  # NOTPROVIDED is ISO's placeholder, not a reference
    assert entry.check_number == "000123"
    assert entry.type_code == "PMNT/RCDT/ESCT"


def test_status_code_form_from_version_08() -> None:
    body = _record(
        _entry("10.00")
        + _entry("5.00", status="<Sts><Cd>PDNG</Cd></Sts>")
        + _entry("1.00", status="<Sts><Prtry>HELD</Prtry></Sts>")
    )
    (stmt,) = _parse(_document(body, version="08")).statements
    assert [e.status for e in stmt.entries] == ["BOOK", "PDNG", "HELD"]
    assert [e.amount for e in stmt.booked] == [Decimal("10.00")]
    text_form = _record(_entry("10.00", status="<Sts>BOOK</Sts>"))
    (old,) = _parse(_document(text_form, version="02")).statements
    assert old.entries[0].status == "BOOK"


def test_txs_summary_mismatch_is_flagged() -> None:
    summary = (
        "<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>150.00</Sum>"
        "<TtlNetNtry><Amt>50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries>"
        "<TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>100.00</Sum></TtlCdtNtries>"
        "<TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>50.00</Sum></TtlDbtNtries></TxsSummry>"
    )
    body = _record(summary + _entry("100.00") + _entry("40.00", "DBIT"))
    parsed = _parse(_document(body))
    (stmt,) = parsed.statements
    results = {c.name: (c.ok, c.detail) for c in stmt.checks}
    assert results["TxsSummry/TtlNtries/NbOfNtries"] == (False, "stated 3, computed 2")
    assert results["TxsSummry/TtlNtries/Sum"] == (False, "stated 150.00, computed 140.00")
    assert results["TxsSummry/TtlNtries/TtlNetNtry"] == (False, "stated 50.00, computed 60.00")
    assert results["TxsSummry/TtlCdtNtries/NbOfNtries"][0]
    assert results["TxsSummry/TtlCdtNtries/Sum"][0]
    assert results["TxsSummry/TtlDbtNtries/NbOfNtries"][0]
    assert results["TxsSummry/TtlDbtNtries/Sum"] == (False, "stated 50.00, computed 40.00")
    assert not parsed.ok
    assert {c.name for c in parsed.failed_checks()} == {
        "TxsSummry/TtlNtries/NbOfNtries",
        "TxsSummry/TtlNtries/Sum",
        "TxsSummry/TtlNtries/TtlNetNtry",
        "TxsSummry/TtlDbtNtries/Sum",
    }


def test_txs_summary_old_net_form_that_agrees() -> None:
    summary = (
        "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>140.00</Sum>"
        "<TtlNetNtryAmt>60</TtlNetNtryAmt><CdtDbtInd>CRDT</CdtDbtInd></TtlNtries></TxsSummry>"
    )
    body = _record(
        summary
        + _entry("100.00", status="<Sts>BOOK</Sts>")
        + _entry("40.00", "DBIT", status="<Sts>BOOK</Sts>")
        + _entry("999.00", status="<Sts>PDNG</Sts>"),  # not booked, not in the totals
        balances=_balance("OPBD", "10.00") + _balance("CLBD", "70.00"),
    )
    parsed = _parse(_document(body, version="02"))
    (stmt,) = parsed.statements
    assert parsed.ok, parsed.failed_checks()
    assert _check(stmt, "TxsSummry/TtlNtries/TtlNetNtry").detail == "stated 60, computed 60.00"
    assert _check(stmt, "balance_proof").ok


def test_balances_and_continuity_across_statements() -> None:
    first = _record(
        _entry("25.00") + _entry("5.00", "DBIT"),
        seq="7",
        balances=_balance("OPBD", "100.00") + _balance("CLBD", "120.00"),
    )
    second = _record(
        _entry("1.00"),
        seq="8",
        balances=_balance("PRCD", "120.00") + _balance("CLBD", "121.00"),
    )
    third = _record(
        "",
        seq="10",
        balances=_balance("OPBD", "50.00", "DBIT") + _balance("CLBD", "50.00", "DBIT"),
    )
    parsed = _parse(_document(first + second + third))
    one, two, three = parsed.statements
    assert one.ok and two.ok
    assert two.opening_balance == Decimal("120.00")  # PRCD counts as the opening balance
    assert _check(two, "continuity").ok
    assert _check(two, "sequence").ok
    assert three.opening_balance == Decimal("-50.00")
    assert not _check(three, "continuity").ok  # 121.00 closed, -50.00 opened
    assert not _check(three, "sequence").ok  # 8 then 10
    assert _check(three, "balance_proof").ok
    assert three.location == "/Document/BkToCstmrStmt/Stmt[3]"


def test_debtor_party_form_and_locations() -> None:
    details = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-77</EndToEndId></Refs><RltdPties>"
        "<Dbtr><Pty><Nm>Acme GmbH</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><Othr><Id>ACME-001</Id></Othr></Id></DbtrAcct></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    body = _record(_entry("1.00") + _entry("9.99", details=details), tag="Rpt")
    (rpt,) = _parse(_document(body, message="052", version="14")).statements
    assert rpt.kind == "report"
    entry = rpt.entries[1]
    assert entry.location == "/Document/BkToCstmrAcctRpt/Rpt[1]/Ntry[2]"
    assert (entry.counterparty_name, entry.counterparty_account) == ("Acme GmbH", "ACME-001")
    assert entry.end_to_end_id == "E2E-77"


def test_more_decimals_than_the_currency_are_kept() -> None:
    (stmt,) = _parse(_document(_record(_entry("10.12345")))).statements
    assert stmt.entries[0].amount == Decimal("10.12345")
    assert str(stmt.entries[0].amount) == "10.12345"


def test_entries_are_cleared_while_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries already read are dropped: only the previous (cleared) Ntry precedes the current.

    (lxml parses ahead in blocks, so some later entries may already exist; that is bounded by
    its buffer, not by the file.)
    """
    seen: list[int] = []
    original = camt._CamtReader._parse_entry

    def spy(self: camt._CamtReader, scope: Any) -> Any:
        before = scope.base.itersiblings(preceding=True)
        seen.append(sum(1 for c in before if camt._local(c) == "Ntry"))
        return original(self, scope)

    monkeypatch.setattr(camt._CamtReader, "_parse_entry", spy)
    n = 2000
    body = _record("".join(_entry(f"{i}.01") for i in range(1, n + 1)))
    (stmt,) = _parse(_document(body)).statements
    assert len(stmt.entries) == n
    assert stmt.credits == sum((Decimal(f"{i}.01") for i in range(1, n + 1)), Decimal(0))
    assert len(seen) == n
    assert max(seen) <= 1


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b"", "line 1", "empty file"),
        (b"this is not xml", "line 1", "not well-formed XML"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n'
            b"<BkToCstmrStmt><Unclosed></BkToCstmrStmt></Document>",
            "line 2",
            "not well-formed XML",
        ),
        (b"<Invoice/>", "/Invoice", "root element must be Document"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>',
            "/Document",
            "not a camt.052/053/054 document",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.15"/>',
            "/Document",
            "unsupported version camt.053.001.15",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            b"<BkToCstmrAcctRpt/></Document>",
            "/Document/BkToCstmrAcctRpt",
            "expected BkToCstmrStmt",
        ),
    ],
)
def test_not_a_camt_document(data: bytes, where: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        _parse(data)
    assert err.value.where == where
    assert message in err.value.message


def test_entry_without_amount_names_the_element() -> None:
    no_amount = "<Ntry><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts></Ntry>"
    with pytest.raises(ParseError) as err:
        _parse(_document(_record(_entry("1.00") + no_amount)))
    assert err.value.where == "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt"
    assert err.value.message == "missing required element Amt"


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        (_entry("12,50"), "Ntry[1]/Amt", "not a valid amount: '12,50'"),
        (_entry("-5.00"), "Ntry[1]/Amt", "not a valid amount: '-5.00'"),
        (_entry("5.00", "CR"), "Ntry[1]/CdtDbtInd", "CdtDbtInd must be CRDT or DBIT"),
        (_entry("5.00", status=""), "Ntry[1]/Sts", "missing required element Sts"),
        (
            _entry("5.00").replace(' Ccy="EUR"', ""),
            "Ntry[1]/Amt",
            "missing or invalid Ccy attribute",
        ),
        (
            _entry("5.00").replace("<Dt>2024-03-01</Dt></Bookg", "<Dt>01.03.2024</Dt></Bookg"),
            "Ntry[1]/BookgDt/Dt",
            "not a valid date",
        ),
    ],
)
def test_bad_entry_values_name_the_element(entry: str, where: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        _parse(_document(_record(entry)))
    assert err.value.where == f"/Document/BkToCstmrStmt/Stmt[1]/{where}"
    assert message in err.value.message


def test_bad_balance_amount_names_the_balance() -> None:
    body = _record("", balances=_balance("OPBD", "1.00") + _balance("CLBD", "abc"))
    with pytest.raises(ParseError) as err:
        _parse(_document(body))
    assert err.value.where == "/Document/BkToCstmrStmt/Stmt[1]/Bal[2]/Amt"


def test_statement_without_account_is_rejected() -> None:
    body = "<Stmt><Id>S1</Id><CreDtTm>2024-03-01T18:00:00</CreDtTm></Stmt>"
    with pytest.raises(ParseError) as err:
        _parse(_document(body))
    assert err.value.where == "/Document/BkToCstmrStmt/Stmt[1]/Acct"


def test_report_inside_a_statement_message_is_rejected() -> None:
    with pytest.raises(ParseError, match="Rpt is not allowed in a camt.053 message"):
        _parse(_document(_record(_entry("1.00"), tag="Rpt")))
