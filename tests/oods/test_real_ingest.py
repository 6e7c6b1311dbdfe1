"""Real camera headers through the normal ingest path (real MinIO): the catalog's
exposure records and data ids equal the Butler's translation in expected.json."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import pytest

from catalog import DetectorRecord, ExposureRecord, Translation, dataset_id
from catalog.translators.focalplane import COMCAM_DETECTORS, LATISS_DETECTORS, LSSTCAM_DETECTORS
from infra.minio_server import MinioServer
from oods import Site, SiteConfig, ingest
from tests.catalog.corpus import corpus_files, load_expected, write_corpus_fits
from tests.catalog.test_real_headers import FIELD_MAP, values_match

LAYOUTS = {"LSSTCam": LSSTCAM_DETECTORS, "LSSTComCam": COMCAM_DETECTORS, "LATISS": LATISS_DETECTORS}
#: Not in the catalog: a detector's serial is a camera-hardware fact, not a data id.
NOT_CATALOGUED = {"detector_serial"}


@pytest.fixture
def corpus_night(tmp_path: Path) -> dict[str, Path]:
    return {f.name: write_corpus_fits(f, tmp_path / f"{f.stem}.fits") for f in corpus_files()}


def _catalogued(site: Site, path: Path) -> tuple[Translation, str, dict[str, object]]:
    """The translation as the catalog holds it, the dataset id and the data id."""
    row = site.sql(
        "SELECT d.dataset_id, d.data_id, e.* FROM datasets d "
        "JOIN exposures e USING (instrument, exposure) JOIN locations l USING (dataset_id) "
        "WHERE l.file_name = $name",
        {"name": path.name},
    )
    (values,) = row.fetchall()
    record = dict(zip(row.columns, values, strict=True))
    fields = {f.name for f in dataclasses.fields(ExposureRecord)}
    exposure = ExposureRecord(**{k: v for k, v in record.items() if k in fields})
    data_id = json.loads(record["data_id"])
    detector: DetectorRecord = LAYOUTS[exposure.instrument][data_id["detector"]]
    return Translation(exposure, detector), record["dataset_id"], data_id


def test_real_headers_ingest_as_the_butler_translates_them(
    site: Site, corpus_night: dict[str, Path]
) -> None:
    report = ingest(site, corpus_night.values())
    assert not report.failed, [r.line() for r in report.failed]
    assert len(report.ingested) == len(corpus_night) == 7
    compared = 0
    for name, expected in load_expected().items():
        translation, got_id, data_id = _catalogued(site, corpus_night[name])
        assert data_id == {
            "instrument": expected["instrument"],
            "exposure": expected["exposure_id"],
            "detector": expected["detector_num"],
        }
        run = f"{expected['instrument']}/raw/all"
        assert got_id == str(dataset_id("raw", run, data_id))
        for field, value in expected.items():
            if field in FIELD_MAP and field not in NOT_CATALOGUED:
                assert values_match(value, FIELD_MAP[field](translation)), (name, field)
                compared += 1
    assert compared > 150
    lsstcam = _catalogued(site, corpus_night["lsstCam-MC_O_20250415_000060_R01_S01.yaml"])
    assert lsstcam[1] == str(uuid.UUID("c900ca45-8346-53d7-b43f-af5d7c87bae7"))


def _site_with_corrections(
    minio: MinioServer, tmp_path: Path, bucket: str, files: dict[str, str]
) -> Site:
    folder = tmp_path / "corrections"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    config = SiteConfig(
        endpoint=minio.endpoint,
        access_key=minio.access_key,
        secret_key=minio.secret_key,
        bucket=bucket,
        corrections=folder,
    )
    return Site.open(config)


def test_header_corrections_apply_at_ingest_and_are_recorded(
    minio: MinioServer,
    corpus_night: dict[str, Path],
    tmp_path: Path,
) -> None:
    corrections = {
        "LSSTCam-MC_O_20250415_000060.yaml": "FILTER: r_57\nFILTBAND: r\n",
        "README.txt": "not a correction\n",
    }
    site = _site_with_corrections(minio, tmp_path, "corrected", corrections)
    report = ingest(site, corpus_night.values())
    assert len(report.ingested) == 7
    rows = site.sql(
        "SELECT obs_id, physical_filter, corrected_cards FROM exposures "
        "WHERE corrected_cards IS NOT NULL"
    ).fetchall()
    assert rows == [("MC_O_20250415_000060", "r_57", "FILTER,FILTBAND")]
    # The file's bytes are unchanged: the correction lives in the catalog only.
    key = site.sql(
        "SELECT key FROM locations l JOIN datasets d USING (dataset_id) "
        "WHERE d.exposure = 2025041500060"
    ).fetchall()[0][0]
    body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
    path = corpus_night["lsstCam-MC_O_20250415_000060_R01_S01.yaml"]
    assert body == path.read_bytes()


def test_a_broken_correction_file_is_a_metadata_failure_naming_it(
    minio: MinioServer,
    corpus_night: dict[str, Path],
    tmp_path: Path,
) -> None:
    broken = {"LATISS-AT_O_20220405_000348.yaml": "- just\n- a list\n"}
    site = _site_with_corrections(minio, tmp_path, "broken-corr", broken)
    report = ingest(site, corpus_night.values())
    assert len(report.ingested) == 6
    (failed,) = report.failed
    assert failed.failure == "metadata"
    assert "LATISS-AT_O_20220405_000348.yaml" in str(failed.reason)
