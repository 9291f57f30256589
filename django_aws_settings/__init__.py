"""Production Django settings for AWS, from the environment and Secrets Manager / SSM.

Call ``configure(globals())`` at the end of a settings module, or use the builders alone.

The package is grouped by when its code runs: ``settings/`` once while settings load,
``runtime/`` inside the app's processes, ``db/`` the database backend, ``ops/`` operator
and CI commands, ``cutover/`` the database move. Importing the package calls no AWS API and
imports nothing else: the public names below load on first use (PEP 562), so
``python -m django_aws_settings.runtime.healthcheck`` (every 15 s in each web container)
does not pay for Django, boto3 and django-environ.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (8 ms); mypy knows it
if TYPE_CHECKING:
    from typing import Any

    from .settings.bridge import bridge_environment
    from .settings.caches import caches
    from .settings.celery import celery_settings
    from .settings.configure import configure
    from .settings.databases import databases
    from .settings.env import resolved
    from .settings.errors import ConfigError
    from .settings.hosts import allowed_hosts, csrf_trusted_origins
    from .settings.logs import logging_config
    from .settings.security import security_settings
    from .settings.storages import storages

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "allowed_hosts",
    "bridge_environment",
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

# Public name -> the module that defines it. No top-level module shares a public name, so
# the import system never binds a submodule over one of these functions.
_SOURCES = {
    "ConfigError": "settings.errors",
    "allowed_hosts": "settings.hosts",
    "bridge_environment": "settings.bridge",
    "caches": "settings.caches",
    "celery_settings": "settings.celery",
    "configure": "settings.configure",
    "csrf_trusted_origins": "settings.hosts",
    "databases": "settings.databases",
    "logging_config": "settings.logs",
    "resolved": "settings.env",
    "security_settings": "settings.security",
    "storages": "settings.storages",
}


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})
