"""The synthetic night and the walk-through inputs ``oods simulate --calibs`` writes."""

from __future__ import annotations

import csv
from pathlib import Path

from astropy.io import fits
from click.testing import CliRunner

from catalog import dataset_id, read_header, translate_header
from oods import Site, ingest, ingest_calibrations
from oods.cli import main
from oods.simulate import simulate_night
from oods.simulate_calibs import simulate_calibs

RUN = "LSSTCam/calib/v1"


def test_a_smaller_night_is_a_byte_identical_part_of_a_bigger_one(tmp_path: Path) -> None:
    """Issue 8.2: the demo (9 detectors) and the tour (205) wrote different bytes under
    the same dataset ids, so the tour's ingest failed 'already exists with different
    bytes'."""
    small = simulate_night(tmp_path / "small", detectors=3, exposures=4, size=8)
    big = simulate_night(tmp_path / "big", detectors=5, exposures=4, size=8)
    assert len(big.files) == 20
    for path in small.files:
        twin = tmp_path / "big" / path.relative_to(tmp_path / "small")
        assert twin.read_bytes() == path.read_bytes(), path.name
    other_seed = simulate_night(tmp_path / "other", detectors=1, exposures=4, size=8, seed=2)
    assert other_seed.files[0].read_bytes() != small.files[0].read_bytes()


def test_ingesting_the_demo_then_a_bigger_tour_night_conflicts_with_nothing(
    site: Site, tmp_path: Path
) -> None:
    simulate_night(tmp_path / "demo", detectors=2, exposures=3, size=8)
    simulate_night(tmp_path / "tour", detectors=4, exposures=3, size=8)
    assert ingest(site, [tmp_path / "demo"]).summary()["ingested"] == 6
    first = ingest(site, [tmp_path / "tour"]).summary()
    assert (first["ingested"], first["skipped"], first["failed"]) == (6, 6, 0)
    again = ingest(site, [tmp_path / "tour"]).summary()
    assert (again["ingested"], again["skipped"], again["failed"]) == (0, 12, 0)


def test_simulate_names_observation_types_as_the_catalog_does(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--out", str(tmp_path), "--detectors", "1", "--size", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "(2 bias, 1 dark, 1 flat, 6 science)" in result.output
    assert "object" not in result.output


def test_calibs_writes_every_walk_through_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path), "--calibs"])
    assert result.exit_code == 0, result.output
    for name in (
        "bias_R01_S11.fits",
        "bias_try.fits",
        "masters/flat_r/flat_r_57_R01_S11.fits",
        "masters/dark/dark_R01_S22.fits",
        "dbb_validity.csv",
        "fixed/MC_O_20250601_000007_R01_S11.fits",
        "fixes.csv",
        "corrections/LSSTCam-MC_O_20250601_000009.yaml",
    ):
        assert (tmp_path / name).is_file(), name
    assert not list(tmp_path.glob("2025*")), "--calibs writes no raws"
    header = fits.getheader(tmp_path / "masters/flat_r/flat_r_57_R01_S11.fits")
    assert (header["INSTRUME"], header["DETECTOR"], header["DETNAME"]) == ("LSSTCam", 4, "R01_S11")
    assert (header["OBSTYPE"], header["FILTER"]) == ("flat", "r_57")
    assert "EXPTIME" not in header and "OBSID" not in header
    with open(tmp_path / "dbb_validity.csv") as file:
        rows = list(csv.DictReader(file))
    assert {r["file_name"] for r in rows} == {p.name for p in tmp_path.glob("masters/dark/*")}


def test_fixed_raws_are_the_nights_raws_with_another_filter(tmp_path: Path) -> None:
    simulate_night(tmp_path / "night", detectors=9)
    simulate_calibs(tmp_path / "inputs", detectors=9)
    fixed = sorted((tmp_path / "inputs" / "fixed").iterdir())
    assert [p.name[-12:] for p in fixed] == ["R01_S10.fits", "R01_S11.fits", "R01_S12.fits"]
    for path in fixed:
        raw = tmp_path / "night" / "20250601" / "MC_O_20250601_000007" / path.name
        new, old = fits.getheader(path), fits.getheader(raw)
        changed = {k for k in old if old[k] != new.get(k)}
        assert changed == {"FILTER", "FILTBAND"}
        assert fits.getdata(path, 1).tobytes() == fits.getdata(raw, 1).tobytes()
    header = read_header(fixed[0].read_bytes(), str(fixed[0]))
    assert translate_header(header, fixed[0].name).exposure.observation_type == "science"


def test_simulated_masters_ingest_with_the_data_id_of_their_headers(
    site: Site, tmp_path: Path
) -> None:
    simulate_calibs(tmp_path, detectors=3)
    report = ingest_calibrations(site, [tmp_path / "masters" / "flat_g"], "flat", RUN)
    assert len(report.ingested) == 3 and not report.failed
    wanted = {"instrument": "LSSTCam", "detector": 1, "physical_filter": "g_6"}
    assert str(dataset_id("flat", RUN, wanted)) in {r.dataset_id for r in report.ingested}
    # The bias made elsewhere says nothing of its detector: one clear line asks for it.
    (failed,) = ingest_calibrations(site, [tmp_path / "bias_R01_S01.fits"], "bias", RUN).failed
    assert "give --instrument, --detector" in str(failed.reason)
