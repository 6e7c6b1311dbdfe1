"""The site: bucket I/O, ingest, and the ``oods`` command line."""

from .calibrations import ingest_calibrations, put
from .config import SiteConfig, load_config
from .errors import ConfigError, IngestRejected, InvalidNameError, OodsError, StorageError
from .ingest import FileResult, IngestReport, ingest
from .records import update_records
from .simulate import Night, simulate_night
from .site import Site
from .sources import find_files

__all__ = [
    "ConfigError",
    "FileResult",
    "IngestRejected",
    "IngestReport",
    "InvalidNameError",
    "Night",
    "OodsError",
    "Site",
    "SiteConfig",
    "StorageError",
    "find_files",
    "ingest",
    "ingest_calibrations",
    "load_config",
    "put",
    "simulate_night",
    "update_records",
]
