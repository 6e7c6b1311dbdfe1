"""The landing folder: which files are complete, and where they go once handled.

Polling, not inotify: a poll lists the whole folder, so it is also the rescan that
catches anything an event would have missed, and files that landed while the service
was down are found by the first poll. A file is complete once its size and mtime are
the same on two polls and it has not been modified for ``settle`` seconds: a writer
that pauses mid-file for less than that is not caught half-way. Hidden files and
``*.tmp``/``*.part`` names (a writer's temporary names before its rename) are ignored.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".partial")


@dataclasses.dataclass(frozen=True)
class Landed:
    """A complete file in the landing folder, and when it was last written (epoch s)."""

    path: Path
    size: int
    mtime: float


class LandingWatcher:
    """Tells which files under ``folder`` are complete and not yet handed out."""

    def __init__(self, folder: Path, settle: float, exclude: tuple[Path, ...] = ()) -> None:
        self.folder = folder
        self.settle = settle
        self.exclude = tuple(p.resolve() for p in exclude)
        self._seen: dict[Path, tuple[int, int]] = {}
        self._handed: set[Path] = set()

    def poll(self) -> list[Landed]:
        """Files that became complete since they were last handed out, oldest first."""
        now = time.time()
        current: dict[Path, tuple[int, int]] = {}
        ready: list[Landed] = []
        for path, stat in self._walk():
            signature = (stat.st_size, stat.st_mtime_ns)
            current[path] = signature
            if path in self._handed:
                continue
            stable = self._seen.get(path) == signature
            if stable and now - stat.st_mtime >= self.settle:
                ready.append(Landed(path, stat.st_size, stat.st_mtime))
        self._seen = current
        self._handed &= set(current)  # a file moved away may land again under its name
        ready.sort(key=lambda landed: (landed.mtime, str(landed.path)))
        self._handed.update(landed.path for landed in ready)
        return ready

    def release(self, path: Path) -> None:
        """Let ``path`` be handed out again (its batch was not committed: retry it)."""
        self._handed.discard(path)

    def waiting(self) -> int:
        """Files present but not handed out yet (the backlog still being written)."""
        return len(set(self._seen) - self._handed)

    def _walk(self) -> list[tuple[Path, os.stat_result]]:
        found: list[tuple[Path, os.stat_result]] = []
        stack = [self.folder]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue  # vanished or unreadable meanwhile: the next poll sees it
            for entry in entries:
                if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIXES):
                    continue
                path = Path(entry.path)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if path.resolve() not in self.exclude:
                            stack.append(path)
                    elif entry.is_file(follow_symlinks=False):
                        found.append((path, entry.stat(follow_symlinks=False)))
                except OSError:
                    continue
        return found


def move_beside(path: Path, landing: Path, target: Path) -> Path:
    """Move ``path`` (under ``landing``) to the same relative place under ``target``.

    Never overwrites: a name already taken there gets a numbered suffix.
    """
    try:
        relative = path.relative_to(landing)
    except ValueError:
        relative = Path(path.name)
    destination = target / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = destination, 1
    while candidate.exists():
        candidate = destination.with_name(f"{destination.name}.{n}")
        n += 1
    shutil.move(str(path), str(candidate))
    return candidate
