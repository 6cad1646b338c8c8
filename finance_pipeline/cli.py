"""``finance-pipeline``: the command line in the interface contract."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date
from pathlib import Path

from finance_pipeline.calendar import BusinessCalendar, business_days
from finance_pipeline.config import ConfigError, Home, default_config_path, load_config
from finance_pipeline.storage import LAKE_URL_ENV

DEMO_START = date(2026, 10, 26)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finance-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a seeded demo business and run the whole graph")
    demo.add_argument("--home", help="pipeline home (default $FINANCE_PIPELINE_HOME or ./var)")
    demo.add_argument("--days", type=int, default=5, help="business days to generate (default 5)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")

    run = sub.add_parser("run", help="materialize the asset graph for business dates")
    run.add_argument("--config", help="finance_pipeline.yaml (default: ./finance_pipeline.yaml)")
    run.add_argument("--date", type=date.fromisoformat, help="one business date (YYYY-MM-DD)")
    run.add_argument("--from", dest="from_", type=date.fromisoformat, help="first date")
    run.add_argument("--to", type=date.fromisoformat, help="last date")
    run.add_argument("--month-end", action="store_true", help="also run the month-end close")
    run.add_argument("--home", help="pipeline home (default $FINANCE_PIPELINE_HOME or ./var)")

    evaluate = sub.add_parser(
        "evaluate", help="score matching against the generator's ground truth on generated data"
    )
    evaluate.add_argument("--days", type=int, default=22, help="business days (default 22)")
    evaluate.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    evaluate.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 10, 1), help="first day"
    )

    inspect = sub.add_parser("inspect", help="parse one bank or lockbox file and check it")
    inspect.add_argument("file", type=Path)
    inspect.add_argument(
        "--format", default="auto", choices=["auto", "bai2", "camt", "mt940", "lockbox"]
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    exc = sub.add_parser("exceptions", help="list reconciliation exceptions (latest state)")
    exc.add_argument("--status", default="all", choices=["open", "resolved", "all"])
    exc.add_argument("--owner", choices=["ar", "ap", "treasury", "payroll", "integration"])
    exc.add_argument("--type", dest="exception_type", help="exception type, e.g. unapplied_cash")
    exc.add_argument("--format", default="table", choices=["table", "csv", "json"])
    exc.add_argument("--home", help="pipeline home (default $FINANCE_PIPELINE_HOME or ./var)")

    trace = sub.add_parser("trace", help="follow one record through every linked record")
    trace.add_argument("id", help="canonical id, record_type:id, or the source's id")
    trace.add_argument("--home", help="pipeline home (default $FINANCE_PIPELINE_HOME or ./var)")
    trace.add_argument("--json", action="store_true", help="print one JSON object")

    report = sub.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("--out", type=Path, help="output file (default <home>/report.html)")
    report.add_argument("--home", help="pipeline home (default $FINANCE_PIPELINE_HOME or ./var)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "inspect":
            return cmd_inspect(args)
        if args.command == "evaluate":
            from finance_pipeline.evaluation import cmd_evaluate

            return cmd_evaluate(args)
        if args.command == "exceptions":
            return cmd_exceptions(args)
        if args.command == "trace":
            return cmd_trace(args)
        if args.command == "report":
            return cmd_report(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    return 1


def cmd_inspect(args: argparse.Namespace) -> int:
    """Exit 0 when valid, 2 when parsed but an integrity check failed, 1 when unparseable."""
    from finance_pipeline.formats import ParseError, parse_bytes

    path: Path = args.file
    try:
        parsed = parse_bytes(path.read_bytes(), path.name, args.format)
    except (ParseError, OSError) as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "format": args.format,
                        "ok": False,
                        "statements": [],
                        "errors": [str(exc)],
                    },
                    indent=2,
                )
            )
        else:
            print(f"cannot parse {exc}", file=sys.stderr)
        return 1
    report = parsed.as_json()
    report["file"] = str(path)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_inspection(report))
    return 0 if parsed.ok else 2


def render_inspection(report: dict) -> str:
    lines = [f"{report['file']}: {report['format']}, {'OK' if report['ok'] else 'FAILED CHECKS'}"]
    for check in report.get("checks", []):
        lines.append(f"  [{'ok' if check['ok'] else 'FAIL'}] {check['name']}: {check['detail']}")
    for idx, stmt in enumerate(report["statements"], start=1):
        when = stmt.get("date") or f"{stmt.get('from')}..{stmt.get('to')}"
        lines.append(
            f"  #{idx} account {stmt['account']} {stmt['currency'] or ''} {when} "
            f"seq {stmt['sequence'] or '-'}: opening {stmt['opening_balance']}, "
            f"{stmt['entries']} entries (credits {stmt['credits']}, debits {stmt['debits']}), "
            f"closing {stmt['closing_balance']}"
        )
        for check in stmt["checks"]:
            lines.append(
                f"      [{'ok' if check['ok'] else 'FAIL'}] {check['name']}: {check['detail']}"
            )
    for error in report.get("errors", []):
        lines.append(f"  error: {error}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from finance_pipeline.runs import run_close, run_dates

    home = Home.resolve(args.home).ensure()
    config_path = Path(args.config) if args.config else default_config_path()
    config = load_config(config_path)
    calendar = BusinessCalendar.from_settings(config.settings)
    if args.date:
        dates = [args.date]
    elif args.from_ and args.to:
        dates = calendar.between(args.from_, args.to)
    else:
        print("give --date D or --from D --to D", file=sys.stderr)
        return 1
    outcomes = run_dates(home, config_path, dates)
    if args.month_end:
        closes = sorted({m for d in dates if (m := calendar.close_month_for(d)) is not None})
        outcomes += run_close(home, config_path, closes)
    for outcome in outcomes:
        state = "ok" if outcome.success else "FAILED"
        print(f"{outcome.business_date}: run {outcome.run_id} {state}")
    print(summary_text(home))
    return 0 if all(o.success for o in outcomes) else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from finance_pipeline.generator import generate
    from finance_pipeline.runs import run_close, run_dates

    home = Home.resolve(args.home)
    if not home.lake_location.is_local:
        # The demo wipes the lake it writes to; never do that to a shared object store.
        where = home.lake_location.url
        print(f"demo: refusing to write demo data to {where}; unset ${LAKE_URL_ENV}")
        return 2
    # The demo owns its landing zone and derived data; Dagster's run history is kept.
    for folder in ("landing", "truth", "lake", "archive"):
        shutil.rmtree(home.root / folder, ignore_errors=True)
    home.warehouse.unlink(missing_ok=True)
    home.ensure()
    generated = generate(home.root, start=DEMO_START, days=args.days, seed=args.seed)
    print(
        f"generated {len(generated.files)} files for {args.days} business days (seed {args.seed})"
    )
    dates = business_days(DEMO_START, args.days)
    config_path = Path(__file__).resolve().parents[1] / "finance_pipeline.yaml"
    outcomes = run_dates(home, config_path, dates)
    calendar = BusinessCalendar.from_settings(load_config(config_path).settings)
    closes = sorted({m for d in dates if (m := calendar.close_month_for(d)) is not None})
    outcomes += run_close(home, config_path, closes)
    for outcome in outcomes:
        state = "ok" if outcome.success else "FAILED"
        print(f"{outcome.business_date}: run {outcome.run_id} {state}")
    print(summary_text(home))
    print(
        f"\nNext: finance-pipeline exceptions --home {home.root} --status open\n"
        f"      finance-pipeline report --home {home.root}\n"
        f"      the warehouse: {home.warehouse} (schemas canonical, recon, quality)\n"
        f"      the Dagster UI: FINANCE_PIPELINE_HOME={home.root} make dev"
    )
    return 0 if all(o.success for o in outcomes) else 1


EXCEPTION_COLUMNS = (
    "exception_id",
    "status",
    "owner_role",
    "severity",
    "exception_type",
    "workflow",
    "source_id",
    "amount",
    "currency",
    "age_days",
    "detail",
)


def cmd_exceptions(args: argparse.Namespace) -> int:
    """Exceptions from the latest ``recon.exceptions`` state, filtered; exit 0."""
    import polars as pl

    from finance_pipeline.journals import csv_safe
    from finance_pipeline.trace import latest_state

    home = Home.resolve(args.home)
    state = latest_state(home.lake_location, "exceptions")
    if state is None:
        print(
            f"no exceptions yet under {home.root} (run finance-pipeline run or demo)",
            file=sys.stderr,
        )
        return 0
    if args.status != "all":
        state = state.filter(pl.col("status") == args.status)
    if args.owner:
        state = state.filter(pl.col("owner_role") == args.owner)
    if args.exception_type:
        state = state.filter(pl.col("exception_type") == args.exception_type)
    state = state.sort(["status", "age_days", "exception_id"], descending=[False, True, False])
    if args.format == "csv":
        sys.stdout.write(csv_safe(state).write_csv())
    elif args.format == "json":
        rows = [
            {
                k: (None if v is None else v if isinstance(v, int | str) else str(v))
                for k, v in row.items()
            }
            for row in state.iter_rows(named=True)
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(render_exceptions(state.select(EXCEPTION_COLUMNS)))
    return 0


def render_exceptions(frame) -> str:  # frame: pl.DataFrame
    """A plain-text table (no truncation surprises: details are cut at 70 characters)."""
    if frame.height == 0:
        return "no exceptions match"
    rows = [[("" if v is None else str(v)) for v in row] for row in frame.iter_rows()]
    rows = [r[:-1] + [r[-1][:70] + ("..." if len(r[-1]) > 70 else "")] for r in rows]
    header = list(frame.columns)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"{frame.height} exception(s)")
    return "\n".join(lines)


def cmd_trace(args: argparse.Namespace) -> int:
    """Exit 0 when the id names a record, 1 when nothing has it."""
    from finance_pipeline.trace import trace

    home = Home.resolve(args.home)
    result = trace(args.id, home.lake_location)
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        print(result.render())
    return 0 if result.found else 1


def cmd_report(args: argparse.Namespace) -> int:
    from finance_pipeline.report import write_report

    home = Home.resolve(args.home)
    path = write_report(home.root, args.out)
    print(f"report written to {path}")
    return 0


SUMMARY_QUERIES = {
    "workflows": """
        WITH m AS (
            SELECT mm.workflow, mm.match_id, mm.status, mb.record_type, mb.record_id
            FROM recon.matches mm JOIN recon.match_members mb USING (match_id)
        )
        SELECT w.workflow,
               coalesce(r.records, 0) + coalesce(u.unmatched, 0) AS records,
               coalesce(r.auto_records, 0) AS auto_matched,
               coalesce(r.suggested_records, 0) AS suggested,
               coalesce(x.open_exceptions, 0) AS exceptions
        FROM (SELECT unnest(?) AS workflow) w
        LEFT JOIN (
            SELECT workflow, count(DISTINCT (record_type, record_id)) AS records,
                   count(DISTINCT (record_type, record_id)) FILTER (status = 'auto')
                       AS auto_records,
                   count(DISTINCT (record_type, record_id)) FILTER (status = 'suggested')
                       AS suggested_records
            FROM m GROUP BY workflow
        ) r USING (workflow)
        LEFT JOIN (
            SELECT workflow, count(DISTINCT (record_type, record_id)) AS unmatched
            FROM recon.unmatched GROUP BY workflow
        ) u USING (workflow)
        LEFT JOIN (
            SELECT workflow, count(*) AS open_exceptions
            FROM recon.exceptions WHERE status = 'open' GROUP BY workflow
        ) x USING (workflow)
        ORDER BY w.workflow
    """,
    "exceptions": """
        SELECT exception_type, owner_role, count(*) AS open
        FROM recon.exceptions WHERE status = 'open'
        GROUP BY ALL ORDER BY exception_type
    """,
    "journals": """
        SELECT count(DISTINCT journal_id) AS journals,
               count(DISTINCT journal_id) FILTER (NOT balanced) AS unbalanced
        FROM (
            SELECT journal_id, sum(debit) = sum(credit) AS balanced
            FROM recon.journal_proposals WHERE status = 'proposed'
            GROUP BY journal_id, entity, currency
        )
    """,
}


def summary_text(home: Home) -> str:
    """Per workflow: records, auto-matched, suggested, open exceptions; exceptions by type;
    journals balanced; plus row counts of the canonical and quality tables."""
    import duckdb

    from contracts.recon import WORKFLOWS

    if not home.warehouse.exists():
        return "no warehouse yet"
    lines: list[str] = [""]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:

        def rows(sql: str, params: list | None = None) -> list[tuple]:
            try:
                return con.execute(sql, params or []).fetchall()
            except duckdb.Error:
                return []

        lines.append(
            f"{'workflow':<22}{'records':>9}{'auto':>8}{'suggested':>11}{'exceptions':>12}"
        )
        for workflow, records, auto, suggested, exc in rows(
            SUMMARY_QUERIES["workflows"], [list(WORKFLOWS)]
        ):
            lines.append(f"{workflow:<22}{records:>9}{auto:>8}{suggested:>11}{exc:>12}")
        lines.append("\nopen exceptions by type (owner):")
        for kind, owner, count in rows(SUMMARY_QUERIES["exceptions"]):
            lines.append(f"  {kind:<28}{owner:<12}{count:>6}")
        journal_rows = rows(SUMMARY_QUERIES["journals"])
        if journal_rows:
            journals, unbalanced = journal_rows[0]
            balanced = journals - unbalanced
            lines.append(f"\njournal proposals: {journals} journals, {balanced} balanced")
        lines.append("\ncanonical tables (rows):")
        tables = rows(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'canonical' ORDER BY table_name"
        )
        for (table,) in tables:
            count = rows(f'SELECT count(*) FROM canonical."{table}"')[0][0]
            lines.append(f"  {table:<24}{count:>8}")
        lines.append("quality:")
        for label, sql in (
            ("files ingested", "SELECT count(*) FROM quality.raw_files"),
            (
                "duplicate arrivals",
                "SELECT count(*) FROM quality.raw_files WHERE duplicate_of IS NOT NULL",
            ),
            ("integrity checks failed", "SELECT count(*) FROM quality.file_checks WHERE NOT ok"),
            ("files quarantined", "SELECT count(*) FROM quality.quarantined_files"),
            ("rows rejected", "SELECT count(*) FROM quality.rejects"),
        ):
            found = rows(sql)
            lines.append(f"  {label:<24}{found[0][0] if found else 0:>8}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
