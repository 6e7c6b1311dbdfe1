"""A push in several catalog batches: rows read before the copies, committed per batch,
each row once, and only for the datasets whose copies were verified."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from oods import Site, ingest
from replica import push, push_plan


def _count(site: Site, query: str) -> int:
    return int(site.sql(query).fetchall()[0][0])


def test_batches_sharing_exposures_write_each_row_once(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    # 4 detectors an exposure, 3 datasets a batch: most exposures span two batches.
    local = Site.open(dataclasses.replace(site.config, batch_size=3))
    plan = push_plan(local, dbb)
    victim = plan.transfers[-1]  # alone in the last batch: its exposure's others are not
    body = local.s3.get_object(Bucket=local.bucket, Key=victim.key)["Body"].read()
    local.s3.put_object(Bucket=local.bucket, Key=victim.key, Body=body[::-1])

    report = push(local, dbb, release=False)
    assert [t.key for t, _ in report.failed] == [victim.key]
    assert len(report.copied) == plan.count - 1 == 19
    for query, expected in (
        ("SELECT count(*) FROM datasets_history", 19),
        ("SELECT count(DISTINCT dataset_id) FROM datasets_history", 19),
        ("SELECT count(*) FROM locations_history", 19),
        ("SELECT count(*) FROM exposures_history", 5),
        ("SELECT count(DISTINCT (instrument, exposure)) FROM exposures_history", 5),
    ):
        assert _count(dbb, query) == expected, query  # queried without a refresh: lazily fresh
    assert (
        _count(
            dbb, f"SELECT count(*) FROM datasets_history WHERE dataset_id = '{victim.dataset_id}'"
        )
        == 0
    )

    # The bytes fixed at the source, the next push commits the one left, nothing twice.
    local.s3.put_object(Bucket=local.bucket, Key=victim.key, Body=body)
    again = push(local, dbb, release=False)
    assert again.ok and [t.key for t in again.copied] == [victim.key]
    assert _count(dbb, "SELECT count(*) FROM datasets_history") == 20
    assert _count(dbb, "SELECT count(*) FROM exposures_history") == 5
