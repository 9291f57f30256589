"""Production Django settings for AWS, from the environment and Secrets Manager / SSM.

Call ``configure(globals())`` at the end of a settings module, or use the builders alone.
Importing the package calls no AWS API and imports nothing else: the public names load on
first use, so ``python -m django_aws_settings.healthcheck`` (every 15 s in each web
container) does not pay for Django, boto3 and django-environ.

A module and a function share several names (``caches``, ``configure``...). The import
system binds every submodule on its package once the submodule has run, which would leave
``django_aws_settings.configure`` naming the module; the package's class turns that binding
into the function, so the public name is the function however the submodule was imported.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (8 ms); mypy knows it
if TYPE_CHECKING:
    from typing import Any

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

# Public name -> the submodule that defines it.
_SOURCES = {
    "ConfigError": "errors",
    "allowed_hosts": "hosts",
    "caches": "caches",
    "celery_settings": "celery",
    "configure": "configure",
    "csrf_trusted_origins": "hosts",
    "databases": "databases",
    "logging_config": "logs",
    "resolved": "env",
    "security_settings": "security",
    "storages": "storages",
}


class _Package(ModuleType):
    def __getattr__(self, name: str) -> Any:
        source = _SOURCES.get(name)
        if source is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(import_module(f"{self.__name__}.{source}"), name)
        super().__setattr__(name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system's `setattr(package, "configure", <module configure>)`.
        if _SOURCES.get(name) == name and isinstance(value, ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_SOURCES})


sys.modules[__name__].__class__ = _Package
