"""Closing a site releases its native resources and leaves it usable."""

from __future__ import annotations

from pathlib import Path

from oods import Site, ingest


def test_a_closed_site_reopens_what_it_needs(site: Site, night: Path) -> None:
    ingest(site, [night])
    with site:
        assert site.sql("SELECT count(*) FROM files").fetchall() == [(20,)]
        snapshot = site._snapshot
    assert site._snapshot is None  # the DuckDB connection went with the block
    assert snapshot is not None and snapshot.connection is not None
    assert site.store._open.tables == {}  # no kept Delta table outlives the block
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(20,)]
    assert len(ingest(site, [night]).skipped) == 20  # the index still answers
