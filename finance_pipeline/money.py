"""Money helpers: ISO 4217 currency codes, their minor-unit exponents, exact Decimal parsing.

Money is never a float anywhere in the pipeline. Amounts travel as ``Decimal`` in Python and as
``DECIMAL(18,4)`` in Parquet and DuckDB; integer minor units are derived with the exponent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Active ISO 4217 codes. Most have two minor digits; the exceptions are listed below.
_TWO_DIGIT = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR ISK JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK
PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD XCG ZAR ZMW ZWG
""".split()
_ZERO_DIGIT = "BIF CLP DJF GNF JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
_THREE_DIGIT = "BHD IQD JOD KWD LYD OMR TND".split()
_FOUR_DIGIT = "CLF UYW".split()

CURRENCY_EXPONENTS: dict[str, int] = {
    **{c: 2 for c in _TWO_DIGIT},
    **{c: 0 for c in _ZERO_DIGIT},
    **{c: 3 for c in _THREE_DIGIT},
    **{c: 4 for c in _FOUR_DIGIT},
}
CURRENCY_CODES: frozenset[str] = frozenset(CURRENCY_EXPONENTS)

# Scale used for money columns in Parquet and DuckDB (DECIMAL(18,4)).
MONEY_PRECISION = 18
MONEY_SCALE = 4


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def is_currency(code: str | None) -> bool:
    return code is not None and code in CURRENCY_CODES


def exponent(currency: str) -> int:
    """Minor-unit digits of ``currency`` (2 for USD, 0 for JPY, 3 for KWD)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError as exc:
        raise MoneyError(f"unknown currency code {currency!r}") from exc


def parse_decimal(text: str, *, decimal_sep: str = ".") -> Decimal:
    """Parse a textual amount exactly; ``decimal_sep=','`` for European and SWIFT styles."""
    cleaned = text.strip()
    if decimal_sep == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    if cleaned.endswith("."):
        cleaned += "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {text!r}")
    return value


def from_minor(units: int, currency: str) -> Decimal:
    """Integer minor units (as BAI2 and Stripe write them) to a Decimal in major units."""
    return Decimal(units).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units to integer minor units; refuses to round silently."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-even to the currency's exponent (used only where rounding is the rule)."""
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN)


def to_storage(amount: Decimal) -> Decimal:
    """Amount at the warehouse scale (4 decimals); refuses amounts that would lose digits."""
    stored = amount.quantize(Decimal(1).scaleb(-MONEY_SCALE))
    if stored != amount:
        raise MoneyError(f"{amount} has more than {MONEY_SCALE} decimals")
    return stored


def fmt(amount: Decimal | None) -> str | None:
    """Decimal as a plain string in major units, as ``inspect --json`` prints it."""
    if amount is None:
        return None
    return format(amount, "f")
