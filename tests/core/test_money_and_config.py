from decimal import Decimal
from pathlib import Path

import pytest

from finance_pipeline.config import ConfigError, load_config
from finance_pipeline.masking import mask_account
from finance_pipeline.money import MoneyError, from_minor, to_minor, to_storage
from finance_pipeline.transports.base import UnsafeNameError, safe_name

ROOT = Path(__file__).resolve().parents[2]


def test_minor_units_follow_currency_exponent() -> None:
    assert from_minor(12345, "USD") == Decimal("123.45")
    assert from_minor(12345, "JPY") == Decimal("12345")
    assert from_minor(12345, "KWD") == Decimal("12.345")
    assert to_minor(Decimal("1.50"), "USD") == 150
    with pytest.raises(MoneyError):
        to_minor(Decimal("1.505"), "USD")
    with pytest.raises(MoneyError):
        to_storage(Decimal("0.00001"))


def test_demo_config_loads() -> None:
    config = load_config(ROOT / "finance_pipeline.yaml")
    names = [s.name for s in config.sources]
    assert "fnb_us01_bai2" in names and "stripe" in names
    bai2 = config.source("fnb_us01_bai2")
    assert str(bai2.business_date_of("FNB_US01_20261027.bai")) == "2026-10-27"
    assert bai2.business_date_of("notes.txt") is None


def test_config_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "finance_pipeline.yaml"
    bad.write_text("sources:\n  - name: x\n    kind: bank_statement\n    format: qif\n")
    with pytest.raises(ConfigError, match=r"finance_pipeline.yaml: sources\[0\]: missing key"):
        load_config(bad)
    bad.write_text(
        "sources:\n  - {name: x, kind: bank_statement, format: qif, transport: {type: local}}\n"
    )
    with pytest.raises(ConfigError, match=r"sources\[0\]\.format"):
        load_config(bad)


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/b", "..", "", "C:evil", "~root"])
def test_remote_names_never_become_paths(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        safe_name(name)


def test_account_masking_keeps_last_four() -> None:
    assert mask_account("DE89370400440532013000") == "*" * 18 + "3000"
    assert mask_account("12") == "12"
