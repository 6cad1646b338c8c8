"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no CDN) that a
controller can open from a mail attachment or a shared drive, offline.

Sections: open exceptions by owner and age (stacked bars), the auto-match rate per workflow,
bank balances against the ledger per account, the oldest open exceptions, and the journal
proposals per entity with their balance check. :func:`collect` reads the latest state from
the lake; :func:`render` is pure (frames in, HTML out) so it is tested without a pipeline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from finance_pipeline import close, lake
from finance_pipeline.config import Home
from finance_pipeline.masking import mask_account
from finance_pipeline.trace import latest_state

AGE_LABELS = [label for _, _, label in close.AGE_BUCKETS]
AGE_COLOURS = {"0-7": "#9ecae1", "8-30": "#4292c6", "31-60": "#fd8d3c", "61+": "#d62728"}
OWNERS = ["ar", "ap", "treasury", "payroll", "integration"]


@dataclass
class ReportData:
    as_of: date | None
    exceptions: pl.DataFrame  # recon.exceptions, latest state
    matches: pl.DataFrame  # recon.matches, latest state
    members: pl.DataFrame  # recon.match_members, latest state
    journals: pl.DataFrame  # recon.journal_proposals, latest state
    balances: pl.DataFrame  # close.unreconciled_balances columns


def _empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def collect(lake_root: lake.Lake, as_of: date | None = None) -> ReportData:
    """The latest state of the recon tables (on or before ``as_of``) and bank vs ledger."""
    from contracts.recon import RECON_MODELS
    from finance_pipeline.validation import polars_schema

    frames = {}
    for table in ("exceptions", "matches", "match_members", "journal_proposals"):
        found = latest_state(lake_root, table, as_of)
        frames[table] = found if found is not None else _empty(polars_schema(RECON_MODELS[table]))
    day = as_of
    if day is None and frames["exceptions"].height:
        day = frames["exceptions"]["last_seen"].max()
    month = (day or date.today()).replace(day=1)
    return ReportData(
        as_of=day,
        exceptions=frames["exceptions"],
        matches=frames["matches"],
        members=frames["match_members"],
        journals=frames["journal_proposals"],
        balances=close.unreconciled_balances(lake_root, month),
    )


# --- figures ---------------------------------------------------------------------------------


def exceptions_by_owner_age(exceptions: pl.DataFrame) -> pl.DataFrame:
    """(owner_role, age_bucket, open_count) for open exceptions."""
    bucket = pl.lit(None, dtype=pl.String)
    for low, high, label in reversed(close.AGE_BUCKETS):
        bucket = (
            pl.when(pl.col("age_days").is_between(low, high)).then(pl.lit(label)).otherwise(bucket)
        )
    return (
        exceptions.filter(pl.col("status") == "open")
        .with_columns(bucket.alias("age_bucket"))
        .group_by("owner_role", "age_bucket")
        .agg(pl.len().alias("open_count"))
        .sort("owner_role", "age_bucket")
    )


def match_rate_by_workflow(
    matches: pl.DataFrame, members: pl.DataFrame, exceptions: pl.DataFrame
) -> pl.DataFrame:
    """Per workflow: records auto-matched with no open exception, and those needing review
    (suggested matches and open exceptions), as in the warehouse view match_rate_by_day."""
    schema = {
        "workflow": pl.String,
        "records": pl.UInt32,
        "auto_matched": pl.UInt32,
        "needs_review": pl.UInt32,
        "auto_match_rate": pl.Float64,
    }
    matched = members.join(matches.select("match_id", "workflow", "status"), on="match_id")
    states = pl.concat(
        [
            matched.select(
                "workflow",
                pl.format("{}:{}", "record_type", "record_id").alias("record"),
                (pl.col("status") == "auto").alias("auto"),
            ),
            exceptions.filter(
                (pl.col("status") == "open") & (pl.col("workflow") != "ingest")
            ).select(
                "workflow",
                pl.format("{}:{}", "record_type", "record_id").alias("record"),
                pl.lit(False).alias("auto"),
            ),
        ]
    )
    if states.height == 0:
        return pl.DataFrame(schema=schema)
    per_record = states.group_by("workflow", "record").agg(pl.col("auto").all())
    return (
        per_record.group_by("workflow")
        .agg(
            pl.len().alias("records"),
            pl.col("auto").sum().alias("auto_matched"),
            (~pl.col("auto")).sum().alias("needs_review"),
        )
        .with_columns((pl.col("auto_matched") / pl.col("records")).alias("auto_match_rate"))
        .sort("workflow")
        .cast(schema)
    )


def journal_summary(journals: pl.DataFrame) -> pl.DataFrame:
    """Per entity, currency and status: journals, lines, debits, credits, balanced."""
    return (
        journals.group_by("entity", "currency", "status")
        .agg(
            pl.col("journal_id").n_unique().alias("journals"),
            pl.len().alias("lines"),
            pl.col("debit").sum(),
            pl.col("credit").sum(),
        )
        .with_columns((pl.col("debit") == pl.col("credit")).alias("balanced"))
        .sort("entity", "currency", "status")
    )


# --- SVG -------------------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}">'
        f"<title>{_esc(title)}</title>{''.join(body)}</svg>"
    )


def stacked_owner_chart(counts: pl.DataFrame) -> str:
    """Horizontal stacked bars: one row per owner, one segment per age bucket."""
    owners = [o for o in OWNERS if o in set(counts["owner_role"].to_list())] or OWNERS[:1]
    table = {
        (o, b): n for o, b, n in counts.select("owner_role", "age_bucket", "open_count").iter_rows()
    }
    totals = {o: sum(table.get((o, b), 0) for b in AGE_LABELS) for o in owners}
    peak = max([*totals.values(), 1])
    left, bar_w, row_h = 90, 420, 26
    height = 40 + row_h * len(owners)
    body = []
    for i, owner in enumerate(owners):
        y = 10 + i * row_h
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{_esc(owner)}</text>')
        x = float(left)
        for bucket in AGE_LABELS:
            n = table.get((owner, bucket), 0)
            if not n:
                continue
            w = bar_w * n / peak
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                f'fill="{AGE_COLOURS[bucket]}"><title>{_esc(owner)} {bucket} days: {n}'
                f"</title></rect>"
            )
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{totals[owner]}</text>')
    ly = height - 14
    for j, bucket in enumerate(AGE_LABELS):
        lx = left + j * 95
        body.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{AGE_COLOURS[bucket]}"/><text x="{lx + 16}" y="{ly}">{bucket} days</text>'
        )
    return _svg(left + bar_w + 60, height, body, "Open exceptions by owner and age")


def rate_chart(rates: pl.DataFrame) -> str:
    """Horizontal bars of the auto-match rate per workflow (0-100%)."""
    rows = rates.select("workflow", "auto_match_rate", "records").rows()
    left, bar_w, row_h = 170, 360, 26
    height = 20 + row_h * max(len(rows), 1)
    body = []
    for i, (workflow, rate, records) in enumerate(rows):
        y = 10 + i * row_h
        w = bar_w * (rate or 0.0)
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{_esc(workflow)}</text>')
        body.append(
            f'<rect x="{left}" y="{y}" width="{bar_w}" height="{row_h - 6}" fill="#eeeeee"/>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="#31a354">'
            f"<title>{_esc(workflow)}: {rate or 0:.1%} of {records}</title></rect>"
            f'<text x="{left + bar_w + 6}" y="{y + 15}">{(rate or 0):.1%} of {records}</text>'
        )
    return _svg(left + bar_w + 110, height, body, "Auto-match rate by workflow")


def balance_chart(balances: pl.DataFrame) -> str:
    """Paired bars per bank account: bank closing balance and ledger cash balance."""
    rows = balances.select(
        "entity_id", "account_number", "currency", "bank_balance", "ledger_balance"
    ).rows()
    left, bar_w, row_h = 190, 360, 40
    height = 30 + row_h * max(len(rows), 1)
    body = []
    for i, (entity, account, currency, bank, ledger) in enumerate(rows):
        y = 10 + i * row_h
        # Each account on its own scale: balances in different currencies do not compare.
        peak = max(abs(bank or Decimal(0)), abs(ledger or Decimal(0))) or Decimal(1)
        masked = f"{entity} {mask_account(str(account))} {currency}"
        body.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end">{_esc(masked)}</text>')
        for j, (value, colour, label) in enumerate(
            ((bank, "#3182bd", "bank"), (ledger, "#9e9ac8", "ledger"))
        ):
            amount = value or Decimal(0)
            w = float(abs(amount) / peak) * bar_w
            body.append(
                f'<rect x="{left}" y="{y + j * 16}" width="{w:.1f}" height="14" '
                f'fill="{colour}"><title>{label} {amount} {_esc(currency)}</title></rect>'
                f'<text x="{left + w + 6:.1f}" y="{y + j * 16 + 11}">{label} {amount}</text>'
            )
    return _svg(left + bar_w + 200, height, body, "Bank against ledger per account")


def _masked_balances(balances: pl.DataFrame) -> pl.DataFrame:
    masked = [mask_account(str(a)) for a in balances["account_number"].to_list()]
    return balances.with_columns(pl.Series("account_number", masked, dtype=pl.String))


# --- HTML ------------------------------------------------------------------------------------


def _table(frame: pl.DataFrame, limit: int = 50) -> str:
    if frame.height == 0:
        return "<p class='muted'>none</p>"
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(limit).iter_rows():
        cells = "".join(
            f"<td class='num'>{_esc(v)}</td>"
            if isinstance(v, int | float | Decimal)
            else f"<td>{_esc(v)}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    more = (
        f"<p class='muted'>{frame.height - limit} more rows in the warehouse</p>"
        if frame.height > limit
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem} td,th{border:1px solid #ddd;padding:3px 6px}
th{background:#f5f5f5;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font-size:12px;fill:#333} .muted{color:#777} .kpi{display:inline-block;margin-right:2rem}
.kpi b{font-size:1.4rem;display:block} .bad{color:#b00}
"""


def render(data: ReportData, generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document (pure)."""
    stamp = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    exceptions = data.exceptions
    open_rows = exceptions.filter(pl.col("status") == "open")
    counts = exceptions_by_owner_age(exceptions)
    rates = match_rate_by_workflow(data.matches, data.members, exceptions)
    journals = journal_summary(data.journals)
    unbalanced = journals.filter(~pl.col("balanced")).height
    oldest = open_rows.sort(["age_days", "severity"], descending=[True, False]).select(
        "age_days",
        "owner_role",
        "severity",
        "exception_type",
        "workflow",
        "source_id",
        "amount",
        "currency",
        "detail",
    )
    kpis = [
        ("open exceptions", open_rows.height),
        ("resolved (in state)", exceptions.height - open_rows.height),
        ("matches", data.matches.height),
        ("journal proposals", data.journals["journal_id"].n_unique()),
        ("unbalanced journal groups", unbalanced),
    ]
    kpi_html = "".join(
        f"<div class='kpi{' bad' if label.startswith('unbalanced') and n else ''}'>"
        f"<b>{n}</b>{_esc(label)}</div>"
        for label, n in kpis
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Reconciliation report {_esc(data.as_of)}</title><style>{CSS}</style></head>",
        "<body>",
        f"<h1>Reconciliation report as of {_esc(data.as_of or 'no data yet')}</h1>",
        f"<p class='muted'>generated {_esc(stamp)} by finance-pipeline report</p>",
        kpi_html,
        "<h2>Open exceptions by owner and age</h2>",
        stacked_owner_chart(counts),
        "<h2>Auto-match rate by workflow</h2>",
        rate_chart(rates),
        _table(rates),
        "<h2>Unreconciled balances: bank against ledger</h2>",
        balance_chart(data.balances),
        _table(_masked_balances(data.balances)),
        "<h2>Oldest open exceptions</h2>",
        _table(oldest, limit=25),
        "<h2>Journal proposals</h2>",
        _table(journals),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(home_root: Path, out: Path | None = None, as_of: date | None = None) -> Path:
    """Collect from the home's lake (``<home>/lake`` or ``$FINANCE_PIPELINE_LAKE_URL``) and
    write the report (default ``<home>/report.html``)."""
    target = Path(out) if out is not None else Path(home_root) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(collect(Home(Path(home_root)).lake_location, as_of))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
