"""``sync``: the one command an operator schedules — push, refresh metadata, pull subsets.

In that order: what the archive lacks goes first (it is what may not be lost), with
the corrections made here to records it already holds; then the archive's rows come
back (every dataset known here, its corrections included); then the standing subsets
(``[sites.<name>] standing``, each pulled with its closure). A server that stops
answering during the push ends the sync there: the rest would only wait out
timeouts, and the next sync resumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from oods import Site, SiteConfig
from oods.background import BackgroundTask
from oods.sites import named_site_config, standing_subsets

from .metadata import MetadataReport, sync_metadata
from .plan import Plan
from .pull import pull, pull_plan
from .push import push, push_corrections, push_plan
from .replicate import Progress, ReplicaReport
from .rows import RowsCopied


@dataclasses.dataclass
class SyncReport:
    """The push, the metadata refresh and each standing pull of one sync."""

    push: ReplicaReport
    corrections: RowsCopied = dataclasses.field(default_factory=RowsCopied)
    metadata: MetadataReport | None = None
    pulls: list[ReplicaReport] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.push.ok and self.metadata is not None and all(p.ok for p in self.pulls)

    def lines(self) -> list[str]:
        lines = self.push.lines()
        for report in self.pulls:
            lines.extend(report.lines())
        if self.metadata is None:
            lines.append("metadata and standing pulls not done: the push did not finish")
        return lines

    def notes(self) -> list[str]:
        """Columns dropped or defaulted anywhere in this sync, once each."""
        found = set(self.push.notes) | set(self.corrections.notes)
        found.update(self.metadata.notes if self.metadata else ())
        for report in self.pulls:
            found.update(report.notes)
        return sorted(found)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "notes": self.notes(),
            "push": self.push.to_dict(),
            "corrections_sent": self.corrections.rows,
            "metadata": None if self.metadata is None else self.metadata.to_dict(),
            "pulls": [p.to_dict() for p in self.pulls],
        }


def sync_plans(local: Site, remote: Site, standing: Sequence[str]) -> list[Plan]:
    """What a sync would copy now: the push, then each standing pull."""
    return [push_plan(local, remote)] + [pull_plan(local, remote, w, True) for w in standing]


def sync(
    local: Site,
    remote: Site,
    standing: Sequence[str] = (),
    progress: Progress | None = None,
    release: bool = True,
    release_to: str | None = None,
) -> SyncReport:
    """Push what ``remote`` lacks, copy its catalog rows here, pull ``standing`` subsets."""
    report = SyncReport(push(local, remote, progress, release=release, release_to=release_to))
    if report.push.not_done:
        return report
    report.corrections = push_corrections(local, remote)
    report.metadata = sync_metadata(local, remote)
    report.pulls = [pull(local, remote, where, closure=True) for where in standing]
    return report


def sync_task(
    remote: SiteConfig, standing: Sequence[str] = (), interval: float = 300.0
) -> BackgroundTask:
    """``sync`` as a background task of ``oods serve`` (``ServiceConfig.tasks``).

    The remote site is opened on each run, so a DBB that was down at start or went
    down meanwhile costs one failed run (logged by the service), not the service.
    """

    def run(local: Site) -> SyncReport:
        with Site.open(remote, create=False) as other:
            return sync(local, other, standing)

    return BackgroundTask(f"replica sync with {remote.bucket}", interval, run)


def serve_task(name: str, config_path: Path | str | None, interval: float) -> BackgroundTask:
    """The ``oods.serve_tasks`` entry point: ``sync`` with the site ``[sites.<name>]``
    every ``interval`` seconds (``oods serve --sync-with NAME``)."""
    return sync_task(
        named_site_config(name, config_path), standing_subsets(name, config_path), interval
    )
