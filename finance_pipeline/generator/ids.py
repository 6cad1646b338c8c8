"""Identifiers shaped like the real systems' (Stripe, Salesforce, IBAN, ABA, ISO 11649).

Parsers and matchers downstream are tested against these, so check digits are real: an IBAN
passes mod-97, a routing number passes the ABA checksum, an RF reference validates.
All randomness comes from the caller's seeded ``random.Random``.
"""

from __future__ import annotations

import random
import re
import unicodedata

_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE62 = _DIGITS + _UPPER + _UPPER.lower()
_SF_CHECKSUM = _UPPER + "012345"


def random_string(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def stripe_id(rng: random.Random, prefix: str, length: int = 24) -> str:
    """``ch_``/``re_``/``po_``/``txn_``/``pi_``/``pm_``/``cus_`` style object id."""
    return f"{prefix}_{random_string(rng, _BASE62, length)}"


def salesforce_id(rng: random.Random, key_prefix: str) -> str:
    """An 18-character Salesforce record id (15-char id plus its case-checksum suffix)."""
    body = key_prefix + "Dn" + "00000" + random_string(rng, _BASE62, 5)
    suffix = ""
    for chunk_start in range(0, 15, 5):
        chunk = body[chunk_start : chunk_start + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SF_CHECKSUM[bits]
    return body + suffix


def _alnum_to_digits(text: str) -> str:
    """ISO 7064 letter expansion (A=10 ... Z=35) used by IBAN and RF check digits."""
    return "".join(str(int(ch, 36)) for ch in text)


def iban(country: str, bban: str) -> str:
    """IBAN with correct mod-97 check digits."""
    check = 98 - int(_alnum_to_digits(bban + country + "00")) % 97
    return f"{country}{check:02d}{bban}"


def iban_is_valid(value: str) -> bool:
    return int(_alnum_to_digits(value[4:] + value[:4])) % 97 == 1


def rf_reference(reference: str) -> str:
    """ISO 11649 structured creditor reference built from an invoice number."""
    body = re.sub(r"[^A-Z0-9]", "", reference.upper())
    check = 98 - int(_alnum_to_digits(body + "RF00")) % 97
    return f"RF{check:02d}{body}"


def rf_is_valid(value: str) -> bool:
    return int(_alnum_to_digits(value[4:] + value[:4])) % 97 == 1


def aba_routing(rng: random.Random) -> str:
    """A nine-digit US routing number with a valid ABA checksum."""
    head = f"{rng.choice(['01', '02', '03', '04', '06', '07', '09', '11', '12'])}"
    head += random_string(rng, _DIGITS, 6)
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    total = sum(int(d) * w for d, w in zip(head, weights, strict=True))
    return head + str((10 - total % 10) % 10)


def aba_is_valid(routing: str) -> bool:
    weights = (3, 7, 1, 3, 7, 1, 3, 7, 1)
    return (
        len(routing) == 9
        and sum(int(d) * w for d, w in zip(routing, weights, strict=True)) % 10 == 0
    )


def digits(rng: random.Random, length: int) -> str:
    return random_string(rng, _DIGITS, length)


def alnum_upper(rng: random.Random, length: int) -> str:
    return random_string(rng, _DIGITS + _UPPER, length)


_TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "&": "+"}


def latin_basic(text: str) -> str:
    """Names as SEPA and SWIFT carry them: umlauts spelled out, no accents, no ``&``."""
    spelled = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    stripped = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9/?:().,'+ -]", "", stripped)


def swift_text(text: str) -> str:
    """SWIFT X character set (MT940 :61:/:86:), without the apostrophe some banks reject."""
    return latin_basic(text).replace("'", "")


def lockbox_text(text: str) -> str:
    """Upper-case BAI lockbox alphanumeric field content (``A-Z 0-9 ;:,./()-`` and space)."""
    return re.sub(r"[^ A-Z0-9;:,./()-]", "", latin_basic(text).upper())


def bai_text(text: str) -> str:
    """BAI2 16/88 free text without the delimiters ``,`` and ``/``."""
    return re.sub(r"[,/]", " ", latin_basic(text).upper())
