"""Which business-day partition a date belongs to, for sensors' run requests."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from assets.partitions import business_days

BEFORE_START = "before_start"
NOT_YET = "not_yet"


def partition_for(day: date) -> tuple[str | None, str | None]:
    """``(partition key, None)``, or ``(None, BEFORE_START | NOT_YET)`` when there is none.

    A weekend or holiday falls in the window of the business day before it (Saturday's
    statement belongs to Friday's partition); a date past the last partition is not yet due.
    """
    zone = ZoneInfo(business_days.timezone or "UTC")
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone).timestamp()
    key = business_days.get_partition_key_for_timestamp(noon)
    first = business_days.get_first_partition_key()
    if first is None or key < first:
        return None, BEFORE_START
    last = business_days.get_last_partition_key()
    if last is None or key > last or not business_days.has_partition_key(key):
        return None, NOT_YET
    return key, None
