"""Bank statement and lockbox file formats: detection and one parser per format."""

from __future__ import annotations

import importlib
import re
from typing import Any

from finance_pipeline.formats.model import ParsedFile, ParseError

__all__ = ["FORMATS", "ParseError", "ParsedFile", "detect_format", "parse_bytes"]

# format name -> module implementing ``parse(data, name, **options)``
FORMATS: dict[str, str] = {
    "bai2": "finance_pipeline.formats.bai2",
    "camt": "finance_pipeline.formats.camt",
    "mt940": "finance_pipeline.formats.mt940",
    "lockbox": "finance_pipeline.formats.lockbox",
}

_MT940_TAGS = re.compile(rb"^:(20|25|28C?|60[FM]):", re.MULTILINE)


def detect_format(data: bytes, name: str = "") -> str | None:
    """Guess a file's format from its first bytes (names lie; content rarely does)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"01,"):
        return "bai2"
    if head.startswith(b"<") and b"camt.05" in head:
        return "camt"
    if len(_MT940_TAGS.findall(head)) >= 2 or head.startswith(b"{1:"):
        return "mt940"
    if head[:1] == b"1" and b"\n" in head and head.split(b"\n", 1)[1][:1] in (b"2", b"5"):
        return "lockbox"
    return None


def parse_bytes(data: bytes, name: str, fmt: str = "auto", **options: Any) -> ParsedFile:
    """Parse ``data`` with the parser for ``fmt`` (``auto`` detects it)."""
    chosen = detect_format(data, name) if fmt == "auto" else fmt
    if chosen is None:
        raise ParseError(
            name, "line 1", "unrecognised file format (not BAI2, camt, MT940 or lockbox)"
        )
    if chosen not in FORMATS:
        raise ParseError(name, "file", f"unknown format {chosen!r}; known: {sorted(FORMATS)}")
    module = importlib.import_module(FORMATS[chosen])
    return module.parse(data, name, **options)
