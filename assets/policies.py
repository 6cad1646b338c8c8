"""Retry policy and concurrency pools shared by the assets.

Sources fail transiently (an SFTP server refusing connections at 07:00, an API answering
503): retrying with exponential backoff and jitter rides those out without hammering the
source in lockstep with every other run. Each source is its own ingest step
(``assets/ingest.py``): a transient error raises and is retried; only the last attempt records
the error instead, so the day goes on without that source.

Pools bound how many steps touch one shared thing at once: the DuckDB file has one writer,
and a bank's SFTP server gets at most two sessions from us. Dagster keeps pool limits in the
instance database, not in dagster.yaml: :func:`apply_pool_limits` (or the CLI line in
dagster.yaml's comments) sets them.
"""

import os
import re
from collections.abc import Iterable, Mapping

import dagster as dg

from finance_pipeline.config import ConfigError, SourceConfig

# Dagster waits (2**n - 1) * delay before retry n, +/- up to one delay of jitter: about 15 s,
# 45 s, 105 s and 225 s, so the fifth and last attempt starts within ~7 minutes, well inside
# the daily schedule's morning window.
SOURCE_RETRY_POLICY = dg.RetryPolicy(
    max_retries=4,
    delay=15,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)

DUCKDB_WRITER_POOL = "duckdb_writer"
SFTP_POOL_LIMIT = 2
POOL_LIMITS: Mapping[str, int] = {DUCKDB_WRITER_POOL: 1}


def source_retry_policy(source: SourceConfig) -> dg.RetryPolicy:
    """The source's ``step_retry:`` block (``max_retries``, ``delay_seconds``), else the default.

    Not to be confused with ``transport.retry``: that one retries single requests within a
    step in seconds; this one reruns the whole ingest step minutes later, through Dagster.
    """
    block = source.options.get("step_retry")
    if block is None:
        return SOURCE_RETRY_POLICY
    if not isinstance(block, Mapping) or set(block) - {"max_retries", "delay_seconds"}:
        raise ConfigError(
            f"source {source.name!r}: step_retry takes max_retries and delay_seconds only"
        )
    return dg.RetryPolicy(
        max_retries=int(block.get("max_retries", SOURCE_RETRY_POLICY.max_retries)),
        delay=float(block.get("delay_seconds", SOURCE_RETRY_POLICY.delay or 0)),
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def source_pool(source: SourceConfig) -> str | None:
    """SFTP sources share their host's pool; other sources need none."""
    host = (source.transport or {}).get("host")
    return sftp_pool(str(host)) if source.transport.get("type") == "sftp" and host else None


def sftp_pool(host: str) -> str:
    """The pool of one SFTP host, e.g. ``sftp_bank_example_com`` for ``bank.example.com``."""
    return "sftp_" + re.sub(r"[^a-z0-9]+", "_", host.lower()).strip("_")


def pool_limits(sftp_hosts: Iterable[str] = ()) -> dict[str, int]:
    """Every pool this project uses, with its limit."""
    return {**POOL_LIMITS, **{sftp_pool(h): SFTP_POOL_LIMIT for h in sorted(set(sftp_hosts))}}


def sftp_hosts_of(sources: Iterable[object]) -> list[str]:
    """Hosts of the configured SFTP sources (``transport: {type: sftp, host: ...}``)."""
    hosts = []
    for source in sources:
        transport = getattr(source, "transport", {}) or {}
        if transport.get("type") == "sftp" and transport.get("host"):
            hosts.append(str(transport["host"]))
    return sorted(set(hosts))


def apply_pool_limits(instance: dg.DagsterInstance, limits: Mapping[str, int]) -> None:
    """Store pool limits in the instance (the same as ``dagster instance concurrency set``)."""
    for pool, limit in sorted(limits.items()):
        instance.event_log_storage.set_concurrency_slots(pool, limit)


EXECUTOR_ENV = "FINANCE_PIPELINE_EXECUTOR"
K8S_MAX_CONCURRENT_STEPS = 8


def default_executor() -> dg.ExecutorDefinition | None:
    """The executor for ``dg.Definitions(executor=...)``, chosen by ``$FINANCE_PIPELINE_EXECUTOR``.

    Unset: Dagster's default (multiprocess in a run, in-process under ``dg.materialize``).
    ``multiprocess``: explicitly so. ``k8s``: one Kubernetes pod per step through
    ``dagster_k8s.k8s_job_executor`` (installed in the production image only), which inherits
    image, env secrets and volumes from the K8sRunLauncher; steps then share the lake through
    the ReadWriteMany volume (deploy/README.md).
    """
    choice = os.environ.get(EXECUTOR_ENV, "").strip().lower()
    if not choice:
        return None
    if choice == "multiprocess":
        return dg.multiprocess_executor
    if choice == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as exc:
            raise ImportError(f"{EXECUTOR_ENV}=k8s needs dagster-k8s in the image") from exc
        return k8s_job_executor.configured({"max_concurrent": K8S_MAX_CONCURRENT_STEPS})
    raise ValueError(f"{EXECUTOR_ENV}={choice!r}: expected multiprocess or k8s")
