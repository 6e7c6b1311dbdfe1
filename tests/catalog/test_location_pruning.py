"""Location rows carry their dataset's night and exposure, so a lazy ``files`` query on
one exposure or night prunes the locations' files too, and answers as memory does."""

from __future__ import annotations

import json
from pathlib import Path

from catalog import Snapshot
from oods import Site
from tests.small_catalog import ingest_bias_master, ingest_night


def _scans(snapshot: Snapshot, query: str) -> list[dict[str, str]]:
    """The Arrow scans of ``query``'s physical plan: their projections and filters."""
    plan = snapshot.connection.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchall()[0][1]
    scans, nodes = [], json.loads(plan)
    while nodes:
        node = nodes.pop()
        nodes.extend(node["children"])
        info = node["extra_info"]
        if node["name"] == "ARROW_SCAN " or info.get("Function") == "PYTHON_ARROW_SCAN":
            scans.append({k: str(v) for k, v in info.items()})
    return scans


def _catalog(site: Site, tmp_path: Path) -> None:
    for day in (20250601, 20250602):
        ingest_night(site, tmp_path / str(day), day, seed=day % 7)
    ingest_bias_master(site, tmp_path)


def test_ingest_copies_the_datasets_night_and_exposure_to_its_locations(
    site: Site, tmp_path: Path
) -> None:
    _catalog(site, tmp_path)
    site.refresh()
    rows = site.sql(
        "SELECT d.dataset_type, l.instrument, l.day_obs, l.exposure, "
        "l.day_obs IS NOT DISTINCT FROM d.day_obs AND l.exposure IS NOT DISTINCT FROM d.exposure "
        "AND l.instrument = d.instrument FROM locations l JOIN datasets d USING (dataset_id)"
    ).fetchall()
    assert len(rows) == 9 and all(same for *_, same in rows)
    assert {r[2] for r in rows if r[0] == "raw"} == {20250601, 20250602}
    assert [r[1:4] for r in rows if r[0] == "bias"] == [("LSSTCam", None, None)]


def test_an_exposure_predicate_reaches_the_locations_scan(site: Site, tmp_path: Path) -> None:
    _catalog(site, tmp_path)
    with (
        Snapshot(site.store, mode="lazy") as lazy,
        Snapshot(site.store, mode="memory") as memory,
    ):
        exposure, day_obs = lazy.sql("SELECT max(exposure), max(day_obs) FROM files").fetchall()[0]
        for column, value in (("exposure", exposure), ("day_obs", day_obs)):
            where = f"{column} = {value}"
            for view in ("files", "all_files"):
                query = f"SELECT * FROM {view} WHERE {where}"
                scans = _scans(lazy, query)
                # datasets and locations, each in both branches of the join
                locations = [scan for scan in scans if "'key'" in scan["Projections"]]
                datasets = [scan for scan in scans if "'run'" in scan["Projections"]]
                assert (len(locations), len(datasets)) == (2, 2), scans  # two join branches
                # In both tables the complete rows are pruned by the predicate itself; the
                # others (calibrations, no exposure) to the files holding nulls as well.
                for side in (locations, datasets):
                    filters = sorted(scan.get("Filters", "") for scan in side)
                    assert filters[0] == f'("{column}" = {value})', scans
                    assert '"exposure" IS NULL' in filters[1], scans
                    assert f'"{column}" = {value}' in filters[1] or side is locations, scans
                answer = sorted(lazy.sql(query).fetchall(), key=repr)
                assert answer == sorted(memory.sql(query).fetchall(), key=repr)
                assert answer
        calibrations = "SELECT * FROM files WHERE dataset_type = 'bias'"
        assert len(lazy.sql(calibrations).fetchall()) == 1
