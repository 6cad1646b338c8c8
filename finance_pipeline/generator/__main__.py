"""``python -m finance_pipeline.generator OUT_DIR [--start D] [--days N] [--seed S]``."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from finance_pipeline.generator import DEFAULT_START, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m finance_pipeline.generator")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    summary = generate(args.out_dir, start=args.start, days=args.days, seed=args.seed)
    print(f"wrote {len(summary.files)} files under {summary.out_dir}")
    for kind, count in summary.file_counts.items():
        print(f"  {kind:<12} {count}")
    print("planted noise: " + ", ".join(f"{k}={v}" for k, v in summary.noise_counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
