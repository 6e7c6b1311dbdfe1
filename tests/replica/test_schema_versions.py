"""Sync between sites whose catalogs are at different schema versions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from oods import Site, ingest
from replica import pull, sync_metadata


def _rewrite_datasets(dbb: Site, drop: str, extra: str | None = None) -> None:
    """Give the DBB's datasets table another version's columns (a real Delta rewrite)."""
    delta = dbb.store.open("datasets")
    assert delta is not None
    rows = delta.to_pyarrow_table().drop_columns([drop])
    if extra is not None:
        rows = rows.append_column(extra, pa.array(["from v0"] * rows.num_rows))
    dbb.store.close()
    write_deltalake(
        dbb.store.uri("datasets"),
        rows,
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=dict(dbb.store.storage_options),
    )
    dbb.refresh()


def test_shared_columns_sync_and_the_rest_is_said(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    _rewrite_datasets(dbb, drop="correction", extra="legacy_note")

    report = pull(site, dbb, "d.detector = 0")
    assert report.ok, report.lines()
    assert len(report.copied) == 5
    assert report.notes == [
        "datasets: defaulted column correction to null (not in the other site's)",
        "datasets: dropped column legacy_note (not in this site's catalog schema)",
    ]
    site.refresh()
    assert site.sql("SELECT count(*) FROM files WHERE correction IS NULL").fetchall() == [(5,)]

    metadata = sync_metadata(site, dbb)
    assert metadata.remote == 15 and len(metadata.notes) == 2


def test_a_missing_required_column_stops_cataloguing_in_one_line(
    site: Site, dbb: Site, night: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    _rewrite_datasets(dbb, drop="data_id")

    report = pull(site, dbb, "d.detector = 0")
    assert not report.ok and report.copied == [] and len(report.failed) == 5
    line = report.lines()[0]
    assert "has no column data_id" in line and "\n" not in line
    site.refresh()
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(0,)]
