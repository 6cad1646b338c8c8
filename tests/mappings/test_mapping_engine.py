"""The mapping engine on small inline exports: parsing rules, sign conventions, validation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from finance_pipeline.mappings import (
    MappingError,
    identity_mapping,
    load_mapping,
    map_export,
    parse_mapping,
    read_identity_csv,
)

DAY = date(2026, 10, 27)


def _payments(columns: dict, **extra) -> dict:
    base = {
        "payment_id": {"template": "p-{id}"},
        "source_id": "id",
        "method": {"constant": "wire"},
        "received_date": "date",
        "amount": "amount",
        "currency": {"from": "ccy", "default": "EUR"},
    }
    return {
        "name": "test_payments",
        "version": "1",
        "table": "payments",
        "source_system": "bank",
        "columns": {**base, **columns},
        **extra,
    }


def _run(spec: dict, csv: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return map_export(parse_mapping(spec), csv.encode(), "export_20261027.csv", DAY)


def test_european_numbers_parentheses_trailing_minus_and_currency_defaults() -> None:
    spec = _payments(
        {}, defaults={"date_format": ["%d.%m.%Y", "%Y-%m-%d"], "decimal": ",", "thousands": "."}
    )
    csv = (
        "id;date;amount;ccy\n"
        "1;27.10.2026;1.234,56;\n"
        "2;2026-10-26;(1.000,00);USD\n"
        "3;27.10.2026;€ 12,5-;GBP\n"
        "4;27.10.2026;12,34567;EUR\n"
        "5;31.02.2026;1,00;EUR\n"
    )
    spec["reader"] = {"delimiter": ";"}
    good, rejects = _run(spec, csv)
    assert good["amount"].to_list() == [Decimal("1234.56"), Decimal("-1000"), Decimal("-12.5")]
    assert good["currency"].to_list() == ["EUR", "USD", "GBP"]  # empty -> the default
    assert good["received_date"].to_list() == [DAY, date(2026, 10, 26), DAY]
    assert good["payment_id"].to_list() == ["p-1", "p-2", "p-3"]
    assert good["mapping_name"].unique().to_list() == ["test_payments"]
    reasons = dict(zip(rejects["source_location"], rejects["reject_reason"], strict=True))
    assert reasons["line 5"].startswith("amount: '12,34567' has more than 4 decimals")
    assert "received_date: cannot read '31.02.2026'" in reasons["line 6"]


CREDIT = {"column": "dc", "equals": "C"}


def test_sign_conventions_split_and_flip() -> None:
    spec = {
        "name": "gl",
        "version": "2",
        "table": "gl_journal_lines",
        "source_system": "erp",
        "columns": {
            "source_id": "id",
            "gl_line_id": {"template": "gl-{id}"},
            "journal_id": {"constant": "J1"},
            "line_no": "line",
            "entity_id": {"constant": "US01"},
            "posting_date": {"from": "date", "format": "%Y%m%d"},
            "gl_account": {"from": "account", "extract": r"^(\d+)"},
            "debit": {"from": "amount", "negate_when": CREDIT, "clip": "positive"},
            "credit": {"from": "amount", "negate_when": CREDIT, "clip": "negative"},
            "currency": {"constant": "USD"},
        },
    }  # fmt: skip
    csv = (
        "id,line,date,account,amount,dc\n"
        "a,1,20261027,4000 Revenue,100.00,C\n"
        "b,2,20261027,1200 AR,100.00,D\n"
        "c,3,20261027,1200 AR,-5,D\n"
    )
    good, rejects = _run(spec, csv)
    assert rejects.height == 0
    assert good["debit"].to_list() == [Decimal("0"), Decimal("100"), Decimal("0")]
    assert good["credit"].to_list() == [Decimal("100"), Decimal("0"), Decimal("5")]
    assert good["gl_account"].to_list() == ["4000", "1200", "1200"]
    assert good["mapping_version"].unique().to_list() == ["2"]


def test_minor_units_follow_each_rows_currency_exponent() -> None:
    spec = _payments({"amount": {"from": "amount", "type": "minor_units"}})
    csv = "id,date,amount,ccy\n" + "".join(
        f"{i},2026-10-27,12345,{ccy}\n" for i, ccy in enumerate(["USD", "JPY", "KWD"])
    )
    good, _ = _run(spec, csv)
    assert good["amount"].to_list() == [Decimal("123.45"), Decimal("12345"), Decimal("12.345")]


def test_lookups_reject_keep_or_default() -> None:
    spec = _payments(
        {
            "method": {"from": "how", "lookup": "methods"},
            "payer_name": {"from": "who", "lookup": "names", "on_missing": "keep", "upper": True},
            "reference": {"from": "ref", "lookup": "names", "lookup_default": "other"},
        },
        lookups={"methods": {"CHK": "check", "WIRE": "wire"}, "names": {"ACME": "Acme Corp"}},
    )
    csv = (
        "id,date,amount,ccy,how,who,ref\n"
        "1,2026-10-27,1,EUR,CHK,acme,ACME\n"
        "2,2026-10-27,1,EUR,WIRE,bob,zzz\n"
        "3,2026-10-27,1,EUR,CASH,bob,\n"
    )
    good, rejects = _run(spec, csv)
    assert good["method"].to_list() == ["check", "wire"]
    assert good["payer_name"].to_list() == ["Acme Corp", "BOB"]
    assert good["reference"].to_list() == ["Acme Corp", "other"]
    assert rejects["reject_reason"].to_list() == ["method: 'CASH' is not in lookup 'methods'"]


def test_datetimes_with_offsets_become_utc_and_epochs_read() -> None:
    spec = {
        "name": "px",
        "version": "1",
        "table": "processor_transactions",
        "source_system": "psp",
        "columns": {
            "source_id": "id",
            "processor_txn_id": {"from": "id", "prefix": "psp_"},
            "type": {"constant": "charge"},
            "amount": "amount",
            "fee": {"constant": "0"},
            "net": "amount",
            "currency": {"constant": "EUR"},
            "created_at": {"from": "ts", "format": ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M"]},
            "available_on": {"from": "avail", "type": "epoch"},
        },
    }
    csv = "id,amount,ts,avail\n1,10,2026-10-27T10:00:00+02:00,1793491200\n2,5,2026-10-27 09:30,\n"
    good, rejects = _run(spec, csv)
    assert rejects.height == 0
    assert good["processor_txn_id"].to_list() == ["psp_1", "psp_2"]
    assert good["created_at"].to_list() == [
        datetime(2026, 10, 27, 8, 0),
        datetime(2026, 10, 27, 9, 30),
    ]
    assert good["available_on"].to_list() == [date(2026, 11, 1), None]


def test_where_filters_and_fill_down_stays_inside_each_header_block() -> None:
    spec = _payments(
        {"reference": "doc", "payer_name": "payer"},
        reader={"fill_down": ["doc", "payer"]},
        where=[{"column": "kind", "equals": "L"}],
    )
    csv = (
        "kind,doc,payer,id,date,amount,ccy\n"
        "H,D1,Alice,,,,\n"
        "L,,,1,2026-10-27,1,EUR\n"
        "L,,,2,2026-10-27,2,EUR\n"
        "H,D2,,,,,\n"
        "L,,,3,2026-10-27,3,EUR\n"
        "T,,,,,6,\n"
    )
    good, rejects = _run(spec, csv)
    assert rejects.height == 0
    assert good["reference"].to_list() == ["D1", "D1", "D2"]
    assert good["payer_name"].to_list() == ["Alice", "Alice", None]  # not carried into D2
    assert good["source_location"].to_list() == ["line 3", "line 4", "line 6"]


def test_json_records_with_nested_fields() -> None:
    spec = _payments(
        {"payer_name": "billing.name", "amount": {"from": "amount", "type": "minor_units"}},
        reader={"format": "json", "records": "result.items"},
    )
    spec["columns"]["received_date"] = {"from": "created", "type": "epoch"}
    data = (
        b'{"result": {"items": ['
        b'{"id": "a", "created": 1793095823, "amount": 1999, "ccy": "USD",'
        b' "billing": {"name": "Ann"}},'
        b'{"id": "b", "created": 1793095823, "amount": 5, "ccy": "JPY", "billing": {"name": null}}'
        b"]}}"
    )
    good, rejects = map_export(parse_mapping(spec), data, "page.json", DAY)
    assert rejects.height == 0
    assert good["amount"].to_list() == [Decimal("19.99"), Decimal("5")]
    assert good["payer_name"].to_list() == ["Ann", None]
    assert good["source_location"].to_list() == ["result.items[0]", "result.items[1]"]
    empty, _ = map_export(parse_mapping(spec), b'{"result": {"items": []}}', "p.json", DAY)
    assert empty.height == 0


def test_other_encodings_are_decoded() -> None:
    spec = _payments({"payer_name": "payer"}, reader={"encoding": "cp1252"})
    data = "id,date,amount,ccy,payer\n1,2026-10-27,1,EUR,Müller & Söhne\n".encode("cp1252")
    good, _ = map_export(parse_mapping(spec), data, "x.csv", DAY)
    assert good["payer_name"].to_list() == ["Müller & Söhne"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"table": "nope"}, r"table: 'nope' is not a canonical table"),
        ({"version": None}, r"version: is required"),
        ({"colour": 1}, r"top level: unknown key\(s\) \['colour'\]"),
        ({"columns": {"bogus": "x"}}, r"columns.bogus: is not a column of canonical table"),
        ({"columns": {"amount": {"from": "a", "type": "monee"}}}, r"columns.amount.type: 'monee'"),
        ({"columns": {"amount": {"from": "a", "constant": "1"}}}, r"columns.amount: needs exactly"),
        (
            {"columns": {"method": {"from": "m", "lookup": "x"}}},
            r"columns.method.lookup: no lookup",
        ),
        (
            {"columns": {"payer_name": {"from": "p", "negate": True}}},
            r"columns.payer_name.negate: only",
        ),
        (
            {"columns": {"reference": {"from": "r", "extract": "("}}},
            r"columns.reference.extract: bad regex",
        ),
        (
            {"columns": {"reference": {"from": "r", "resolve": "erp"}}},
            r"columns.reference.resolve: only",
        ),
        (
            {"columns": {"customer_id": {"from": "c", "resolve": "sap"}}},
            r"columns.customer_id.resolve",
        ),
        ({"columns": {"amount": None}}, r"columns.amount: must be a source column name"),
        ({"where": [{"column": "x", "like": 1}]}, r"where\[0\]: needs exactly one test"),
        ({"reader": {"delimiter": ";;"}}, r"reader.delimiter: must be one character"),
        ({"reader": {"encoding": "klingon"}}, r"reader.encoding: unknown encoding"),
    ],
)
def test_invalid_mappings_name_the_key(change: dict, message: str) -> None:
    spec = _payments({})
    for key, value in change.items():
        if key == "columns":
            spec["columns"] = {**spec["columns"], **value}
        else:
            spec[key] = value
    with pytest.raises(MappingError, match=f"^my.yaml: {message}"):
        parse_mapping(spec, where="my.yaml")


def test_required_fields_must_be_mapped(tmp_path: Path) -> None:
    spec = _payments({})
    del spec["columns"]["received_date"]
    path = tmp_path / "short.yaml"
    import yaml

    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(MappingError, match=r"short.yaml: columns: required .*received_date"):
        load_mapping(path)


def test_missing_header_column_refuses_the_file_naming_the_mapping() -> None:
    with pytest.raises(
        MappingError, match=r"export_20261027.csv: header lacks column\(s\) \['amount'\].*test_pa"
    ):
        _run(_payments({}), "id,date,ccy\n1,2026-10-27,EUR\n")


def test_extends_overrides_a_preset_and_keeps_its_own_version(tmp_path: Path) -> None:
    child = tmp_path / "netsuite_de.yaml"
    child.write_text(
        "extends: netsuite_gl_lines\n"
        "name: netsuite_gl_lines_de\n"
        "version: 1-de\n"
        "defaults: {date_format: '%d.%m.%Y', decimal: ',', thousands: '.', currency: EUR}\n"
        "columns:\n"
        "  entity_id: {constant: DE01}\n"
        "  cost_center_id: ~\n"
    )
    mapping = load_mapping(child)
    assert mapping.key == "netsuite_gl_lines_de@1-de"
    assert "cost_center_id" not in mapping.columns
    csv = (
        '"Internal ID","Document Number","Date","Line","Account","Debit","Credit","Currency",'
        '"Memo"\n'
        '"1","JE-1","27.10.2026","1","6100 Büro","1.234,50","","","Büromaterial"\n'
    )
    good, rejects = map_export(mapping, csv.encode(), "gl.csv", DAY)
    assert rejects.height == 0
    row = good.row(0, named=True)
    assert (row["debit"], row["credit"], row["currency"]) == (Decimal("1234.5"), 0, "EUR")
    assert (row["entity_id"], row["posting_date"], row["mapping_version"]) == ("DE01", DAY, "1-de")


def test_unknown_preset_and_circular_extends_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no mapping preset named 'sap_fi'"):
        load_mapping("sap_fi")
    loop = tmp_path / "loop.yaml"
    loop.write_text("extends: ./loop.yaml\nname: loop\nversion: 1\n")
    with pytest.raises(MappingError, match="circular"):
        load_mapping(loop)


def test_identity_is_an_ordinary_mapping_of_the_same_engine() -> None:
    mapping = identity_mapping("fx_rates")
    assert (mapping.name, mapping.version, mapping.table) == ("identity", "1", "fx_rates")
    assert mapping.reader.extra_columns == "error"
    data = b"source_system,source_id,rate_date,base_currency,quote_currency,rate\n"
    data += b"ecb,1,2026-10-27,USD,EUR,0.9175950049\n"
    via_engine, _ = map_export(mapping, data, "fx_rates_20261027.csv", DAY)
    via_helper, _ = read_identity_csv(data, "fx_rates_20261027.csv", "fx_rates", DAY)
    assert via_engine.equals(via_helper)
    assert via_engine["rate"].to_list() == [Decimal("0.91759500")]  # rates round half-even
    money = b"source_system,source_id,invoice_id,entity_id,invoice_number,issue_date,due_date,"
    money += b"amount,open_amount,currency,status\nerp,1,i1,US01,1,2026-10-01,2026-10-31,"
    money += b"1.00001,1,USD,open\n"
    good, rejects = read_identity_csv(money, "invoices_20261027.csv", "invoices", DAY)
    assert good.height == 0 and "more than 4 decimals" in rejects["reject_reason"][0]


def test_a_sources_mapping_option_is_checked_up_front() -> None:
    from finance_pipeline.mappings import mapping_for_file, source_mappings

    options = {"mapping": {"gl_*.csv": "netsuite_gl_lines", "bills_*.csv": "netsuite_vendor_bills"}}
    assert [m.name for m in source_mappings(options)] == [
        "netsuite_gl_lines",
        "netsuite_vendor_bills",
    ]
    assert mapping_for_file(options, "gl_20261027.csv").name == "netsuite_gl_lines"
    assert mapping_for_file(options, "invoices_20261027.csv") is None  # identity by file name
    assert source_mappings({}) == []
    with pytest.raises(MappingError, match="no mapping preset named 'nope'"):
        source_mappings({"mapping": "nope"})
