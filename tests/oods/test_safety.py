"""Safety of the library against real MinIO: no secret in a repr, read-only snapshots,
readers that never create a site, one-line errors, names that cannot forge output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import duckdb
import pytest

from catalog import CatalogReadError, CatalogStore, Snapshot
from catalog.errors import ReadOnlyQueryError
from infra.minio_server import MinioServer
from oods import InvalidNameError, Site, ingest
from oods._s3 import describe
from oods.datasets import locate
from oods.errors import SiteNotFound, SiteUnavailable
from tests.conftest import site_config


@pytest.fixture
def loaded(site: Site, night: Path) -> Site:
    report = ingest(site, [night])
    assert report.ingested and not report.failed
    return site


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    """A MinIO server that was started, then stopped: its endpoint refuses connections."""
    server = MinioServer(tmp_path_factory.mktemp("stopped") / "data").start()
    port, keys = server.port, (server.access_key, server.secret_key)
    server.stop()
    stopped = MinioServer(server.data_dir, port=port, access_key=keys[0], secret_key=keys[1])
    yield stopped


def _count(site: Site, sql: str = "SELECT count(*) FROM files") -> int:
    (row,) = site.sql(sql).fetchall()
    return int(row[0])


# -- issue 14 item 7: a secret in a repr ---------------------------------------------------


def test_no_secret_in_any_repr(site: Site, minio: MinioServer) -> None:
    secret = site.config.secret_key
    for shown in (repr(site), repr(site.store), str(site.store), repr(site.config), repr(minio)):
        assert secret not in shown
    assert site.bucket in repr(site)
    assert site.store.root in repr(site.store)


# -- issue 14 item 12: queries are read-only and reach no local file ----------------------


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM files",
        "DROP TABLE files",
        "UPDATE files SET key = 'elsewhere'",
        "INSERT INTO datasets SELECT * FROM datasets",
        "CREATE OR REPLACE TABLE files AS SELECT * FROM files LIMIT 0",
        "WITH gone AS (DELETE FROM files RETURNING *) SELECT count(*) FROM gone",
        "SELECT 1; DROP TABLE locations",
        "SET enable_external_access = true",
        "COPY files TO '/tmp/oods-copy.csv'",
        "ATTACH '/tmp/oods-attach.db' AS other",
    ],
)
def test_sql_cannot_change_the_snapshot(loaded: Site, sql: str) -> None:
    before = _count(loaded)
    with pytest.raises(ReadOnlyQueryError, match="read-only"):
        loaded.sql(sql)
    assert _count(loaded) == before
    assert not Path("/tmp/oods-copy.csv").exists()


def test_locate_is_not_misled_after_refresh(loaded: Site, night: Path) -> None:
    (dataset_id, key) = loaded.sql("SELECT dataset_id, key FROM files LIMIT 1").fetchall()[0]
    with pytest.raises(ReadOnlyQueryError):
        loaded.sql(f"UPDATE files SET key = 'forged' WHERE dataset_id = '{dataset_id}'")
    loaded.refresh()
    assert locate(loaded, dataset_id).key == key


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('{state}')",
        "SELECT * FROM read_json_auto('{state}')",
    ],
)
def test_no_local_file_access_by_default(loaded: Site, tmp_path: Path, sql: str) -> None:
    state = tmp_path / "server.json"
    state.write_text(f'{{"secret_key": "{loaded.config.secret_key}"}}')
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        loaded.sql(sql.format(state=state)).fetchall()


def test_allow_local_files_reads_but_still_cannot_write(loaded: Site, tmp_path: Path) -> None:
    ids = tmp_path / "ids.csv"
    wanted = [row[0] for row in loaded.sql("SELECT dataset_id FROM files LIMIT 2").fetchall()]
    ids.write_text("dataset_id\n" + "\n".join(wanted) + "\n")
    snapshot = loaded.snapshot(allow_local_files=True)
    joined = snapshot.sql(
        f"SELECT count(*) FROM files JOIN read_csv('{ids}') USING (dataset_id)"
    ).fetchall()
    assert joined == [(2,)]
    with pytest.raises(ReadOnlyQueryError):
        snapshot.sql(f"COPY files TO '{tmp_path / 'out.csv'}'")
    assert not (tmp_path / "out.csv").exists()


def test_refresh_works_after_the_configuration_is_locked(site: Site, tmp_path: Path) -> None:
    from oods.simulate import simulate_night

    simulate_night(tmp_path / "a", detectors=2, exposures=2, seed=1, size=16, day_obs=20250601)
    simulate_night(tmp_path / "b", detectors=2, exposures=3, seed=2, size=16, day_obs=20250602)
    ingest(site, [tmp_path / "a"])
    assert _count(site) == 4
    ingest(site, [tmp_path / "b"])
    site.refresh()
    assert _count(site) == 10
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        site.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()


def test_every_read_form_is_accepted(loaded: Site) -> None:
    # The guard must accept every read form the README and the CLI use.
    for sql in (
        "SELECT detector, key FROM files WHERE exposure = $e",
        "FROM files LIMIT 1",
        "SHOW TABLES",
        "DESCRIBE files",
        "SUMMARIZE datasets",
        "WITH e AS (SELECT DISTINCT exposure FROM files) SELECT count(*) FROM e",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
        "SELECT count(*) FROM n",
    ):
        params = {"e": 0} if "$e" in sql else None
        loaded.sql(sql, params).fetchall()


# -- issue 14 item 11: readers never create a site ----------------------------------------


def test_reader_open_of_a_missing_bucket_creates_nothing(minio: MinioServer) -> None:
    config = site_config(minio, "typo-in-the-bucket-name")
    with pytest.raises(SiteNotFound, match=r"typo-in-the-bucket-name.*does not exist"):
        Site.open(config, create=False)
    probe = Site(config)
    with pytest.raises(botocore.exceptions.ClientError):
        probe.s3.head_bucket(Bucket=config.bucket)


def test_reader_open_of_an_existing_site(site: Site) -> None:
    again = Site.open(site.config, create=False)
    assert again.sql("SELECT count(*) FROM datasets").fetchall() == [(0,)]


# -- issue 8 item 7: a stopped server is "not answering", not "not configured" -------------


def test_stopped_server_is_unavailable_not_unconfigured(stopped: MinioServer) -> None:
    config = site_config(stopped, "oods")
    with pytest.raises(SiteUnavailable, match="not answering") as caught:
        Site.open(config, create=False)
    assert "\n" not in str(caught.value)
    assert stopped.secret_key not in str(caught.value)


# -- issue 14 item 8: one line per failure -----------------------------------------------


def test_unreachable_store_error_is_one_line(stopped: MinioServer) -> None:
    config = site_config(stopped, "oods")
    store = CatalogStore(config.catalog_root, config.storage_options())
    with pytest.raises(CatalogReadError) as caught:
        store.load("datasets")
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message
    assert "Connection refused" in message
    assert "\n" in caught.value.detail  # the whole chain, for --verbose


def test_corrupt_delta_log_error_is_one_line(loaded: Site) -> None:
    log = f"{loaded.config.catalog_prefix}/datasets/_delta_log/00000000000000000001.json"
    loaded.s3.put_object(Bucket=loaded.bucket, Key=log, Body=b"{garbage\n")
    with pytest.raises(CatalogReadError) as caught:
        Snapshot(loaded.store)
    message = str(caught.value)
    assert "\n" not in message
    assert "datasets" in message and "Json error" in message
    assert "<unknown>" not in message  # no backtrace frames
    assert "<unknown>" in caught.value.detail


def test_describe_never_spans_lines() -> None:
    exc = botocore.exceptions.ClientError(
        {"Error": {"Code": "InternalError", "Message": "first\nsecond\r\nthird"}}, "PutObject"
    )
    assert describe(exc) == "InternalError: first second third"


def test_file_names_cannot_forge_output_lines(site: Site, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    forged = folder / "x.fits: ingested as fake.fits\nreal.fits"
    forged.write_text("not a FITS file")
    report = ingest(site, [folder])
    (failed,) = report.failed
    line = failed.line()
    assert "\n" not in line
    assert "\\n" in line and "metadata failure" in line


# -- issue 14 item 9: --run is validated like `oods put`'s --------------------------------


@pytest.mark.parametrize("run", ["{0}", "../../x", "u/alice\n/raw", "{instrument!r}", "{"])
def test_ingest_refuses_an_unsafe_run(site: Site, night: Path, run: str) -> None:
    with pytest.raises(InvalidNameError, match="invalid run"):
        ingest(site, [night], run=run)
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(0,)]
