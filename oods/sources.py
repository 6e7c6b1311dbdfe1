"""Which files an ingest takes from the paths it is given, and what it passes over.

A folder is walked recursively, in name order, with hidden entries (``.name``) left out
silently. Inside a folder only FITS files by name are taken (``.fits``, ``.fit``,
``.fts``, ``.fz``, ``.fits.fz``, any case); everything else gets a note, never a failure:
a README beside the raws is not an error. A path named explicitly is always tried,
whatever its name (the user asked for it), but nothing that is not a regular file is
opened: a FIFO named ``*.fits`` would block ``open()`` forever. Symbolic links to
folders are not followed inside a walk (a link can loop, or lead out of the tree); one
named explicitly is. A folder with no FITS file in it says so. A FITS file whose name
is not valid UTF-8 is refused (a failure, not a note): the catalog keeps names as text.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

#: Names taken from a folder, compared in lower case.
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz")
_NOT_UTF8 = "the file name is not valid UTF-8 (the catalog keeps names as text); rename it"


@dataclasses.dataclass(frozen=True)
class Note:
    """A path passed over (or a folder found empty), with the reason, for the user."""

    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclasses.dataclass
class Sources:
    """The files to ingest, in order, a note for each entry passed over, and the files
    refused before they are opened (``refused``: their reason, to report as failures).

    Iterating gives the files, so a ``Sources`` can stand wherever paths are expected
    (and is then not walked again).
    """

    files: list[Path] = dataclasses.field(default_factory=list)
    notes: list[Note] = dataclasses.field(default_factory=list)
    refused: list[Note] = dataclasses.field(default_factory=list)

    def take(self, path: Path) -> None:
        """Add a file to ingest, or to ``refused`` if its name cannot be kept."""
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            self.refused.append(Note(str(path), _NOT_UTF8))
        else:
            self.files.append(path)

    def __iter__(self) -> Iterator[Path]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


def is_fits_name(name: str) -> bool:
    """True if ``name`` ends in a FITS suffix (any case)."""
    return name.lower().endswith(FITS_SUFFIXES)


def scan_sources(paths: Iterable[str | Path]) -> Sources:
    """The files named or found under ``paths``, and notes on what was passed over.

    A path that cannot be looked at (missing, unreadable) is kept as a file: trying it
    gives the user the failure with its reason.
    """
    if isinstance(paths, Sources):
        return paths
    sources = Sources()
    for path in map(Path, paths):
        try:
            mode = path.stat().st_mode
        except OSError:  # missing, a dangling link: trying it reports why
            sources.take(path)
            continue
        except ValueError:  # a NUL in the name: no file can have it
            sources.notes.append(Note(repr(str(path)), "skipped: a NUL byte in the name"))
            continue
        if stat.S_ISDIR(mode):
            found = len(sources.files) + len(sources.refused)
            _walk(path, sources)
            if len(sources.files) + len(sources.refused) == found:
                sources.notes.append(Note(str(path), "no FITS files found in this folder"))
        elif stat.S_ISREG(mode):
            sources.take(path)
        else:
            sources.notes.append(Note(str(path), _not_regular(mode)))
    return sources


def find_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files ``scan_sources`` takes, then those it refused (for callers that report
    per file as they read), without its notes."""
    sources = scan_sources(paths)
    yield from sources.files
    yield from (Path(n.path) for n in sources.refused)


def _walk(top: Path, sources: Sources) -> None:
    """Add the FITS files under ``top`` (depth first, names sorted) and notes."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            sources.notes.append(Note(str(folder), f"folder not read: {exc.strerror or exc}"))
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            note = _passed_over(entry, folders)
            if note is not None:
                sources.notes.append(Note(str(path), note))
            elif not entry.is_dir(follow_symlinks=False):
                sources.take(path)
        stack.extend(reversed(folders))


def _passed_over(entry: os.DirEntry[str], folders: list[Path]) -> str | None:
    """Why ``entry`` is not taken as a file (None: take it); folders go to ``folders``."""
    try:
        if entry.is_dir(follow_symlinks=False):
            folders.append(Path(entry.path))
            return None
        if entry.is_symlink() and entry.is_dir():
            return "skipped: a symbolic link to a folder, not followed"
        if not is_fits_name(entry.name):
            return "skipped: not a FITS file by name (.fits, .fit, .fts, .fz)"
        if entry.is_symlink() and not os.path.exists(entry.path):
            return None  # dangling: tried, so that its failure is reported
        mode = entry.stat().st_mode
    except OSError:
        return None  # vanished or unreadable: trying it reports why
    return None if stat.S_ISREG(mode) else _not_regular(mode)


def _not_regular(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a plain file")
    return f"skipped: not a regular file ({kind})"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading; OSError for anything else, without blocking.

    O_NONBLOCK keeps ``open()`` from waiting on a FIFO that has no writer (the check
    that follows refuses it); on a regular file the flag changes nothing.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{_not_regular(mode).removeprefix('skipped: ')}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
