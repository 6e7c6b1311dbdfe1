"""How live arrival went: the ``arrivals`` table summed up (what `oods arrivals` prints).

``oods serve`` records one row per landed file with ``arrived_at`` (the file complete in
landing) and ``recorded_at`` (its row committed: for an ingested file, the moment its
dataset became queryable). The difference is the latency a summit client waiting for
``imageInOODS`` sees, so the summary reads it from the catalog itself, not from the
service's process-local metrics: it holds for any past run, and for a restarted service.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from .site import Site

#: The latency percentiles reported, as fractions.
PERCENTILES = (0.5, 0.95, 0.99)


@dataclasses.dataclass(frozen=True)
class Latency:
    """Arrival -> queryable seconds of the ingested files: percentiles and the worst."""

    files: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclasses.dataclass(frozen=True)
class ArrivalSummary:
    """Counts by status, latency of the ingested files and the rate, over a selection."""

    by_status: dict[str, int]
    latency: Latency | None  # None when no file was ingested
    first_arrived: dt.datetime | None
    last_recorded: dt.datetime | None

    @property
    def files(self) -> int:
        return sum(self.by_status.values())

    @property
    def seconds(self) -> float:
        """From the first file complete in landing to the last row committed."""
        if self.first_arrived is None or self.last_recorded is None:
            return 0.0
        return max(0.0, (self.last_recorded - self.first_arrived).total_seconds())

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "by_status": dict(self.by_status),
            "latency_seconds": dataclasses.asdict(self.latency) if self.latency else None,
            "first_arrived": self.first_arrived,
            "last_recorded": self.last_recorded,
            "seconds": self.seconds,
            "files_per_second": self.files_per_second,
        }


def summarize_arrivals(
    site: Site,
    since: dt.datetime | None = None,
    after_seq: int | None = None,
    path_prefix: str | None = None,
) -> ArrivalSummary:
    """Sum up the arrivals recorded: those complete at or after ``since``, numbered
    above ``after_seq``, landed under ``path_prefix`` (each filter only when given)."""
    where, params = _selection(since, after_seq, path_prefix)
    counts = site.sql(
        f"SELECT status, count(*) FROM arrivals WHERE {where} GROUP BY 1 ORDER BY 1", params
    ).fetchall()
    first, last = site.sql(
        f"SELECT min(arrived_at), max(recorded_at) FROM arrivals WHERE {where}", params
    ).fetchall()[0]
    files, quantiles, worst = site.sql(
        "SELECT count(*), quantile_cont(lag, ?), max(lag) FROM ("
        "  SELECT epoch(recorded_at) - epoch(arrived_at) AS lag FROM arrivals"
        f"  WHERE status = 'ingested' AND {where})",
        [list(PERCENTILES), *params],
    ).fetchall()[0]
    latency = None
    if files:  # clock steps can make a lag negative: reported as 0
        p50, p95, p99 = (max(0.0, float(q)) for q in quantiles)
        latency = Latency(int(files), p50, p95, p99, max(0.0, float(worst)))
    return ArrivalSummary({status: int(n) for status, n in counts}, latency, first, last)


def _selection(
    since: dt.datetime | None, after_seq: int | None, path_prefix: str | None
) -> tuple[str, list[object]]:
    clauses, params = ["true"], []
    if since is not None:
        clauses.append("arrived_at >= ?")
        params.append(since if since.tzinfo else since.replace(tzinfo=dt.UTC))
    if after_seq is not None:
        clauses.append("seq > ?")
        params.append(after_seq)
    if path_prefix is not None:
        clauses.append("starts_with(path, ?)")
        params.append(path_prefix)
    return " AND ".join(clauses), params
