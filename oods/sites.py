"""Other sites named in the config file: the DBB, a second summit cache, …

A deployment talks to other sites (replica push/pull, retention's ``--verified-at``)
by name, so an operator never types an endpoint or a secret on a command line::

    [sites.dbb]
    endpoint = "https://dbb.example.org:9000"
    bucket = "dbb"
    region = "us-east-1"          # optional
    catalog_prefix = "_catalog"   # optional
    standing = ["e.observation_type = 'bias'"]   # optional: subsets `oods replica sync` pulls
    timeout = 30                  # optional: seconds a request may wait (default 10)

Secrets come from ``$OODS_SITE_<NAME>_ACCESS_KEY`` / ``$OODS_SITE_<NAME>_SECRET_KEY``
(``<NAME>`` upper-cased, ``-`` as ``_``), never from the shared file.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from .config import (
    DEFAULT_BUCKET,
    DEFAULT_CATALOG_PREFIX,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT,
    SiteConfig,
)
from .errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_KEYS = {"endpoint", "bucket", "region", "catalog_prefix", "standing", "timeout"}


def site_secret_variables(name: str) -> tuple[str, str]:
    """The environment variables holding the access and secret keys of site ``name``."""
    stem = "OODS_SITE_" + name.upper().replace("-", "_")
    return f"{stem}_ACCESS_KEY", f"{stem}_SECRET_KEY"


def config_file(path: Path | str | None = None) -> Path:
    """The config file ``load_config`` would read: ``path``, ``$OODS_CONFIG``, ``./oods.toml``.

    Raises:
        ConfigError: none of them is given or exists (named sites need a file).
    """
    chosen = path or os.environ.get("OODS_CONFIG")
    if chosen is None and Path("oods.toml").exists():
        chosen = "oods.toml"
    if chosen is None:
        raise ConfigError(
            "no config file: other sites are named in [sites.<name>] of oods.toml "
            "(pass --config or set $OODS_CONFIG)"
        )
    return Path(chosen)


def named_sites(path: Path | str | None = None) -> list[str]:
    """The names of the ``[sites.<name>]`` sections, sorted ([] when there are none)."""
    return sorted(_sites_section(config_file(path)))


def named_site_config(name: str, path: Path | str | None = None) -> SiteConfig:
    """The configuration of the other site ``name`` (``[sites.<name>]``).

    Raises:
        ConfigError: no config file, no such section, an unknown key, a value of the
            wrong type, or missing secrets; the message names the file and the fix.
    """
    section, where = _site_section(name, path)
    access_var, secret_var = site_secret_variables(name)
    access, secret = os.environ.get(access_var, ""), os.environ.get(secret_var, "")
    if not access or not secret:
        raise ConfigError(f"{where}: no credentials; set ${access_var} and ${secret_var}")
    return SiteConfig(
        endpoint=section["endpoint"],
        access_key=access,
        secret_key=secret,
        bucket=section.get("bucket", DEFAULT_BUCKET),
        region=section.get("region", DEFAULT_REGION),
        catalog_prefix=section.get("catalog_prefix", DEFAULT_CATALOG_PREFIX),
        timeout=float(section.get("timeout", DEFAULT_TIMEOUT)),
        source=where,
    )


def standing_subsets(name: str, path: Path | str | None = None) -> list[str]:
    """The ``standing`` predicates of ``[sites.<name>]``: what a sync always pulls."""
    section, _ = _site_section(name, path)
    return list(section.get("standing", []))


def _site_section(name: str, path: Path | str | None) -> tuple[dict[str, Any], str]:
    """``[sites.<name>]``, checked, and how messages name it."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"invalid site name {name!r}: use lower-case letters, digits, '-' or '_'")
    file = config_file(path)
    sites = _sites_section(file)
    if name not in sites:
        known = ", ".join(sorted(sites)) or "none"
        raise ConfigError(f"{file}: no [sites.{name}] section (named sites: {known})")
    section = sites[name]
    where = f"{file} [sites.{name}]"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)} "
            "(secrets go in the environment, not the file)"
        )
    for key, value in section.items():
        if key == "standing":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: standing must be a list of SQL predicates (strings)")
        elif key == "timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}: timeout must be a number of seconds")
        elif not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, not {type(value).__name__}")
    if "endpoint" not in section:
        raise ConfigError(f"{where}: endpoint is not set")
    return section, where


def _sites_section(file: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config: {exc}") from None
    sites = data.get("sites", {})
    if not isinstance(sites, dict):
        raise ConfigError(f"{file}: [sites] must hold tables, one per site ([sites.dbb])")
    return sites
