"""Ingest against a real MinIO: counts through SQL, idempotence, conflicts, bad input."""

from __future__ import annotations

import hashlib
import shutil
import urllib.request
from pathlib import Path

import boto3
import numpy as np
from astropy.io import fits

from oods import Site, ingest
from oods.datasets import locate
from oods.simulate import simulate_night


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_night_counts_through_sql(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path, detectors=6, exposures=5, seed=3, size=16)
    report = ingest(site, [tmp_path])
    assert report.summary()["ingested"] == 30
    assert not report.failed and not report.warnings
    assert site.sql("SELECT count(*) FROM datasets WHERE dataset_type = 'raw'").fetchall() == [
        (30,)
    ]
    assert site.sql("SELECT count(*) FROM exposures").fetchall() == [(5,)]
    per_type = dict(
        site.sql("SELECT observation_type, count(*) FROM exposures GROUP BY 1").fetchall()
    )
    butler_types = {"BIAS": "bias", "DARK": "dark", "FLAT": "flat", "OBJECT": "science"}
    assert per_type == {butler_types[k]: len(v) for k, v in night.exposures.items()}
    detectors = site.sql("SELECT DISTINCT detector FROM datasets ORDER BY 1").fetchall()
    assert [d for (d,) in detectors] == list(range(6))
    sizes = site.sql("SELECT sum(size) FROM locations WHERE state = 'present'").fetchall()
    assert sizes == [(sum(p.stat().st_size for p in night.files),)]


def test_reingest_is_a_noop(site: Site, night: Path) -> None:
    first = ingest(site, [night])
    version = site.store.open("datasets").version()
    again = ingest(site, [night])
    assert len(again.skipped) == len(first.ingested) == 20
    assert not again.ingested and not again.failed
    assert site.store.open("datasets").version() == version  # nothing committed
    assert site.sql("SELECT count(*) FROM datasets_history").fetchall() == [(20,)]


def test_conflicting_bytes_are_refused_and_nothing_overwritten(site: Site, tmp_path: Path) -> None:
    original = simulate_night(tmp_path / "a", detectors=2, exposures=1, seed=1, size=16).files
    other = simulate_night(tmp_path / "b", detectors=2, exposures=1, seed=2, size=16).files
    assert ingest(site, original).summary()["ingested"] == 2
    report = ingest(site, other)  # same exposure and detectors, other pixels
    assert len(report.failed) == 2 and not report.ingested
    for result in report.failed:
        assert result.failure == "ingest"
        assert "already exists with different bytes" in str(result.reason)
        assert "nothing was overwritten" in str(result.reason)
    for path in original:  # the stored bytes are still the first file's
        found = locate(site, exposure=2025060100001, detector=_detector_number(path))
        body = site.s3.get_object(Bucket=site.bucket, Key=found.key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == _sha256(path)


def test_same_identity_under_another_name_conflicts(site: Site, tmp_path: Path) -> None:
    files = simulate_night(tmp_path / "a", detectors=1, exposures=1, seed=1, size=16).files
    renamed = tmp_path / "renamed.fits"
    other = simulate_night(tmp_path / "b", detectors=1, exposures=1, seed=9, size=16).files
    shutil.copy(other[0], renamed)
    assert ingest(site, files).summary()["ingested"] == 1
    report = ingest(site, [renamed])
    assert [r.failure for r in report.failed] == ["ingest"]
    keys = [
        o["Key"] for o in site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/")["Contents"]
    ]
    assert keys == [locate(site, exposure=2025060100001, detector=0).key]


def _write(path: Path, header: dict[str, object], data: np.ndarray | None = None) -> Path:
    hdu = fits.PrimaryHDU(data)
    for key, value in header.items():
        hdu.header["HIERARCH " + key if " " in key else key] = value
    hdu.writeto(path)
    return path


def test_every_bad_input_gets_its_own_error_and_the_rest_goes_in(
    site: Site, tmp_path: Path
) -> None:
    good = simulate_night(tmp_path / "good", detectors=2, exposures=1, seed=1, size=16).files
    bad = tmp_path / "bad"
    bad.mkdir()
    header = dict(fits.getheader(good[0]))
    for key in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND"):
        header.pop(key, None)
    (bad / "notes.txt").write_text("not a FITS file\n")  # passed over with a note
    (bad / "notes.fits").write_text("not a FITS file\n")
    (bad / "empty.fits").write_bytes(b"")
    truncated = bad / "truncated.fits"
    truncated.write_bytes(good[0].read_bytes()[:4000])
    _write(bad / "missing_key.fits", {k: v for k, v in header.items() if k != "DAYOBS"})
    _write(bad / "test_stand.fits", {**header, "INSTRUME": "LSST-TS8"})
    _write(bad / "bad_date.fits", {**header, "DATE-END": "yesterday"})
    (bad / "dangling.fits").symlink_to(tmp_path / "nowhere.fits")
    report = ingest(site, [*good, bad, tmp_path / "does-not-exist.fits"])

    assert len(report.ingested) == 2
    reasons = {Path(r.path).name: (r.failure, r.reason) for r in report.failed}
    assert reasons["notes.fits"] == ("metadata", "not a FITS file (no SIMPLE card at the start)")
    notes = [(Path(n.path).name, n.reason) for n in report.notes]
    assert notes == [("notes.txt", "skipped: not a FITS file by name (.fits, .fit, .fts, .fz)")]
    assert reasons["empty.fits"] == ("metadata", "empty file (0 bytes)")
    assert reasons["truncated.fits"][0] == "metadata"
    assert str(reasons["truncated.fits"][1]).startswith("truncated")
    assert reasons["missing_key.fits"][0] == "metadata"
    assert "missing header DAYOBS" in str(reasons["missing_key.fits"][1])
    assert reasons["test_stand.fits"] == ("metadata", "unknown instrument 'LSST-TS8'")
    assert reasons["bad_date.fits"][0] == "metadata"
    assert "DATE-END" in str(reasons["bad_date.fits"][1])
    assert reasons["dangling.fits"][0] == "ingest"
    assert "unreadable" in str(reasons["dangling.fits"][1])
    assert reasons["does-not-exist.fits"][0] == "ingest"
    assert len(report.failed) == 8
    # Nothing of the bad files reached the bucket, and the files themselves are untouched.
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(2,)]
    assert (bad / "notes.txt").read_text() == "not a FITS file\n"


def test_file_names_never_reach_keys(site: Site, tmp_path: Path) -> None:
    files = simulate_night(tmp_path, detectors=1, exposures=1, seed=1, size=16).files
    odd = tmp_path / "..odd name;rm -rf.fits"
    shutil.copy(files[0], odd)
    report = ingest(site, [odd])
    (result,) = report.ingested
    # The key spells the data id, as the camera names the file: obs_id and detector.
    assert result.key == f"LSSTCam/raw/20250601/{files[0].parent.name}/{files[0].name}"
    assert files[0].name == f"{files[0].parent.name}_R01_S00.fits"
    location = site.sql("SELECT file_name FROM locations").fetchall()
    assert location == [(odd.name,)]  # the original name is kept in the catalog


def test_presigned_url_and_boto3_read_the_exact_bytes(site: Site, night: Path) -> None:
    ingest(site, [night])
    path = sorted(night.rglob("*.fits"))[5]
    found = locate(
        site,
        exposure=int(path.parent.name[5:13] + path.parent.name[-5:]),
        detector=_detector_number(path),
    )
    assert found.checksum == _sha256(path)
    with urllib.request.urlopen(site.presigned_url(found.key, expires=60)) as response:
        assert hashlib.sha256(response.read()).hexdigest() == _sha256(path)
    plain = boto3.client(
        "s3",
        endpoint_url=site.config.endpoint,
        aws_access_key_id=site.config.access_key,
        aws_secret_access_key=site.config.secret_key,
        region_name="us-east-1",
    )
    body = plain.get_object(Bucket=site.bucket, Key=found.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == _sha256(path)
    tags = plain.get_object_tagging(Bucket=site.bucket, Key=found.key)["TagSet"]
    assert tags == [{"Key": "oods-retention", "Value": "hold"}]


def _detector_number(path: Path) -> int:
    from catalog.translators.focalplane import LSSTCAM_DETECTORS

    name = "_".join(path.stem.split("_")[-2:])
    return next(d.detector for d in LSSTCAM_DETECTORS if d.name == name)


def test_time_travel_sees_earlier_snapshots(site: Site, tmp_path: Path) -> None:
    simulate_night(tmp_path, detectors=2, exposures=3, seed=1, size=16)
    folders = sorted((tmp_path / "20250601").iterdir())
    ingest(site, [folders[0]])
    after_first = site.store.open("locations").version()
    ingest(site, folders[1:])
    assert site.snapshot().sql("SELECT count(*) FROM datasets").fetchall() == [(6,)]
    old = site.snapshot(as_of=after_first)
    assert old.sql("SELECT count(*) FROM datasets").fetchall() == [(2,)]
    assert old.sql("SELECT count(*) FROM exposures").fetchall() == [(1,)]
    assert site.snapshot(as_of=0).sql("SELECT count(*) FROM datasets").fetchall() == [(0,)]


def test_same_identity_twice_in_one_batch(site: Site, tmp_path: Path) -> None:
    first = simulate_night(tmp_path / "a", detectors=1, exposures=1, seed=1, size=16).files[0]
    other = simulate_night(tmp_path / "b", detectors=1, exposures=1, seed=2, size=16).files[0]
    copy, rival = tmp_path / "copy.fits", tmp_path / "rival.fits"
    shutil.copy(first, copy)
    shutil.copy(other, rival)
    report = ingest(site, [first, copy, rival])
    status = {Path(r.path).name: (r.status, r.failure) for r in report.results}
    assert status == {
        first.name: ("ingested", None),
        "copy.fits": ("skipped", None),
        "rival.fits": ("failed", "ingest"),
    }
    objects = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/")["Contents"]
    assert len(objects) == 1
