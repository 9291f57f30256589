"""How configure() combines the settings module's aliases with the package's: merge, never
replace.

Every key the package does not build survives (ATOMIC_REQUESTS, TEST, TIME_ZONE, a cache's
TIMEOUT, KEY_PREFIX or IGNORE_EXCEPTIONS...). The table in docs/configure.md is the
contract; each function here implements one row of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

POSTGRES_ENGINES = (
    "django.db.backends.postgresql",
    "django.contrib.gis.db.backends.postgis",
    "django_aws_settings.db.postgresql",
)
DJANGO_REDIS_BACKEND = "django_redis.cache.RedisCache"
DJANGO_BUILTIN_REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
REDIS_BACKENDS = (DJANGO_BUILTIN_REDIS_BACKEND, DJANGO_REDIS_BACKEND)
# What django-redis calls the socket timeouts Django's RedisCache takes as pool kwargs.
_DJANGO_REDIS_TIMEOUTS = {
    "socket_connect_timeout": "SOCKET_CONNECT_TIMEOUT",
    "socket_timeout": "SOCKET_TIMEOUT",
}


def merged_database(module: Mapping[str, Any] | None, ours: Mapping[str, Any]) -> dict[str, Any]:
    """The module's alias with the connection keys the package builds laid over it.

    OPTIONS merge key by key when both sides speak PostgreSQL; another engine's OPTIONS
    (sqlite's ``timeout``...) would be refused by psycopg, so they are dropped.
    """
    if not module:
        return dict(ours)
    merged = {**module, **ours}
    if _is_postgres(module.get("ENGINE")) and _is_postgres(ours.get("ENGINE")):
        merged["OPTIONS"] = {**module.get("OPTIONS", {}), **ours.get("OPTIONS", {})}
    else:
        merged["OPTIONS"] = dict(ours.get("OPTIONS", {}))
    return merged


def merged_cache(
    module: Mapping[str, Any] | None, ours: Mapping[str, Any], *, prefix_from_environment: bool
) -> dict[str, Any]:
    """The module's cache with LOCATION and TLS following the environment.

    A Redis backend the app chose (django-redis with its CLIENT_CLASS, IGNORE_EXCEPTIONS,
    serializer...) keeps its class and options; only the location, the socket timeouts it
    did not set and the TLS options come from the package. The module's KEY_PREFIX wins
    over the derived one, CACHE_KEY_PREFIX over both.
    """
    if not module:
        return dict(ours)
    backend = module.get("BACKEND")
    if ours.get("BACKEND") in REDIS_BACKENDS and backend in REDIS_BACKENDS:
        merged = {**module, "LOCATION": ours["LOCATION"]}
        merged["OPTIONS"] = _redis_options(
            str(backend), module.get("OPTIONS", {}), ours.get("OPTIONS", {})
        )
    else:
        merged = {**module, **ours}
    if "KEY_PREFIX" in module and not prefix_from_environment:
        merged["KEY_PREFIX"] = module["KEY_PREFIX"]
    else:
        merged["KEY_PREFIX"] = ours.get("KEY_PREFIX", module.get("KEY_PREFIX", ""))
    return merged


def _redis_options(
    backend: str, module: Mapping[str, Any], ours: Mapping[str, Any]
) -> dict[str, Any]:
    if backend != DJANGO_REDIS_BACKEND:
        return {**module, **ours}
    options = dict(module)
    pool = dict(options.get("CONNECTION_POOL_KWARGS", {}))
    for key, value in ours.items():
        name = _DJANGO_REDIS_TIMEOUTS.get(key)
        if name is not None:
            options.setdefault(name, value)  # the app's own timeouts are deliberate
        else:
            pool[key] = value  # TLS verification: never weaker than the environment's
    if pool:
        options["CONNECTION_POOL_KWARGS"] = pool
    return options


def merged_storage(module: Mapping[str, Any] | None, ours: Mapping[str, Any]) -> dict[str, Any]:
    """The package's storage; the module's OPTIONS only when the backend is the same class."""
    if not module or module.get("BACKEND") != ours.get("BACKEND"):
        return dict(ours)
    return {**module, **ours, "OPTIONS": {**module.get("OPTIONS", {}), **ours.get("OPTIONS", {})}}


def merged_aliases(
    setting: str,
    module: Mapping[str, Mapping[str, Any]],
    ours: Mapping[str, Mapping[str, Any]],
    *,
    prefix_from_environment: bool = False,
) -> dict[str, dict[str, Any]]:
    """DATABASES, CACHES or STORAGES: the module's aliases, each merged with the package's."""
    result = {alias: dict(value) for alias, value in module.items()}
    for alias, value in ours.items():
        if setting == "DATABASES":
            result[alias] = merged_database(module.get(alias), value)
        elif setting == "CACHES":
            result[alias] = merged_cache(
                module.get(alias), value, prefix_from_environment=prefix_from_environment
            )
        else:
            result[alias] = merged_storage(module.get(alias), value)
    return result


def _is_postgres(engine: object) -> bool:
    return isinstance(engine, str) and engine in POSTGRES_ENGINES
