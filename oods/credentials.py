"""The site's endpoint and keys written out for other S3 clients: mc, rclone, the AWS
environment variables.

These are the only texts that contain the secret key; the command line shows them only
when asked for one by name, so nothing else ever prints it.
"""

from __future__ import annotations

import shlex

from .config import SiteConfig

CLIENTS = ("mc", "rclone", "env")


def client_settings(config: SiteConfig, client: str, alias: str = "oods") -> str:
    """The lines that give ``client`` access to the site (secret included).

    Args:
        config: the site's configuration (endpoint and keys).
        client: ``mc`` (an ``mc alias set`` command), ``rclone`` (a remote stanza for
            rclone.conf) or ``env`` (``export`` of the AWS variables boto3, the AWS CLI
            and s5cmd read).
        alias: the name of the mc alias or rclone remote.

    Example:
        >>> print(client_settings(load_config(), "mc"))
        mc alias set oods http://127.0.0.1:9000 oods-1a2b3c4d ...
    """
    if client == "mc":
        words = ["mc", "alias", "set", alias, config.endpoint, config.access_key]
        return shlex.join([*words, config.secret_key])
    if client == "rclone":
        return "\n".join(
            [
                f"[{alias}]",
                "type = s3",
                "provider = Minio",
                "env_auth = false",
                f"access_key_id = {config.access_key}",
                f"secret_access_key = {config.secret_key}",
                f"endpoint = {config.endpoint}",
                f"region = {config.region}",
            ]
        )
    if client == "env":
        variables = {
            "AWS_ACCESS_KEY_ID": config.access_key,
            "AWS_SECRET_ACCESS_KEY": config.secret_key,
            "AWS_ENDPOINT_URL": config.endpoint,
            "AWS_DEFAULT_REGION": config.region,
        }
        return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
    raise ValueError(f"unknown client {client!r} (one of {', '.join(CLIENTS)})")
