"""Least-privilege MinIO users for a site: a reader and a writer, each with its policy.

The root credentials of the server are for administration only. Notebooks and
visualisation get the *reader*: list the bucket, read objects and the catalog, nothing
else (no write, delete, tagging or lifecycle). Ingest and the service get the *writer*:
also create objects, tagged in the same PUT (on MinIO that needs no tagging right), but
neither retag nor delete objects, nor touch lifecycle, quota, policies or the bucket.
The policies are plain IAM JSON kept in ``infra/policies/``, to be reviewed and applied
to a real deployment as they are (``mc admin policy create``), ``BUCKET`` replaced by
the bucket.

Run ``python -m infra.access --help`` to create the users on a running server.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import urllib.parse
from pathlib import Path
from typing import Protocol

import urllib3
from minio import MinioAdmin
from minio.credentials import StaticProvider
from minio.error import MinioAdminException

POLICY_DIR = Path(__file__).resolve().parent / "policies"
ROLES = ("reader", "writer")
#: Every admin call is bounded: a dead server fails fast instead of hanging a setup.
ADMIN_TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)


class RootCredentials(Protocol):
    """What ``create_users`` needs of a server: ``MinioServer`` and ``MinioCluster`` fit."""

    @property
    def endpoint(self) -> str: ...

    access_key: str
    secret_key: str


def policy_document(role: str, bucket: str = "*") -> dict[str, object]:
    """The IAM policy of ``role`` (reader or writer), limited to ``bucket`` (``*``: any)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    text = (POLICY_DIR / f"oods-{role}.json").read_text()
    document: dict[str, object] = json.loads(text.replace("arn:aws:s3:::BUCKET", _arn(bucket)))
    return document


def policy_name(role: str, bucket: str = "*") -> str:
    return f"oods-{role}" if bucket == "*" else f"oods-{role}-{bucket}"


def admin_client(endpoint: str, access_key: str, secret_key: str) -> MinioAdmin:
    """A MinIO admin client with bounded timeouts and few retries."""
    url = urllib.parse.urlsplit(endpoint)
    http = urllib3.PoolManager(
        timeout=ADMIN_TIMEOUT, retries=urllib3.Retry(total=2, backoff_factor=0.2)
    )
    return MinioAdmin(
        endpoint=url.netloc,
        credentials=StaticProvider(access_key, secret_key),
        secure=url.scheme == "https",
        http_client=http,
    )


def create_users(server: RootCredentials, bucket: str = "*") -> dict[str, tuple[str, str]]:
    """Create the reader and writer users and their policies on ``server``.

    Each call makes new users with fresh secrets (old ones are left as they are); the
    policies are created or replaced under ``oods-<role>[-<bucket>]``.

    Args:
        server: a running server, with its root credentials.
        bucket: the bucket the users may use; ``*`` for every bucket.

    Returns:
        ``{"reader": (access_key, secret_key), "writer": (access_key, secret_key)}``.

    Raises:
        minio.error.MinioAdminException: the server refused (e.g. wrong root secret).
        urllib3.exceptions.HTTPError: the server could not be reached in time.
    """
    admin = admin_client(server.endpoint, server.access_key, server.secret_key)
    users: dict[str, tuple[str, str]] = {}
    for role in ROLES:
        name = policy_name(role, bucket)
        admin.policy_add(name, policy=policy_document(role, bucket))
        access_key = f"oods-{role}-{secrets.token_hex(4)}"
        secret_key = secrets.token_urlsafe(24)
        admin.user_add(access_key, secret_key)
        admin.attach_policy([name], user=access_key)
        users[role] = (access_key, secret_key)
    return users


def describe_admin_error(exc: BaseException) -> str:
    """One line for a failed admin call: the server's code and message, no JSON dump."""
    if isinstance(exc, MinioAdminException):
        status, body = str(exc._code), str(exc._body)
        try:
            error = json.loads(body)
            return f"HTTP {status}: {error.get('Code', '')}: {error.get('Message', '')}"
        except (ValueError, AttributeError):
            return f"HTTP {status}: " + " ".join(body.split())[:200]
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _arn(bucket: str) -> str:
    if bucket != "*" and not bucket.replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"bucket {bucket!r} is not a valid S3 bucket name")
    return f"arn:aws:s3:::{bucket}"


class _Root:
    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self._endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key

    @property
    def endpoint(self) -> str:
        return self._endpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.access",
        description=(
            "Create the OODS reader and writer users on a MinIO server. Root credentials "
            "come from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD. The new secrets are written "
            "to --out (mode 0600), never printed."
        ),
        epilog="Example: python -m infra.access --endpoint http://127.0.0.1:9000 "
        "--bucket summit --out users.json",
    )
    parser.add_argument("--endpoint", required=True, help="the server, e.g. http://host:9000")
    parser.add_argument("--bucket", default="*", help="limit the users to this bucket")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the secrets")
    args = parser.parse_args(argv)
    root_user = os.environ.get("MINIO_ROOT_USER", "")
    root_password = os.environ.get("MINIO_ROOT_PASSWORD", "")
    if not root_user or not root_password:
        print("error: set MINIO_ROOT_USER and MINIO_ROOT_PASSWORD", file=sys.stderr)
        return 3
    try:
        users = create_users(_Root(args.endpoint, root_user, root_password), args.bucket)
    except Exception as exc:  # one line for the operator, whatever the client raised
        print(f"error: {args.endpoint}: {describe_admin_error(exc)}", file=sys.stderr)
        return 1
    args.out.touch(mode=0o600, exist_ok=True)
    args.out.chmod(0o600)
    args.out.write_text(
        json.dumps({role: {"access_key": k, "secret_key": s} for role, (k, s) in users.items()})
    )
    for role, (access_key, _secret) in users.items():
        print(f"{role}: {access_key} (secret in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
