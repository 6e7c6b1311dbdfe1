"""The ``obscore`` view of a site that knows datasets only by their metadata (``remote``).

Reported: obscore broke snapshots holding metadata-only rows from another site. Not
reproduced (a dataset's ``run`` cannot be null: the catalog refuses such a row); this
keeps the cases that were tried, in both snapshot modes and every export format.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from catalog.obscore import FORMATS, select_obscore, write_obscore
from oods import Site, ingest
from oods.simulate import simulate_night
from replica import fetch, sync_metadata


@pytest.mark.parametrize("mode", ["memory", "lazy"])
def test_obscore_over_metadata_only_and_fetched_rows(
    site: Site, dbb: Site, tmp_path: Path, mode: str
) -> None:
    simulate_night(tmp_path / "night", detectors=2, exposures=2, seed=9, size=16)
    assert ingest(dbb, [tmp_path / "night"]).summary()["failed"] == 0
    sync_metadata(site, dbb)
    site.refresh()

    def exported() -> list[str | None]:
        snapshot = site.snapshot(mode=mode)  # type: ignore[arg-type]
        try:
            rows = select_obscore(snapshot)
        finally:
            snapshot.close()
        for fmt in FORMATS:
            write_obscore(rows, io.BytesIO(), fmt)
        return rows.column("obs_collection").to_pylist()

    assert exported() == []  # known here, bytes elsewhere: nothing to serve yet
    one = site.sql("SELECT dataset_id FROM all_files ORDER BY key LIMIT 1").fetchall()[0][0]
    assert fetch(site, dbb, [one]).ok
    assert exported() == ["LSSTCam/raw/all"]
