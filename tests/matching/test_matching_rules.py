"""Rules files: the shipped ones load; bad ones fail naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from matching_builders import RUN, cash_application

from contracts.recon import WORKFLOWS
from finance_pipeline.matching.engine import run_workflow
from finance_pipeline.matching.rules import RuleError, default_rules_path, load_rules

GOOD = """
workflow: cash_application
version: "1"
auto_threshold: 0.9
suggest_threshold: 0.6
rules:
  - id: by_ref
    left: cash
    right: invoices
    keys: [{left: refs, right: refs, compare: normalised}]
    amount: {tolerance_abs: "0.00"}
    confidence: 0.99
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_workflow_has_a_valid_versioned_rules_file(workflow):
    rules = load_rules(default_rules_path(workflow))
    assert rules.workflow == workflow
    assert rules.version and rules.full_version.startswith(rules.version + "+")
    assert 0 < rules.suggest_threshold <= rules.auto_threshold <= 1
    assert rules.rules and all(r.version == rules.version for r in rules.rules)
    assert rules.caps.max_group_size >= 1


def test_a_minimal_file_loads(tmp_path):
    rules = load_rules(_write(tmp_path, GOOD))
    assert [r.id for r in rules.rules] == ["by_ref"]
    assert rules.rules[0].can_auto


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ("confidence: 0.99", "confidence: 0.99\n    colour: red"),
            "rules[0].colour",
            "unknown key",
        ),
        (
            ('tolerance_abs: "0.00"', "tolerance_abs: 0.5"),
            "rules[0].amount.tolerance_abs",
            "quoted decimals",
        ),
        (("id: by_ref", "id: By Ref"), "rules[0].id", "lower_snake_case"),
        (
            ("suggest_threshold: 0.6", "suggest_threshold: 0.95"),
            "suggest_threshold",
            "above auto_threshold",
        ),
        (
            ('version: "1"\n', "version: \"1\"\nreferences: {patterns: ['(unclosed']}\n"),
            "references.patterns[0]",
            "invalid regular expression",
        ),
        (("compare: normalised", "compare: fuzzy"), "rules[0].keys[0].compare", "not one of"),
        (
            ("    amount:", "    cardinality: N:M\n    amount:"),
            "rules[0].aggregate",
            "needs aggregate keys",
        ),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, change, key, words):
    path = _write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(RuleError) as err:
        load_rules(path)
    assert str(path) in str(err.value)
    assert err.value.key == key
    assert words in str(err.value)


def test_amount_alone_cannot_be_configured_to_auto_match(tmp_path):
    text = GOOD.replace(
        "keys: [{left: refs, right: refs, compare: normalised}]", "same: [entity, currency]"
    )
    with pytest.raises(RuleError) as err:
        load_rules(_write(tmp_path, text))
    assert err.value.key == "rules[0].confidence"
    assert "amount alone never auto-matches" in str(err.value)
    ok = load_rules(_write(tmp_path, text.replace("confidence: 0.99", "confidence: 0.7")))
    assert not ok.rules[0].can_auto


def test_duplicate_rule_ids_are_rejected(tmp_path):
    rule = GOOD.split("rules:\n")[1]
    with pytest.raises(RuleError, match="duplicate rule id"):
        load_rules(_write(tmp_path, GOOD + rule))


def test_subset_caps_are_bounded(tmp_path):
    text = GOOD + "caps: {max_candidates: 24, max_group_size: 12}\n"
    with pytest.raises(RuleError) as err:
        load_rules(_write(tmp_path, text))
    assert err.value.key == "caps.max_group_size"


def test_a_rule_reading_a_missing_field_fails_before_matching(tmp_path):
    text = GOOD.replace("left: refs, right: refs", "left: refs, right: invoice_ref")
    tables, _ = cash_application()
    with pytest.raises(RuleError) as err:
        run_workflow("cash_application", tables, rules_path=_write(tmp_path, text), **RUN)
    assert err.value.key == "rules[0]"
    assert "invoice_ref" in str(err.value)


def test_the_rules_file_must_be_for_the_workflow(tmp_path):
    tables, _ = cash_application()
    with pytest.raises(RuleError, match="not 'bank_reconciliation'"):
        run_workflow("bank_reconciliation", tables, rules_path=_write(tmp_path, GOOD), **RUN)
