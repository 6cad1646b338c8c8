"""Precision and recall of every workflow on the seeded demo business, against its truth.

The demo landing zone (``finance_pipeline.generator``) is read into canonical tables by the
same code the pipeline uses (ingest + ``build_canonical``, without Dagster) for all five
business days, and each workflow runs over the union. Pairs are compared: a left and a right
record the truth groups together should be in one match, and vice versa.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from matching_builders import RUN

from contracts.recon import WORKFLOWS
from finance_pipeline.matching.engine import run_workflow

generator = pytest.importorskip("finance_pipeline.generator")

ROOT = Path(__file__).resolve().parents[2]
BANK_SYSTEMS = {"bai2", "camt", "mt940"}
# the demo seed: precision first (auto must be exact), then recall
FLOOR = {"precision": 0.95, "recall": 0.95}


def _key(record_type: str, source_system: str, source_id: str) -> str:
    """One name per record for truth and pipeline alike.

    The truth names a bank line by its format (``bai2``) and, for cash application, calls a
    bank credit a payment; the pipeline keeps it as ``bank_transactions`` of the bank's
    source system. Both carry the bank's reference as ``source_id``.
    """
    if record_type == "bank_transactions" or source_system in BANK_SYSTEMS:
        return f"bank:{source_id}"
    return f"{record_type}:{source_id}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    from finance_pipeline.archive import RawArchive
    from finance_pipeline.canonical import build_canonical
    from finance_pipeline.config import Home, load_config
    from finance_pipeline.ingest import ingest_day

    home = Home(tmp_path_factory.mktemp("demo")).ensure()
    summary = generator.generate(home.root, start=date(2026, 10, 26), days=5, seed=7)
    config = load_config(ROOT / "finance_pipeline.yaml")
    archive = RawArchive(home.archive)
    parts: dict[str, list[pl.DataFrame]] = {}
    for day in summary.business_days:
        arrivals = ingest_day(config, home.root, day, f"test-{day}").arrivals
        batch, _ = build_canonical(config, archive, arrivals, day, home.lake)
        assert batch.quarantine_frame().height == 0
        for name, frame in batch.tables().items():
            parts.setdefault(name, []).append(frame)
    tables = {name: pl.concat(frames) for name, frames in parts.items()}
    truth = pl.read_csv(home.root / "truth" / "expected_matches.csv", infer_schema=False)
    return tables, truth


def _pairs(rows, status_ok=lambda s: True) -> set[frozenset[str]]:
    groups: dict[str, tuple[set[str], set[str]]] = {}
    for group, side, rtype, system, sid, status in rows:
        if not status_ok(status):
            continue
        entry = groups.setdefault(group, (set(), set()))
        entry[0 if side == "left" else 1].add(_key(rtype, system, sid))
    return {frozenset((a, b)) for left, right in groups.values() for a in left for b in right}


@pytest.fixture(scope="module")
def scores(demo) -> dict[str, dict[str, float]]:
    tables, truth = demo
    out = {}
    for workflow in WORKFLOWS:
        result = run_workflow(workflow, tables, **RUN)
        members = result.members.join(
            result.matches.select("match_id", "status"), on="match_id"
        ).select("match_id", "side", "record_type", "source_system", "source_id", "status")
        expected = truth.filter(pl.col("workflow") == workflow).select(
            "group_id",
            "side",
            "record_type",
            "source_system",
            "source_id",
            pl.lit("auto").alias("status"),
        )
        want = _pairs(expected.iter_rows())
        got = _pairs(members.iter_rows())
        auto = _pairs(members.iter_rows(), lambda s: s == "auto")
        out[workflow] = {
            "truth_pairs": len(want),
            "precision": len(got & want) / len(got) if got else 1.0,
            "recall": len(got & want) / len(want) if want else 1.0,
            "auto_precision": len(auto & want) / len(auto) if auto else 1.0,
            "auto_recall": len(auto & want) / len(want) if want else 1.0,
        }
    print("\nprecision/recall on the demo seed:")
    for workflow, score in out.items():
        print(f"  {workflow:22s} " + " ".join(f"{k}={v:.3f}" for k, v in score.items()))
    return out


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_auto_matches_are_exact_on_the_demo_seed(scores, workflow):
    score = scores[workflow]
    assert score["truth_pairs"] > 0
    assert score["auto_precision"] == 1.0, score


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_precision_and_recall_on_the_demo_seed(scores, workflow):
    score = scores[workflow]
    assert score["precision"] >= FLOOR["precision"], score
    assert score["recall"] >= FLOOR["recall"], score
    assert score["auto_recall"] >= 0.85, score
