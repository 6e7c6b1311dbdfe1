"""Importing certifications from CSV and Parquet: bad rows named by line, one commit."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog import (
    CatalogStore,
    CertificationFileError,
    LocationRecord,
    Snapshot,
    find_calibration,
    import_certifications,
    to_arrow,
)
from oods import Site
from tests.catalog_rows import NIGHT_START, add_exposures, calibration_ids, raw_id

CALIB = "LSSTCam/calib"
HEADER = ["dataset_id", "file_name", "collection", "type", "begin", "end"]


@pytest.fixture
def store(site: Site) -> CatalogStore:
    return site.store


def _rows(store: CatalogStore) -> tuple[list[list[str]], dict[str, str]]:
    """A file's rows: good ones, and one bad row of each kind (the comment says which)."""
    bias = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0, 1, 2])
    (other_bias0,) = calibration_ids(store, "bias", "LSSTCam/calib/run2", [0])
    (flat,) = calibration_ids(store, "flat", "LSSTCam/calib/run1", [0], "r_57")
    store.append(
        "locations",
        to_arrow(
            [
                LocationRecord(
                    flat,
                    "LSSTCam",
                    None,
                    None,
                    "k",
                    1,
                    "0" * 64,
                    "flat_R01_S00.fits",
                    "present",
                    NIGHT_START,
                )
            ],
            LocationRecord,
        ),
    )
    night = "2025-06-02T00:00:00"
    rows = [
        [bias[0], "", CALIB, "bias", night, ""],  # line 2: good, open end
        ["00000000-0000-5000-8000-000000000000", "", CALIB, "bias", night, ""],  # 3: unknown
        ["", "flat_R01_S00.fits", CALIB, "flat", night, "2025-06-03T00:00:00Z"],  # 4: by name
        [bias[1], "", CALIB, "bias", "yesterday", ""],  # 5: bad time
        [other_bias0, "", CALIB, "bias", "2025-06-05T00:00:00", ""],  # 6: overlaps line 2
        [bias[2], "", CALIB, "bias", "2025-06-03", "2025-06-02"],  # 7: empty range
        [bias[2], "", CALIB, "dark", night, ""],  # 8: wrong type
        [bias[2], "", "", "bias", night, ""],  # 9: no collection
        ["", "nowhere.fits", CALIB, "bias", night, ""],  # 10: unknown file name
        [bias[2], "", CALIB, "bias", night, ""],  # 11: good
    ]
    return rows, {"bias0": bias[0], "bias2": bias[2], "flat": flat}


def _check(report_lines: list[tuple[int, str]], first: int) -> None:
    """Bad rows reported at the right place (``first`` is the number of the first row)."""
    reasons = dict(report_lines)
    expected = {
        1: "no such dataset",
        3: "'yesterday' is not an ISO 8601 time",
        4: "overlaps",
        5: "begin must be before end",
        6: "not a dark",
        7: "no collection",
        8: "file nowhere.fits: no such dataset",
    }
    assert sorted(reasons) == sorted(first + offset for offset in expected)
    for offset, text in expected.items():
        assert text in reasons[first + offset], (offset, reasons[first + offset])


def test_import_csv(store: CatalogStore, tmp_path: Path) -> None:
    rows, ids = _rows(store)
    path = tmp_path / "validity.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows[:5])
        handle.write("\n")  # a blank line still counts as a line
        writer.writerows(rows[5:])
    version = store.open("calibrations").version()
    report = import_certifications(store, path)
    assert report.summary() == {"certified": 3, "unchanged": 0, "rejected": 7}
    # rows[5:] start at line 8 (header 1, five rows 2-6, blank 7): shift those by one.
    lines = [(r.line if r.line < 7 else r.line - 1, r.reason) for r in report.rejected]
    _check(lines, first=2)
    assert report.lines()[0].startswith(f"{path}:line 3: dataset ")
    assert store.open("calibrations").version() == version + 1  # one commit

    (exposure,) = add_exposures(store, 20250601, [NIGHT_START + dt.timedelta(hours=1)], 1)
    found = find_calibration(
        Snapshot(store), CALIB, ["bias", "flat"], raw=raw_id(exposure.exposure, 0)
    )
    assert found["bias"].dataset_id == ids["bias0"]
    assert found["flat"].dataset_id == ids["flat"]

    again = import_certifications(store, path)  # the same file again: nothing new
    assert again.summary() == {"certified": 0, "unchanged": 3, "rejected": 7}
    assert store.open("calibrations").version() == version + 1


def test_import_parquet(store: CatalogStore, tmp_path: Path) -> None:
    rows, _ = _rows(store)
    columns = {name: [row[i] or None for row in rows] for i, name in enumerate(HEADER)}
    table = pa.table(columns)
    path = tmp_path / "validity.parquet"
    pq.write_table(table, path)
    report = import_certifications(store, path)
    assert report.summary() == {"certified": 3, "unchanged": 0, "rejected": 7}
    _check([(r.line, r.reason) for r in report.rejected], first=1)
    assert report.lines()[0].startswith(f"{path}:row 2: ")


def test_import_parquet_with_timestamp_columns(store: CatalogStore, tmp_path: Path) -> None:
    bias = calibration_ids(store, "bias", "LSSTCam/calib/run1", [0, 1])
    begin = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    table = pa.table(
        {
            "dataset_id": bias,
            "collection": [CALIB, CALIB],
            "valid_begin": pa.array([begin, begin], pa.timestamp("us", tz="UTC")),
            "valid_end": pa.array([None, begin + dt.timedelta(days=1)], pa.timestamp("us")),
        }
    )
    path = tmp_path / "ts.parquet"
    pq.write_table(table, path)
    report = import_certifications(store, path)
    assert report.summary()["certified"] == 2
    ends = sorted((r.valid_end for r in report.certified), key=lambda t: t is None)
    assert ends == [begin + dt.timedelta(days=1), None]


def test_unreadable_files_are_one_clear_error(store: CatalogStore, tmp_path: Path) -> None:
    missing_column = tmp_path / "bad.csv"
    missing_column.write_text("dataset_id,collection,begin\nx,y,z\n")
    with pytest.raises(CertificationFileError, match="missing column end"):
        import_certifications(store, missing_column)
    with pytest.raises(CertificationFileError, match="unreadable Parquet"):
        import_certifications(store, missing_column, file_format="parquet")
    with pytest.raises(CertificationFileError, match="unknown format 'txt'"):
        import_certifications(store, tmp_path / "x.txt")
    with pytest.raises(CertificationFileError, match="unreadable CSV"):
        import_certifications(store, tmp_path / "absent.csv")
