"""Pull subsets from a DBB on a second real MinIO server, with and without the closure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from catalog import certify
from catalog.errors import ReadOnlyQueryError
from oods import Site, ingest, put
from replica import pull, pull_plan, select_datasets
from tests.location_columns import assert_locations_copy_datasets
from tests.oods.test_calibrations import write_master

SCIENCE_DET0 = "e.observation_type = 'science' AND d.detector = 0"
_FROM = (
    "FROM datasets d JOIN exposures e ON e.instrument = d.instrument "
    f"AND e.exposure = d.exposure WHERE {SCIENCE_DET0}"
)


def _ids(site: Site, query: str) -> set[str]:
    site.refresh()
    return {row[0] for row in site.sql(query).fetchall()}


def _archive(dbb: Site, night: Path, tmp_path: Path) -> dict[str, str]:
    """The DBB's holdings: a night, and a bias -> flat chain, both certified for det 0."""
    assert ingest(dbb, [night]).summary()["failed"] == 0
    bias_raws = sorted(
        _ids(
            dbb,
            "SELECT dataset_id FROM datasets JOIN exposures USING (instrument, exposure) "
            "WHERE observation_type = 'bias' AND dataset_type = 'raw'",
        )
    )
    bias = put(
        dbb,
        write_master(tmp_path / "bias.fits", seed=1),
        "bias",
        "LSSTCam/calib/bias",
        instrument="LSSTCam",
        detector=0,
        inputs=bias_raws,
    )
    flat = put(
        dbb,
        write_master(tmp_path / "flat.fits", seed=2),
        "flat",
        "LSSTCam/calib/flat",
        instrument="LSSTCam",
        detector=0,
        physical_filter=min(_ids(dbb, f"SELECT d.dataset_filter {_FROM}")),
        inputs={str(bias.dataset_id): "bias"},
    )
    other = put(  # valid, but for detector 1 only: not in the closure of detector 0
        dbb,
        write_master(tmp_path / "bias1.fits", seed=3),
        "bias",
        "LSSTCam/calib/bias",
        instrument="LSSTCam",
        detector=1,
    )
    expired = put(  # detector 0, but its range ended before the night
        dbb,
        write_master(tmp_path / "old.fits", seed=4),
        "dark",
        "LSSTCam/calib/dark",
        instrument="LSSTCam",
        detector=0,
    )
    ids = [str(bias.dataset_id), str(flat.dataset_id), str(other.dataset_id)]
    certify(dbb.store, "LSSTCam/calib", ids)
    certify(
        dbb.store,
        "LSSTCam/calib",
        [str(expired.dataset_id)],
        end=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    return {
        "bias": str(bias.dataset_id),
        "flat": str(flat.dataset_id),
        "bias1": str(other.dataset_id),
        "old": str(expired.dataset_id),
        **{f"bias_raw{i}": r for i, r in enumerate(bias_raws)},
    }


def test_pull_with_a_predicate_brings_only_that(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    _archive(dbb, night, tmp_path)
    science = _ids(dbb, f"SELECT d.dataset_id {_FROM}")
    assert science

    report = pull(site, dbb, SCIENCE_DET0)
    assert report.ok, report.lines()
    assert {t.dataset_id for t in report.copied} == science
    assert _ids(site, "SELECT dataset_id FROM files") == science
    for t in report.copied:
        tags = site.s3.get_object_tagging(Bucket=site.bucket, Key=t.key)["TagSet"]
        assert tags == [{"Key": "oods-retention", "Value": "cache"}]
    # The exposure records came with the files: science queries work here.
    assert _ids(site, "SELECT observation_type FROM exposures") == {"science"}
    assert pull_plan(site, dbb, SCIENCE_DET0).count == 0  # again: nothing to do
    assert assert_locations_copy_datasets(site, {"present"}) == len(science)


def test_pull_with_closure_brings_the_chain_and_valid_calibrations(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    held = _archive(dbb, night, tmp_path)
    science = select_datasets(dbb, SCIENCE_DET0)
    closure = set(select_datasets(dbb, SCIENCE_DET0, closure=True))
    bias_raws = {v for k, v in held.items() if k.startswith("bias_raw")}
    assert closure == set(science) | {held["bias"], held["flat"]} | bias_raws
    assert held["bias1"] not in closure and held["old"] not in closure

    report = pull(site, dbb, SCIENCE_DET0, closure=True, retention="scratch")
    assert report.ok, report.lines()
    assert _ids(site, "SELECT dataset_id FROM files") == closure
    # Provenance and certifications arrived: the chain and the lookup work here.
    chain = _ids(site, f"SELECT input_id FROM provenance WHERE output_id = '{held['flat']}'")
    assert chain == {held["bias"]}
    assert _ids(site, f"SELECT input_id FROM provenance WHERE output_id = '{held['bias']}'") == (
        bias_raws
    )
    assert _ids(site, "SELECT dataset_id FROM calibrations WHERE state = 'certified'") == {
        held["bias"],
        held["flat"],
    }
    key = next(t.key for t in report.copied)
    tags = site.s3.get_object_tagging(Bucket=site.bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "oods-retention", "Value": "scratch"}]


def test_a_bad_predicate_is_a_clear_error_and_cannot_write(site: Site, dbb: Site) -> None:
    with pytest.raises(duckdb.Error, match="no_such_column"):
        pull_plan(site, dbb, "no_such_column = 1")
    with pytest.raises(ReadOnlyQueryError, match="the catalog is read-only"):
        pull_plan(site, dbb, "TRUE); DELETE FROM datasets; SELECT (1")
