"""SQS as the Celery broker: CELERY_SQS_QUEUE_URLS, the result backend refusal, and a real
``celery -A celery_app worker`` on moto's SQS (server mode) through kombu's own SQS
transport, with the queues created as Terraform creates them (modules/queues: a
dead-letter queue and the same redrive policy).

The worker's requests are recorded by moto: the test asserts kombu needs no SQS action
beyond those the Terraform task role grants (tests/template/test_template_queues.py
checks the role against the same list).
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from django.core.checks import CheckMessage
from django.test import override_settings
from support.celery_workers import celery_worker, sqs_worker_environ, wait_for
from support.moto_server import Aws

from django_aws_settings.settings.celery import celery_settings
from django_aws_settings.settings.checks import check_celery
from django_aws_settings.settings.errors import ConfigError

TESTS_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = TESTS_DIR.parent
QUEUES_MODULE = PROJECT_DIR / "template/infra/terraform/modules/queues"
# What the task role may do on its queues (modules/queues), and so all kombu may call.
TASK_ROLE_ACTIONS = frozenset(
    {
        "SendMessage",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
    }
)
PREFIX = "shop-production-"
URLS = {
    "default": f"https://sqs.eu-west-1.amazonaws.com/123456789012/{PREFIX}default",
    "emails": f"https://sqs.eu-west-1.amazonaws.com/123456789012/{PREFIX}emails",
}
SQS = {
    "DJANGO_ENV": "production",
    "CELERY_BROKER_URL": "sqs://",
    "AWS_REGION": "eu-west-1",
    "CELERY_SQS_QUEUE_PREFIX": PREFIX,
    "CELERY_QUEUES": "default,emails",
    "CELERY_SQS_QUEUE_URLS": json.dumps(URLS),
}


@pytest.fixture(autouse=True)
def _no_celery_variables_in_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery prefers these two os.environ variables to any setting given to a sender."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        celery_settings(environ)
    return [str(problem) for problem in error.value.problems]


def terraform_default(variable: str) -> int:
    """A number variable's default in modules/queues/variables.tf (the test's queues match)."""
    text = (QUEUES_MODULE / "variables.tf").read_text()
    block = re.search(rf'variable "{variable}" {{(.*?)\n}}', text, re.S)
    assert block, variable
    default = re.search(r"default\s*=\s*(\d+)", block.group(1))
    assert default, variable
    return int(default.group(1))


# ------------------------------------------------------------------------------ shape


def test_queue_urls_become_predefined_queues_keyed_by_prefixed_name() -> None:
    options = celery_settings(SQS)["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options == {
        "region": "eu-west-1",
        "visibility_timeout": 3600,
        "polling_interval": 1.0,
        "wait_time_seconds": 20,
        "queue_name_prefix": PREFIX,
        "predefined_queues": {f"{PREFIX}{queue}": {"url": url} for queue, url in URLS.items()},
    }


def test_package_visibility_timeout_is_the_terraform_queues() -> None:
    """With predefined queues kombu never creates one: the queue's own attribute governs."""
    default = celery_settings(SQS)["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    assert terraform_default("visibility_timeout_seconds") == default


def test_without_queue_urls_kombu_finds_queues_by_name() -> None:
    environ = {k: v for k, v in SQS.items() if k != "CELERY_SQS_QUEUE_URLS"}
    assert "predefined_queues" not in celery_settings(environ)["CELERY_BROKER_TRANSPORT_OPTIONS"]


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        pytest.param(
            "default=https://sqs/x",
            "CELERY_SQS_QUEUE_URLS: expected a JSON object of Celery queue -> SQS queue URL, "
            'such as {"default": "https://sqs.eu-west-1.amazonaws.com/123456789012/'
            "shop-production-default\"}, got 'default=https://sqs/x'",
            id="not-json",
        ),
        pytest.param(
            json.dumps(list(URLS.values())),
            "CELERY_SQS_QUEUE_URLS: expected a JSON object of Celery queue -> SQS queue URL, "
            'such as {"default": "https://sqs.eu-west-1.amazonaws.com/123456789012/'
            'shop-production-default"}, got part of a JSON document (not shown)',
            id="a-list",
        ),
        pytest.param(
            json.dumps({"default": URLS["default"]}),
            "CELERY_SQS_QUEUE_URLS: has no URL for emails, where CELERY_DEFAULT_QUEUE, "
            "CELERY_TASK_ROUTES or CELERY_QUEUES send or read tasks",
            id="missing-a-consumed-queue",
        ),
        pytest.param(
            json.dumps({**URLS, "emails": URLS["emails"].replace("production", "staging")}),
            "CELERY_SQS_QUEUE_URLS: maps queue 'emails' to a URL that does not end in "
            "/shop-production-emails (SQS queue names are CELERY_SQS_QUEUE_PREFIX + the "
            "Celery queue)",
            id="another-environments-queue",
        ),
        pytest.param(
            json.dumps({**URLS, "emails": 7}),
            "CELERY_SQS_QUEUE_URLS: expected a JSON object of Celery queue -> SQS queue URL, "
            'such as {"default": "https://sqs.eu-west-1.amazonaws.com/123456789012/'
            'shop-production-default"}',
            id="not-a-url",
        ),
    ],
)
def test_bad_queue_urls_are_one_problem(urls: str, expected: str) -> None:
    assert problems({**SQS, "CELERY_SQS_QUEUE_URLS": urls}) == [expected]


def test_routed_queue_without_a_url_is_refused() -> None:
    environ = {**SQS, "CELERY_QUEUES": "", "CELERY_TASK_ROUTES": "app.tasks.*=reports"}
    assert problems(environ) == [
        "CELERY_SQS_QUEUE_URLS: has no URL for reports, where CELERY_DEFAULT_QUEUE, "
        "CELERY_TASK_ROUTES or CELERY_QUEUES send or read tasks"
    ]


@pytest.mark.parametrize("backend", ["sqs://", "SQS://", "sqs://sqs.eu-west-1.amazonaws.com/"])
def test_sqs_is_refused_as_result_backend(backend: str) -> None:
    assert problems({**SQS, "CELERY_RESULT_BACKEND": backend}) == [
        "CELERY_RESULT_BACKEND: expected a result backend (a redis:// or rediss:// URL, "
        "django-db, or disabled), got an sqs:// URL; SQS is only a broker and cannot store "
        "task results"
    ]


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (None, None),
        ("disabled", None),
        ("django-db", "django-db"),
        ("redis://r:6379/1", "redis://r:6379/1"),
    ],
)
def test_result_backend_is_explicit_with_sqs(backend: str | None, expected: str | None) -> None:
    environ = SQS if backend is None else {**SQS, "CELERY_RESULT_BACKEND": backend}
    assert celery_settings(environ)["CELERY_RESULT_BACKEND"] == expected


@pytest.mark.usefixtures("django_settings")
def test_check_w008_compares_the_sqs_visibility_timeout_with_the_time_limit() -> None:
    settings = celery_settings({**SQS, "CELERY_TASK_TIME_LIMIT": "600"})
    settings["CELERY_TASK_TIME_LIMIT"] = 3600  # a settings module overriding the limit
    with override_settings(**settings):
        found: list[CheckMessage] = check_celery(None)
    assert [m.msg for m in found if m.id == "django_aws_settings.W008"] == [
        "The broker's visibility timeout (3600s) is not longer than the task time limit (3600s)."
    ]


# ------------------------------------------------------------------ real worker on moto


@pytest.fixture
def queues(aws: Aws) -> dict[str, Any]:
    """`<prefix><queue>` and its `-dlq`, with modules/queues' redrive policy; a short
    visibility timeout so a rejected message comes back within the test."""
    sqs = aws.client("sqs")
    prefix = f"t{secrets.token_hex(3)}-test-"
    urls: dict[str, str] = {}
    dead: dict[str, str] = {}
    for queue in ("default",):
        dlq = sqs.create_queue(QueueName=f"{prefix}{queue}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {
            "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
            "maxReceiveCount": terraform_default("max_receive_count"),
        }
        urls[queue] = sqs.create_queue(
            QueueName=f"{prefix}{queue}",
            Attributes={
                "VisibilityTimeout": "2",
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        dead[queue] = dlq
    return {"prefix": prefix, "urls": urls, "dead": dead, "client": sqs}


def sender(environ: dict[str, str]) -> Celery:
    app = Celery("sender", set_as_current=False)
    app.config_from_object(SimpleNamespace(**celery_settings(environ)), namespace="CELERY")
    return app


def counts(client: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(found[names[0]]), int(found[names[1]])


@pytest.mark.slow
def test_real_worker_on_sqs_acks_retries_and_dead_letters(
    aws: Aws, queues: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = sqs_worker_environ(
        aws, prefix=queues["prefix"], urls=queues["urls"], queues="default"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)  # the sender's boto3 reads it
    client, url, dlq = queues["client"], queues["urls"]["default"], queues["dead"]["default"]
    app = sender(environ)
    log = tmp_path / "worker.log"
    retried, poisoned = tmp_path / "retried", tmp_path / "poisoned"
    aws.requests.reset()
    try:
        with celery_worker(environ, queues="default", log=log, name="sqs"):
            # 1. A task runs and is acknowledged: deleted from the queue.
            app.send_task("celery_app.tasks.add", args=(2, 3))
            wait_for(lambda: "succeeded" in log.read_text(), log)
            # 2. A task that asks to be retried runs again (a new message) and succeeds.
            app.send_task("celery_app.tasks.succeed_on_second_try", args=(str(retried),))
            wait_for(lambda: retried.exists() and retried.read_text() == "second run", log)
            # 3. A poison message, rejected every time, reaches the DLQ after maxReceiveCount.
            app.send_task("celery_app.tasks.poison", args=(str(poisoned),))
            wait_for(lambda: counts(client, dlq)[0] == 1, log, timeout=90)
            wait_for(lambda: counts(client, url) == (0, 0), log)
        worker_calls = aws.requests.operations(service="sqs")
    finally:
        app.close()
    text = log.read_text()
    assert "Task celery_app.tasks.add[" in text, text[-4000:]
    assert "Retry in 1s" in text, text[-4000:]
    max_receive = terraform_default("max_receive_count")
    assert poisoned.read_text().count("run") == max_receive
    moved = client.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert len(moved) == 1
    assert _task_of(moved[0]) == "celery_app.tasks.poison"
    # kombu with predefined queues lists, creates and looks up nothing: the task role's
    # five actions are all it calls (the test's own setup calls happened before reset()).
    assert set(worker_calls) <= TASK_ROLE_ACTIONS, worker_calls
    assert {"SendMessage", "ReceiveMessage", "DeleteMessage"} <= set(worker_calls), worker_calls


def _task_of(message: dict[str, Any]) -> str:
    """The Celery task name in an SQS message kombu sent (base64 JSON envelope)."""
    import base64

    envelope = json.loads(base64.b64decode(message["Body"]))
    return str(envelope["headers"]["task"])
