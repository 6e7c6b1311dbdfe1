"""The site configuration: one TOML file per deployment, secrets from the environment.

Lookup order: ``--config`` / ``$OODS_CONFIG`` / ``./oods.toml``; without any of them, the
embedded default site that ``oods up`` started, recorded in ``$OODS_HOME/server.json``
(``$OODS_HOME`` defaults to ``./.oods`` if a server was started there, else a per-user
folder, ``~/.local/state/oods``, so a notebook started in any directory finds it).
``OODS_*`` variables override single fields.

Example ``oods.toml``::

    [site]
    endpoint = "http://127.0.0.1:9000"
    bucket = "summit"
    # access_key / secret_key: better in $OODS_ACCESS_KEY / $OODS_SECRET_KEY

    # timeout = 10   # seconds a request may wait for an answer (default 10)

    [ingest]
    run = "{instrument}/raw/all"
    workers = 8
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import string
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from .errors import ConfigError, InvalidNameError
from .keys import check_run

DEFAULT_BUCKET = "oods"
DEFAULT_REGION = "us-east-1"
DEFAULT_CATALOG_PREFIX = "_catalog"
DEFAULT_RUN = "{instrument}/raw/all"
DEFAULT_WORKERS = 8
DEFAULT_BATCH = 1000
#: Seconds one request to the store may wait for an answer. A server that accepts the
#: connection but never answers (stopped, overloaded, a dead proxy) then fails a command
#: in about 2-3 times this, with a line naming it, instead of hanging it for minutes.
DEFAULT_TIMEOUT = 10.0
#: deltalake's ``timeout`` bounds a whole request, body included (object_store has no
#: idle timeout), so a catalog file of 10^6 rows gets this many times the site's.
WHOLE_REQUEST_FACTOR = 3
#: Connecting takes a round trip: a server that does not accept within this is down.
MAX_CONNECT_TIMEOUT = 5.0
SERVER_STATE = "server.json"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ENV = {
    "endpoint": "OODS_ENDPOINT",
    "bucket": "OODS_BUCKET",
    "access_key": "OODS_ACCESS_KEY",
    "secret_key": "OODS_SECRET_KEY",
    "region": "OODS_REGION",
}


#: A folder in the current directory that ``OODS_HOME=.oods`` made (``make demo``).
LOCAL_HOME = ".oods"


def oods_home() -> Path:
    """Where ``oods up`` records the embedded default server.

    ``$OODS_HOME``; else ``./.oods`` if a server was started there (``make demo`` runs
    with ``OODS_HOME=.oods``), as ``./oods.toml`` comes before the embedded default;
    else a per-user folder (``$XDG_STATE_HOME/oods``, ``~/.local/state/oods``), the
    same from every directory, so a notebook started anywhere finds the site.
    """
    explicit = os.environ.get("OODS_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    local = Path(LOCAL_HOME).resolve()
    if (local / SERVER_STATE).exists():
        return local
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return (Path(state) / "oods").resolve()


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` if it is an http(s) URL with a host and a valid port, else ValueError."""
    try:
        url = urllib.parse.urlsplit(endpoint)
        url.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"endpoint {endpoint!r} is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https"):
        raise ValueError(f"endpoint {endpoint!r} must start with http:// or https://")
    if not url.hostname:
        raise ValueError(f"endpoint {endpoint!r} names no host (e.g. http://127.0.0.1:9000)")
    return endpoint


def check_run_template(run: str) -> str:
    """``run`` if it is a safe run name whose only placeholder is ``{instrument}``.

    Raises:
        InvalidNameError: another placeholder (``{0}``), a format spec, or an unsafe
            part (``..``, a newline …), named in the message.
    """
    if not run.isprintable():
        raise InvalidNameError(f"invalid run {run!r}: it holds control characters")
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(run)
            if name is not None
        ]
    except ValueError as exc:
        raise InvalidNameError(f"invalid run {run!r}: {exc}") from None
    for name, spec, conversion in fields:
        if name != "instrument" or spec or conversion:
            raise InvalidNameError(
                f"invalid run {run!r}: the only placeholder allowed is {{instrument}}"
            )
    try:
        check_run(run.format(instrument="LSSTCam"))
    except ValueError as exc:
        raise InvalidNameError(str(exc)) from None
    return run


@dataclasses.dataclass(frozen=True)
class SiteConfig:
    """Everything needed to open a site: one bucket on one S3 endpoint."""

    endpoint: str
    access_key: str = dataclasses.field(repr=False)
    secret_key: str = dataclasses.field(repr=False)
    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    catalog_prefix: str = DEFAULT_CATALOG_PREFIX
    run: str = DEFAULT_RUN
    workers: int = DEFAULT_WORKERS
    batch_size: int = DEFAULT_BATCH
    corrections: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    source: str = "defaults"

    def __post_init__(self) -> None:
        try:
            check_endpoint(self.endpoint)
        except ValueError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None
        if not self.access_key or not self.secret_key:
            raise ConfigError(
                f"{self.source}: no credentials; set OODS_ACCESS_KEY and "
                "OODS_SECRET_KEY (or access_key/secret_key in [site])"
            )
        if not _BUCKET.fullmatch(self.bucket) or ".." in self.bucket:
            raise ConfigError(
                f"{self.source}: bucket {self.bucket!r} is not a valid S3 bucket name "
                "(3 to 63 lower-case letters, digits, dots or hyphens)"
            )
        if self.workers < 1 or self.batch_size < 1:
            raise ConfigError(f"{self.source}: workers and batch_size must be at least 1")
        if not 0 < self.timeout <= 3600:
            raise ConfigError(f"{self.source}: timeout must be between 0 and 3600 seconds")
        if self.catalog_prefix.strip("/") == "" or "{instrument}" not in self.run:
            raise ConfigError(
                f"{self.source}: catalog_prefix must be set and run must contain {{instrument}}"
            )
        try:
            check_run_template(self.run)
        except InvalidNameError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None

    def storage_options(self) -> dict[str, str]:
        """The deltalake / object_store options for this site's bucket."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true" if self.endpoint.startswith("http://") else "false",
            # Bounded: a stalled server fails a request instead of hanging a command;
            # transient errors are retried (with backoff) within the same bound.
            "connect_timeout": _duration(self.connect_timeout),
            "timeout": _duration(self.timeout * WHOLE_REQUEST_FACTOR),
            "max_retries": "3",
            "retry_timeout": _duration(self.timeout * WHOLE_REQUEST_FACTOR),
        }

    @property
    def connect_timeout(self) -> float:
        return min(self.timeout, MAX_CONNECT_TIMEOUT)

    @property
    def catalog_root(self) -> str:
        return f"s3://{self.bucket}/{self.catalog_prefix.strip('/')}"


def load_config(path: Path | str | None = None, **overrides: Any) -> SiteConfig:
    """Find and validate the site configuration.

    Args:
        path: a TOML file; if None, ``$OODS_CONFIG``, then ``./oods.toml``, then the
            embedded default started by ``oods up``.
        overrides: fields to set last (command-line options), None values ignored.

    Raises:
        ConfigError: no configuration found, unreadable TOML, or invalid values.
    """
    path = path or os.environ.get("OODS_CONFIG")
    if path is None and Path("oods.toml").exists():
        path = "oods.toml"
    if path is not None:
        fields, source = _from_toml(Path(path)), str(path)
    elif os.environ.get(_ENV["endpoint"]):
        fields, source = {}, "environment"  # configured by OODS_* variables alone
    else:
        fields, source = _from_embedded(), str(oods_home() / SERVER_STATE)
    for name, variable in _ENV.items():
        if os.environ.get(variable):
            fields[name] = os.environ[variable]
    fields.setdefault("access_key", os.environ.get("AWS_ACCESS_KEY_ID", ""))
    fields.setdefault("secret_key", os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
    fields.update({k: v for k, v in overrides.items() if v is not None})
    if "endpoint" not in fields:
        raise ConfigError(f"{source}: [site] endpoint is not set")
    return _build(fields, source)


_INTEGER_FIELDS = ("workers", "batch_size")
_NUMBER_FIELDS = ("timeout",)


def _build(fields: dict[str, Any], source: str) -> SiteConfig:
    known = {f.name for f in dataclasses.fields(SiteConfig)} - {"source"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    for name, value in fields.items():
        # Checked here so a wrong TOML type is a ConfigError, not an AttributeError later;
        # the value itself is never shown (it may be a secret).
        if name in _INTEGER_FIELDS:
            valid, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
        elif name in _NUMBER_FIELDS:
            valid = isinstance(value, (int, float)) and not isinstance(value, bool)
            kind = "a number"
        else:
            valid, kind = (
                isinstance(value, (str, Path) if name == "corrections" else str),
                "a string",
            )
        if not valid:
            raise ConfigError(f"{source}: {name} must be {kind}, not {type(value).__name__}")
    if fields.get("corrections") is not None:
        fields["corrections"] = Path(fields["corrections"])
    if "timeout" in fields:
        fields["timeout"] = float(fields["timeout"])
    try:
        return SiteConfig(**fields, source=source)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


_INGEST_KEYS = {"run", "workers", "batch_size", "corrections"}


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: cannot read config: not UTF-8 text (byte {exc.start})"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    extra = sorted(set(data) - {"site", "ingest", "serve", "sites", "retention"})
    if extra:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(extra)}")
    site, ingest = data.get("site", {}), data.get("ingest", {})
    if not isinstance(site, dict) or not isinstance(ingest, dict):
        raise ConfigError(f"{path}: [site] and [ingest] must be tables")
    unknown = sorted(set(ingest) - _INGEST_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) in [ingest]: {', '.join(unknown)}")
    fields: dict[str, Any] = dict(site)
    fields.update(ingest)
    return fields


#: ``[serve]`` settings of ``oods serve`` and their types (the command's options win).
SERVE_KEYS: dict[str, type | tuple[type, ...]] = {
    "landing": str,
    "done": str,
    "failed": str,
    "on_success": str,
    "poll_interval": (int, float),
    "settle": (int, float),
    "max_wait": (int, float),
    "max_batch": int,
    "metrics_port": int,
    "compact_interval": (int, float),
    "expected_detectors": int,
    "incomplete_after": (int, float),
    "staging_bucket": str,
    "staging_prefix": str,
    "staging_rescan": (int, float),
    "reconcile_interval": (int, float),
    "retention_interval": (int, float),
    "sync_with": str,
    "sync_interval": (int, float),
}


def load_serve_settings(path: Path | str | None = None) -> dict[str, Any]:
    """The ``[serve]`` section of the config file ``load_config`` would read ({} if none).

    Raises:
        ConfigError: an unknown setting, or a value of the wrong type (named).
    """
    path = path or os.environ.get("OODS_CONFIG")
    if path is None and Path("oods.toml").exists():
        path = "oods.toml"
    if path is None:
        return {}
    try:
        section = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("serve", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [serve] must be a table")
    unknown = sorted(set(section) - set(SERVE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) in [serve]: {', '.join(unknown)}")
    for name, value in section.items():
        if isinstance(value, bool) or not isinstance(value, SERVE_KEYS[name]):
            raise ConfigError(f"{path}: [serve] {name} has the wrong type ({type(value).__name__})")
    return dict(section)


def _duration(seconds: float) -> str:
    """``seconds`` as an object_store duration (``"1500ms"``)."""
    return f"{round(seconds * 1000)}ms"


def _from_embedded() -> dict[str, Any]:
    state_file = oods_home() / SERVER_STATE
    if not state_file.exists():
        raise ConfigError(
            "no site configured: run `oods up` to start the embedded default, or write "
            "an oods.toml (see `oods --help`), or pass --config / set $OODS_CONFIG"
        )
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        return {
            "endpoint": f"http://127.0.0.1:{int(state['port'])}",
            "access_key": str(state["access_key"]),
            "secret_key": str(state["secret_key"]),
            "bucket": str(state.get("bucket", DEFAULT_BUCKET)),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{state_file}: unreadable embedded server state ({type(exc).__name__}); "
            "run `oods up` again"
        ) from None
