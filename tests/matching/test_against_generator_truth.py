"""Precision and recall of every workflow on the seeded demo business, against its truth.

The demo landing zone (``finance_pipeline.generator``) is read into canonical tables by the
same code the pipeline uses (``finance_pipeline.evaluation.load_demo``: ingest +
``build_canonical`` per day into the lake, without Dagster) for all five business days, and
each workflow runs over everything known on the last day. Pairs are compared: a left and a right
record the truth groups together should be in one match, and vice versa.
"""

from __future__ import annotations

from datetime import date

import pytest
from matching_builders import RUN

from contracts.recon import WORKFLOWS
from finance_pipeline.evaluation import Score, load_demo, score_tables

generator = pytest.importorskip("finance_pipeline.generator")

# the demo seed: precision first (auto must be exact), then recall
FLOOR = {"precision": 0.95, "recall": 0.95}


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, float]]:
    root = tmp_path_factory.mktemp("demo")
    tables, truth, noise, _ = load_demo(root, days=5, seed=7, start=date(2026, 10, 26))
    evaluation = score_tables(tables, truth, noise, created_at=RUN["created_at"])
    out = {w: _as_dict(s) for w, s in evaluation.scores.items()}
    print("\nprecision/recall on the demo seed:")
    for workflow, score in out.items():
        print(f"  {workflow:22s} " + " ".join(f"{k}={v:.3f}" for k, v in score.items()))
    return out


def _as_dict(score: Score) -> dict[str, float]:
    return {
        "truth_pairs": score.truth,
        "precision": score.precision,
        "recall": score.any_recall,
        "auto_precision": score.auto_precision,
        "auto_recall": score.auto_recall,
    }


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
