"""`django-aws ecs register` and `django-aws ecs deploy`.

The deploy decisions are tested against a real boto3 ECS client with botocore's Stubber,
fed UpdateService / DescribeServices answers shaped like ECS's own (Stubber validates each
against the service model); a fake clock makes the waits instant. Registration and the
CLI run against the moto server.
"""

from __future__ import annotations

import datetime
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.ecs_stubs import EcsStubs, stubbed
from support.fake_time import FakeTime, timeless
from support.moto_server import Aws

from django_aws_settings.ops.cli import main
from django_aws_settings.ops.ecs_deploy import (
    DeployOptions,
    DeployResult,
    Rollout,
    deploy_service,
    deploy_services,
)
from django_aws_settings.ops.run_task import EcsCommandError

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "shop-staging"
SERVICE = "shop-staging-web"
FAMILY = "shop-staging-web"
TASK_DEFINITIONS = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
REV_41 = f"{TASK_DEFINITIONS}/{FAMILY}:41"
REV_42 = f"{TASK_DEFINITIONS}/{FAMILY}:42"
REV_43 = f"{TASK_DEFINITIONS}/{FAMILY}:43"
OURS = "ecs-svc/4726347226847295934"  # the deployment UpdateService starts
OLD = "ecs-svc/1618033988749894848"  # the one it replaces (rev 41)
ROLLBACK = "ecs-svc/2718281828459045235"  # what the circuit breaker starts (rev 41 again)
OTHER = "ecs-svc/5772156649015328606"  # someone else's deploy (rev 43)
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop:3f9c2d1"
# UpdateService happens at T0; ECS stamps our deployment with it.
T0 = datetime.datetime(2025, 3, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
TARGET_GROUP = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/shop-staging-web/6d0ecf831eec9f09"
)
CIRCUIT_BREAKER = "ECS deployment circuit breaker: tasks failed to start."
HEADER = [
    f"deploy {SERVICE}: rolling out {FAMILY}:42 on cluster {CLUSTER} (replacing {FAMILY}:41)",
    f"deployment: {OURS}",
]


# ----------------------------------------------------------------- ECS-shaped responses


def deployment(
    id: str,
    status: str,
    task_definition: str,
    rollout: str | None,
    *,
    running: int = 0,
    desired: int = 2,
    pending: int = 0,
    failed: int = 0,
    reason: str | None = None,
    created: datetime.datetime = T0,
) -> dict[str, Any]:
    """One entry of Service.deployments; `rollout=None` leaves rolloutState out."""
    body: dict[str, Any] = {
        "id": id,
        "status": status,
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "pendingCount": pending,
        "runningCount": running,
        "failedTasks": failed,
        "createdAt": created,
        "updatedAt": created,
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "platformFamily": "Linux",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-0a1b2c3d4e5f60718"],
                "securityGroups": ["sg-0123456789abcdef0"],
                "assignPublicIp": "DISABLED",
            }
        },
    }
    if rollout is not None:
        body["rolloutState"] = rollout
        body["rolloutStateReason"] = reason or (
            f"ECS deployment {id} completed."
            if rollout == "COMPLETED"
            else f"ECS deployment {id} in progress."
        )
    return body


def ours(rollout: str | None = "IN_PROGRESS", **counts: Any) -> dict[str, Any]:
    return deployment(OURS, "PRIMARY", REV_42, rollout, **counts)


def old(rollout: str | None = "COMPLETED", **counts: Any) -> dict[str, Any]:
    counts.setdefault("running", 2)
    created = T0 - datetime.timedelta(days=2)
    return deployment(OLD, "ACTIVE", REV_41, rollout, created=created, **counts)


def event(seconds: float, message: str) -> dict[str, Any]:
    """A service event `seconds` after T0 (ECS ids are UUIDs; these stay readable)."""
    return {
        "id": f"5f0c2b9e-0000-4000-8000-{int(seconds * 1000) % 10**12:012d}",
        "createdAt": T0 + datetime.timedelta(seconds=seconds),
        "message": f"(service {SERVICE}) {message}",
    }


STEADY_BEFORE = event(-6 * 3600, "has reached a steady state.")


def service(
    *deployments: dict[str, Any],
    events: list[dict[str, Any]],
    task_definition: str = REV_42,
    name: str = SERVICE,
) -> dict[str, Any]:
    """A Service as UpdateService / DescribeServices return it; events newest first."""
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}",
        "serviceName": name,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "loadBalancers": [
            {"targetGroupArn": TARGET_GROUP, "containerName": "web", "containerPort": 8000}
        ],
        "serviceRegistries": [],
        "status": "ACTIVE",
        "desiredCount": primary["desiredCount"],
        "runningCount": sum(d["runningCount"] for d in deployments),
        "pendingCount": sum(d["pendingCount"] for d in deployments),
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "platformFamily": "Linux",
        "taskDefinition": task_definition,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "deployments": list(deployments),
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/"
        "AWSServiceRoleForECS",
        "events": events,
        "createdAt": T0 - datetime.timedelta(days=30),
        "placementConstraints": [],
        "placementStrategy": [],
        "healthCheckGracePeriodSeconds": 30,
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "createdBy": f"arn:aws:iam::{ACCOUNT}:role/shop-terraform",
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "enableExecuteCommand": False,
    }


# ------------------------------------------------------------------------------ harness


class Stubs(EcsStubs):
    def expect_update(self, answer: dict[str, Any]) -> None:
        # Exactly these parameters: no forceNewDeployment, no desiredCount.
        expected = {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": REV_42}
        self.stub.add_response("update_service", {"service": answer}, expected)

    def expect_describe(self, *answers: dict[str, Any]) -> None:
        for answer in answers:
            self.stub.add_response(
                "describe_services",
                {"services": [answer], "failures": []},
                {"cluster": CLUSTER, "services": [SERVICE]},
            )

    def run(self, **options: Any) -> DeployResult:
        settings: dict[str, Any] = {"cluster": CLUSTER, "service": SERVICE}
        settings.update(options)
        return deploy_service(
            DeployOptions(task_definition=REV_42, **settings),
            ecs=self.ecs,
            out=self.out,
            clock=self.time.clock,
            sleep=self.time.sleep,
        )


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    yield from stubbed(Stubs(REGION))


STARTED = event(3, "has started 2 tasks: (task 0f3d2c1b4a5e46f7) (task 9a8b7c6d5e4f4a3b).")
REGISTERED = event(15, f"registered 2 targets in (target-group {TARGET_GROUP})")
DEREGISTERED = event(24, f"deregistered 2 targets in (target-group {TARGET_GROUP})")
STOPPED_OLD = event(
    25, "has stopped 2 running tasks: (task 1c2d3e4f5a6b4c7d) (task 2e3f4a5b6c7d4e8f)."
)
COMPLETED = event(37, f"(deployment {OURS}) deployment completed.")
STEADY = event(38, "has reached a steady state.")
UNHEALTHY = event(41, "(task 0f3d2c1b4a5e46f7) failed container health checks.")
FAILED_TO_START = event(52, f"(deployment {OURS}) deployment failed: tasks failed to start.")
ROLLING_BACK = event(53, f"rolling back to deployment {OLD}.")


# ------------------------------------------------------------------------ the decisions


def test_completed_rollout_exits_0_printing_each_new_event_once_oldest_first(
    stubs: Stubs,
) -> None:
    stubs.expect_update(service(ours(), old(), events=[STEADY_BEFORE]))
    stubs.expect_describe(
        service(ours(pending=2), old(), events=[STARTED, STEADY_BEFORE]),
        service(ours(running=2), old(), events=[REGISTERED, STARTED, STEADY_BEFORE]),
        service(ours(running=2), old(), events=[REGISTERED, STARTED, STEADY_BEFORE]),
        service(
            ours("COMPLETED", running=2),
            events=[STEADY, COMPLETED, STOPPED_OLD, DEREGISTERED, REGISTERED, STARTED],
        ),
    )

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        "status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, deployments 2 (0s)",
        f"event: {STARTED['message']}",
        "status: IN_PROGRESS, running 0/2, pending 2, failed tasks 0, deployments 2 (10s)",
        f"event: {REGISTERED['message']}",
        "status: IN_PROGRESS, running 2/2, pending 0, failed tasks 0, deployments 2 (20s)",
        f"event: {DEREGISTERED['message']}",
        f"event: {STOPPED_OLD['message']}",
        f"event: {COMPLETED['message']}",
        f"event: {STEADY['message']}",
        "status: COMPLETED, running 2/2, pending 0, failed tasks 0, deployments 1 (40s)",
        f"deploy {SERVICE}: ok (rev 42) in 40s",
    ]
    assert (result.ok, result.exit_status, result.deployment_id) == (True, 0, OURS)
    assert stubs.time.sleeps == [10.0, 10.0, 10.0, 10.0]


def test_failed_rollout_exits_1_with_the_rollout_state_reason(stubs: Stubs) -> None:
    """Circuit breaker on, rollback off: our deployment stays PRIMARY and turns FAILED."""
    stubs.expect_update(service(ours(), old(), events=[STEADY_BEFORE]))
    stubs.expect_describe(
        service(ours(pending=2), old(), events=[STARTED, STEADY_BEFORE]),
        service(
            ours("FAILED", failed=3, reason=CIRCUIT_BREAKER),
            old(),
            events=[FAILED_TO_START, UNHEALTHY, STARTED, STEADY_BEFORE],
        ),
    )

    result = stubs.run()

    assert stubs.lines()[-5:] == [
        "status: IN_PROGRESS, running 0/2, pending 2, failed tasks 0, deployments 2 (10s)",
        f"event: {UNHEALTHY['message']}",
        f"event: {FAILED_TO_START['message']}",
        "status: FAILED, running 0/2, pending 0, failed tasks 3, deployments 2 (20s)",
        f"deploy {SERVICE}: FAILED: {CIRCUIT_BREAKER}",
    ]
    assert (result.ok, result.exit_status) == (False, 1)


def test_rollback_exits_1_naming_the_old_revision(stubs: Stubs) -> None:
    """The end state is one deployment at its desired count: services-stable says success."""
    stubs.expect_update(service(ours(), old(), events=[STEADY_BEFORE]))
    rolled_back = deployment(ROLLBACK, "PRIMARY", REV_41, "COMPLETED", running=2)
    stubs.expect_describe(
        service(ours(pending=2, failed=1), old(), events=[UNHEALTHY, STARTED, STEADY_BEFORE]),
        service(
            rolled_back,
            events=[ROLLING_BACK, FAILED_TO_START, UNHEALTHY, STARTED, STEADY_BEFORE],
            task_definition=REV_41,
        ),
    )

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        "status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, deployments 2 (0s)",
        f"event: {STARTED['message']}",
        f"event: {UNHEALTHY['message']}",
        "status: IN_PROGRESS, running 0/2, pending 2, failed tasks 1, deployments 2 (10s)",
        f"event: {FAILED_TO_START['message']}",
        f"event: {ROLLING_BACK['message']}",
        f"deploy {SERVICE}: FAILED: circuit breaker rolled back to {FAMILY}:41",
    ]
    assert (result.ok, result.exit_status) == (False, 1)


def test_rollback_with_our_failed_deployment_still_listed_gives_its_reason(
    stubs: Stubs,
) -> None:
    stubs.expect_update(service(ours(), old(), events=[]))
    failed = deployment(OURS, "ACTIVE", REV_42, "FAILED", failed=3, reason=CIRCUIT_BREAKER)
    rolling_back = deployment(ROLLBACK, "PRIMARY", REV_41, "IN_PROGRESS", running=2)
    stubs.expect_describe(service(rolling_back, failed, events=[], task_definition=REV_41))

    result = stubs.run()

    assert result.verdict == (
        f"deploy {SERVICE}: FAILED: circuit breaker rolled back to {FAMILY}:41 ({CIRCUIT_BREAKER})"
    )


def test_another_deploy_taking_over_is_not_called_a_rollback(stubs: Stubs) -> None:
    stubs.expect_update(service(ours(), old(), events=[]))
    newer = deployment(OTHER, "PRIMARY", REV_43, "IN_PROGRESS")
    superseded = deployment(OURS, "ACTIVE", REV_42, "IN_PROGRESS", running=1)
    stubs.expect_describe(service(newer, superseded, old(), events=[], task_definition=REV_43))

    result = stubs.run()

    assert result.verdict == (
        f"deploy {SERVICE}: FAILED: deployment {OURS} was replaced by {OTHER} "
        f"({FAMILY}:43) before it completed"
    )


def test_timeout_exits_1_saying_the_service_may_still_be_deploying(stubs: Stubs) -> None:
    stubs.expect_update(service(ours(), old(), events=[]))
    stubs.expect_describe(
        service(ours(running=1, pending=1), old(), events=[]),
        service(ours(running=1, pending=1), old(), events=[]),
        service(ours(running=1, pending=1), old(), events=[]),
    )

    result = stubs.run(timeout=25)

    assert stubs.lines() == [
        *HEADER,
        "status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, deployments 2 (0s)",
        "status: IN_PROGRESS, running 1/2, pending 1, failed tasks 0, deployments 2 (10s)",
        f"deploy {SERVICE}: FAILED: timed out after 25s with deployment {OURS} at IN_PROGRESS, "
        "running 1/2, pending 1, failed tasks 0, deployments 2; the service may still be "
        "deploying",
    ]
    assert stubs.time.sleeps == [10.0, 10.0, 5.0]  # never waits past the deadline
    assert result.exit_status == 1


def test_interruption_exits_1_and_leaves_the_deployment_to_ecs(stubs: Stubs) -> None:
    stubs.expect_update(service(ours(), old(), events=[]))
    stubs.expect_describe(service(ours(pending=2), old(), events=[]))
    sleep = stubs.time.sleep

    def cancelled_during_second_wait(seconds: float) -> None:
        sleep(seconds)
        if len(stubs.time.sleeps) == 2:
            raise KeyboardInterrupt

    stubs.time.sleep = cancelled_during_second_wait  # type: ignore[method-assign]

    result = stubs.run()

    assert result.verdict == (
        f"deploy {SERVICE}: FAILED: interrupted after 20s with deployment {OURS} at "
        "IN_PROGRESS, running 0/2, pending 2, failed tasks 0, deployments 2; the service may "
        "still be deploying"
    )


def test_without_rollout_state_waits_for_a_lone_primary_at_its_desired_count(
    stubs: Stubs,
) -> None:
    stubs.expect_update(service(ours(None), old(None), events=[]))
    stubs.expect_describe(
        service(ours(None, running=2), old(None), events=[]),  # old tasks not drained yet
        service(ours(None, running=1), events=[]),  # one task of ours died
        service(ours(None, running=2), events=[]),
    )

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        "status: running 0/2, pending 0, failed tasks 0, deployments 2 (0s)",
        "status: running 2/2, pending 0, failed tasks 0, deployments 2 (10s)",
        "status: running 1/2, pending 0, failed tasks 0, deployments 1 (20s)",
        "status: running 2/2, pending 0, failed tasks 0, deployments 1 (30s)",
        f"deploy {SERVICE}: ok (rev 42) in 30s",
    ]
    assert result.ok is True


def test_events_older_than_our_deployment_are_not_printed(stubs: Stubs) -> None:
    """Even when the UpdateService answer did not list them (ECS keeps the last 100)."""
    stubs.expect_update(service(ours(), old(), events=[]))
    earlier = event(-2, "has stopped 1 running tasks: (task 3f4a5b6c7d8e4f90).")
    stubs.expect_describe(service(ours("COMPLETED", running=2), events=[STARTED, earlier]))

    stubs.run()

    assert [line for line in stubs.lines() if line.startswith("event:")] == [
        f"event: {STARTED['message']}"
    ]


# -------------------------------------------------------------- bad input and API errors


def test_update_service_error_is_one_line(stubs: Stubs) -> None:
    denied = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/github-deploy/GitHubActions is not "
        f"authorized to perform: ecs:UpdateService on resource: "
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
    )
    stubs.stub.add_client_error(
        "update_service",
        service_error_code="AccessDeniedException",
        service_message=denied,
        http_status_code=400,
    )

    with pytest.raises(EcsCommandError) as error:
        stubs.run()

    assert str(error.value) == (
        f"UpdateService {SERVICE} in cluster {CLUSTER} failed: AccessDeniedException: {denied}"
    )


def test_describe_services_error_says_the_deployment_may_still_be_in_progress(
    stubs: Stubs,
) -> None:
    stubs.expect_update(service(ours(), old(), events=[]))
    stubs.stub.add_client_error(
        "describe_services",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: ecs:DescribeServices",
        http_status_code=400,
    )

    with pytest.raises(EcsCommandError) as error:
        stubs.run()

    assert str(error.value) == (
        f"DescribeServices {SERVICE} in cluster {CLUSTER} failed: AccessDeniedException: not "
        f"authorized to perform: ecs:DescribeServices (deployment {OURS} was started and may "
        "still be in progress)"
    )


# ------------------------------------------------------------ several services together

WORKERS = ("shop-staging-worker-default", "shop-staging-worker-emails")
WORKER_DEPLOYMENTS = {  # (ours, the one it replaces, the circuit breaker's)
    WORKERS[0]: ("ecs-svc/1000000000000000001", "ecs-svc/1000000000000000002", ""),
    WORKERS[1]: (
        "ecs-svc/2000000000000000001",
        "ecs-svc/2000000000000000002",
        "ecs-svc/2000000000000000003",
    ),
}


def worker_revision(name: str, number: int) -> str:
    return f"{TASK_DEFINITIONS}/{name}:{number}"


def worker(name: str, state: str, **counts: Any) -> dict[str, Any]:
    """The worker service `name` with our deployment (rev 8) in `state`."""
    new, previous, rollback = WORKER_DEPLOYMENTS[name]
    old_deployment = deployment(
        previous,
        "ACTIVE",
        worker_revision(name, 7),
        "COMPLETED",
        running=2,
        created=T0 - datetime.timedelta(days=2),
    )
    if state == "ROLLED_BACK":
        back = deployment(rollback, "PRIMARY", worker_revision(name, 7), "COMPLETED", running=2)
        return service(back, events=[], task_definition=worker_revision(name, 7), name=name)
    ours = deployment(new, "PRIMARY", worker_revision(name, 8), state, **counts)
    replaced = [] if state == "COMPLETED" else [old_deployment]
    return service(ours, *replaced, events=[], task_definition=worker_revision(name, 8), name=name)


def expect_worker_updates(stubs: Stubs) -> None:
    for name in WORKERS:
        stubs.stub.add_response(
            "update_service",
            {"service": worker(name, "IN_PROGRESS")},
            {"cluster": CLUSTER, "service": name, "taskDefinition": worker_revision(name, 8)},
        )


def expect_workers_described(stubs: Stubs, *answers: dict[str, Any]) -> None:
    """One DescribeServices naming exactly the services answered."""
    stubs.stub.add_response(
        "describe_services",
        {"services": list(answers), "failures": []},
        {"cluster": CLUSTER, "services": [answer["serviceName"] for answer in answers]},
    )


def roll_workers(stubs: Stubs, **options: Any) -> list[DeployResult]:
    rollouts = [Rollout(name, worker_revision(name, 8)) for name in WORKERS]
    return deploy_services(
        CLUSTER,
        rollouts,
        ecs=stubs.ecs,
        out=stubs.out,
        clock=stubs.time.clock,
        sleep=stubs.time.sleep,
        **options,
    )


def test_several_services_start_together_and_one_rollback_fails_the_deploy(
    stubs: Stubs,
) -> None:
    """Both UpdateService calls come first; then each poll asks for the undecided only."""
    default, emails = WORKERS
    expect_worker_updates(stubs)
    expect_workers_described(
        stubs, worker(default, "COMPLETED", running=2), worker(emails, "IN_PROGRESS", pending=2)
    )
    expect_workers_described(stubs, worker(emails, "ROLLED_BACK"))

    results = roll_workers(stubs)

    ids = {name: WORKER_DEPLOYMENTS[name][0] for name in WORKERS}
    assert stubs.lines() == [
        f"deploy {default}: rolling out {default}:8 on cluster {CLUSTER} (replacing {default}:7)",
        f"{default}: deployment: {ids[default]}",
        f"deploy {emails}: rolling out {emails}:8 on cluster {CLUSTER} (replacing {emails}:7)",
        f"{emails}: deployment: {ids[emails]}",
        f"{default}: status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, "
        "deployments 2 (0s)",
        f"{emails}: status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, "
        "deployments 2 (0s)",
        f"{default}: status: COMPLETED, running 2/2, pending 0, failed tasks 0, "
        "deployments 1 (10s)",
        f"deploy {default}: ok (rev 8) in 10s",
        f"{emails}: status: IN_PROGRESS, running 0/2, pending 2, failed tasks 0, "
        "deployments 2 (10s)",
        f"deploy {emails}: FAILED: circuit breaker rolled back to {emails}:7",
        f"deploy: FAILED: {emails} (1 of 2 services)",
    ]
    assert [(r.ok, r.deployment_id) for r in results] == [
        (True, ids[default]),
        (False, ids[emails]),
    ]
    assert stubs.time.sleeps == [10.0, 10.0]


def test_several_services_all_completed_sum_up_as_ok(stubs: Stubs) -> None:
    default, emails = WORKERS
    expect_worker_updates(stubs)
    expect_workers_described(
        stubs, worker(default, "COMPLETED", running=2), worker(emails, "COMPLETED", running=2)
    )

    results = roll_workers(stubs)

    assert [r.ok for r in results] == [True, True]
    verdicts = [line for line in stubs.lines() if line.startswith("deploy") and " ok " in line]
    assert verdicts == [
        f"deploy {default}: ok (rev 8) in 10s",
        f"deploy {emails}: ok (rev 8) in 10s",
        "deploy: all 2 services ok in 10s",
    ]
    assert stubs.lines()[-1] == verdicts[-1]


def test_several_services_time_out_together(stubs: Stubs) -> None:
    default, emails = WORKERS
    expect_worker_updates(stubs)
    for _ in range(2):
        expect_workers_described(
            stubs,
            worker(default, "IN_PROGRESS", running=1),
            worker(emails, "IN_PROGRESS", running=1),
        )

    results = roll_workers(stubs, timeout=15)

    assert [r.verdict.split(": FAILED: ")[1].split(" with ")[0] for r in results] == [
        "timed out after 15s",
        "timed out after 15s",
    ]
    assert stubs.lines()[-1] == f"deploy: FAILED: {default}, {emails} (2 of 2 services)"
    assert stubs.time.sleeps == [10.0, 5.0]


def test_update_error_on_a_later_service_names_the_deployments_already_started(
    stubs: Stubs,
) -> None:
    default, emails = WORKERS
    stubs.stub.add_response(
        "update_service",
        {"service": worker(default, "IN_PROGRESS")},
        {"cluster": CLUSTER, "service": default, "taskDefinition": worker_revision(default, 8)},
    )
    stubs.stub.add_client_error(
        "update_service",
        service_error_code="ServiceNotFoundException",
        service_message="Service not found.",
        http_status_code=400,
    )

    with pytest.raises(EcsCommandError) as error:
        roll_workers(stubs)

    assert str(error.value) == (
        f"UpdateService {emails} in cluster {CLUSTER} failed: ServiceNotFoundException: "
        f"Service not found. (deployment {WORKER_DEPLOYMENTS[default][0]} was started and may "
        "still be in progress)"
    )


def test_the_same_service_twice_is_refused_before_any_call(stubs: Stubs) -> None:
    twice = [Rollout(WORKERS[0], "a:1"), Rollout(WORKERS[1], "b:1"), Rollout(WORKERS[0], "a:2")]

    with pytest.raises(EcsCommandError) as error:
        deploy_services(CLUSTER, twice, ecs=stubs.ecs, out=stubs.out)

    assert str(error.value) == f"service {WORKERS[0]} given more than once"


# ------------------------------------------------------------------ against the moto server

TASK_DEFINITION_FILE = {
    "family": "shop-${environment}-web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "web",
            "image": "${image}",
            "essential": True,
            # moto needs container-level memory to place tasks (ECS does not).
            "memory": 512,
            "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/shop/${environment}",
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "web",
                },
            },
        }
    ],
}


@pytest.fixture
def task_definition_file(tmp_path: Path) -> Path:
    path = tmp_path / "web.json"
    path.write_text(json.dumps(TASK_DEFINITION_FILE, indent=2))
    return path


@pytest.fixture
def cli_environ(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The console script reads the real environment: point it at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_REGION", aws.region)
    return aws


def rendered_task_definition(image: str) -> dict[str, Any]:
    text = json.dumps(TASK_DEFINITION_FILE).replace("${environment}", "staging")
    rendered: dict[str, Any] = json.loads(text.replace("${image}", image))
    return rendered


def register_argv(path: Path | str, *extra: str) -> list[str]:
    return ["ecs", "register", str(path), "--image", IMAGE, "--environment", "staging", *extra]


def moto_service(aws: Aws, monkeypatch: pytest.MonkeyPatch, running: int) -> None:
    """Cluster and web service on revision 1, as Terraform creates them.

    moto fixes a deployment's counts when the service is created, from
    MOTO_ECS_SERVICE_RUNNING (its server runs in this process), and reports
    rolloutState COMPLETED only if that reaches the desired count (2).
    """
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**rendered_task_definition(f"{IMAGE[:-7]}previous"))
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=FAMILY,
        desiredCount=2,
        launchType="FARGATE",
    )
    aws.requests.reset()


def test_register_prints_only_the_arn(
    cli_environ: Aws, task_definition_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(register_argv(task_definition_file))

    out = capsys.readouterr()
    assert (code, out.out) == (0, f"{TASK_DEFINITIONS}/{FAMILY}:1\n")
    assert out.err == f"registered {FAMILY}:1 from {task_definition_file}\n"
    assert cli_environ.requests.operations() == Counter(RegisterTaskDefinition=1)
    registered = cli_environ.client("ecs").describe_task_definition(taskDefinition=FAMILY)
    (container,) = registered["taskDefinition"]["containerDefinitions"]
    assert container["image"] == IMAGE
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/shop/staging"


def test_register_then_deploy_against_moto(
    cli_environ: Aws,
    task_definition_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """moto keeps the service's one deployment (its id, its rev-1 taskDefinition, its
    COMPLETED rolloutState) through UpdateService, so the deploy is decided at once."""
    moto_service(cli_environ, monkeypatch, running=2)
    main(register_argv(task_definition_file))
    arn = capsys.readouterr().out.strip()

    code = main(
        ["ecs", "deploy", "--cluster", CLUSTER, "--service", SERVICE, "--task-definition", arn]
    )

    out = capsys.readouterr()
    lines = out.out.splitlines()
    deployment_id = lines[1].removeprefix("deployment: ")
    assert (code, out.err) == (0, "")
    assert timeless(lines) == [
        f"deploy {SERVICE}: rolling out {FAMILY}:2 on cluster {CLUSTER}",
        f"deployment: {deployment_id}",
        "status: COMPLETED, running 2/2, pending 0, failed tasks 0, deployments 1 (Ns)",
        f"deploy {SERVICE}: ok (rev 2) in Ns",
    ]
    assert deployment_id.startswith("ecs-svc/")
    assert cli_environ.requests.operations() == Counter(RegisterTaskDefinition=1, UpdateService=1)
    (update,) = cli_environ.requests.calls("UpdateService")
    assert update.params == {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": arn}
    described = cli_environ.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
    assert described["services"][0]["taskDefinition"] == arn


def test_fallback_without_rollout_state_against_moto(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto always reports rolloutState; drop it from every answer client-side to follow
    the fallback (lone PRIMARY at its desired count) through moto's own shapes."""
    moto_service(aws, monkeypatch, running=2)
    ecs = aws.client("ecs")
    registered = ecs.register_task_definition(**rendered_task_definition(IMAGE))
    arn = registered["taskDefinition"]["taskDefinitionArn"]

    def without_rollout_state(parsed: dict[str, Any], **_: Any) -> None:
        for answer in [parsed.get("service", {}), *parsed.get("services", [])]:
            for deployment in answer.get("deployments", []):
                deployment.pop("rolloutState", None)
                deployment.pop("rolloutStateReason", None)

    ecs.meta.events.register("after-call.ecs", without_rollout_state)
    aws.requests.reset()
    out = io.StringIO()

    result = deploy_service(DeployOptions(CLUSTER, SERVICE, arn), ecs=ecs, out=out)

    assert timeless(out.getvalue().splitlines()[2:]) == [
        "status: running 2/2, pending 0, failed tasks 0, deployments 1 (Ns)",
        f"deploy {SERVICE}: ok (rev 2) in Ns",
    ]
    assert result.ok is True
    assert aws.requests.operations() == Counter(UpdateService=1)


def test_deployment_that_never_completes_times_out_against_moto(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no task running, moto's deployment stays IN_PROGRESS at 0/2 for ever."""
    moto_service(aws, monkeypatch, running=0)
    fake = FakeTime()
    out = io.StringIO()

    result = deploy_service(
        DeployOptions(CLUSTER, SERVICE, f"{FAMILY}:1", timeout=30),
        ecs=aws.client("ecs"),
        out=out,
        clock=fake.clock,
        sleep=fake.sleep,
    )

    assert out.getvalue().splitlines()[2:] == [
        "status: IN_PROGRESS, running 0/2, pending 2, failed tasks 0, deployments 1 (0s)",
        f"deploy {SERVICE}: FAILED: timed out after 30s with deployment {result.deployment_id} "
        "at IN_PROGRESS, running 0/2, pending 2, failed tasks 0, deployments 1; the service "
        "may still be deploying",
    ]
    assert aws.requests.operations() == Counter(UpdateService=1, DescribeServices=3)


def moto_workers(aws: Aws, monkeypatch: pytest.MonkeyPatch, running: dict[str, int]) -> None:
    """A worker service per entry, each frozen at its own running count (see moto_service)."""
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**rendered_task_definition(f"{IMAGE[:-7]}previous"))
    for name, count in running.items():
        monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(count))
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=FAMILY,
            desiredCount=2,
            launchType="FARGATE",
        )
    aws.requests.reset()


def test_deploy_several_services_against_moto(
    cli_environ: Aws,
    task_definition_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    moto_workers(cli_environ, monkeypatch, dict.fromkeys(WORKERS, 2))
    main(register_argv(task_definition_file))
    arn = capsys.readouterr().out.strip()
    pairs = [
        argument for name in WORKERS for argument in ("--service", name, "--task-definition", arn)
    ]

    code = main(["ecs", "deploy", "--cluster", CLUSTER, *pairs])

    out = capsys.readouterr()
    lines = timeless(out.out.splitlines())
    assert (code, out.err) == (0, "")
    assert [line for line in lines if line.startswith("deploy")] == [
        f"deploy {WORKERS[0]}: rolling out {FAMILY}:2 on cluster {CLUSTER}",
        f"deploy {WORKERS[1]}: rolling out {FAMILY}:2 on cluster {CLUSTER}",
        f"deploy {WORKERS[0]}: ok (rev 2) in Ns",
        f"deploy {WORKERS[1]}: ok (rev 2) in Ns",
        "deploy: all 2 services ok in Ns",
    ]
    assert cli_environ.requests.operations() == Counter(RegisterTaskDefinition=1, UpdateService=2)
    updates = [call.params for call in cli_environ.requests.calls("UpdateService")]
    assert updates == [
        {"cluster": CLUSTER, "service": name, "taskDefinition": arn} for name in WORKERS
    ]


def test_one_service_that_never_completes_fails_the_others_do_not_wait_against_moto(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the undecided service is polled; the verdicts stay per service."""
    default, emails = WORKERS
    moto_workers(aws, monkeypatch, {default: 2, emails: 0})
    fake = FakeTime()
    out = io.StringIO()

    results = deploy_services(
        CLUSTER,
        [Rollout(default, f"{FAMILY}:1"), Rollout(emails, f"{FAMILY}:1")],
        timeout=30,
        ecs=aws.client("ecs"),
        out=out,
        clock=fake.clock,
        sleep=fake.sleep,
    )

    assert [result.ok for result in results] == [True, False]
    assert results[1].verdict.startswith(f"deploy {emails}: FAILED: timed out after 30s")
    assert out.getvalue().splitlines()[-1] == f"deploy: FAILED: {emails} (1 of 2 services)"
    described = [call.params["services"] for call in aws.requests.calls("DescribeServices")]
    assert described == [[emails]] * 3


# ------------------------------------------------------------------ bad input, via the CLI


def test_register_unknown_file_exits_2(
    cli_environ: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "deploy" / "ecs" / "web.json"

    code = main(register_argv(missing))

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == f"django-aws ecs register: {missing}: No such file or directory\n"
    assert len(cli_environ.requests) == 0


def test_register_bad_placeholder_value_exits_2(
    cli_environ: Aws, task_definition_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = register_argv(task_definition_file)
    argv[argv.index("staging")] = "Staging"

    code = main(argv)

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        "django-aws ecs register: --environment: expected lowercase letters, digits and "
        "dashes (at most 31), got 'Staging'\n"
    )
    assert len(cli_environ.requests) == 0


def test_register_fills_the_account_of_an_environment_in_its_own_account(
    cli_environ: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "web.json"
    role = "arn:aws:iam::${account}:role/shop-${environment}-task"
    path.write_text(json.dumps({**TASK_DEFINITION_FILE, "taskRoleArn": role}))

    code = main(register_argv(path, "--account", "210987654321"))

    assert capsys.readouterr().err.startswith("registered ")
    (call,) = cli_environ.requests.calls("RegisterTaskDefinition")
    assert (code, call.params["taskRoleArn"]) == (
        0,
        "arn:aws:iam::210987654321:role/shop-staging-task",
    )


def test_register_bad_account_exits_2(
    cli_environ: Aws, task_definition_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(register_argv(task_definition_file, "--account", "21098765432"))

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        "django-aws ecs register: --account: expected a 12-digit AWS account id, "
        "got '21098765432'\n"
    )
    assert len(cli_environ.requests) == 0


def test_register_request_the_model_rejects_exits_2(
    cli_environ: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "web.json"
    path.write_text(
        json.dumps(
            {
                "family": "shop-${environment}-web",
                "cpu": 256,
                "containerDefinitions": [{"name": "web", "image": "${image}", "essential": "yes"}],
            }
        )
    )

    code = main(register_argv(path))

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        f"django-aws ecs register: {path}: not a valid RegisterTaskDefinition request: "
        "Invalid type for parameter cpu, type: <class 'int'>, valid types: "
        "<class 'str'>; Invalid type for parameter containerDefinitions[0].essential, "
        "type: <class 'str'>, valid types: <class 'bool'>\n"
    )
    assert len(cli_environ.requests) == 0


def test_deploy_unknown_service_exits_2(
    cli_environ: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_service(cli_environ, monkeypatch, running=2)

    code = main(
        [
            "ecs",
            "deploy",
            "--cluster",
            CLUSTER,
            "--service",
            "shop-staging-api",
            "--task-definition",
            f"{FAMILY}:1",
        ]
    )

    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        f"django-aws ecs deploy: UpdateService shop-staging-api in cluster {CLUSTER} failed: "
        "ServiceNotFoundException: Service not found.\n"
    )
    assert cli_environ.requests.operations() == Counter(UpdateService=1)


def test_deploy_with_an_empty_region_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`AWS_DEFAULT_REGION: ${{ vars.AWS_REGION }}` with the variable unset is "" in a
    workflow; botocore then builds https://ecs..amazonaws.com and raises ValueError."""
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")

    code = main(
        [
            "ecs",
            "deploy",
            "--cluster",
            CLUSTER,
            "--service",
            SERVICE,
            "--task-definition",
            f"{FAMILY}:42",
        ]
    )

    assert code == 2
    assert capsys.readouterr().err == (
        "django-aws: --region: no AWS region: pass --region or set AWS_REGION\n"
    )


def test_deploy_needs_one_task_definition_per_service(
    cli_environ: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "ecs",
            "deploy",
            "--cluster",
            CLUSTER,
            *("--service", WORKERS[0], "--service", WORKERS[1]),
            *("--task-definition", f"{FAMILY}:1"),
        ]
    )

    assert (code, capsys.readouterr().err) == (
        2,
        "django-aws ecs deploy: expected one --task-definition per --service, got 2 --service "
        "and 1 --task-definition\n",
    )
    assert len(cli_environ.requests) == 0
