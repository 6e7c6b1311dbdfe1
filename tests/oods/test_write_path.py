"""The stream write path: a long-lived Site's in-memory index and kept tables, real MinIO.

A writer that keeps what it knows in memory must still see every other writer's
commits before it decides "already there", "new" or "conflict"; automatic compaction
must keep the file count bounded without losing history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

from catalog import CatalogStore
from catalog.index import CatalogIndex, TableTail
from infra.minio_server import MinioServer
from oods import Site, SiteConfig, ingest
from oods.simulate import simulate_night

REPO_ROOT = Path(__file__).resolve().parents[2]


def _twin(site: Site) -> Site:
    """Another writer of the same site, with its own index and kept tables."""
    return Site.open(site.config)


def _history_count(site: Site, table: str, where: str) -> int:
    snapshot = site.snapshot()
    try:
        [(count,)] = snapshot.sql(f"SELECT count(*) FROM {table}_history WHERE {where}").fetchall()
    finally:
        snapshot.close()
    return int(count)


def test_a_warm_index_sees_another_writers_commit_before_deciding(
    site: Site, tmp_path: Path
) -> None:
    files = simulate_night(tmp_path, detectors=3, exposures=1, seed=4, size=16).files
    assert len(ingest(site, [files[0]]).ingested) == 1  # site's index is now warm
    other = _twin(site)
    assert len(ingest(other, files[1:]).ingested) == 2

    again = ingest(site, files)  # the other writer's files are already there
    assert len(again.skipped) == 3 and not again.ingested and not again.failed
    for path in files:  # one location row each: nothing catalogued twice
        [result] = [r for r in again.results if r.path == str(path)]
        assert _history_count(site, "locations", f"dataset_id = '{result.dataset_id}'") == 1
    # The exposure was recorded once, by the first writer; the others found it.
    assert _history_count(site, "exposures", "true") == 1


def test_a_conflict_committed_by_another_writer_is_still_refused(
    site: Site, tmp_path: Path
) -> None:
    first = simulate_night(tmp_path / "a", detectors=2, exposures=1, seed=1, size=16).files
    other_bytes = simulate_night(tmp_path / "b", detectors=2, exposures=1, seed=2, size=16).files
    assert len(ingest(site, [first[0]]).ingested) == 1  # warm
    assert len(ingest(_twin(site), [first[1]]).ingested) == 1

    report = ingest(site, [other_bytes[1]])  # same data id as the twin's, other pixels
    assert [r.failure for r in report.failed] == ["ingest"]
    assert "nothing was overwritten" in str(report.failed[0].reason)
    key = report.failed[0].key
    body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(first[1].read_bytes()).digest()


def test_another_process_commit_is_seen_by_a_long_lived_writer(site: Site, tmp_path: Path) -> None:
    files = simulate_night(tmp_path, detectors=2, exposures=2, seed=5, size=16).files
    assert len(ingest(site, files[:1]).ingested) == 1
    script = textwrap.dedent(
        f"""
        import sys
        from oods import Site, SiteConfig, ingest
        config = SiteConfig(
            endpoint={site.config.endpoint!r},
            access_key={site.config.access_key!r},
            secret_key={site.config.secret_key!r},
            bucket={site.bucket!r},
        )
        report = ingest(Site.open(config), sys.argv[1:])
        sys.exit(0 if len(report.ingested) == len(sys.argv) - 1 else 1)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, files[1:])],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    again = ingest(site, files)
    assert len(again.skipped) == len(files) and not again.ingested
    assert _history_count(site, "datasets", "true") == len(files)
    assert _history_count(site, "exposures", "true") == 2


def test_the_index_reads_only_the_files_added_since_it_last_looked(
    site: Site, tmp_path: Path
) -> None:
    files = simulate_night(tmp_path, detectors=4, exposures=1, seed=6, size=16).files
    for path in files[:3]:
        ingest(site, [path])
    tail = TableTail(site.store, "locations", ["dataset_id"])
    assert tail.new_rows().num_rows == 3  # everything, the first time
    assert tail.new_rows().num_rows == 0  # nothing new
    ingest(_twin(site), files[3:])
    assert tail.new_rows().num_rows == 1  # only the other writer's commit


def test_automatic_compaction_bounds_files_and_keeps_history(site: Site, tmp_path: Path) -> None:
    store = CatalogStore(site.store.root, site.store.storage_options, auto_compact_files=4)
    site.store = store
    site.index = CatalogIndex(store)
    files = simulate_night(tmp_path, detectors=10, exposures=1, seed=8, size=16).files
    moments = []
    for path in files:
        assert len(ingest(site, [path]).ingested) == 1
        moments.append(dt.datetime.now(dt.UTC))

    locations = store.open("locations")
    assert locations is not None
    assert len(locations.file_uris()) < 4  # without compaction: one per commit, 10
    operations = [operation for _, _, operation in store.versions("locations")]
    assert "OPTIMIZE" in operations
    # Time travel still reaches every earlier state.
    for count, moment in enumerate(moments, start=1):
        old = site.snapshot(as_of=moment)
        try:
            assert old.sql("SELECT count(*) FROM locations").fetchall() == [(count,)]
        finally:
            old.close()
    # The index merged the compacted files without double counting: all skipped.
    again = ingest(site, files)
    assert len(again.skipped) == len(files) and not again.failed
    assert _history_count(site, "locations", "true") == len(files)


def test_a_store_with_kept_tables_still_pickles(site: Site, tmp_path: Path) -> None:
    files = simulate_night(tmp_path, detectors=1, exposures=1, seed=9, size=16).files
    ingest(site, files)  # the store now keeps open tables
    copy = pickle.loads(pickle.dumps(site.store))
    assert copy == site.store
    assert copy.latest_version("locations") == site.store.latest_version("locations")


def test_a_warm_writer_survives_its_server_going_away(tmp_path: Path) -> None:
    """Fault: the server is killed under a long-lived writer whose tables are kept open."""
    server = MinioServer(tmp_path / "own").start()
    try:
        config = SiteConfig(
            endpoint=server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            bucket="warm",
        )
        site = Site.open(config)
        files = simulate_night(tmp_path / "night", detectors=4, exposures=1, seed=3, size=16).files
        assert len(ingest(site, files[:2]).ingested) == 2  # index warm, tables kept
        server.kill()
        down = ingest(site, files[2:])
        assert len(down.failed) == 2 and not down.ingested
        assert all(r.reason and "\n" not in r.reason for r in down.failed)

        server.start()  # same data: the same Site carries on
        up = ingest(site, files)
        assert len(up.ingested) == 2 and len(up.skipped) == 2 and not up.failed
        assert _history_count(site, "locations", "true") == 4
    finally:
        server.stop()
