"""Certification, decertification and lookup against a real MinIO-backed catalog.

Raws and calibration datasets are written as catalog rows (no bytes): what is under
test here is validity, collections and lookup, not upload.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from catalog import (
    CalibrationNotFound,
    CatalogStore,
    Snapshot,
    UnknownDatasetError,
    ValidityError,
    ValidityOverlapError,
    certify,
    decertify,
    find_calibration,
    find_calibrations,
    list_certifications,
)
from oods import Site
from tests.catalog_rows import (
    NIGHT_START,
    add_exposures,
    calibration_ids,
    raw_id,
)

CALIB = "LSSTCam/calib"
CANDIDATES = "u/alice/candidates"
DAY_OBS = 20250601


def _t(hours: float) -> dt.datetime:
    return NIGHT_START + dt.timedelta(hours=hours)


@pytest.fixture
def store(site: Site) -> CatalogStore:
    return site.store


def _one_raw(store: CatalogStore, hours: float = 1.0) -> str:
    (exposure,) = add_exposures(store, DAY_OBS, [_t(hours)], detectors=1)
    return raw_id(exposure.exposure, 0)


def _bias_for(store: CatalogStore, raw: str, collections: list[str], **kw: object) -> str:
    found = find_calibration(Snapshot(store), collections, "bias", raw=raw, **kw)  # type: ignore[arg-type]
    return found["bias"].dataset_id


def test_certify_and_find(store: CatalogStore) -> None:
    raw = _one_raw(store)
    (bias,) = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0])
    report = certify(store, CALIB, [bias], _t(0), _t(12))
    assert len(report.certified) == 1 and not report.unchanged
    found = find_calibration(Snapshot(store), [CALIB], ["bias"], raw=raw)["bias"]
    assert (found.dataset_id, found.collection) == (bias, CALIB)
    assert (found.valid_begin, found.valid_end) == (_t(0), _t(12))
    assert found.key is None  # catalog rows only: no bytes on this site

    version = store.open("calibrations").version()
    again = certify(store, CALIB, [bias], _t(0), _t(12))  # the same range: a no-op
    assert len(again.unchanged) == 1 and not again.certified
    assert store.open("calibrations").version() == version


def test_overlap_is_refused_and_nothing_committed(store: CatalogStore) -> None:
    (first,) = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0])
    (second,) = calibration_ids(store, "bias", "LSSTCam/calib/run2", [0])
    certify(store, CALIB, [first], _t(0), None)
    version = store.open("calibrations").version()
    with pytest.raises(ValidityOverlapError) as caught:
        certify(store, CALIB, [second], _t(5), _t(6))
    message = str(caught.value)
    assert second in message and first in message and CALIB in message
    assert "detector=0" in message and "decertify" in message
    assert caught.value.existing == first
    assert store.open("calibrations").version() == version
    # Another collection, another data id, or an adjoining range are fine.
    certify(store, CANDIDATES, [second], _t(5), _t(6))
    (other_detector,) = calibration_ids(store, "bias", "LSSTCam/calib/run2", [1])
    certify(store, CALIB, [other_detector], _t(0), None)
    (earlier,) = calibration_ids(store, "bias", "LSSTCam/calib/run0", [0])
    certify(store, CALIB, [earlier], None, _t(0))  # [open, t0) touches [t0, open)


def test_bad_requests_are_refused(store: CatalogStore) -> None:
    (bias,) = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0])
    with pytest.raises(ValidityError, match="begin must be before end"):
        certify(store, CALIB, [bias], _t(2), _t(1))
    unknown = "00000000-0000-5000-8000-000000000000"
    with pytest.raises(UnknownDatasetError, match=unknown):
        certify(store, CALIB, [bias, unknown], _t(0), _t(1))
    raw = _one_raw(store)
    with pytest.raises(UnknownDatasetError, match="is a raw"):
        certify(store, CALIB, [raw])
    assert Snapshot(store).sql("SELECT count(*) FROM calibrations").fetchall() == [(0,)]


def test_decertify_splits_a_range_and_keeps_history(store: CatalogStore) -> None:
    raws = {
        h: raw_id(e.exposure, 0)
        for h, e in zip(
            (1, 5, 9), add_exposures(store, DAY_OBS, [_t(1), _t(5), _t(9)], 1), strict=True
        )
    }
    (bias,) = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0])
    certify(store, CALIB, [bias], _t(0), None)
    report = decertify(store, CALIB, "bias", _t(4), _t(6))
    assert [r.dataset_id for r in report.removed] == [bias]
    assert sorted(((r.valid_begin, r.valid_end) for r in report.kept), key=str) == sorted(
        [(_t(0), _t(4)), (_t(6), None)], key=str
    )
    snap = Snapshot(store)
    assert _bias_for(store, raws[1], [CALIB]) == bias
    assert _bias_for(store, raws[9], [CALIB]) == bias
    with pytest.raises(CalibrationNotFound) as caught:
        find_calibration(snap, [CALIB], "bias", raw=raws[5])
    assert caught.value.missing == ["bias"] and "no bias valid at" in str(caught.value)

    current = list_certifications(snap, collection=CALIB).fetchall()
    assert len(current) == 2
    history = list_certifications(snap, history=True).to_arrow_table().to_pydict()
    assert sorted(history["state"]) == ["certified", "certified", "certified", "decertified"]
    assert len(history["state"]) == 4  # the original range, its end, and the two pieces

    # Decertify with filters that match nothing: no commit.
    version = store.open("calibrations").version()
    assert not decertify(store, CALIB, "bias", detector=7).removed
    assert not decertify(store, CALIB, "flat").removed
    assert store.open("calibrations").version() == version
    # An open-ended decertify ends the rest.
    decertify(store, CALIB, "bias", _t(2), None)
    ranges = list_certifications(Snapshot(store), collection=CALIB).fetchall()
    assert len(ranges) == 1


def test_candidates_shadow_the_certified_by_collection_order(store: CatalogStore) -> None:
    raw = _one_raw(store)
    (certified,) = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0])
    (candidate,) = calibration_ids(store, "bias", "u/alice/bias-try", [0])
    certify(store, CALIB, [certified])
    certify(store, CANDIDATES, [candidate], _t(0), _t(2))
    assert _bias_for(store, raw, [CANDIDATES, CALIB]) == candidate
    assert _bias_for(store, raw, [CALIB, CANDIDATES]) == certified
    assert _bias_for(store, raw, [CALIB]) == certified
    later = _one_raw(store, hours=3)  # outside the candidate's range: falls through
    assert _bias_for(store, later, [CANDIDATES, CALIB]) == certified
    with pytest.raises(CalibrationNotFound):
        find_calibration(Snapshot(store), [CANDIDATES], "bias", raw=later)


def test_as_of_answers_what_was_chosen_then(store: CatalogStore) -> None:
    raw = _one_raw(store)
    old, new = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0]) + calibration_ids(
        store, "bias", "LSSTCam/calib/run2", [0]
    )
    before_any = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    certify(store, CALIB, [old])
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    decertify(store, CALIB, "bias")
    certify(store, CALIB, [new])
    assert _bias_for(store, raw, [CALIB]) == new
    assert _bias_for(store, raw, [CALIB], as_of=between) == old
    with pytest.raises(CalibrationNotFound):
        find_calibration(Snapshot(store), [CALIB], "bias", raw=raw, as_of=before_any)
    then = list_certifications(Snapshot(store), as_of=between).fetchall()
    assert [row[6] for row in then] == [old]


def test_bulk_lookup_of_205_detectors_equals_205_single_lookups(store: CatalogStore) -> None:
    detectors = list(range(205))
    (exposure,) = add_exposures(store, DAY_OBS, [_t(1)], detectors=205, filters=["i_39"])
    bias = calibration_ids(store, "bias", "LSSTCam/calib/run1", detectors)
    dark = calibration_ids(store, "dark", "LSSTCam/calib/run1", detectors)
    flats_r = calibration_ids(store, "flat", "LSSTCam/calib/run1", detectors, "r_57")
    flats_i = calibration_ids(store, "flat", "LSSTCam/calib/run1", detectors, "i_39")
    candidate_flats = calibration_ids(store, "flat", "u/alice/flats", detectors[::7], "i_39")
    certify(store, CALIB, bias + dark + flats_r + flats_i, _t(0), None)
    certify(store, CANDIDATES, candidate_flats, _t(0), _t(2))

    snap = Snapshot(store)
    collections = [CANDIDATES, CALIB]
    bulk = find_calibrations(snap, collections, exposure=exposure.exposure).fetchall()
    assert len(bulk) == 205 * 3
    by_raw: dict[tuple[str, str], str] = {(r[0], r[6]): r[7] for r in bulk}
    for detector in detectors:
        raw = raw_id(exposure.exposure, detector)
        single = find_calibration(snap, collections, raw=raw)
        assert {t: m.dataset_id for t, m in single.items()} == {
            t: by_raw[(raw, t)] for t in ("bias", "dark", "flat")
        }
        assert single["bias"].dataset_id == bias[detector]
        expected_flat = candidate_flats[detector // 7] if detector % 7 == 0 else flats_i[detector]
        assert single["flat"].dataset_id == expected_flat  # the i flat, never the r one
    by_exposure = find_calibration(snap, collections, exposure=exposure.exposure, detector=94)
    assert by_exposure["dark"].dataset_id == dark[94]


def test_bulk_lookup_of_a_night_follows_validity_boundaries(store: CatalogStore) -> None:
    exposures = add_exposures(store, DAY_OBS, [_t(h) for h in (1, 2, 3, 4)], detectors=2)
    first = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0, 1])
    second = calibration_ids(store, "bias", "LSSTCam/calib/run2", [0, 1])
    certify(store, CALIB, first, None, _t(2.5))
    certify(store, CALIB, second, _t(2.5), None)
    rows = find_calibrations(Snapshot(store), CALIB, "bias", day_obs=DAY_OBS).fetchall()
    chosen = {(r[2], r[3]): r[7] for r in rows}
    for index, e in enumerate(exposures):
        for detector in (0, 1):
            expected = (first if index < 2 else second)[detector]
            assert chosen[(e.exposure, detector)] == expected
    assert find_calibrations(Snapshot(store), CALIB, "bias", day_obs=DAY_OBS + 1).fetchall() == []


def certify_after_barrier(
    store: CatalogStore, collection: str, dataset_id: str, hours: float, barrier: Any
) -> tuple[str, str | None]:
    """In a child: certify [hours, open) once the other certifier is ready too.

    Returns ("certified", None) or ("refused", the dataset id the error names).
    """
    barrier.wait(timeout=120)
    try:
        certify(store, collection, [dataset_id], _t(hours), None)
    except ValidityOverlapError as exc:
        return "refused", exc.existing
    return "certified", None


def test_concurrent_overlapping_certifications_one_wins(store: CatalogStore) -> None:
    # Issue 14 item 5: two certifiers at the same instant both succeeded.
    first, second = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0, 1])
    (rival,) = calibration_ids(store, "bias", "LSSTCam/calib/run2", [0])
    raw = _one_raw(store, hours=30)
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(2, mp_context=spawn) as pool:
        for round_ in range(3):
            collection = f"u/race/round{round_}"
            barrier = manager.Barrier(2)
            futures = [
                pool.submit(certify_after_barrier, store, collection, ours, hours, barrier)
                for ours, hours in ((first, 0), (rival, 1))
            ]
            results = [f.result(timeout=300) for f in futures]
            outcomes = dict(zip((first, rival), results, strict=True))
            winners = [ours for ours, (status, _) in outcomes.items() if status == "certified"]
            assert len(winners) == 1, outcomes
            (loser,) = {first, rival} - set(winners)
            assert outcomes[loser] == ("refused", winners[0])
            found = find_calibration(Snapshot(store), [collection], ["bias"], raw=raw)["bias"]
            assert found.dataset_id == winners[0]
            current = Snapshot(store).sql(
                "SELECT count(*) FROM calibrations "
                "WHERE collection = $c AND detector = 0 AND state = 'certified'",
                {"c": collection},
            )
            assert current.fetchall() == [(1,)]
    # Another data id is not held up by the table moving: a retry re-checks and commits.
    assert len(certify(store, "u/race/round0", [second], _t(0), None).certified) == 1
