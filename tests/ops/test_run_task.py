"""The migrate gate (`django-aws ecs run-task`).

Decisions are tested against real boto3 clients with botocore's Stubber, fed responses
shaped like ECS's and CloudWatch Logs' own (field names from the botocore service
models; Stubber also validates every response against them). A fake clock makes the
waits instant. The happy path also runs end to end against the moto server.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from support.ecs_stubs import EcsStubs, stubbed
from support.fake_time import FakeTime, timeless
from support.moto_server import Aws

from django_aws_settings.ops.cli import main
from django_aws_settings.ops.run_task import (
    FromService,
    GateError,
    GateOptions,
    GateResult,
    Subnets,
    run_gate,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "app-staging"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
FAMILY = "app-staging-migrate"
TASK_DEFINITION_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{FAMILY}:7"
TASK_ID = "5b2c0e9f4f0a4c4f9d3c6a1e2b7d8f90"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{TASK_ID}"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:3f9c2d1"
LOG_GROUP = "/ecs/app/staging"
LOG_STREAM = f"migrate/migrate/{TASK_ID}"
WEB_SERVICE = "app-staging-web"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
AWSVPC = {"subnets": SUBNETS, "securityGroups": SECURITY_GROUPS, "assignPublicIp": "DISABLED"}
CREATED = datetime.datetime(2025, 3, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
MIGRATE_LOG = [
    "Operations to perform:",
    "  Apply all migrations: admin, auth, contenttypes, orders, sessions",
    "Running migrations:",
    "  Applying orders.0042_order_note... OK",
]
CANNOT_PULL = (
    "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to "
    f"resolve ref {IMAGE}: {IMAGE}: not found"
)
HEADER = [
    f"migrate gate: running {FAMILY}:7 (container migrate) on cluster {CLUSTER}",
    "network: subnets subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788; security groups "
    f"sg-0123456789abcdef0; public IP DISABLED (from service {WEB_SERVICE})",
]


# ----------------------------------------------------------------- ECS-shaped responses


def task_definition_response(log_configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """DescribeTaskDefinition for the template's migrate task definition."""
    if log_configuration is None:
        log_configuration = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": LOG_GROUP,
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "migrate",
            },
        }
    return {
        "taskDefinition": {
            "taskDefinitionArn": TASK_DEFINITION_ARN,
            "containerDefinitions": [
                {
                    "name": "migrate",
                    "image": IMAGE,
                    "cpu": 0,
                    "portMappings": [],
                    "essential": True,
                    "command": ["python", "manage.py", "migrate", "--noinput"],
                    "environment": [{"name": "DJANGO_ENV", "value": "production"}],
                    "mountPoints": [],
                    "volumesFrom": [],
                    "stopTimeout": 120,
                    "logConfiguration": log_configuration,
                    "systemControls": [],
                }
            ],
            "family": FAMILY,
            "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/app-staging-task",
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/app-staging-execution",
            "networkMode": "awsvpc",
            "revision": 7,
            "volumes": [],
            "status": "ACTIVE",
            "requiresAttributes": [
                {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
                {"name": "ecs.capability.execution-role-awslogs"},
                {"name": "com.amazonaws.ecs.capability.task-iam-role"},
            ],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "registeredAt": CREATED,
            "registeredBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/github-deploy/GitHubActions",
        }
    }


def services_response(network: dict[str, Any] | None = None) -> dict[str, Any]:
    """DescribeServices for the web service, whose network configuration the gate copies."""
    service: dict[str, Any] = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{WEB_SERVICE}",
        "serviceName": WEB_SERVICE,
        "clusterArn": CLUSTER_ARN,
        "loadBalancers": [],
        "serviceRegistries": [],
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "platformFamily": "Linux",
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app-staging-web:7",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "deployments": [],
        "events": [],
        "createdAt": CREATED,
        "placementConstraints": [],
        "placementStrategy": [],
        "schedulingStrategy": "REPLICA",
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "enableExecuteCommand": False,
    }
    if network is not None:
        service["networkConfiguration"] = network
    return {"services": [service], "failures": []}


def container(status: str, **stopped: Any) -> dict[str, Any]:
    """One entry of Task.containers; `stopped` adds exitCode/reason/runtimeId as ECS does."""
    return {
        "containerArn": (
            f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CLUSTER}/{TASK_ID}/"
            "8c4f3f5e-0b7a-4d8e-9f7e-2a1b3c4d5e6f"
        ),
        "taskArn": TASK_ARN,
        "name": "migrate",
        "image": IMAGE,
        "lastStatus": status,
        "networkInterfaces": [],
        "healthStatus": "UNKNOWN",
        "cpu": "0",
        **stopped,
    }


def task(status: str, *, version: int = 1, **stopped: Any) -> dict[str, Any]:
    """A Task as RunTask/DescribeTasks return it; for STOPPED pass stopCode, stoppedReason
    and `container_fields` (exitCode, reason)."""
    container_fields = stopped.pop("container_fields", {})
    body: dict[str, Any] = {
        "attachments": [
            {
                "id": "d1c3a4b2-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                "type": "ElasticNetworkInterface",
                "status": "PRECREATED" if status == "PROVISIONING" else "ATTACHED",
                "details": [{"name": "subnetId", "value": SUBNETS[0]}],
            }
        ],
        "availabilityZone": "us-east-1a",
        "clusterArn": CLUSTER_ARN,
        "containers": [
            container("STOPPED" if status == "STOPPED" else "PENDING", **container_fields)
        ],
        "cpu": "512",
        "createdAt": CREATED,
        "desiredStatus": "STOPPED" if status == "STOPPED" else "RUNNING",
        "enableExecuteCommand": False,
        "group": f"family:{FAMILY}",
        "lastStatus": status,
        "launchType": "FARGATE",
        "memory": "1024",
        "overrides": {"containerOverrides": [{"name": "migrate"}]},
        "platformVersion": "1.4.0",
        "platformFamily": "Linux",
        "startedBy": "django-aws-gate",
        "tags": [],
        "taskArn": TASK_ARN,
        "taskDefinitionArn": TASK_DEFINITION_ARN,
        "version": version,
        "ephemeralStorage": {"sizeInGiB": 20},
    }
    if status == "STOPPED":
        body |= {"stoppingAt": CREATED, "stoppedAt": CREATED, "executionStoppedAt": CREATED}
    return body | stopped


EXITED_ZERO: dict[str, Any] = {
    "stopCode": "EssentialContainerExited",
    "stoppedReason": "Essential container in task exited",
    "container_fields": {"exitCode": 0, "runtimeId": f"{TASK_ID}-1234567890"},
}
EXITED_ONE: dict[str, Any] = {
    "stopCode": "EssentialContainerExited",
    "stoppedReason": "Essential container in task exited",
    "container_fields": {"exitCode": 1, "runtimeId": f"{TASK_ID}-1234567890"},
}
PULL_FAILED: dict[str, Any] = {
    "stopCode": "TaskFailedToStart",
    "stoppedReason": CANNOT_PULL,
    "container_fields": {"reason": CANNOT_PULL},
}


def log_events_response(lines: list[str]) -> dict[str, Any]:
    start = 1741082400000
    return {
        "events": [
            {"timestamp": start + i, "message": line, "ingestionTime": start + i + 40}
            for i, line in enumerate(lines)
        ],
        "nextForwardToken": "f/38791234567890123456789012345678901234567890123456789012",
        "nextBackwardToken": "b/38791234567890123456789012345678901234567890123456789012",
    }


# ------------------------------------------------------------------------------ harness


class Stubs(EcsStubs):
    """Stubbed ECS and CloudWatch Logs clients plus what the gate printed."""

    def __init__(self) -> None:
        super().__init__(REGION)
        self.logs = self.session.client("logs")
        self.logs_stub = Stubber(self.logs)
        self.log_regions: list[str] = []

    def stubbers(self) -> list[Stubber]:
        return [self.stub, self.logs_stub]

    def logs_for(self, region: str) -> Any:
        self.log_regions.append(region)
        return self.logs

    def expect_task_definition(self, **kwargs: Any) -> None:
        self.stub.add_response(
            "describe_task_definition",
            task_definition_response(**kwargs),
            {"taskDefinition": f"{FAMILY}:7"},
        )

    def expect_web_service(self, network: dict[str, Any] | None = None) -> None:
        if network is None:
            network = {"awsvpcConfiguration": AWSVPC}
        self.stub.add_response(
            "describe_services",
            services_response(network),
            {"cluster": CLUSTER, "services": [WEB_SERVICE]},
        )

    def expect_run_task(self, response: dict[str, Any], **extra: Any) -> None:
        expected = {
            "cluster": CLUSTER,
            "taskDefinition": TASK_DEFINITION_ARN,
            "count": 1,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": AWSVPC},
            "startedBy": "django-aws-gate",
            "enableExecuteCommand": False,
            "propagateTags": "TASK_DEFINITION",
            **extra,
        }
        self.stub.add_response("run_task", response, expected)

    def expect_describe(self, *tasks: dict[str, Any]) -> None:
        for described in tasks:
            self.stub.add_response(
                "describe_tasks",
                {"tasks": [described], "failures": []},
                {"cluster": CLUSTER, "tasks": [TASK_ARN]},
            )

    def expect_log_tail(self, lines: list[str], limit: int = 50) -> None:
        self.logs_stub.add_response(
            "get_log_events",
            log_events_response(lines),
            {
                "logGroupName": LOG_GROUP,
                "logStreamName": LOG_STREAM,
                "startFromHead": False,
                "limit": limit,
            },
        )

    def run(self, **options: Any) -> GateResult:
        settings: dict[str, Any] = {
            "cluster": CLUSTER,
            "task_definition": f"{FAMILY}:7",
            "network": FromService(WEB_SERVICE),
        }
        settings.update(options)
        return run_gate(
            GateOptions(**settings),
            ecs=self.ecs,
            logs=self.logs_for,
            out=self.out,
            clock=self.time.clock,
            sleep=self.time.sleep,
        )


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    yield from stubbed(Stubs())


def expect_normal_run(stubs: Stubs, stopped: dict[str, Any]) -> None:
    """PROVISIONING -> PENDING -> RUNNING (twice) -> STOPPED, polled every 6 s."""
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.expect_describe(
        task("PENDING", version=2),
        task("RUNNING", version=3),
        task("RUNNING", version=3),
        task("STOPPED", version=5, **stopped),
    )


PROGRESS = [
    f"task: {TASK_ARN}",
    "status: PROVISIONING (0s)",
    "status: PENDING (6s)",
    "status: RUNNING (12s)",
    "status: STOPPED (24s)",
]


# ------------------------------------------------------------------------ the decisions


def test_exit_code_zero_passes_and_prints_the_log_tail(stubs: Stubs) -> None:
    expect_normal_run(stubs, EXITED_ZERO)
    stubs.expect_log_tail(MIGRATE_LOG)

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        *PROGRESS,
        "stopped reason: Essential container in task exited",
        "stop code: EssentialContainerExited",
        "container migrate: exit code 0",
        f"log tail: {LOG_GROUP} {LOG_STREAM} (last 4 lines)",
        *(f"  {line}" for line in MIGRATE_LOG),
        "migrate gate: ok (exit code 0) in 24s",
    ]
    assert (result.ok, result.exit_status, result.exit_code) == (True, 0, 0)
    assert stubs.time.sleeps == [6.0, 6.0, 6.0, 6.0]
    assert stubs.log_regions == [REGION]  # from the container's awslogs-region


def test_exit_code_one_fails_and_prints_the_log_tail(stubs: Stubs) -> None:
    expect_normal_run(stubs, EXITED_ONE)
    failing_log = [
        *MIGRATE_LOG[:3],
        "Traceback (most recent call last):",
        'django.db.utils.ProgrammingError: column "note" of relation "orders_order" already exists',
    ]
    stubs.expect_log_tail(failing_log)

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        *PROGRESS,
        "stopped reason: Essential container in task exited",
        "stop code: EssentialContainerExited",
        "container migrate: exit code 1",
        f"log tail: {LOG_GROUP} {LOG_STREAM} (last 5 lines)",
        *(f"  {line}" for line in failing_log),
        "migrate gate: FAILED: container migrate exited with code 1",
    ]
    assert (result.ok, result.exit_status, result.exit_code) == (False, 1, 1)


def test_out_of_memory_exit_names_the_container_reason(stubs: Stubs) -> None:
    oom = "OutOfMemoryError: Container killed due to memory usage"
    expect_normal_run(
        stubs,
        {
            "stopCode": "EssentialContainerExited",
            "stoppedReason": "Essential container in task exited",
            "container_fields": {"exitCode": 137, "reason": oom},
        },
    )
    stubs.expect_log_tail(MIGRATE_LOG)

    result = stubs.run()

    assert f"container migrate: exit code 137 ({oom})" in stubs.lines()
    assert result.verdict == f"migrate gate: FAILED: container migrate exited with code 137 ({oom})"


def test_missing_exit_code_after_cannot_pull_fails_naming_the_reason(stubs: Stubs) -> None:
    expect_normal_run(stubs, PULL_FAILED)
    stubs.logs_stub.add_client_error(
        "get_log_events",
        service_error_code="ResourceNotFoundException",
        service_message="The specified log stream does not exist.",
        http_status_code=400,
    )

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        *PROGRESS,
        f"stopped reason: {CANNOT_PULL}",
        "stop code: TaskFailedToStart",
        f"container migrate: no exit code ({CANNOT_PULL})",
        f"log tail: unavailable: {LOG_GROUP} {LOG_STREAM}: ResourceNotFoundException: "
        "The specified log stream does not exist.",
        "migrate gate: FAILED: container migrate has no exit code (stop code TaskFailedToStart): "
        + CANNOT_PULL,
    ]
    assert (result.ok, result.exit_code) == (False, None)


def test_missing_exit_code_without_container_reason_names_the_stopped_reason(
    stubs: Stubs,
) -> None:
    secrets_failed = (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        f"retried 5 time(s): failed to fetch secret arn:aws:secretsmanager:{REGION}:{ACCOUNT}:"
        "secret:app/staging/django-AbCdEf"
    )
    expect_normal_run(stubs, {"stopCode": "TaskFailedToStart", "stoppedReason": secrets_failed})
    stubs.expect_log_tail([])

    result = stubs.run()

    assert stubs.lines()[-3:] == [
        "container migrate: no exit code",
        f"log tail: {LOG_GROUP} {LOG_STREAM} has no log events",
        "migrate gate: FAILED: container migrate has no exit code (stop code TaskFailedToStart): "
        + secrets_failed,
    ]
    assert result.ok is False


def test_run_task_failures_fail_at_once_without_waiting(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task(
        {
            "tasks": [],
            "failures": [
                {
                    "arn": TASK_DEFINITION_ARN,
                    "reason": "RESOURCE:ENI",
                    "detail": "Elastic network interface limit reached in subnet",
                }
            ],
        }
    )

    result = stubs.run()

    failure = (
        f"RESOURCE:ENI {TASK_DEFINITION_ARN} Elastic network interface limit reached in subnet"
    )
    assert stubs.lines() == [
        *HEADER,
        f"failure: {failure}",
        f"migrate gate: FAILED: ECS did not start the task: {failure}",
    ]
    assert (result.ok, result.task_arn) == (False, None)
    assert stubs.time.sleeps == []


def test_timeout_stops_the_task_and_fails(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.expect_describe(task("PENDING"), task("RUNNING"), task("RUNNING"), task("RUNNING"))
    stubs.stub.add_response(
        "stop_task",
        {"task": task("RUNNING", desiredStatus="STOPPED")},
        {"cluster": CLUSTER, "task": TASK_ARN, "reason": "migrate gate: timed out after 20s"},
    )
    stubs.expect_log_tail(MIGRATE_LOG[:3])

    result = stubs.run(timeout=20)

    assert stubs.lines() == [
        *HEADER,
        f"task: {TASK_ARN}",
        "status: PROVISIONING (0s)",
        "status: PENDING (6s)",
        "status: RUNNING (12s)",
        f"stop: asked ECS to stop {TASK_ARN}",
        f"log tail: {LOG_GROUP} {LOG_STREAM} (last 3 lines)",
        *(f"  {line}" for line in MIGRATE_LOG[:3]),
        "migrate gate: FAILED: timed out after 20s with the task still RUNNING; "
        "asked ECS to stop it",
    ]
    assert stubs.time.sleeps == [6.0, 6.0, 6.0, 2.0]  # never waits past the deadline
    assert result.ok is False


def test_timeout_can_leave_the_task_running(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.expect_describe(task("PENDING"))

    result = stubs.run(timeout=5, stop_on_timeout=False, log_lines=0)

    assert result.verdict == (
        "migrate gate: FAILED: timed out after 5s with the task still PENDING; "
        "left it running (--no-stop-on-timeout)"
    )


def test_interruption_stops_the_task(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.expect_describe(task("RUNNING"))
    stubs.stub.add_response(
        "stop_task",
        {"task": task("RUNNING", desiredStatus="STOPPED")},
        {"cluster": CLUSTER, "task": TASK_ARN, "reason": "migrate gate: interrupted after 12s"},
    )
    sleep = stubs.time.sleep

    def cancelled_during_second_wait(seconds: float) -> None:
        sleep(seconds)
        if len(stubs.time.sleeps) == 2:
            raise KeyboardInterrupt

    stubs.time.sleep = cancelled_during_second_wait  # type: ignore[method-assign]

    result = stubs.run(log_lines=0)

    assert result.verdict == (
        "migrate gate: FAILED: interrupted after 12s with the task still RUNNING; "
        "asked ECS to stop it"
    )


def test_task_briefly_missing_after_run_task_keeps_waiting(stubs: Stubs) -> None:
    """DescribeTasks is eventually consistent right after RunTask."""
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.stub.add_response(
        "describe_tasks",
        {"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )
    stubs.expect_describe(task("STOPPED", **EXITED_ZERO))

    result = stubs.run(log_lines=0)

    assert result.verdict == "migrate gate: ok (exit code 0) in 12s"


# ------------------------------------------------------------------- what the gate sends


def test_explicit_subnets_skip_describe_services(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_run_task(
        {"tasks": [task("PROVISIONING")], "failures": []},
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": ["subnet-1"],
                "securityGroups": ["sg-1", "sg-2"],
                "assignPublicIp": "ENABLED",
            }
        },
    )
    stubs.expect_describe(task("STOPPED", **EXITED_ZERO))

    result = stubs.run(
        network=Subnets(("subnet-1",), ("sg-1", "sg-2"), assign_public_ip=True), log_lines=0
    )

    assert stubs.lines()[1] == (
        "network: subnets subnet-1; security groups sg-1, sg-2; public IP ENABLED (given)"
    )
    assert result.ok is True


def test_command_override_goes_to_the_deciding_container(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    command = ["python", "manage.py", "migrate", "orders", "0041", "--noinput"]
    stubs.expect_run_task(
        {"tasks": [task("PROVISIONING")], "failures": []},
        overrides={"containerOverrides": [{"name": "migrate", "command": command}]},
    )
    stubs.expect_describe(task("STOPPED", **EXITED_ZERO))

    stubs.run(command=command, log_lines=0)

    assert stubs.lines()[2] == "command: python manage.py migrate orders 0041 --noinput"


def test_log_tail_asks_for_the_configured_number_of_lines(stubs: Stubs) -> None:
    expect_normal_run(stubs, EXITED_ZERO)
    stubs.expect_log_tail(MIGRATE_LOG[-2:], limit=2)

    stubs.run(log_lines=2)

    assert stubs.lines()[-4:-1] == [
        f"log tail: {LOG_GROUP} {LOG_STREAM} (last 2 lines)",
        *(f"  {line}" for line in MIGRATE_LOG[-2:]),
    ]


def test_log_tail_without_awslogs_says_why(stubs: Stubs) -> None:
    stubs.expect_task_definition(
        log_configuration={"logDriver": "awsfirelens", "options": {"Name": "datadog"}}
    )
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.expect_describe(task("STOPPED", **EXITED_ZERO))

    result = stubs.run()

    assert stubs.lines()[-2:] == [
        "log tail: unavailable: container migrate logs with awsfirelens, not awslogs",
        "migrate gate: ok (exit code 0) in 6s",
    ]
    assert result.ok is True


# -------------------------------------------------------------- bad input and API errors


def test_unknown_container_is_bad_input(stubs: Stubs) -> None:
    stubs.expect_task_definition()

    with pytest.raises(GateError) as error:
        stubs.run(container="web")

    assert str(error.value) == (
        f"task definition {FAMILY}:7 has no container named web (containers: migrate)"
    )


def test_service_without_awsvpc_network_is_bad_input(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.stub.add_response(
        "describe_services",
        services_response(network=None),
        {"cluster": CLUSTER, "services": [WEB_SERVICE]},
    )

    with pytest.raises(GateError) as error:
        stubs.run()

    assert str(error.value) == (
        f"service {WEB_SERVICE} has no awsvpc network configuration to copy; "
        "pass --subnets and --security-groups instead"
    )


def test_access_denied_on_run_task_is_one_line(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    denied = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/github-deploy/GitHubActions is not "
        f"authorized to perform: iam:PassRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/app-staging-execution"
    )
    stubs.stub.add_client_error(
        "run_task",
        service_error_code="AccessDeniedException",
        service_message=denied,
        http_status_code=400,
    )

    with pytest.raises(GateError) as error:
        stubs.run()

    assert (
        str(error.value) == f"RunTask on cluster {CLUSTER} failed: AccessDeniedException: {denied}"
    )


def test_describe_tasks_error_says_the_task_may_still_run(stubs: Stubs) -> None:
    stubs.expect_task_definition()
    stubs.expect_web_service()
    stubs.expect_run_task({"tasks": [task("PROVISIONING")], "failures": []})
    stubs.stub.add_client_error(
        "describe_tasks",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: ecs:DescribeTasks",
        http_status_code=400,
    )

    with pytest.raises(GateError) as error:
        stubs.run()

    assert str(error.value) == (
        "DescribeTasks failed: AccessDeniedException: not authorized to perform: "
        f"ecs:DescribeTasks (task {TASK_ARN} was started and may still be running)"
    )


# ------------------------------------------------------------------ against the moto server

MOTO_GROUP = "/ecs/app/staging"


def moto_network(aws: Aws) -> dict[str, Any]:
    """A VPC, subnet and security group in moto, as the web service's awsvpc configuration."""
    ec2 = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=aws.region
    ).client("ec2", endpoint_url=aws.endpoint_url)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # moto's RunTask creates an ENI and, without DNS hostnames, crashes reading its DNS name.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="app-tasks", Description="tasks", VpcId=vpc)
    return {
        "awsvpcConfiguration": {
            "subnets": [subnet],
            "securityGroups": [group["GroupId"]],
            "assignPublicIp": "DISABLED",
        }
    }


def moto_cluster(aws: Aws) -> dict[str, Any]:
    """Cluster, migrate task definition (awslogs) and a web service; returns its network."""
    ecs = aws.client("ecs")
    network = moto_network(aws)
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family=FAMILY,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[
            {
                "name": "migrate",
                "image": IMAGE,
                "essential": True,
                # moto needs container-level memory to place a task (ECS does not).
                "memory": 1024,
                "command": ["python", "manage.py", "migrate", "--noinput"],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": MOTO_GROUP,
                        "awslogs-region": aws.region,
                        "awslogs-stream-prefix": "migrate",
                    },
                },
            }
        ],
    )
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=WEB_SERVICE,
        taskDefinition=FAMILY,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration=network,  # type: ignore[arg-type]
    )
    return network


@pytest.fixture
def ecs_task_steps(aws: Aws) -> Iterator[None]:
    """moto's default, pinned: a task starts RUNNING and moves one state per DescribeTasks
    (DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED) with every container at exitCode 0."""
    state_manager = f"{aws.endpoint_url}/moto-api/state-manager"

    def post(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 (loopback moto)
            f"{state_manager}/{path}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    post(
        "set-transition",
        {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1}},
    )
    yield
    post("unset-transition", {"model_name": "ecs::task"})


@pytest.mark.usefixtures("ecs_task_steps")
def test_happy_path_against_moto(aws: Aws) -> None:
    network = moto_cluster(aws)
    ecs = aws.client("ecs")
    logs = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=aws.region
    ).client("logs", endpoint_url=aws.endpoint_url)
    logs.create_log_group(logGroupName=MOTO_GROUP)
    fake = FakeTime()
    streams: list[str] = []

    def container_logs_while_waiting(seconds: float) -> None:
        """The awslogs driver writes the stream while the task runs."""
        fake.sleep(seconds)
        if not streams:
            task_id = ecs.list_tasks(cluster=CLUSTER)["taskArns"][0].rsplit("/", 1)[-1]
            streams.append(f"migrate/migrate/{task_id}")
            now_ms = int(time.time() * 1000)
            logs.create_log_stream(logGroupName=MOTO_GROUP, logStreamName=streams[0])
            logs.put_log_events(
                logGroupName=MOTO_GROUP,
                logStreamName=streams[0],
                # Recent timestamps: CloudWatch (and moto) reject events older than 14 days.
                logEvents=[
                    {"timestamp": now_ms + i, "message": line} for i, line in enumerate(MIGRATE_LOG)
                ],
            )

    aws.requests.reset()
    out = io.StringIO()

    result = run_gate(
        GateOptions(CLUSTER, FAMILY, FromService(WEB_SERVICE), log_lines=3),
        ecs=ecs,
        logs=lambda region: logs,
        out=out,
        clock=fake.clock,
        sleep=container_logs_while_waiting,
    )

    arn = result.task_arn
    assert arn is not None
    assert re.fullmatch(rf"arn:aws:ecs:{REGION}:\d{{12}}:task/{CLUSTER}/[0-9a-f-]{{36}}", arn), arn
    subnet = network["awsvpcConfiguration"]["subnets"][0]
    group = network["awsvpcConfiguration"]["securityGroups"][0]
    assert (
        out.getvalue().splitlines()
        == [
            f"migrate gate: running {FAMILY}:1 (container migrate) on cluster {CLUSTER}",
            f"network: subnets {subnet}; security groups {group}; public IP DISABLED "
            f"(from service {WEB_SERVICE})",
            f"task: {arn}",
            "status: RUNNING (0s)",
            "status: DEACTIVATING (6s)",
            "status: STOPPING (12s)",
            "status: DEPROVISIONING (18s)",
            "status: STOPPED (24s)",
            "stopped reason: (none)",  # moto sets neither stoppedReason nor stopCode
            "stop code: (none)",
            "container migrate: exit code 0",
            f"log tail: {MOTO_GROUP} {streams[0]} (last 3 lines)",
            *(f"  {line}" for line in MIGRATE_LOG[-3:]),
            "migrate gate: ok (exit code 0) in 24s",
        ]
    )
    assert aws.requests.operations("ecs") == Counter(
        DescribeTaskDefinition=1, DescribeServices=1, RunTask=1, DescribeTasks=4, ListTasks=1
    )
    assert aws.requests.operations("logs") == Counter(
        CreateLogStream=1, PutLogEvents=1, GetLogEvents=1
    )
    (run_task,) = aws.requests.calls("RunTask")
    sent = {key: value for key, value in run_task.params.items() if key != "clientToken"}
    assert sent == {
        "cluster": CLUSTER,
        "taskDefinition": f"arn:aws:ecs:{aws.region}:{ACCOUNT}:task-definition/{FAMILY}:1",
        "count": 1,
        "launchType": "FARGATE",
        "networkConfiguration": network,  # exactly the web service's
        "startedBy": "django-aws-gate",
        "enableExecuteCommand": False,
        "propagateTags": "TASK_DEFINITION",
    }
    assert len(run_task.params["clientToken"]) == 36  # botocore's idempotency token
    stopped = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
    assert (stopped["lastStatus"], stopped["startedBy"]) == ("STOPPED", "django-aws-gate")


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture
def cli_environ(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The console script reads the real environment: point it at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_REGION", aws.region)
    return aws


def gate_argv(*extra: str) -> list[str]:
    return [
        "ecs",
        "run-task",
        "--cluster",
        CLUSTER,
        "--task-definition",
        FAMILY,
        "--network-from-service",
        WEB_SERVICE,
        *extra,
    ]


@pytest.mark.usefixtures("ecs_task_steps")
def test_cli_runs_the_gate_against_moto(
    cli_environ: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_cluster(cli_environ)

    code = main(gate_argv("--poll-interval", "0.01"))

    out = capsys.readouterr()
    lines = out.out.splitlines()
    task_id = lines[2].rsplit("/", 1)[-1]
    assert (code, out.err) == (0, "")
    assert timeless(lines[-2:]) == [
        f"log tail: unavailable: {MOTO_GROUP} migrate/migrate/{task_id}: "
        "ResourceNotFoundException: The specified log group does not exist.",
        "migrate gate: ok (exit code 0) in Ns",
    ]
    assert cli_environ.requests.count("RunTask") == 1


def test_cli_unknown_cluster_exits_2_with_one_line(
    cli_environ: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_cluster(cli_environ)

    code = main(gate_argv("--cluster", "nope"))

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        f"django-aws ecs run-task: DescribeServices {WEB_SERVICE} in cluster nope failed: "
        "ClusterNotFoundException: Cluster not found.\n"
    )
    assert cli_environ.requests.count("RunTask") == 0


def test_cli_unknown_service_exits_2(cli_environ: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    moto_cluster(cli_environ)

    code = main(gate_argv("--network-from-service", "app-staging-api"))

    assert code == 2
    assert capsys.readouterr().err == (
        f"django-aws ecs run-task: service app-staging-api not found in cluster {CLUSTER} "
        "(MISSING)\n"
    )


def test_cli_unknown_task_definition_exits_2(
    cli_environ: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(gate_argv("--task-definition", "app-staging-migrat"))

    assert code == 2
    assert capsys.readouterr().err == (
        "django-aws ecs run-task: DescribeTaskDefinition app-staging-migrat failed: "
        "ClientException: Unable to describe task definition.\n"
    )


def test_cli_subnets_need_security_groups(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ecs", "run-task", "--cluster", CLUSTER, "--task-definition", FAMILY]

    code = main([*argv, "--subnets", "subnet-1,subnet-2"])

    assert code == 2
    assert capsys.readouterr().err == (
        "django-aws ecs run-task: --subnets needs --security-groups "
        "(the VPC default is rarely right)\n"
    )


def test_cli_network_sources_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*gate_argv(), "--subnets", "subnet-1"])

    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "django-aws ecs run-task: error: argument --subnets: not allowed with argument "
        "--network-from-service (see django-aws ecs run-task --help)\n"
    )


def test_cli_without_a_region_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code = main(gate_argv())

    assert code == 2
    assert capsys.readouterr().err == (
        "django-aws: --region: no AWS region: pass --region or set AWS_REGION\n"
    )
