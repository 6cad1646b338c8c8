"""Follow one record through every linked record: bank line, payout, balance transactions,
charges, invoices and the originating order (or any part of that chain, from any id).

A trace is how an auditor or an analyst answers "where did this money come from": each step
names the record, the bytes it was read from (``source_file`` or ``source_request`` and the
location inside), the mapping (name and version) that produced the canonical row, and the
link that led to it: a match of a workflow (rule id and version, the run that made it) or a
field the source itself carries (a balance transaction's ``payout_id``, an invoice's
``order_id``).

Links are followed in one direction per path, through the layers of the chain (ledger, bank,
payout, processor transaction, payment, invoice, order): going down from a payout visits its
transactions, their charges, invoices and orders; going up from an order reaches its invoice,
payment, payout and bank line, but not the other charges paid out with it. That keeps a trace
from an order to one chain instead of the whole payout's contents.

Every record has a deterministic correlation id (:func:`correlation_id`); the Dagster matching
assets log it next to each match (:func:`log_lines`) so a trace can be found in the run logs.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from finance_pipeline import lake
from finance_pipeline.dedupe import RECORD_ID

MAX_STEPS = 500
LAYERS: dict[str, float] = {
    "gl_journal_lines": -1,
    "bank_transactions": 0,
    "payroll_entries": 0,
    "payouts": 1,
    "processor_transactions": 2,
    "payments": 3,
    "invoices": 4,
    "bills": 4,
    "receipts": 4.5,
    "orders": 5,
    "purchase_orders": 5,
}
"""Position of each record type in the chain; a path only moves one way through it."""
TRACEABLE = tuple(LAYERS)
ALIASES = {
    "bank_transaction": "bank_transactions",
    "bank_line": "bank_transactions",
    "payout": "payouts",
    "processor_transaction": "processor_transactions",
    "balance_transaction": "processor_transactions",
    "payment": "payments",
    "charge": "payments",
    "invoice": "invoices",
    "order": "orders",
    "bill": "bills",
    "receipt": "receipts",
    "purchase_order": "purchase_orders",
    "payroll_entry": "payroll_entries",
    "gl_journal_line": "gl_journal_lines",
    "gl_line": "gl_journal_lines",
}
STATE_TABLES = ("matches", "match_members")
_AMOUNT = {
    "gl_journal_lines": pl.col("debit") - pl.col("credit"),
}
_DATE = {
    "gl_journal_lines": "posting_date",
    "bank_transactions": "booking_date",
    "payroll_entries": "pay_date",
    "payouts": "arrival_date",
    "processor_transactions": "created_at",
    "payments": "received_date",
    "invoices": "issue_date",
    "bills": "bill_date",
    "receipts": "received_date",
    "orders": "order_date",
    "purchase_orders": "order_date",
}


def table_of(record_type: str) -> str:
    """The canonical table of a record type, accepting singular names (``payment``)."""
    return ALIASES.get(record_type, record_type)


def correlation_id(record_id: str) -> str:
    """Deterministic id of one record for logs and traces (same input, same id, anywhere)."""
    digest = hashlib.sha256(f"finance-pipeline/trace\x1f{record_id}".encode()).hexdigest()
    return f"cor-{digest[:16]}"


# --- reading the lake ------------------------------------------------------------------------


def _record_key(table: str) -> list[str]:
    return list(RECORD_ID.get(table, ()))


def load_tables(
    lake_root: lake.Lake, upto: date | None = None, names: Iterable[str] | None = None
) -> dict[str, pl.DataFrame]:
    """Every canonical record known on ``upto`` (all partitions up to it), latest delivery wins.

    Daily partitions hold each day's deliveries; reconciling needs everything delivered so far
    (an invoice issued last week, today's payment). Tables without partitions are left out.
    """
    wanted = list(names) if names is not None else list(RECORD_ID)
    out: dict[str, pl.DataFrame] = {}
    for table in wanted:
        frame = lake.read_table(lake_root, table, upto)
        if frame is None:
            continue
        key = [c for c in _record_key(table) if c in frame.columns]
        if key and "business_date" in frame.columns:
            frame = frame.sort("business_date", nulls_last=False).unique(
                key, keep="last", maintain_order=True
            )
        out[table] = frame
    return out


def latest_state(lake_root: lake.Lake, table: str, upto: date | None = None) -> pl.DataFrame | None:
    """The newest partition of a state table (``matches``, ``exceptions``...) up to ``upto``."""
    days = lake.partition_dates(lake_root, table, upto)
    return lake.read_partition(lake_root, table, days[-1]) if days else None


# --- the trace -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceStep:
    """One record on the chain and how it was reached."""

    depth: int
    record_type: str
    record_id: str
    source_system: str | None
    source_id: str | None
    entity: str | None
    amount: Decimal | None
    currency: str | None
    date: date | None
    business_date: date | None
    source_file: str | None
    source_request: str | None
    source_location: str | None
    mapping_name: str | None
    mapping_version: str | None
    via: str  # start | match | field
    from_record: str | None  # record_type:record_id of the step that led here
    link: str | None  # what linked the two: rule id@version, or the field compared
    workflow: str | None
    match_id: str | None
    match_status: str | None
    run_id: str | None
    correlation_id: str

    @property
    def key(self) -> str:
        return f"{self.record_type}:{self.record_id}"


@dataclass
class Trace:
    query: str
    correlation_id: str
    steps: list[TraceStep] = field(default_factory=list)
    truncated: bool = False

    @property
    def found(self) -> bool:
        return bool(self.steps)

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, date | datetime):
                return value.isoformat()
            return value

        return {
            "query": self.query,
            "correlation_id": self.correlation_id,
            "found": self.found,
            "truncated": self.truncated,
            "steps": [{k: plain(v) for k, v in asdict(s).items()} for s in self.steps],
        }

    def render(self) -> str:
        if not self.steps:
            return f"{self.query}: no canonical record has this id or source id"
        lines = [f"trace {self.query}  (correlation {self.correlation_id})"]
        for step in self.steps:
            pad = "  " * (step.depth + 1)
            money = f"{step.amount} {step.currency}" if step.amount is not None else "-"
            lines.append(
                f"{pad}{step.record_type} {step.source_id or step.record_id} "
                f"[{step.source_system or '-'}] {money} {step.date or ''} "
                f"({step.correlation_id})"
            )
            where = step.source_file or step.source_request or "-"
            if step.source_location:
                where += f" @ {step.source_location}"
            if step.source_file and step.source_request:
                where += f" (API page {step.source_request})"
            mapping = (
                f"{step.mapping_name}@{step.mapping_version}"
                if step.mapping_name
                else "reader (no mapping)"
            )
            lines.append(f"{pad}    source {where}; mapping {mapping}")
            if step.via == "match":
                lines.append(
                    f"{pad}    linked by {step.workflow} match {step.match_id} "
                    f"({step.match_status}), rule {step.link}, run {step.run_id}"
                )
            elif step.via == "field":
                lines.append(f"{pad}    linked by field {step.link}")
        if self.truncated:
            lines.append(f"  ... stopped after {MAX_STEPS} records")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Edge:
    target: str
    via: str
    link: str
    workflow: str | None = None
    match_id: str | None = None
    match_status: str | None = None
    run_id: str | None = None


def _nodes(tables: Mapping[str, pl.DataFrame]) -> dict[str, dict[str, Any]]:
    """``record_type:record_id`` -> the row's standard columns, for every traceable record."""
    nodes: dict[str, dict[str, Any]] = {}
    for table in TRACEABLE:
        frame = tables.get(table)
        key = _record_key(table)
        if frame is None or frame.height == 0 or not key:
            continue
        day = _DATE.get(table)
        amount = _AMOUNT.get(table, pl.col("amount") if "amount" in frame.columns else None)

        def col(name: str, dtype: pl.DataType = pl.String, cols=frozenset(frame.columns)):
            return pl.col(name) if name in cols else pl.lit(None, dtype=dtype).alias(name)

        view = frame.select(
            pl.concat_str([pl.col(c).cast(pl.String) for c in key], separator="|").alias("id"),
            col("source_system"),
            col("source_id"),
            col("entity_id").alias("entity"),
            (amount if amount is not None else pl.lit(None))
            .cast(pl.Decimal(18, 4))
            .alias("amount"),
            col("currency"),
            (col(day, pl.Date).cast(pl.Date) if day else pl.lit(None, dtype=pl.Date)).alias("date"),
            col("business_date", pl.Date),
            col("source_file"),
            col("source_request"),
            col("source_location"),
            col("mapping_name"),
            col("mapping_version"),
        )
        for row in view.iter_rows(named=True):
            nodes[f"{table}:{row['id']}"] = {"record_type": table, **row}
    return nodes


def _field_edges(tables: Mapping[str, pl.DataFrame]) -> list[tuple[str, str, str]]:
    """(a, b, field) pairs the sources themselves state, found with joins."""
    edges: list[pl.DataFrame] = []

    def link(left: str, right: str, left_on: list[str], right_on: list[str], label: str) -> None:
        lf, rf = tables.get(left), tables.get(right)
        if lf is None or rf is None or lf.height == 0 or rf.height == 0:
            return
        if not all(c in lf.columns for c in left_on) or not all(c in rf.columns for c in right_on):
            return
        lkey = _record_key(left)
        rkey = _record_key(right)
        a = lf.select(
            pl.format(
                "{}:{}",
                pl.lit(left),
                pl.concat_str([pl.col(c).cast(pl.String) for c in lkey], separator="|"),
            ).alias("a"),
            *[pl.col(c).cast(pl.String).alias(f"__k{i}") for i, c in enumerate(left_on)],
        )
        b = rf.select(
            pl.format(
                "{}:{}",
                pl.lit(right),
                pl.concat_str([pl.col(c).cast(pl.String) for c in rkey], separator="|"),
            ).alias("b"),
            *[pl.col(c).cast(pl.String).alias(f"__k{i}") for i, c in enumerate(right_on)],
        )
        keys = [f"__k{i}" for i in range(len(left_on))]
        joined = a.drop_nulls(keys).join(b.drop_nulls(keys), on=keys, how="inner")
        edges.append(joined.select("a", "b", pl.lit(label).alias("field")))

    link(
        "processor_transactions",
        "payouts",
        ["payout_id"],
        ["payout_id"],
        "processor_transactions.payout_id = payouts.payout_id",
    )
    link(
        "processor_transactions",
        "payments",
        ["source_object_id"],
        ["source_id"],
        "processor_transactions.source_object_id = payments.source_id (the charge)",
    )
    link(
        "payments",
        "bank_transactions",
        ["source_id"],
        ["source_id"],
        "payments.source_id = bank_transactions.source_id (the same credit)",
    )
    link(
        "payments",
        "invoices",
        ["entity_id", "reference"],
        ["entity_id", "invoice_number"],
        "payments.reference = invoices.invoice_number",
    )
    link("invoices", "orders", ["order_id"], ["order_id"], "invoices.order_id = orders.order_id")
    link(
        "bills",
        "purchase_orders",
        ["po_number", "po_line_no"],
        ["po_number", "line_no"],
        "bills.po_number/po_line_no = purchase_orders.po_number/line_no",
    )
    link(
        "receipts",
        "purchase_orders",
        ["po_number", "po_line_no"],
        ["po_number", "line_no"],
        "receipts.po_number/po_line_no = purchase_orders.po_number/line_no",
    )
    if not edges:
        return []
    return [tuple(r) for r in pl.concat(edges).unique().sort("a", "b").iter_rows()]


def _match_edges(
    matches: pl.DataFrame | None, members: pl.DataFrame | None
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """record key -> [(match_id, match row)], and match_id -> member keys (under ``m:``)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    if members is None or members.height == 0:
        return out
    info: dict[str, dict[str, Any]] = {}
    if matches is not None and matches.height:
        for row in matches.iter_rows(named=True):
            info[row["match_id"]] = row
    keyed = (
        members.select(
            "match_id",
            pl.format(
                "{}:{}",
                pl.col("record_type").replace_strict(ALIASES, default=pl.col("record_type")),
                pl.col("record_id"),
            ).alias("key"),
        )
        .unique()
        .sort("match_id", "key")
    )
    for match_id, key in keyed.iter_rows():
        row = info.get(match_id, {"match_id": match_id})
        out.setdefault(key, []).append((match_id, row))
        out.setdefault(f"m:{match_id}", []).append((key, row))
    return out


def _find(nodes: Mapping[str, dict[str, Any]], query: str) -> list[str]:
    """Record keys whose canonical id, ``type:id`` or source id equals the query."""
    if query in nodes:
        return [query]
    if ":" in query:
        kind, _, rest = query.partition(":")
        key = f"{table_of(kind)}:{rest}"
        if key in nodes:
            return [key]
    hits = [k for k, v in nodes.items() if v["id"] == query or v["source_id"] == query]
    return sorted(hits, key=lambda k: (LAYERS.get(k.split(":", 1)[0], 9), k))


def build_trace(
    query: str,
    tables: Mapping[str, pl.DataFrame],
    matches: pl.DataFrame | None,
    members: pl.DataFrame | None,
) -> Trace:
    """The trace of ``query`` over given frames (pure; :func:`trace` reads them from the lake)."""
    nodes = _nodes(tables)
    starts = _find(nodes, query)
    first = nodes[starts[0]]["id"] if starts else query
    result = Trace(query=query, correlation_id=correlation_id(first))
    if not starts:
        return result
    adjacency: dict[str, list[_Edge]] = {}
    for a, b, label in _field_edges(tables):
        adjacency.setdefault(a, []).append(_Edge(b, "field", label))
        adjacency.setdefault(b, []).append(_Edge(a, "field", label))
    by_match = _match_edges(matches, members)
    for key, entries in by_match.items():
        if key.startswith("m:"):
            continue
        for match_id, row in entries:
            for other, _ in by_match.get(f"m:{match_id}", []):
                if other == key:
                    continue
                adjacency.setdefault(key, []).append(
                    _Edge(
                        other,
                        "match",
                        f"{row.get('rule_id')}@{row.get('rule_version')}",
                        row.get("workflow"),
                        match_id,
                        row.get("status"),
                        row.get("run_id"),
                    )
                )
    for edges in adjacency.values():  # matches first, then fields; stable order
        edges.sort(key=lambda e: (e.via != "match", e.target, e.link))
    seen: set[str] = set()
    queue: deque[tuple[str, int, int, str | None, _Edge | None]] = deque(
        (s, 0, 0, None, None) for s in starts
    )
    while queue:
        key, depth, direction, parent, edge = queue.popleft()
        if key in seen or key not in nodes:
            continue
        if len(result.steps) >= MAX_STEPS:
            result.truncated = True
            break
        seen.add(key)
        node = nodes[key]
        result.steps.append(
            TraceStep(
                depth=depth,
                record_type=node["record_type"],
                record_id=node["id"],
                source_system=node["source_system"],
                source_id=node["source_id"],
                entity=node["entity"],
                amount=node["amount"],
                currency=node["currency"],
                date=node["date"],
                business_date=node["business_date"],
                source_file=node["source_file"],
                source_request=node["source_request"],
                source_location=node["source_location"],
                mapping_name=node["mapping_name"],
                mapping_version=node["mapping_version"],
                via="start" if edge is None else edge.via,
                from_record=parent,
                link=None if edge is None else edge.link,
                workflow=None if edge is None else edge.workflow,
                match_id=None if edge is None else edge.match_id,
                match_status=None if edge is None else edge.match_status,
                run_id=None if edge is None else edge.run_id,
                correlation_id=correlation_id(node["id"]),
            )
        )
        layer = LAYERS.get(node["record_type"], 9)
        for nxt in adjacency.get(key, []):
            if nxt.target in seen or nxt.target not in nodes:
                continue
            other = LAYERS.get(nodes[nxt.target]["record_type"], 9)
            if other > layer and direction >= 0:
                queue.append((nxt.target, depth + 1, 1, key, nxt))
            elif other < layer and direction <= 0:
                queue.append((nxt.target, depth + 1, -1, key, nxt))
    return result


def trace(record_id: str, lake_root: lake.Lake, upto: date | None = None) -> Trace:
    """Follow ``record_id`` (canonical id, ``type:id`` or source id) through the lake."""
    tables = load_tables(lake_root, upto, TRACEABLE)
    return build_trace(
        record_id,
        tables,
        latest_state(lake_root, "matches", upto),
        latest_state(lake_root, "match_members", upto),
    )


def log_lines(matches: pl.DataFrame, members: pl.DataFrame, per_message: int = 100) -> list[str]:
    """Run-log messages naming each match member's correlation id (chunks of lines), so a
    correlation id from ``finance-pipeline trace`` can be searched in the Dagster run logs."""
    if members.height == 0:
        return []
    rows = (
        members.join(
            matches.select("match_id", "workflow", "rule_id", "rule_version", "status"),
            on="match_id",
            how="left",
        )
        .sort("match_id", "side", "record_type", "record_id")
        .select(
            "match_id",
            "workflow",
            "rule_id",
            "rule_version",
            "status",
            "side",
            "record_type",
            "record_id",
            "source_id",
        )
        .rows()
    )
    lines = [
        f"correlation={correlation_id(rid)} match={mid} workflow={wf} rule={rule}@{ver} "
        f"status={status} {side} {rtype}:{sid or rid}"
        for mid, wf, rule, ver, status, side, rtype, rid, sid in rows
    ]
    return ["\n".join(lines[i : i + per_message]) for i in range(0, len(lines), per_message)]


def exists(lake_root: lake.Lake) -> bool:
    """True when the lake holds any traceable table."""
    return any(lake.has_table(lake_root, t) for t in TRACEABLE)
