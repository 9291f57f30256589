"""System checks for what apps really do with caches and HSTS: W012 (two Redis caches in one
database), W013 (TLS without certificate checks), W014 (an HSTS ramp left short)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from django.test import override_settings

from django_aws_settings.settings.checks import (
    check_cache_tls_verified,
    check_caches_apart,
    check_hsts_seconds,
)

pytestmark = pytest.mark.usefixtures("django_settings")

REDIS = "django.core.cache.backends.redis.RedisCache"
DJANGO_REDIS = "django_redis.cache.RedisCache"
TOKEN = "s3cr3t-auth-T0ken"
PRODUCTION = {"ENVIRONMENT": "production", "ASGI": False}


def cache(location: str | list[str], backend: str = REDIS, **extra: Any) -> dict[str, Any]:
    return {"BACKEND": backend, "LOCATION": location, **extra}


@pytest.mark.parametrize(
    ("sessions", "expected"),
    [
        # REDIS_URL + "/0" on a URL that ends in /0: redis-py reads "00", database 0.
        (cache(f"redis://:{TOKEN}@h:6379/0/0"), ["CACHES['sessions'] and CACHES['default']"]),
        (cache(f"redis://:{TOKEN}@h:6379/0"), ["CACHES['sessions'] and CACHES['default']"]),
        (cache(f"redis://:{TOKEN}@h:6379/1"), []),
        (cache(f"redis://:{TOKEN}@other:6379/0"), []),
        (cache(f"redis://:{TOKEN}@h:6379/0", "django.core.cache.backends.locmem.LocMemCache"), []),
    ],
    ids=["appended-path", "same-url", "own-database", "other-server", "not-redis"],
)
def test_w012_two_redis_caches_in_one_database(
    sessions: dict[str, Any], expected: list[str]
) -> None:
    caches = {"default": cache([f"rediss://:{TOKEN}@h:6379/0"]), "sessions": sessions}
    with override_settings(CACHES=caches):
        found = check_caches_apart(None)
    assert [m.msg.split(" use ", 1)[0] for m in found] == expected
    assert all(m.id == "django_aws_settings.W012" for m in found)
    assert TOKEN not in " ".join(f"{m.msg} {m.hint}" for m in found)


@pytest.mark.parametrize(
    ("entry", "warned"),
    [
        (cache("rediss://h:6379/0"), False),
        (cache("rediss://h:6379/0", OPTIONS={"ssl_cert_reqs": ssl.CERT_REQUIRED}), False),
        (cache("rediss://h:6379/0?ssl_cert_reqs=none"), True),
        (cache("rediss://h:6379/0", OPTIONS={"ssl_cert_reqs": None}), True),
        (
            cache(
                "rediss://h:6379/0",
                DJANGO_REDIS,
                OPTIONS={"CONNECTION_POOL_KWARGS": {"ssl_cert_reqs": "none"}},
            ),
            True,
        ),
        (cache("redis://h:6379/0", OPTIONS={"ssl_cert_reqs": None}), False),  # not TLS at all
    ],
    ids=["default", "required", "url-none", "options-none", "django-redis-none", "plain"],
)
def test_w013_tls_without_certificate_checks(entry: dict[str, Any], warned: bool) -> None:
    with override_settings(CACHES={"default": entry}):
        found = check_cache_tls_verified(None)
    assert [m.id for m in found] == (["django_aws_settings.W013"] if warned else [])


@pytest.mark.parametrize(
    ("seconds", "environment", "warned"),
    [
        (60, PRODUCTION, True),
        (31_536_000, PRODUCTION, False),
        (0, PRODUCTION, False),  # Django's own security.W004 says so
        (60, {"ENVIRONMENT": "development", "ASGI": False}, False),
    ],
    ids=["ramp", "year", "off", "development"],
)
def test_w014_a_short_hsts_ramp_in_production(
    seconds: int, environment: dict[str, Any], warned: bool
) -> None:
    with override_settings(SECURE_HSTS_SECONDS=seconds, DJANGO_AWS_SETTINGS=environment):
        found = check_hsts_seconds(None)
    assert [(m.id, m.msg) for m in found] == (
        [("django_aws_settings.W014", f"SECURE_HSTS_SECONDS is {seconds}, less than a year.")]
        if warned
        else []
    )


def test_w015_a_database_redis_does_not_have() -> None:
    """REDIS_URL + "/1" on a URL ending in /13 is database 131 to redis-py."""
    caches = {"default": cache(f"redis://:{TOKEN}@h:6379/13"), "x": cache("redis://h:6379/13/1")}
    with override_settings(CACHES=caches):
        found = check_caches_apart(None)
    assert [(m.id, m.msg) for m in found] == [
        (
            "django_aws_settings.W015",
            "CACHES['x'] names Redis database 131, which does not exist (0-15).",
        )
    ]
