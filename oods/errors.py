"""Errors raised by the site layer.

OodsError
├── ConfigError(ValueError)      the site configuration is missing or invalid
├── SiteNotFound(LookupError)    a reader opened a site that was never created
├── SiteUnavailable              a configured site's endpoint does not answer
├── StorageError                 the object store refused or failed a request
├── IngestRejected               a file could not be ingested (kept per file in reports)
└── InvalidNameError(ValueError) a run, dataset type or filter cannot be part of a key
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b`` …), so that a file
    name holding a newline cannot forge a line of output such as a fake "ingested"."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class OodsError(Exception):
    """Base of every error the ``oods`` package raises."""


class ConfigError(OodsError, ValueError):
    """The site configuration is missing or invalid; the message says how to fix it."""


class SiteNotFound(OodsError, LookupError):
    """A site opened for reading has no bucket: readers never create one (a typo in a
    bucket name must not leave an empty site behind)."""


class SiteUnavailable(OodsError):
    """The site is configured but its endpoint does not answer (server stopped?)."""


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
