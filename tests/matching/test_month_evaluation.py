"""A month of generated data scored against its truth (the issue's quality thresholds).

``finance_pipeline.evaluation`` generates 22 business days (seed 7), reads them day by day as
the pipeline does and runs the five workflows over everything known on the last day. Auto
matches must be (almost) never wrong, nearly every true link matched automatically, and
virtually all of them matched or at least suggested. ``finance-pipeline evaluate`` prints the
same report.
"""

from __future__ import annotations

import polars as pl
import pytest

from contracts.recon import WORKFLOWS
from finance_pipeline.evaluation import (
    MONTH_DAYS,
    THRESHOLDS,
    Evaluation,
    evaluate,
    score_workflow,
)

pytest.importorskip("finance_pipeline.generator")


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Evaluation:
    result = evaluate(days=MONTH_DAYS, seed=7, workdir=tmp_path_factory.mktemp("month"))
    print("\n" + result.as_text())
    return result


def test_every_workflow_has_truth_links(month):
    assert set(month.scores) == set(WORKFLOWS)
    for workflow, score in month.scores.items():
        assert score.truth > 0, workflow


def test_auto_matches_are_at_least_99_5_percent_precise(month):
    assert month.overall.auto_precision >= THRESHOLDS["auto_precision"], month.as_text()


def test_at_least_95_percent_of_true_links_are_matched_automatically(month):
    assert month.overall.auto_recall >= THRESHOLDS["auto_recall"], month.as_text()


def test_at_least_99_percent_are_matched_or_suggested(month):
    assert month.overall.any_recall >= THRESHOLDS["any_recall"], month.as_text()
    assert not month.failures()


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_no_wrong_auto_match_per_workflow(month, workflow):
    """Per workflow the precision floor holds too (on this seed: no wrong auto link at all)."""
    score = month.scores[workflow]
    assert score.auto_precision >= THRESHOLDS["auto_precision"], month.as_text()
    wrong = [w for w in month.wrong if w.workflow == workflow and w.status == "auto"]
    assert not wrong, wrong


def test_the_report_lists_every_miss(month):
    text = month.as_text()
    assert "overall" in text
    assert f"true links not matched automatically: {len(month.misses)} in" in text
    for miss in month.misses:
        assert miss.outcome in {"suggested", "split", "unmatched"}
        assert f"{miss.left} <-> {miss.right}" in text


def test_scoring_counts_wrong_auto_links_and_classifies_misses():
    """Fast check of the pairwise scoring on hand-made frames (no generation)."""
    truth = pl.DataFrame(
        {
            "workflow": ["w"] * 6,
            "group_id": ["g1", "g1", "g2", "g2", "g3", "g3"],
            "side": ["left", "right"] * 3,
            "record_type": ["payments", "invoices"] * 3,
            "source_system": ["lockbox", "netsuite"] * 3,
            "source_id": ["P1", "I1", "P2", "I2", "P3", "I3"],
        }
    )
    members = pl.DataFrame(
        {
            "match_id": ["m1", "m1", "m2", "m2", "m3", "m3"],
            "side": ["left", "right"] * 3,
            "record_type": ["payments", "invoices"] * 3,
            "source_system": ["lockbox", "netsuite"] * 3,
            "source_id": ["P1", "I1", "P2", "I3", "P3", "I2"],
        }
    )
    matches = pl.DataFrame(
        {
            "match_id": ["m1", "m2", "m3"],
            "status": ["auto", "auto", "suggested"],
            "rule_id": ["r"] * 3,
            "explanation": ["", "", "x; suggested only: an equally good alternative exists"],
        }
    )
    noise = {"payments:P2": {"duplicate_payment"}}
    score, misses, wrong = score_workflow("w", matches, members, truth, noise)
    assert (score.truth, score.auto, score.auto_correct) == (3, 2, 1)
    assert score.auto_precision == 0.5 and score.auto_recall == pytest.approx(1 / 3)
    assert score.any_recall == pytest.approx(1 / 3)  # the suggested link is wrong too
    assert {(m.group_id, m.outcome) for m in misses} == {("g2", "split"), ("g3", "split")}
    assert [m.noise for m in misses if m.group_id == "g2"] == [("duplicate_payment",)]
    assert {(w.left, w.status) for w in wrong} == {
        ("payments:P2", "auto"),
        ("payments:P3", "suggested"),
    }
    assert "r: an equally good alternative exists" in {m.reason for m in misses}
