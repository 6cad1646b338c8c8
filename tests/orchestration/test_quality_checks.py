"""Great Expectations asset checks, called directly with a built context on good and bad lakes.

The first test runs the real ingest -> canonical graph on demo files (camt.053 with TxsSummry
counts, a lockbox file with batch trailers) so the check names the rules rely on come from
the real parsers; the others edit the lake partitions to plant exactly one problem each.
"""

from __future__ import annotations

import math
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.canonical import canonical_tables
from assets.ingest import build_ingest_assets
from assets.quality_checks import (
    QUALITY_CHECKS,
    build_recon_checks,
    canonical_quality,
)
from assets.resources import PipelineResource
from finance_pipeline import lake
from finance_pipeline.config import Home
from finance_pipeline.formats import parse_bytes
from finance_pipeline.formats.lockbox import preset_layout

DAY = date(2026, 10, 26)
NEXT = date(2026, 10, 27)
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "landing"

CONFIG = """
sources:
  - name: euro_de01_camt053
    kind: bank_statement
    format: camt
    source_system: eurobank
    transport: {type: local, path: landing/banks/camt053}
    pattern: "*.xml"
    date_pattern: '_(\\d{8})\\.'
  - name: lockbox_us01
    kind: lockbox
    format: lockbox
    layout: bai_lockbox
    entity: US01
    source_system: first_national_lockbox
    transport: {type: local, path: landing/lockbox}
    pattern: "LBX_*.txt"
    date_pattern: '_(\\d{8})\\.'
  - name: netsuite
    kind: export
    format: csv
    transport: {type: local, path: landing/erp}
    pattern: "invoices_*.csv"
    date_pattern: '_(\\d{8})\\.csv$'
quality:
  match_rate_floor: 0.5
"""


FILES = [
    ("banks/camt053", "EURO_DE01_20261026.xml"),
    ("lockbox", "LBX_US01_20261026.txt"),
    ("erp", "invoices_20261026.csv"),
]


def _booked_entries(path: Path, **options: object) -> int:
    """What the file itself says, through the real parser (the demo data may be regenerated)."""
    parsed = parse_bytes(path.read_bytes(), path.name, **options)
    return sum(len(statement.booked) for statement in parsed.statements)


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real partition run (ingest, canonical tables, canonical checks), copied per test."""
    home = Home(tmp_path_factory.mktemp("quality") / "home").ensure()
    for folder, name in FILES:
        target = home.landing / folder
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO / folder / name, target / name)
    config = home.root / "finance_pipeline.yaml"
    config.write_text(CONFIG)
    pipeline = PipelineResource(home=str(home.root), config_path=str(config))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*build_ingest_assets(pipeline.load()), canonical_tables, canonical_quality],
            partition_key=DAY.isoformat(),
            instance=instance,
            resources={"pipeline": pipeline},
        )
        assert result.success
        evaluations = result.get_asset_check_evaluations()
    canonical = [e for e in evaluations if e.asset_key.path[0] != "sources"]
    assert all(e.passed for e in evaluations if e not in canonical)  # every source was read
    assert {(e.asset_key.path[0], e.check_name): e.passed for e in canonical} == {
        ("bank_transactions", "unique_transaction_id"): True,
        ("invoices", "unique_invoice_id"): True,
        ("payments", "unique_payment_id"): True,
        ("bank_transactions", "control_totals"): True,
        ("payments", "control_totals"): True,
    }
    return home.root


@pytest.fixture
def home(built_lake: Path, tmp_path: Path) -> Home:
    root = tmp_path / "home"
    shutil.copytree(built_lake, root)
    return Home(root)


def _pipeline(home: Home) -> PipelineResource:
    return PipelineResource(
        home=str(home.root), config_path=str(home.root / "finance_pipeline.yaml")
    )


def _context(home: Home, day: date = DAY) -> dg.AssetCheckExecutionContext:
    return dg.build_asset_check_context(
        resources={"pipeline": _pipeline(home)}, asset_config={"business_date": day.isoformat()}
    )


def _canonical(home: Home, day: date = DAY) -> dict[tuple[str, str], dg.AssetCheckResult]:
    return {(r.asset_key.path[0], r.check_name): r for r in canonical_quality(_context(home, day))}


def _meta(result: dg.AssetCheckResult, key: str):
    return result.metadata[key].value


def _recon(home: Home, name: str, day: date = DAY) -> dg.AssetCheckResult:
    [check] = [c for c in build_recon_checks() if c.check_key.name == name]
    return check(_context(home, day))


def test_good_partition_passes_every_canonical_check(home: Home) -> None:
    camt = _booked_entries(home.landing / "banks/camt053/EURO_DE01_20261026.xml")
    items = _booked_entries(
        home.landing / "lockbox/LBX_US01_20261026.txt",
        fmt="lockbox",
        layout=preset_layout("bai_lockbox"),
    )
    results = _canonical(home)
    assert all(r.passed for r in results.values())
    bank = results[("bank_transactions", "control_totals")]
    assert _meta(bank, "evaluated") is True
    assert _meta(bank, "files_compared") == 1 and _meta(bank, "entries_stated") == camt
    assert _meta(bank, "rows_loaded") == camt and _meta(bank, "files_off") == 0
    payments = results[("payments", "control_totals")]
    assert _meta(payments, "entries_stated") == items and _meta(payments, "rows_loaded") == items
    unique = results[("bank_transactions", "unique_transaction_id")]
    assert _meta(unique, "rows") == camt and _meta(unique, "duplicates_in_day") == 0
    expectations = _meta(unique, "expectations")
    assert [e["expectation"] for e in expectations] == [
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_in_set",
    ]


def test_bank_line_loaded_on_two_days_fails_uniqueness(home: Home) -> None:
    day_rows = lake.read_partition(home.lake, "bank_transactions", DAY)
    assert day_rows is not None
    later = day_rows.head(1).with_columns(pl.lit(NEXT).alias("business_date"))
    lake.write_partition(home.lake, "bank_transactions", NEXT, later)
    result = _canonical(home, NEXT)[("bank_transactions", "unique_transaction_id")]
    assert not result.passed
    assert _meta(result, "keys_seen_on_other_days") == 1
    assert _meta(result, "duplicates_in_day") == 0


def test_duplicate_invoice_id_in_a_day_fails_but_a_reexport_next_day_passes(home: Home) -> None:
    invoices = lake.read_partition(home.lake, "invoices", DAY)
    assert invoices is not None
    lake.write_partition(home.lake, "invoices", NEXT, invoices.head(2))  # re-export: fine
    assert _canonical(home, NEXT)[("invoices", "unique_invoice_id")].passed
    doubled = pl.concat([invoices, invoices.head(1)])
    lake.write_partition(home.lake, "invoices", DAY, doubled)
    result = _canonical(home)[("invoices", "unique_invoice_id")]
    assert not result.passed and _meta(result, "duplicates_in_day") == 2
    [unique_outcome] = _meta(result, "expectations")
    assert unique_outcome["unexpected_count"] == 2


def test_lost_bank_line_fails_control_totals_unless_rejected(home: Home) -> None:
    rows = lake.read_partition(home.lake, "bank_transactions", DAY)
    assert rows is not None
    lost = rows.tail(1)
    lake.write_partition(home.lake, "bank_transactions", DAY, rows.head(rows.height - 1))
    result = _canonical(home)[("bank_transactions", "control_totals")]
    assert not result.passed
    assert _meta(result, "files_off") == 1
    assert _meta(result, "rows_loaded") == _meta(result, "entries_stated") - 1
    assert "EURO_DE01_20261026.xml" in _meta(result, "files")

    rejects = lake.read_partition(home.lake, "rejects", DAY)
    assert rejects is not None
    reject = pl.DataFrame(
        {
            "business_date": [DAY],
            "table": ["bank_transactions"],
            "source_file": [lost["source_file"][0]],
            "source_location": [lost["source_location"][0]],
            "reject_reason": ["currency: isin (XXX)"],
        },
        schema=rejects.schema,
    )
    lake.write_partition(home.lake, "rejects", DAY, pl.concat([rejects, reject]))
    result = _canonical(home)[("bank_transactions", "control_totals")]
    assert result.passed and _meta(result, "rows_rejected") == 1


def test_quarantined_file_is_not_compared(home: Home) -> None:
    checks = lake.read_partition(home.lake, "file_checks", DAY)
    assert checks is not None
    camt = checks.filter(pl.col("file_name") == "EURO_DE01_20261026.xml")
    quarantined = pl.DataFrame(
        {
            "business_date": [DAY],
            "source": ["euro_de01_camt053"],
            "file_name": ["EURO_DE01_20261026.xml"],
            "sha256": [camt["sha256"][0]],
            "format": ["camt"],
            "reason": ["integrity check failed"],
            "kind": ["integrity"],
        }
    )
    lake.write_partition(home.lake, "quarantined_files", DAY, quarantined)
    result = _canonical(home)[("bank_transactions", "control_totals")]
    assert result.passed and _meta(result, "evaluated") is False
    assert "states an entry count" in _meta(result, "reason")


def test_recon_checks_skip_while_recon_tables_are_absent(home: Home) -> None:
    for name in ("bank_lines_accounted", "journals_balanced", "match_rate_floor"):
        result = _recon(home, name)
        assert result.passed, name
        assert _meta(result, "evaluated") is False
        assert "absent" in _meta(result, "reason")


def _bank_ids(home: Home) -> list[str]:
    rows = lake.read_partition(home.lake, "bank_transactions", DAY)
    assert rows is not None
    return sorted(rows["transaction_id"].to_list())


def _members(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "match_id": [f"m{i}" for i in range(len(ids))],
            "side": ["left"] * len(ids),
            "record_type": ["bank_transaction"] * len(ids),
            "record_id": ids,
            "source_system": ["eurobank"] * len(ids),
            "source_id": ids,
            "amount_applied": [Decimal("1.0000")] * len(ids),
            "currency": ["EUR"] * len(ids),
        },
        schema_overrides={"amount_applied": pl.Decimal(18, 4)},
    )


def _exceptions(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "exception_id": [f"x{i}" for i in range(len(ids))],
            "exception_type": ["unmatched_bank_transaction"] * len(ids),
            "record_type": ["bank_transaction"] * len(ids),
            "record_id": ids,
            "status": ["open"] * len(ids),
        }
    )


def test_every_bank_line_matched_or_excepted(home: Home) -> None:
    ids = _bank_ids(home)
    assert len(ids) >= 4
    lake.write_partition(home.lake, "match_members", DAY, _members(ids[:-3]))
    lake.write_partition(home.lake, "exceptions", DAY, _exceptions(ids[-3:-1]))
    result = _recon(home, "bank_lines_accounted")
    assert not result.passed
    assert _meta(result, "unaccounted") == 1 and _meta(result, "matched") == len(ids) - 3
    [outcome] = _meta(result, "expectations")
    assert outcome["sample"] == [ids[-1]]  # the line nobody accounted for

    lake.write_partition(home.lake, "exceptions", DAY, _exceptions(ids[-3:]))
    result = _recon(home, "bank_lines_accounted")
    assert result.passed and _meta(result, "exceptions") == 3


def test_match_rate_against_the_configured_floor(home: Home) -> None:
    ids = _bank_ids(home)  # floor 0.5 in this test's config
    enough = math.ceil(len(ids) / 2)
    lake.write_partition(home.lake, "match_members", DAY, _members(ids[: enough - 1]))
    low = _recon(home, "match_rate_floor")
    assert not low.passed and low.severity == dg.AssetCheckSeverity.WARN
    assert _meta(low, "match_rate") == round((enough - 1) / len(ids), 4)
    assert _meta(low, "floor") == 0.5
    lake.write_partition(home.lake, "match_members", DAY, _members(ids[:enough]))
    assert _recon(home, "match_rate_floor").passed


def _journal(lines: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "journal_id": [j for j, _, _, _ in lines],
            "line_no": list(range(1, len(lines) + 1)),
            "entity": ["US01"] * len(lines),
            "currency": [c for _, c, _, _ in lines],
            "debit": [Decimal(d) for _, _, d, _ in lines],
            "credit": [Decimal(c) for _, _, _, c in lines],
        },
        schema_overrides={"debit": pl.Decimal(18, 4), "credit": pl.Decimal(18, 4)},
    )


def test_journals_balanced_per_journal_entity_and_currency(home: Home) -> None:
    good = _journal(
        [
            ("j1", "USD", "100.00", "0"),
            ("j1", "USD", "0", "60.00"),
            ("j1", "USD", "0", "40.00"),
            ("j2", "EUR", "10.5", "0"),
            ("j2", "EUR", "0", "10.5"),
        ]
    )
    lake.write_partition(home.lake, "journal_proposals", DAY, good)
    result = _recon(home, "journals_balanced")
    assert result.passed and _meta(result, "journals") == 2

    # Balanced in total but not per currency: a USD debit against a EUR credit.
    bad = _journal([("j3", "USD", "25.00", "0"), ("j3", "EUR", "0", "25.00")])
    lake.write_partition(home.lake, "journal_proposals", DAY, pl.concat([good, bad]))
    result = _recon(home, "journals_balanced")
    assert not result.passed and _meta(result, "unbalanced") == 2
    [outcome] = _meta(result, "expectations")
    assert sorted(outcome["sample"]) == [
        "j3/US01/EUR off by -25.0000",
        "j3/US01/USD off by 25.0000",
    ]


def test_checks_load_in_definitions_and_journal_check_blocks() -> None:
    defs = dg.Definitions(
        assets=[*build_ingest_assets(PipelineResource().load()), canonical_tables],
        asset_checks=QUALITY_CHECKS,
        resources={"pipeline": PipelineResource()},
    )
    graph = defs.get_repository_def().asset_graph
    keys = {(k.asset_key.path[0], k.name) for k in graph.asset_check_keys}
    assert ("journal_proposals", "journals_balanced") in keys
    assert ("bank_transactions", "control_totals") in keys
    blocking = {
        (spec.asset_key.path[0], spec.name)
        for check in QUALITY_CHECKS
        for spec in check.check_specs
        if spec.blocking
    }
    assert ("journal_proposals", "journals_balanced") in blocking
    assert ("matches", "match_rate_floor") not in blocking
