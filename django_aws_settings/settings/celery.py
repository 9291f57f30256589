"""CELERY_* settings for ``app.config_from_object("django.conf:settings", namespace="CELERY")``.

The broker is Redis/Valkey (ElastiCache, TLS verified) or SQS (credentials from the task
role). Defaults favour not losing tasks: late acknowledgement, one prefetched task per
process, time limits below the broker's visibility timeout so a running task is never
handed to a second worker. With nothing set in development, tasks run eagerly in-process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .env import Reader, ResolvedEnviron, reader
from .redis_urls import (
    REDIS_SCHEMES,
    RedisUrl,
    given,
    is_redis_url,
    next_database,
    redis_url,
    seconds,
    tls_options,
    url_scheme,
)

SOURCE_VARIABLES = ("CELERY_BROKER_URL",)
BROKER_VARIABLE = "CELERY_BROKER_URL"
RESULT_BACKEND_VARIABLE = "CELERY_RESULT_BACKEND"
ROUTES_VARIABLE = "CELERY_TASK_ROUTES"
QUEUES_VARIABLE = "CELERY_QUEUES"  # every queue some worker consumes, comma-separated
DEFAULT_QUEUE_VARIABLE = "CELERY_DEFAULT_QUEUE"
# JSON object: Celery queue name -> SQS queue URL (Terraform's output), for predefined_queues.
SQS_QUEUE_URLS_VARIABLE = "CELERY_SQS_QUEUE_URLS"
SQS_QUEUE_PREFIX_VARIABLE = "CELERY_SQS_QUEUE_PREFIX"
# Heroku and Render apps usually share one Redis between the cache and the broker.
BROKER_FALLBACK_VARIABLES = ("REDIS_URL", "CACHE_URL")

EAGER_BROKER = "memory://"
DISABLED_BACKEND = "disabled"  # Celery's own alias, so the raw variable means the same to it
DEFAULT_QUEUE = "default"
DEFAULT_TIME_LIMIT = 300
DEFAULT_VISIBILITY_TIMEOUT = 3600
DEFAULT_RESULT_EXPIRES = 86_400
# Above kombu's 1 s BRPOP timeout, so an idle worker's blocking read never times out.
DEFAULT_REDIS_SOCKET_TIMEOUT = 5.0
DEFAULT_SQS_POLLING_INTERVAL = 1.0
# Long polling at SQS's maximum: an idle worker makes 3 (billed) ReceiveMessage calls a
# minute per queue instead of one per polling interval, and a message arriving during the
# wait is returned at once, so latency does not suffer.
SQS_WAIT_TIME_SECONDS = 20
SQS_MAX_VISIBILITY_TIMEOUT = 43_200  # 12 hours, SQS's limit
# Upper bounds far above sane values: a task running a day or results kept for a month.
MAX_TIME_LIMIT = 86_400
MAX_VISIBILITY_TIMEOUT = 7 * 86_400
MAX_RESULT_EXPIRES = 30 * 86_400
QUEUE_NAME_LIMIT = 80  # SQS's limit, prefix included; applied to Redis too for portability

# valkey[s]:// only through REDIS_URL / CACHE_URL: Celery reads CELERY_BROKER_URL itself.
EXPECTED_BROKER = "a redis://, rediss:// or sqs:// URL"
EXPECTED_QUEUE = (
    f"a queue name of letters, digits, '-' and '_' (at most {QUEUE_NAME_LIMIT} characters)"
)
EXPECTED_QUEUE_URLS = (
    'a JSON object of Celery queue -> SQS queue URL, such as {"default": '
    '"https://sqs.eu-west-1.amazonaws.com/123456789012/shop-production-default"}'
)
EXPECTED_ROUTES = (
    "comma-separated task=queue pairs such as app.tasks.send_email=emails,reports.tasks.*=reports"
)

_QUEUE_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{QUEUE_NAME_LIMIT}}}")
_QUEUE_PREFIX = re.compile(rf"[A-Za-z0-9_-]{{0,{QUEUE_NAME_LIMIT - 1}}}")
_TASK_PATTERN = re.compile(r"[A-Za-z0-9_.*]+")  # dotted task names; "*" globs, as Celery's


@dataclass(frozen=True)
class _Broker:
    kind: Literal["redis", "sqs"]
    url: str
    redis: RedisUrl | None = None


@dataclass
class _Limits:
    hard: int
    soft: int
    visibility: int


@dataclass
class _Queues:
    default: str
    routes: dict[str, dict[str, str]] = field(default_factory=dict)


# Fargate's stopTimeout is at most 120 s; the template's worker uses 120, so stop 20 s early.
DEFAULT_SOFT_SHUTDOWN_TIMEOUT = 100
MAX_SOFT_SHUTDOWN_TIMEOUT = 110

# A worker on ECS protects its task from scale-in and deployments while it runs tasks.
TASK_PROTECTION_MODULE = "django_aws_settings.runtime.task_protection"
ECS_AGENT_VARIABLE = "ECS_AGENT_URI"  # the ECS agent sets it in every container it starts
PROTECTION_MAX_MINUTES = 2880  # UpdateTaskProtection's limit (48 hours)


@dataclass(frozen=True)
class ProtectionOptions:
    """CELERY_TASK_PROTECTION*: how a worker on ECS protects its task while it is busy."""

    enabled: bool
    minutes: int | None = None  # each request's ExpiresInMinutes; None: from the time limit
    max_minutes: int | None = None  # longest protected stretch; None: twice ``minutes``


def protection_options(r: Reader) -> ProtectionOptions:
    """Read CELERY_TASK_PROTECTION, _MINUTES and _MAX_MINUTES, recording problems on ``r``."""
    enabled = r.flag("CELERY_TASK_PROTECTION", default=True)
    minutes = _minutes(r, "CELERY_TASK_PROTECTION_MINUTES")
    max_minutes = _minutes(r, "CELERY_TASK_PROTECTION_MAX_MINUTES")
    if minutes is not None and max_minutes is not None and max_minutes < minutes:
        r.problem(
            "CELERY_TASK_PROTECTION_MAX_MINUTES",
            f"expected at least CELERY_TASK_PROTECTION_MINUTES ({minutes}), got {max_minutes}",
        )
    return ProtectionOptions(enabled, minutes, max_minutes)


def _minutes(r: Reader, name: str) -> int | None:
    if r.text(name) is None:
        return None
    return r.integer(name, 0, minimum=1, maximum=PROTECTION_MAX_MINUTES) or None


def celery_settings(
    environ: Mapping[str, str] | None = None, *, required: bool | None = None
) -> dict[str, Any]:
    """The CELERY_* settings: broker, result backend, reliability defaults and routing.

    In production a missing broker is an error unless ``required`` is False; configure()
    passes whether the app uses Celery (CELERY_REQUIRED, which the generated task
    definitions set, or a Celery app in INSTALLED_APPS / CELERY_* in the module).
    """
    r = reader(environ)
    broker = _broker(r, required=r.production and required is not False)
    backend, backend_tls = _result_backend(r, broker)
    broker_tls = broker is not None and broker.redis is not None and broker.redis.tls
    tls = tls_options(r) if broker_tls or backend_tls else None
    limits = _limits(r, sqs=broker is not None and broker.kind == "sqs")
    queues = _queues(r)
    socket_timeout = seconds(
        r, "CELERY_REDIS_SOCKET_TIMEOUT", DEFAULT_REDIS_SOCKET_TIMEOUT, minimum=1, maximum=300
    )
    events = r.flag("CELERY_SEND_EVENTS", default=False)
    if events and broker is not None and broker.kind == "sqs":
        r.problem(
            "CELERY_SEND_EVENTS",
            "expected false with an sqs:// broker: events need a broadcast (fanout) exchange, "
            "which the SQS transport does not provide",
        )
    result_expires = r.integer(
        "CELERY_RESULT_EXPIRES", DEFAULT_RESULT_EXPIRES, minimum=1, maximum=MAX_RESULT_EXPIRES
    )
    soft_shutdown = r.integer(
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT",
        DEFAULT_SOFT_SHUTDOWN_TIMEOUT,
        minimum=0,
        maximum=MAX_SOFT_SHUTDOWN_TIMEOUT,
    )
    protection = protection_options(r)
    settings: dict[str, Any] = {
        "CELERY_BROKER_URL": EAGER_BROKER if broker is None else broker.url,
        "CELERY_RESULT_BACKEND": backend,
        # Only when nothing names a broker (development): run tasks in-process, and let
        # their exceptions surface where .delay() was called instead of being stored.
        "CELERY_TASK_ALWAYS_EAGER": broker is None,
        "CELERY_TASK_EAGER_PROPAGATES": True,
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        # Acknowledge after the task ran, so a worker killed mid-task (deploy, scale-in,
        # OOM) leaves it to be redelivered rather than lost; tasks must be idempotent.
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        # Unacknowledged tasks would be redelivered anyway after a lost connection;
        # cancelling them stops the same task from running twice at once.
        "CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS": True,
        # With late acks a prefetched task waits behind a long one on a busy process.
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        # On SIGTERM (a deploy, a scale-in) let running tasks finish for this long, then
        # requeue what is left before ECS's SIGKILL at the stop timeout (at most 120 s).
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": soft_shutdown,
        "CELERY_TASK_TIME_LIMIT": limits.hard,
        "CELERY_TASK_SOFT_TIME_LIMIT": limits.soft,
        "CELERY_RESULT_EXPIRES": result_expires,
        "CELERY_TASK_DEFAULT_QUEUE": queues.default,
        "CELERY_TASK_ROUTES": queues.routes,
        # Off, as in Celery: only Flower / `celery events` read them, and every task would
        # publish several messages for nobody. CELERY_SEND_EVENTS=true turns both on.
        "CELERY_WORKER_SEND_TASK_EVENTS": events,
        "CELERY_TASK_SEND_SENT_EVENT": events,
    }
    if protection.enabled and broker is not None and r.text(ECS_AGENT_VARIABLE):
        # Celery workers (and beat) import it; only a worker's worker_ready starts it.
        settings["CELERY_IMPORTS"] = (TASK_PROTECTION_MODULE,)
    if broker is not None and broker.kind == "sqs":
        settings["CELERY_BROKER_TRANSPORT_OPTIONS"] = _sqs_options(r, limits.visibility, queues)
    else:
        settings["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
            "visibility_timeout": limits.visibility,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "socket_keepalive": True,
        }
    if backend is not None and is_redis_url(backend):
        settings["CELERY_REDIS_SOCKET_TIMEOUT"] = socket_timeout
        settings["CELERY_REDIS_SOCKET_CONNECT_TIMEOUT"] = socket_timeout
        settings["CELERY_REDIS_SOCKET_KEEPALIVE"] = True
    # Without these dicts kombu connects to a rediss:// broker with CERT_NONE (a warning,
    # not an error) and the Redis result backend refuses to start.
    if broker_tls:
        settings["CELERY_BROKER_USE_SSL"] = dict(tls or {})
    if backend_tls:
        settings["CELERY_REDIS_BACKEND_USE_SSL"] = dict(tls or {})
    r.raise_if_any()
    return settings


def _broker(r: Reader, *, required: bool) -> _Broker | None:
    """The broker the environment names; None means eager mode (development only)."""
    value = r.text(BROKER_VARIABLE)
    if value is not None:
        if not _readable_by_celery(r, BROKER_VARIABLE, value):
            return None
        scheme = url_scheme(value)
        if scheme == "sqs":
            return _sqs_broker(r, value)
        if scheme in REDIS_SCHEMES:
            return _redis_broker(r, BROKER_VARIABLE, value)
        r.problem(
            BROKER_VARIABLE, f"expected {EXPECTED_BROKER}, got {given(r, BROKER_VARIABLE, value)}"
        )
        return None
    for name in BROKER_FALLBACK_VARIABLES:
        fallback = r.text(name)
        if fallback is not None and is_redis_url(fallback):
            broker = _redis_broker(r, name, fallback)
            if broker is not None and broker.redis is not None and name == "CACHE_URL":
                # CACHE_URL names the cache's database: the queues move to the next one, or
                # the cache's FLUSHDB (cache.clear()) would delete them (check W011).
                moved = broker.redis.with_database(next_database(broker.redis.database))
                broker = _Broker("redis", moved.url, moved)
            return broker
    if required:
        r.problem(
            BROKER_VARIABLE,
            f"is required when DJANGO_ENV=production; expected {EXPECTED_BROKER} "
            f"(REDIS_URL or CACHE_URL is used when it is a Redis or Valkey URL)",
        )
    return None


def _redis_broker(r: Reader, name: str, value: str) -> _Broker | None:
    url = redis_url(r, name, value)
    return None if url is None else _Broker("redis", url.url, url)


def _sqs_broker(r: Reader, value: str) -> _Broker | None:
    try:
        parts = urlsplit(value)
        has_credentials = bool(parts.username or parts.password)
    except ValueError:
        r.problem(BROKER_VARIABLE, f"is not a valid URL; expected {EXPECTED_BROKER}")
        return None
    if has_credentials:
        r.problem(
            BROKER_VARIABLE,
            "must not carry AWS credentials (sqs://key:secret@); write sqs:// and let "
            "boto3 use the task role",
        )
        return None
    return _Broker("sqs", value)


def _readable_by_celery(r: Reader, name: str, value: str) -> bool:
    """Whether Celery, reading the raw variable itself, sees what this builder sees.

    Celery's ``conf.broker_url`` / ``conf.result_backend`` prefer os.environ's
    CELERY_BROKER_URL / CELERY_RESULT_BACKEND to any setting, so those two variables must
    hold a value Celery understands as written.
    """
    references = r.environ.references if isinstance(r.environ, ResolvedEnviron) else {}
    if name in references:
        r.problem(
            name,
            f"must hold the URL itself: Celery reads {name} from the environment before "
            f"settings, so a {references[name].kind}: reference reaches it unresolved; let "
            f"ECS inject the secret's value (task definition 'secrets') instead",
        )
        return False
    if url_scheme(value) in ("valkey", "valkeys"):
        r.problem(
            name,
            f"must use redis:// or rediss:// (the same server): Celery reads {name} from "
            f"the environment before settings and does not know valkey:// or valkeys://",
        )
        return False
    return True


def _result_backend(r: Reader, broker: _Broker | None) -> tuple[str | None, bool]:
    """The result backend URL (None: disabled) and whether it is Redis over TLS."""
    value = r.text(RESULT_BACKEND_VARIABLE)
    if value is None:
        # SQS cannot store results; a Redis broker can, at no extra cost.
        if broker is not None and broker.redis is not None:
            return broker.url, broker.redis.tls
        return None, False
    if value.lower() == DISABLED_BACKEND:
        return None, False
    if not _readable_by_celery(r, RESULT_BACKEND_VARIABLE, value):
        return None, False
    if url_scheme(value) == "sqs":
        r.problem(
            RESULT_BACKEND_VARIABLE,
            "expected a result backend (a redis:// or rediss:// URL, django-db, or disabled), "
            "got an sqs:// URL; SQS is only a broker and cannot store task results",
        )
        return None, False
    if is_redis_url(value):
        url = redis_url(r, RESULT_BACKEND_VARIABLE, value)
        return (None, False) if url is None else (url.url, url.tls)
    return value, False  # another Celery backend (django-db, s3://, dynamodb://...) as given


def _limits(r: Reader, *, sqs: bool) -> _Limits:
    hard = r.integer(
        "CELERY_TASK_TIME_LIMIT", DEFAULT_TIME_LIMIT, minimum=2, maximum=MAX_TIME_LIMIT
    )
    soft = r.integer(
        "CELERY_TASK_SOFT_TIME_LIMIT", hard * 9 // 10, minimum=1, maximum=MAX_TIME_LIMIT
    )
    if soft >= hard:
        r.problem(
            "CELERY_TASK_SOFT_TIME_LIMIT",
            f"expected fewer seconds than CELERY_TASK_TIME_LIMIT ({hard}), got {soft}; the "
            f"soft limit must fire first so the task can clean up before it is killed",
        )
    visibility = r.integer(
        "CELERY_VISIBILITY_TIMEOUT",
        DEFAULT_VISIBILITY_TIMEOUT,
        minimum=1,
        maximum=SQS_MAX_VISIBILITY_TIMEOUT if sqs else MAX_VISIBILITY_TIMEOUT,
    )
    if visibility <= hard:
        r.problem(
            "CELERY_VISIBILITY_TIMEOUT",
            f"expected more seconds than CELERY_TASK_TIME_LIMIT ({hard}), got {visibility}; "
            f"otherwise the broker redelivers tasks that are still running",
        )
    return _Limits(hard, soft, visibility)


def _queues(r: Reader) -> _Queues:
    default = r.text(DEFAULT_QUEUE_VARIABLE, DEFAULT_QUEUE) or DEFAULT_QUEUE
    if not _QUEUE_NAME.fullmatch(default):
        r.problem(DEFAULT_QUEUE_VARIABLE, f"expected {EXPECTED_QUEUE}")
    queues = _Queues(default, _routes(r))
    consumed = r.items(QUEUES_VARIABLE)
    invalid = [name for name in consumed if not _valid_queue(name)]
    if invalid:
        r.problem(
            QUEUES_VARIABLE,
            f"expected comma-separated names, each {EXPECTED_QUEUE};"
            f" {r.shown(QUEUES_VARIABLE, invalid[0])} is not one",
        )
    elif consumed:
        used = [default, *(route["queue"] for route in queues.routes.values())]
        missing = [name for name in dict.fromkeys(used) if name not in consumed]
        if missing:
            r.problem(
                QUEUES_VARIABLE,
                f"does not list {', '.join(missing)}, where CELERY_DEFAULT_QUEUE or "
                f"CELERY_TASK_ROUTES send tasks; no worker would consume them",
            )
    return queues


def _valid_queue(name: str) -> bool:
    return _QUEUE_NAME.fullmatch(name) is not None


def _routes(r: Reader) -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES as Celery's {pattern: {"queue": name}}; "*" globs like Celery's."""
    routes: dict[str, dict[str, str]] = {}
    for position, entry in enumerate(r.items(ROUTES_VARIABLE), 1):
        pattern, equals, queue = (part.strip() for part in entry.partition("="))
        if not equals or not _TASK_PATTERN.fullmatch(pattern) or not _valid_queue(queue):
            r.problem(
                ROUTES_VARIABLE,
                f"expected {EXPECTED_ROUTES} (queues: letters, digits, '-' and '_'); "
                f"entry {position} ({r.shown(ROUTES_VARIABLE, entry)}) is not one",
            )
            return {}
        if pattern in routes:
            r.problem(
                ROUTES_VARIABLE,
                f"routes {r.shown(ROUTES_VARIABLE, pattern)} twice (entry {position})",
            )
            return {}
        routes[pattern] = {"queue": queue}
    return routes


def _sqs_options(r: Reader, visibility: int, queues: _Queues) -> dict[str, Any]:
    prefix = r.text(SQS_QUEUE_PREFIX_VARIABLE, "") or ""
    if not _QUEUE_PREFIX.fullmatch(prefix):
        r.problem(
            SQS_QUEUE_PREFIX_VARIABLE,
            f"expected letters, digits, '-' and '_' (at most {QUEUE_NAME_LIMIT - 1} characters)",
        )
    else:
        names = [queues.default, *(route["queue"] for route in queues.routes.values())]
        names += [n for n in r.items(QUEUES_VARIABLE) if _valid_queue(n)]
        too_long = sorted({n for n in names if len(prefix) + len(n) > QUEUE_NAME_LIMIT})
        if too_long:
            r.problem(
                SQS_QUEUE_PREFIX_VARIABLE,
                f"makes SQS queue names longer than {QUEUE_NAME_LIMIT} characters for "
                f"{', '.join(too_long)}",
            )
    region = r.text("AWS_REGION") or r.text("AWS_DEFAULT_REGION")
    if region is None and r.production:
        # kombu would silently fall back to us-east-1.
        r.problem("AWS_REGION", "is required for an sqs:// broker when DJANGO_ENV=production")
    options: dict[str, Any] = {
        "visibility_timeout": visibility,
        "polling_interval": seconds(
            r, "CELERY_SQS_POLLING_INTERVAL", DEFAULT_SQS_POLLING_INTERVAL, minimum=-1, maximum=60
        ),
        "wait_time_seconds": SQS_WAIT_TIME_SECONDS,
        "queue_name_prefix": prefix,
    }
    if region is not None:
        options["region"] = region
    urls = _sqs_queue_urls(r, prefix, _consumed_queues(r, queues))
    if urls:
        # kombu then neither lists nor creates queues (no sqs:ListQueues, GetQueueUrl or
        # CreateQueue for the task role): it keys predefined queues by prefix + name.
        options["predefined_queues"] = {
            f"{prefix}{queue}": {"url": url} for queue, url in urls.items()
        }
    return options


def _consumed_queues(r: Reader, queues: _Queues) -> list[str]:
    """Every queue tasks are sent to or a worker reads: default, routed, CELERY_QUEUES."""
    names = [queues.default, *(route["queue"] for route in queues.routes.values())]
    names += [name for name in r.items(QUEUES_VARIABLE) if _valid_queue(name)]
    return list(dict.fromkeys(names))


def _sqs_queue_urls(r: Reader, prefix: str, consumed: list[str]) -> dict[str, str]:
    """CELERY_SQS_QUEUE_URLS checked: a JSON object naming every consumed queue, each URL
    ending in the SQS queue's own name (prefix + Celery queue, as Terraform names it)."""
    value = r.text(SQS_QUEUE_URLS_VARIABLE)
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed:
        r.problem(
            SQS_QUEUE_URLS_VARIABLE,
            f"expected {EXPECTED_QUEUE_URLS}, got {r.shown(SQS_QUEUE_URLS_VARIABLE, value)}",
        )
        return {}
    urls: dict[str, str] = {}
    for queue, url in parsed.items():
        name = url.rsplit("/", 1)[-1] if isinstance(url, str) else ""
        if not _valid_queue(queue) or not isinstance(url, str):
            r.problem(SQS_QUEUE_URLS_VARIABLE, f"expected {EXPECTED_QUEUE_URLS}")
            return {}
        if url_scheme(url) not in ("https", "http") or name != f"{prefix}{queue}":
            r.problem(
                SQS_QUEUE_URLS_VARIABLE,
                f"maps queue {queue!r} to a URL that does not end in /{prefix}{queue} "
                f"(SQS queue names are {SQS_QUEUE_PREFIX_VARIABLE} + the Celery queue)",
            )
            return {}
        urls[queue] = url
    missing = [name for name in consumed if name not in urls]
    if missing:
        r.problem(
            SQS_QUEUE_URLS_VARIABLE,
            f"has no URL for {', '.join(missing)}, where CELERY_DEFAULT_QUEUE, "
            f"CELERY_TASK_ROUTES or CELERY_QUEUES send or read tasks",
        )
        return {}
    return urls
