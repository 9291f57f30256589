"""System checks, documented in docs/checks.md; ids are stable and never reused."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .middleware import HEALTH_MIDDLEWARE
from .redis_urls import RedisUrl, parsed_redis_url

_ID = "django_aws_settings."
LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)
WEAK_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca")
REDIS_CACHES = ("django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache")


def _production() -> bool:
    options: dict[str, Any] = getattr(settings, "DJANGO_AWS_SETTINGS", {})
    return options.get("ENVIRONMENT") == "production"


def _asgi() -> bool:
    options: dict[str, Any] = getattr(settings, "DJANGO_AWS_SETTINGS", {})
    return bool(options.get("ASGI"))


@register(Tags.security)
def check_debug(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if _production() and settings.DEBUG:
        return [
            Error(
                "DEBUG is True while DJANGO_ENV=production.",
                hint="Something set DEBUG after configure(); remove it from the settings module.",
                id=f"{_ID}E001",
            )
        ]
    return []


@register(Tags.security)
def check_allowed_hosts(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    if _production() and "*" in settings.ALLOWED_HOSTS:
        return [
            Warning(
                "ALLOWED_HOSTS contains '*' in production.",
                hint="List the real host names; the health middleware already answers the "
                "ALB's checks that arrive with a private IP as Host.",
                id=f"{_ID}W010",
            )
        ]
    return []


@register(Tags.files)
def check_media_storage(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    backend = settings.STORAGES.get("default", {}).get("BACKEND", "")
    if _production() and backend == "django.core.files.storage.FileSystemStorage":
        return [
            Warning(
                "Uploaded files are stored on the container's disk in production.",
                hint="Set AWS_STORAGE_BUCKET_NAME: a task's disk is lost at every deploy and "
                "is not shared between tasks.",
                id=f"{_ID}W001",
            )
        ]
    return []


@register(Tags.database)
def check_databases(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        engine = database.get("ENGINE", "")
        options = database.get("OPTIONS", {})
        if _production() and engine.endswith("sqlite3"):
            messages.append(
                Warning(
                    f"DATABASES[{alias!r}] is SQLite in production.",
                    hint="Set DATABASE_URL or DATABASE_SECRET: every task would get its own "
                    "database, lost at the next deploy.",
                    id=f"{_ID}W002",
                )
            )
        if (
            _production()
            and "postgresql" in engine
            and options.get("sslmode", "prefer") in WEAK_SSLMODES
        ):
            messages.append(
                Warning(
                    f"DATABASES[{alias!r}] uses sslmode={options.get('sslmode', 'prefer')!r}.",
                    hint="Use verify-full with the RDS CA bundle; weaker modes do not check "
                    "that the server is the one you meant.",
                    id=f"{_ID}W004",
                )
            )
        if _asgi() and database.get("CONN_MAX_AGE", 0) != 0:
            messages.append(
                Warning(
                    f"DATABASES[{alias!r}] keeps persistent connections under ASGI.",
                    hint="Each async request runs in a new thread context, so persistent "
                    "connections pile up; set CONN_MAX_AGE=0 or use the psycopg pool.",
                    id=f"{_ID}W005",
                )
            )
    return messages


@register(Tags.caches)
def check_caches(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Warning(
            f"CACHES[{alias!r}] uses {cache.get('BACKEND', '')} in production.",
            hint="Set CACHE_URL (or REDIS_URL): a per-process cache is not shared between "
            "tasks, so sessions, rate limits and locks stop working.",
            id=f"{_ID}W003",
        )
        for alias, cache in settings.CACHES.items()
        if _production() and cache.get("BACKEND") in LOCAL_CACHES
    ]


@register(Tags.caches)
def check_cache_apart_from_celery(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    celery = {
        "broker": list(_redis_urls(getattr(settings, "CELERY_BROKER_URL", None), ";")),
        "result backend": list(_redis_urls(getattr(settings, "CELERY_RESULT_BACKEND", None), ";")),
    }
    messages: list[CheckMessage] = []
    for alias, cache in settings.CACHES.items():
        if cache.get("BACKEND") not in REDIS_CACHES:
            continue
        for location in _redis_urls(cache.get("LOCATION"), ";,"):
            shared = [
                role for role, urls in celery.items() if any(map(location.shares_database, urls))
            ]
            if shared:
                messages.append(
                    Warning(
                        # The database number only: the URLs may carry an AUTH token.
                        f"CACHES[{alias!r}] and Celery's {' and '.join(shared)} use the same "
                        f"Redis database ({location.database}).",
                        hint="cache.clear() runs FLUSHDB, which deletes every queued task and "
                        "result in that database. Give the cache its own database (CACHE_URL "
                        "ending in another /<db>), or leave CACHE_URL unset: a cache taken "
                        "from REDIS_URL moves to the next database by itself.",
                        id=f"{_ID}W011",
                    )
                )
                break
    return messages


def _redis_urls(value: object, separators: str) -> Iterator[RedisUrl]:
    """The Redis URLs in a setting: a string (split like its reader splits it) or a list."""
    items = re.split(f"[{separators}]", value) if isinstance(value, str) else value
    if isinstance(items, (list, tuple)):
        for item in items:
            url = parsed_redis_url(item)
            if url is not None:
                yield url


@register()
def check_celery(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if _production() and getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        messages.append(
            Warning(
                "Celery runs tasks eagerly (in the web process) in production.",
                hint="Remove CELERY_TASK_ALWAYS_EAGER; set CELERY_BROKER_URL.",
                id=f"{_ID}W006",
            )
        )
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if _production() and broker.startswith(("memory://", "cache+memory://")):
        messages.append(
            Warning(
                "Celery uses an in-memory broker in production.",
                hint="Set CELERY_BROKER_URL to the Redis or SQS broker.",
                id=f"{_ID}W007",
            )
        )
    limit = getattr(settings, "CELERY_TASK_TIME_LIMIT", None)
    transport = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = transport.get("visibility_timeout")
    if limit and visibility and visibility <= limit:
        messages.append(
            Warning(
                f"The broker's visibility timeout ({visibility}s) is not longer than the task "
                f"time limit ({limit}s).",
                hint="A task still running when the visibility timeout ends is delivered to "
                "another worker and runs twice; raise CELERY_VISIBILITY_TIMEOUT.",
                id=f"{_ID}W008",
            )
        )
    return messages


@register()
def check_health_middleware(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    if HEALTH_MIDDLEWARE in middleware and middleware[0] != HEALTH_MIDDLEWARE:
        return [
            Warning(
                "HealthCheckMiddleware is not the first middleware.",
                hint="Middleware before it may validate the Host header or redirect to HTTPS, "
                "and the ALB's health checks (Host: the task's private IP, plain HTTP) fail.",
                id=f"{_ID}W009",
            )
        ]
    return []
