"""obs_lsst's in-code header rules, one by one, just inside and just outside each range.

Every rule comes from obs_lsst at `OBS_LSST_COMMIT`; the headers are real corpus headers
with the cards a rule looks at changed, so all the other cards stay realistic. The
ranges are written out here, not read from ``night_fixes.toml``, so a typo in the data
fails a test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from astropy.time import Time

from catalog import read_header, translate_header
from catalog.records import Translation
from catalog.translators import (
    OBS_LSST_COMMIT,
    TRANSLATORS,
    LATISSTranslator,
    LSSTCamTranslator,
    LSSTComCamTranslator,
    find_translator,
    load_corrections,
)
from catalog.translators.night_fixes import night_fixes, parse_night_fixes
from tests.catalog.corpus import CORPUS, corpus_cards, load_corpus_header

LSSTCAM = "lsstCam-MC_O_20250415_000060_R01_S01.yaml"  # FILTER i_39, PROGRAM BLOCK-T434
COMCAM = "comCam-CC_O_20241108_000266_R22_S00.yaml"
LATISS = "latiss-AT_O_20240624_000106_R00_S00.yaml"  # RASTART 223.77…, ROTPA 98.63…


def corpus(name: str, **cards: Any) -> dict[str, Any]:
    header = load_corpus_header(CORPUS / name)
    header.update(cards)
    return header


def lsstcam(day_obs: int, seq_num: int, **cards: Any) -> Translation:
    header = corpus(LSSTCAM, DAYOBS=str(day_obs), SEQNUM=seq_num, **cards)
    return translate_header(header, "raw.fits")


def test_the_translators_name_the_obs_lsst_commit() -> None:
    assert OBS_LSST_COMMIT == "0e84d755dc0d139dbec58cda9296d67420a90c23"
    assert night_fixes().obs_lsst_commit == OBS_LSST_COMMIT
    for translator in TRANSLATORS:
        module = __import__(translator.__module__, fromlist=["_"])
        assert "OBS_LSST_COMMIT" in (module.__doc__ or ""), translator.__module__


def test_night_fixes_are_for_known_instruments_only() -> None:
    assert set(night_fixes().by_instrument) <= {t.instrument for t in TRANSLATORS}
    assert len(night_fixes().for_instrument("LSSTCam")) == 12


# LSSTCam: filters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_obs", "filter_", "expected"),
    [
        (20231107, "ph_05", "ph_5"),
        (20231108, "ph_05", "ph_5"),
        (20241015, "ph_05", "ph_5"),
        (20241016, "ph_05", "ph_5"),
        (20231109, "ph_05", "ph_05"),  # the next night is left alone
        (20241014, "ph_05", "ph_05"),
        (20231107, "ph_5", "ph_5"),
    ],
)
def test_lsstcam_pinhole_filter_name(day_obs: int, filter_: str, expected: str) -> None:
    assert lsstcam(day_obs, 10, FILTER=filter_).exposure.physical_filter == expected


@pytest.mark.parametrize(
    ("day_obs", "seq_num", "expected"),
    [
        (20250609, 75, "i_39"),
        (20250609, 76, "z_20"),
        (20250609, 300, "z_20"),
        (20250609, 578, "z_20"),
        (20250609, 579, "i_39"),
        (20250610, 300, "i_39"),
        (20250608, 300, "i_39"),
    ],
)
def test_lsstcam_filter_start_of_20250609(day_obs: int, seq_num: int, expected: str) -> None:
    """DM-52711: z_20 was in the beam for exposures 76..578 of 20250609."""
    assert lsstcam(day_obs, seq_num).exposure.physical_filter == expected


@pytest.mark.parametrize(
    ("day_obs", "seq_num", "expected"),
    [
        (20260315, 48, "r_57"),
        (20260315, 49, "i_39"),
        (20260315, 109, "i_39"),
        (20260315, 110, "r_57"),
        (20260314, 60, "r_57"),
        (20260316, 60, "r_57"),
    ],
)
def test_lsstcam_filter_part_of_20260315(day_obs: int, seq_num: int, expected: str) -> None:
    translation = lsstcam(day_obs, seq_num, FILTER="r_57", FILTBAND="r")
    assert translation.exposure.physical_filter == expected


def test_filter_fix_reports_every_card_it_changed() -> None:
    header = corpus(LSSTCAM, DAYOBS="20250609", SEQNUM=100, FILTER="y_10", FILTBAND="y")
    translator = LSSTCamTranslator(header, "raw.fits")
    assert translator.translate().exposure.physical_filter == "z_20"
    assert translator.fixed_keys == ["FILTER", "FILTBAND", "FILTPOS", "FILTSLOT"]
    assert (translator.header["FILTPOS"], translator.header["FILTSLOT"]) == (201.0, 4)
    assert header["FILTER"] == "y_10"  # the caller's header is never changed


def test_filter_fix_applies_to_a_real_fits_file(tmp_path: Path) -> None:
    header = corpus(LSSTCAM, DAYOBS="20250609", SEQNUM=578, FILTER="y_10")
    path = tmp_path / "MC_O_20250609_000578_R01_S01.fits"
    fits.HDUList([fits.PrimaryHDU(header=fits.Header(corpus_cards(header)))]).writeto(path)
    translation = translate_header(read_header(path.read_bytes(), path.name), path.name)
    assert translation.exposure.physical_filter == "z_20"
    assert translation.exposure.exposure == 2025060900578


def test_comcam_does_not_take_lsstcam_night_fixes() -> None:
    # obs_lsst's ComCam fix_header replaces LSSTCam's; it does not extend it.
    header = corpus(COMCAM, DAYOBS="20250609", SEQNUM=100)
    assert translate_header(header, "raw.fits").exposure.physical_filter == "g_01"
    header = corpus(COMCAM, DAYOBS="20231107", FILTER="ph_05")
    assert translate_header(header, "raw.fits").exposure.physical_filter == "ph_05"


# LSSTCam: science program ----------------------------------------------------------------

BLOCK_T417_NIGHTS = [
    20250415, 20250416, 20250417, 20250418, 20250421, 20250423, 20250424, 20250425,
    20250503, 20250504, 20250512, 20250522, 20250524, 20250826, 20250827, 20250828,
]  # fmt: skip


@pytest.mark.parametrize("day_obs", BLOCK_T417_NIGHTS)
def test_lsstcam_block_t417_was_written_block_417(day_obs: int) -> None:
    """DM-53949, on the sixteen nights obs_lsst lists."""
    program = lsstcam(day_obs, 228, PROGRAM="BLOCK-417").exposure.science_program
    assert program == "BLOCK-T417"


@pytest.mark.parametrize(
    ("day_obs", "program"),
    [
        (20250419, "BLOCK-417"),  # between two listed nights
        (20250414, "BLOCK-417"),
        (20250829, "BLOCK-417"),
        (20250415, "BLOCK-4170"),  # another block on a listed night
        (20250415, "BLOCK-T434"),
    ],
)
def test_block_417_fix_is_only_for_its_nights_and_block(day_obs: int, program: str) -> None:
    assert lsstcam(day_obs, 228, PROGRAM=program).exposure.science_program == program


# LSSTCam: closed dome (VIGN_MIN) ----------------------------------------------------------

DOME_CLOSED_EDGES = [
    # (night, seq_num, closed?) at each edge of each range obs_lsst lists
    (20250518, 0, True), (20250518, 5000, True), (20250517, 10, False), (20250519, 10, False),
    (20250703, 742, False), (20250703, 743, True), (20250703, 745, True), (20250703, 746, False),
    (20250704, 831, False), (20250704, 832, True), (20250704, 834, True), (20250704, 835, False),
    (20250705, 0, False), (20250705, 1, True), (20250705, 736, True), (20250705, 737, False),
    (20250707, 743, False), (20250707, 744, True), (20250707, 823, True),
    (20250707, 824, False), (20250707, 863, False), (20250707, 864, True),
    (20250707, 943, True), (20250707, 944, False),
    (20250714, 257, False), (20250714, 258, True), (20250714, 781, True), (20250714, 782, False),
    (20250715, 204, False), (20250715, 205, True), (20250715, 1218, True), (20250715, 1219, False),
    (20250819, 3, False), (20250819, 4, True), (20250819, 1052, True), (20250819, 1053, False),
    (20250706, 100, False),
]  # fmt: skip


@pytest.mark.parametrize(("day_obs", "seq_num", "closed"), DOME_CLOSED_EDGES)
def test_lsstcam_closed_dome_nights(day_obs: int, seq_num: int, closed: bool) -> None:
    """DM-51847, DM-52249 and 20250518: the dome was closed, VIGN_MIN said otherwise."""
    translation = lsstcam(day_obs, seq_num, IMGTYPE="FLAT", VIGN_MIN="NO")
    assert translation.exposure.can_see_sky is (not closed)


def test_closed_dome_fix_sets_a_missing_vign_min() -> None:
    header = corpus(LSSTCAM, DAYOBS="20250518", SEQNUM=10)
    del header["VIGN_MIN"]
    translator = LSSTCamTranslator(header, "raw.fits")
    assert translator.translate().exposure.can_see_sky is False
    assert "VIGN_MIN" in translator.fixed_keys


def test_a_card_already_right_is_not_reported_fixed() -> None:
    header = corpus(LSSTCAM, DAYOBS="20250518", SEQNUM=10, VIGN_MIN="FULLY")
    translator = LSSTCamTranslator(header, "raw.fits")
    translator.translate()
    assert "VIGN_MIN" not in translator.fixed_keys


# LSSTCam: rotation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_obs", "seq_num", "expected"),
    [
        (20250301, 60, 46.37529671133568),  # before the camera was on sky
        (20250302, 60, 46.37529671133568 - 90),  # ComCam's ROTPA
        (20250421, 60, 46.37529671133568 - 90),
        (20250422, 250, 46.37529671133568 - 180),  # half a night 180 degrees off
        (20250422, 251, 46.37529671133568),
        (20250423, 60, 46.37529671133568),
    ],
)
def test_lsstcam_rotpa_of_spring_2025(day_obs: int, seq_num: int, expected: float) -> None:
    assert lsstcam(day_obs, seq_num).exposure.sky_angle == pytest.approx(expected)


# Shared: can_see_sky --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vign_min", "expected"), [("UNKNOWN", None), ("FULLY", False), ("NO", True), ("PARTIAL", True)]
)
def test_vign_min_decides_can_see_sky(vign_min: str, expected: bool | None) -> None:
    """846bbbef: an UNKNOWN vignetting means can_see_sky is unknown, not True."""
    for name in (LSSTCAM, COMCAM):
        header = corpus(name, VIGN_MIN=vign_min)
        assert translate_header(header, "raw.fits").exposure.can_see_sky is expected


@pytest.mark.parametrize(
    ("controller", "imgtype", "expected"),
    [
        ("H", "OBJECT", True),  # PhoSim: the observation type decides
        ("H", "BIAS", False),
        ("H", "FLAT", None),  # a type that says nothing
        ("O", "OBJECT", None),  # a real camera without VIGN_MIN: unknown
        ("O", "BIAS", None),
    ],
)
def test_phosim_falls_back_on_the_observation_type(
    controller: str, imgtype: str, expected: bool | None
) -> None:
    for name in (LSSTCAM, COMCAM):
        header = corpus(name, CONTRLLR=controller, IMGTYPE=imgtype)
        del header["VIGN_MIN"], header["SHUTTIME"]
        assert translate_header(header, "raw.fits").exposure.can_see_sky is expected, name


# Shared: GROUPID from a correction file -------------------------------------------------


def test_unquoted_groupid_in_a_correction_file(tmp_path: Path) -> None:
    """0dcc781a: YAML reads an unquoted date as a datetime; the group must be the text
    the camera would have written, or the exposures of one visit fall apart."""
    (tmp_path / "LSSTCam-MC_O_20250415_000060.yaml").write_text(
        "GROUPID: 2025-04-16T00:53:10.143\n"
    )
    fixed, keys = load_corrections(tmp_path).correct(corpus(LSSTCAM))
    assert keys == ["GROUPID"] and isinstance(fixed["GROUPID"], dt.datetime)
    group = translate_header(fixed, "raw.fits").exposure.group
    assert group == "2025-04-16T00:53:10.143"


# LATISS ------------------------------------------------------------------------------------


def latiss_at(iso_tai: str, **cards: Any) -> dict[str, Any]:
    """The LATISS corpus header as if observed at ``iso_tai`` (its -END cards dropped)."""
    begin = Time(iso_tai, scale="tai")
    header = corpus(LATISS, **cards)
    for key in ("MJD-BEG", "MJD-OBS"):
        header[key] = float(begin.mjd)
    for key in ("DATE-BEG", "DATE-OBS"):
        header[key] = begin.isot
    del header["DATE-END"], header["MJD-END"]
    return header


RASTART = 223.77379669301
RA = 223.77366208333333
RA_37_SECONDS = 37.0 / 3600.0 * 15.0


@pytest.mark.parametrize(
    ("iso_tai", "rastart", "expected"),
    [
        ("2020-04-30T12:00", RASTART, RA),  # mount coordinates: RA/DEC used instead
        ("2020-05-01T12:00", RASTART / 15.0, RASTART + RA_37_SECONDS),  # hours, 37 s late
        ("2021-02-11T18:40", RASTART / 15.0, RASTART + RA_37_SECONDS),
        ("2021-02-11T18:50", RASTART, RASTART + RA_37_SECONDS),  # degrees, 37 s late
        ("2021-02-11T23:55", RASTART, RASTART + RA_37_SECONDS),
        ("2021-02-12T00:05", RASTART, RASTART),  # right from here on
    ],
)
def test_latiss_rastart_history(iso_tai: str, rastart: float, expected: float) -> None:
    header = latiss_at(iso_tai, RASTART=rastart, RAEND=rastart)
    translator = LATISSTranslator(header, "raw.fits")
    assert translator.translate().exposure.tracking_ra == pytest.approx(expected, abs=1e-9)
    raend = translator.header["RAEND"]
    assert raend is None if expected == RA else raend == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("iso_tai", "rotation"),
    [
        ("2020-11-18T12:00", 30.0),
        ("2020-11-19T00:05", 30.0 - 180.0),
        ("2021-10-28T23:55", 30.0 - 180.0),
        ("2021-10-29T00:05", 30.0),
    ],
)
def test_latiss_rotpa_convention_of_2020_2021(iso_tai: str, rotation: float) -> None:
    header = latiss_at(iso_tai, ROTPA=30.0)
    assert translate_header(header, "raw.fits").exposure.sky_angle == pytest.approx(rotation)


@pytest.mark.parametrize(
    ("iso_tai", "target", "expected"),
    [
        ("2022-07-09T23:55", "spec:HD 131586", "HD 131586"),
        ("2022-07-10T00:05", "spec:HD 131586", "spec:HD 131586"),
        ("2021-01-01T00:00", "HD 131586", "HD 131586"),
    ],
)
def test_latiss_spec_prefix_of_dispersed_targets(iso_tai: str, target: str, expected: str) -> None:
    header = latiss_at(iso_tai, OBJECT=target)
    assert translate_header(header, "raw.fits").exposure.target_name == expected


@pytest.mark.parametrize(
    ("tracksys", "tracking"), [("SIDEREAL", True), ("", True), ("RADEC", True), ("LOCAL", False)]
)
def test_latiss_tracksys_spellings(tracksys: str, tracking: bool) -> None:
    """SIDEREAL means RADEC, and a blank TRACKSYS says nothing (e107507c)."""
    exposure = translate_header(corpus(LATISS, TRACKSYS=tracksys), "raw.fits").exposure
    assert (exposure.tracking_ra is not None) is tracking
    if tracking:
        assert exposure.tracking_ra == pytest.approx(RASTART)


@pytest.mark.parametrize(
    ("grating", "expected"),
    [
        ("empty_1", "empty"),
        ("EMPTY", "empty"),
        ("empty_slot", "empty"),  # any "empty…" grating, unlike filters
        ("", "empty"),
        ("holo4_003", "holo4_003"),
    ],
)
def test_latiss_empty_grating(grating: str, expected: str) -> None:
    physical_filter = translate_header(
        corpus(LATISS, GRATING=grating), "x"
    ).exposure.physical_filter
    assert physical_filter == f"SDSSr_65mm~{expected}"


def test_latiss_filter_slot_names_stay_strict() -> None:
    header = corpus(LATISS, FILTER="empty_slot")
    assert translate_header(header, "x").exposure.physical_filter == "empty_slot~empty"


@pytest.mark.parametrize(
    ("instrume", "detname", "expected"),
    [
        (None, "RXX_S00", LATISSTranslator),  # a calibration product without INSTRUME
        (None, "R22_S11", None),
        ("HSC", "RXX_S00", None),  # OODS does not overrule a named instrument
        ("LSSTCam", "RXX_S00", LSSTCamTranslator),
        ("LSSTComCam", "RXX_S00", LSSTComCamTranslator),
    ],
)
def test_latiss_recognised_by_its_detector_name(
    instrume: str | None, detname: str, expected: type | None
) -> None:
    header: dict[str, Any] = {"DETNAME": detname}
    if instrume is not None:
        header["INSTRUME"] = instrume
    assert find_translator(header) is expected


# The data file ------------------------------------------------------------------------------

_COMMIT = 'obs_lsst_commit = "' + "a" * 40 + '"\n'


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nights = [2025060]\nset = { FILTER = 'x' }", "nights must be"),
        ("nights = []\nset = { FILTER = 'x' }", "nights must be"),
        ("nights = [20250609]\nseq_num = [[9, 1]]\nset = { FILTER = 'x' }", "seq_num must be"),
        ("nights = [20250609]\nseq_num = [5]\nset = { FILTER = 'x' }", "seq_num must be"),
        ("nights = [20250609]", "set must be"),
        ("nights = [20250609]\nset = { FILTER = 'x' }\nwhen = 3", "when must be"),
        ("nights = [20250609]\nset = { FILTER = 'x' }\nnight = 1", "unknown fields"),
    ],
)
def test_a_malformed_night_fix_is_named(entry: str, message: str) -> None:
    text = f"{_COMMIT}[[LSSTCam]]\nnights = [20250101]\nset = {{ A = 1 }}\n[[LSSTCam]]\n{entry}\n"
    with pytest.raises(ValueError, match=message) as info:
        parse_night_fixes(text, "fixes.toml")
    assert str(info.value).startswith("fixes.toml: LSSTCam entry 2: ")
    assert "\n" not in str(info.value)


def test_the_data_file_needs_the_full_commit() -> None:
    with pytest.raises(ValueError, match="obs_lsst_commit"):
        parse_night_fixes('obs_lsst_commit = "0e84d755"\n')
    with pytest.raises(ValueError, match="not TOML"):
        parse_night_fixes("[[LSSTCam]\n")


def test_a_new_night_fix_is_a_data_change() -> None:
    fixes = parse_night_fixes(
        _COMMIT + "[[LATISS]]\nnights = [20240624]\nseq_num = [[100, 110]]\n"
        "when = { GRATING = 'empty_1' }\nset = { GRATING = 'holo4_003' }\n"
    )
    (fix,) = fixes.for_instrument("LATISS")
    header = corpus(LATISS)
    assert fix.applies(header, 20240624, 106)
    assert not fix.applies(header, 20240624, 111)
    assert not fix.applies(header, 20240625, 106)
    assert not fix.applies(header, 20240624, None)
    assert not fix.applies({**header, "GRATING": "other"}, 20240624, 106)
    assert fixes.for_instrument("LSSTCam") == ()
