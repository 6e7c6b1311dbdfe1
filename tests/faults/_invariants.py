"""What must hold after any fault, once the ingest has been run again.

Every input is either in the catalog exactly once, with the bytes it had on disk
(checksum verified against the object itself), or reported failed with its file still
in place; and ``fsck --full`` finds no disagreement between catalog and bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from click.testing import CliRunner

from oods import Site
from oods.cli import main as oods_command
from oods.fsck import fsck

from ..conftest import OODS_VARIABLES


def sha256_of(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def data_objects(site: Site) -> list[str]:
    """Keys of the bucket's data objects (the catalog's own prefix left out)."""
    prefix = site.config.catalog_prefix.strip("/") + "/"
    keys: list[str] = []
    for page in site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket):
        keys += [o["Key"] for o in page.get("Contents", []) if not o["Key"].startswith(prefix)]
    return keys


def catalog_commits(site: Site, table: str) -> int:
    """How many commits the table's Delta log holds (version 0, its creation, included)."""
    prefix = f"{site.config.catalog_prefix.strip('/')}/{table}/_delta_log/"
    pages = site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket, Prefix=prefix)
    return sum(1 for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".json"))


def assert_fsck_clean(site: Site) -> None:
    """``oods fsck --full`` (the command, as an operator runs it) finds nothing."""
    report = fsck(site, full=True)
    assert report.ok, "fsck --full: " + "; ".join(p.line() for p in report.problems)
    assert report.verified == report.datasets
    env: dict[str, str | None] = {name: None for name in OODS_VARIABLES}
    env.update(
        OODS_ENDPOINT=site.config.endpoint,
        OODS_BUCKET=site.bucket,
        OODS_ACCESS_KEY=site.config.access_key,
        OODS_SECRET_KEY=site.config.secret_key,
    )
    result = CliRunner().invoke(oods_command, ["fsck", "--full"], env=env)
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output, result.output


def assert_each_input_once_or_reported(
    site: Site, inputs: Sequence[Path], reported: Iterable[str] = (), check_fsck: bool = True
) -> None:
    """Each input in the catalog once with its own bytes, or among ``reported`` paths;
    then (``check_fsck``) catalog and bucket agree, every object's checksum verified.

    Every input must still be where it was: faults never consume or move a source file.
    """
    site.refresh()
    reported = set(reported)
    counts = dict(site.sql("SELECT checksum, count(*) FROM files GROUP BY checksum").fetchall())
    expected = 0
    for path in inputs:
        assert path.exists(), f"{path}: the input file is gone"
        copies = counts.get(sha256_of(path), 0)
        if str(path) in reported:
            assert copies <= 1, f"{path}: reported failed but catalogued {copies} times"
            expected += copies
        else:
            assert copies == 1, f"{path}: catalogued {copies} times, expected once"
            expected += 1
    assert sum(counts.values()) == expected, "the catalog holds datasets no input explains"
    if check_fsck:
        assert_fsck_clean(site)
