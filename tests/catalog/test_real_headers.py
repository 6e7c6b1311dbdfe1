"""Real camera headers, written as FITS, read back and translated, must give what the
LSST Butler gives (expected.json: obs_lsst's ObservationInfo for each file).

Only the properties OODS keeps are compared; the others are counted and named in the
summary, so nothing is silently left out. Any value that cannot match must be listed,
with its reason, in ``KNOWN_DIFFERENCES``; the test fails on an unlisted mismatch and
on a listed one that has started to match.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog import Translation, dataset_id, read_header, translate_header
from tests.catalog.corpus import corpus_files, load_expected, write_corpus_fits

#: ObservationInfo property -> where OODS keeps it.
FIELD_MAP: dict[str, Callable[[Translation], Any]] = {
    "instrument": lambda t: t.exposure.instrument,
    "exposure_id": lambda t: t.exposure.exposure,
    "observation_id": lambda t: t.exposure.obs_id,
    "observing_day": lambda t: t.exposure.day_obs,
    "observation_counter": lambda t: t.exposure.seq_num,
    "exposure_group": lambda t: t.exposure.group,
    "physical_filter": lambda t: t.exposure.physical_filter,
    "observation_type": lambda t: t.exposure.observation_type,
    "observation_reason": lambda t: t.exposure.observation_reason,
    "science_program": lambda t: t.exposure.science_program,
    "object": lambda t: t.exposure.target_name,
    "exposure_time": lambda t: t.exposure.exposure_time,
    "exposure_time_requested": lambda t: t.exposure.exposure_time_requested,
    "dark_time": lambda t: t.exposure.dark_time,
    # The Butler's exposure record keeps the angle only when tracking with the
    # rotator in sky coordinates; every corpus file giving an angle is such a case.
    "boresight_rotation_angle": lambda t: t.exposure.sky_angle,
    "can_see_sky": lambda t: t.exposure.can_see_sky,
    "has_simulated_content": lambda t: t.exposure.has_simulated_content,
    "focus_z": lambda t: t.exposure.focus_z,
    "temperature": lambda t: t.exposure.temperature,
    "pressure": lambda t: t.exposure.pressure,
    "relative_humidity": lambda t: t.exposure.relative_humidity,
    "group_counter_start": lambda t: t.exposure.seq_start,
    "group_counter_end": lambda t: t.exposure.seq_end,
    "detector_num": lambda t: t.detector.detector,
    "detector_group": lambda t: t.detector.group,
    "detector_name": lambda t: t.detector.sensor,
    "detector_serial": lambda t: t.detector.serial,
}

#: Properties in expected.json that OODS does not keep, and why.
NOT_KEPT = {
    "telescope": "implied by the instrument",
    "visit_id": "visits are defined by the Butler's visit system, not by ingest",
    "detector_exposure_id": "a packing of exposure and detector, both kept",
    "boresight_rotation_coord": "only decides whether sky_angle is kept",
    "observing_day_offset": "day_obs comes from DAYOBS; the offset is not needed",
    "check_altaz": "a translation-test flag, not an observation property",
}

#: (file, property) -> why OODS cannot match the Butler there. Empty: all match.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}

#: Per camera: property counts that this corpus gives today.
EXPECTED_TOTALS = {"LATISS": (75, 75), "LSSTCam": (77, 77), "LSSTComCam": (27, 27)}


@dataclasses.dataclass
class Comparison:
    file: str
    camera: str
    field: str
    expected: Any
    actual: Any

    @property
    def matches(self) -> bool:
        return values_match(self.expected, self.actual)


def values_match(expected: Any, actual: Any) -> bool:
    """Exact for ids and text; floats to rel 1e-9 (abs 1e-6 near zero, degrees)."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int) and not isinstance(actual, float):
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
    return False


@pytest.fixture(scope="module")
def translations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Translation]:
    """Each corpus file as a FITS file, read back and translated."""
    folder = tmp_path_factory.mktemp("real-headers")
    result = {}
    for corpus_file in corpus_files():
        path = write_corpus_fits(corpus_file, folder / f"{corpus_file.stem}.fits")
        header = read_header(path.read_bytes(), path.name)
        result[corpus_file.name] = translate_header(header, path.name)
    return result


@pytest.fixture(scope="module")
def comparisons(translations: dict[str, Translation]) -> list[Comparison]:
    rows = []
    for name, properties in load_expected().items():
        translation = translations[name]
        for field, expected in properties.items():
            if field in FIELD_MAP:
                actual = FIELD_MAP[field](translation)
                rows.append(
                    Comparison(name, translation.exposure.instrument, field, expected, actual)
                )
    return rows


def test_every_expected_property_is_compared_or_explained() -> None:
    fields = {field for properties in load_expected().values() for field in properties}
    assert fields - set(FIELD_MAP) - set(NOT_KEPT) == set()


@pytest.mark.parametrize("name", [f.name for f in corpus_files()])
def test_translation_matches_the_butler(name: str, comparisons: list[Comparison]) -> None:
    mismatches = {
        (c.file, c.field): f"expected {c.expected!r}, got {c.actual!r}"
        for c in comparisons
        if c.file == name and not c.matches
    }
    known = {key: reason for key, reason in KNOWN_DIFFERENCES.items() if key[0] == name}
    assert set(mismatches) == set(known), mismatches


def test_summary_per_camera(comparisons: list[Comparison]) -> None:
    """Print, per camera, how many properties were compared and matched."""
    compared: collections.Counter[str] = collections.Counter()
    matched: collections.Counter[str] = collections.Counter()
    skipped: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for c in comparisons:
        compared[c.camera] += 1
        matched[c.camera] += c.matches
    for name, properties in load_expected().items():
        camera = next(c.camera for c in comparisons if c.file == name)
        for field in properties:
            if field not in FIELD_MAP:
                skipped[camera][field] += 1
    print("\nreal-header translation vs the Butler (expected.json):")
    for camera in sorted(compared):
        not_compared = sum(skipped[camera].values())
        print(
            f"  {camera:<11} compared {compared[camera]:3d}  matched {matched[camera]:3d}"
            f"  not compared {not_compared:2d} ({', '.join(sorted(skipped[camera]))})"
        )
    totals = {camera: (compared[camera], matched[camera]) for camera in compared}
    assert totals == EXPECTED_TOTALS


def test_raw_dataset_id_is_the_butlers(translations: dict[str, Translation]) -> None:
    translation = translations["lsstCam-MC_O_20250415_000060_R01_S01.yaml"]
    instrument = translation.exposure.instrument
    got = dataset_id("raw", f"{instrument}/raw/all", translation.data_id())
    assert got == uuid.UUID("c900ca45-8346-53d7-b43f-af5d7c87bae7")


def test_fits_round_trip_keeps_every_descriptive_card(tmp_path: Path) -> None:
    """The helper must not lose what translation reads (HIERARCH and null cards)."""
    from tests.catalog.corpus import load_corpus_header

    corpus_file = next(f for f in corpus_files() if f.name.startswith("comCam"))
    path = write_corpus_fits(corpus_file, tmp_path / "c.fits")
    header = read_header(path.read_bytes(), path.name)
    original = load_corpus_header(corpus_file)
    assert header["STUTTER ROWS"] == 0
    assert "SIMULATED MJD-OBS" in header and header["SIMULATED MJD-OBS"] is None
    for key in ("OBSID", "DAYOBS", "ROTPA", "SHUTTIME", "PRESSURE", "GROUPID"):
        assert header[key] == original[key]


def test_comparison_is_strict_where_it_must_be() -> None:
    """A guard on the guard: the matcher must not pass near-misses or type changes."""
    assert values_match(741.2, 741.2000000000001)
    assert not values_match(741.2, 741.3)
    assert not values_match(True, 1)
    assert not values_match(1, True)
    assert not values_match("r_57", "r_57 ")
    assert not values_match(2025041500060, 2025041500061)
    assert not values_match(None, 0.0)
