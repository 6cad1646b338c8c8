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

    inspect = sub.add_parser("inspect", help="parse one bank or lockbox file and check it")
    inspect.add_argument("file", type=Path)
    inspect.add_argument(
        "--format", default="auto", choices=["auto", "bai2", "camt", "mt940", "lockbox"]
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
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
        "\nNext: query the warehouse with duckdb "
        f"{home.warehouse}\n      or open the Dagster UI: make dev (DAGSTER_HOME={home.dagster})"
    )
    return 0 if all(o.success for o in outcomes) else 1


def summary_text(home: Home) -> str:
    """Row counts per canonical table and the quality tables, read from the warehouse."""
    import duckdb

    if not home.warehouse.exists():
        return "no warehouse yet"
    lines = ["", "canonical tables (rows):"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "ORDER BY table_schema, table_name"
        ).fetchall()
        for schema, table in tables:
            if schema != "canonical":
                continue
            count = con.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]
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
            try:
                count = con.execute(sql).fetchone()[0]
            except duckdb.Error:
                count = 0
            lines.append(f"  {label:<24}{count:>8}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
