"""BAI2 parser tests: public vectors with facts read off the files by hand, plus small
synthetic files for the corners of the spec the vectors do not reach.

Amounts in the comments are as written in the file (minor units); assertions are in major units.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance_pipeline.formats.bai2 import parse
from finance_pipeline.formats.model import Check, ParsedFile, ParseError

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors" / "bai2"


def _vector(name: str, *, lenient: bool = False) -> ParsedFile:
    return parse((VECTORS / name).read_bytes(), name, lenient=lenient)


def _bai(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("ascii")


def _check(checks: list[Check], name: str) -> Check:
    (found,) = [c for c in checks if c.name == name]
    return found


def _all_checks(parsed: ParsedFile) -> list[Check]:
    return parsed.checks + [c for s in parsed.statements for c in s.checks]


def _raises_at(data: bytes, line: int, *, contains: str, lenient: bool = False) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(data, "bad.bai2", lenient=lenient)
    error = caught.value
    assert error.file == "bad.bai2"
    assert error.where == f"line {line}"
    assert f"line {line}" in str(error)
    assert contains in error.message
    return error


# A small valid file the error tests damage one line at a time.
# 03 amounts 10000 + 12500, 16 amount 2500: control total 25000.
HEADER = "01,BANK,CUST,240102,0800,1,,,2/"
VALID = [
    HEADER,
    "02,CUST,BANK,1,240101,2400,USD,2/",
    "03,123,USD,010,10000,,,015,12500,,/",
    "16,195,2500,Z,WIRE1,,INCOMING/",
    "49,25000,3/",
    "98,25000,1,5/",
    "99,25000,1,7/",
]


# -- moov-io sample1: the specification's own sample (CAD, funds type V, signed totals) ------


def test_moov_sample1_is_consistent() -> None:
    parsed = _vector("moov-sample1.txt")
    assert parsed.format == "bai2"
    assert parsed.ok
    assert parsed.errors == []
    assert [c for c in _all_checks(parsed) if not c.ok] == []
    first, second = parsed.statements
    for statement in (first, second):
        assert statement.account == "10200123456"
        assert statement.currency == "CAD"
        assert statement.kind == "account_day"
        assert statement.date == date(2006, 3, 17)  # the 02 as-of date, for both 03s
        # Only 040/045 are given (both +000000000000): no ledger balances to prove.
        assert statement.opening_balance is None
        assert statement.closing_balance is None
        assert [(b.kind, b.amount) for b in statement.balances] == [
            ("040", Decimal("0.00")),
            ("045", Decimal("0.00")),
        ]
    assert first.location == "line 3"
    assert len(first.entries) == 11
    assert len(second.entries) == 6
    # 108 credits: 203500 + 2500 + 2500; 409 debits: 2500 + 90000 + 500 + 20000 + 90000
    # + 2000 + 2500 + 1000 (the 03's 100 and 400 summaries both say 208500).
    assert first.credits == Decimal("2085.00")
    assert first.debits == Decimal("2085.00")
    # Second day: credits 11500 + 100000, debits 100000 + 9000 + 2000 + 500.
    assert second.credits == Decimal("1115.00")
    assert second.debits == Decimal("1115.00")
    entry = first.entries[0]
    assert entry.amount == Decimal("-25.00")
    assert entry.currency == "CAD"
    assert entry.type_code == "409"
    assert entry.funds_type == "V"
    assert entry.value_date == date(2006, 3, 16)
    assert entry.booking_date == date(2006, 3, 17)
    assert entry.remittance_text == "RETURNED CHEQUE"  # padding and the closing "/" dropped
    assert entry.bank_reference is None and entry.customer_reference is None
    assert entry.status == "BOOK"
    assert entry.location == "line 5"
    assert first.entries[3].amount == Decimal("2035.00")
    assert first.entries[3].remittance_text == "TFR 1020 0345678"
    assert all(e.value_date == date(2006, 3, 17) for e in second.entries)
    assert _check(first.checks, "account_control_total").detail == (
        "49 at line 16: stated 834000, computed 834000"
    )
    assert _check(first.checks, "account_record_count").detail.endswith("stated 14, computed 14")
    assert _check(second.checks, "account_control_total").detail.endswith(
        "stated 446000, computed 446000"
    )
    assert _check(parsed.checks, "group_record_count").detail.endswith("stated 25, computed 25")
    assert _check(parsed.checks, "file_control_total").detail.endswith(
        "stated 1280000, computed 1280000"
    )
    assert _check(parsed.checks, "file_record_count").detail.endswith("stated 27, computed 27")


def test_truncated_file_without_99_is_refused() -> None:
    lines = (VECTORS / "moov-sample1.txt").read_text().splitlines()
    assert lines[-1].startswith("99,")
    _raises_at(_bai(*lines[:-1]), 26, contains="without a 99 file trailer")


# -- Goldman Sachs style samples: commas in text, many 88s, trailers that do not add up -----


def test_moov_sample4_trailers_do_not_add_up() -> None:
    parsed = _vector("moov-sample4-continuations-newline-delimited.txt")
    assert not parsed.ok
    assert parsed.errors == []
    accounts = [s.account for s in parsed.statements]
    assert accounts == ["107049924", "107049932", "104108339", "260000033037", "280000010657"]
    assert [len(s.entries) for s in parsed.statements] == [0, 3, 14, 0, 0]
    assert all(s.currency == "USD" and s.date == date(2023, 9, 6) for s in parsed.statements)

    first, second, third, fourth, fifth = parsed.statements
    assert first.ok and fourth.ok and fifth.ok
    # Account 2: 03 amounts 6865898 + 1912 + 000 (an empty field group is skipped), 16s
    # 60000 + 143500 + 928650; records 03 + 3 x 16 + 13 x 88 + 49 = 18.
    assert _check(second.checks, "account_control_total") == Check(
        "account_control_total", False, "49 at line 22: stated -1260161341762, computed 7999960"
    )
    assert _check(second.checks, "account_record_count") == Check(
        "account_record_count", False, "49 at line 22: stated 26, computed 18"
    )
    entry = second.entries[0]
    assert entry.type_code == "447"
    assert entry.amount == Decimal("-600.00")
    assert entry.funds_type is None
    assert entry.bank_reference == "SPB2322984714570"
    assert entry.customer_reference == "1111"
    assert entry.remittance_text == (
        "ACH Credit Payment,Entry Description: EXP; -, SEC: CCD, Client Ref ID: 1111, "
        "GS ID: SPB2322984714570 EREF: 1111 DBNM: TEST INC CACT: ACHCONTROLOUTUSD01"
    )

    # Account 3 (lines 23-110): 14 details, 72 continuations.
    assert third.opening_balance == Decimal("1595811.94")
    assert third.closing_balance == Decimal("1593811.94")
    credits = [1912, 1125, 60000, 931, 50050, 527, 337686, 5000]  # 266 195 257 255 195 175 275 165
    debits = [200000, 55555, 50500, 10100, 44250, 30000000]  # 557 451 495 475 475 495
    assert third.credits == Decimal(sum(credits)) / 100 == Decimal("4572.31")
    assert third.debits == Decimal(sum(debits)) / 100 == Decimal("303604.05")
    assert not _check(third.checks, "balance_proof").ok
    status_and_summary = 159581194 + 159381194 + 158568897 + 158368897 + 0 + 200000
    assert _check(third.checks, "account_control_total").detail == (
        f"49 at line 110: stated 6869722, computed {status_and_summary + sum(credits + debits)}"
    )
    assert _check(third.checks, "account_record_count").detail.endswith("stated 8, computed 88")
    check_paid = [e for e in third.entries if e.type_code == "475"]
    assert [e.check_number for e in check_paid] == [
        "01030340329",
        "8ce1829175a74ec88d67010dd7fb6132",
    ]
    assert check_paid[0].amount == Decimal("-101.00")
    assert all(e.check_number is None for e in third.entries if e.type_code != "475")

    # Five 03 records, 114 records from 02 to 98, 116 in the file.
    assert _check(parsed.checks, "group_account_count").detail.endswith("stated 4, computed 5")
    assert _check(parsed.checks, "group_record_count").detail.endswith("stated 16, computed 114")
    assert _check(parsed.checks, "file_record_count").detail.endswith("stated 18, computed 116")
    assert _check(parsed.checks, "file_group_count").ok
    assert not _check(parsed.checks, "group_control_total").ok
    assert not _check(parsed.checks, "file_control_total").ok


def test_moov_sample5_slashes_in_references_and_a_colon_record() -> None:
    parsed = _vector("moov-sample5-issue113.txt")
    assert not parsed.ok
    # Line 63 reads "88:EREF: 07370568132": salvaged, but reported.
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("line 63: ")
    failed = {c.name for c in parsed.failed_checks()}
    assert {"account_control_total", "group_control_total", "file_record_count"} <= failed
    third = parsed.statements[2]
    assert len(third.entries) == 17  # sample4's 14 plus 195, 698 and 354 at the end
    payment = parsed.statements[1].entries[2]
    assert payment.bank_reference == "SPB2322684598521"
    assert payment.customer_reference == "AB/GS/RPFILERP0001/RPBA0001"
    assert payment.amount == Decimal("-9286.50")
    returned_check = next(e for e in third.entries if e.type_code == "255")
    assert returned_check.customer_reference is None
    assert returned_check.remittance_text is not None
    assert returned_check.remittance_text.endswith(
        "GS ID: SC213480000120999 EREF: 07370568132 CRNM: Test Inc. DBNM: Test2 Customer "
        "CABA: 12345 CHKN: 0009000000"
    )
    wire = next(e for e in third.entries if e.customer_reference == "3785726")
    assert wire.remittance_text is not None
    assert 'Remittance Info: "08/18/23 Invoice - Sample"' in wire.remittance_text
    assert "REMI: 08/18/23 Invoice - Sample" in wire.remittance_text
    fees, interest = third.entries[-2:]
    assert (fees.type_code, fees.amount) == ("698", Decimal("-4634.62"))
    assert (interest.type_code, interest.amount) == ("354", Decimal("17.64"))
    assert interest.remittance_text == (
        "Interest,Interest For Account: XXXXXXXX-3074, Period: Jul 1, 2023 to Jul 31, 2023"
    )


# -- Ministry of Justice samples -------------------------------------------------------------


def test_moj_nwb_ledger_proof() -> None:
    parsed = _vector("moj-nwb_example.bai2")
    assert parsed.ok
    (statement,) = parsed.statements
    assert statement.account == "88888888 600004"
    assert statement.currency == "GBP"  # from the 03; the 02 leaves it blank
    assert statement.date == date(2009, 12, 16)
    # 36521 + 89 - 2765 = 33845 pence.
    assert statement.opening_balance == Decimal("365.21")
    assert statement.credits == Decimal("0.89")
    assert statement.debits == Decimal("27.65")
    assert statement.closing_balance == Decimal("338.45")
    # 074 and 075 come from the 88 that continues the 03.
    assert [(b.kind, b.amount) for b in statement.balances] == [
        ("opening", Decimal("365.21")),
        ("closing", Decimal("338.45")),
        ("045", Decimal("338.45")),
        ("040", Decimal("338.45")),
        ("072", Decimal("0.00")),
        ("074", Decimal("0.00")),
        ("075", Decimal("0.00")),
    ]
    assert [(e.type_code, e.amount) for e in statement.entries] == [
        ("699", Decimal("-9.71")),
        ("699", Decimal("-1.00")),
        ("699", Decimal("-1.23")),
        ("699", Decimal("-15.71")),
        ("399", Decimal("0.89")),
    ]
    # "16,699,971,,,/" closes after an empty customer reference: the text is all in the 88.
    first = statement.entries[0]
    assert first.bank_reference is None and first.customer_reference is None
    assert first.remittance_text == (
        "LVP XBANKGO24007664SJ LVP INT 2 USAXBANKGO24007664SJ LVP INT 2 USARELAY TFR"
    )
    # The bank wrapped "CLIENT" across two 88s; continuations are joined with a space.
    assert statement.entries[4].remittance_text == (
        "TFR XBANKGO24007680SJ CAT JPY 2 GBPXBANKGO24007680BGC INTERNATIONAL-5373 CLIE "
        "NT SECCY AC TFR"
    )
    assert [e.location for e in statement.entries] == [
        "line 5",
        "line 7",
        "line 9",
        "line 11",
        "line 13",
    ]
    assert _check(statement.checks, "balance_proof").ok
    assert _check(statement.checks, "account_control_total").detail.endswith(
        "stated 143764, computed 143764"
    )
    assert _check(statement.checks, "account_record_count").detail.endswith(
        "stated 14, computed 14"
    )


def test_moj_citi_text_over_88_records() -> None:
    parsed = _vector("moj-citi_example.bai2")
    (statement,) = parsed.statements
    (entry,) = statement.entries
    assert statement.currency == "GBP"
    assert statement.date == date(2015, 7, 15)
    assert entry.type_code == "191"
    assert entry.amount == Decimal("0.01")  # "001"
    assert entry.funds_type == "V"
    assert entry.value_date == date(2015, 7, 15)
    assert entry.bank_reference == "1234567890"
    assert entry.customer_reference == "RP12312312312312"
    assert entry.remittance_text == (
        "FR:FP SIP INCOMING ENDT:20150715 TRID:RP12312312312312 "
        "PY:RP1231231231231200" + " " * 17 + "A1234BC 22/03/66 BI:22222222 "
        "OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC BO:11111111 BO1:DOE JO"
    )
    # Trailers are right (10000 + 10000 + 1; 10, 12 and 14 records) and the stray ",/" at the
    # end of the 03 is tolerated, but 010 100.00 + 0.01 credit != 015 100.00.
    assert [c.name for c in parsed.failed_checks()] == ["balance_proof"]
    assert not parsed.ok
    assert _check(statement.checks, "account_control_total").detail.endswith(
        "stated 20001, computed 20001"
    )
    assert _check(parsed.checks, "file_record_count").detail.endswith("stated 14, computed 14")


def test_moj_blank_account_trailer_total() -> None:
    parsed = _vector("moj-account_trailer_amount_blank_example.bai2")
    assert parsed.ok
    assert [s.account for s in parsed.statements] == ["12345", "54321"]
    for statement in parsed.statements:
        assert statement.currency == "USD"  # neither 02 nor 03 names one
        assert statement.entries == []
        total = _check(statement.checks, "account_control_total")
        assert total.ok
        assert "not stated" in total.detail
        assert _check(statement.checks, "account_record_count").detail.endswith(
            "stated 2, computed 2"
        )


# -- moov-io sample3: several records per line, read only leniently --------------------------


def test_moov_sample3_is_refused_by_default() -> None:
    data = (VECTORS / "moov-sample3.txt").read_bytes()
    error = _raises_at(data, 1, contains="after the closing '/'")
    assert "lenient" in error.message


def test_moov_sample3_lenient() -> None:
    parsed = _vector("moov-sample3.txt", lenient=True)
    statements = parsed.statements
    assert len(statements) == 15
    assert [s.account for s in statements] == ["1111111"] * 7 + ["11111111"] * 8
    assert all(s.currency == "USD" and s.date == date(2022, 9, 19) for s in statements)
    assert [len(s.entries) for s in statements] == [6, 0, 0, 2, 0, 0, 0, 6, 4, 8, 0, 0, 0, 0, 0]
    # Every trailer adds up once the records on shared lines are counted one by one, and the
    # wrapped line 19 is not counted as a record.
    trailer_checks = [c for c in _all_checks(parsed) if c.name != "continuity"]
    assert all(c.ok for c in trailer_checks)
    assert _check(parsed.checks, "group_record_count").detail.endswith("stated 72, computed 72")
    assert _check(parsed.checks, "file_record_count").detail.endswith("stated 74, computed 74")
    assert _check(statements[0].checks, "account_record_count").detail.endswith(
        "stated 11, computed 11"
    )
    # -3500 + (2500 + 500 + 100) - (2500 + 600 + 100) = -3600.
    assert statements[0].opening_balance == Decimal("-35.00")
    assert statements[0].closing_balance == Decimal("-36.00")
    assert statements[0].entries[0].remittance_text == "TRANSFER   PAYPAL             PPD"
    assert statements[0].entries[1].remittance_text == "TRANSFER   MSPBNA BANK        PPD"
    assert statements[0].entries[3].remittance_text == (
        "111111     ACH_SETL           1111111111                    111111111111111 1111111111"
    )
    assert statements[7].entries[0].remittance_text == (
        "111111     ACH_SETL           1111111111 111111111111111 1111111111"
    )
    # The anonymised account numbers repeat, so consecutive "days" do not chain.
    broken = {
        index
        for index, statement in enumerate(statements)
        for check in statement.checks
        if check.name == "continuity" and not check.ok
    }
    assert broken == {1, 3, 4, 5, 8, 9, 10}
    assert not parsed.ok


def test_moov_error_sample() -> None:
    data = (VECTORS / "moov-error-sample-parseError.txt").read_bytes()
    _raises_at(data, 1, contains="missing 01 file header")


# -- synthetic files -------------------------------------------------------------------------


def test_valid_base_file() -> None:
    parsed = parse(_bai(*VALID), "ok.bai2")
    assert parsed.ok
    (statement,) = parsed.statements
    assert statement.opening_balance == Decimal("100.00")
    assert statement.closing_balance == Decimal("125.00")
    assert [(e.amount, e.bank_reference, e.remittance_text) for e in statement.entries] == [
        (Decimal("25.00"), "WIRE1", "INCOMING")
    ]


def test_crlf_trailing_spaces_and_no_final_newline() -> None:
    data = "\r\n".join(line + "   " for line in VALID).encode("ascii")
    parsed = parse(data, "crlf.bai2")
    assert parsed.ok
    assert parsed.as_json() == parse(_bai(*VALID), "crlf.bai2").as_json()


def test_stray_comma_slash_and_a_field_group_split_across_88() -> None:
    parsed = parse(
        _bai(
            HEADER,
            "02,CUST,BANK,1,240101,2400,USD,2/",
            "03,123,USD,010,10000,,,/",  # stray empty field before "/", then an 88
            "88,015,12500,,,100/",  # the 100 group breaks after its type code
            "88,2500,1,,400,0,0,/",
            "16,195,2500,,WIRE1,,INCOMING/",
            "49,27500,5/",  # 10000 + 12500 + 2500 + 0 + 2500; 03 + 88 + 88 + 16 + 49
            "98,27500,1,7/",
            "99,27500,1,9/",
        ),
        "stray.bai2",
    )
    assert parsed.ok, parsed.failed_checks()
    (statement,) = parsed.statements
    assert statement.opening_balance == Decimal("100.00")
    assert statement.closing_balance == Decimal("125.00")
    assert [b.kind for b in statement.balances] == ["opening", "closing"]


def test_funds_types_s_v_d() -> None:
    parsed = parse(
        _bai(
            HEADER,
            "02,CUST,BANK,1,240101,2400,,2/",
            # 100 summary with funds type D: two (days, amount) pairs.
            "03,555,,010,100000,,,015,104500,,,100,4500,3,D,2,0,4000,1,500/",
            "16,115,1500,S,1000,300,200,LBX1,INV-9,LOCKBOX DEPOSIT/",
            "16,195,1000,V,231231,1230,FED1,CUST-2,WIRE IN/",
            "16,142,2000,D,2,0,1500,2,500,ACH1,CUST-3,ACH CREDIT",
            # Availability amounts are not part of the control total:
            # 100000 + 104500 + 4500 + 1500 + 1000 + 2000.
            "49,213500,5/",
            "98,213500,1,7/",
            "99,213500,1,9/",
        ),
        "funds.bai2",
    )
    assert parsed.ok, parsed.failed_checks()
    (statement,) = parsed.statements
    assert statement.currency == "USD"  # default when neither 02 nor 03 names one
    lockbox, wire, ach = statement.entries
    assert (lockbox.funds_type, lockbox.amount) == ("S", Decimal("15.00"))
    assert (lockbox.bank_reference, lockbox.customer_reference) == ("LBX1", "INV-9")
    assert lockbox.remittance_text == "LOCKBOX DEPOSIT"
    assert lockbox.value_date is None
    assert (wire.funds_type, wire.value_date) == ("V", date(2023, 12, 31))
    assert (wire.bank_reference, wire.customer_reference) == ("FED1", "CUST-2")
    assert wire.remittance_text == "WIRE IN"
    assert (ach.funds_type, ach.amount) == ("D", Decimal("20.00"))
    assert (ach.bank_reference, ach.customer_reference) == ("ACH1", "CUST-3")
    assert ach.remittance_text == "ACH CREDIT"
    assert statement.closing_balance == Decimal("1045.00")


def test_jpy_has_no_implied_decimals() -> None:
    parsed = parse(
        _bai(
            HEADER,
            "02,CUST,BANK,1,240101,2400,JPY,2/",
            "03,777,,010,1000000,,,015,1250000,,/",
            "16,195,300000,Z,R1,,/",
            "16,451,50000,Z,R2,,/",
            "49,2600000,4/",
            "98,2600000,1,6/",
            "99,2600000,1,8/",
        ),
        "jpy.bai2",
    )
    assert parsed.ok, parsed.failed_checks()
    (statement,) = parsed.statements
    assert statement.currency == "JPY"
    assert statement.opening_balance == Decimal("1000000")
    assert statement.closing_balance == Decimal("1250000")
    assert [e.amount for e in statement.entries] == [Decimal("300000"), Decimal("-50000")]
    assert all(e.remittance_text is None for e in statement.entries)


def test_text_with_commas_and_slashes() -> None:
    parsed = parse(
        _bai(
            HEADER,
            "02,CUST,BANK,1,240101,2400,USD,2/",
            "03,888,USD/",
            "16,195,12345,Z,BR/1,CUST/7,INV 1/2, PAID/PART, REF A/B/",
            "88,NEXT, PART/",
            "49,12345,4/",
            "98,12345,1,6/",
            "99,12345,1,8/",
        ),
        "text.bai2",
    )
    assert parsed.ok, parsed.failed_checks()
    (entry,) = parsed.statements[0].entries
    assert entry.amount == Decimal("123.45")
    assert (entry.bank_reference, entry.customer_reference) == ("BR/1", "CUST/7")
    assert entry.remittance_text == "INV 1/2, PAID/PART, REF A/B NEXT, PART"


def test_direction_by_type_code() -> None:
    parsed = parse(
        _bai(
            HEADER,
            "02,CUST,BANK,1,240101,2400,USD,2/",
            "03,999,USD,010,0,,,015,1500,,/",
            "16,920,2000,Z,,,CUSTOM CREDIT/",
            "16,960,500,Z,,,CUSTOM DEBIT/",
            "16,890,999,Z,,,NON-MONETARY NOTE/",
            "49,4999,5/",
            "98,4999,1,7/",
            "99,4999,1,9/",
        ),
        "direction.bai2",
    )
    assert parsed.ok, parsed.failed_checks()
    credit, debit, note = parsed.statements[0].entries
    assert (credit.amount, credit.status) == (Decimal("20.00"), "BOOK")
    assert (debit.amount, debit.status) == (Decimal("-5.00"), "BOOK")
    # 890 has no direction: kept as information, outside the balance proof (0 + 20 - 5 = 15).
    assert (note.amount, note.status) == (Decimal("9.99"), "INFO")
    assert _check(parsed.statements[0].checks, "balance_proof").ok


@pytest.mark.parametrize(
    ("day_two_opening", "day_two_closing", "total", "opening_text", "continuous"),
    [
        ("12500", "12000", "25000", "125.00", True),
        ("12400", "11900", "24800", "124.00", False),
    ],
)
def test_continuity_between_days(
    day_two_opening: str, day_two_closing: str, total: str, opening_text: str, continuous: bool
) -> None:
    file_total = 25000 + int(total)
    parsed = parse(
        _bai(
            "01,BANK,CUST,240103,0800,1,,,2/",
            "02,CUST,BANK,1,240101,2400,USD,2/",
            "03,123,USD,010,10000,,,015,12500,,/",
            "16,195,2500,Z,W1,,IN/",
            "49,25000,3/",
            "98,25000,1,5/",
            "02,CUST,BANK,1,240102,2400,USD,2/",
            f"03,123,USD,010,{day_two_opening},,,015,{day_two_closing},,/",
            "16,495,500,Z,W2,,OUT/",
            f"49,{total},3/",
            f"98,{total},1,5/",
            f"99,{file_total},2,12/",
        ),
        "days.bai2",
    )
    first, second = parsed.statements
    assert (first.date, second.date) == (date(2024, 1, 1), date(2024, 1, 2))
    continuity = _check(second.checks, "continuity")
    assert continuity.ok is continuous
    assert continuity.detail == f"previous closing 125.00, opening {opening_text}"
    assert parsed.ok is continuous
    assert [c.name for c in parsed.failed_checks()] == ([] if continuous else ["continuity"])


def test_colon_after_record_code_is_salvaged_but_reported() -> None:
    lines = [*VALID[:4], "88:MORE TEXT", "49,25000,4/", "98,25000,1,6/", "99,25000,1,8/"]
    parsed = parse(_bai(*lines), "colon.bai2")
    assert parsed.errors == [
        "line 5: record code 88 is followed by ':' instead of ','; read as ','"
    ]
    assert parsed.statements[0].entries[0].remittance_text == "INCOMING MORE TEXT"
    assert not parsed.ok


def _replace(index: int, line: str) -> bytes:
    lines = list(VALID)
    lines[index] = line
    return _bai(*lines)


@pytest.mark.parametrize(
    ("data", "line", "contains"),
    [
        (_bai(*VALID[1:]), 1, "missing 01 file header"),
        (_bai(VALID[0], VALID[1], VALID[3], VALID[2], *VALID[4:]), 3, "16 record out of order"),
        (_bai(*VALID[:2], "49,0,2/", *VALID[2:]), 3, "49 record out of order"),
        (_bai(*VALID, VALID[-1]), 8, "nothing after the 99 file trailer"),
        (_bai(*VALID[:6]), 6, "without a 99 file trailer"),
        (_bai(*VALID[:4], "GARBAGE LINE", *VALID[4:]), 5, "not a BAI2 record"),
        (_bai(*VALID[:4], "", *VALID[4:]), 5, "blank line"),
        (_bai(*VALID[:4], "77,1,2/", *VALID[4:]), 5, "unknown record code '77'"),
        (_replace(3, "16,195,25X0,Z,WIRE1,,INCOMING/"), 4, "'25X0' is not a number"),
        (_replace(3, "16,195,-2500,Z,WIRE1,,INCOMING/"), 4, "unsigned"),
        (_replace(3, "16,195,2500,Q,WIRE1,,INCOMING/"), 4, "unknown funds type 'Q'"),
        (_replace(3, "16,19,2500,Z,WIRE1,,INCOMING/"), 4, "not three digits"),
        (_replace(2, "03,123,USD,010,1O000,,,015,12500,,/"), 3, "'1O000' is not a number"),
        (_replace(2, "03,123,XXX,010,10000,,,015,12500,,/"), 3, "unknown currency code 'XXX'"),
        (_replace(2, "03,123,USD,010,10000,,,015/"), 3, "ends before its summary amount"),
        (_replace(4, "49,25000,3"), 5, "does not end with '/'"),
        (_replace(4, "49,25000,3,7/"), 5, "unexpected extra field"),
        (_replace(5, "98,25000,1,5/ 99,25000,1,7/"), 6, "after the closing '/'"),
        (_replace(1, "02,CUST,BANK,1,241301,2400,USD,2/"), 2, "not a valid date"),
        (_replace(0, "01,BANK,CUST,240102,0800,1,,,3/"), 1, "only BAI2"),
    ],
)
def test_parse_errors_name_the_line(data: bytes, line: int, contains: str) -> None:
    _raises_at(data, line, contains=contains)


def test_lenient_reading_stays_strict_about_garbage() -> None:
    _raises_at(
        _bai(*VALID[:2], "GARBAGE", *VALID[2:]), 3, contains="not a BAI2 record", lenient=True
    )
