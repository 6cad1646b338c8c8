"""What a sensor's run rebuilds: the source that changed and what is downstream of it.

A late file from one bank re-pulls that bank only, then rebuilds the day's shared steps
(``raw_files`` onwards) from every source's stored manifest, so the other servers are not
asked again. That is only right once every other source has been ingested for the day; until
then (the first file of a day) the run takes the whole daily job.
"""

from datetime import date

import dagster as dg

from assets.ingest import SOURCE_PREFIX, manifest_table
from finance_pipeline import lake
from finance_pipeline.config import Home
from sensors.jobs import daily_reconciliation_job


def _daily_keys(repository: dg.RepositoryDefinition) -> list[dg.AssetKey]:
    """The daily job's assets, as its own selection resolves them."""
    keys = daily_reconciliation_job.selection.resolve(repository.asset_graph)
    return sorted(keys, key=lambda k: k.to_user_string())


def narrow_to_source(
    context: dg.SensorEvaluationContext,
    source_name: str,
    home: Home,
    requests: list[dg.RunRequest],
) -> list[dg.RunRequest]:
    """Each request for one source only, when the day's other sources are already stored."""
    repository = context.repository_def
    if repository is None or not requests:
        return requests
    keys = _daily_keys(repository)
    others = sorted(
        {k.path[1] for k in keys if k.path[0] == SOURCE_PREFIX and k.path[1] != source_name}
    )
    stored = {
        name: set(lake.partition_dates(home.lake_location, manifest_table(name))) for name in others
    }
    selection = [k for k in keys if k.path[0] != SOURCE_PREFIX or k.path[1] == source_name]
    checks = [c for c in repository.asset_graph.asset_check_keys if c.asset_key in set(selection)]
    narrowed = []
    for request in requests:
        day = date.fromisoformat(request.partition_key or "")
        if all(day in days for days in stored.values()):
            request = dg.RunRequest(
                run_key=request.run_key,
                partition_key=request.partition_key,
                tags=request.tags,
                asset_selection=selection,
                asset_check_keys=sorted(checks, key=lambda c: c.to_user_string()),
            )
        narrowed.append(request)
    return narrowed
