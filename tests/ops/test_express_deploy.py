"""`django-aws ecs express-deploy`: the web service of an ECS Express Mode stack.

moto implements neither UpdateExpressGatewayService nor the service deployment APIs
(ListServiceDeployments, DescribeServiceDeployments), so the decisions run against a real
boto3 ECS client with botocore's Stubber, which checks every request and answer against
ECS's service model; a fake clock makes the waits instant.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.ecs_stubs import EcsStubs, stubbed

from django_aws_settings.ops.cli import main
from django_aws_settings.ops.express_deploy import (
    ExpressDeployResult,
    deploy_express_service,
    primary_container,
    update_request,
)
from django_aws_settings.ops.run_task import EcsCommandError

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLUSTER = "shop-staging"
SERVICE = "shop-staging-web"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
DEPLOYMENT = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/Hq9vbD1x"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop:3f9c2d1"
T0 = datetime.datetime(2026, 12, 4, 17, 0, 0, tzinfo=datetime.UTC)
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/staging/app:SECRET_KEY::"
# A rendered deploy/ecs/web.json, as `django-aws ecs register` would send it.
WEB = {
    "family": "shop-staging-web",
    "containerDefinitions": [
        {
            "name": "web",
            "image": IMAGE,
            "command": ["gunicorn", "--config", "deploy/gunicorn.conf.py", "shop.wsgi:application"],
            "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
            "environment": [{"name": "DJANGO_ENV", "value": "production"}],
            "secrets": [{"name": "SECRET_KEY", "valueFrom": SECRET}],
            "readonlyRootFilesystem": True,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/shop/staging", "awslogs-stream-prefix": "web"},
            },
        }
    ],
}
PRIMARY = {
    "image": IMAGE,
    "command": ["gunicorn", "--config", "deploy/gunicorn.conf.py", "shop.wsgi:application"],
    "containerPort": 8000,
    "environment": [{"name": "DJANGO_ENV", "value": "production"}],
    "secrets": [{"name": "SECRET_KEY", "valueFrom": SECRET}],
    "awsLogsConfiguration": {"logGroup": "/ecs/shop/staging", "logStreamPrefix": "web"},
}


class Stubs(EcsStubs):
    def expect_start(self) -> None:
        self.stub.add_response(
            "describe_services",
            {"services": [{"serviceArn": SERVICE_ARN, "serviceName": SERVICE}], "failures": []},
            {"cluster": CLUSTER, "services": [SERVICE]},
        )
        # Exactly the container: no role, size or scaling change rides along.
        self.stub.add_response(
            "update_express_gateway_service",
            {"service": {"serviceArn": SERVICE_ARN, "serviceName": SERVICE}},
            {"serviceArn": SERVICE_ARN, "primaryContainer": PRIMARY},
        )

    def expect_listed(self, *deployments: str) -> None:
        self.stub.add_response(
            "list_service_deployments",
            {
                "serviceDeployments": [
                    {"serviceDeploymentArn": arn, "createdAt": T0} for arn in deployments
                ]
            },
            {"cluster": CLUSTER, "service": SERVICE, "createdAt": {"after": T0}},
        )

    def expect_status(self, status: str, reason: str = "") -> None:
        answer: dict[str, Any] = {"serviceDeploymentArn": DEPLOYMENT, "status": status}
        if reason:
            answer["statusReason"] = reason
        self.stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [answer], "failures": []},
            {"serviceDeploymentArns": [DEPLOYMENT]},
        )

    def run(self, **options: Any) -> ExpressDeployResult:
        return deploy_express_service(
            CLUSTER,
            SERVICE,
            WEB,
            ecs=self.ecs,
            out=self.out,
            clock=self.time.clock,
            sleep=self.time.sleep,
            now=lambda: T0,
            **options,
        )


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    yield from stubbed(Stubs(REGION))


def test_the_primary_container_is_the_web_containers_image_command_port_env_and_secrets() -> None:
    assert primary_container(WEB) == PRIMARY
    # botocore's model accepts it as an UpdateExpressGatewayService request.
    assert update_request(SERVICE_ARN, WEB) == {
        "serviceArn": SERVICE_ARN,
        "primaryContainer": PRIMARY,
    }


def test_a_request_without_a_web_container_or_port_is_refused_in_one_line() -> None:
    nameless = {**WEB, "containerDefinitions": [{**WEB["containerDefinitions"][0], "name": "app"}]}  # type: ignore[dict-item]
    portless = {**WEB, "containerDefinitions": [{"name": "web", "image": IMAGE}]}
    with pytest.raises(EcsCommandError) as no_web:
        primary_container(nameless)
    with pytest.raises(EcsCommandError) as no_port:
        primary_container(portless)
    assert (str(no_web.value), str(no_port.value)) == (
        "shop-staging-web: no container named web",
        "shop-staging-web: the web container maps no port",
    )


def test_successful_deployment_exits_0_after_following_the_one_the_update_started(
    stubs: Stubs,
) -> None:
    stubs.expect_start()
    stubs.expect_listed()  # ECS has not recorded it yet
    stubs.expect_listed(DEPLOYMENT)
    stubs.expect_status("IN_PROGRESS")
    stubs.expect_status("SUCCESSFUL")
    result = stubs.run(poll_interval=10)
    assert (result.ok, result.exit_status, result.deployment_arn) == (True, 0, DEPLOYMENT)
    assert stubs.lines() == [
        f"express-deploy {SERVICE}: rolling out {IMAGE}",
        f"deployment: {DEPLOYMENT}",
        f"express-deploy {SERVICE}: ok in 20s",
    ]
    assert stubs.time.sleeps == [10, 10]


def test_a_rolled_back_deployment_exits_1_with_its_reason(stubs: Stubs) -> None:
    stubs.expect_start()
    stubs.expect_listed(DEPLOYMENT)
    stubs.expect_status("ROLLBACK_IN_PROGRESS")
    stubs.expect_status("ROLLBACK_SUCCESSFUL", "the deployment alarm went into ALARM")
    result = stubs.run()
    assert (result.ok, result.exit_status) == (False, 1)
    assert result.verdict == (
        f"express-deploy {SERVICE}: FAILED: ROLLBACK_SUCCESSFUL "
        "(the deployment alarm went into ALARM)"
    )


def test_timeout_exits_1_saying_the_service_may_still_be_deploying(stubs: Stubs) -> None:
    stubs.expect_start()
    stubs.expect_listed(DEPLOYMENT)
    for _ in range(3):  # at 0s, 10s and 15s
        stubs.expect_status("IN_PROGRESS")
    result = stubs.run(timeout=15, poll_interval=10)
    assert result.verdict == (
        f"express-deploy {SERVICE}: FAILED: timed out after 15s with the deployment at "
        "IN_PROGRESS; the update was sent and may still be deploying"
    )
    assert stubs.time.sleeps == [10, 5]


def test_a_missing_service_is_one_line_and_nothing_is_updated(stubs: Stubs) -> None:
    stubs.stub.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": SERVICE_ARN, "reason": "MISSING"}]},
        {"cluster": CLUSTER, "services": [SERVICE]},
    )
    with pytest.raises(
        EcsCommandError, match=rf"^service {SERVICE} not found in cluster {CLUSTER}$"
    ):
        stubs.run()


def test_an_update_error_is_one_line_naming_the_call(stubs: Stubs) -> None:
    stubs.stub.add_response(
        "describe_services",
        {"services": [{"serviceArn": SERVICE_ARN, "serviceName": SERVICE}], "failures": []},
        {"cluster": CLUSTER, "services": [SERVICE]},
    )
    stubs.stub.add_client_error(
        "update_express_gateway_service",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: ecs:UpdateExpressGatewayService",
        http_status_code=400,
    )
    with pytest.raises(EcsCommandError) as refused:
        stubs.run()
    assert str(refused.value).startswith(f"UpdateExpressGatewayService {SERVICE} failed: ")
    assert "\n" not in str(refused.value)


def test_cli_refuses_a_missing_file_with_exit_2_before_any_aws_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "web.json"
    code = main(
        ["ecs", "express-deploy", str(missing), "--image", IMAGE, "--environment", "staging",
         "--cluster", CLUSTER, "--service", SERVICE]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (2, 1)
    assert err.startswith(f"django-aws ecs express-deploy: {missing}: ")


def test_cli_refuses_a_file_that_is_no_task_definition_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = tmp_path / "web.json"
    web.write_text(json.dumps({"family": "shop-${environment}-web", "containerDefinitions": 7}))
    code = main(
        ["ecs", "express-deploy", str(web), "--image", IMAGE, "--environment", "staging",
         "--cluster", CLUSTER, "--service", SERVICE]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (2, 1)
    assert "not a valid RegisterTaskDefinition request" in err
