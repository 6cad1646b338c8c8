"""The seeded business generator: determinism, contract-valid exports, bank files whose
totals and balances add up (checked here independently of the generator's own code), Stripe
payouts that net and arrive, and a truth that names only records that exist."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.generator import (
    REQUIRED_NOISE_TYPES,
    GenerationSummary,
    generate,
    lockbox_item_id,
    read_export,
)
from finance_pipeline.generator.exports import export_columns
from finance_pipeline.generator.ids import aba_is_valid, iban_is_valid, rf_is_valid
from finance_pipeline.validation import split_valid

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fixtures" / "demo"
START = date(2026, 10, 26)
DAYS = [START + timedelta(days=i) for i in range(5)]  # Mon 26 .. Fri 30 October 2026
CAMT_NS = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("gen7")
    return out, generate(out, start=START, days=5, seed=7)


@pytest.fixture(scope="module")
def out(run: tuple[Path, GenerationSummary]) -> Path:
    return run[0]


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def day_of(name: str) -> date:
    stamp = re.search(r"_(\d{8})\.", name)
    assert stamp, name
    text = stamp.group(1)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


# ---- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(
    run: tuple[Path, GenerationSummary], tmp_path: Path
) -> None:
    out, summary = run
    again = generate(tmp_path, start=START, days=5, seed=7)
    assert again.files == summary.files
    assert digests(tmp_path) == digests(out)
    assert sorted(digests(out)) == summary.files


def test_different_seed_gives_different_files(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, start=START, days=5, seed=8)
    first, other = digests(out), digests(tmp_path)
    shared = set(first) & set(other)
    assert "landing/banks/bai2/FNB_US01_20261026.bai" in shared
    changed = [f for f in shared if first[f] != other[f]]
    for kind in ("banks/bai2", "banks/camt053", "banks/mt940", "lockbox", "erp/invoices"):
        assert any(kind in f for f in changed), kind


def test_summary_counts_files_and_noise(run: tuple[Path, GenerationSummary]) -> None:
    out, summary = run
    assert summary.business_days == DAYS
    assert sum(summary.file_counts.values()) == len(summary.files)
    assert summary.file_counts["bai2"] == summary.file_counts["camt053"] == 5
    assert summary.file_counts["mt940"] == summary.file_counts["lockbox"] == 5
    assert summary.file_counts["payroll"] == 1
    assert summary.file_counts["truth"] == 3
    noise = read_rows(out / "truth" / "planted_noise.csv")
    counted: dict[str, int] = defaultdict(int)
    for row in noise:
        counted[row["noise_type"]] += 1
    assert dict(counted) == summary.noise_counts


def test_demo_fixture_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    generate(tmp_path, start=START, days=2, seed=7)
    expected = digests(DEMO)
    assert expected, "fixtures/demo is empty"
    assert digests(tmp_path) == expected


# ---- exports ---------------------------------------------------------------------------------


def export_files(out: Path) -> list[Path]:
    return sorted((out / "landing").glob("*/*.csv"))


def test_every_export_validates_against_its_contract(out: Path) -> None:
    files = export_files(out)
    tables = {re.sub(r"_\d{8}\.csv$", "", p.name) for p in files}
    assert tables == {
        "legal_entities", "customers", "vendors", "gl_accounts", "cost_centers", "tax_codes",
        "bank_accounts", "invoices", "bills", "gl_journal_lines", "fx_rates", "orders",
        "purchase_orders", "receipts", "payroll_entries",
    }  # fmt: skip
    for path in files:
        table = re.sub(r"_\d{8}\.csv$", "", path.name)
        raw = path.read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n"), path.name
        header = raw.decode("utf-8").split("\n", 1)[0].split(",")
        assert header == export_columns(table)
        assert header[:2] == ["source_system", "source_id"]
        frame = read_export(path, table, day_of(path.name))
        valid, rejects = split_valid(frame, CANONICAL_MODELS[table])
        assert rejects.height == 0, (path.name, rejects["reject_reason"].to_list()[:3])
        assert valid.height == frame.height
        ids = frame["source_id"].to_list()
        assert ids == sorted(ids), path.name


def test_read_export_fills_lineage(out: Path) -> None:
    path = out / "landing" / "erp" / "invoices_20261027.csv"
    frame = read_export(path, "invoices", date(2026, 10, 27))
    assert list(frame.columns) == list(CANONICAL_MODELS["invoices"].to_schema().columns)
    first = frame.row(0, named=True)
    assert first["source_file"] == "invoices_20261027.csv"
    assert first["source_location"] == "line 2"
    assert frame["source_location"].to_list()[-1] == f"line {frame.height + 1}"
    assert (first["mapping_name"], first["mapping_version"]) == ("identity", "1")
    assert first["business_date"] == date(2026, 10, 27)
    assert isinstance(first["amount"], Decimal)
    rows = read_rows(path)
    assert Decimal(rows[0]["amount"]) == first["amount"]


def test_master_data_is_a_full_daily_snapshot(out: Path) -> None:
    for table in ("customers", "vendors", "gl_accounts", "bank_accounts", "cost_centers"):
        texts = {(out / "landing/erp" / f"{table}_{d:%Y%m%d}.csv").read_text() for d in DAYS}
        assert len(texts) == 1, table
    customers = read_rows(out / "landing/erp/customers_20261026.csv")
    assert 55 <= len(customers) <= 65
    assert {c["entity_id"] for c in customers} == {"US01", "DE01", "GB01"}
    for customer in customers:
        account = customer["payer_account"]
        if "/" in account:
            assert aba_is_valid(account.split("/")[0])
        else:
            assert iban_is_valid(account)
        assert len(customer["crm_account_id"]) == 18
    assert 20 <= len(read_rows(out / "landing/erp/vendors_20261026.csv")) <= 30
    employees = {
        r["employee_id"] for r in read_rows(out / "landing/payroll/payroll_entries_20261030.csv")
    }
    assert 35 <= len(employees) <= 45


def test_money_columns_carry_currency_decimals(out: Path) -> None:
    money = {"amount", "open_amount", "debit", "credit"}
    for path in export_files(out):
        for row in read_rows(path):
            for column in money & row.keys():
                value = row[column]
                assert re.fullmatch(r"-?\d+\.\d{2}", value), (path.name, column, value)


def test_gl_journals_balance(out: Path) -> None:
    for path in sorted((out / "landing/erp").glob("gl_journal_lines_*.csv")):
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in read_rows(path):
            totals[row["journal_id"]] += Decimal(row["debit"]) - Decimal(row["credit"])
            assert row["posting_date"] == day_of(path.name).isoformat()
        assert totals and all(v == 0 for v in totals.values()), path.name


def test_fx_rates_have_six_to_eight_decimals(out: Path) -> None:
    for d in DAYS:
        rows = read_rows(out / "landing/erp" / f"fx_rates_{d:%Y%m%d}.csv")
        pairs = {(r["base_currency"], r["quote_currency"]) for r in rows}
        assert pairs == {("USD", "EUR"), ("USD", "GBP"), ("EUR", "GBP")}
        for row in rows:
            assert re.fullmatch(r"0\.\d{6,8}", row["rate"]), row


# ---- BAI2 -----------------------------------------------------------------------------------


def bai2_records(path: Path) -> list[list[str]]:
    """Records with 88 continuations kept as their own records; the final ``/`` dropped."""
    records = []
    for line in path.read_text().splitlines():
        code = line[:2]
        if code == "16":
            records.append(line.split(",", 6))
        else:
            records.append(line.rstrip("/").split(","))
    return records


def bai2_accounts(path: Path) -> dict[str, dict]:
    """Per account: 03 summary amounts, 16 details, 49 trailer, and the record count."""
    accounts: dict[str, dict] = {}
    current: dict | None = None
    for record in bai2_records(path):
        code = record[0]
        if code == "03":
            groups = record[3:]
            summary = {
                groups[i]: (groups[i + 1], groups[i + 2]) for i in range(0, len(groups) - 3, 4)
            }
            current = {"summary": summary, "details": [], "records": 1}
            accounts[record[1]] = current
        elif code in ("16", "88"):
            assert current is not None
            current["records"] += 1
            if code == "16":
                current["details"].append(record)
        elif code == "49":
            assert current is not None
            current["records"] += 1
            current["trailer"] = (int(record[1]), int(record[2]))
            current = None
    return accounts


def test_bai2_totals_balances_and_continuity(out: Path) -> None:
    previous_close: dict[str, int] = {}
    for day in DAYS:
        path = out / "landing/banks/bai2" / f"FNB_US01_{day:%Y%m%d}.bai"
        records = bai2_records(path)
        assert [r[0] for r in records[:2]] == ["01", "02"]
        assert records[1][4] == f"{day:%y%m%d}"
        accounts = bai2_accounts(path)
        assert len(accounts) == 2
        group_total = 0
        for account, data in accounts.items():
            summary = data["summary"]
            details = data["details"]
            summary_amounts = sum(int(amount) for amount, _ in summary.values())
            detail_amounts = sum(int(d[2]) for d in details)
            total, count = data["trailer"]
            assert detail_amounts == total - summary_amounts, account
            assert count == data["records"]
            credits = [int(d[2]) for d in details if 100 <= int(d[1]) < 400]
            debits = [int(d[2]) for d in details if 400 <= int(d[1]) < 700]
            assert len(credits) + len(debits) == len(details)
            opening, closing = int(summary["010"][0]), int(summary["015"][0])
            assert opening + sum(credits) - sum(debits) == closing
            assert int(summary["100"][0]) == sum(credits) and int(summary["100"][1]) == len(credits)
            assert int(summary["400"][0]) == sum(debits) and int(summary["400"][1]) == len(debits)
            if account in previous_close:
                assert opening == previous_close[account], (day, account)
            previous_close[account] = closing
            group_total += total
        trailer_98 = next(r for r in records if r[0] == "98")
        trailer_99 = records[-1]
        assert trailer_99[0] == "99"
        assert int(trailer_98[1]) == group_total and int(trailer_98[2]) == 2
        assert int(trailer_98[3]) == len(records) - 2
        assert int(trailer_99[1]) == group_total and int(trailer_99[2]) == 1
        assert int(trailer_99[3]) == len(records)


def test_bai2_uses_real_type_codes(out: Path) -> None:
    codes: set[str] = set()
    for path in sorted((out / "landing/banks/bai2").glob("*.bai")):
        for record in bai2_records(path):
            if record[0] == "16":
                codes.add(record[1])
    assert {"115", "165", "195", "451", "475", "698"} <= codes
    assert codes <= {"115", "165", "195", "451", "475", "495", "698"}


# ---- camt.053 ---------------------------------------------------------------------------------


def camt_amount(element: ET.Element, path: str) -> Decimal:
    node = element.find(path, CAMT_NS)
    assert node is not None and node.text is not None, path
    return Decimal(node.text)


def signed(element: ET.Element, amount_path: str, indicator_path: str) -> Decimal:
    value = camt_amount(element, amount_path)
    indicator = element.find(indicator_path, CAMT_NS)
    assert indicator is not None
    return value if indicator.text == "CRDT" else -value


def test_camt_balances_summary_and_sequence(out: Path) -> None:
    previous: tuple[int, Decimal] | None = None
    for day in DAYS:
        root = ET.parse(out / "landing/banks/camt053" / f"EURO_DE01_{day:%Y%m%d}.xml").getroot()
        assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Document"
        statements = root.findall("c:BkToCstmrStmt/c:Stmt", CAMT_NS)
        assert len(statements) == 1
        stmt = statements[0]
        balances = {
            bal.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=CAMT_NS): signed(
                bal, "c:Amt", "c:CdtDbtInd"
            )
            for bal in stmt.findall("c:Bal", CAMT_NS)
        }
        entries = stmt.findall("c:Ntry", CAMT_NS)
        statuses = {e.findtext("c:Sts/c:Cd", namespaces=CAMT_NS) for e in entries}
        assert entries and statuses == {"BOOK"}
        amounts = [signed(e, "c:Amt", "c:CdtDbtInd") for e in entries]
        assert balances["OPBD"] + sum(amounts) == balances["CLBD"]
        credits = [a for a in amounts if a > 0]
        debits = [-a for a in amounts if a < 0]
        summary = stmt.find("c:TxsSummry", CAMT_NS)
        assert summary is not None
        net = summary.find("c:TtlNtries/c:TtlNetNtry", CAMT_NS)
        assert net is not None
        assert camt_amount(summary, "c:TtlNtries/c:NbOfNtries") == len(entries)
        assert camt_amount(summary, "c:TtlNtries/c:Sum") == sum(credits) + sum(debits)
        assert signed(net, "c:Amt", "c:CdtDbtInd") == sum(amounts)
        assert camt_amount(summary, "c:TtlCdtNtries/c:NbOfNtries") == len(credits)
        assert camt_amount(summary, "c:TtlCdtNtries/c:Sum") == sum(credits)
        assert camt_amount(summary, "c:TtlDbtNtries/c:NbOfNtries") == len(debits)
        assert camt_amount(summary, "c:TtlDbtNtries/c:Sum") == sum(debits)
        for entry in entries:
            tx = entry.find("c:NtryDtls/c:TxDtls", CAMT_NS)
            assert tx is not None and tx.findtext("c:Refs/c:EndToEndId", namespaces=CAMT_NS)
            assert entry.findtext("c:AcctSvcrRef", namespaces=CAMT_NS)
            assert entry.findtext("c:BookgDt/c:Dt", namespaces=CAMT_NS) == day.isoformat()
            for ref in tx.findall("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", CAMT_NS):
                assert ref.text is not None and rf_is_valid(ref.text)
        sequence = int(stmt.findtext("c:ElctrncSeqNb", namespaces=CAMT_NS))
        if previous is not None:
            assert sequence == previous[0] + 1
            assert balances["OPBD"] == previous[1]
        previous = (sequence, balances["CLBD"])


def test_camt_carries_structured_and_unstructured_remittance(out: Path) -> None:
    structured = unstructured = fx = 0
    for path in sorted((out / "landing/banks/camt053").glob("*.xml")):
        root = ET.parse(path).getroot()
        structured += len(root.findall(".//c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", CAMT_NS))
        unstructured += len(root.findall(".//c:RmtInf/c:Ustrd", CAMT_NS))
        fx += len(root.findall(".//c:AmtDtls/c:InstdAmt/c:Amt[@Ccy='USD']", CAMT_NS))
    assert structured and unstructured and fx


def _xsd() -> Path | None:
    for base in (REPO / "fixtures" / "vectors", REPO.parent / "shared" / "vectors"):
        candidate = base / "camt" / "xsd" / "camt.053.001.08.xsd"
        if candidate.exists():
            return candidate
    return None


def test_camt_validates_against_the_iso_schema(out: Path) -> None:
    xsd = _xsd()
    if xsd is None:
        pytest.skip("camt.053.001.08.xsd not available")
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    for path in sorted((out / "landing/banks/camt053").glob("*.xml")):
        assert schema.validate(etree.parse(str(path))), (path.name, schema.error_log.last_error)


# ---- MT940 ------------------------------------------------------------------------------------


def swift_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def mt940_balance(line: str) -> tuple[date, Decimal]:
    match = re.fullmatch(r":6[024]F?:([CD])(\d{6})GBP([\d,]+)", line)
    assert match, line
    value = swift_amount(match.group(3))
    stamp = match.group(2)
    return date(2000 + int(stamp[:2]), int(stamp[2:4]), int(stamp[4:])), (
        value if match.group(1) == "C" else -value
    )


def test_mt940_balances_chain(out: Path) -> None:
    previous_close: Decimal | None = None
    previous_number: int | None = None
    for day in DAYS:
        lines = (
            (out / "landing/banks/mt940" / f"GLB_GB01_{day:%Y%m%d}.sta").read_text().splitlines()
        )
        tags = [line for line in lines if line.startswith(":")]
        assert [t[:4] for t in tags[:3]] == [":20:", ":25:", ":28C"]
        assert lines[-1] == "-"
        opening = mt940_balance(next(t for t in tags if t.startswith(":60F:")))[1]
        close_day, closing = mt940_balance(next(t for t in tags if t.startswith(":62F:")))
        available = mt940_balance(next(t for t in tags if t.startswith(":64:")))[1]
        assert close_day == day and available == closing
        movement = Decimal(0)
        for tag in tags:
            if tag.startswith(":61:"):
                match = re.match(r":61:\d{6}\d{4}(C|D)([\d,]+)N[A-Z]{3}", tag)
                assert match, tag
                amount = swift_amount(match.group(2))
                movement += amount if match.group(1) == "C" else -amount
        assert opening + movement == closing
        for continuation in (line for line in lines if not line.startswith(":")):
            assert continuation == "-" or not continuation.startswith(("-", ":"))
        number = int(next(t for t in tags if t.startswith(":28C:"))[5:].split("/")[0])
        if previous_close is not None:
            assert opening == previous_close
            assert number == (previous_number or 0) + 1
        previous_close, previous_number = closing, number


# ---- lockbox --------------------------------------------------------------------------------


def lockbox_totals(path: Path) -> tuple[dict[int, int], dict[int, int], int, int, int]:
    """(record 6 sums per batch, record 7 totals per batch, record 8 total, 9 count, lines)."""
    lines = path.read_text().splitlines()
    checks: dict[int, int] = defaultdict(int)
    batches: dict[int, int] = {}
    service_total = trailer = 0
    for line in lines:
        if line[0] == "6":
            checks[int(line[1:4])] += int(line[7:17])
        elif line[0] == "7":
            batches[int(line[1:4])] = int(line[23:33])
            assert int(line[20:23]) == sum(1 for x in lines if x[0] == "6" and x[1:4] == line[1:4])
        elif line[0] == "8":
            service_total = int(line[24:34])
            assert int(line[20:24]) == sum(1 for x in lines if x[0] == "6")
        elif line[0] == "9":
            trailer = int(line[1:7])
    return dict(checks), batches, service_total, trailer, len(lines)


def test_lockbox_totals_and_bai2_deposit(out: Path) -> None:
    for day in DAYS:
        path = out / "landing/lockbox" / f"LBX_US01_{day:%Y%m%d}.txt"
        lines = path.read_text().splitlines()
        assert [line[0] for line in lines[:3]] == ["1", "2", "5"]
        assert lines[-2][0] == "8" and lines[-1][0] == "9"
        assert all(len(line) <= 104 for line in lines)
        checks, batches, service_total, trailer, count = lockbox_totals(path)
        assert checks == batches
        assert sum(batches.values()) == service_total
        assert trailer == count
        bai2 = bai2_accounts(out / "landing/banks/bai2" / f"FNB_US01_{day:%Y%m%d}.bai")
        deposits = [int(d[2]) for d in bai2["4820017759"]["details"] if d[1] == "115"]
        assert deposits == [service_total]


# ---- Stripe ---------------------------------------------------------------------------------


def stripe_list(path: Path, url: str) -> list[dict]:
    body = json.loads(path.read_text())
    assert body["object"] == "list" and body["has_more"] is False
    assert body["url"] == url
    return body["data"]


def bai2_credits_by_day(out: Path) -> dict[date, list[int]]:
    credits: dict[date, list[int]] = {}
    for day in DAYS:
        accounts = bai2_accounts(out / "landing/banks/bai2" / f"FNB_US01_{day:%Y%m%d}.bai")
        credits[day] = [int(d[2]) for d in accounts["4820017731"]["details"] if d[1] == "165"]
    return credits


def test_stripe_payouts_net_and_reach_the_bank(out: Path) -> None:
    stripe = out / "landing/stripe"
    delayed = {
        row["source_id"]: date.fromisoformat(row["detail"].rsplit(" ", 1)[1])
        for row in read_rows(out / "truth/planted_noise.csv")
        if row["noise_type"] == "payout_delayed"
    }
    credits = bai2_credits_by_day(out)
    arrived = in_transit = 0
    for day in DAYS:
        payouts = stripe_list(stripe / f"payouts_{day:%Y%m%d}.json", "/v1/payouts")
        assert len(payouts) == 1
        for payout in payouts:
            assert payout["id"].startswith("po_") and isinstance(payout["amount"], int)
            assert payout["currency"] == "usd"
            txns = stripe_list(
                stripe / f"balance_transactions_{payout['id']}_{day:%Y%m%d}.json",
                f"/v1/balance_transactions?payout={payout['id']}",
            )
            own = [t for t in txns if t["type"] == "payout"]
            others = [t for t in txns if t["type"] != "payout"]
            assert len(own) == 1 and own[0]["source"] == payout["id"]
            assert own[0]["amount"] == -payout["amount"]
            assert sum(t["net"] for t in others) == payout["amount"]
            for txn in others:
                assert txn["net"] == txn["amount"] - txn["fee"]
                assert txn["id"].startswith("txn_")
            assert {t["type"] for t in others} <= {"charge", "refund", "stripe_fee"}
            arrival = date(1970, 1, 1) + timedelta(seconds=payout["arrival_date"])
            assert arrival.weekday() < 5 and arrival > day
            bank_day = delayed.get(payout["id"], arrival)
            if bank_day <= DAYS[-1]:
                assert payout["amount"] in credits[bank_day], payout["id"]
                if bank_day != arrival and arrival <= DAYS[-1]:
                    assert payout["amount"] not in credits[arrival]
                arrived += 1
            else:
                in_transit += 1
    assert delayed and arrived and in_transit


def test_stripe_charges_reference_invoices(out: Path) -> None:
    stripe = out / "landing/stripe"
    invoices = {
        r["invoice_number"]: r
        for p in sorted((out / "landing/erp").glob("invoices_*.csv"))
        for r in read_rows(p)
    }
    charges = 0
    for day in DAYS:
        for charge in stripe_list(stripe / f"charges_{day:%Y%m%d}.json", "/v1/charges"):
            charges += 1
            assert charge["id"].startswith("ch_") and charge["currency"] == "usd"
            invoice = invoices[charge["metadata"]["invoice_number"]]
            assert Decimal(charge["amount"]).scaleb(-2) == Decimal(invoice["amount"])
            assert charge["metadata"]["customer_id"] == invoice["customer_id"]
            created = date(1970, 1, 1) + timedelta(seconds=charge["created"])
            assert created == day
        for refund in stripe_list(stripe / f"refunds_{day:%Y%m%d}.json", "/v1/refunds"):
            assert refund["id"].startswith("re_") and refund["charge"].startswith("ch_")
    assert charges >= 10


# ---- truth ----------------------------------------------------------------------------------


def generated_ids(out: Path) -> dict[str, set[str]]:
    """Every source id the generated files contain, per source system, read from the files."""
    ids: dict[str, set[str]] = defaultdict(set)
    for path in export_files(out):
        for row in read_rows(path):
            ids[row["source_system"]].add(row["source_id"])
    for path in sorted((out / "landing/stripe").glob("*.json")):
        for obj in json.loads(path.read_text())["data"]:
            ids["stripe"].add(obj["id"])
    for path in sorted((out / "landing/banks/bai2").glob("*.bai")):
        ids["bai2"].update(r[4] for r in bai2_records(path) if r[0] == "16")
    for path in sorted((out / "landing/banks/camt053").glob("*.xml")):
        root = ET.parse(path).getroot()
        ids["camt"].update(e.text or "" for e in root.findall(".//c:Ntry/c:AcctSvcrRef", CAMT_NS))
    for path in sorted((out / "landing/banks/mt940").glob("*.sta")):
        ids["mt940"].update(re.findall(r"^:61:.*//(\S+)$", path.read_text(), re.M))
    for path in sorted((out / "landing/lockbox").glob("*.txt")):
        header = None
        for line in path.read_text().splitlines():
            if line[0] == "5":
                header = (line[7:14], line[14:20])
            elif line[0] == "6":
                assert header is not None
                deposit = date(2000 + int(header[1][:2]), int(header[1][2:4]), int(header[1][4:]))
                ids["lockbox"].add(
                    lockbox_item_id(header[0], deposit, int(line[1:4]), int(line[4:7]))
                )
    return ids


def test_truth_names_only_records_that_exist(out: Path) -> None:
    ids = generated_ids(out)
    named = 0
    for name in ("expected_matches.csv", "expected_exceptions.csv", "planted_noise.csv"):
        for row in read_rows(out / "truth" / name):
            assert row["source_id"] in ids[row["source_system"]], (name, row)
            named += 1
    assert named > 500


def test_truth_covers_all_workflows_and_uses_records_once(out: Path) -> None:
    rows = read_rows(out / "truth/expected_matches.csv")
    groups: dict[tuple[str, str], dict[str, list[tuple[str, str, str]]]] = defaultdict(
        lambda: {"left": [], "right": []}
    )
    for row in rows:
        groups[(row["workflow"], row["group_id"])][row["side"]].append(
            (row["record_type"], row["source_system"], row["source_id"])
        )
    workflows = {w for w, _ in groups}
    assert workflows == {
        "cash_application", "bank_reconciliation", "processor_settlement", "three_way_match",
        "payroll_to_ledger",
    }  # fmt: skip
    used: set[tuple[str, str, tuple[str, str, str]]] = set()
    for (workflow, group_id), sides in groups.items():
        assert sides["left"] and sides["right"], group_id
        for side in ("left", "right"):
            for ref in sides[side]:
                key = (workflow, side, ref)
                assert key not in used, key
                used.add(key)
    multi = [g for (w, g), s in groups.items() if w == "cash_application" and len(s["right"]) > 1]
    assert multi, "a payment covering several invoices"
    lockbox_deposits = [
        s for (w, _), s in groups.items() if w == "bank_reconciliation" and len(s["right"]) > 1
    ]
    assert lockbox_deposits, "a lockbox deposit reconciles to several GL receipts"


def test_every_noise_type_is_planted_and_explained(out: Path) -> None:
    noise = read_rows(out / "truth/planted_noise.csv")
    planted = {row["noise_type"] for row in noise}
    assert set(REQUIRED_NOISE_TYPES) <= planted
    assert all(row["detail"] for row in noise)
    exceptions = {
        (row["exception_type"], row["source_id"])
        for row in read_rows(out / "truth/expected_exceptions.csv")
    }
    expected_for = {
        "duplicate_payment": "duplicate_payment",
        "duplicate_invoice": "duplicate_invoice",
        "unknown_vendor": "unknown_vendor",
        "missing_reference": "missing_reference",
        "short_pay_beyond_tolerance": "amount_variance",
        "invalid_cost_center": "invalid_cost_center",
        "missing_cost_center": "invalid_cost_center",
        "three_way_price_variance": "three_way_variance",
        "three_way_quantity_variance": "three_way_variance",
        "payout_after_window": "settlement_timing",
        "bank_fee_charge": "unmatched_bank_transaction",
    }
    for row in noise:
        if row["noise_type"] in expected_for:
            assert (expected_for[row["noise_type"]], row["source_id"]) in exceptions, row
    matched = {row["source_id"] for row in read_rows(out / "truth/expected_matches.csv")}
    for row in noise:
        if row["noise_type"] in ("reference_typo", "reference_truncated", "partial_payment",
                                 "short_pay_within_tolerance", "bank_fee_deducted", "fx_payment",
                                 "multi_invoice_payment", "payout_delayed"):  # fmt: skip
            assert row["source_id"] in matched, row


def test_mangled_references_do_not_name_another_invoice(out: Path) -> None:
    numbers = {
        r["invoice_number"]
        for p in sorted((out / "landing/erp").glob("invoices_*.csv"))
        for r in read_rows(p)
    }
    mangled = [
        re.fullmatch(r"remitted '([^']+)' for (\S+)", row["detail"])
        for row in read_rows(out / "truth/planted_noise.csv")
        if row["noise_type"] in ("reference_typo", "reference_truncated")
    ]
    assert len(mangled) >= 2
    for match in mangled:
        assert match is not None
        remitted, meant = match.groups()
        assert meant in numbers and remitted not in numbers


def test_unknown_references_are_kept_not_dropped(out: Path) -> None:
    customers = {r["customer_id"] for r in read_rows(out / "landing/erp/customers_20261026.csv")}
    vendors = {r["vendor_id"] for r in read_rows(out / "landing/erp/vendors_20261026.csv")}
    invoices = [
        r for p in sorted((out / "landing/erp").glob("invoices_*.csv")) for r in read_rows(p)
    ]
    bills = [r for p in sorted((out / "landing/erp").glob("bills_*.csv")) for r in read_rows(p)]
    assert [i for i in invoices if i["customer_id"] not in customers]
    assert [b for b in bills if b["vendor_id"] not in vendors]
    numbers = [i["invoice_number"] for i in invoices]
    assert len(numbers) != len(set(numbers)), "the re-sent duplicate invoice number"


# ---- the parsers being written next to this generator ---------------------------------------


@pytest.mark.parametrize(
    ("module", "folder"),
    [
        ("bai2", "banks/bai2"),
        ("camt", "banks/camt053"),
        ("mt940", "banks/mt940"),
        ("lockbox", "lockbox"),
    ],
)
def test_generated_bank_files_pass_the_parsers(out: Path, module: str, folder: str) -> None:
    parser = pytest.importorskip(f"finance_pipeline.formats.{module}")
    files = sorted((out / "landing" / folder).iterdir())
    assert len(files) == 5
    for path in files:
        parsed = parser.parse(path.read_bytes(), path.name)
        assert parsed.ok, (path.name, parsed.errors, [c.detail for c in parsed.failed_checks()])
        assert parsed.statements and all(s.entries for s in parsed.statements)
