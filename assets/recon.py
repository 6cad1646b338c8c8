"""Recon assets: matching (all workflows), exceptions, journal proposals, and the audit log."""

import warnings
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import dagster as dg
import polars as pl

from assets.canonical import CANONICAL_SPECS, QUALITY_SPECS
from assets.metadata import markdown_preview
from assets.partitions import business_days
from assets.resources import PipelineResource
from contracts.recon import WORKFLOWS
from finance_pipeline import audit, lake
from finance_pipeline.exceptions import roll_forward
from finance_pipeline.integrity import ingest_candidates
from finance_pipeline.journals import (
    export_csv,
    export_json,
    propose_journals,
    roll_forward_journals,
    unbalanced,
)
from finance_pipeline.masterdata import MASTER_TABLES, reference_flags
from finance_pipeline.matching.engine import UNMATCHED_SCHEMA, run_workflow
from finance_pipeline.recon_exceptions import (
    carry_forward_matches,
    combine_candidates,
    matching_candidates,
    reference_candidates,
    results_by_workflow,
)
from finance_pipeline.trace import load_tables, log_lines

UNMATCHED = {**UNMATCHED_SCHEMA, "workflow": pl.String}


def previous_state(lake_root, table: str, day: date, lookback_days: int = 31):
    """The latest partition of ``table`` before ``day`` (the state a run rolls forward)."""
    for offset in range(1, lookback_days + 1):
        found = lake.read_partition(lake_root, table, day - timedelta(days=offset))
        if found is not None:
            return found
    return None


def _raw_files(lake_root, day: date) -> pl.DataFrame | None:
    """The archive manifest rows up to ``day`` (which raw file version each record came from)."""
    return lake.read_table(lake_root, "raw_files", upto=day)


def _stored(lake_root, day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    found = [
        lake.read_partition(lake_root, t, day) for t in ("matches", "match_members", "unmatched")
    ]
    if any(f is None for f in found):
        raise dg.Failure(f"no matching output for {day}: materialize `matches` first")
    return found[0], found[1], found[2]


def previous_day(asset: str) -> dg.AssetDep:
    """A state asset depends on its own previous partition: each day rolls yesterday's state
    forward, so backfills run the days in order and give the same tables as single runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # stable in use since Dagster 1.7
        mapping = dg.TimeWindowPartitionMapping(
            start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
        )
    return dg.AssetDep(asset, partition_mapping=mapping)


_SPEC = dict(group_name="recon", kinds={"polars", "parquet"}, owners=["team:finance-ops"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "matches",
            deps=[*(s.key for s in CANONICAL_SPECS), previous_day("matches")],
            description="`recon.matches`: every workflow's matches (rule, version, run).",
            **_SPEC,
        ),
        dg.AssetSpec(
            "match_members",
            deps=["matches"],
            description="`recon.match_members`: the records of each match and amounts applied.",
            **_SPEC,
        ),
        dg.AssetSpec(
            "unmatched",
            deps=["matches"],
            description="Records no rule matched, with the closest miss as reason.",
            **_SPEC,
        ),
    ],
    partitions_def=business_days,
)
def matching(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> Iterator[dg.MaterializeResult]:
    """Run every workflow's rules over everything known on the business date."""
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    tables = load_tables(home.lake_location, day)
    created = datetime.combine(day, time())
    results = {
        w: run_workflow(w, tables, run_id=context.run_id, created_at=created) for w in WORKFLOWS
    }
    matches = pl.concat([r.matches for r in results.values()])
    members = pl.concat([r.members for r in results.values()])
    unmatched = pl.concat(
        [r.unmatched.with_columns(pl.lit(w).alias("workflow")) for w, r in results.items()]
    ).cast(UNMATCHED)
    # A match keeps the run that first made it: reruns write identical bytes.
    earlier = [
        lake.read_partition(home.lake_location, "matches", day),
        previous_state(home.lake_location, "matches", day),
    ]
    matches = carry_forward_matches(matches, earlier)
    lake.write_partition(home.lake_location, "matches", day, matches)
    lake.write_partition(home.lake_location, "match_members", day, members)
    lake.write_partition(home.lake_location, "unmatched", day, unmatched)
    for message in log_lines(matches, members):
        context.log.info(message)
    lineage = audit.record_lineage(tables, _raw_files(home.lake_location, day))
    logged = audit.append_events(
        home.root,
        audit.match_events(matches, members, lineage, run_id=context.run_id, business_date=day),
    )
    per_workflow = (
        matches.group_by("workflow", "status").agg(pl.len().alias("matches")).sort("workflow")
    )
    yield dg.MaterializeResult(
        asset_key="matches",
        metadata={
            "rows": matches.height,
            "auto": int((matches["status"] == "auto").sum()),
            "suggested": int((matches["status"] == "suggested").sum()),
            "audit_events": logged,
            "by_workflow": markdown_preview(per_workflow, limit=20),
            "rule_versions": {w: r.rule_set_version for w, r in results.items()},
        },
    )
    yield dg.MaterializeResult(asset_key="match_members", metadata={"rows": members.height})
    yield dg.MaterializeResult(
        asset_key="unmatched",
        metadata={"rows": unmatched.height, "preview": markdown_preview(unmatched)},
    )


@dg.asset(
    partitions_def=business_days,
    deps=[*(spec.key for spec in QUALITY_SPECS), previous_day("exceptions")]
    + ["raw_files", "matches", "match_members", "unmatched"],
    **_SPEC,
)
def exceptions(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """`recon.exceptions`: typed, owned, aged problems with ids stable across runs."""
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    settings = pipeline.load().settings
    tables = load_tables(home.lake_location, day)
    results = results_by_workflow(*_stored(home.lake_location, day))
    master = {t: tables[t] for t in MASTER_TABLES if t in tables}
    candidates = combine_candidates(
        [
            ingest_candidates(home.lake_location, day),
            *(matching_candidates(w, r, tables, day, settings) for w, r in results.items()),
            reference_candidates(reference_flags(tables, master), tables),
        ]
    )
    previous = previous_state(home.lake_location, "exceptions", day)
    state = roll_forward(candidates, previous, day, {"ingest", *WORKFLOWS})
    lake.write_partition(home.lake_location, "exceptions", day, state)
    lineage = audit.record_lineage(tables, _raw_files(home.lake_location, day))
    logged = audit.append_events(
        home.root,
        audit.exception_events(state, previous, lineage, run_id=context.run_id, business_date=day),
    )
    open_rows = state.filter(state["status"] == "open")
    return dg.MaterializeResult(
        metadata={
            "open": open_rows.height,
            "resolved": state.height - open_rows.height,
            "audit_events": logged,
            "by_type": markdown_preview(
                open_rows.group_by("exception_type", "owner_role")
                .agg(pl.len())
                .sort("exception_type"),
                limit=30,
            ),
            "preview": markdown_preview(
                open_rows.select("exception_type", "owner_role", "severity", "age_days", "detail")
            ),
        }
    )


@dg.asset(
    partitions_def=business_days,
    deps=["matches", "match_members", previous_day("journal_proposals")],
    **_SPEC,
)
def journal_proposals(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """`recon.journal_proposals`: balanced entries for auto matches, with idempotency keys,
    exported for ERP import as CSV and JSON under `<home>/exports/`."""
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    tables = load_tables(home.lake_location, day)
    matches, members, _ = _stored(home.lake_location, day)
    today = propose_journals(matches, members, tables, pipeline.load().settings)
    state = roll_forward_journals(
        today, previous_state(home.lake_location, "journal_proposals", day)
    )
    lake.write_partition(home.lake_location, "journal_proposals", day, state)
    proposed = state.filter(pl.col("status") == "proposed")
    export_csv(proposed, home.root / "exports" / f"journal_proposals_{day}.csv")
    export_json(proposed, home.root / "exports" / f"journal_proposals_{day}.json")
    lineage = audit.record_lineage(tables, _raw_files(home.lake_location, day))
    logged = audit.append_events(
        home.root,
        audit.journal_events(
            state, matches, members, lineage, run_id=context.run_id, business_date=day
        ),
    )
    return dg.MaterializeResult(
        metadata={
            "journals": proposed["journal_id"].n_unique(),
            "lines": proposed.height,
            "superseded": int((state["status"] == "superseded").sum()),
            "unbalanced": unbalanced(state).height,
            "audit_events": logged,
            "preview": markdown_preview(proposed),
        }
    )


@dg.asset_check(asset=journal_proposals, blocking=True)
def journals_balance(
    context: dg.AssetCheckExecutionContext, pipeline: PipelineResource
) -> dg.AssetCheckResult:
    """Every proposed journal balances per journal, entity and currency."""
    home = pipeline.home_dir()
    key = context.run.tags.get("dagster/partition")
    frame = (
        lake.read_partition(home.lake_location, "journal_proposals", date.fromisoformat(key))
        if key
        else None
    )
    bad = unbalanced(frame) if frame is not None else pl.DataFrame(schema={"journal_id": pl.String})
    return dg.AssetCheckResult(
        passed=bad.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"unbalanced_journals": bad.height, "preview": markdown_preview(bad)},
    )
