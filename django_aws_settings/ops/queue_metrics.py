"""Celery queue depth to CloudWatch: ``django-aws queues publish-depth``.

ElastiCache publishes no per-list metric, so nothing outside the broker knows how many
tasks wait in a queue. This command measures each queue through kombu (the library Celery
sends and reads tasks with, so the Redis key layout, priority sub-queues and TLS options
are kombu's own) and puts one ``QueueDepth`` datum per queue, dimension ``Queue``, into a
CloudWatch namespace. The template's Terraform alarms on it and scales each worker service
on the backlog per task.

It runs as its own small ECS service rather than as a Celery periodic task: a periodic
task is executed by a worker, so when the queues are backed up (exactly when the number
matters) the measurement waits behind the backlog it is meant to report, and it would need
beat. The broker URL and TLS settings come from the same environment the workers read
(``CELERY_BROKER_URL``, else ``REDIS_URL``; ``REDIS_CA_BUNDLE``), through
:func:`django_aws_settings.celery.celery_settings`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..settings.celery import BROKER_VARIABLE, celery_settings
from ..settings.errors import ConfigError, Problem
from .aws import operator_client, operator_session

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

METRIC_NAME = "QueueDepth"
DIMENSION_NAME = "Queue"
DEFAULT_INTERVAL = 60  # seconds; CloudWatch's standard resolution
MAX_METRICS_PER_CALL = 1000  # PutMetricData's limit


def queue_depths(
    broker_url: str,
    queues: Sequence[str],
    *,
    ssl: Mapping[str, Any] | None = None,
    transport_options: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Messages waiting in each queue, as the broker's kombu transport counts them.

    For Redis that is the sum of LLEN over the queue's list and its priority sub-lists
    (``<queue>\\x06\\x16<priority>``). A queue the broker has never seen holds nothing.
    """
    from kombu.connection import Connection
    from kombu.exceptions import ChannelError

    depths: dict[str, int] = {}
    options = dict(transport_options or {})
    ssl_options = dict(ssl) if ssl else None
    with Connection(broker_url, ssl=ssl_options, transport_options=options) as conn:  # type: ignore[no-untyped-call]
        channel = conn.default_channel
        for queue in queues:
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
            except ChannelError:
                depths[queue] = 0  # a passive declare refuses a queue without messages
            else:
                depths[queue] = int(declared.message_count)
    return depths


def put_queue_depths(
    cloudwatch: CloudWatchClient,
    namespace: str,
    depths: Mapping[str, int],
    *,
    timestamp: datetime.datetime | None = None,
) -> None:
    """One ``QueueDepth`` datum per queue (dimension ``Queue``) in ``namespace``."""
    when = timestamp or datetime.datetime.now(datetime.timezone.utc)
    data: list[Any] = [
        {
            "MetricName": METRIC_NAME,
            "Dimensions": [{"Name": DIMENSION_NAME, "Value": queue}],
            "Timestamp": when,
            "Value": float(depth),
            "Unit": "Count",
        }
        for queue, depth in depths.items()
    ]
    for start in range(0, len(data), MAX_METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=data[start : start + MAX_METRICS_PER_CALL]
        )


def publish_once(
    broker: Mapping[str, Any],
    queues: Sequence[str],
    namespace: str,
    cloudwatch: CloudWatchClient,
) -> dict[str, int]:
    """Measure every queue and put the depths; returns what was published."""
    depths = queue_depths(
        broker["CELERY_BROKER_URL"],
        queues,
        ssl=broker.get("CELERY_BROKER_USE_SSL"),
        transport_options=broker.get("CELERY_BROKER_TRANSPORT_OPTIONS"),
    )
    put_queue_depths(cloudwatch, namespace, depths)
    return depths


def broker_settings(environ: Mapping[str, str], broker_url: str | None) -> dict[str, Any]:
    """The broker URL, TLS and transport options the workers use, from ``environ``.

    ``broker_url`` (the command line's) takes the place of CELERY_BROKER_URL.
    """
    if broker_url is not None:
        environ = {**environ, BROKER_VARIABLE: broker_url}
    try:
        settings = celery_settings(environ)
    except ConfigError as error:
        if broker_url is None:
            raise
        # The value came from the command line: name the argument, not the variable.
        renamed = [
            Problem("--broker-url", p.message) if p.name == BROKER_VARIABLE else p
            for p in error.problems
        ]
        raise ConfigError(renamed) from None
    if settings["CELERY_TASK_ALWAYS_EAGER"]:
        raise ConfigError(
            [
                Problem(
                    "--broker-url",
                    f"no broker to measure; pass --broker-url or set {BROKER_VARIABLE}"
                    " (or REDIS_URL) to a redis:// or rediss:// URL",
                )
            ]
        )
    return settings


def run(
    broker: Mapping[str, Any],
    queues: Sequence[str],
    namespace: str,
    cloudwatch: CloudWatchClient,
    *,
    interval: float,
    stop: threading.Event,
    report: Callable[[str], None],
) -> None:
    """Publish every ``interval`` seconds (on a fixed grid, no drift) until ``stop`` is set.

    A failed round (broker or CloudWatch unreachable) is reported and the loop goes on: the
    alarm on missing data tells an operator when it keeps failing.
    """
    start = time.monotonic()
    rounds = 0
    while not stop.is_set():
        try:
            depths = publish_once(broker, queues, namespace, cloudwatch)
        except Exception as error:  # noqa: BLE001 - one bad round must not end the service
            report(json.dumps({"event": "queue-depth-failed", "error": type(error).__name__}))
        else:
            report(json.dumps({"event": "queue-depth", "namespace": namespace, "depths": depths}))
        rounds += 1
        stop.wait(max(0.0, start + rounds * interval - time.monotonic()))


# ------------------------------------------------------------------------------ CLI


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    queues = commands.add_parser("queues", help="Celery queue tools")
    actions = queues.add_subparsers(dest="queues_command", required=True)
    publish = actions.add_parser(
        "publish-depth",
        help="put each queue's depth to CloudWatch (QueueDepth, dimension Queue)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    publish.add_argument(
        "--broker-url",
        help=f"the broker (default: {BROKER_VARIABLE}, else REDIS_URL, as the workers read it)",
    )
    publish.add_argument(
        "--queues", required=True, type=_queue_list, help="comma-separated queue names"
    )
    publish.add_argument(
        "--namespace", required=True, help="CloudWatch namespace, e.g. <project>/<environment>"
    )
    when = publish.add_mutually_exclusive_group()
    when.add_argument(
        "--interval",
        type=_positive_seconds,
        default=DEFAULT_INTERVAL,
        help=f"seconds between measurements (default {DEFAULT_INTERVAL})",
    )
    when.add_argument("--once", action="store_true", help="measure and publish once, then exit")
    publish.add_argument(
        "--region", help="CloudWatch's region (default: AWS_REGION, else AWS_DEFAULT_REGION)"
    )
    publish.set_defaults(handler=_publish_depth)


def _publish_depth(arguments: argparse.Namespace) -> int:
    broker = broker_settings(os.environ, arguments.broker_url)
    cloudwatch: CloudWatchClient = operator_client(operator_session(arguments.region), "cloudwatch")
    if arguments.once:
        depths = _measure(broker, arguments.queues)
        try:
            put_queue_depths(cloudwatch, arguments.namespace, depths)
        except Exception as error:  # noqa: BLE001 - one line naming CloudWatch, no traceback
            raise ConfigError([Problem("CloudWatch PutMetricData", _aws_reason(error))]) from None
        print(json.dumps({"namespace": arguments.namespace, "depths": depths}))
        return 0
    stop = threading.Event()
    # ECS stops a task with SIGTERM: finish the round in progress, then exit cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(
        broker,
        arguments.queues,
        arguments.namespace,
        cloudwatch,
        interval=arguments.interval,
        stop=stop,
        report=lambda line: print(line, flush=True),
    )
    return 0


def _measure(broker: Mapping[str, Any], queues: Sequence[str]) -> dict[str, int]:
    """queue_depths, with a broker failure as one ConfigError line that names the broker by
    host and port only (its URL may hold a password)."""
    url = broker["CELERY_BROKER_URL"]
    try:
        return queue_depths(
            url,
            queues,
            ssl=broker.get("CELERY_BROKER_USE_SSL"),
            transport_options=broker.get("CELERY_BROKER_TRANSPORT_OPTIONS"),
        )
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        where = _broker_location(url)
        reason = f"{type(error).__name__}: {_first_line(error)}"
        password = _password(url)
        if password:
            reason = reason.replace(password, "***")
        raise ConfigError([Problem("the broker", f"cannot measure {where} ({reason})")]) from None


def _broker_location(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port
    except ValueError:
        return "the broker URL"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no detail"


def _aws_reason(error: Exception) -> str:
    """One line on a failed CloudWatch call: AWS's error code, or the endpoint it could not
    reach; never the request."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        return f"AWS answered {error.response.get('Error', {}).get('Code', 'an error')}"
    if isinstance(error, (ConnectionError, HTTPClientError)):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, BotoCoreError):
        return f"{type(error).__name__}: {error}"
    raise error


def _queue_list(value: str) -> list[str]:
    queues = [name.strip() for name in value.split(",")]
    if not all(queues) or len(set(queues)) != len(queues):
        raise argparse.ArgumentTypeError("expected distinct comma-separated queue names")
    return queues


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:  # also false for nan
        raise argparse.ArgumentTypeError("expected a number of seconds above 0, at most 3600")
    return seconds
