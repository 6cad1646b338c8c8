"""The analysts' DuckDB file: schemas ``canonical``, ``recon`` and ``quality`` over the lake.

On a local lake, tables are views over the Parquet partitions (the lake is the storage); on a
remote lake (``$FINANCE_PIPELINE_LAKE_URL`` on object storage) they are copied into the file at
each refresh, so the file opens anywhere without credentials. A table with no
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


def _local_views(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, location: lake.LakeLocation
) -> bool:
    """A local lake: views over the Parquet files (always current, nothing copied)."""
    if not location.has_table(table):
        return False
    qualified = f"{schema}.{table}"
    glob = _quote(location.table_glob(table))
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
    return True


def _copied_tables(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, location: lake.LakeLocation
) -> bool:
    """A remote lake: copy the partitions into tables of the DuckDB file, so that a plain
    ``duckdb warehouse.duckdb`` opens it with no credentials and no extension. The rows and
    their order are those the local views give; the data is as of this refresh."""
    qualified = f"{schema}.{table}"
    stateful = table in STATE_TABLES
    frame = location.read_table(table, partition_column="as_of" if stateful else None)
    if frame is None:
        return False
    if stateful:
        _drop(con, schema, f"{table}_history")
    name = f"_lake_{schema}_{table}"
    con.register(name, frame.to_arrow())
    try:
        target = f"{schema}.{table}_history" if stateful else qualified
        con.execute(f"CREATE TABLE {target} AS SELECT * FROM {name}")
    finally:
        con.unregister(name)
    if stateful:
        history = f"{schema}.{table}_history"
        con.execute(
            f"CREATE VIEW {qualified} AS SELECT * EXCLUDE (as_of) FROM {history} "
            f"WHERE as_of = (SELECT max(as_of) FROM {history})"
        )
    return True


def refresh(warehouse: Path, lake_root: lake.Lake) -> dict[str, int]:
    """(Re)create every table; returns the row count of each.

    On a local lake the tables are views over the Parquet partitions. On a remote lake (an
    ``s3://`` URL...) the warehouse file stays local and the partitions are copied into it as
    tables, since a view over an object-store URL would need the analyst's DuckDB to reach the
    bucket with credentials.
    """
    location = lake.as_location(lake_root)
    build = _local_views if location.is_local else _copied_tables
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
                if not build(con, schema, table, location):
                    if model is None:
                        continue
                    con.execute(_empty_table_sql(qualified, model))
                counts[qualified] = con.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
        # The analysts' views (cookbook in the README) sit on top of the base views.
        con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
    return counts
