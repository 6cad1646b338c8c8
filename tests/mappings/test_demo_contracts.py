"""After the demo run, every canonical table in the warehouse satisfies its contract."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.cli import main


@pytest.mark.slow
def test_every_canonical_table_in_the_warehouse_validates_after_the_demo(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    assert main(["demo", "--home", str(home), "--days", "2"]) == 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        counts = {}
        for table, model in CANONICAL_MODELS.items():
            frame = con.sql(f"SELECT * FROM canonical.{table}").pl()
            model.validate(frame, lazy=True)
            counts[table] = frame.height
            if "mapping_name" in frame.columns and table in ("invoices", "orders", "bills"):
                assert frame["mapping_name"].null_count() == 0, table  # exports are mapped
    for table in ("legal_entities", "customers", "invoices", "bank_transactions", "fx_rates"):
        assert counts[table] > 0, table
