"""Master data of the demo group: three legal entities, their chart of accounts, cost centres,
tax codes, bank accounts, customers, vendors and employees.

Names are built from word lists by the seeded generator so each seed has its own customers,
while structure (which accounts exist, which bank reports which account) stays fixed: the
pipeline's configuration relies on it.
"""

from __future__ import annotations

import random
from decimal import Decimal

from finance_pipeline.generator import ids
from finance_pipeline.generator.model import (
    BankAccount,
    CostCenter,
    Customer,
    Employee,
    Entity,
    GlAccount,
    TaxCode,
    Vendor,
    World,
)

ENTITIES = (
    Entity("DE01", "Northwind Handels GmbH", "DE", "EUR"),
    Entity("GB01", "Northwind Trading Ltd", "GB", "GBP"),
    Entity("US01", "Northwind Holdings Inc.", "US", "USD"),
)

# (code, name, type, is a cash account carrying a currency, only in these entities)
_CHART: tuple[tuple[str, str, str, bool, tuple[str, ...]], ...] = (
    ("1010", "Cash - operating account", "asset", True, ()),
    ("1020", "Cash - lockbox deposit account", "asset", True, ("US01",)),
    ("1150", "Stripe clearing", "asset", True, ("US01",)),
    ("1200", "Accounts receivable", "asset", False, ()),
    ("1250", "Input VAT / tax receivable", "asset", False, ()),
    ("2000", "Accounts payable", "liability", False, ()),
    ("2050", "Goods received not invoiced", "liability", False, ()),
    ("2100", "Payroll clearing", "liability", False, ()),
    ("2200", "Payroll tax liability", "liability", False, ()),
    ("2210", "Benefits payable", "liability", False, ()),
    ("2300", "Sales tax / output VAT payable", "liability", False, ()),
    ("2400", "Unapplied cash", "liability", False, ()),
    ("3000", "Retained earnings", "equity", False, ()),
    ("4000", "Revenue", "revenue", False, ()),
    ("5000", "Cost of goods sold", "expense", False, ()),
    ("6000", "Payroll expense", "expense", False, ()),
    ("6010", "Employer payroll taxes", "expense", False, ()),
    ("6100", "Software and cloud services", "expense", False, ()),
    ("6150", "Payment processor fees", "expense", False, ()),
    ("6160", "Bank fees", "expense", False, ()),
    ("6200", "Office and equipment", "expense", False, ()),
    ("6300", "Professional services", "expense", False, ()),
    ("6900", "Short-pay write-off", "expense", False, ()),
    ("7900", "FX gain / loss", "expense", False, ()),
)

_COST_CENTERS = (
    ("100", "Sales"),
    ("200", "Engineering"),
    ("300", "Customer Success"),
    ("400", "General and Administration"),
)

_TAX_CODES = {
    "US01": (
        ("US-EXEMPT", "0", "Exempt sale (resale certificate on file)"),
        ("US-CA", "0.0725", "California sales tax"),
        ("US-NY", "0.08875", "New York City sales tax"),
        ("US-NT", "0", "Non-taxable purchase"),
    ),
    "DE01": (
        ("DE-UST19", "0.19", "Umsatzsteuer 19%"),
        ("DE-UST7", "0.07", "Umsatzsteuer 7%"),
        ("DE-RC", "0", "Reverse charge / export, steuerfrei"),
        ("DE-VST19", "0.19", "Vorsteuer 19%"),
    ),
    "GB01": (
        ("GB-SR", "0.20", "Standard rated sale 20%"),
        ("GB-ZR", "0", "Zero rated / export"),
        ("GB-PSR", "0.20", "Standard rated purchase 20%"),
    ),
}

# Purchase tax code per entity (bills) and the sales tax code for foreign customers.
PURCHASE_TAX = {"US01": "US-NT", "DE01": "DE-VST19", "GB01": "GB-PSR"}

_US_WORDS = (
    "Atlas",
    "Summit",
    "Pioneer",
    "Redwood",
    "Granite",
    "Northstar",
    "Evergreen",
    "Ironclad",
    "Keystone",
    "Lakeside",
    "Crescent",
    "Harbor",
    "Meridian",
    "Sterling",
    "Cascade",
    "Frontier",
    "Liberty",
    "Prairie",
    "Canyon",
    "Beacon",
    "Sequoia",
    "Horizon",
    "Copperline",
    "Bluewater",
)
_US_TRADES = (
    "Industries",
    "Logistics",
    "Systems",
    "Foods",
    "Analytics",
    "Labs",
    "Manufacturing",
    "Health",
    "Retail",
    "Media",
    "Supply",
    "Robotics",
)
_US_FORMS = ("Inc.", "LLC", "Corp.", "Co.")
_DE_WORDS = (
    "Müller",
    "Schneider",
    "Fischer",
    "Weber",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Krüger",
)
_DE_TRADES = (
    "Maschinenbau",
    "Logistik",
    "Handel",
    "Software",
    "Elektrotechnik",
    "Medizintechnik",
    "Bau",
    "Automation",
)
_DE_FORMS = ("GmbH", "AG", "GmbH & Co. KG", "KG")
_GB_WORDS = (
    "Thornbury",
    "Ashworth",
    "Whitfield",
    "Pemberton",
    "Hartley",
    "Kingsley",
    "Marlow",
    "Beaumont",
    "Carrington",
    "Davenport",
    "Fairfax",
    "Wetherby",
    "Ellington",
    "Radcliffe",
)
_GB_TRADES = ("Engineering", "Consulting", "Trading", "Supplies", "Digital", "Holdings")
_GB_FORMS = ("Ltd", "PLC", "LLP", "Limited")

_NAME_PARTS = {
    "US": (_US_WORDS, _US_TRADES, _US_FORMS),
    "DE": (_DE_WORDS, _DE_TRADES, _DE_FORMS),
    "GB": (_GB_WORDS, _GB_TRADES, _GB_FORMS),
}

# (entity, channel, count): how each entity's customers pay.
_CUSTOMER_MIX = (
    ("US01", "lockbox", 10),
    ("US01", "ach", 8),
    ("US01", "wire", 4),
    ("US01", "card", 8),
    ("DE01", "sepa", 14),
    ("DE01", "wire_usd", 1),
    ("GB01", "fps", 13),
    ("GB01", "wire", 2),
)
_VENDOR_MIX = (
    ("US01", "ach", 6),
    ("US01", "check", 3),
    ("US01", "wire", 1),
    ("DE01", "sepa", 8),
    ("GB01", "fps", 7),
)
_EMPLOYEES = (
    ("US01", 20, 60_000, 220_000),
    ("DE01", 10, 45_000, 140_000),
    ("GB01", 10, 35_000, 120_000),
)


def cost_center_ids(entity_id: str) -> list[str]:
    return [f"{entity_id[:2]}{code}" for code, _ in _COST_CENTERS]


class NameBook:
    """Unique company names per country, drawn from word lists."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def company(self, country: str) -> str:
        words, trades, forms = _NAME_PARTS[country]
        while True:
            name = f"{self._rng.choice(words)} {self._rng.choice(trades)} {self._rng.choice(forms)}"
            if name not in self._used:
                self._used.add(name)
                return name


def payer_account(rng: random.Random, country: str) -> tuple[str, str | None, str | None]:
    """(account as master data stores it, US routing, US account) for a payer or payee."""
    if country == "US":
        routing = ids.aba_routing(rng)
        account = ids.digits(rng, 10)
        return f"{routing}/{account}", routing, account
    if country == "DE":
        return ids.iban("DE", ids.digits(rng, 8) + ids.digits(rng, 10)), None, None
    bank = rng.choice(["NWBK", "BARC", "LOYD", "HBUK", "MIDL"])
    return ids.iban("GB", bank + ids.digits(rng, 6) + ids.digits(rng, 8)), None, None


def build_master(rng: random.Random, world: World) -> None:
    """Fill ``world`` with the group's master data."""
    world.entities = list(ENTITIES)
    for entity in ENTITIES:
        for code, name, kind, is_cash, only in _CHART:
            if only and entity.entity_id not in only:
                continue
            world.gl_accounts.append(
                GlAccount(entity.entity_id, code, name, kind, entity.currency if is_cash else None)
            )
        for cc_id, (_, cc_name) in zip(
            cost_center_ids(entity.entity_id), _COST_CENTERS, strict=True
        ):
            world.cost_centers.append(CostCenter(entity.entity_id, cc_id, cc_name))
        for code, rate, description in _TAX_CODES[entity.entity_id]:
            world.tax_codes.append(TaxCode(entity.entity_id, code, Decimal(rate), description))

    world.bank_accounts = [
        BankAccount(
            "DE01-EUR-OPER",
            "DE01",
            "Euro Bank AG",
            ids.iban("DE", "50010517" + "0532013000"),
            "EUR",
            "1010",
            "EURODEFFXXX",
            "camt",
            Decimal("850000.00"),
        ),
        BankAccount(
            "GB01-GBP-OPER",
            "GB01",
            "Global Bank plc",
            ids.iban("GB", "GLBK" + "601613" + "31926819"),
            "GBP",
            "1010",
            "GLBKGB2LXXX",
            "mt940",
            Decimal("420000.00"),
        ),
        BankAccount(
            "US01-LBX",
            "US01",
            "First National",
            "4820017759",
            "USD",
            "1020",
            "FNBKUS33",
            "bai2",
            Decimal("150000.00"),
        ),
        BankAccount(
            "US01-OPER",
            "US01",
            "First National",
            "4820017731",
            "USD",
            "1010",
            "FNBKUS33",
            "bai2",
            Decimal("2450000.00"),
        ),
    ]

    names = NameBook(rng)
    number = 10000
    for entity_id, channel, count in _CUSTOMER_MIX:
        entity = world.entity(entity_id)
        for _ in range(count):
            number += 1
            country = "US" if channel == "wire_usd" else entity.country
            account, routing, acct = payer_account(rng, country)
            world.customers.append(
                Customer(
                    customer_id=f"CUST-{number}",
                    entity_id=entity_id,
                    name=names.company(country),
                    country=country,
                    currency="USD" if channel == "wire_usd" else entity.currency,
                    erp_customer_id=str(4000 + number - 10000),
                    crm_account_id=ids.salesforce_id(rng, "001"),
                    stripe_customer_id=ids.stripe_id(rng, "cus", 14) if channel == "card" else None,
                    payer_account=account,
                    channel=channel,
                    tax_code=_sales_tax_code(rng, entity_id, country),
                    routing=routing,
                    account=acct,
                )
            )

    number = 20000
    for entity_id, method, count in _VENDOR_MIX:
        entity = world.entity(entity_id)
        for _ in range(count):
            number += 1
            account, _, _ = payer_account(rng, entity.country)
            world.vendors.append(
                Vendor(
                    vendor_id=f"VEND-{number}",
                    entity_id=entity_id,
                    name=names.company(entity.country),
                    country=entity.country,
                    currency=entity.currency,
                    erp_vendor_id=str(7000 + number - 20000),
                    payee_account=account,
                    pay_method=method,
                    bill_prefix=_bill_prefix(rng),
                )
            )

    number = 10000
    for entity_id, count, low, high in _EMPLOYEES:
        centers = cost_center_ids(entity_id)
        for _ in range(count):
            number += 1
            salary = Decimal(rng.randint(low // 500, high // 500) * 500)
            world.employees.append(Employee(f"E{number}", entity_id, rng.choice(centers), salary))


# Prefixes of the group's own documents; a vendor's invoice numbers must not look like them.
_OWN_PREFIXES = frozenset({"GR", "PO", "VB", "JE", "PR", "RE", "US", "GB", "DE", "ST", "PAY"})


def _bill_prefix(rng: random.Random) -> str:
    """Two letters a vendor starts its invoice numbers with."""
    while True:
        prefix = ids.random_string(rng, "ABCDEFGHJKLMNPRSTUVWXYZ", 2)
        if prefix not in _OWN_PREFIXES:
            return prefix


def _sales_tax_code(rng: random.Random, entity_id: str, country: str) -> str:
    if entity_id == "US01":
        return rng.choice(["US-EXEMPT", "US-EXEMPT", "US-CA", "US-NY"])
    if entity_id == "DE01":
        return "DE-UST19" if country == "DE" else "DE-RC"
    return "GB-SR" if country == "GB" else "GB-ZR"
