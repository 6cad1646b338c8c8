"""Mapping governance: pinned canonical output per preset, and versions that must move.

Each preset's fixture export is mapped and compared byte for byte with
``fixtures/expected/mappings/<preset>.csv`` (rows) and ``<preset>.rejects.csv``. The pinned rows
include ``mapping_version``, so a changed mapping shows up as a diff here. Changing what a
preset does without bumping its ``version`` fails :func:`test_preset_changes_bump_the_version`.
After a deliberate change: bump the version, run with ``UPDATE_EXPECTED=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from finance_pipeline.mappings import load_mapping, map_export, preset_names

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "fixtures" / "exports"
EXPECTED = ROOT / "fixtures" / "expected" / "mappings"
DAY = date(2026, 10, 27)
UPDATE = os.environ.get("UPDATE_EXPECTED") == "1"

PRESET_FIXTURES = {
    "stripe_balance_transactions": "stripe/balance_transactions_20261027.json",
    "stripe_payout_reconciliation": "stripe/payout_reconciliation_itemized_20261103.csv",
    "netsuite_open_ar_invoices": "netsuite/open_ar_invoices_20261027.csv",
    "netsuite_customer_payments": "netsuite/customer_payments_20261027.csv",
    "netsuite_vendor_bills": "netsuite/vendor_bills_20261027.csv",
    "netsuite_gl_lines": "netsuite/gl_lines_20261027.csv",
    "coupa_purchase_orders": "coupa/purchase_orders_20261027.csv",
    "coupa_receipts": "coupa/receipts_20261027.csv",
    "coupa_invoices": "coupa/invoices_20261027.csv",
    "workday_payroll_journal": "workday/payroll_journal_20261030.csv",
    "salesforce_closed_won": "salesforce/closed_won_20261027.csv",
}


def _mapped(name: str, mapping=None) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = EXPORTS / PRESET_FIXTURES[name]
    return map_export(mapping or load_mapping(name), path.read_bytes(), path.name, DAY)


def _pinned(path: Path, frame: pl.DataFrame) -> None:
    if path.exists() and not UPDATE:
        # A column added to the contract later (empty here) is not a mapping change.
        header = path.read_text().splitlines()[0].split(",")
        added = [c for c in frame.columns if c not in header]
        assert all(frame[c].null_count() == frame.height for c in added), added
        frame = frame.select([c for c in frame.columns if c not in added])
    text = frame.write_csv()
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no pinned output {path}; run with UPDATE_EXPECTED=1 and review it"
    assert text == path.read_text(), f"{path.name} changed; bump the mapping version if intended"


def test_every_preset_has_a_fixture() -> None:
    assert sorted(PRESET_FIXTURES) == preset_names()


@pytest.mark.parametrize("name", sorted(PRESET_FIXTURES))
def test_preset_output_is_pinned(name: str) -> None:
    good, rejects = _mapped(name)
    assert good.height > 0 and rejects.height > 0  # every fixture has malformed rows too
    _pinned(EXPECTED / f"{name}.csv", good)
    _pinned(EXPECTED / f"{name}.rejects.csv", rejects)


def test_preset_changes_bump_the_version() -> None:
    """A preset's behaviour is fingerprinted per version: same version, same fingerprint."""
    path = EXPECTED / "versions.json"
    current = {
        name: {"version": m.version, "fingerprint": m.fingerprint()}
        for name in preset_names()
        for m in [load_mapping(name)]
    }
    if UPDATE:
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    pinned = json.loads(path.read_text())
    for name, now in current.items():
        before = pinned.get(name)
        assert before is not None, f"{name}: new preset; pin it with UPDATE_EXPECTED=1"
        if now["fingerprint"] != before["fingerprint"]:
            assert now["version"] != before["version"], (
                f"{name} changed but is still version {now['version']}: bump its version"
            )
            pytest.fail(f"{name}: new version {now['version']}; re-pin with UPDATE_EXPECTED=1")
        assert now["version"] == before["version"], f"{name}: version moved without a change"


def test_a_version_change_is_visible_in_every_row(tmp_path: Path) -> None:
    """Version 2 of the NetSuite invoices mapping: rows say so, and only intended fields move."""
    v2 = tmp_path / "netsuite_open_ar_invoices_v2.yaml"
    v2.write_text(
        "extends: netsuite_open_ar_invoices\n"
        "name: netsuite_open_ar_invoices\n"
        "version: '2'\n"
        "columns:\n"
        "  invoice_id: {template: 'ns-ar-{Internal ID}'}\n"
    )
    old, _ = _mapped("netsuite_open_ar_invoices")
    new, _ = _mapped("netsuite_open_ar_invoices", load_mapping(v2))
    assert old["mapping_version"].unique().to_list() == ["1"]
    assert new["mapping_version"].unique().to_list() == ["2"]
    assert new["invoice_id"].to_list() == [
        i.replace("ns-inv-", "ns-ar-") for i in old["invoice_id"]
    ]
    unchanged = [c for c in old.columns if c not in ("invoice_id", "mapping_version")]
    assert new.select(unchanged).equals(old.select(unchanged))
    assert load_mapping(v2).fingerprint() != load_mapping("netsuite_open_ar_invoices").fingerprint()
