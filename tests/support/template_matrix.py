"""The answer-set matrix every template test runs on, and the `rendered` fixture.

Each answer set is rendered once per test module into a fresh git copy of the sample
project; tests read what was generated from `Rendered`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from django_aws_settings.ops.ecs import render_task_definition
from support.template import (
    ENVIRONMENTS,
    REQUIRED_ANSWERS,
    DependencyManager,
    Dockerfile,
    changed_files,
    placeholder_values,
    render,
    sample_copy,
    snapshot,
    task_definition_files,
)


@dataclass(frozen=True)
class AnswerSet:
    id: str
    manager: DependencyManager
    server: str
    celery: bool
    static_backend: str
    media_on_s3: bool
    celery_beat: bool = False
    cpu_architecture: str = "X86_64"
    queues: tuple[str, ...] = field(default=())
    database_engine: str = "rds-postgres"
    rds_proxy: bool = False
    dms: bool = False
    environments: tuple[str, ...] = ENVIRONMENTS
    # An account per environment (account_per_environment); empty: all in aws_account_id.
    accounts: tuple[tuple[str, str], ...] = ()
    compute: str = "ecs"  # express: one ECS Express Mode web service (docs/express.md)
    email: str = "app"  # ses: Amazon SES through the task role (modules/email)
    channels: bool = False  # Django Channels: WebSockets (asked with server=asgi)
    deploy_strategy: str = "rolling"  # blue_green: ECS's BLUE_GREEN for the web service
    broker: str = "redis"  # sqs: SQS queues (modules/queues) instead of ElastiCache's Redis
    celery_result_backend: str = "none"  # asked with broker=sqs: none, redis or django-db
    # eventbridge: EventBridge Scheduler sends beat's entries (asked with celery_beat).
    scheduler: str = "beat"

    @property
    def beat_service(self) -> bool:
        """A beat ECS service runs: beat answered and not replaced by EventBridge Scheduler."""
        return self.celery and self.celery_beat and self.scheduler == "beat"

    @property
    def sqs(self) -> bool:
        """Celery's broker is SQS."""
        return self.celery and self.broker == "sqs"

    @property
    def elasticache(self) -> bool:
        """Redis is built: the Redis broker or results, Channels, or the cache without Celery."""
        redis_results = self.sqs and self.celery_result_backend == "redis"
        return not self.celery or self.broker == "redis" or redis_results or self.channels

    def account(self, environment: str) -> str:
        """The account the environment runs in."""
        return dict(self.accounts).get(environment, REQUIRED_ANSWERS["aws_account_id"])

    def answers(self) -> dict[str, Any]:
        answers: dict[str, Any] = {
            **REQUIRED_ANSWERS,
            "dependency_manager": self.manager,
            "server": self.server,
            "celery": self.celery,
            "static_backend": self.static_backend,
            "media_on_s3": self.media_on_s3,
            "cpu_architecture": self.cpu_architecture,
            "database_engine": self.database_engine,
            "rds_proxy": self.rds_proxy,
            "dms": self.dms,
            "environments": list(self.environments),
        }
        if self.accounts:
            answers["account_per_environment"] = True
            answers["environment_account_ids"] = ",".join(f"{e}={a}" for e, a in self.accounts)
        if self.compute != "ecs":
            answers["compute"] = self.compute
        if self.email != "app":
            answers["email"] = self.email
        if self.channels:
            answers["channels"] = True
        if self.deploy_strategy != "rolling":
            answers["deploy_strategy"] = self.deploy_strategy
        if self.celery:
            answers["celery_queues"] = ",".join(self.queues)
            answers["celery_beat"] = self.celery_beat
            if self.scheduler != "beat":
                answers["scheduler"] = self.scheduler
            if self.broker != "redis":
                answers["broker"] = self.broker
                answers["celery_result_backend"] = self.celery_result_backend
        return answers


QUEUES = ("default", "emails")
ANSWER_SETS = [
    AnswerSet("pip-wsgi-celery-whitenoise-media", "pip", "wsgi", True, "whitenoise", True,
              celery_beat=True, queues=QUEUES, email="ses"),
    AnswerSet("pip-asgi-s3static", "pip", "asgi", False, "s3", False,
              environments=("production",), channels=True, email="ses",
              deploy_strategy="blue_green"),
    AnswerSet("poetry-wsgi-celery-nobeat-s3-media-arm64", "poetry", "wsgi", True, "s3", True,
              broker="sqs",
              cpu_architecture="ARM64", queues=QUEUES, database_engine="aurora-serverless",
              rds_proxy=True, environments=("dev", "staging", "production")),
    AnswerSet("poetry-asgi-celery-whitenoise", "poetry", "asgi", True, "whitenoise", False,
              celery_beat=True, queues=QUEUES, scheduler="eventbridge", channels=True),
    AnswerSet("uv-wsgi-whitenoise-media", "uv", "wsgi", False, "whitenoise", True,
              deploy_strategy="blue_green"),
    AnswerSet("uv-asgi-celery-s3-media", "uv", "asgi", True, "s3", True,
              celery_beat=True, queues=QUEUES, database_engine="aurora-postgres", dms=True,
              scheduler="eventbridge", broker="sqs", celery_result_backend="django-db"),
    # The recommended layout: an account per environment, the image repository and the
    # state in aws_account_id.
    AnswerSet("pip-wsgi-celery-media-accounts", "pip", "wsgi", True, "whitenoise", True,
              celery_beat=True, queues=QUEUES, dms=True, broker="sqs",
              celery_result_backend="redis",
              accounts=(("staging", "210987654321"), ("production", "345678901234"))),
    # A small app on ECS Express Mode: one web service, no Celery, static files in the image.
    AnswerSet("pip-wsgi-express", "pip", "wsgi", False, "whitenoise", True, compute="express"),
]  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    case: AnswerSet
    root: Path
    files: set[str]  # what the render created or changed

    @property
    def dockerfile(self) -> Dockerfile:
        return Dockerfile.read(self.root / "deploy" / "Dockerfile")

    def requests(self) -> dict[str, dict[str, Any]]:
        """Every task definition request, keyed "<role>[-<queue>]@<environment>"."""
        requests: dict[str, dict[str, Any]] = {}
        for role, path in task_definition_files(self.root).items():
            for environment in ENVIRONMENTS:
                for queue in self.case.queues if role == "worker" else (None,):
                    label = f"{role}-{queue}" if queue else role
                    values = placeholder_values(
                        role, environment, queue, self.case.account(environment)
                    )
                    requests[f"{label}@{environment}"] = render_task_definition(path, values)
        return requests

    def request(self, role: str, environment: str = "production") -> dict[str, Any]:
        queue = self.case.queues[0] if role == "worker" else None
        path = task_definition_files(self.root)[role]
        values = placeholder_values(role, environment, queue, self.case.account(environment))
        return render_task_definition(path, values)


@pytest.fixture(scope="module", params=ANSWER_SETS, ids=lambda case: case.id)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    case: AnswerSet = request.param
    root = sample_copy(tmp_path_factory.mktemp(case.id), case.manager)
    before = snapshot(root)
    render(root, case.answers())
    return Rendered(case, root, changed_files(before, snapshot(root)))
