"""The site: bucket I/O, ingest, and the ``oods`` command line."""

from .calibrations import ingest_calibrations, put
from .config import SiteConfig, load_config
from .download import GetReport, get
from .errors import (
    ConfigError,
    IngestRejected,
    InvalidNameError,
    OodsError,
    SiteNotFound,
    SiteUnavailable,
    StorageError,
)
from .fsck import FsckReport, Problem, fsck, verify
from .ingest import FileResult, IngestReport, ingest
from .ingest_plan import plan_ingest
from .records import update_records
from .simulate import Night, simulate_night
from .site import Site
from .sources import Sources, find_files, scan_sources
from .status import SiteStatus, site_status

__all__ = [
    "ConfigError",
    "FileResult",
    "FsckReport",
    "GetReport",
    "IngestRejected",
    "IngestReport",
    "InvalidNameError",
    "Night",
    "OodsError",
    "Problem",
    "Site",
    "SiteConfig",
    "SiteNotFound",
    "SiteStatus",
    "SiteUnavailable",
    "Sources",
    "StorageError",
    "find_files",
    "fsck",
    "get",
    "ingest",
    "ingest_calibrations",
    "load_config",
    "plan_ingest",
    "put",
    "scan_sources",
    "simulate_night",
    "site_status",
    "update_records",
    "verify",
]
