"""The ``obscore`` view of every snapshot and `oods obscore`, against a real MinIO site."""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.request
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.time import Time

from catalog.obscore import BAND_SQL
from oods import Site, ingest, ingest_calibrations
from oods.butler_export import band_of
from oods.simulate import simulate_night
from tests.cli_invoke import run, site_config_file

DETECTORS = 2


def _fill(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path / "night", detectors=DETECTORS, exposures=4, seed=5, size=16)
    assert not ingest(site, night.files).failed
    path = tmp_path / "bias.fits"
    fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32)).writeto(path)
    report = ingest_calibrations(
        site, [path], "bias", "LSSTCam/calib/1", instrument="LSSTCam", detector=0
    )
    assert report.ingested
    site.refresh()


def test_the_view_describes_every_present_file(site: Site, tmp_path: Path) -> None:
    _fill(site, tmp_path)
    rows = site.sql(
        "SELECT o.dataset_id, o.calib_level, o.obs_id, o.access_url, o.t_min, o.t_max, "
        "o.t_exptime, o.s_ra, o.em_filter_name, o.em_min, o.facility_name, "
        "o.instrument_name, e.datetime_begin, e.datetime_end, e.tracking_ra, e.obs_id, "
        "f.dataset_filter, f.key, f.checksum "
        "FROM obscore o JOIN files f USING (dataset_id) "
        "LEFT JOIN exposures e ON e.instrument = f.instrument AND e.exposure = f.exposure"
    ).fetchall()
    assert len(rows) == 4 * DETECTORS + 1
    (bias,) = [r for r in rows if r[1] == 2]
    assert bias[2] == bias[0] and bias[4] is None  # no exposure: id and no times
    science = [r for r in rows if r[1] == 1 and r[8] not in (None, "white")]
    assert science
    for row in science:
        (
            _,
            _,
            obs_id,
            url,
            t_min,
            t_max,
            exptime,
            s_ra,
            band,
            em_min,
            facility,
            instrument,
            begin,
            end,
            tracking_ra,
            exposure_obs_id,
            physical_filter,
            key,
            checksum,
        ) = row
        assert obs_id == exposure_obs_id and s_ra == tracking_ra
        assert abs(t_min - Time(begin).mjd) < 1e-8 and abs(t_max - Time(end).mjd) < 1e-8
        assert t_max > t_min and exptime > 0
        assert band == band_of(physical_filter) and em_min is not None and em_min < 1.1e-6
        assert (facility, instrument) == ("Rubin:Simonyi", "LSSTCam")
        assert url == f"s3://{site.bucket}/{key}"
        body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == checksum


def test_cli_formats_and_presigned_urls(site: Site, tmp_path: Path) -> None:
    _fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    listed = run(config, "obscore", "--where", "calib_level = 1")
    assert listed.exit_code == 0, listed.output
    table = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert len(table) == 4 * DETECTORS and {r["calib_level"] for r in table} == {"1"}

    out = tmp_path / "raws.parquet"
    assert run(config, "obscore", "--format", "parquet", "-o", str(out)).exit_code == 0
    assert pq.read_table(out).num_rows == 4 * DETECTORS + 1

    vot = tmp_path / "raws.vot"
    made = run(
        config,
        "obscore",
        "--format",
        "votable",
        "-o",
        str(vot),
        "--presign",
        "600",
        "--where",
        "calib_level = 1",
    )
    assert made.exit_code == 0, made.output
    votable = parse_single_table(str(vot)).to_table()
    assert len(votable) == 4 * DETECTORS
    assert str(votable["t_min"].unit) == "d" and str(votable["s_ra"].unit) == "deg"
    url = str(votable["access_url"][0])
    assert url.startswith("http")
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
    ((checksum,),) = site.sql(
        "SELECT checksum FROM files WHERE key = $k", {"k": str(votable["key"][0])}
    ).fetchall()
    assert hashlib.sha256(body).hexdigest() == checksum


def test_binary_formats_need_a_file_and_bad_predicates_are_one_line(
    site: Site, tmp_path: Path
) -> None:
    _fill(site, tmp_path)
    config = site_config_file(site, tmp_path)
    result = run(config, "obscore", "--format", "votable")
    assert result.exit_code == 2 and "--output" in result.output
    result = run(config, "obscore", "--where", "nope = 1")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "physical_filter",
    ["r_57", "i_39", "SDSSr_65mm~empty", "empty~SDSSg_65mm", "empty", "ph_5", "y_10"],
)
def test_the_sql_band_agrees_with_the_export(physical_filter: str) -> None:
    query = "SELECT " + BAND_SQL.format(f="$f")
    ((band,),) = duckdb.sql(query, params={"f": physical_filter}).fetchall()
    assert band == band_of(physical_filter)
