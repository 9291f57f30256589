"""CACHES: Django's own Redis backend on ElastiCache (Redis or Valkey), TLS verified.

``CACHE_URL`` (or ``REDIS_URL``, the name Heroku and Render use) picks the backend;
``locmem://`` and ``dummy://`` choose a local cache explicitly. Short socket timeouts keep
an unreachable cache from holding requests hostage. A cache taken from ``REDIS_URL`` moves
to the next database when Celery uses REDIS_URL's own (see :func:`_apart_from_celery`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .celery import BROKER_VARIABLE, RESULT_BACKEND_VARIABLE
from .env import Reader, reader
from .redis_urls import (
    RedisUrl,
    given,
    is_redis_url,
    next_database,
    parsed_redis_url,
    redis_url,
    seconds,
    tls_options,
)

SOURCE_VARIABLES = ("CACHE_URL", "REDIS_URL")
SHARED_VARIABLE = "REDIS_URL"  # also Celery's broker when CELERY_BROKER_URL is unset

REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
LOCMEM_BACKEND = "django.core.cache.backends.locmem.LocMemCache"
DUMMY_BACKEND = "django.core.cache.backends.dummy.DummyCache"
LOCAL_BACKENDS = {"locmem": LOCMEM_BACKEND, "dummy": DUMMY_BACKEND}

# A cache is an optimisation: failing after a second beats waiting redis-py's default 5 s
# (or forever, with redis-py < 6) while a request holds a worker.
DEFAULT_SOCKET_TIMEOUT = 1.0
DEFAULT_SOCKET_CONNECT_TIMEOUT = 1.0
DEFAULT_KEY_PREFIX = "django"
PROJECT_VARIABLE = "DJANGO_AWS_PROJECT"
# Settings packages named by a layout, not by the project (cookiecutter-django's "config").
GENERIC_PACKAGES = frozenset(
    {"config", "settings", "project", "core", "app", "src", "conf", "django_project", "mysite"}
)
EXPECTED_URL = (
    "a redis://, rediss://, valkey://, valkeys:// URL, or locmem:// or dummy:// "
    "to choose a local cache"
)

_KEY_PREFIX = re.compile(r"[!-~]{1,100}")  # printable ASCII without spaces, as memcached-safe


def caches(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Django's CACHES with one ``default`` alias."""
    r = reader(environ)
    name, url = _source(r)
    default = _default_cache(r, name, url)
    default["KEY_PREFIX"] = _key_prefix(r)
    r.raise_if_any()
    return {"default": default}


def _source(r: Reader) -> tuple[str, str | None]:
    """The variable that configures the cache and its value (None when neither is set)."""
    for name in SOURCE_VARIABLES:
        value = r.text(name)
        if value is not None:
            return name, value
    if r.production:
        r.problem(
            "CACHE_URL",
            f"is required when DJANGO_ENV=production (REDIS_URL is used when CACHE_URL is "
            f"unset); expected {EXPECTED_URL}",
        )
    return "CACHE_URL", None


def _default_cache(r: Reader, name: str, value: str | None) -> dict[str, Any]:
    if value is None:
        return {"BACKEND": LOCMEM_BACKEND, "LOCATION": ""}
    if not is_redis_url(value):
        scheme = value.split("://", 1)[0].lower() if "://" in value else None
        if scheme in LOCAL_BACKENDS:
            return {"BACKEND": LOCAL_BACKENDS[scheme], "LOCATION": value.split("://", 1)[1]}
        r.problem(name, f"expected {EXPECTED_URL}, got {given(r, name, value)}")
        return {}
    options: dict[str, Any] = {
        "socket_connect_timeout": seconds(
            r, "CACHE_SOCKET_CONNECT_TIMEOUT", DEFAULT_SOCKET_CONNECT_TIMEOUT, maximum=60
        ),
        "socket_timeout": seconds(r, "CACHE_SOCKET_TIMEOUT", DEFAULT_SOCKET_TIMEOUT, maximum=60),
    }
    url = redis_url(r, name, value)
    if url is None:
        return {}
    if name == SHARED_VARIABLE:
        url = _apart_from_celery(r, url)
    if url.tls:
        options.update(tls_options(r))
    # A one-element list: Django splits a string LOCATION on "," and ";", which are legal
    # in ElastiCache AUTH tokens and would cut the URL in two.
    return {"BACKEND": REDIS_BACKEND, "LOCATION": [url.url], "OPTIONS": options}


def _apart_from_celery(r: Reader, url: RedisUrl) -> RedisUrl:
    """REDIS_URL on the next database (14 for 15) when Celery uses REDIS_URL's database.

    Django's RedisCache.clear() is FLUSHDB: run in the database that holds Celery's queues
    and results, it deletes every queued and unacknowledged task. Celery keeps the URL's
    own database, so tasks already queued there are never stranded by this move.
    """
    broker = r.text(BROKER_VARIABLE)
    if broker is not None:  # else Celery falls back to REDIS_URL itself
        named = (parsed_redis_url(broker), parsed_redis_url(r.text(RESULT_BACKEND_VARIABLE)))
        if not any(other is not None and other.shares_database(url) for other in named):
            return url
    return url.with_database(next_database(url.database))


def _key_prefix(r: Reader) -> str:
    """CACHE_KEY_PREFIX, else the project's name, so apps sharing one Redis never collide:
    DJANGO_AWS_PROJECT (the generated task definitions set it), else the settings package
    unless it is a name every project of a layout shares (``config``, ``settings``...)."""
    prefix = r.text("CACHE_KEY_PREFIX")
    if prefix is None:
        project = r.text(PROJECT_VARIABLE)
        if project is None:
            package = (r.text("DJANGO_SETTINGS_MODULE") or "").split(".", 1)[0]
            project = package if package and package not in GENERIC_PACKAGES else None
        return project or DEFAULT_KEY_PREFIX
    if not _KEY_PREFIX.fullmatch(prefix):
        r.problem("CACHE_KEY_PREFIX", "expected at most 100 printable characters without spaces")
    return prefix
