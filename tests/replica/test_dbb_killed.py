"""The DBB server killed in the middle of a push (a real SIGKILL), then restarted."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.simulate import simulate_night
from replica import push, push_plan
from tests.conftest import site_config


def test_push_resumes_after_the_dbb_is_killed_mid_push(
    site: Site, own_dbb_server: MinioServer, tmp_path: Path
) -> None:
    simulate_night(tmp_path / "night", detectors=4, exposures=10, seed=5, size=16)
    assert ingest(site, [tmp_path / "night"]).summary()["failed"] == 0
    # One transfer at a time, a catalog commit every 4: the kill lands in the second batch.
    local = Site.open(dataclasses.replace(site.config, workers=1, batch_size=4))
    dbb = Site.open(site_config(own_dbb_server, "dbb"))
    server = own_dbb_server

    seen = 0

    def kill_after_six(size: int) -> None:
        nonlocal seen
        seen += 1
        if seen == 6:
            server.kill()

    first = push(local, dbb, progress=kill_after_six, release=False)
    assert not first.ok and len(first.copied) == 4  # the first batch was committed
    assert len(first.not_done) >= 30  # the rest was not tried once the server was gone
    lines = first.lines()
    assert "a server stopped answering" in lines[-1] and len(lines) <= 2

    # Restarted on the same port and data: the next push completes, nothing duplicated.
    restarted = MinioServer(
        server.data_dir,
        port=server.port,
        access_key=server.access_key,
        secret_key=server.secret_key,
    ).start()
    try:
        _check_next_push(local, Site.open(site_config(restarted, "dbb")))
    finally:
        restarted.stop()


def _data_keys(dbb: Site) -> set[str]:
    return {
        o["Key"]
        for page in dbb.s3.get_paginator("list_objects_v2").paginate(Bucket=dbb.bucket)
        for o in page.get("Contents", [])
        if not o["Key"].startswith("_catalog/")
    }


def _check_next_push(local: Site, dbb: Site) -> None:
    assert len(_data_keys(dbb)) >= 6  # 2 of them copied, never catalogued: to be adopted
    assert push_plan(local, dbb).count == 36
    second = push(local, dbb, release=False)
    assert second.ok, second.lines()
    assert len(second.copied) == 36 and push_plan(local, dbb).count == 0

    dbb.refresh()
    per_id = dbb.sql(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM locations_history GROUP BY dataset_id)"
    ).fetchall()
    assert per_id == [(1,)]
    assert dbb.sql("SELECT count(*) FROM datasets_history").fetchall() == [(40,)]
    assert dbb.sql("SELECT count(*) FROM exposures_history").fetchall() == [(10,)]
    local_files = dict(local.sql("SELECT key, checksum FROM files").fetchall())
    remote_files = dict(dbb.sql("SELECT key, checksum FROM files").fetchall())
    assert remote_files == local_files
    assert _data_keys(dbb) == set(local_files)
    for key, checksum in remote_files.items():
        body = dbb.s3.get_object(Bucket=dbb.bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == checksum
