"""configure(globals()): the one line at the end of a settings module.

Precedence, per setting (documented in docs/configure.md):
1. A value the environment gives always wins over the settings module.
2. In production every builder's result wins: required values must come from the
   environment, so a forgotten SQLite DATABASES or a hard-coded SECRET_KEY in the module
   cannot be used silently.
3. In development, a setting the module already defines is kept unless the environment
   configures it; otherwise the embedded default (SQLite, local memory, filesystem) is used.
4. Safe-to-keep settings are kept from the module: LOGGING (unless LOG_LEVEL or
   LOG_FORMAT is set), CELERY_* tuning keys (unless the same name is in the environment;
   the connection keys always follow it), other aliases of DATABASES/CACHES/STORAGES, and
   CSRF_TRUSTED_ORIGINS (merged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .caches import SOURCE_VARIABLES as CACHE_VARIABLES
from .caches import caches
from .celery import SOURCE_VARIABLES as CELERY_VARIABLES
from .celery import celery_settings
from .databases import SOURCE_VARIABLES as DATABASE_VARIABLES
from .databases import databases
from .env import Reader, ResolvedEnviron, resolved
from .errors import ConfigError, Problems
from .hosts import SOURCE_VARIABLES as HOST_VARIABLES
from .hosts import allowed_hosts, csrf_trusted_origins
from .logs import SOURCE_VARIABLES as LOG_VARIABLES
from .logs import logging_config
from .maintenance import SETTING as MAINTENANCE_SETTING
from .maintenance import SOURCE_VARIABLES as MAINTENANCE_VARIABLES
from .maintenance import maintenance_settings, with_maintenance_middleware
from .middleware import HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE, WHITENOISE_MIDDLEWARE
from .security import SOURCE_VARIABLES as SECURITY_VARIABLES
from .security import security_settings
from .storages import S3_STATIC_BACKEND, storage_urls, storages
from .storages import SOURCE_VARIABLES as STORAGE_VARIABLES

logger = logging.getLogger(__name__)

APP = "django_aws_settings"
# Celery keys that describe the connection: they follow the environment, never the module.
CELERY_CONNECTION_KEYS = frozenset(
    {
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "CELERY_BROKER_USE_SSL",
        "CELERY_REDIS_BACKEND_USE_SSL",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_TASK_EAGER_PROPAGATES",
    }
)
ALIASED = ("DATABASES", "CACHES", "STORAGES")

_announced = False


def configure(
    namespace: MutableMapping[str, Any], environ: Mapping[str, str] | None = None
) -> None:
    """Complete a settings module's namespace from the environment (``os.environ`` by default).

    Raises one ConfigError that lists every problem found; writes nothing in that case.
    """
    env = resolved(os.environ if environ is None else environ)
    r = Reader(env)
    base_dir = Path(namespace.get("BASE_DIR") or Path.cwd())
    asgi = r.flag("DJANGO_ASGI", default=False)
    problems = Problems()
    problems.items.extend(r.problems.items)

    def build(
        source: tuple[str, ...],
        make: Callable[[], dict[str, Any]],
        *,
        production_wins: bool = True,
    ) -> _Part | None:
        try:
            values = make()
        except ConfigError as error:
            problems.extend(error)
            return None
        given = any(env.get(name, "").strip() for name in source)
        return _Part(values, given or (production_wins and r.production))

    parts = [
        build(SECURITY_VARIABLES, lambda: security_settings(env)),
        build(
            HOST_VARIABLES,
            lambda: {
                "ALLOWED_HOSTS": allowed_hosts(env),
                "CSRF_TRUSTED_ORIGINS": csrf_trusted_origins(env),
            },
        ),
        build(
            DATABASE_VARIABLES,
            lambda: {"DATABASES": databases(env, base_dir=base_dir)},
        ),
        build(CACHE_VARIABLES, lambda: {"CACHES": caches(env)}),
        build(
            STORAGE_VARIABLES,
            lambda: {
                "STORAGES": storages(env, base_dir=base_dir),
                **storage_urls(env, base_dir=base_dir),
            },
        ),
        build(CELERY_VARIABLES, lambda: celery_settings(env)),
        build(MAINTENANCE_VARIABLES, lambda: maintenance_settings(env)),
        # A LOGGING the module wrote (Sentry, extra handlers) is kept unless LOG_* is set.
        build(
            LOG_VARIABLES,
            lambda: {"LOGGING": logging_config(env)},
            production_wins=False,
        ),
    ]
    problems.raise_if_any()

    module_broker = "CELERY_BROKER_URL" in namespace
    for part in parts:
        assert part is not None  # every failure raised above
        _apply(namespace, part, environ=env, module_broker=module_broker)
    namespace["DJANGO_AWS_SETTINGS"] = {"ENVIRONMENT": r.name, "ASGI": asgi}
    namespace["INSTALLED_APPS"] = _with_app(list(namespace.get("INSTALLED_APPS", [])))
    namespace["MIDDLEWARE"] = _with_middleware(
        list(namespace.get("MIDDLEWARE", [])), whitenoise=_serves_static_itself(namespace)
    )
    namespace["MIDDLEWARE"] = with_maintenance_middleware(
        namespace["MIDDLEWARE"], namespace[MAINTENANCE_SETTING]
    )
    if not r.production:
        _announce(env, namespace)


class _Part:
    """One builder's settings and whether the environment (not a default) produced them."""

    def __init__(self, values: dict[str, Any], from_environment: bool) -> None:
        self.values = values
        self.from_environment = from_environment


def _apply(
    namespace: MutableMapping[str, Any],
    part: _Part,
    *,
    environ: Mapping[str, str],
    module_broker: bool,
) -> None:
    for key, value in part.values.items():
        if key == "CSRF_TRUSTED_ORIGINS":
            namespace[key] = list(dict.fromkeys([*namespace.get(key, []), *value]))
        elif key.startswith("CELERY_") and key not in CELERY_CONNECTION_KEYS:
            # The module's own tuning and schedules win, unless the same name is in the env.
            if key not in namespace or key in environ:
                namespace[key] = value
        elif key.startswith("CELERY_") and not part.from_environment:
            # A module that names its own broker for development must not be made eager.
            if not module_broker:
                namespace[key] = value
        elif part.from_environment or key not in namespace:
            if key in ALIASED:
                namespace[key] = {**namespace.get(key, {}), **value}
            else:
                namespace[key] = value


def _with_app(apps: list[str]) -> list[str]:
    return apps if APP in apps else [*apps, APP]


def _with_middleware(middleware: list[str], *, whitenoise: bool) -> list[str]:
    """Health first (before host validation and the HTTPS redirect), then security, WhiteNoise."""
    rest = [m for m in middleware if m not in (HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE)]
    ordered = [HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE]
    if whitenoise and WHITENOISE_MIDDLEWARE not in rest:
        ordered.append(WHITENOISE_MIDDLEWARE)
    elif WHITENOISE_MIDDLEWARE in rest:
        # WhiteNoise must sit right after SecurityMiddleware to serve before anything else.
        rest.remove(WHITENOISE_MIDDLEWARE)
        ordered.append(WHITENOISE_MIDDLEWARE)
    return ordered + rest


def _serves_static_itself(namespace: Mapping[str, Any]) -> bool:
    backend = str(namespace.get("STORAGES", {}).get("staticfiles", {}).get("BACKEND", ""))
    if backend.startswith("storages.") or backend == S3_STATIC_BACKEND:
        return False
    try:
        import whitenoise  # noqa: F401
    except ImportError:
        return False
    return True


def _announce(env: ResolvedEnviron, namespace: Mapping[str, Any]) -> None:
    """Say once per process which embedded defaults are in use, so nobody ships them unaware."""
    global _announced
    if _announced:
        return
    _announced = True
    engine = namespace.get("DATABASES", {}).get("default", {}).get("ENGINE", "")
    cache = namespace.get("CACHES", {}).get("default", {}).get("BACKEND", "")
    logger.warning(
        "django-aws-settings: DJANGO_ENV=development (database %s, cache %s, celery %s); "
        "set DJANGO_ENV=production for strict mode",
        engine.rsplit(".", 1)[-1],
        cache.rsplit(".", 1)[-1],
        "eager" if namespace.get("CELERY_TASK_ALWAYS_EAGER") else "broker",
    )
