"""Account numbers never appear whole in logs."""

from __future__ import annotations


def mask_account(number: str | None) -> str:
    """Keep the last four characters: ``DE89370400440532013000`` -> ``******************3000``."""
    if not number:
        return ""
    visible = number[-4:]
    return "*" * max(len(number) - 4, 0) + visible
