"""Replica: keep this site and another (the DBB, the permanent archive) in step.

Every command works from a plan recomputed as a diff of the two catalogs (see
``replica.plan``), so it is idempotent and resumable. ``push`` sends raws and
certified calibrations to the archive; ``pull`` brings subsets back as a cache;
``sync_metadata`` makes every archived dataset known here, ``fetch`` brings its bytes.
"""

from .metadata import MetadataReport, fetch, sync_metadata
from .plan import Plan, Transfer, plan_transfers
from .pull import pull, pull_plan, select_datasets
from .push import push, push_corrections, push_plan, release_pushed
from .replicate import ReplicaReport
from .status import ReplicaStatus, push_backlog_bound, replica_status
from .sync import SyncReport, sync, sync_plans, sync_task

__all__ = [
    "MetadataReport",
    "Plan",
    "ReplicaReport",
    "ReplicaStatus",
    "SyncReport",
    "Transfer",
    "fetch",
    "plan_transfers",
    "pull",
    "pull_plan",
    "push",
    "push_backlog_bound",
    "push_corrections",
    "push_plan",
    "release_pushed",
    "replica_status",
    "select_datasets",
    "sync",
    "sync_metadata",
    "sync_plans",
    "sync_task",
]
