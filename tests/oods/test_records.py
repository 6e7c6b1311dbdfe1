"""Record corrections against a real MinIO: superseded rows, history, the ingest rule."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from astropy.io import fits

from catalog import LocationRecord, to_arrow
from oods import Site, ingest, simulate_night, update_records

DAY_OBS = 20250601
EXPOSURE = 2025060100001
WRONG_DETECTORS = (17, 94, 180)


def _other(physical_filter: str) -> str:
    """Another filter than this one: a wrong one, or the right one for a wrong one."""
    return "g_6" if physical_filter != "g_6" else "r_57"


def _filter_of(path: Path) -> str:
    return str(fits.getheader(path)["FILTER"])


def _bad_copy(good: list[Path], into: Path, detectors: dict[int, dict[str, object]]) -> list[Path]:
    """Copies of ``good`` with some detectors' header cards changed (the camera's error)."""
    copies = []
    for detector, path in enumerate(good):
        copy = into / path.name
        shutil.copy(path, copy)
        for card, value in detectors.get(detector, {}).items():
            fits.setval(copy, card, value=value)
        copies.append(copy)
    return copies


def _filters(snapshot: object, table: str = "datasets") -> dict[int, tuple[object, ...]]:
    column = "dataset_filter" if table == "datasets" else "physical_filter"
    rows = snapshot.sql(  # type: ignore[attr-defined]
        f"SELECT detector, {column}, corrected_fields, correction, recorded_at FROM {table} "
        f"WHERE exposure = {EXPOSURE}"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_a_filter_wrong_on_3_of_205_detectors_is_superseded_with_history(
    site: Site, tmp_path: Path
) -> None:
    good = simulate_night(tmp_path / "good", detectors=205, exposures=1, seed=5, size=4).files
    right = _filter_of(good[0])
    wrong = _other(right)
    (tmp_path / "camera").mkdir()
    bad = {d: {"FILTER": wrong, "FILTBAND": wrong[0]} for d in WRONG_DETECTORS}
    ingested = ingest(site, _bad_copy(good, tmp_path / "camera", bad))
    assert len(ingested.ingested) == 205 and not ingested.failed
    assert len(ingested.warnings) == 3  # the wrong headers disagree with the exposure
    before = site.snapshot()
    old = _filters(before)
    assert {d for d, row in old.items() if row[0] == wrong} == set(WRONG_DETECTORS)

    report = update_records(
        site, [good[d] for d in WRONG_DETECTORS], reason="filter wheel log, ticket OBS-12"
    )

    assert not report.rejected, report.lines()
    assert report.summary()["datasets"] == 3 and report.summary()["exposures"] == 0
    assert {(c.detector, c.old, c.new) for c in report.changes} == {
        (d, wrong, right) for d in WRONG_DETECTORS
    }
    now = _filters(site.snapshot())
    for detector in WRONG_DETECTORS:
        physical_filter, fields, note, _ = now[detector]
        assert (physical_filter, fields) == (right, "physical_filter")
        assert good[detector].name in str(note) and "ticket OBS-12" in str(note)
    others = set(now) - set(WRONG_DETECTORS)
    assert len(others) == 202
    assert all(now[d] == old[d] for d in others)  # the very same rows, not rewritten
    # History: the old rows are kept, and a snapshot from before still shows them.
    history = site.snapshot().sql(
        "SELECT detector, count(*) FROM datasets_history GROUP BY 1 HAVING count(*) > 1"
    )
    assert sorted(history.fetchall()) == [(d, 2) for d in WRONG_DETECTORS]
    assert _filters(site.snapshot(as_of=report.recorded_at - dt.timedelta(microseconds=1))) == old
    versions = site.store.versions("locations")
    assert _filters(site.snapshot(as_of=versions[1][0])) == old  # the version before
    assert _filters(site.snapshot(as_of=versions[0][0])) == now
    # Applying it again changes nothing and commits nothing.
    again = update_records(site, [good[d] for d in WRONG_DETECTORS])
    assert again.recorded_at is None and not again.changes and not again.rejected


def test_a_raw_catalogued_again_keeps_its_own_correction(site: Site, tmp_path: Path) -> None:
    good = simulate_night(tmp_path / "good", detectors=3, exposures=1, seed=5, size=4).files
    wrong = _other(_filter_of(good[0]))
    (tmp_path / "camera").mkdir()
    camera = _bad_copy(good, tmp_path / "camera", {1: {"FILTER": wrong}})
    ingest(site, camera)
    elsewhere = update_records(site, [good[1]], run="u/alice/raw")  # not the run ingested
    (rejected,) = elsewhere.rejected
    assert rejected.source == str(good[1]) and "is not in the catalog" in rejected.reason
    assert elsewhere.recorded_at is None
    update_records(site, [good[1]], reason="filter wheel log")
    # Its bytes lost (a retry after a crash, or expiry then a new copy): ingest again.
    (row,) = site.snapshot().sql("SELECT * FROM locations WHERE key LIKE '%R01_S01%'").fetchall()
    gone = LocationRecord(*row[:8], "deleted", dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    site.store.append("locations", to_arrow([gone], LocationRecord))
    report = ingest(site, [camera[1]])
    assert len(report.ingested) == 1
    assert any("the correction stands (" in w for w in report.warnings), report.warnings
    physical_filter, fields, note, _ = _filters(site.snapshot())[1]
    assert (physical_filter, fields) == (_filter_of(good[1]), "physical_filter")
    assert "filter wheel log" in str(note)


def test_later_raws_of_a_corrected_exposure_follow_the_correction(
    site: Site, tmp_path: Path
) -> None:
    files = simulate_night(tmp_path, detectors=6, exposures=1, seed=5, size=4).files
    assert not ingest(site, files[:3]).warnings
    (seen,) = site.sql(f"SELECT can_see_sky FROM exposures WHERE exposure = {EXPOSURE}").fetchall()
    right = _other(_filter_of(files[0]))
    table = tmp_path / "fixes.csv"
    table.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{EXPOSURE},,can_see_sky,{not seen[0]},dome was closed\n"
        f"LSSTCam,{EXPOSURE},,physical_filter,{right},filter wheel log\n"
    )
    report = update_records(site, table=table)
    assert report.summary() == {
        "exposures": 1,
        "datasets": 3,
        "fields": 5,
        "unchanged": 0,
        "rejected": 0,
    }

    later = ingest(site, files[3:])  # their headers still say the old values

    assert len(later.ingested) == 3 and not later.failed
    (warning,) = later.warnings
    assert "can_see_sky" in warning and "physical_filter" in warning
    assert "the corrected record stands" in warning and "dome was closed" in warning
    snapshot = site.snapshot()
    record = snapshot.sql(
        f"SELECT can_see_sky, physical_filter, corrected_fields FROM exposures "
        f"WHERE exposure = {EXPOSURE}"
    ).fetchall()
    assert record == [(not seen[0], right, "can_see_sky,physical_filter")]
    history = snapshot.sql(
        f"SELECT count(*) FROM exposures_history WHERE exposure = {EXPOSURE}"
    ).fetchall()
    assert history == [(2,)]  # the header's, then the correction's: the ingest added none
    raws = _filters(snapshot)
    assert {d: row[0] for d, row in raws.items()} == dict.fromkeys(range(6), right)
    assert all(raws[d][1] == "physical_filter" for d in range(6))
    assert all(str(raws[d][2]).startswith(f"follows exposure {EXPOSURE}") for d in (3, 4, 5))


def test_stored_raws_retranslated_with_header_corrections(site: Site, tmp_path: Path) -> None:
    files = simulate_night(tmp_path / "night", detectors=4, exposures=2, seed=5, size=4).files
    ingest(site, files)
    ((obs_id,),) = site.sql(f"SELECT obs_id FROM exposures WHERE exposure = {EXPOSURE}").fetchall()
    folder = tmp_path / "corrections"
    folder.mkdir()
    (folder / f"LSSTCam-{obs_id}.yaml").write_text("FILTER: z_20\nFILTBAND: z\n")
    (folder / "LSSTCam-MC_O_20990101_000001.yaml").write_text("FILTER: z_20\n")  # not here

    report = update_records(site, corrections=folder)

    assert not report.rejected, report.lines()
    assert report.summary()["exposures"] == 1 and report.summary()["datasets"] == 4
    snapshot = site.snapshot()
    rows = snapshot.sql(
        "SELECT exposure, physical_filter, correction FROM exposures ORDER BY 1"
    ).fetchall()
    assert rows[0][:2] == (EXPOSURE, "z_20")
    assert rows[0][2] == f"header corrections LSSTCam-{obs_id}.yaml (FILTER, FILTBAND)"
    assert rows[1][2] is None  # the other exposure is untouched
    assert {r[0] for r in _filters(snapshot).values()} == {"z_20"}
    assert update_records(site, corrections=folder).recorded_at is None  # nothing left to do


def test_a_correction_table_reports_bad_rows_and_commits_the_good_in_one_go(
    site: Site, tmp_path: Path
) -> None:
    files = simulate_night(tmp_path / "night", detectors=3, exposures=1, seed=5, size=4).files
    ingest(site, files)
    right = _filter_of(files[0])
    ((seen,),) = site.sql("SELECT can_see_sky FROM exposures").fetchall()
    versions = {t: site.store.latest_version(t) for t in ("exposures", "datasets")}
    table = tmp_path / "fixes.csv"
    table.write_text(
        "Instrument,Exposure,Detector,Field,Value\n"
        f"LSSTCam,{EXPOSURE},,can_see_sky,{not seen}\n"  # line 2: good
        "LSSTCam,2025060199999,,can_see_sky,false\n"  # 3: no such exposure
        f"LSSTCam,{EXPOSURE},,colour,blue\n"  # 4: no such field
        f"LSSTCam,{EXPOSURE},1,can_see_sky,true\n"  # 5: an exposure field for one raw
        f"LSSTCam,{EXPOSURE},,exposure_time,long\n"  # 6: not a number
        f"LSSTCam,{EXPOSURE},,day_obs,20250602\n"  # 7: identity
        f"LSSTCam,{EXPOSURE},7,physical_filter,{_other(right)}\n"  # 8: no such raw
        f"LSSTCam,{EXPOSURE},2,physical_filter,{_other(right)}\n"  # 9: good
        f"LSSTCam,{EXPOSURE},,can_see_sky,{seen}\n"  # 10: conflicts with line 2
    )

    report = update_records(site, table=table, reason="night log")

    lines = report.lines()
    assert [line.split(":", 1)[0] for line in lines] == [
        f"{table} line {n}" for n in (4, 5, 6, 3, 7, 8, 10)
    ]  # rows unreadable on their own first, then those the catalog refuses
    assert "unknown field 'colour'" in lines[0]
    assert "exposure field" in lines[1] and "leave the detector empty" in lines[1]
    assert "exposure_time takes a float, not 'long'" in lines[2]
    assert "no such exposure in the catalog" in lines[3]
    assert "day_obs cannot be corrected" in lines[4]
    assert "no such raw in the catalog" in lines[5]
    assert f"conflicts with {not seen} from {table} line 2" in lines[6]
    assert report.summary()["fields"] == 2
    for name, version in versions.items():
        assert site.store.latest_version(name) == version + 1  # one commit each
    snapshot = site.snapshot()
    assert snapshot.sql("SELECT can_see_sky, correction FROM exposures").fetchall() == [
        (not seen, f"{table} line 2: night log")
    ]
    assert _filters(snapshot)[2][:3] == (
        _other(right),
        "physical_filter",
        f"{table} line 9: night log",
    )
    assert update_records(site, table=table).changes == []  # again: only the rejections
