"""Production Django settings for AWS, from the environment and Secrets Manager / SSM.

Call ``configure(globals())`` at the end of a settings module, or use the builders alone.
Names are imported lazily so that importing the package costs nothing and calls no AWS API.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .caches import caches
    from .celery import celery_settings
    from .configure import configure
    from .databases import databases
    from .env import resolved
    from .errors import ConfigError
    from .hosts import allowed_hosts, csrf_trusted_origins
    from .logs import logging_config
    from .security import security_settings
    from .storages import storages

__version__ = "0.1.0"

_EXPORTS = {
    "allowed_hosts": ".hosts",
    "caches": ".caches",
    "celery_settings": ".celery",
    "ConfigError": ".errors",
    "configure": ".configure",
    "csrf_trusted_origins": ".hosts",
    "databases": ".databases",
    "logging_config": ".logs",
    "resolved": ".env",
    "security_settings": ".security",
    "storages": ".storages",
}

__all__ = [
    "ConfigError",
    "allowed_hosts",
    "caches",
    "celery_settings",
    "configure",
    "csrf_trusted_origins",
    "databases",
    "logging_config",
    "resolved",
    "security_settings",
    "storages",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
