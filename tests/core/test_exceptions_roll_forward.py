from datetime import date
from decimal import Decimal

from contracts.recon import Exceptions
from finance_pipeline.exceptions import candidates_frame, exception_id, roll_forward
from finance_pipeline.validation import split_valid

D1, D2, D3 = date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 28)


def _candidate(record_id: str, kind: str = "unmatched_bank_transaction") -> dict[str, object]:
    return {
        "workflow": "bank_reconciliation",
        "exception_type": kind,
        "record_type": "bank_transaction",
        "record_id": record_id,
        "source_system": "fnb",
        "source_id": f"ref-{record_id}",
        "entity": "US01",
        "currency": "USD",
        "amount": Decimal("12.50"),
        "detail": "no ledger entry",
    }


def test_exception_keeps_its_id_ages_and_resolves() -> None:
    day1 = roll_forward(
        candidates_frame([_candidate("a"), _candidate("b")]), None, D1, {"bank_reconciliation"}
    )
    assert day1["status"].to_list() == ["open", "open"]
    assert day1["owner_role"].unique().to_list() == ["treasury"]
    good, bad = split_valid(day1, Exceptions)
    assert bad.height == 0 and good.height == 2

    day2 = roll_forward(candidates_frame([_candidate("a")]), day1, D2, {"bank_reconciliation"})
    by_id = {r["record_id"]: r for r in day2.iter_rows(named=True)}
    assert by_id["a"]["exception_id"] == exception_id(
        "bank_reconciliation", "unmatched_bank_transaction", "bank_transaction", "a"
    )
    assert by_id["a"]["first_seen"] == D1 and by_id["a"]["age_days"] == 1
    assert by_id["b"]["status"] == "resolved" and by_id["b"]["resolved_on"] == D2

    # Rerunning the same day from the same previous state gives the same table.
    assert roll_forward(
        candidates_frame([_candidate("a")]), day1, D2, {"bank_reconciliation"}
    ).equals(day2)

    # A workflow that did not run today resolves nothing.
    day3 = roll_forward(candidates_frame([]), day2, D3, {"cash_application"})
    assert day3.filter(day3["record_id"] == "a")["status"].to_list() == ["open"]
    assert day3.filter(day3["record_id"] == "a")["age_days"].to_list() == [2]
