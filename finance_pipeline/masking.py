"""Account numbers never appear whole in logs."""

from __future__ import annotations

import re


def mask_account(number: str | None) -> str:
    """Keep the last four characters: ``DE89370400440532013000`` -> ``******************3000``."""
    if not number:
        return ""
    visible = number[-4:]
    return "*" * max(len(number) - 4, 0) + visible


def mask_file_name(name: str, date_pattern: str | None = None) -> str:
    """File names can carry account numbers: mask runs of six or more digits, except the
    business date the source's ``date_pattern`` captures."""
    keep = re.search(date_pattern, name) if date_pattern else None
    kept = keep.span(1) if keep else (-1, -1)

    def mask(match: re.Match[str]) -> str:
        if match.start() >= kept[0] and match.end() <= kept[1]:
            return match.group(0)
        return mask_account(match.group(0))

    return re.sub(r"\d{6,}", mask, name)
