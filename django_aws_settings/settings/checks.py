"""System checks, documented in docs/checks.md; ids are stable and never reused."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .middleware import HEALTH_MIDDLEWARE
from .redis_urls import MAX_DATABASE, REDIS_SCHEMES, RedisUrl, parsed_redis_url
from .security import ONE_YEAR

_ID = "django_aws_settings."
LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)
WEAK_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca")
REDIS_CACHES = ("django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache")
# Email backends that deliver nothing: the message is printed, kept in memory or dropped.
UNDELIVERED_EMAIL = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
)
SMTP_EMAIL = "django.core.mail.backends.smtp.EmailBackend"


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


@register(Tags.caches)
def check_caches_apart(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Two Redis caches in one database (one's clear() empties the other), or a cache on a
    database Redis does not have (``REDIS_URL + "/1"`` on a URL ending in /13 is 131)."""
    seen: dict[tuple[str, int | None, int], str] = {}
    messages: list[CheckMessage] = []
    for alias, cache in settings.CACHES.items():
        if cache.get("BACKEND") not in REDIS_CACHES:
            continue
        for location in _cache_locations(cache.get("LOCATION")):
            if not 0 <= location.database <= MAX_DATABASE:
                messages.append(
                    Warning(
                        f"CACHES[{alias!r}] names Redis database {location.database}, which "
                        f"does not exist (0-{MAX_DATABASE}).",
                        hint="redis-py reads the whole path as the number: appending '/1' to "
                        "a URL that already ends in /<db> joins the digits. Replace the path.",
                        id=f"{_ID}W015",
                    )
                )
                break
            other = seen.setdefault(location.key, alias)
            if other != alias:
                messages.append(
                    Warning(
                        f"CACHES[{alias!r}] and CACHES[{other!r}] use the same Redis database "
                        f"({location.database}).",
                        hint="Each cache's clear() runs FLUSHDB and empties the other; give "
                        "each cache its own database number (0-15).",
                        id=f"{_ID}W012",
                    )
                )
                break
    return messages


@register(Tags.caches)
def check_channel_layer_apart_from_caches(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """A Channels layer in a Redis cache's database: the cache's clear() (FLUSHDB) drops
    every group membership and every message waiting for a consumer."""
    caches = {
        location.key: alias
        for alias, cache in settings.CACHES.items()
        if cache.get("BACKEND") in REDIS_CACHES
        for location in _cache_locations(cache.get("LOCATION"))
    }
    messages: list[CheckMessage] = []
    for alias, layer in (getattr(settings, "CHANNEL_LAYERS", None) or {}).items():
        hosts = (layer.get("CONFIG") or {}).get("hosts") or []
        addresses = [h.get("address") if isinstance(h, dict) else h for h in hosts]
        for location in _cache_locations([a for a in addresses if isinstance(a, str)]):
            cache = caches.get(location.key)
            if cache is not None:
                messages.append(
                    Warning(
                        f"CHANNEL_LAYERS[{alias!r}] and CACHES[{cache!r}] use the same Redis "
                        f"database ({location.database}).",
                        hint="cache.clear() runs FLUSHDB, which drops every group and every "
                        "message waiting for a consumer. Give the layer its own database, or "
                        "let DJANGO_AWS_CHANNELS build it from REDIS_URL (docs/websockets.md).",
                        id=f"{_ID}W017",
                    )
                )
                break
    return messages


@register(Tags.caches, Tags.security)
def check_cache_tls_verified(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    return [
        Warning(
            f"CACHES[{alias!r}] connects over TLS without checking the server's certificate.",
            hint="Remove ssl_cert_reqs=none (from the URL or OPTIONS): ElastiCache presents "
            "a certificate from a public Amazon CA; REDIS_CA_BUNDLE names another CA file.",
            id=f"{_ID}W013",
        )
        for alias, cache in settings.CACHES.items()
        if cache.get("BACKEND") in REDIS_CACHES and _unverified_tls(cache)
    ]


@dataclass(frozen=True)
class _Location:
    """A cache LOCATION read the way redis-py reads it, however the app wrote it."""

    host: str
    port: int
    database: int  # redis-py: the path with every "/" removed, as one number
    tls: bool
    unverified: bool  # ssl_cert_reqs=none in the query

    @property
    def key(self) -> tuple[str, int | None, int]:
        return (self.host, self.port, self.database)


def _cache_locations(value: object) -> Iterator[_Location]:
    items = re.split("[;,]", value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return
    for item in items:
        if not isinstance(item, str):
            continue
        try:
            parts = urlsplit(item.strip())
            port = parts.port or 6379
        except ValueError:
            continue
        digits = parts.path.replace("/", "")
        if parts.scheme.lower() not in REDIS_SCHEMES or not (digits.isdigit() or not digits):
            continue
        query = {k.lower(): v.lower() for k, v in parse_qsl(parts.query)}
        yield _Location(
            (parts.hostname or "").lower(),
            port,
            int(digits) if digits else 0,
            parts.scheme.lower() in ("rediss", "valkeys"),
            query.get("ssl_cert_reqs") in ("none", "cert_none"),
        )


def _unverified_tls(cache: dict[str, Any]) -> bool:
    options = cache.get("OPTIONS", {}) or {}
    pool = options.get("CONNECTION_POOL_KWARGS", {}) or {}
    requirements = [options.get("ssl_cert_reqs", "unset"), pool.get("ssl_cert_reqs", "unset")]
    locations = [loc for loc in _cache_locations(cache.get("LOCATION")) if loc.tls]
    return any(loc.unverified for loc in locations) or (
        bool(locations) and any(value in (None, ssl.CERT_NONE, "none") for value in requirements)
    )


@register(Tags.security, deploy=True)
def check_hsts_seconds(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    seconds = getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0
    if not _production() or not 0 < seconds < ONE_YEAR:
        return []  # 0 is Django's own security.W004
    return [
        Warning(
            f"SECURE_HSTS_SECONDS is {seconds}, less than a year.",
            hint="Your settings module chose it (configure() keeps an HSTS ramp as it is). "
            "Once every page and subdomain answers over HTTPS, raise it step by step to "
            "31536000 (SECURE_HSTS_SECONDS in the environment or the module).",
            id=f"{_ID}W014",
        )
    ]


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
    limit, task = _longest_time_limit(getattr(settings, "CELERY_TASK_TIME_LIMIT", None), broker)
    transport = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = transport.get("visibility_timeout")
    if limit and visibility and visibility <= limit:
        whose = f"task {task}'s time limit" if task else "the task time limit"
        messages.append(
            Warning(
                f"The broker's visibility timeout ({visibility}s) is not longer than {whose} "
                f"({limit:g}s).",
                hint="A task still running when the visibility timeout ends is delivered to "
                "another worker and runs twice; raise CELERY_VISIBILITY_TIMEOUT.",
                id=f"{_ID}W008",
            )
        )
    return messages


def _longest_time_limit(default: object, broker: str) -> tuple[float | None, str | None]:
    """The longest hard time limit a task of the project's Celery app can run for, and the
    task's name when its own ``time_limit`` (decorator or CELERY_TASK_ANNOTATIONS) is
    longer than CELERY_TASK_TIME_LIMIT. Only with a broker a worker would read."""
    longest = float(default) if isinstance(default, (int, float)) and default > 0 else None
    if not broker or broker.startswith(("memory://", "cache+memory://")):
        return longest, None
    try:
        from celery import current_app

        # The app the project created (its celery.py, imported from its package); reading
        # its tasks finalizes it, which imports the apps' tasks modules as a worker would.
        limits = {
            name: float(task.time_limit)
            for name, task in current_app.tasks.items()
            if isinstance(getattr(task, "time_limit", None), (int, float))
        }
    except Exception:  # noqa: BLE001 - a check never breaks manage.py; the worker will say
        return longest, None
    name = max(sorted(limits), key=limits.__getitem__, default=None)
    if name is not None and (longest is None or limits[name] > longest):
        return limits[name], name
    return longest, None


# With check --deploy only, like W014: development and CI keep their console backends.
@register(deploy=True)
def check_email_backend(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    backend = str(getattr(settings, "EMAIL_BACKEND", SMTP_EMAIL))
    host = str(getattr(settings, "EMAIL_HOST", "") or "").strip().lower()
    if not _production():
        return []
    if backend in UNDELIVERED_EMAIL:
        problem = f"EMAIL_BACKEND is {backend.rsplit('.', 2)[-2]} in production."
    elif backend == SMTP_EMAIL and host in ("", "localhost", "127.0.0.1", "::1"):
        # Django's default: SMTP on localhost, where a container has no mail server.
        problem = f"EMAIL_BACKEND is SMTP with EMAIL_HOST {host!r} in production."
    else:
        return []
    return [
        Warning(
            problem,
            hint="Password resets and error mails never leave the task. Set "
            "DJANGO_AWS_EMAIL=ses (the email answer ses), or EMAIL_HOST to your provider; "
            "an app that sends no mail silences this check (SILENCED_SYSTEM_CHECKS).",
            id=f"{_ID}W016",
        )
    ]


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
