"""Errors raised by the site layer.

OodsError
├── ConfigError(ValueError)      the site configuration is missing or invalid
├── StorageError                 the object store refused or failed a request
├── IngestRejected               a file could not be ingested (kept per file in reports)
└── InvalidNameError(ValueError) a run, dataset type or filter cannot be part of a key
"""

from __future__ import annotations


class OodsError(Exception):
    """Base of every error the ``oods`` package raises."""


class ConfigError(OodsError, ValueError):
    """The site configuration is missing or invalid; the message says how to fix it."""


class StorageError(OodsError):
    """The object store failed a request (server down, access denied, bad digest)."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


class IngestRejected(OodsError):
    """A file was not ingested; ``failure`` is ``metadata`` or ``ingest``."""

    def __init__(self, source: str, failure: str, reason: str) -> None:
        self.source = source
        self.failure = failure
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class InvalidNameError(OodsError, ValueError):
    """A name given for keys (run, dataset type, instrument, filter) is unsafe."""
