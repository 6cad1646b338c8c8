from datetime import date
from pathlib import Path

import pytest

from finance_pipeline.archive import RawArchive, sha256_hex


def _store(archive: RawArchive, data: bytes, path: str, run: str = "r1"):
    return archive.store(
        data,
        source="bank",
        remote_path=path,
        file_name=path,
        size=len(data),
        mtime=1.0,
        run_id=run,
        business_date=date(2026, 10, 26),
    )


def test_store_is_content_addressed_and_read_only(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    arrival = _store(archive, b"01,hello/", "a.bai")
    stored = archive.object_path(sha256_hex(b"01,hello/"))
    assert stored.read_bytes() == b"01,hello/"
    assert stored.stat().st_mode & 0o222 == 0
    assert archive.read(arrival.sha256) == b"01,hello/"
    assert arrival.duplicate_of is None


def test_same_delivery_seen_again_adds_nothing(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    first = _store(archive, b"x", "a.bai", run="r1")
    again = _store(archive, b"x", "a.bai", run="r2")
    assert again == first
    assert len(archive.arrivals()) == 1


def test_same_bytes_under_another_name_is_a_duplicate_arrival(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    first = _store(archive, b"x", "a.bai")
    second = _store(archive, b"x", "copy-of-a.bai")
    assert second.duplicate_of == first.arrival_id
    assert [a.is_duplicate for a in archive.arrivals()] == [False, True]
    assert len(list((tmp_path / "objects").rglob("*"))) == 2  # one folder, one object


def test_tampered_object_is_detected(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    arrival = _store(archive, b"x", "a.bai")
    path = archive.object_path(arrival.sha256)
    path.chmod(0o644)
    path.write_bytes(b"y")
    with pytest.raises(OSError, match="does not match"):
        archive.read(arrival.sha256)


def test_status_events_latest_wins(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    archive.record_status("abc", "quarantined", "bad", "r1")
    archive.record_status("abc", "parsed", "", "r2")
    assert archive.statuses()["abc"]["status"] == "parsed"
