"""`finance-pipeline inspect`: one JSON object per the interface contract, exit codes 0/2/1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finance_pipeline.cli import main

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors"


def _inspect(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["inspect", *args])
    return code, capsys.readouterr().out


def test_valid_bai2_exits_0_with_contract_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _inspect(capsys, str(VECTORS / "bai2" / "moj-nwb_example.bai2"), "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"file", "format", "ok", "statements", "errors"}
    assert report["format"] == "bai2" and report["ok"] is True and report["errors"] == []
    [stmt] = report["statements"]
    assert {
        "account",
        "currency",
        "date",
        "sequence",
        "opening_balance",
        "closing_balance",
        "entries",
        "credits",
        "debits",
        "checks",
    } <= set(stmt)
    assert stmt["opening_balance"] == "365.21"
    assert stmt["closing_balance"] == "338.45"
    assert all({"name", "ok", "detail"} == set(c) for c in stmt["checks"])


def test_unbalanced_file_exits_2_and_names_the_failed_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = VECTORS / "bai2" / "moov-sample4-continuations-newline-delimited.txt"
    code, out = _inspect(capsys, str(path), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False
    failed = [c for c in report["checks"] if not c["ok"]]
    failed += [c for s in report["statements"] for c in s["checks"] if not c["ok"]]
    assert failed and all(c["detail"] for c in failed)


def test_unparseable_file_exits_1_naming_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = VECTORS / "bai2" / "moov-error-sample-parseError.txt"
    code, out = _inspect(capsys, str(path), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["statements"] == []
    assert "line" in report["errors"][0]


def test_camt_detected_and_reversal_signed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _inspect(
        capsys, str(VECTORS / "camt" / "genkgo-camt053.v2.five.decimals.xml"), "--json"
    )
    report = json.loads(out)
    assert report["format"] == "camt.053"
    assert code == 2  # this vector does not balance: opening + entries != closing
    proofs = [c for s in report["statements"] for c in s["checks"] if c["name"] == "balance_proof"]
    assert proofs and not proofs[0]["ok"]


def test_text_report_lists_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _inspect(capsys, str(VECTORS / "bai2" / "moj-nwb_example.bai2"))
    assert code == 0
    assert "bai2, OK" in out and "balance_proof" in out
