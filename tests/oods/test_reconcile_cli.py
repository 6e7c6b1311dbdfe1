"""The reported defect, end to end on the command line: an object deleted behind the
catalog's back is not offered by ls/url/get once reconciled, and ingesting it again
restores it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from oods import Site, ingest
from tests.cli_invoke import ok, run, site_config_file

pytestmark = pytest.mark.usefixtures("clean_env")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_deleted_object_is_hidden_then_restored(site: Site, night: Path, tmp_path: Path) -> None:
    config = site_config_file(site, tmp_path)
    ingest(site, [night])
    ((dataset_id, key, exposure, detector),) = site.sql(
        "SELECT dataset_id, key, exposure, detector FROM files ORDER BY key LIMIT 1"
    ).fetchall()
    link = ok(config, "url", dataset_id).output.strip()
    assert _status(link) == 200
    site.s3.delete_object(Bucket=site.bucket, Key=key)
    assert _status(link) == 404  # the defect: the catalog still hands this out

    dry = ok(config, "reconcile", "--dry-run")
    assert f"{key} (dataset {dataset_id}): missing" in dry.output
    assert "would fix 1 missing" in dry.output
    assert dataset_id in ok(config, "ls", "--format", "plain").output  # nothing changed

    done = ok(config, "reconcile", "--json")
    report = json.loads(done.output)
    assert (report["missing"], report["adopted"], report["unusable"]) == (1, 0, 0)
    assert report["findings"][0]["dataset_id"] == dataset_id

    assert dataset_id not in ok(config, "ls", "--format", "plain").output
    listed = json.loads(ok(config, "ls", "--all", "--format", "json").output)
    states = {row["dataset_id"]: row["state"] for row in listed}
    assert states[dataset_id] == "missing" and len(states) == 20
    assert set(states.values()) == {"present", "missing"}

    for args in (
        ("url", dataset_id),
        ("url", "--exposure", str(exposure), "--detector", str(detector)),
    ):
        refused = run(config, *args)
        assert refused.exit_code == 1
        assert "not present here: missing" in refused.output
        assert "ingest the file again" in refused.output
        assert "http" not in refused.output
    fetched = run(config, "get", dataset_id, "--to", str(tmp_path / "got"))
    assert fetched.exit_code == 4 and not (tmp_path / "got" / key).exists()
    assert "not present here: missing" in fetched.output
    assert ok(config, "fsck").output.endswith("no problems\n")

    restored = ok(config, "ingest", str(night))
    assert "ingested 1, skipped 19" in restored.output
    assert _status(ok(config, "url", dataset_id).output.strip()) == 200
    ok(config, "get", dataset_id, "--to", str(tmp_path / "got"))
    assert (tmp_path / "got" / key).stat().st_size > 0
    assert "0 missing" in ok(config, "reconcile").output
    assert ok(config, "fsck", "--full").output.endswith("no problems\n")


def test_unusable_orphan_exits_4_with_one_line(site: Site, night: Path, tmp_path: Path) -> None:
    config = site_config_file(site, tmp_path)
    ingest(site, [night])
    site.s3.put_object(Bucket=site.bucket, Key="LSSTCam/raw/stray.fits", Body=b"x")
    result = run(config, "reconcile")
    assert result.exit_code == 4
    lines = [line for line in result.output.splitlines() if "stray" in line]
    assert lines == [
        "LSSTCam/raw/stray.fits: unusable: not stored by OODS "
        "(no dataset-id/sha256/run metadata); ingest the file instead"
    ]
    assert "Traceback" not in result.output
