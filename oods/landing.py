"""The landing folder: which files are complete, and where they go once handled.

A file is complete once its writer closed it, or renamed it into place (inotify's
close-after-write and moved-to events, through ``watchdog``), and it has not changed
since: it is handed out at the next poll, with no wait. A file no event vouches for
(events are off, or were lost, or it was copied in by a program that keeps it open) is
complete once its size and mtime are the same on two polls and it has not been
modified for ``settle`` seconds, so a writer that pauses mid-file for less than that
is not caught half-way. Every poll lists the whole folder: it is also the rescan that
catches anything an event missed, and the first poll finds what landed while the
service was down. Hidden files and ``*.tmp``/``*.part`` names (a writer's temporary
names before its rename) are ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger("oods.serve.landing")

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
        #: Files whose writer closed or renamed them: their (size, mtime) then.
        self._closed: dict[Path, tuple[int, int]] = {}
        self._closed_lock = threading.Lock()
        self._observer: Any = None
        #: Set when an event arrives, so that the caller's wait ends at once.
        self.activity = threading.Event()

    def start_events(self) -> bool:
        """Watch for closed and renamed files (inotify); False if the system refuses
        (e.g. out of inotify watches): polling alone still finds every file."""
        observer = Observer()
        observer.schedule(
            _Closed(self),
            str(self.folder),
            recursive=True,
            # Only these: a write or a delete in landing costs no Python at all.
            event_filter=[FileClosedEvent, FileMovedEvent],
        )
        try:
            observer.start()
        except OSError as exc:
            log.warning("%s: no file events (%s); finding files by polling alone", self.folder, exc)
            return False
        self._observer = observer
        return True

    def stop_events(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None

    def wait(self, timeout: float) -> None:
        """Sleep until the next poll is due: ``timeout`` seconds, or an event."""
        self.activity.wait(timeout)
        self.activity.clear()

    def _vouch(self, path: Path) -> None:
        """Record that ``path`` was closed or renamed into place, as it is now."""
        if path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES):
            return
        try:
            stat = path.stat()
        except OSError:
            return  # gone already: nothing to hand out
        with self._closed_lock:
            self._closed[path] = (stat.st_size, stat.st_mtime_ns)
        self.activity.set()

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
            with self._closed_lock:
                closed = self._closed.get(path) == signature
            stable = self._seen.get(path) == signature
            if closed or (stable and now - stat.st_mtime >= self.settle):
                ready.append(Landed(path, stat.st_size, stat.st_mtime))
        self._seen = current
        self._handed &= set(current)  # a file moved away may land again under its name
        with self._closed_lock:  # forget events of files handed out or gone
            for path in [p for p in self._closed if p not in current or p in self._handed]:
                del self._closed[path]
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


class _Closed(FileSystemEventHandler):
    """Passes close-after-write and rename-into-place events to the watcher."""

    def __init__(self, watcher: LandingWatcher) -> None:
        self.watcher = watcher

    def on_closed(self, event: FileClosedEvent) -> None:  # type: ignore[override]
        self.watcher._vouch(Path(os.fsdecode(event.src_path)))

    def on_moved(self, event: FileMovedEvent) -> None:  # type: ignore[override]
        if not event.is_directory:
            self.watcher._vouch(Path(os.fsdecode(event.dest_path)))


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
