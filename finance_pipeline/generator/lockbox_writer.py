"""BAI lockbox transmission for US01's lockbox at First National.

Fixed-width records in the column layout of the common BAI lockbox format: 1 immediate
address header, 2 service record, per batch a 5 detail header, 6 check detail records each
followed by its 4 overflow (remittance memo) records, a 7 batch total; then an 8 lockbox
(service) total and a 9 trailer counting every record. Trailing blanks are trimmed, as
banks commonly send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from finance_pipeline.generator.ids import lockbox_text
from finance_pipeline.generator.model import Payment, World
from finance_pipeline.money import to_minor

DESTINATION = "NWUS01LBX0"  # 10 characters: the receiving company
ORIGIN = "0026009593"  # 10 digits: the bank's transit routing number
PAYEE = "NORTHWIND HOLDINGS"


def file_name(day: date) -> str:
    return f"LBX_US01_{day:%Y%m%d}.txt"


def items_on(world: World, day: date) -> list[Payment]:
    items = [p for p in world.payments if p.channel == "lockbox" and p.received_date == day]
    return sorted(items, key=lambda p: (p.lockbox_batch, p.lockbox_item))


def _check_record(item: Payment) -> str:
    assert item.check_date is not None
    return (
        f"6{item.lockbox_batch:03d}{item.lockbox_item:03d}"
        f"{to_minor(item.amount, 'USD'):010d}"
        f"{item.routing or '':>09}{item.account or '':>010}"
        f"{int(item.check_number or 0):010d}{item.check_date:%m%d%y}"
        f"{lockbox_text(item.payer_name)[:30]:<30}{PAYEE:<20}"
    ).rstrip()


def _memo_records(item: Payment) -> list[str]:
    memos = [lockbox_text(r.reference)[:30] for r in item.remittance]
    records = []
    for seq, memo in enumerate(memos, start=1):
        last = "9" if seq == len(memos) else "0"
        records.append(f"4{item.lockbox_batch:03d}{item.lockbox_item:03d}6{seq:02d}{last}{memo}")
    return records


def render_items(day: date, lockbox: str, items: Sequence[Payment]) -> str | None:
    """The lockbox file for checks deposited on ``day`` (in batch and item order), or None
    when there are none."""
    if not items:
        return None
    out = [
        f"100{DESTINATION}{ORIGIN}{day:%y%m%d}1815",
        f"2{DESTINATION}{ORIGIN}000000000040008000801",
    ]
    for batch in sorted({p.lockbox_batch for p in items}):
        checks = [p for p in items if p.lockbox_batch == batch]
        out.append(f"5{batch:03d}000{lockbox}{day:%y%m%d}{DESTINATION}{ORIGIN}")
        for item in checks:
            out.append(_check_record(item))
            out.extend(_memo_records(item))
        total = sum(to_minor(p.amount, "USD") for p in checks)
        out.append(f"7{batch:03d}000{lockbox}{day:%y%m%d}{len(checks):03d}{total:010d}")
    grand = sum(to_minor(p.amount, "USD") for p in items)
    out.append(f"8000000{lockbox}{day:%y%m%d}{len(items):04d}{grand:010d}")
    out.append(f"9{len(out) + 1:06d}")
    return "\n".join(out) + "\n"


def render(world: World, day: date) -> str | None:
    """The lockbox file for ``day``, or None when no check came in."""
    return render_items(day, world.lockbox_number, items_on(world, day))
