"""`django-aws ecs deploy` on a service whose deployment strategy is BLUE_GREEN.

moto (5.2) has neither ListServiceDeployments nor DescribeServiceDeployments and ignores
`deploymentConfiguration.strategy`, so, as tests/ops/test_ecs_deploy.py does for the
rolling decisions, a real boto3 ECS client answers through botocore's Stubber: every
request and every answer below is validated against botocore's ECS model, and the answers
follow ECS's own shapes for a blue/green service deployment (status, lifecycleStage,
rollback). A fake clock makes the waits instant.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY
from support.ecs_stubs import EcsStubs, stubbed

from django_aws_settings.ops.ecs_deploy import DeployOptions, DeployResult, deploy_service
from django_aws_settings.ops.run_task import EcsCommandError

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "shop-production"
SERVICE = "shop-production-web"
TASK_DEFINITIONS = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
REV_41 = f"{TASK_DEFINITIONS}/{SERVICE}:41"
REV_42 = f"{TASK_DEFINITIONS}/{SERVICE}:42"
OURS = "ecs-svc/4726347226847295934"
OLD = "ecs-svc/1618033988749894848"
T0 = datetime.datetime(2026, 12, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
SERVICE_DEPLOYMENT = (
    f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/NCWGC2ZR-taUcLi9ob5uhM"
)
EARLIER_DEPLOYMENT = (
    f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/Kq0fTz2Rb8aWj4Xn1pLmV"
)
REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/8925410264"
OLD_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/7712094810"
HOOK_FAILED = "Lifecycle hook POST_TEST_TRAFFIC_SHIFT failed: the smoke test returned FAILED."


def deployment(id: str, status: str, task_definition: str, created: datetime.datetime) -> Any:
    return {
        "id": id,
        "status": status,
        "taskDefinition": task_definition,
        "desiredCount": 2,
        "pendingCount": 0,
        "runningCount": 2 if status == "ACTIVE" else 0,
        "failedTasks": 0,
        "createdAt": created,
        "updatedAt": created,
        "launchType": "FARGATE",
        "rolloutState": "IN_PROGRESS" if status == "PRIMARY" else "COMPLETED",
        "rolloutStateReason": f"ECS deployment {id} in progress.",
    }


def service(strategy: str = "BLUE_GREEN") -> dict[str, Any]:
    """The web service as UpdateService / DescribeServices return it during a deploy."""
    return {
        "serviceArn": SERVICE_ARN,
        "serviceName": SERVICE,
        "clusterArn": CLUSTER_ARN,
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "taskDefinition": REV_42,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "strategy": strategy,
            "bakeTimeInMinutes": 10,
        },
        "deployments": [
            deployment(OURS, "PRIMARY", REV_42, T0),
            deployment(OLD, "ACTIVE", REV_41, T0 - datetime.timedelta(days=2)),
        ],
        "events": [],
        "deploymentController": {"type": "ECS"},
    }


def service_deployment(status: str, stage: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ServiceDeployment as DescribeServiceDeployments returns it."""
    body: dict[str, Any] = {
        "serviceDeploymentArn": SERVICE_DEPLOYMENT,
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": T0,
        "startedAt": T0,
        "updatedAt": T0,
        "sourceServiceRevisions": [{"arn": OLD_REVISION, "requestedTaskCount": 2}],
        "targetServiceRevision": {"arn": REVISION, "requestedTaskCount": 2},
        "status": status,
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10},
        "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3},
        **extra,
    }
    if stage is not None:
        body["lifecycleStage"] = stage
    return body


class Stubs(EcsStubs):
    def expect_update(self, answer: dict[str, Any]) -> None:
        expected = {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": REV_42}
        self.stub.add_response("update_service", {"service": answer}, expected)

    def expect_describe_service(self) -> None:
        self.stub.add_response(
            "describe_services",
            {"services": [service()], "failures": []},
            {"cluster": CLUSTER, "services": [SERVICE]},
        )

    def expect_listed(self, *briefs: dict[str, Any]) -> None:
        expected = {"cluster": CLUSTER, "service": SERVICE, "createdAt": {"after": ANY}}
        self.stub.add_response(
            "list_service_deployments", {"serviceDeployments": list(briefs)}, expected
        )

    def expect_described(self, answer: dict[str, Any]) -> None:
        self.stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [answer], "failures": []},
            {"serviceDeploymentArns": [SERVICE_DEPLOYMENT]},
        )

    def run(self) -> DeployResult:
        return deploy_service(
            DeployOptions(cluster=CLUSTER, service=SERVICE, task_definition=REV_42),
            ecs=self.ecs,
            out=self.out,
            clock=self.time.clock,
            sleep=self.time.sleep,
        )


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    yield from stubbed(Stubs(REGION))


def brief(arn: str, status: str, created: datetime.datetime) -> dict[str, Any]:
    """One ServiceDeploymentBrief as ListServiceDeployments returns it."""
    return {
        "serviceDeploymentArn": arn,
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": created,
        "startedAt": created,
        "targetServiceRevisionArn": REVISION if arn == SERVICE_DEPLOYMENT else OLD_REVISION,
        "status": status,
    }


HEADER = [
    f"deploy {SERVICE}: blue/green: rolling out {SERVICE}:42 on cluster {CLUSTER} "
    f"(replacing {SERVICE}:41)",
    f"deployment: {OURS}",
]


def test_each_lifecycle_stage_is_printed_until_the_deployment_succeeds(stubs: Stubs) -> None:
    stubs.expect_update(service())
    # The first poll finds ours (the newest) among the service's recent deployments.
    stubs.expect_listed(
        brief(EARLIER_DEPLOYMENT, "SUCCESSFUL", T0 - datetime.timedelta(seconds=50)),
        brief(SERVICE_DEPLOYMENT, "IN_PROGRESS", T0),
    )
    stubs.expect_described(service_deployment("IN_PROGRESS", "SCALE_UP"))
    for stage in ("SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"):
        stubs.expect_describe_service()
        stubs.expect_described(service_deployment("IN_PROGRESS", stage))
    stubs.expect_describe_service()
    stubs.expect_described(service_deployment("SUCCESSFUL", "CLEAN_UP", finishedAt=T0))

    result = stubs.run()

    assert stubs.lines() == [
        *HEADER,
        "status: IN_PROGRESS, running 0/2, pending 0, failed tasks 0, deployments 2 (0s)",
        f"service deployment: {SERVICE_DEPLOYMENT}",
        "blue/green: IN_PROGRESS, stage SCALE_UP (0s)",
        "blue/green: IN_PROGRESS, stage TEST_TRAFFIC_SHIFT (20s)",
        "blue/green: IN_PROGRESS, stage PRODUCTION_TRAFFIC_SHIFT (30s)",
        "blue/green: IN_PROGRESS, stage BAKE_TIME (40s)",
        "blue/green: SUCCESSFUL, stage CLEAN_UP (50s)",
        f"deploy {SERVICE}: ok (rev 42) in 50s",
    ]
    assert (result.ok, result.exit_status) == (True, 0)


def test_a_rollback_is_followed_to_its_end_and_fails_with_one_line(stubs: Stubs) -> None:
    stubs.expect_update(service())
    stubs.expect_listed(brief(SERVICE_DEPLOYMENT, "IN_PROGRESS", T0))
    stubs.expect_described(service_deployment("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT"))
    rollback = {"reason": HOOK_FAILED, "startedAt": T0, "serviceRevisionArn": OLD_REVISION}
    for status in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"):
        stubs.expect_describe_service()
        stubs.expect_described(
            service_deployment(
                status, "POST_TEST_TRAFFIC_SHIFT", rollback=rollback, statusReason=HOOK_FAILED
            )
        )

    result = stubs.run()

    assert stubs.lines()[-3:] == [
        "blue/green: ROLLBACK_IN_PROGRESS, stage POST_TEST_TRAFFIC_SHIFT (10s)",
        "blue/green: ROLLBACK_SUCCESSFUL, stage POST_TEST_TRAFFIC_SHIFT (20s)",
        f"deploy {SERVICE}: FAILED: blue/green deployment rolled back: {HOOK_FAILED}; "
        f"production traffic stays on {SERVICE}:41",
    ]
    assert (result.ok, result.exit_status) == (False, 1)


def test_a_failed_rollback_says_to_check_the_target_groups(stubs: Stubs) -> None:
    stubs.expect_update(service())
    stubs.expect_listed(brief(SERVICE_DEPLOYMENT, "IN_PROGRESS", T0))
    stubs.expect_described(
        service_deployment("ROLLBACK_FAILED", "PRODUCTION_TRAFFIC_SHIFT", statusReason="boom")
    )

    result = stubs.run()

    assert stubs.lines()[-1] == (
        f"deploy {SERVICE}: FAILED: blue/green rollback FAILED: boom; "
        "check the service's target groups"
    )
    assert result.exit_status == 1


def test_not_listed_yet_waits_without_a_verdict_then_times_out(stubs: Stubs) -> None:
    stubs.expect_update(service())
    stubs.expect_listed()
    for _ in range(2):  # at 10 s and at 15 s
        stubs.expect_describe_service()
        stubs.expect_listed()

    result = deploy_service(
        DeployOptions(
            cluster=CLUSTER, service=SERVICE, task_definition=REV_42, timeout=15, poll_interval=10
        ),
        ecs=stubs.ecs,
        out=stubs.out,
        clock=stubs.time.clock,
        sleep=stubs.time.sleep,
    )

    assert stubs.lines()[-1] == (
        f"deploy {SERVICE}: FAILED: timed out after 15s with deployment {OURS} at "
        "IN_PROGRESS, running 0/2, pending 0, failed tasks 0, deployments 2; "
        "the service may still be deploying"
    )
    assert result.exit_status == 1


def test_an_api_error_while_following_is_one_line(stubs: Stubs) -> None:
    stubs.expect_update(service())
    stubs.stub.add_client_error(
        "list_service_deployments",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: ecs:ListServiceDeployments",
        http_status_code=400,
    )

    with pytest.raises(EcsCommandError) as error:
        stubs.run()

    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"ListServiceDeployments {SERVICE} in cluster {CLUSTER}")
    assert f"deployment {OURS} was started and may still be in progress" in message


def test_a_rolling_service_is_not_followed_through_service_deployments(stubs: Stubs) -> None:
    rolling = service("ROLLING")
    stubs.expect_update(rolling)
    done = service("ROLLING")
    done["deployments"] = [{**done["deployments"][0], "rolloutState": "COMPLETED"}]
    stubs.stub.add_response(
        "describe_services",
        {"services": [done], "failures": []},
        {"cluster": CLUSTER, "services": [SERVICE]},
    )

    result = stubs.run()

    assert result.ok
    assert not any("blue/green" in line for line in stubs.lines())
