"""``verify``: checksums recomputed for every present file or a selection, on a real MinIO."""

from __future__ import annotations

from pathlib import Path

import pytest

from oods import Site, ingest
from oods.fsck import verify
from oods.selection import SelectionError


def _keys(site: Site, where: str = "true") -> list[str]:
    return [k for (k,) in site.sql(f"SELECT key FROM files WHERE {where} ORDER BY key").fetchall()]


def _flip_first_byte(site: Site, key: str) -> None:
    data = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
    site.s3.put_object(Bucket=site.bucket, Key=key, Body=bytes([data[0] ^ 1]) + data[1:])


def test_everything_verifies_on_a_clean_site(site: Site, night: Path) -> None:
    ingest(site, [night])
    ticks: list[int] = []
    report = verify(site, progress=ticks.append)
    assert report.ok, [p.line() for p in report.problems]
    assert report.verified == report.datasets == 20
    assert sum(ticks) == 20


def test_where_reads_only_the_selection(site: Site, night: Path) -> None:
    ingest(site, [night])
    outside, inside = _keys(site, "detector = 0")[0], _keys(site, "detector = 1")[0]
    _flip_first_byte(site, outside)
    _flip_first_byte(site, inside)

    report = verify(site, "detector = 1")

    assert report.verified == 5
    assert [(p.kind, p.key) for p in report.problems] == [("corrupt", inside)]
    assert "sha256" in report.problems[0].line()


def test_missing_and_truncated_objects_and_unknown_ids(site: Site, night: Path) -> None:
    ingest(site, [night])
    rows = site.sql("SELECT dataset_id, key FROM files ORDER BY key LIMIT 3").fetchall()
    (gone_id, gone), (short_id, short), (fine_id, _) = rows
    site.s3.delete_object(Bucket=site.bucket, Key=gone)
    site.s3.put_object(Bucket=site.bucket, Key=short, Body=b"short")
    unknown = "00000000-0000-5000-8000-000000000000"

    report = verify(site, dataset_ids=[gone_id, short_id, fine_id, unknown])

    assert report.verified == 3
    assert {(p.kind, p.key) for p in report.problems} == {
        ("missing", gone),
        ("size", short),
        ("unknown", unknown),
    }
    assert report.summary()["unknown"] == 1


def test_bad_where_is_a_one_line_error(site: Site, night: Path) -> None:
    ingest(site, [night])
    with pytest.raises(SelectionError) as caught:
        verify(site, "detector = = 1")
    assert "\n" not in str(caught.value)
    assert "detector = = 1" in str(caught.value)
