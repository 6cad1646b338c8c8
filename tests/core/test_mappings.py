from datetime import date
from decimal import Decimal

import pytest

from contracts.canonical import FxRates, Invoices
from finance_pipeline.mappings import MappingError, read_identity_csv
from finance_pipeline.validation import split_valid

DAY = date(2026, 10, 26)


def test_identity_csv_reads_decimals_exactly_and_rejects_bad_cells() -> None:
    data = (
        b"source_system,source_id,rate_date,base_currency,quote_currency,rate\n"
        b"ecb,1,2026-10-26,USD,EUR,0.92345678\n"
        b"ecb,2,2026-10-2x,USD,EUR,abc\n"
        b"ecb,3,2026-10-26,USD,GBP,0.77\n"
    )
    good, rejects = read_identity_csv(data, "fx_rates_20261026.csv", "fx_rates", DAY)
    assert good["source_id"].to_list() == ["1", "3"]
    assert good["rate"].to_list() == [Decimal("0.92345678"), Decimal("0.77")]
    assert good["source_location"].to_list() == ["line 2", "line 4"]
    assert good["mapping_name"].unique().to_list() == ["identity"]
    assert rejects.height == 1
    reason = rejects["reject_reason"][0]
    assert rejects["source_location"][0] == "line 3"
    assert "rate_date" in reason and "'abc'" in reason
    valid, invalid = split_valid(good, FxRates)
    assert valid.height == 2 and invalid.height == 0


def test_contract_rejects_unknown_currency_with_reason() -> None:
    data = (
        b"source_system,source_id,invoice_id,entity_id,customer_id,invoice_number,order_id,"
        b"issue_date,due_date,amount,open_amount,currency,tax_code,status\n"
        b"netsuite,INV-1,inv-1,US01,C1,INV-1,,2026-10-01,2026-10-31,100.00,100.00,USD,,open\n"
        b"netsuite,INV-2,inv-2,US01,C1,INV-2,,2026-10-01,2026-10-31,50.00,50.00,XYZ,,open\n"
    )
    good, rejects = read_identity_csv(data, "invoices_20261026.csv", "invoices", DAY)
    assert rejects.height == 0
    valid, invalid = split_valid(good, Invoices)
    assert valid["invoice_id"].to_list() == ["inv-1"]
    assert "currency: iso_4217 (XYZ)" in invalid["reject_reason"][0]


def test_header_with_unknown_column_is_refused_naming_the_file() -> None:
    with pytest.raises(MappingError, match="invoices_x.csv.*unknown column"):
        read_identity_csv(b"source_system,source_id,bogus\n", "invoices_x.csv", "invoices", DAY)
