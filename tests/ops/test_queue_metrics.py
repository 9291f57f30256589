"""Queue depth publisher: real Redis (plain and TLS) in, moto CloudWatch out."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.messaging import Producer
from support.moto_server import Aws
from support.processes import free_port
from support.redis_servers import TlsRedis, flush_redis
from support.template import VENV_BIN

from django_aws_settings.ops.queue_metrics import (
    broker_settings,
    put_queue_depths,
    queue_depths,
    run,
)
from django_aws_settings.settings.errors import ConfigError

NAMESPACE = "shop/staging"


@pytest.fixture
def redis_url(redis_url: str) -> str:
    """The session's Redis database, emptied for each test (queues are plain keys)."""
    flush_redis(redis_url)
    return redis_url


def send(url: str, queue: str, count: int, *, priority: int | None = None, **conn: Any) -> None:
    """Publish like Celery's producer does (kombu), so the key layout is the real one."""
    with Connection(url, **conn) as connection:  # type: ignore[no-untyped-call]
        producer = Producer(connection.default_channel)  # type: ignore[no-untyped-call]
        exchange = Exchange(queue)  # type: ignore[no-untyped-call]
        target = Queue(queue, exchange, routing_key=queue)  # type: ignore[no-untyped-call]
        for n in range(count):
            producer.publish(  # type: ignore[no-untyped-call]
                {"n": n},
                exchange=target.exchange,
                routing_key=queue,
                declare=[target],
                priority=priority,
            )


def datapoints(aws: Aws, queue: str) -> list[float]:
    """The QueueDepth values CloudWatch holds for one queue, oldest first."""
    now = datetime.datetime.now(datetime.timezone.utc)
    response = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "depth",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": "QueueDepth",
                        "Dimensions": [{"Name": "Queue", "Value": queue}],
                    },
                    "Period": 1,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - datetime.timedelta(minutes=5),
        EndTime=now + datetime.timedelta(minutes=1),
        ScanBy="TimestampAscending",
    )
    (result,) = response["MetricDataResults"]
    return list(result["Values"])


def test_depth_counts_every_priority_sub_queue(redis_url: str) -> None:
    send(redis_url, "emails", 2)
    send(redis_url, "emails", 3, priority=6)
    assert queue_depths(redis_url, ["emails"]) == {"emails": 5}


def test_priority_messages_sit_in_their_own_redis_list(redis_url: str) -> None:
    """Why a plain LLEN on the queue's key would undercount (kombu's layout)."""
    import redis

    send(redis_url, "emails", 3, priority=6)
    client = redis.Redis.from_url(redis_url)
    assert (client.llen("emails"), client.llen("emails\x06\x166")) == (0, 3)


def test_a_queue_never_used_has_depth_zero(redis_url: str) -> None:
    send(redis_url, "default", 1)
    assert queue_depths(redis_url, ["default", "reports"]) == {"default": 1, "reports": 0}


def test_measuring_consumes_nothing(redis_url: str) -> None:
    send(redis_url, "default", 4)
    queue_depths(redis_url, ["default"])
    assert queue_depths(redis_url, ["default"]) == {"default": 4}


def test_depth_over_tls_uses_the_workers_tls_settings(tls_redis: TlsRedis) -> None:
    ca = {"ssl_ca_certs": str(tls_redis.ca_path)}
    send(tls_redis.url, "default", 2, ssl=ca)
    broker = broker_settings(
        {"REDIS_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)}, None
    )
    depths = queue_depths(
        broker["CELERY_BROKER_URL"], ["default"], ssl=broker["CELERY_BROKER_USE_SSL"]
    )
    assert depths == {"default": 2}


def test_broker_comes_from_redis_url_like_the_workers() -> None:
    broker = broker_settings({"REDIS_URL": "rediss://:t@cache.example.com:6379/0"}, None)
    assert (broker["CELERY_BROKER_URL"], broker["CELERY_BROKER_USE_SSL"]["ssl_check_hostname"]) == (
        "rediss://:t@cache.example.com:6379/0",
        True,
    )


def test_broker_url_option_takes_the_place_of_the_environment() -> None:
    broker = broker_settings({"REDIS_URL": "redis://a:6379/0"}, "redis://b:6379/1")
    assert broker["CELERY_BROKER_URL"] == "redis://b:6379/1"


def test_no_broker_is_one_clear_error() -> None:
    with pytest.raises(ConfigError) as refused:
        broker_settings({}, None)
    assert str(refused.value) == (
        "django-aws-settings: --broker-url: no broker to measure; pass --broker-url or set "
        "CELERY_BROKER_URL (or REDIS_URL) to a redis:// or rediss:// URL"
    )


def test_depths_land_in_cloudwatch_with_the_queue_dimension(aws: Aws) -> None:
    cloudwatch = aws.client("cloudwatch")
    put_queue_depths(cloudwatch, NAMESPACE, {"default": 7, "emails": 0})
    metrics = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert sorted((m["MetricName"], m["Dimensions"][0]["Value"]) for m in metrics) == [
        ("QueueDepth", "default"),
        ("QueueDepth", "emails"),
    ]
    assert (datapoints(aws, "default"), datapoints(aws, "emails")) == ([7.0], [0.0])


def test_all_queues_go_in_one_put_metric_data_call(aws: Aws) -> None:
    put_queue_depths(aws.client("cloudwatch"), NAMESPACE, {"a": 1, "b": 2, "c": 3})
    assert aws.requests.operations("monitoring") == {"PutMetricData": 1}


def test_a_failed_round_is_reported_and_the_loop_goes_on(aws: Aws) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    broker = broker_settings({"REDIS_URL": closed, "CELERY_REDIS_SOCKET_TIMEOUT": "2"}, None)
    broker["CELERY_BROKER_TRANSPORT_OPTIONS"]["max_retries"] = 0
    lines: list[str] = []
    stop = threading.Event()

    def report(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:
            stop.set()

    run(
        broker,
        ["default"],
        NAMESPACE,
        aws.client("cloudwatch"),
        interval=0.05,
        stop=stop,
        report=report,
    )
    assert [json.loads(line) for line in lines] == [
        {"event": "queue-depth-failed", "error": "OperationalError"}
    ] * 2


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(aws: Aws, redis_url: str) -> dict[str, str]:
    return {**os.environ, **aws.environ(), "REDIS_URL": redis_url, "DJANGO_ENV": "production"}


def django_aws(*args: str) -> list[str]:
    return [str(VENV_BIN / "django-aws"), "queues", "publish-depth", *args]


@pytest.mark.slow
def test_cli_once_publishes_and_prints_the_depths(
    aws: Aws, redis_url: str, cli_env: dict[str, str]
) -> None:
    send(redis_url, "emails", 3)
    done = subprocess.run(
        django_aws("--queues", "default,emails", "--namespace", NAMESPACE, "--once"),
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout), done.stderr) == (
        0,
        {"namespace": NAMESPACE, "depths": {"default": 0, "emails": 3}},
        "",
    )
    assert (datapoints(aws, "default"), datapoints(aws, "emails")) == ([0.0], [3.0])


@pytest.mark.slow
def test_cli_without_a_broker_exits_2_with_the_problem(aws: Aws) -> None:
    env = {**os.environ, **aws.environ()}
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        django_aws("--queues", "default", "--namespace", NAMESPACE, "--once"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("django-aws: --broker-url: no broker")


@pytest.fixture
def publisher(cli_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        django_aws("--queues", "default", "--namespace", NAMESPACE, "--interval", "0.2"),
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_cli_publishes_every_interval_and_stops_on_sigterm(
    aws: Aws, redis_url: str, publisher: subprocess.Popen[str]
) -> None:
    send(redis_url, "default", 2)
    deadline = time.monotonic() + 30
    while len(aws.requests.calls("PutMetricData")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    publisher.send_signal(signal.SIGTERM)
    stdout, stderr = publisher.communicate(timeout=10)
    events = [json.loads(line) for line in stdout.splitlines()]
    assert (publisher.returncode, stderr) == (0, "")
    assert len(events) >= 3
    assert {json.dumps(e, sort_keys=True) for e in events} == {
        json.dumps(
            {"event": "queue-depth", "namespace": NAMESPACE, "depths": {"default": 2}},
            sort_keys=True,
        )
    }
