"""celery_settings(): the CELERY_* shape, its problems, and real workers on Redis and TLS Redis.

Senders are Celery apps configured from the returned dict with the CELERY namespace,
as ``config_from_object("django.conf:settings", namespace="CELERY")`` would; workers run
``celery -A celery_app worker`` (tests/celery_app), whose Django settings call
``celery_settings()`` on the worker's own environment.
"""

from __future__ import annotations

import os
import secrets
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery import Celery
from celery.app.defaults import DEFAULTS
from kombu.exceptions import OperationalError
from support.certificates import CertificateAuthority
from support.moto_server import Aws
from support.processes import running
from support.redis_servers import TlsRedis

from django_aws_settings.settings.celery import SOURCE_VARIABLES, celery_settings
from django_aws_settings.settings.env import Reference, ResolvedEnviron
from django_aws_settings.settings.errors import ConfigError

TOKEN = "s3cr3t-auth-T0ken"
PRODUCTION = {"DJANGO_ENV": "production"}
TESTS_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = TESTS_DIR.parent
TLS_OPTIONS = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
URL_SHAPE = "redis[s]://[[user]:password@]host[:port][/db] (or valkey[s]://)"
RELIABILITY = {
    "CELERY_TASK_EAGER_PROPAGATES": True,
    "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
    "CELERY_TASK_ACKS_LATE": True,
    "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
    "CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS": True,
    "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": 100,
    "CELERY_TASK_TIME_LIMIT": 300,
    "CELERY_TASK_SOFT_TIME_LIMIT": 270,
    "CELERY_RESULT_EXPIRES": 86_400,
    "CELERY_TASK_DEFAULT_QUEUE": "default",
    "CELERY_TASK_ROUTES": {},
    "CELERY_WORKER_SEND_TASK_EVENTS": False,
    "CELERY_TASK_SEND_SENT_EVENT": False,
}
REDIS_TRANSPORT = {
    "visibility_timeout": 3600,
    "socket_timeout": 5.0,
    "socket_connect_timeout": 5.0,
    "socket_keepalive": True,
}


@pytest.fixture(autouse=True)
def _no_celery_variables_in_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery prefers these two os.environ variables to any setting given to a sender."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)


def sender(environ: dict[str, str]) -> Celery:
    """A Celery app configured like the template's: CELERY_* settings, CELERY namespace."""
    app = Celery("sender", set_as_current=False)
    app.config_from_object(SimpleNamespace(**celery_settings(environ)), namespace="CELERY")
    return app


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        celery_settings(environ)
    return [str(problem) for problem in error.value.problems]


# ------------------------------------------------------------------------------ shape


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("CELERY_BROKER_URL",)


def test_development_without_broker_runs_tasks_eagerly() -> None:
    assert celery_settings({}) == {
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": None,
        "CELERY_TASK_ALWAYS_EAGER": True,
        **RELIABILITY,
        "CELERY_BROKER_TRANSPORT_OPTIONS": REDIS_TRANSPORT,
    }


def test_eager_app_runs_the_task_in_process_and_propagates_errors() -> None:
    app = sender({})

    @app.task
    def divide(x: int, y: int) -> float:
        return x / y

    assert divide.delay(6, 3).get() == 2
    with pytest.raises(ZeroDivisionError):
        divide.delay(1, 0)


def test_redis_broker_is_also_the_result_backend() -> None:
    url = f"redis://:{TOKEN}@broker.internal:6379/1"
    assert celery_settings({**PRODUCTION, "CELERY_BROKER_URL": url}) == {
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        "CELERY_TASK_ALWAYS_EAGER": False,
        **RELIABILITY,
        "CELERY_BROKER_TRANSPORT_OPTIONS": REDIS_TRANSPORT,
        "CELERY_REDIS_SOCKET_TIMEOUT": 5.0,
        "CELERY_REDIS_SOCKET_CONNECT_TIMEOUT": 5.0,
        "CELERY_REDIS_SOCKET_KEEPALIVE": True,
    }


def test_rediss_broker_and_backend_verify_certificates(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("PEM")
    settings = celery_settings(
        {"CELERY_BROKER_URL": "rediss://h:6379/0", "REDIS_CA_BUNDLE": str(bundle)}
    )
    expected = {**TLS_OPTIONS, "ssl_ca_certs": str(bundle)}
    assert settings["CELERY_BROKER_USE_SSL"] == expected
    assert settings["CELERY_REDIS_BACKEND_USE_SSL"] == expected


def test_plain_redis_has_no_tls_settings() -> None:
    settings = celery_settings({"CELERY_BROKER_URL": "redis://h:6379/0"})
    assert "CELERY_BROKER_USE_SSL" not in settings
    assert "CELERY_REDIS_BACKEND_USE_SSL" not in settings


def test_tls_result_backend_on_a_plain_broker_gets_its_own_tls_settings() -> None:
    settings = celery_settings(
        {"CELERY_BROKER_URL": "redis://broker:6379/0", "CELERY_RESULT_BACKEND": "rediss://r/1"}
    )
    assert settings["CELERY_RESULT_BACKEND"] == "rediss://r/1"
    assert settings["CELERY_REDIS_BACKEND_USE_SSL"] == TLS_OPTIONS
    assert "CELERY_BROKER_USE_SSL" not in settings


@pytest.mark.parametrize(
    ("environ", "broker"),
    [
        ({"REDIS_URL": "redis://heroku:6379"}, "redis://heroku:6379"),
        # CACHE_URL names the cache's database: the queues take the next one (check W011).
        ({"CACHE_URL": "rediss://cache:6379/0"}, "rediss://cache:6379/1"),
        ({"REDIS_URL": "valkeys://:tok@h:6379/0"}, "rediss://:tok@h:6379/0"),
        (
            {"REDIS_URL": "redis://first:6379", "CACHE_URL": "redis://second:6379"},
            "redis://first:6379",
        ),
        ({"CACHE_URL": "locmem://", "REDIS_URL": "redis://r:6379"}, "redis://r:6379"),
    ],
)
def test_broker_falls_back_to_redis_url_then_cache_url(
    environ: dict[str, str], broker: str
) -> None:
    settings = celery_settings(environ)
    assert (settings["CELERY_BROKER_URL"], settings["CELERY_TASK_ALWAYS_EAGER"]) == (broker, False)


def test_broker_and_results_keep_redis_urls_own_database() -> None:
    """The cache moves to the next database (test_caches.py); queued tasks never move."""
    settings = celery_settings({"REDIS_URL": f"rediss://:{TOKEN}@h:6379/0?health_check_interval=5"})
    expected = f"rediss://:{TOKEN}@h:6379/0?health_check_interval=5"
    assert (settings["CELERY_BROKER_URL"], settings["CELERY_RESULT_BACKEND"]) == (expected,) * 2


def test_a_non_redis_cache_url_leaves_development_eager() -> None:
    assert celery_settings({"CACHE_URL": "locmem://"})["CELERY_TASK_ALWAYS_EAGER"] is True


def test_result_backend_can_be_disabled() -> None:
    settings = celery_settings(
        {"CELERY_BROKER_URL": "redis://h:6379", "CELERY_RESULT_BACKEND": "disabled"}
    )
    assert settings["CELERY_RESULT_BACKEND"] is None
    assert "CELERY_REDIS_SOCKET_TIMEOUT" not in settings


def test_other_result_backends_are_passed_through() -> None:
    settings = celery_settings(
        {"CELERY_BROKER_URL": "sqs://", "CELERY_RESULT_BACKEND": "django-db"}
    )
    assert settings["CELERY_RESULT_BACKEND"] == "django-db"


def test_sqs_broker_uses_the_region_and_no_result_backend() -> None:
    settings = celery_settings(
        {
            **PRODUCTION,
            "CELERY_BROKER_URL": "sqs://",
            "AWS_REGION": "eu-west-1",
            "CELERY_SQS_QUEUE_PREFIX": "shop-prod-",
            "CELERY_SQS_POLLING_INTERVAL": "0",
        }
    )
    assert settings["CELERY_BROKER_URL"] == "sqs://"
    assert settings["CELERY_RESULT_BACKEND"] is None
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {
        "region": "eu-west-1",
        "visibility_timeout": 3600,
        "polling_interval": 0.0,
        "wait_time_seconds": 20,
        "queue_name_prefix": "shop-prod-",
    }
    assert "CELERY_BROKER_USE_SSL" not in settings


def test_limits_and_queue_come_from_the_environment() -> None:
    settings = celery_settings(
        {
            "CELERY_BROKER_URL": "redis://h",
            "CELERY_TASK_TIME_LIMIT": "600",
            "CELERY_VISIBILITY_TIMEOUT": "7200",
            "CELERY_RESULT_EXPIRES": "3600",
            "CELERY_DEFAULT_QUEUE": "main",
        }
    )
    assert (
        settings["CELERY_TASK_TIME_LIMIT"],
        settings["CELERY_TASK_SOFT_TIME_LIMIT"],
        settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"],
        settings["CELERY_RESULT_EXPIRES"],
        settings["CELERY_TASK_DEFAULT_QUEUE"],
    ) == (600, 540, 7200, 3600, "main")


def test_routes_become_celery_task_routes() -> None:
    settings = celery_settings(
        {
            "CELERY_TASK_ROUTES": " app.tasks.send_email = emails , reports.tasks.*=reports",
            "CELERY_QUEUES": "default,emails,reports",
        }
    )
    assert settings["CELERY_TASK_ROUTES"] == {
        "app.tasks.send_email": {"queue": "emails"},
        "reports.tasks.*": {"queue": "reports"},
    }


def test_events_can_be_turned_on_for_flower() -> None:
    settings = celery_settings({"CELERY_BROKER_URL": "redis://h", "CELERY_SEND_EVENTS": "true"})
    assert (
        settings["CELERY_WORKER_SEND_TASK_EVENTS"],
        settings["CELERY_TASK_SEND_SENT_EVENT"],
    ) == (
        True,
        True,
    )


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"CELERY_BROKER_URL": "rediss://h:6379/0"},
        {"CELERY_BROKER_URL": "sqs://", "AWS_REGION": "eu-west-1"},
    ],
    ids=["eager", "rediss", "sqs"],
)
def test_every_key_is_a_celery_setting_and_reaches_the_app(environ: dict[str, str]) -> None:
    settings = celery_settings(environ)
    unknown = [key for key in settings if key.removeprefix("CELERY_").lower() not in DEFAULTS]
    assert unknown == []
    conf = sender(environ).conf
    for key, value in settings.items():
        assert conf[key.removeprefix("CELERY_").lower()] == value


# ---------------------------------------------------------------------------- problems

EXPECTED_BROKER = "a redis://, rediss:// or sqs:// URL"
BAD_INPUT = [
    pytest.param(
        {"CELERY_BROKER_URL": f"kafka://:{TOKEN}@h:9092"},
        f"CELERY_BROKER_URL: expected {EXPECTED_BROKER}, got a kafka:// URL",
        id="unknown-scheme",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"rediss://:{TOKEN}@h:port/0"},
        "CELERY_BROKER_URL: is not a valid Redis URL: its host and port cannot be read "
        f"(percent-encode / # ? @ in the password); expected {URL_SHAPE}",
        id="malformed-url",
    ),
    pytest.param(
        {"REDIS_URL": f"redis://:{TOKEN}@h:6379/zero"},
        "REDIS_URL: is not a valid Redis URL: the path must be a database number such as /0; "
        f"expected {URL_SHAPE}",
        id="malformed-fallback-url",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"redis://:{TOKEN}@h:6379?db=1"},
        "CELERY_BROKER_URL: is not a valid Redis URL: the database goes in the path (/1), not "
        f"in a db= query option; expected {URL_SHAPE}",
        id="database-in-query",  # kombu raises TypeError on it; redis-py lets it beat the path
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"redis://:{TOKEN}@h", "CELERY_TASK_TIME_LIMIT": "5m"},
        "CELERY_TASK_TIME_LIMIT: expected an integer between 2 and 86400, got '5m'",
        id="non-integer-time-limit",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"redis://:{TOKEN}@h", "CELERY_REDIS_SOCKET_TIMEOUT": "1"},
        "CELERY_REDIS_SOCKET_TIMEOUT: expected a number of seconds above 1 and at most 300",
        id="socket-timeout-not-above-brpop",
    ),
    pytest.param(
        {
            "CELERY_BROKER_URL": f"redis://:{TOKEN}@h",
            "CELERY_TASK_TIME_LIMIT": "3600",
            "CELERY_VISIBILITY_TIMEOUT": "3600",
        },
        "CELERY_VISIBILITY_TIMEOUT: expected more seconds than CELERY_TASK_TIME_LIMIT (3600), "
        "got 3600; otherwise the broker redelivers tasks that are still running",
        id="visibility-not-above-time-limit",
    ),
    pytest.param(
        {
            "CELERY_BROKER_URL": f"redis://:{TOKEN}@h",
            "CELERY_TASK_TIME_LIMIT": "60",
            "CELERY_TASK_SOFT_TIME_LIMIT": "60",
        },
        "CELERY_TASK_SOFT_TIME_LIMIT: expected fewer seconds than CELERY_TASK_TIME_LIMIT (60), "
        "got 60; the soft limit must fire first so the task can clean up before it is killed",
        id="soft-not-below-hard",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"redis://:{TOKEN}@h", "CELERY_TASK_ROUTES": "a.b=emails,a.c:x"},
        "CELERY_TASK_ROUTES: expected comma-separated task=queue pairs such as "
        "app.tasks.send_email=emails,reports.tasks.*=reports (queues: letters, digits, '-' "
        "and '_'); entry 2 ('a.c:x') is not one",
        id="bad-routes-syntax",
    ),
    pytest.param(
        {"CELERY_TASK_ROUTES": "a.b=emails,a.b=reports"},
        "CELERY_TASK_ROUTES: routes 'a.b' twice (entry 2)",
        id="duplicate-route",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"sqs://AKIAEXAMPLE:{TOKEN}@"},
        "CELERY_BROKER_URL: must not carry AWS credentials (sqs://key:secret@); write sqs:// "
        "and let boto3 use the task role",
        id="sqs-with-credentials",
    ),
    pytest.param(
        PRODUCTION,
        f"CELERY_BROKER_URL: is required when DJANGO_ENV=production; expected {EXPECTED_BROKER} "
        "(REDIS_URL or CACHE_URL is used when it is a Redis or Valkey URL)",
        id="missing-broker-in-production",
    ),
    pytest.param(
        {**PRODUCTION, "CELERY_BROKER_URL": "sqs://"},
        "AWS_REGION: is required for an sqs:// broker when DJANGO_ENV=production",
        id="sqs-without-region-in-production",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": "sqs://", "CELERY_VISIBILITY_TIMEOUT": "50000"},
        "CELERY_VISIBILITY_TIMEOUT: expected an integer between 1 and 43200, got 50000",
        id="sqs-visibility-above-12-hours",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": "sqs://", "CELERY_SQS_QUEUE_PREFIX": "x" * 75},
        "CELERY_SQS_QUEUE_PREFIX: makes SQS queue names longer than 80 characters for default",
        id="sqs-prefix-too-long",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": "sqs://", "CELERY_SEND_EVENTS": "yes"},
        "CELERY_SEND_EVENTS: expected false with an sqs:// broker: events need a broadcast "
        "(fanout) exchange, which the SQS transport does not provide",
        id="events-on-sqs",
    ),
    pytest.param(
        {"CELERY_BROKER_URL": f"valkeys://:{TOKEN}@h:6379/0"},
        "CELERY_BROKER_URL: must use redis:// or rediss:// (the same server): Celery reads "
        "CELERY_BROKER_URL from the environment before settings and does not know valkey:// "
        "or valkeys://",
        id="valkey-in-a-variable-celery-reads",
    ),
    pytest.param(
        {"CELERY_DEFAULT_QUEUE": "high priority"},
        "CELERY_DEFAULT_QUEUE: expected a queue name of letters, digits, '-' and '_' "
        "(at most 80 characters)",
        id="bad-default-queue",
    ),
    pytest.param(
        {"CELERY_QUEUES": "default,emails", "CELERY_TASK_ROUTES": "r.*=reports,e.*=emails"},
        "CELERY_QUEUES: does not list reports, where CELERY_DEFAULT_QUEUE or CELERY_TASK_ROUTES "
        "send tasks; no worker would consume them",
        id="routed-queue-nobody-consumes",
    ),
    pytest.param(
        {"CELERY_QUEUES": "default,bulk.mail"},
        "CELERY_QUEUES: expected comma-separated names, each a queue name of letters, digits, "
        "'-' and '_' (at most 80 characters); 'bulk.mail' is not one",
        id="bad-queue-name",
    ),
]


@pytest.mark.parametrize(("environ", "expected"), BAD_INPUT)
def test_bad_input_is_one_problem_without_the_token(environ: dict[str, str], expected: str) -> None:
    found = problems(environ)
    assert found == [expected]
    assert TOKEN not in "\n".join(found)


def test_a_reference_in_celery_broker_url_is_refused() -> None:
    """Celery would read the raw `secretsmanager:...` string from os.environ itself."""
    environ = ResolvedEnviron(
        {"CELERY_BROKER_URL": f"rediss://:{TOKEN}@h:6379/0"},
        {"CELERY_BROKER_URL": Reference("secretsmanager", "prod/redis", "url")},
    )
    found = problems(environ)
    assert found == [
        "CELERY_BROKER_URL: must hold the URL itself: Celery reads CELERY_BROKER_URL from the "
        "environment before settings, so a secretsmanager: reference reaches it unresolved; "
        "let ECS inject the secret's value (task definition 'secrets') instead"
    ]
    assert TOKEN not in found[0]


def test_a_reference_in_redis_url_is_fine() -> None:
    environ = ResolvedEnviron(
        {"REDIS_URL": "rediss://h:6379/0"}, {"REDIS_URL": Reference("ssm", "/app/redis")}
    )
    assert celery_settings(environ)["CELERY_BROKER_URL"] == "rediss://h:6379/0"


# ----------------------------------------------------------------- routing, real Redis


def _name(label: str) -> str:
    return f"{label}-{secrets.token_hex(4)}"


def test_routed_tasks_land_on_their_queues(redis_url: str) -> None:
    default, emails, reports = _name("default"), _name("emails"), _name("reports")
    app = sender(
        {
            "CELERY_BROKER_URL": redis_url,
            "CELERY_DEFAULT_QUEUE": default,
            "CELERY_TASK_ROUTES": f"celery_app.tasks.send_email={emails},reports.tasks.*={reports}",
        }
    )
    app.send_task("celery_app.tasks.send_email", args=("a@example.com",))
    app.send_task("reports.tasks.monthly")
    app.send_task("reports.tasks.weekly")
    client = redis.Redis.from_url(redis_url)
    try:
        assert [client.llen(q) for q in (emails, reports, default)] == [1, 2, 0]
    finally:
        client.delete(emails, reports, default)
        app.close()


# ------------------------------------------------------------------ real worker processes


@contextmanager
def worker(environ: dict[str, str], queues: str, log: Path) -> Iterator[None]:
    """`celery -A celery_app worker --pool=solo -Q <queues>` with only our variables set."""
    ours = ("CELERY_", "REDIS_", "CACHE_", "DJANGO_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), str(PROJECT_DIR)])
    argv = [
        sys.executable, "-m", "celery", "-A", "celery_app", "worker",
        "--pool=solo", "-Q", queues, f"--hostname={_name('test')}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    with running(argv, cwd=TESTS_DIR, env=env, log=log, grace=15):  # SIGTERM: warm shutdown
        yield


def _round_trip(environ: dict[str, str], tmp_path: Path) -> Any:
    queue = _name("default")
    environ = {**PRODUCTION, **environ, "CELERY_DEFAULT_QUEUE": queue}
    app = sender(environ)
    log = tmp_path / "worker.log"
    with worker(environ, queue, log):
        try:
            return app.send_task("celery_app.tasks.add", args=(2, 3)).get(timeout=20)
        except Exception as error:
            raise AssertionError(log.read_text(errors="replace")) from error
        finally:
            app.close()


@pytest.mark.slow
def test_worker_runs_a_task_over_plain_redis(redis_url: str, tmp_path: Path) -> None:
    assert _round_trip({"CELERY_BROKER_URL": redis_url}, tmp_path) == 5


@pytest.mark.slow
def test_worker_runs_a_task_over_tls_redis(tls_redis: TlsRedis, tmp_path: Path) -> None:
    environ = {"CELERY_BROKER_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)}
    assert _round_trip(environ, tmp_path) == 5


@pytest.mark.slow
def test_worker_finds_the_broker_in_a_valkeys_redis_url(
    tls_redis: TlsRedis, tmp_path: Path
) -> None:
    url = tls_redis.url.replace("rediss://", "valkeys://", 1)
    environ = {"REDIS_URL": url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)}
    assert _round_trip(environ, tmp_path) == 5


def test_tls_broker_signed_by_another_ca_is_refused(tls_redis: TlsRedis, tmp_path: Path) -> None:
    """Without CELERY_BROKER_USE_SSL kombu would connect to rediss:// with CERT_NONE."""
    other_ca = CertificateAuthority(tmp_path)
    app = sender({"CELERY_BROKER_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(other_ca.cert_path)})
    try:
        with (
            app.connection_for_write() as connection,
            pytest.raises(OperationalError, match="certificate verify failed"),
        ):
            connection.ensure_connection(max_retries=1)
    finally:
        app.close()


def test_tls_result_backend_signed_by_another_ca_is_refused(
    tls_redis: TlsRedis, tmp_path: Path
) -> None:
    other_ca = CertificateAuthority(tmp_path)
    app = sender({"CELERY_BROKER_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(other_ca.cert_path)})
    try:
        with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
            app.backend.client.ping()
    finally:
        app.close()


@pytest.mark.slow
def test_worker_runs_a_task_over_sqs_with_the_queue_prefix(
    aws: Aws, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto stands in for SQS; credentials come from the environment, never the URL."""
    prefix = _name("dastest") + "-"
    environ = aws.environ(
        CELERY_BROKER_URL="sqs://",
        CELERY_SQS_QUEUE_PREFIX=prefix,
        CELERY_SQS_POLLING_INTERVAL="0.2",
        CELERY_RESULT_BACKEND=redis_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)  # the sender's boto3 reads it
    assert _round_trip(environ, tmp_path) == 5
    queue_urls = aws.client("sqs").list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    assert [url.rsplit("/", 1)[1].startswith(f"{prefix}default-") for url in queue_urls] == [True]


def test_soft_shutdown_must_end_before_fargates_stop_timeout() -> None:
    with pytest.raises(ConfigError) as error:
        celery_settings({"CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": "120"})
    assert [str(p) for p in error.value.problems] == [
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT: expected an integer between 0 and 110, got 120"
    ]
