"""Translators: strict instrument recognition, named missing keys, the Butler's
detector numbering and exposure ids, header corrections, and hostile headers that
can only ever end in a Translation or a HeaderError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog import (
    HeaderError,
    MissingHeaderKeyError,
    Translation,
    UnknownInstrumentError,
    translate_header,
)
from catalog.translators import (
    LATISSTranslator,
    LSSTCamTranslator,
    LSSTComCamTranslator,
    find_translator,
    load_corrections,
)
from catalog.translators.focalplane import (
    COMCAM_DETECTORS,
    LATISS_DETECTORS,
    LSSTCAM_BY_NAME,
    LSSTCAM_DETECTORS,
)
from catalog.translators.lsst import compute_exposure_id
from tests.catalog.corpus import CORPUS, load_corpus_header

# Garbled dates far from today make ERFA warn of "dubious years" on the way to a
# HeaderError or a (meaningless but valid) translation; that is the point of the test.
pytestmark = pytest.mark.filterwarnings("ignore::erfa.ErfaWarning")

LSSTCAM_SCIENCE = "lsstCam-MC_O_20250415_000060_R01_S01.yaml"
LSSTCAM_BIAS = "lsstCam-MC_C_20231107_000078_R01_S01.json"
COMCAM = "comCam-CC_O_20241108_000266_R22_S00.yaml"
LATISS = "latiss-AT_O_20240624_000106_R00_S00.yaml"
ALL_FILES = (LSSTCAM_SCIENCE, LSSTCAM_BIAS, COMCAM, LATISS)


def corpus(name: str) -> dict[str, Any]:
    return load_corpus_header(CORPUS / name)


# Instruments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrume", "telescope", "expected"),
    [
        ("lsstCam", None, LSSTCamTranslator),
        ("LSSTCam", None, LSSTCamTranslator),
        ("LSSTCAM", None, LSSTCamTranslator),
        ("comCam", "Simonyi Survey Telescope", LSSTComCamTranslator),
        ("ComCam", "LSST", LSSTComCamTranslator),
        ("LSSTComCam", None, LSSTComCamTranslator),
        ("LATISS", "LSST AuxTelescope", LATISSTranslator),
        ("LSST_ATISS", None, LATISSTranslator),
        # another observatory's commissioning camera is not ours
        ("comCam", "Some Other Telescope", None),
        ("comCam", None, None),
        # test stands, simulators and look-alikes
        ("LSST-TS8", None, None),
        ("ucdCam", None, None),
        ("LSST-UCDCam", None, None),
        ("LSST-TS3", None, None),
        ("lsstCamSim", None, None),
        ("LSSTComCamSim", None, None),
        ("latiss", None, None),
        ("LATISS ", None, None),
        ("HSC", None, None),
        ("", None, None),
        (42, None, None),
    ],
)
def test_instrument_recognition_is_strict(
    instrume: object, telescope: str | None, expected: type | None
) -> None:
    header: dict[str, Any] = {"INSTRUME": instrume}
    if telescope is not None:
        header["TELESCOP"] = telescope
    assert find_translator(header) is expected


@pytest.mark.parametrize("instrume", ["LSST-TS8", "ucdCam", "lsstCamSim", None])
def test_unknown_instrument_is_refused_by_name(instrume: str | None) -> None:
    header = corpus(LSSTCAM_SCIENCE)
    if instrume is None:
        del header["INSTRUME"]
    else:
        header["INSTRUME"] = instrume
    with pytest.raises(UnknownInstrumentError) as info:
        translate_header(header, "raw/x.fits")
    assert info.value.instrument == instrume
    assert info.value.source == "raw/x.fits"


# Missing keys -------------------------------------------------------------------------


#: Cards the Butler can do without for some cameras, and what it makes of their absence.
RECOVERED: dict[tuple[str, str], tuple[str, object, str]] = {
    (LATISS, "DAYOBS"): ("exposure.exposure", 2024062400106, "taken from OBSID"),
    (LATISS, "SEQNUM"): ("exposure.seq_num", 106, "taken from OBSID"),
    (LATISS, "IMGTYPE"): ("exposure.observation_type", "unknown", "no OBSTYPE either"),
    (LATISS, "EXPTIME"): ("exposure.exposure_time", -1.0, "the Butler's 'unknown'"),
    (LATISS, "RAFTBAY"): ("detector.name", "RXX_S00", "one sensor, always RXX_S00"),
    (LATISS, "CCDSLOT"): ("detector.name", "RXX_S00", "one sensor, always RXX_S00"),
    (LATISS, "LSST_NUM"): ("detector.serial", "ITL-3800C-068", "fixed since 2019"),
    (COMCAM, "LSST_NUM"): ("detector.serial", "ITL-3800C-229", "fixed per slot"),
}


@pytest.mark.parametrize("name", ALL_FILES)
@pytest.mark.parametrize(
    "key", ["OBSID", "DAYOBS", "SEQNUM", "IMGTYPE", "EXPTIME", "RAFTBAY", "CCDSLOT", "LSST_NUM"]
)
def test_missing_key_is_named(name: str, key: str) -> None:
    header = corpus(name)
    del header[key]
    if (name, key) in RECOVERED:
        path, value, _why = RECOVERED[(name, key)]
        record, field = path.split(".")
        translation = translate_header(header, "x.fits")
        assert getattr(getattr(translation, record), field) == value
        return
    with pytest.raises(MissingHeaderKeyError) as info:
        translate_header(header, "raw/x.fits")
    assert info.value.key == key
    assert key in str(info.value) and "raw/x.fits" in str(info.value)


def test_null_card_counts_as_missing() -> None:
    header = corpus(LSSTCAM_SCIENCE)
    header["OBSID"] = None
    with pytest.raises(MissingHeaderKeyError, match="OBSID"):
        translate_header(header, "x.fits")


def test_mountain_science_needs_its_rotation_angle() -> None:
    header = corpus(LSSTCAM_SCIENCE)
    header["IMGTYPE"] = "OBJECT"
    del header["ROTPA"]
    with pytest.raises(MissingHeaderKeyError) as info:
        translate_header(header, "x.fits")
    assert info.value.key == "ROTPA"


def test_no_start_time_names_the_card() -> None:
    header = corpus(LSSTCAM_SCIENCE)
    for key in ("MJD-BEG", "DATE-BEG", "MJD-OBS", "DATE-OBS"):
        del header[key]
    with pytest.raises(MissingHeaderKeyError, match="MJD-BEG"):
        translate_header(header, "x.fits")


def test_unknown_detector_is_a_header_error() -> None:
    header = corpus(LSSTCAM_SCIENCE)
    header["CCDSLOT"] = "S99"
    with pytest.raises(HeaderError, match="R01_S99"):
        translate_header(header, "x.fits")


# Butler details -------------------------------------------------------------------------


def test_focal_plane_numbering() -> None:
    numbers = [d.detector for d in LSSTCAM_DETECTORS]
    assert numbers == list(range(205))
    by_name = LSSTCAM_BY_NAME
    assert by_name["R01_S00"].detector == 0
    assert by_name["R01_S01"].detector == 1
    assert by_name["R10_S00"].detector == 27
    assert by_name["R22_S11"].detector == 94
    assert by_name["R43_S22"].detector == 188
    corners = {
        "R00_SG0": 189, "R00_SG1": 190, "R00_SW0": 191, "R00_SW1": 192,
        "R04_SG0": 193, "R04_SW1": 196, "R40_SG0": 197, "R44_SW1": 204,
    }  # fmt: skip
    assert {name: by_name[name].detector for name in corners} == corners
    purposes = [d.purpose for d in LSSTCAM_DETECTORS]
    assert (purposes.count("SCIENCE"), purposes.count("GUIDER")) == (189, 8)
    assert purposes.count("WAVEFRONT") == 8
    assert [(d.detector, d.name) for d in COMCAM_DETECTORS][::4] == [
        (0, "R22_S00"), (4, "R22_S11"), (8, "R22_S22"),
    ]  # fmt: skip
    assert [(d.detector, d.name) for d in LATISS_DETECTORS] == [(0, "RXX_S00")]


@pytest.mark.parametrize(
    ("day_obs", "seq_num", "controller", "exposure"),
    [
        (20250415, 60, "O", 2025041500060),
        (20250415, 60, None, 2025041500060),
        (20230101, 5, "C", 3023010100005),  # CCS before the shared counter
        (20231107, 78, "C", 2023110700078),  # CCS after it
        (20250101, 7, "P", 5025010100007),  # simulated OCS, before 2025-04-18
        (20250418, 7, "P", 2025041800007),
        (20240101, 1, "H", 4024010100001),  # phosim keeps its offset
    ],
)
def test_exposure_ids(day_obs: int, seq_num: int, controller: str | None, exposure: int) -> None:
    assert compute_exposure_id(day_obs, seq_num, controller) == exposure


@pytest.mark.parametrize(("seq_num", "controller"), [(100_000, "O"), (-1, "O"), (1, "X")])
def test_bad_exposure_id_parts(seq_num: int, controller: str) -> None:
    with pytest.raises(ValueError):
        compute_exposure_id(20250415, seq_num, controller)


def test_lsstcam_header_fixes_are_reported() -> None:
    translator = LSSTCamTranslator(corpus(LSSTCAM_SCIENCE), "x.fits")
    assert translator.translate().exposure.sky_angle == pytest.approx(46.37529671133568 - 90)
    assert translator.fixed_keys == ["ROTPA"]


def test_simulated_flags_and_controllers() -> None:
    header = corpus(COMCAM)
    header["SIMULATE MTDOME"] = 1
    assert translate_header(header, "x.fits").exposure.has_simulated_content is True
    header = corpus(LSSTCAM_SCIENCE)
    header["CONTRLLR"] = "S"
    assert translate_header(header, "x.fits").exposure.has_simulated_content is True


# Corrections --------------------------------------------------------------------------


def test_corrections_apply_before_translation(tmp_path: Path) -> None:
    (tmp_path / "LSSTCam-MC_O_20250415_000060.yaml").write_text(
        "FILTER: r_57\nOBJECT: Vela\nSEQNUM: 60\n"
    )
    (tmp_path / "README.md").write_text("not a correction")
    (tmp_path / "LATISS-AT_O_20200217_000237.yaml").write_text("ROTPA: 118.728579\n")
    corrections = load_corrections(tmp_path)
    assert len(corrections) == 2
    header = corpus(LSSTCAM_SCIENCE)
    fixed, keys = corrections.apply(header, "LSSTCam", "MC_O_20250415_000060")
    assert keys == ["FILTER", "OBJECT"]  # SEQNUM already held 60
    assert header["FILTER"] == "i_39"  # the input is never changed
    exposure = translate_header(fixed, "x.fits").exposure
    assert (exposure.physical_filter, exposure.target_name) == ("r_57", "Vela")
    assert corrections.correct(header) == (fixed, keys)
    assert corrections.apply(header, "LSSTCam", "MC_O_20250415_000061") == (header, [])
    assert corrections.apply(header, "LATISS", "MC_O_20250415_000060") == (header, [])


def test_corrections_leave_unknown_instruments_alone(tmp_path: Path) -> None:
    corrections = load_corrections(tmp_path)
    header = {"INSTRUME": "LSST-TS8", "OBSID": "TS_C_20200101_000001"}
    assert corrections.correct(header) == (header, [])


def test_broken_correction_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "LSSTCam-MC_O_20250415_000060.yaml"
    bad.write_text("- just\n- a list\n")
    corrections = load_corrections(tmp_path)
    with pytest.raises(HeaderError) as info:
        corrections.apply({}, "LSSTCam", "MC_O_20250415_000060")
    assert info.value.source == str(bad)


def test_corrections_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_corrections(tmp_path / "nowhere")


# Hostile headers -----------------------------------------------------------------------

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "2025-04-15", "20250415", "1970-01-01T00:00:00", "RADEC",
                     "LOCAL", "FULLY", "empty_1", "ph_05", "OBJECT", "BIAS", "fk5", "gappt",
                     "H", "C", "S", "R01", "S01", "SW0", "NaN", "1e400", "UNKNOWN",
                     "SIDEREAL", "spec:HD 1", "BLOCK-417", "RXX_S00", "20250609", "20250707"]),
)  # fmt: skip
_keys = st.sampled_from(
    ["INSTRUME", "TELESCOP", "OBSID", "DAYOBS", "SEQNUM", "CONTRLLR", "IMGTYPE", "OBSTYPE",
     "MJD-BEG", "DATE-BEG", "MJD-OBS", "DATE-OBS", "DATE", "DATE-END", "TIMESYS", "EXPTIME",
     "SHUTTIME", "DARKTIME", "FILTER", "FILTER1", "FILTER2", "GRATING", "RAFTBAY", "CCDSLOT",
     "LSST_NUM", "ROTPA", "ROTCOORD", "TRACKSYS", "RADESYS", "RASTART", "DECSTART", "RA",
     "DEC", "ELSTART", "AZSTART", "AMSTART", "VIGN_MIN", "REASON", "TESTTYPE", "PROGRAM",
     "OBJECT", "GROUPID", "CURINDEX", "MAXINDEX", "FOCUSZ", "AIRTEMP", "PRESSURE",
     "HUMIDITY", "SIMULATE X", "IMGNAME", "GROUPID", "TSTAND", "CCDSLOT", "DETNAME",
     "RAEND", "FILTBAND"]
)  # fmt: skip


def _check(header: dict[str, Any]) -> None:
    try:
        result = translate_header(header, "fuzz.fits")
    except HeaderError as exc:
        assert exc.source == "fuzz.fits"
    else:
        assert isinstance(result, Translation)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ALL_FILES),
    st.dictionaries(_keys, _values, max_size=8),
    st.sets(_keys, max_size=6),
)
@example(LSSTCAM_SCIENCE, {"DAYOBS": "2025-04-15"}, set())
@example(LSSTCAM_SCIENCE, {"MJD-BEG": float("nan")}, set())
@example(LSSTCAM_SCIENCE, {"SHUTTIME": "fast"}, set())
@example(LSSTCAM_SCIENCE, {"RADESYS": "fk5"}, set())
@example(LSSTCAM_SCIENCE, {"DEC": 1e300, "DECSTART": None}, set())
@example(LATISS, {"DATE-OBS": "1970-01-01T00:00:00"}, set())
@example(COMCAM, {"ROTPA": "n/a", "FILTER": "r"}, set())
@example(LSSTCAM_SCIENCE, {"DAYOBS": "20250609", "SEQNUM": "²"}, set())
@example(LATISS, {"DATE-BEG": "2020-06-01T00:00:00", "RASTART": float("inf")}, {"MJD-BEG"})
def test_garbled_real_headers_give_a_translation_or_a_header_error(
    name: str, changes: dict[str, Any], removed: set[str]
) -> None:
    header = corpus(name)
    header.update(changes)
    for key in removed:
        header.pop(key, None)
    _check(header)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["lsstCam", "LSSTComCam", "LATISS", "comCam", "LSST-TS8"]),
    st.dictionaries(_keys, _values, max_size=25),
)
def test_random_headers_give_a_translation_or_a_header_error(
    instrume: str, header: dict[str, Any]
) -> None:
    header = {**header, "INSTRUME": instrume, "TELESCOP": "LSST"}
    _check(header)
