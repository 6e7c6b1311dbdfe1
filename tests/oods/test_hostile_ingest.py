"""Hostile input at ingest (issues 8 and 14), against a real MinIO: the walk passes over
what is not FITS with a note, never blocks on a FIFO, and a batch full of hostile files
ingests its good files, refuses each bad one in one line, and overwrites nothing."""

from __future__ import annotations

import collections
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from astropy.io import fits

from oods import Site, ingest, simulate_night
from oods.ingest import FileResult, read_file_head
from oods.sources import Note, scan_sources
from tests.catalog.hostile_corpus import cases
from tests.cli_invoke import run, site_config_file

NOT_FITS = "skipped: not a FITS file by name (.fits, .fit, .fts, .fz)"
FIFO = "skipped: not a regular file (a FIFO)"
LINKED_FOLDER = "skipped: a symbolic link to a folder, not followed"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _notes(notes: list[Note], root: Path) -> dict[str, str]:
    return {str(Path(n.path).relative_to(root)): n.reason for n in notes}


def test_scan_takes_fits_names_and_notes_the_rest(tmp_path: Path) -> None:
    raws = simulate_night(tmp_path / "night", detectors=1, exposures=1, seed=1, size=4).files
    top = tmp_path / "night"
    extra = top / "extra"
    extra.mkdir()
    for name in ("A.FITS", "b.fit", "c.fts", "d.fits.fz", "e.FZ"):
        shutil.copy(raws[0], extra / name)
    (extra / "README.txt").write_text("the night's notes\n")
    (extra / "log.fits.gz").write_bytes(b"\x1f\x8b")
    (extra / ".hidden.fits").write_bytes(b"")
    os.mkfifo(extra / "pipe.fits")
    (extra / "linked").symlink_to(tmp_path / "night", target_is_directory=True)
    (extra / "raw_link.fits").symlink_to(raws[0])
    (extra / "dangling.fits").symlink_to(tmp_path / "nowhere.fits")
    (top / "empty").mkdir()

    sources = scan_sources([top])
    names = [str(p.relative_to(top)) for p in sources.files]
    assert names == [
        *(str(p.relative_to(top)) for p in raws),
        "extra/A.FITS",
        "extra/b.fit",
        "extra/c.fts",
        "extra/d.fits.fz",
        "extra/dangling.fits",  # tried, so that its failure is reported
        "extra/e.FZ",
        "extra/raw_link.fits",
    ]
    assert _notes(sources.notes, top) == {
        "extra/README.txt": NOT_FITS,
        "extra/linked": LINKED_FOLDER,
        "extra/log.fits.gz": NOT_FITS,
        "extra/pipe.fits": FIFO,
    }
    # Named explicitly: a non-FITS name is tried, a FIFO is not, an empty folder says so.
    explicit = scan_sources([extra / "README.txt", extra / "pipe.fits", top / "empty"])
    assert explicit.files == [extra / "README.txt"]
    assert _notes(explicit.notes, top) == {
        "extra/pipe.fits": FIFO,
        "empty": "no FITS files found in this folder",
    }
    assert scan_sources(sources) is sources  # a scan given back is not walked again


@pytest.mark.timeout(60)
def test_a_fifo_never_blocks_ingest(site: Site, tmp_path: Path) -> None:
    """Before: open() on a FIFO with no writer waited forever, with no line printed."""
    fifo = tmp_path / "raw.fits"
    os.mkfifo(fifo)
    report = ingest(site, [fifo, tmp_path])
    assert not report.results and not report.failed
    assert [n.reason for n in report.notes] == [FIFO, FIFO, "no FITS files found in this folder"]
    head = read_file_head(fifo)  # the reader itself refuses it without blocking
    assert isinstance(head, FileResult) and head.failure == "ingest"
    assert head.reason == "unreadable: not a regular file (a FIFO)"


def _hostile_names() -> list[str]:
    return [
        "a..b.fits",
        "x..fits",
        "%2e%2e%2fetc.fits",
        "100%.fits",
        "naïve ☃.fits",
        "line\nbreak.fits",
        "tab\tand\x1b[31mred.fits",
        "x" * 240 + ".fits",
        "-rf .fits",
        "C:\\raw.fits",
    ]


#: Header values that look like paths: kept as data, never a part of a key. OBSID is
#: in the key, so the raw that claims "../../etc/passwd" is refused instead.
_PATH_VALUES = {"OBJECT": "%00/..", "PROGRAM": "a/b/../../c", "OBSID": "../../etc/passwd"}


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Iterator[tuple[Path, list[Path], dict[str, int]]]:
    """A folder of good raws (some with hostile names or values) among every hostile
    corpus case, non-FITS files, a FIFO and a symbolic link to a folder."""
    top = tmp_path / "in"
    night = simulate_night(tmp_path / "sim", detectors=14, exposures=1, seed=5, size=4).files
    good = top / "good"
    good.mkdir(parents=True)
    kept: list[Path] = []
    names = _hostile_names()
    for raw, name in zip(night, names, strict=False):
        target = good / name
        shutil.copy(raw, target)
        kept.append(target)
    # Not UTF-8: the catalog cannot keep the name, so the file is refused (not a crash).
    weird = good / bytes.decode(b"latin1-\xe9\xff.fits", "utf-8", "surrogateescape")
    shutil.copy(night[len(names)], weird)
    for raw, (card, value) in zip(night[len(names) + 1 :], _PATH_VALUES.items(), strict=False):
        target = good / f"value_{card}.fits"
        shutil.copy(raw, target)
        fits.setval(target, card, value=value)
        if card != "OBSID":
            kept.append(target)
    hostile = top / "hostile"
    hostile.mkdir()
    kinds: dict[str, int] = collections.Counter()
    for index, case in enumerate(cases()):
        (hostile / f"{index:03d}_{case.name[-200:]}").write_bytes(case.data)
        kinds[case.kind] += 1
    (top / "README.txt").write_text("not FITS\n")
    (top / "checksums.md5").write_text("0 raw.fits\n")
    os.mkfifo(top / "pipe.fits")
    (top / "linked").symlink_to(good, target_is_directory=True)
    (top / "empty").mkdir()
    yield top, kept, kinds


_KEY = re.compile(r"LSSTCam/raw/20250601/[A-Za-z0-9_]+/[A-Za-z0-9][A-Za-z0-9._+-]*")


def test_hostile_batch_ingests_the_good_and_refuses_the_rest_in_one_line(
    site: Site, hostile_folder: tuple[Path, list[Path], dict[str, int]]
) -> None:
    top, good, kinds = hostile_folder
    report = ingest(site, [top])
    counts = collections.Counter(f"{r.status} {r.failure or ''}".strip() for r in report.results)
    counts.update(f"note: {n.reason}" for n in report.notes)
    print("\n" + "\n".join(f"{n:5} {what}" for what, n in sorted(counts.items())))  # -s

    ingested = {Path(r.path) for r in report.ingested}
    assert ingested == set(good)
    failed = report.failed
    (not_utf8,) = [r for r in failed if Path(r.path).name.startswith("latin1-")]
    assert not_utf8.failure == "ingest" and "not valid UTF-8" in str(not_utf8.reason)
    assert "\\udce9\\udcff.fits: ingest failure:" in not_utf8.line()
    (bad_obs_id,) = [r for r in failed if Path(r.path).name == "value_OBSID.fits"]
    assert bad_obs_id.failure == "metadata" and "obs_id" in str(bad_obs_id.reason)
    failed = [r for r in failed if r not in (not_utf8, bad_obs_id)]
    assert {Path(r.path).parent.name for r in failed} == {"hostile"}
    assert len(failed) == sum(kinds.values()) >= 300
    for result in failed:
        assert result.failure == "metadata", result
        assert str(result.reason).isprintable(), result  # one line, no control bytes
        assert "\n" not in result.line() and result.line().isprintable()
    assert _notes(report.notes, top) == {
        "README.txt": NOT_FITS,
        "checksums.md5": NOT_FITS,
        "linked": LINKED_FOLDER,
        "pipe.fits": FIFO,
    }
    # Every key stays in the layout; every object holds its file's exact bytes.
    rows = site.sql("SELECT key, checksum FROM locations").fetchall()
    assert len(rows) == len(good)
    for key, checksum in rows:
        assert _KEY.fullmatch(key) and ".." not in key, key
        body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
        assert _sha256(body) == checksum
    assert {c for _, c in rows} == {_sha256(p.read_bytes()) for p in good}
    listed = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/")
    assert listed["KeyCount"] == len(good)  # nothing of a refused file reached the bucket

    # Again: the good are skipped, the bad refused the same way, nothing overwritten.
    again = ingest(site, [top])
    assert not again.ingested and len(again.skipped) == len(good)
    assert sorted((r.path, str(r.reason)) for r in again.failed) == sorted(
        (r.path, str(r.reason)) for r in report.failed
    )
    assert site.sql("SELECT key, checksum FROM locations").fetchall() == rows


def test_cli_notes_what_it_passes_over_and_exits_0(
    site: Site, tmp_path: Path, clean_env: Path
) -> None:
    """Before: a README.txt in a night folder was an ingest failure (exit 4), and an
    empty folder exited 0 without a word."""
    config = site_config_file(site, tmp_path)
    night = tmp_path / "night"
    files = simulate_night(night, detectors=2, exposures=1, seed=2, size=4).files
    (night / "README.txt").write_text("the night's notes\n")
    os.mkfifo(night / "pipe.fits")
    result = run(config, "ingest", str(night))
    assert result.exit_code == 0, result.output
    assert f"note: {night / 'README.txt'}: {NOT_FITS}" in result.stderr.splitlines()
    assert f"note: {night / 'pipe.fits'}: {FIFO}" in result.stderr.splitlines()
    assert f"ingested {len(files)}, skipped 0 (already there), failed 0" in result.stdout

    (tmp_path / "empty").mkdir()
    empty = run(config, "ingest", str(tmp_path / "empty"))
    assert empty.exit_code == 0
    assert f"{tmp_path / 'empty'}: no FITS files found in this folder" in empty.stderr
    assert "ingested 0" in empty.stdout

    explicit = run(config, "ingest", str(night / "README.txt"), "--json")  # asked for: tried
    assert explicit.exit_code == 4
    assert '"failure": "metadata"' in explicit.stdout


@pytest.mark.timeout(300)
def test_cli_hostile_batch_prints_one_line_per_refusal(
    site: Site, hostile_folder: tuple[Path, list[Path], dict[str, int]], clean_env: Path
) -> None:
    top, good, kinds = hostile_folder
    result = run(site_config_file(site, top.parent), "ingest", str(top))
    assert result.exit_code == 4
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    failures = [line for line in lines if ": metadata failure: " in line]
    failures += [line for line in lines if ": ingest failure: the file name is not" in line]
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(failures) == sum(kinds.values()) + 2 and len(notes) == 4
    # The raws given path-like OBJECT and PROGRAM values disagree with their exposure's.
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 2 and all("headers disagree" in line for line in warnings)
    assert len(lines) == len(failures) + len(notes) + 2  # nothing else, nothing multi-line
    assert f"ingested {len(good)}, skipped 0" in result.stdout
