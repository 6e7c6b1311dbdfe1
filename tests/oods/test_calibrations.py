"""Ingest of master calibrations and outputs, and their provenance, against a real MinIO."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from catalog import (
    UnknownDatasetError,
    dataset_id,
    input_closure,
    read_header,
    translate_header,
)
from oods import IngestRejected, InvalidNameError, Site, ingest, ingest_calibrations, put
from oods.simulate import simulate_night

RUN = "LSSTCam/calib/20250601"


def write_master(path: Path, seed: int, **cards: object) -> Path:
    """A small master-calibration-like FITS file whose header names no exposure."""
    rng = np.random.default_rng(seed)
    hdu = fits.PrimaryHDU(rng.normal(size=(8, 8)).astype(np.float32))
    hdu.header["OBSTYPE"] = "bias"
    for key, value in cards.items():
        hdu.header[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path)
    return path


def _body(site: Site, key: str) -> bytes:
    return site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()


def test_masters_with_an_explicit_data_id(site: Site, tmp_path: Path) -> None:
    files = [write_master(tmp_path / f"d{d}" / "bias.fits", seed=d) for d in range(3)]
    for detector, path in enumerate(files):
        report = ingest_calibrations(
            site, [path], "bias", RUN, instrument="LSSTCam", detector=detector
        )
        (result,) = report.ingested
        expected = dataset_id("bias", RUN, {"instrument": "LSSTCam", "detector": detector})
        assert result.dataset_id == str(expected)
        assert result.key == (
            f"LSSTCam/calib/bias/{RUN}/{detector:03d}/bias_LSSTCam_{detector:03d}.fits"
        )
        assert _body(site, result.key) == path.read_bytes()
    rows = site.sql(
        "SELECT dataset_type, run, instrument, detector, dataset_filter, exposure, data_id "
        "FROM datasets ORDER BY detector"
    ).fetchall()
    assert rows[1] == (
        "bias",
        RUN,
        "LSSTCam",
        1,
        None,
        None,
        '{"detector": 1, "instrument": "LSSTCam"}',
    )
    again = ingest_calibrations(site, [files[0]], "bias", RUN, instrument="LSSTCam", detector=0)
    assert len(again.skipped) == 1 and not again.ingested
    # Another file claiming detector 0's identity is a conflict; nothing is overwritten.
    clash = ingest_calibrations(site, [files[1]], "bias", RUN, instrument="LSSTCam", detector=0)
    (failed,) = clash.failed
    assert failed.failure == "ingest" and "already exists with different bytes" in str(
        failed.reason
    )
    stored = f"LSSTCam/calib/bias/{RUN}/000/bias_LSSTCam_000.fits"
    assert _body(site, stored) == files[0].read_bytes()


def test_data_id_from_the_header_or_a_clear_failure(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path / "night", detectors=2, exposures=5, seed=4, size=16)
    flat_raw = next(p for p in night.files if "000004" in p.name)  # a flat exposure
    header = read_header(flat_raw.read_bytes(), str(flat_raw))
    band = translate_header(header, str(flat_raw)).exposure.physical_filter
    master = tmp_path / "masters" / "flat.fits"
    master.parent.mkdir()
    shutil.copy(flat_raw, master)
    bare = write_master(tmp_path / "bare" / "flat.fits", seed=1)
    report = ingest_calibrations(site, [master, bare], "flat", RUN)
    (ok,) = report.ingested
    data_id = {"instrument": "LSSTCam", "detector": 0, "physical_filter": band}
    assert ok.dataset_id == str(dataset_id("flat", RUN, data_id))
    assert ok.key == f"LSSTCam/calib/flat/{RUN}/000/{band}/flat_LSSTCam_000_{band}.fits"
    (failed,) = report.failed
    assert failed.path == str(bare) and failed.failure == "metadata"
    assert "give --instrument, --detector, --physical-filter" in str(failed.reason)
    # Explicit values win over the header's.
    report = ingest_calibrations(site, [master], "flat", RUN, detector=7, physical_filter="g_6")
    assert report.ingested[0].key == f"LSSTCam/calib/flat/{RUN}/007/g_6/flat_LSSTCam_007_g_6.fits"
    # A bias is not filter-dependent: no filter in its data id unless given.
    report = ingest_calibrations(site, [master], "bias", RUN)
    assert report.ingested[0].key == f"LSSTCam/calib/bias/{RUN}/000/bias_LSSTCam_000.fits"
    not_fits = tmp_path / "notes.fits"
    not_fits.write_text("not FITS")
    (failed,) = ingest_calibrations(site, [not_fits], "bias", RUN, detector=1).failed
    assert failed.failure == "metadata" and "not a FITS file" in str(failed.reason)


@pytest.mark.parametrize(
    ("dataset_type", "run", "physical_filter", "message"),
    [
        ("bias", "LSSTCam/../x", None, "invalid run"),
        ("bias", "/abs", None, "invalid run"),
        ("bias", "a//b", None, "invalid run"),
        ("bi as", RUN, None, "invalid dataset type"),
        ("flat", RUN, "r/57", "invalid physical filter"),
        ("raw", RUN, None, "raws are ingested with oods.ingest"),
    ],
)
def test_unsafe_names_are_refused(
    site: Site,
    tmp_path: Path,
    dataset_type: str,
    run: str,
    physical_filter: str | None,
    message: str,
) -> None:
    path = write_master(tmp_path / "m.fits", seed=1)
    with pytest.raises(InvalidNameError, match=message):
        ingest_calibrations(
            site, [path], dataset_type, run, detector=0, physical_filter=physical_filter
        )


def test_provenance_closure_over_three_levels(site: Site, tmp_path: Path) -> None:
    """raws -> master bias -> bias-corrected flat, as a commissioning job writes them."""
    night = simulate_night(tmp_path / "night", detectors=1, exposures=10, seed=2, size=16)
    assert ingest(site, [tmp_path / "night"]).summary()["failed"] == 0
    raws = dict(
        site.sql(
            "SELECT d.dataset_id, e.observation_type FROM datasets d "
            "JOIN exposures e USING (instrument, exposure)"
        ).fetchall()
    )
    bias_raws = sorted(i for i, t in raws.items() if t == "bias")
    flat_raws = sorted(i for i, t in raws.items() if t == "flat")
    assert bias_raws and flat_raws and len(night.files) == 10

    bias = put(
        site,
        write_master(tmp_path / "bias.fits", seed=1),
        "bias",
        "u/alice/bias",
        instrument="LSSTCam",
        detector=0,
        inputs=bias_raws,
    )
    flat = put(
        site,
        write_master(tmp_path / "flat.fits", seed=2),
        "flat",
        "u/alice/flat",
        instrument="LSSTCam",
        detector=0,
        physical_filter="r_57",
        inputs={bias.dataset_id: "bias", **dict.fromkeys(flat_raws, "raw")},
    )
    closure = input_closure(site.snapshot(), str(flat.dataset_id)).fetchall()
    depth = {row[0]: row[1] for row in closure}
    assert depth == {
        bias.dataset_id: 1,
        **dict.fromkeys(flat_raws, 1),
        **dict.fromkeys(bias_raws, 2),
    }
    types = {row[0]: row[2] for row in closure}
    assert types[bias.dataset_id] == "bias" and {types[r] for r in bias_raws} == {"raw"}
    site.refresh()
    roles = site.sql(
        "SELECT role, count(*) FROM provenance WHERE output_id = $id GROUP BY 1 ORDER BY 1",
        {"id": flat.dataset_id},
    ).fetchall()
    assert roles == [("bias", 1), ("raw", len(flat_raws))]
    assert input_closure(site.snapshot(), bias_raws[0]).fetchall() == []

    # Putting the same file again is a no-op; an unknown input refuses before any upload.
    again = put(
        site,
        tmp_path / "bias.fits",
        "bias",
        "u/alice/bias",
        instrument="LSSTCam",
        detector=0,
        inputs=bias_raws,
    )
    assert again.status == "skipped"
    unknown = "00000000-0000-5000-8000-000000000000"
    other = write_master(tmp_path / "x.fits", seed=3)
    with pytest.raises(UnknownDatasetError, match=unknown):
        put(site, other, "bias", "u/bob/bias", instrument="LSSTCam", detector=0, inputs=[unknown])
    listing = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/calib/")
    assert not any("u/bob" in o["Key"] for o in listing["Contents"])
    bad = tmp_path / "bad.fits"
    bad.write_text("nope")
    with pytest.raises(IngestRejected, match="not a FITS file"):
        put(site, bad, "bias", "u/alice/bias", instrument="LSSTCam", detector=1)


def test_a_corrected_raw_filter_changes_which_flat_it_gets(site: Site, tmp_path: Path) -> None:
    from catalog import certify, find_calibrations
    from oods import update_records

    simulate_night(tmp_path / "night", detectors=2, exposures=5, seed=3, size=8)
    ingest(site, [tmp_path / "night"])
    [(exposure, wrong)] = site.sql(
        "SELECT exposure, physical_filter FROM exposures WHERE observation_type = 'science' "
        "ORDER BY exposure LIMIT 1"
    ).fetchall()
    right = "z_20" if wrong != "z_20" else "g_6"
    flats = {}
    for physical_filter in (wrong, right):
        for detector in (0, 1):
            path = write_master(tmp_path / physical_filter / f"flat{detector}.fits", seed=detector)
            report = ingest_calibrations(
                site,
                [path],
                "flat",
                RUN,
                instrument="LSSTCam",
                detector=detector,
                physical_filter=physical_filter,
            )
            flats[physical_filter, detector] = report.ingested[0].dataset_id
    certify(site.store, "LSSTCam/calib", list(flats.values()))
    table = tmp_path / "fix.csv"
    table.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},1,physical_filter,{right},filter wheel log\n"
    )
    assert not update_records(site, table=table).rejected

    chosen = find_calibrations(site.snapshot(), "LSSTCam/calib", "flat", exposure=exposure)
    picked = {row["detector"]: row["calibration_id"] for row in chosen.to_arrow_table().to_pylist()}
    assert picked == {0: flats[wrong, 0], 1: flats[right, 1]}


def write_processed(path: Path, seed: int, **cards: object) -> Path:
    """A master as the calibration pipeline writes one: no exposure cards, no EXPTIME."""
    return write_master(path, seed, **cards)


def test_a_processed_master_gives_its_data_id_from_its_own_cards(
    site: Site, tmp_path: Path
) -> None:
    """Issue 8.6: such a master used to fail 'missing header EXPTIME (needed by the
    LSSTCam translator)', as the raw translator was asked for its data id."""
    cards = {"INSTRUME": "lsstCam", "DETECTOR": 94, "DETNAME": "R22_S11", "FILTER": "r_57"}
    flat = write_processed(tmp_path / "flat.fits", seed=1, OBSTYPE="flat", **cards)
    dark = write_processed(tmp_path / "dark.fits", seed=2, OBSTYPE="DARK", **cards)
    report = ingest_calibrations(site, [flat], "flat", RUN)
    assert not report.failed, report.failed[0].reason
    wanted = {"instrument": "LSSTCam", "detector": 94, "physical_filter": "r_57"}
    assert report.ingested[0].dataset_id == str(dataset_id("flat", RUN, wanted))
    # A dark is not filter-dependent: its FILTER card stays out of the data id.
    (done,) = ingest_calibrations(site, [dark], "dark", RUN).ingested
    assert done.dataset_id == str(
        dataset_id("dark", RUN, {"instrument": "LSSTCam", "detector": 94})
    )
    # Explicit options still win over the cards.
    (moved,) = ingest_calibrations(site, [flat], "flat", "u/x/flats", detector=3).ingested
    wanted = {"instrument": "LSSTCam", "detector": 3, "physical_filter": "r_57"}
    assert moved.dataset_id == str(dataset_id("flat", "u/x/flats", wanted))


def test_detname_alone_names_the_detector(site: Site, tmp_path: Path) -> None:
    path = write_processed(
        tmp_path / "bias.fits", seed=3, INSTRUME="LSSTCam", DETNAME="R01_S11", OBSTYPE="bias"
    )
    (done,) = ingest_calibrations(site, [path], "bias", RUN).ingested
    assert done.dataset_id == str(dataset_id("bias", RUN, {"instrument": "LSSTCam", "detector": 4}))


def test_butler_data_id_cards_come_first(site: Site, tmp_path: Path) -> None:
    path = write_processed(
        tmp_path / "flat.fits",
        seed=4,
        INSTRUME="LSSTCam",
        DETECTOR=5,
        FILTER="r",
        OBSTYPE="flat",
        **{
            "HIERARCH LSST BUTLER DATAID DETECTOR": 5,
            "HIERARCH LSST BUTLER DATAID PHYSICAL_FILTER": "r_57",
        },
    )
    (done,) = ingest_calibrations(site, [path], "flat", RUN).ingested
    wanted = {"instrument": "LSSTCam", "detector": 5, "physical_filter": "r_57"}
    assert done.dataset_id == str(dataset_id("flat", RUN, wanted))


@pytest.mark.parametrize(
    ("cards", "dataset_type", "reason"),
    [
        ({"OBSTYPE": "dark"}, "bias", "its OBSTYPE says 'dark', not 'bias'"),
        ({"INSTRUME": "HSC"}, "bias", "(unknown instrument 'HSC'); give --instrument"),
        ({"DETECTOR": "R22"}, "bias", "DETECTOR 'R22' is not a detector number"),
        ({"DETNAME": "R22_S10"}, "bias", "DETECTOR 94 and DETNAME 'R22_S10' (detector 93)"),
        ({"FILTER": None}, "flat", "the header gives no FILTER; give --physical-filter"),
        ({"INSTRUME": None}, "bias", "the header gives no INSTRUME; give --instrument"),
    ],
)
def test_unusable_master_cards_are_one_clear_line_and_the_batch_goes_on(
    site: Site, tmp_path: Path, cards: dict[str, object], dataset_type: str, reason: str
) -> None:
    good = {"INSTRUME": "LSSTCam", "DETECTOR": 94, "DETNAME": "R22_S11", "FILTER": "r_57"}
    header = {**good, "OBSTYPE": dataset_type, **cards}
    bad = write_processed(
        tmp_path / "bad.fits", seed=5, **{k: v for k, v in header.items() if v is not None}
    )
    fine = write_processed(tmp_path / "ok" / "fine.fits", seed=6, OBSTYPE=dataset_type, **good)
    report = ingest_calibrations(site, [bad, fine], dataset_type, RUN)
    (failed,) = report.failed
    assert failed.path == str(bad) and failed.failure == "metadata"
    assert reason in str(failed.reason) and "\n" not in str(failed.reason)
    assert [r.path for r in report.ingested] == [str(fine)]


def test_a_master_replaced_after_its_header_was_read_is_not_stored(
    site: Site, tmp_path: Path
) -> None:
    # Issue 14 item 13 for calibrations: the upload sends only the bytes whose header
    # gave the data id (same size here: only the bytes tell).
    from oods.calibrations import _prepare_calibration
    from oods.ingest import CHANGED, ingest_prepared

    victim = write_master(tmp_path / "bias.fits", seed=1)
    replacement = write_master(tmp_path / "other.fits", seed=2, DETECTOR=5)
    assert victim.stat().st_size == replacement.stat().st_size

    def prepare(path: Path):  # type: ignore[no-untyped-def]
        prepared = _prepare_calibration(path, "bias", "LSSTCam/calib/v1", "LSSTCam", 4, None)
        shutil.copy(replacement, path)
        return prepared

    report = ingest_prepared(site, [victim], prepare, "bias", "LSSTCam/calib/v1")
    (result,) = report.results
    assert (result.status, result.failure, result.reason) == ("failed", "ingest", CHANGED)
    listed = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/")
    assert listed.get("KeyCount", 0) == 0
