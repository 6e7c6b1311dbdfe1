"""`oods export` read back by the real LSST Data Butler (lsst-daf-butler from PyPI).

A night is ingested into a real MinIO site, a master bias per detector is certified,
the lot is exported with `oods export`, and imported into a fresh Butler repository;
the Butler must then know every raw by OODS's id, return its bytes, and choose the same
calibration as `oods calib find`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from astropy.io import fits
from astropy.time import Time
from lsst.daf.butler import Timespan

from catalog import dataset_id
from catalog.records import DatasetRecord, LocationRecord, to_arrow
from oods import Site
from oods.butler_export import band_of, export_for_butler
from tests.butler_support import (
    BUTLER_OPTIONS,
    CALIB_COLLECTION,
    FORMATTER,
    STORAGE_CLASS,
    assert_butler_finds_what_oods_finds,
    fill_night_and_biases,
    make_test_repo,
)
from tests.cli_invoke import run, site_config_file

DETECTORS = 3


def _fill(site: Site, tmp_path: Path) -> list[str]:
    return fill_night_and_biases(site, tmp_path, DETECTORS)


def test_export_imported_by_the_real_butler(site: Site, tmp_path: Path) -> None:
    bias_ids = _fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    out = tmp_path / "export"
    result = run(
        config,
        "export",
        "--to",
        str(out),
        *BUTLER_OPTIONS,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    raws = dict(
        site.sql("SELECT dataset_id, checksum FROM files WHERE dataset_type = 'raw'").fetchall()
    )
    assert len(raws) == 4 * DETECTORS

    butler = make_test_repo(tmp_path / "repo")
    butler.import_(filename=str(out / "export.yaml"), directory=str(out), transfer="copy")

    found = butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None)
    assert {str(ref.id) for ref in found} == set(raws)
    for ref in found:
        # The Butler reads its own copy; its bytes are the object's in the bucket.
        (path,) = [butler.getURI(ref).ospath]
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == raws[str(ref.id)]
        hdus = butler.get(ref)
        assert isinstance(hdus, fits.HDUList) and hdus[0].header["OBSID"]

    # Exposure records carry OODS's facts, and their timespans are real (not empty).
    science = site.sql(
        "SELECT exposure, obs_id, physical_filter, exposure_time, datetime_begin FROM exposures "
        "WHERE observation_type = 'science' ORDER BY exposure LIMIT 1"
    ).fetchall()
    assert science
    exposure, obs_id, physical_filter, exposure_time, begin = science[0]
    (record,) = butler.query_dimension_records("exposure", instrument="LSSTCam", exposure=exposure)
    assert (record.obs_id, record.physical_filter, record.exposure_time) == (
        obs_id,
        physical_filter,
        exposure_time,
    )
    assert (
        abs((record.timespan.begin.utc.datetime - begin.replace(tzinfo=None)).total_seconds())
        < 1e-3
    )
    assert not record.timespan.isEmpty()

    # Certified calibrations come out certified: the Butler finds what `oods calib find` finds.
    chosen = assert_butler_finds_what_oods_finds(
        config, butler, exposure, record.timespan, DETECTORS, CALIB_COLLECTION
    )
    assert chosen <= set(bias_ids)
    # Before the validity range, nothing is valid in either.
    early = Timespan(
        Time("2025-05-01T00:00:00", scale="tai"), Time("2025-05-01T00:01:00", scale="tai")
    )
    assert (
        butler.find_dataset(
            "bias", instrument="LSSTCam", detector=0, collections=CALIB_COLLECTION, timespan=early
        )
        is None
    )


def test_transfer_none_names_objects_and_selection_narrows(site: Site, tmp_path: Path) -> None:
    _fill(site, tmp_path)
    exposure = site.sql(
        "SELECT max(exposure) FROM exposures WHERE observation_type = 'science'"
    ).fetchall()[0][0]
    report = export_for_butler(
        site,
        tmp_path / "out",
        f"exposure = {exposure} AND observation_type = 'science'",
        transfer="none",
    )
    assert report.datasets == {"raw": DETECTORS} and report.exposures == 1
    assert report.files_copied == 0 and not report.failed
    assert not list((tmp_path / "out").rglob("*.fits"))  # nothing downloaded
    document = yaml.load((tmp_path / "out" / "export.yaml").read_text(), Loader=_ButlerTags)
    (datasets,) = [d for d in document["data"] if d["type"] == "dataset"]
    keys = set(site.sql(f"SELECT key FROM files WHERE exposure = {exposure}").fetchall())
    assert {r["path"] for r in datasets["records"]} == {f"s3://{site.bucket}/{k}" for (k,) in keys}
    assert all(
        r["formatter"] == "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter"
        for r in datasets["records"]
    )
    assert not [d for d in document["data"] if d["type"] == "associations"]


def test_transfer_none_is_read_by_the_butler_from_the_bucket(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``direct`` import keeps the objects where they are: the Butler reads them from
    the site's MinIO (lsst-resources takes the endpoint from ``S3_ENDPOINT_URL``)."""
    _fill(site, tmp_path)
    out = tmp_path / "out"
    options = {"formatter": FORMATTER, "storage_classes": {"raw": STORAGE_CLASS}}
    export_for_butler(site, out, "dataset_type = 'raw'", transfer="none", **options)
    monkeypatch.setenv("S3_ENDPOINT_URL", site.config.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", site.config.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", site.config.secret_key)
    butler = make_test_repo(tmp_path / "repo")
    butler.import_(filename=str(out / "export.yaml"), directory=str(out), transfer="direct")
    files = dict(
        site.sql("SELECT dataset_id, key FROM files WHERE dataset_type = 'raw'").fetchall()
    )
    refs = butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None)
    assert {str(ref.id) for ref in refs} == set(files)
    for ref in refs[:2]:
        assert str(butler.getURI(ref)) == f"s3://{site.bucket}/{files[str(ref.id)]}"
        assert butler.get(ref)[0].header["OBSID"]


def test_a_missing_object_is_named_and_the_rest_exported(site: Site, tmp_path: Path) -> None:
    _fill(site, tmp_path)
    ((key,),) = site.sql(
        "SELECT key FROM files WHERE dataset_type = 'raw' ORDER BY key LIMIT 1"
    ).fetchall()
    site.s3.delete_object(Bucket=site.bucket, Key=key)
    config = site_config_file(site, tmp_path)
    result = run(config, "export", "--where", "dataset_type = 'raw'", "--to", str(tmp_path / "o"))
    assert result.exit_code == 4, result.output
    assert f"{key}: not exported:" in result.output and "Traceback" not in result.output
    document = yaml.load((tmp_path / "o" / "export.yaml").read_text(), Loader=_ButlerTags)
    paths = [r["path"] for d in document["data"] if d["type"] == "dataset" for r in d["records"]]
    assert len(paths) == 4 * DETECTORS - 1 and key not in paths
    assert all((tmp_path / "o" / p).is_file() for p in paths)


def test_a_raw_without_exposure_record_is_named_not_exported(site: Site, tmp_path: Path) -> None:
    # The Butler would refuse the whole import for one dataset whose exposure it does
    # not know: such a raw (written here straight into the real tables) is left out.
    _fill(site, tmp_path)
    ((key, size, checksum),) = site.sql(
        "SELECT key, size, checksum FROM files WHERE dataset_type = 'raw' LIMIT 1"
    ).fetchall()
    data_id = {"instrument": "LSSTCam", "exposure": 2025060199999, "detector": 0}
    orphan = str(dataset_id("raw", "LSSTCam/raw/all", data_id))
    now = dt.datetime.now(dt.UTC)
    record = DatasetRecord(
        orphan,
        "raw",
        "LSSTCam/raw/all",
        "LSSTCam",
        json.dumps(data_id, sort_keys=True),
        now,
        now,
        exposure=2025060199999,
        detector=0,
        dataset_filter="r_57",
        day_obs=20250601,
    )
    site.store.append("datasets", to_arrow([record], DatasetRecord))
    location = LocationRecord(
        orphan,
        record.instrument,
        record.day_obs,
        record.exposure,
        key,
        size,
        checksum,
        "orphan.fits",
        "present",
        now,
    )
    site.store.append("locations", to_arrow([location], LocationRecord))
    site.refresh()
    report = export_for_butler(
        site,
        tmp_path / "out",
        "dataset_type = 'raw'",
        transfer="copy",
        formatter=FORMATTER,
        storage_classes={"raw": STORAGE_CLASS},
    )
    assert report.failed == [(key, "exposure 2025060199999 has no exposure record in the catalog")]
    assert report.datasets == {"raw": 4 * DETECTORS}
    butler = make_test_repo(tmp_path / "repo")
    out = tmp_path / "out"
    butler.import_(filename=str(out / "export.yaml"), directory=str(out), transfer="copy")
    found = butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None)
    assert len(found) == 4 * DETECTORS and orphan not in {str(ref.id) for ref in found}


def test_a_bad_predicate_is_one_line(site: Site, tmp_path: Path) -> None:
    _fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    result = run(config, "export", "--where", "no_such_column = 1", "--to", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "no_such_column" in result.output and len(result.output.strip().splitlines()) == 1
    result = run(config, "export", "--storage-class", "raw", "--to", str(tmp_path / "o"))
    assert result.exit_code == 2 and "TYPE=CLASS" in result.output
    assert not (tmp_path / "o").exists()  # nothing written before the usage error
    result = run(config, "export", "--where", "false", "--to", str(tmp_path / "e"), "--json")
    assert result.exit_code == 0 and json.loads(result.output)["datasets"] == 0
    document = yaml.load((tmp_path / "e" / "export.yaml").read_text(), Loader=_ButlerTags)
    assert document["data"] == []


def test_bands_follow_obs_lsst_names() -> None:
    assert band_of("r_57") == "r"
    assert band_of("SDSSr_65mm~empty") == "r"
    assert band_of("empty~SDSSg_65mm") == "g"
    assert band_of("empty") == "white"
    assert band_of("ph_5") == "ph_5"


class _ButlerTags(yaml.SafeLoader):
    """Reads the Butler's tags back as plain values, to inspect an export here."""


_ButlerTags.add_multi_constructor(
    "!",
    lambda loader, suffix, node: loader.construct_object(
        yaml.ScalarNode("tag:yaml.org,2002:str", node.value)
        if isinstance(node, yaml.ScalarNode)
        else yaml.MappingNode("tag:yaml.org,2002:map", node.value)
    ),
)
