"""Production Django settings for AWS, from the environment and Secrets Manager / SSM.

Call ``configure(globals())`` at the end of a settings module, or use the builders alone.
Importing the package calls no AWS API. The names are bound eagerly on purpose: a module
and a function share several names (``caches``, ``configure``...), and a lazy lookup
would hand out the module once anything had imported it first.
"""

from __future__ import annotations

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
