"""Replica: keep this site and another (the DBB, the permanent archive) in step.

Every command works from a plan recomputed as a diff of the two catalogs (see
``replica.plan``), so it is idempotent and resumable. ``push`` sends raws and
certified calibrations to the archive; ``pull`` brings subsets back as a cache;
``sync_metadata`` makes every archived dataset known here, ``fetch`` brings its bytes.
``push_to_butler`` and ``import_from_butler`` do the same with a Butler repository.
"""

from .butler_import import ButlerImportReport, import_from_butler
from .butler_push import ButlerPushReport, push_to_butler
from .metadata import MetadataReport, fetch, sync_metadata
from .plan import Plan, Transfer, plan_transfers
from .pull import pull, pull_plan, select_datasets
from .push import push, push_corrections, push_plan, release_pushed
from .replicate import ReplicaReport
from .status import ReplicaStatus, push_backlog_bound, replica_status
from .sync import SyncReport, sync, sync_plans, sync_task

__all__ = [
    "ButlerImportReport",
    "ButlerPushReport",
    "MetadataReport",
    "Plan",
    "ReplicaReport",
    "ReplicaStatus",
    "SyncReport",
    "Transfer",
    "fetch",
    "import_from_butler",
    "plan_transfers",
    "pull",
    "pull_plan",
    "push",
    "push_backlog_bound",
    "push_corrections",
    "push_plan",
    "push_to_butler",
    "release_pushed",
    "replica_status",
    "select_datasets",
    "sync",
    "sync_metadata",
    "sync_plans",
    "sync_task",
]
