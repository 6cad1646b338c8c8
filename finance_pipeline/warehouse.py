"""The analysts' DuckDB file: schemas ``canonical``, ``recon`` and ``quality`` over the lake.

Tables are views over the Parquet partitions (the lake is the storage); a table with no
partition yet is an empty table with the contract's columns, so queries never fail on a
fresh install. Only this module writes the DuckDB file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from contracts.canonical import CANONICAL_MODELS
from contracts.recon import RECON_MODELS
from finance_pipeline import lake
from finance_pipeline.validation import polars_schema

VIEWS_SQL = Path(__file__).resolve().parents[1] / "contracts" / "views.sql"
QUALITY_TABLES = (
    "raw_files",
    "source_errors",
    "file_checks",
    "quarantined_files",
    "rejects",
    "reference_flags",
)
# Tables whose partition for a day holds the whole state as of that day: the view shows the
# latest state; ``<table>_history`` keeps every day's state with its ``as_of`` date.
STATE_TABLES = frozenset(
    {"exceptions", "matches", "match_members", "journal_proposals", "unmatched"}
)


def _duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    mapping = {
        pl.String: "VARCHAR",
        pl.Date: "DATE",
        pl.Boolean: "BOOLEAN",
        pl.Int64: "BIGINT",
        pl.Int32: "INTEGER",
        pl.Float64: "DOUBLE",
        pl.Datetime: "TIMESTAMP",
    }
    for polars_type, duck in mapping.items():
        if dtype == polars_type:
            return duck
    raise TypeError(f"no DuckDB type for {dtype}")


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _empty_table_sql(qualified: str, model: type[pa.DataFrameModel]) -> str:
    cols = ", ".join(f'"{n}" {_duck_type(t)}' for n, t in polars_schema(model).items())
    return f"CREATE OR REPLACE TABLE {qualified} ({cols})"


def _drop(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    found = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    if found:
        kind = "VIEW" if found[0] == "VIEW" else "TABLE"
        con.execute(f"DROP {kind} {schema}.{table}")


def refresh(warehouse: Path, lake_root: Path) -> dict[str, int]:
    """(Re)create every view; returns the row count of each table."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse)) as con:
        for schema in ("canonical", "recon", "quality"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        groups: list[tuple[str, dict[str, type[pa.DataFrameModel] | None]]] = [
            ("canonical", dict(CANONICAL_MODELS)),
            ("recon", {**RECON_MODELS, "unmatched": None}),
            ("quality", dict.fromkeys(QUALITY_TABLES)),
        ]
        for schema, models in groups:
            for table, model in models.items():
                qualified = f"{schema}.{table}"
                _drop(con, schema, table)
                if lake.has_table(lake_root, table):
                    glob = _quote(lake.table_glob(lake_root, table))
                    source = f"read_parquet({glob}, hive_partitioning = false, union_by_name = true"
                    if table in STATE_TABLES:
                        history = f"{schema}.{table}_history"
                        _drop(con, schema, f"{table}_history")
                        con.execute(
                            f"CREATE VIEW {history} AS SELECT * EXCLUDE (filename), "
                            "CAST(regexp_extract(filename, 'business_date=([0-9-]+)', 1) AS DATE) "
                            f"AS as_of FROM {source}, filename = true)"
                        )
                        con.execute(
                            f"CREATE VIEW {qualified} AS SELECT * EXCLUDE (as_of) FROM {history} "
                            f"WHERE as_of = (SELECT max(as_of) FROM {history})"
                        )
                    else:
                        con.execute(f"CREATE VIEW {qualified} AS SELECT * FROM {source})")
                elif model is not None:
                    con.execute(_empty_table_sql(qualified, model))
                else:
                    continue
                counts[qualified] = con.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
        # The analysts' views (cookbook in the README) sit on top of the base views.
        con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
    return counts
