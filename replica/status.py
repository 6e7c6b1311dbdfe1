"""``status``: the backlog in each direction between this site and another.

``push`` is what the next push would send (raws and certified calibrations the other
site lacks); ``pull`` is everything the other site holds that this one does not, which
is the most a pull could bring (a cache pulls subsets of it, so this is not a backlog).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oods import Site

from .plan import PUSHED, Plan, Transfer, plan_transfers
from .push import push_plan


@dataclasses.dataclass(frozen=True)
class ReplicaStatus:
    """The pending transfers each way, as plans."""

    push: Plan
    pull: Plan

    def to_dict(self) -> dict[str, Any]:
        return {"push": self.push.summary(), "pull": self.pull.summary()}


def push_backlog_bound(local: Site, other: str) -> Plan:
    """Everything ``push`` sends that ``local`` holds: the most the push backlog can be,
    shown when ``other`` cannot be asked (down) and so no diff can be made."""
    local.refresh()
    rows = local.sql(
        "SELECT dataset_id, dataset_type, instrument, key, size, checksum, file_name, "
        f"stored_at FROM files f WHERE {PUSHED} ORDER BY stored_at, key"
    ).fetchall()
    return Plan(local.bucket, other, tuple(Transfer(*row) for row in rows))


def replica_status(local: Site, other: Site) -> ReplicaStatus:
    """Pending datasets, bytes and the oldest pending, from ``local`` to ``other`` and back."""
    return ReplicaStatus(push=push_plan(local, other), pull=plan_transfers(other, local))
