"""Bulk download of present files, each checked against the catalog's SHA-256 as it streams.

A file is written under a temporary name beside its destination and renamed into place
only once its size and checksum match the catalog, so an interrupted or corrupt
transfer never leaves a partial file under the final name. Files already at the
destination with the same bytes are skipped (a re-run resumes); a different file there
is left alone unless ``force`` is given.

Destinations mirror the object keys (``<to>/<instrument>/raw/<day_obs>/<exposure>/…``),
the layout ``mc cp --recursive`` and ``rclone copy`` give, so names never collide.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import _s3
from .datasets import Located, not_present_reason
from .selection import select_files
from .site import Site

Progress = Callable[[int], None]
CHUNK = 1 << 20

DOWNLOADED, SKIPPED, PLANNED, FAILED = "downloaded", "skipped", "planned", "failed"


@dataclasses.dataclass(frozen=True)
class Fetched:
    """What happened to one file: downloaded, skipped (same bytes already there),
    planned (a dry run would download it) or failed (``reason`` says why)."""

    key: str
    dataset_id: str | None
    path: str | None
    status: str
    size: int = 0
    reason: str | None = None

    def line(self) -> str:
        where = self.path or self.key
        if self.status == FAILED:
            return f"{where}: failed: {self.reason}"
        return f"{where}: {self.status}"


@dataclasses.dataclass
class GetReport:
    """The outcome of one ``get``, file by file."""

    results: list[Fetched] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def _with(self, status: str) -> list[Fetched]:
        return [r for r in self.results if r.status == status]

    @property
    def downloaded(self) -> list[Fetched]:
        return self._with(DOWNLOADED)

    @property
    def skipped(self) -> list[Fetched]:
        return self._with(SKIPPED)

    @property
    def planned(self) -> list[Fetched]:
        return self._with(PLANNED)

    @property
    def failed(self) -> list[Fetched]:
        return self._with(FAILED)

    @property
    def bytes(self) -> int:
        """Bytes downloaded (by a dry run: that would be)."""
        return sum(r.size for r in self.downloaded + self.planned)

    def summary(self) -> dict[str, object]:
        return {
            "downloaded": len(self.downloaded),
            "skipped": len(self.skipped),
            "planned": len(self.planned),
            "failed": len(self.failed),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }

    def to_dict(self) -> dict[str, object]:
        return {**self.summary(), "files": [dataclasses.asdict(r) for r in self.results]}


def get(
    site: Site,
    to: str | os.PathLike[str],
    where: str | None = None,
    dataset_ids: Iterable[str] | None = None,
    *,
    workers: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> GetReport:
    """Download the present files a predicate or ids select into ``to``, verified.

    Args:
        site: the site (its latest catalog).
        to: the destination folder; each file goes to ``to/<object key>``.
        where: a SQL predicate over the ``files`` table; None for every present file.
        dataset_ids: only these datasets; an id naming no present dataset is a failed
            result, the others are still downloaded.
        workers: parallel downloads (default: the site's ``workers``).
        force: replace a different file already at a destination (default: keep it
            and report the file as failed).
        dry_run: only say what would be downloaded, skipped or refused; write nothing.
        progress: called with the number of files finished, as they finish.

    Returns:
        A ``GetReport``; per-file failures are in it, never raised.

    Raises:
        SelectionError: ``where`` is not a valid predicate over ``files``.

    Example:
        >>> report = get(Site.open(), "raws", "exposure = 2025060100005")
        >>> report.summary()["downloaded"]
    """
    started = time.perf_counter()
    selection = select_files(site, where, dataset_ids)
    root = Path(to).resolve()
    report = GetReport(dry_run=dry_run)
    for unknown in selection.unknown:
        reason = (
            "no present dataset with this id matches --where"
            if where
            else not_present_reason(site, unknown)
        )
        report.results.append(Fetched(unknown, unknown, None, FAILED, reason=reason))

    def one(located: Located) -> Fetched:
        return _fetch(site, located, root, force, dry_run)

    with ThreadPoolExecutor(workers or site.config.workers) as pool:
        for result in pool.map(one, selection.files):
            report.results.append(result)
            if progress is not None:
                progress(1)
    report.seconds = time.perf_counter() - started
    return report


def _fetch(site: Site, located: Located, root: Path, force: bool, dry_run: bool) -> Fetched:
    target = (root / located.key).resolve()

    def result(status: str, reason: str | None = None) -> Fetched:
        size = located.size if status in (DOWNLOADED, PLANNED) else 0
        return Fetched(located.key, located.dataset_id, str(target), status, size, reason)

    if not target.is_relative_to(root):
        return result(FAILED, f"key {located.key!r} would be written outside {root}")
    try:
        existing = _existing(target, located)
    except OSError as exc:
        return result(FAILED, f"cannot read the file already there: {exc.strerror or exc}")
    if existing == "same":
        return result(SKIPPED)
    if existing == "different" and not force:
        return result(FAILED, "a different file is already there; not overwritten (--force)")
    if existing == "not a file":
        return result(FAILED, "something other than a file is already there")
    if dry_run:
        return result(PLANNED)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return result(FAILED, f"cannot create {target.parent}: {exc.strerror or exc}")
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        failure = _stream(site, located, partial)
        if failure is None:
            failure = _place(partial, target, located, replace=force)
    except OSError as exc:
        failure = f"cannot write: {exc.strerror or exc}"
    finally:
        partial.unlink(missing_ok=True)
    if failure == "same":
        return result(SKIPPED)
    return result(FAILED, failure) if failure else result(DOWNLOADED)


def _existing(target: Path, located: Located) -> str | None:
    """None (nothing there), ``same`` bytes, ``different`` bytes, or ``not a file``."""
    if not target.exists():
        return None
    if not target.is_file():
        return "not a file"
    if target.stat().st_size != located.size:
        return "different"
    with open(target, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    return "same" if digest == located.checksum else "different"


def _stream(site: Site, located: Located, partial: Path) -> str | None:
    """Write the object to ``partial``, hashing as it goes; the failure, or None.

    Store failures come back as reasons; a local disk failure raises ``OSError``.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        body: Any = site.s3.get_object(Bucket=site.bucket, Key=located.key)["Body"]
    except _s3.TRANSPORT_ERRORS as exc:
        if _s3.error_code(exc) in ("NoSuchKey", "404"):
            return "storage: the object is missing from the bucket (see `oods fsck`)"
        return f"storage: {_s3.describe(exc)}"
    with open(partial, "xb") as file:
        while True:
            try:
                chunk = body.read(CHUNK)
            except _s3.TRANSPORT_ERRORS as exc:
                return f"storage: {_s3.describe(exc)}"
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
        file.flush()
        os.fsync(file.fileno())
    if size != located.size:
        return f"the object has {size} bytes, the catalog says {located.size}; nothing written"
    if digest.hexdigest() != located.checksum:
        return (
            f"checksum mismatch: sha256 {digest.hexdigest()[:12]}…, the catalog says "
            f"{located.checksum[:12]}…; nothing written"
        )
    return None


def _place(partial: Path, target: Path, located: Located, replace: bool) -> str | None:
    """Give the verified file its final name; ``same`` if identical bytes got there first.

    Without ``replace`` a hard link creates the name only if it is free (atomic, so a
    file that appeared since the first look is never overwritten).
    """
    if replace:
        os.replace(partial, target)
        return None
    try:
        os.link(partial, target)
        return None
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if not target.exists():  # a file system without hard links
            os.replace(partial, target)
            return None
    if _existing(target, located) == "same":
        return "same"
    return "a different file is already there; not overwritten (--force)"
