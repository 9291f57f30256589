"""caches(): the CACHES shape, its problems, and a real Redis (plain and TLS) behind it.

Caches are built through Django's own CacheHandler fed with the returned dict, which is
exactly what ``django.core.cache.caches`` does with settings.CACHES, without configuring
global settings in the test process.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery import Celery
from django.core.cache import CacheHandler
from django.core.cache.backends.base import BaseCache
from support.certificates import CertificateAuthority
from support.redis_servers import TlsRedis

from django_aws_settings.settings.caches import (
    DUMMY_BACKEND,
    LOCMEM_BACKEND,
    REDIS_BACKEND,
    SOURCE_VARIABLES,
    caches,
)
from django_aws_settings.settings.celery import celery_settings
from django_aws_settings.settings.errors import ConfigError

TOKEN = "s3cr3t-auth-T0ken"
PRODUCTION = {"DJANGO_ENV": "production"}
EXPECTED_URL = (
    "a redis://, rediss://, valkey://, valkeys:// URL, or locmem:// or dummy:// "
    "to choose a local cache"
)
URL_SHAPE = "redis[s]://[[user]:password@]host[:port][/db] (or valkey[s]://)"
UNREADABLE = "its host and port cannot be read (percent-encode / # ? @ in the password)"
TLS_OPTIONS = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}


def default_cache(environ: dict[str, str]) -> BaseCache:
    """The `default` cache Django would build from CACHES = caches(environ)."""
    cache: BaseCache = CacheHandler(caches(environ))["default"]
    return cache


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        caches(environ)
    return [str(problem) for problem in error.value.problems]


# ------------------------------------------------------------------------------ shape


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("CACHE_URL", "REDIS_URL")


def test_development_without_environment_uses_local_memory() -> None:
    assert caches({}) == {
        "default": {"BACKEND": LOCMEM_BACKEND, "LOCATION": "", "KEY_PREFIX": "django"}
    }


def test_redis_url_gives_django_redis_cache_with_short_timeouts() -> None:
    assert caches({"CACHE_URL": f"redis://:{TOKEN}@cache.internal:6379/2"}) == {
        "default": {
            "BACKEND": REDIS_BACKEND,
            "LOCATION": [f"redis://:{TOKEN}@cache.internal:6379/2"],
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            "KEY_PREFIX": "django",
        }
    }


def test_rediss_url_requires_certificate_and_host_name_verification() -> None:
    config = caches({"CACHE_URL": "rediss://master.app.cache.amazonaws.com:6379/0"})
    assert config["default"]["OPTIONS"] == {
        "socket_connect_timeout": 1.0,
        "socket_timeout": 1.0,
        **TLS_OPTIONS,
    }


def test_ca_bundle_is_passed_to_redis_py(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("PEM")
    config = caches({"CACHE_URL": "rediss://h:6379/0", "REDIS_CA_BUNDLE": str(bundle)})
    assert config["default"]["OPTIONS"]["ssl_ca_certs"] == str(bundle)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (f"valkeys://:{TOKEN}@h:6379/1", f"rediss://:{TOKEN}@h:6379/1"),
        ("valkey://h:6379", "redis://h:6379"),
        ("VALKEYS://h", "rediss://h"),
    ],
)
def test_valkey_schemes_become_redis_schemes(given: str, expected: str) -> None:
    assert caches({"CACHE_URL": given})["default"]["LOCATION"] == [expected]


def test_valkeys_url_gets_tls_options() -> None:
    options = caches({"CACHE_URL": "valkeys://h:6379/0"})["default"]["OPTIONS"]
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED


def test_cache_url_wins_over_redis_url() -> None:
    config = caches({"CACHE_URL": "redis://cache:6379", "REDIS_URL": "redis://broker:6379"})
    assert config["default"]["LOCATION"] == ["redis://cache:6379"]


# ------------------------------------------------- REDIS_URL: the cache beside the broker


def cache_and_celery(environ: dict[str, str]) -> tuple[str, str, str | None]:
    """(cache LOCATION, Celery broker, Celery result backend) from one environment."""
    celery = celery_settings(environ)
    location: str = caches(environ)["default"]["LOCATION"][0]
    return location, celery["CELERY_BROKER_URL"], celery["CELERY_RESULT_BACKEND"]


@pytest.mark.parametrize(
    ("given", "cache", "broker"),
    [
        ("redis://heroku-like:6379", "redis://heroku-like:6379/1", "redis://heroku-like:6379"),
        (
            f"rediss://:{TOKEN}@master.x.cache.amazonaws.com:6379/0",
            f"rediss://:{TOKEN}@master.x.cache.amazonaws.com:6379/1",
            f"rediss://:{TOKEN}@master.x.cache.amazonaws.com:6379/0",
        ),
        (
            f"redis://u:{TOKEN}@h:6380/3?health_check_interval=10",
            f"redis://u:{TOKEN}@h:6380/4?health_check_interval=10",
            f"redis://u:{TOKEN}@h:6380/3?health_check_interval=10",
        ),
        # 15 is the last of Redis's default 16 databases: the neighbour below it.
        ("valkeys://h/15", "rediss://h/14", "rediss://h/15"),
    ],
)
def test_redis_url_gives_the_cache_the_next_database_and_celery_its_own(
    given: str, cache: str, broker: str
) -> None:
    """cache.clear() is FLUSHDB: it must not run where Celery keeps its queues and results."""
    assert cache_and_celery({"REDIS_URL": given}) == (cache, broker, broker)


@pytest.mark.parametrize(
    "celery",
    [
        {"CELERY_BROKER_URL": "redis://h:6379/1"},
        {"CELERY_BROKER_URL": "redis://other-host:6379/0"},
        {"CELERY_BROKER_URL": "redis://h:6380/0"},
        {"CELERY_BROKER_URL": "sqs://"},
        {"CELERY_BROKER_URL": "sqs://", "CELERY_RESULT_BACKEND": "redis://h:6379/2"},
    ],
)
def test_redis_url_keeps_its_database_when_celery_uses_another(celery: dict[str, str]) -> None:
    """A project that already moved its broker off REDIS_URL keeps its cache where it was."""
    location, broker, backend = cache_and_celery({"REDIS_URL": "redis://h:6379/0", **celery})
    assert location == "redis://h:6379/0"
    assert location not in (broker, backend)


@pytest.mark.parametrize(
    "celery",
    [
        {"CELERY_BROKER_URL": "redis://H:6379/0"},
        {"CELERY_BROKER_URL": "rediss://:other-token@h/0"},
        {"CELERY_BROKER_URL": "sqs://", "CELERY_RESULT_BACKEND": "redis://h:6379"},
        {"CELERY_BROKER_URL": "redis://h:6379/5", "CELERY_RESULT_BACKEND": "redis://h:6379/0"},
    ],
)
def test_redis_url_moves_when_celery_names_its_database_itself(celery: dict[str, str]) -> None:
    """Same host, port and database, however spelled (case, scheme, credentials, /0)."""
    location, _, _ = cache_and_celery({"REDIS_URL": "redis://h:6379/0", **celery})
    assert location == "redis://h:6379/1"


def test_cache_url_is_kept_as_given_even_on_the_brokers_database() -> None:
    """An explicit CACHE_URL is never rewritten; system check W011 warns about this one."""
    environ = {"CACHE_URL": "redis://h:6379/0", "REDIS_URL": "redis://h:6379/0"}
    assert cache_and_celery(environ) == ("redis://h:6379/0",) * 3


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [("locmem://", LOCMEM_BACKEND, ""), ("locmem://sessions", LOCMEM_BACKEND, "sessions")],
)
def test_locmem_url_chooses_local_memory(url: str, backend: str, location: str) -> None:
    assert caches({**PRODUCTION, "CACHE_URL": url})["default"] == {
        "BACKEND": backend,
        "LOCATION": location,
        "KEY_PREFIX": "django",
    }


def test_dummy_url_chooses_the_dummy_cache() -> None:
    assert caches({"CACHE_URL": "dummy://"})["default"]["BACKEND"] == DUMMY_BACKEND


def test_key_prefix_defaults_to_the_project_package() -> None:
    config = caches({"DJANGO_SETTINGS_MODULE": "shop.settings.aws"})
    assert config["default"]["KEY_PREFIX"] == "shop"


def test_cache_key_prefix_wins() -> None:
    config = caches({"DJANGO_SETTINGS_MODULE": "shop.settings", "CACHE_KEY_PREFIX": "shop-v2"})
    assert config["default"]["KEY_PREFIX"] == "shop-v2"


def test_timeouts_can_be_set_in_fractions_of_a_second() -> None:
    config = caches(
        {
            "CACHE_URL": "redis://h",
            "CACHE_SOCKET_TIMEOUT": "0.25",
            "CACHE_SOCKET_CONNECT_TIMEOUT": "2",
        }
    )
    assert config["default"]["OPTIONS"] == {"socket_connect_timeout": 2.0, "socket_timeout": 0.25}


def test_location_is_one_server_even_when_the_token_has_commas() -> None:
    """Django splits a string LOCATION on ',' and ';'; the list keeps the URL whole."""
    cache = default_cache({"CACHE_URL": f"rediss://:a,b;{TOKEN}@h:6379/0"})
    assert cache._servers == [f"rediss://:a,b;{TOKEN}@h:6379/0"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- problems


def test_production_requires_a_cache_url() -> None:
    assert problems(PRODUCTION) == [
        "CACHE_URL: is required when DJANGO_ENV=production (REDIS_URL is used when "
        f"CACHE_URL is unset); expected {EXPECTED_URL}"
    ]


BAD_URLS = [
    pytest.param(
        {"CACHE_URL": f"memcached://:{TOKEN}@h:11211"},
        f"CACHE_URL: expected {EXPECTED_URL}, got a memcached:// URL",
        id="unknown-scheme",
    ),
    pytest.param(
        {"CACHE_URL": TOKEN},
        f"CACHE_URL: expected {EXPECTED_URL}, got a value that is not a URL",
        id="not-a-url",
    ),
    pytest.param(
        {"REDIS_URL": f"redis://:{TOKEN}@h:63x79/0"},
        f"REDIS_URL: is not a valid Redis URL: {UNREADABLE}; expected {URL_SHAPE}",
        id="bad-port",
    ),
    pytest.param(
        {"CACHE_URL": f"rediss://:ab/{TOKEN}@h:6379/0"},
        f"CACHE_URL: is not a valid Redis URL: {UNREADABLE}; expected {URL_SHAPE}",
        id="unencoded-slash-in-token",
    ),
    pytest.param(
        {"CACHE_URL": f"rediss://:ab#{TOKEN}@h:6379/0"},
        f"CACHE_URL: is not a valid Redis URL: {UNREADABLE}; expected {URL_SHAPE}",
        id="unencoded-hash-in-token",
    ),
    pytest.param(
        {"CACHE_URL": f"redis://:{TOKEN}@h:6379/cache"},
        "CACHE_URL: is not a valid Redis URL: the path must be a database number such as /0; "
        f"expected {URL_SHAPE}",
        id="bad-database",
    ),
    pytest.param(
        {"CACHE_URL": f"rediss://:{TOKEN}@h:6379/0?ssl_cert_reqs=none"},
        "CACHE_URL: is not a valid Redis URL: TLS options are not accepted in the URL "
        f"(use rediss:// and REDIS_CA_BUNDLE); expected {URL_SHAPE}",
        id="tls-option-in-query",
    ),
    pytest.param(
        {"REDIS_URL": f"redis://:{TOKEN}@h:6379?db=2"},
        "REDIS_URL: is not a valid Redis URL: the database goes in the path (/1), not in a db= "
        f"query option; expected {URL_SHAPE}",
        id="database-in-query",
    ),
    pytest.param(
        {"CACHE_URL": f"redis://:{TOKEN}@h", "CACHE_SOCKET_TIMEOUT": "1s"},
        "CACHE_SOCKET_TIMEOUT: expected a number of seconds above 0 and at most 60",
        id="non-numeric-timeout",
    ),
    pytest.param(
        {"CACHE_URL": f"redis://:{TOKEN}@h", "CACHE_SOCKET_CONNECT_TIMEOUT": "0"},
        "CACHE_SOCKET_CONNECT_TIMEOUT: expected a number of seconds above 0 and at most 60",
        id="zero-connect-timeout",
    ),
    pytest.param(
        {"CACHE_URL": f"rediss://:{TOKEN}@h", "REDIS_CA_BUNDLE": "/nonexistent/ca.pem"},
        "REDIS_CA_BUNDLE: expected the path of a PEM file of CA certificates; "
        "no file at '/nonexistent/ca.pem'",
        id="missing-ca-bundle",
    ),
    pytest.param(
        {"CACHE_URL": f"redis://:{TOKEN}@h", "CACHE_KEY_PREFIX": "my app"},
        "CACHE_KEY_PREFIX: expected at most 100 printable characters without spaces",
        id="key-prefix-with-space",
    ),
]


@pytest.mark.parametrize(("environ", "expected"), BAD_URLS)
def test_bad_input_is_one_problem_without_the_token(environ: dict[str, str], expected: str) -> None:
    found = problems(environ)
    assert found == [expected]
    assert TOKEN not in "\n".join(found)


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {"CACHE_URL": "memcached://h", "CACHE_SOCKET_TIMEOUT": "x", "CACHE_KEY_PREFIX": "a b"}
    )
    assert [problem.split(":", 1)[0] for problem in found] == ["CACHE_URL", "CACHE_KEY_PREFIX"]


# ------------------------------------------------------------------- real Redis servers


@pytest.fixture
def key() -> str:
    return f"k-{secrets.token_hex(4)}"


def test_set_and_get_through_plain_redis(redis_url: str, key: str) -> None:
    cache = default_cache({"CACHE_URL": redis_url, "CACHE_KEY_PREFIX": "cachetest"})
    cache.set(key, {"answer": 42}, 30)
    assert cache.get(key) == {"answer": 42}
    assert redis.Redis.from_url(redis_url).exists(f"cachetest:1:{key}") == 1
    cache.delete(key)


def test_cache_clear_keeps_the_tasks_and_results_celery_put_on_redis_url(
    redis_url: str, key: str
) -> None:
    """REDIS_URL alone: Celery's queue and results survive Django's cache.clear()."""
    queue = f"q-{secrets.token_hex(4)}"
    environ = {"REDIS_URL": redis_url, "CELERY_DEFAULT_QUEUE": queue}
    app = Celery("sender", set_as_current=False)
    app.config_from_object(SimpleNamespace(**celery_settings(environ)), namespace="CELERY")
    broker = redis.Redis.from_url(redis_url)
    try:
        queued = app.send_task("shop.tasks.rebuild_index", args=(1,))
        finished = f"done-{secrets.token_hex(4)}"
        app.backend.store_result(finished, 5, "SUCCESS")
        cache = default_cache(environ)
        cache.set(key, "cached", 30)
        assert cache.get(key) == "cached"

        cache.clear()

        assert cache.get(key) is None
        assert [json.loads(m)["headers"]["id"] for m in broker.lrange(queue, 0, -1)] == [queued.id]
        assert app.AsyncResult(finished).get(timeout=5) == 5
    finally:
        broker.delete(queue)
        broker.close()
        app.close()


@pytest.mark.parametrize("broker_named", [True, False], ids=["same-database", "cache-url-alone"])
def test_cache_url_on_the_brokers_database_would_flush_the_queue(
    redis_url: str, broker_named: bool
) -> None:
    """Why the move matters (and W011 exists): the same database, cleared, loses the task.

    With CACHE_URL alone the broker derived from it moves to the next database: kept."""
    queue = f"q-{secrets.token_hex(4)}"
    environ = {"CACHE_URL": redis_url, "CELERY_DEFAULT_QUEUE": queue}
    if broker_named:
        environ["CELERY_BROKER_URL"] = redis_url
    app = Celery("sender", set_as_current=False)
    app.config_from_object(SimpleNamespace(**celery_settings(environ)), namespace="CELERY")
    broker = redis.Redis.from_url(app.conf.broker_url)
    try:
        app.send_task("shop.tasks.rebuild_index", args=(1,))
        assert broker.llen(queue) == 1
        default_cache(environ).clear()
        assert broker.llen(queue) == (0 if broker_named else 1)
    finally:
        broker.close()
        app.close()


def test_set_and_get_through_tls_redis_with_the_ca_bundle(tls_redis: TlsRedis, key: str) -> None:
    cache = default_cache({"CACHE_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)})
    cache.set(key, "over tls", 30)
    assert cache.get(key) == "over tls"


def test_valkeys_url_reaches_tls_redis(tls_redis: TlsRedis, key: str) -> None:
    url = tls_redis.url.replace("rediss://", "valkeys://", 1)
    cache = default_cache({"CACHE_URL": url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)})
    cache.set(key, 7, 30)
    assert cache.get(key) == 7


def test_tls_redis_signed_by_another_ca_is_refused(
    tls_redis: TlsRedis, tmp_path: Path, key: str
) -> None:
    other_ca = CertificateAuthority(tmp_path)
    cache = default_cache({"CACHE_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(other_ca.cert_path)})
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        cache.get(key)


def test_tls_redis_is_verified_against_the_system_store_by_default(
    tls_redis: TlsRedis, key: str
) -> None:
    cache = default_cache({"CACHE_URL": tls_redis.url})
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        cache.get(key)


@pytest.fixture
def acl_user(redis_url: str) -> Iterator[tuple[str, str]]:
    """A Redis ACL user whose password holds ',' and ';' (legal in ElastiCache tokens)."""
    admin = redis.Redis.from_url(redis_url)
    user, password = f"dastest-{secrets.token_hex(4)}", f"a,b;{TOKEN}"
    admin.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    yield user, password
    admin.acl_deluser(user)


def test_token_with_commas_authenticates_against_real_redis(
    redis_url: str, acl_user: tuple[str, str], key: str
) -> None:
    user, password = acl_user
    parts = urllib.parse.urlsplit(redis_url)
    url = f"redis://{user}:{password}@{parts.hostname}:{parts.port}{parts.path}"
    cache = default_cache({"CACHE_URL": url})
    cache.set(key, "authenticated", 30)
    assert cache.get(key) == "authenticated"


# ---------------------------------------------------------------------------- outages


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cache_on_a_closed_port_raises_connection_error(key: str) -> None:
    cache = default_cache({"CACHE_URL": f"redis://127.0.0.1:{_closed_port()}/0"})
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get(key)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung or partitioned node)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def test_cache_that_never_answers_times_out_after_the_socket_timeout(
    silent_server: int, key: str
) -> None:
    environ = {"CACHE_URL": f"redis://127.0.0.1:{silent_server}/0", "CACHE_SOCKET_TIMEOUT": "0.2"}
    options: dict[str, Any] = caches(environ)["default"]["OPTIONS"]
    assert options["socket_timeout"] == 0.2
    cache = default_cache(environ)
    started = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        cache.get(key)
    assert time.monotonic() - started < 5  # generous: redis-py's default would be 5 s
