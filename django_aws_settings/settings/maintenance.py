"""Maintenance mode's settings: ``MAINTENANCE_*`` variables into ``DJANGO_AWS_MAINTENANCE``.

``MAINTENANCE_MODE`` is ``off`` (default), ``on`` (every request gets 503) or ``read-only``
(GET, HEAD and OPTIONS pass; other methods get 503). ``MAINTENANCE_PARAMETER`` names an SSM
parameter that each process re-reads at most every ``MAINTENANCE_POLL_SECONDS``. The
middleware and the poller that act on this live in ``django_aws_settings.runtime.maintenance``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .env import reader
from .middleware import (
    HEALTH_MIDDLEWARE,
    MAINTENANCE_MIDDLEWARE,
    SECURITY_MIDDLEWARE,
    WHITENOISE_MIDDLEWARE,
)

OFF, ON, READ_ONLY = "off", "on", "read-only"
MODES = (OFF, ON, READ_ONLY)
SETTING = "DJANGO_AWS_MAINTENANCE"
SOURCE_VARIABLES = (
    "MAINTENANCE_MODE",
    "MAINTENANCE_PARAMETER",
    "MAINTENANCE_POLL_SECONDS",
    "MAINTENANCE_RETRY_AFTER",
)
MIDDLEWARE = MAINTENANCE_MIDDLEWARE
DEFAULT_POLL_SECONDS = 10
DEFAULT_RETRY_AFTER = 300
# Middleware that must stay in front: health answers first, then security headers/redirects,
# then WhiteNoise serves static files (the page itself needs none, other cached pages do).
_AHEAD = (
    HEALTH_MIDDLEWARE,
    SECURITY_MIDDLEWARE,
    WHITENOISE_MIDDLEWARE,
)


def maintenance_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"DJANGO_AWS_MAINTENANCE": {"MODE", "PARAMETER", "POLL_SECONDS", "RETRY_AFTER"}}``."""
    r = reader(environ)
    mode = r.choice("MAINTENANCE_MODE", MODES, OFF)
    parameter = r.text("MAINTENANCE_PARAMETER")
    if parameter is not None and not (parameter.startswith(("/", "arn:"))):
        r.problem(
            "MAINTENANCE_PARAMETER",
            "expected an SSM parameter name such as /shop/production/MAINTENANCE_MODE"
            " (the name itself, not an ssm: reference, which would be resolved to its value)",
        )
    poll = r.integer("MAINTENANCE_POLL_SECONDS", DEFAULT_POLL_SECONDS, minimum=0, maximum=3600)
    retry_after = r.integer(
        "MAINTENANCE_RETRY_AFTER", DEFAULT_RETRY_AFTER, minimum=1, maximum=86_400
    )
    r.raise_if_any()
    return {
        SETTING: {
            "MODE": mode,
            "PARAMETER": parameter,
            "POLL_SECONDS": poll,
            "RETRY_AFTER": retry_after,
        }
    }


def enabled(maintenance: Mapping[str, Any]) -> bool:
    """Whether the middleware has anything to do: a mode other than off, or a live switch."""
    return maintenance.get("MODE", OFF) != OFF or bool(maintenance.get("PARAMETER"))


def with_maintenance_middleware(
    middleware: Sequence[str], maintenance: Mapping[str, Any]
) -> list[str]:
    """MIDDLEWARE with this middleware right after health/security/WhiteNoise when
    maintenance is configured, and without it otherwise (configure() owns the entry)."""
    rest = [entry for entry in middleware if entry != MIDDLEWARE]
    if not enabled(maintenance):
        return rest
    position = 0
    while position < len(rest) and rest[position] in _AHEAD:
        position += 1
    return [*rest[:position], MIDDLEWARE, *rest[position:]]


__all__ = [
    "MIDDLEWARE",
    "MODES",
    "SETTING",
    "SOURCE_VARIABLES",
    "enabled",
    "maintenance_settings",
    "with_maintenance_middleware",
]
