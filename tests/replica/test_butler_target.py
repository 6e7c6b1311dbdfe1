"""`oods replica push --to butler:REPO`: a real Butler repository as the DBB.

The repository has a SQLite registry (in tmp_path) and its datastore on the second real
MinIO server (``s3://`` root, reached by lsst-resources through ``S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from astropy.io import fits
from lsst.daf.butler import Butler

from oods import Site, ingest
from oods.simulate import simulate_night
from tests.butler_support import (
    BUTLER_OPTIONS,
    CALIB_COLLECTION,
    CALIB_RUN,
    fill_night_and_biases,
)
from tests.cli_invoke import run, site_config_file

DETECTORS = 2


def fill(site: Site, tmp_path: Path, exposures: int = 2, seed: int = 3) -> list[str]:
    """A night of raws and certified biases in ``site``; the bias ids."""
    return fill_night_and_biases(site, tmp_path, DETECTORS, exposures, seed)


def push(config: Path, repo: Path, *extra: str) -> dict[str, object]:
    result = run(config, "replica", "push", "--to", f"butler:{repo}", *BUTLER_OPTIONS, *extra)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output) if "--json" in extra else {}


def test_push_registers_ids_bytes_and_records_and_repush_moves_nothing(
    site: Site, s3_repo: Path, tmp_path: Path
) -> None:
    bias_ids = fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    checksums = dict(site.sql("SELECT dataset_id, checksum FROM files").fetchall())

    first = push(config, s3_repo, "--json")
    assert first["pushed"] == len(checksums) == 2 * DETECTORS + DETECTORS
    assert set(first["dataset_ids"]) == set(checksums)  # type: ignore[arg-type]

    butler = Butler.from_config(str(s3_repo))
    raws = butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None)
    biases = butler.query_datasets("bias", collections=CALIB_RUN, limit=None)
    assert {str(r.id) for r in [*raws, *biases]} == set(checksums)
    for ref in [*raws, *biases]:
        uri = butler.getURI(ref)
        assert uri.scheme == "s3"  # in the DBB's bucket, not on this disk
        assert hashlib.sha256(uri.read()).hexdigest() == checksums[str(ref.id)]
    assert isinstance(butler.get(raws[0]), fits.HDUList)

    # Dimension records came with them: the exposures OODS knows, with its facts.
    known = dict(site.sql("SELECT exposure, obs_id FROM exposures").fetchall())
    records = butler.query_dimension_records("exposure", instrument="LSSTCam")
    assert {r.id: r.obs_id for r in records} == known
    assert {r.id for r in butler.query_dimension_records("detector", instrument="LSSTCam")} >= set(
        range(DETECTORS)
    )
    # Certified biases arrive certified.
    (exposure_record, *_) = records
    ref = butler.find_dataset(
        "bias",
        instrument="LSSTCam",
        detector=0,
        collections=CALIB_COLLECTION,
        timespan=exposure_record.timespan,
    )
    assert ref is not None and str(ref.id) in bias_ids

    again = push(config, s3_repo, "--json")
    assert again["pushed"] == 0 and again["already"] == len(checksums)


def test_a_new_night_is_pushed_alone_beside_known_records(
    site: Site, s3_repo: Path, tmp_path: Path
) -> None:
    fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    push(config, s3_repo)
    before = set(site.sql("SELECT dataset_id FROM files").to_arrow_table().column(0).to_pylist())
    night = simulate_night(
        tmp_path / "later", detectors=DETECTORS, exposures=1, seed=9, size=16, day_obs=20250602
    )
    assert not ingest(site, night.files).failed

    dry = run(config, "replica", "push", "--to", f"butler:{s3_repo}", "--dry-run")
    assert dry.exit_code == 0 and f"would register {DETECTORS} of" in dry.output, dry.output
    report = push(config, s3_repo, "--json")
    assert report["pushed"] == DETECTORS and report["already"] == len(before)
    butler = Butler.from_config(str(s3_repo))
    raws = butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None)
    assert len(raws) == 2 * DETECTORS + DETECTORS  # two exposures, then one


def test_a_missing_repository_is_one_line(site: Site, tmp_path: Path) -> None:
    fill(site, tmp_path, exposures=1)
    config = site_config_file(site, tmp_path)
    result = run(config, "replica", "push", "--to", f"butler:{tmp_path / 'nowhere'}")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "nowhere" in line and "not a Butler repository" in line


def test_an_unreadable_file_is_one_line_and_the_rest_is_pushed(
    site: Site, s3_repo: Path, tmp_path: Path
) -> None:
    fill(site, tmp_path, exposures=1)
    config = site_config_file(site, tmp_path)
    ((lost_id, lost_key),) = site.sql(
        "SELECT dataset_id, key FROM files WHERE dataset_type = 'raw' AND detector = 0"
    ).fetchall()
    site.s3.delete_object(Bucket=site.bucket, Key=lost_key)
    result = run(config, "replica", "push", "--to", f"butler:{s3_repo}", *BUTLER_OPTIONS)
    assert result.exit_code == 4, (result.output, result.exception)
    failures = [line for line in result.output.splitlines() if "not pushed" in line]
    assert len(failures) == 1 and lost_key in failures[0]
    butler = Butler.from_config(str(s3_repo))
    held = {str(ref.id) for ref in butler.query_datasets("raw", collections="LSSTCam/raw/all")}
    assert held and lost_id not in held
    assert len(held) == DETECTORS - 1
