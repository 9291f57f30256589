"""The AWS clients of the operator commands: one region rule and one bound on every wait.

Every ``django-aws`` command that calls AWS builds its clients here, so they all take the
region the same way (``--region``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else
the profile's) and none of them waits long on an endpoint that accepts a connection and
never answers: :data:`OPERATOR_CONFIG` bounds one API call, retries included, to
:data:`LONGEST_CALL_SECONDS`. Long waits that are meant (the migrate gate's task, a
deploy's rollout) are separate loops with their own ``--timeout``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..settings.env import aws_region
from ..settings.errors import ConfigError, Problem

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

CONNECT_TIMEOUT = 3  # seconds to open a connection
READ_TIMEOUT = 5  # seconds for an answer once connected; AWS APIs answer in well under 1 s
ATTEMPTS = 3  # the first call and two retries (throttling, a dropped connection)
# Three attempts that each connect and then wait out the read timeout, plus the standard
# retry mode's backoff (under 1 s, then under 2 s): what one call can cost at most.
LONGEST_CALL_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + 3

# aws partitions: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ...
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def operator_config(environ: Mapping[str, str] | None = None) -> Config:
    """Timeouts and retries for every client the operator commands create.

    ``AWS_MAX_ATTEMPTS`` (the AWS CLI's own variable) may lower the attempts, never raise
    them above ATTEMPTS: the bound is the promise."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": _attempts(environ)},
    )


def _attempts(environ: Mapping[str, str] | None) -> int:
    text = (os.environ if environ is None else environ).get("AWS_MAX_ATTEMPTS", "").strip()
    return min(int(text), ATTEMPTS) if text.isdigit() and int(text) > 0 else ATTEMPTS


def operator_session(
    region: str | None = None, environ: Mapping[str, str] | None = None
) -> boto3.session.Session:
    """A boto3 session in the region of ``--region`` (``region``), else :func:`aws_region`,
    else the AWS profile's. Raises ConfigError (one line naming where the region came
    from) when there is none or it is not a region name."""
    import boto3

    environ = os.environ if environ is None else environ
    given = (region or "").strip() or None
    source = "--region" if given else _region_variable(environ)
    session = boto3.session.Session(region_name=given or aws_region(environ))
    resolved = session.region_name
    if not resolved:
        raise ConfigError([Problem("--region", "no AWS region: pass --region or set AWS_REGION")])
    if not _REGION.match(resolved):
        raise ConfigError(
            [
                Problem(
                    source or "the AWS profile's region",
                    "expected an AWS region name such as eu-west-1",
                )
            ]
        )
    return session


def operator_client(session: boto3.session.Session, service: str, region: str | None = None) -> Any:
    """A client of ``service`` with :func:`operator_config`; ``region`` overrides the
    session's (CloudWatch Logs in the region a container logs to)."""
    return session.client(  # type: ignore[call-overload]
        service, region_name=region, config=operator_config()
    )


def _region_variable(environ: Mapping[str, str]) -> str | None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name, "").strip():
            return name
    return None


__all__ = [
    "LONGEST_CALL_SECONDS",
    "operator_client",
    "operator_config",
    "operator_session",
]
