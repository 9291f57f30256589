"""``ecs register`` turns DJANGO_AWS_CONFIG_PATH into ECS secrets: the app's config keys
reach the container with no AWS call at process start (moto serves SSM and ECS)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import Aws

from django_aws_settings.ops.app_config import with_config_secrets
from django_aws_settings.ops.cli import main

PATH = "/shop/staging"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:3f9c2d1"
ARN = "arn:aws:ssm:us-east-1:123456789012:parameter"
FILE = {
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
            "memory": 512,
            "environment": [
                {"name": "DJANGO_ENV", "value": "production"},
                {"name": "DJANGO_AWS_CONFIG_PATH", "value": "/shop/${environment}"},
                {"name": "PRIMARY_HOST", "value": "set-in-the-file.example.com"},
            ],
            "secrets": [
                {"name": "DATABASE_HOST", "valueFrom": f"{ARN}/shop/staging/DATABASE_HOST"},
            ],
        }
    ],
}


@pytest.fixture
def cli_aws(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_REGION", aws.region)
    ssm = aws.client("ssm")
    for name in ("SENTRY_ENVIRONMENT", "PRIMARY_HOST", "DATABASE_HOST", "FEATURE_FLAGS"):
        ssm.put_parameter(Name=f"{PATH}/{name}", Value=f"{name.lower()}", Type="String")
    ssm.put_parameter(Name=f"{PATH}/nested/IGNORED", Value="x", Type="String")
    ssm.put_parameter(Name="/shop/production/OTHER_ENV", Value="x", Type="String")
    aws.requests.reset()
    return aws


def test_register_injects_every_config_parameter_as_a_secret(
    cli_aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "web.json"
    path.write_text(json.dumps(FILE))
    code = main(["ecs", "register", str(path), "--image", IMAGE, "--environment", "staging"])
    assert code == 0, capsys.readouterr().err
    assert cli_aws.requests.operations() == Counter(GetParametersByPath=1, RegisterTaskDefinition=1)
    registered = cli_aws.client("ecs").describe_task_definition(taskDefinition="shop-staging-web")
    (container,) = registered["taskDefinition"]["containerDefinitions"]
    names = [item["name"] for item in container["environment"]]
    assert "DJANGO_AWS_CONFIG_PATH" not in names  # nothing left to read at start
    secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    assert secrets == {
        "DATABASE_HOST": f"{ARN}/shop/staging/DATABASE_HOST",  # the file's own entry
        "FEATURE_FLAGS": f"{ARN}/shop/staging/FEATURE_FLAGS",
        "SENTRY_ENVIRONMENT": f"{ARN}/shop/staging/SENTRY_ENVIRONMENT",
    }  # PRIMARY_HOST stays the file's environment value; nested and other paths are not read


def test_a_file_without_a_config_path_makes_no_ssm_call(
    cli_aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(json.dumps(FILE))
    environment = document["containerDefinitions"][0]["environment"]
    document["containerDefinitions"][0]["environment"] = environment[:1]
    path = tmp_path / "web.json"
    path.write_text(json.dumps(document))
    assert main(["ecs", "register", str(path), "--image", IMAGE, "--environment", "staging"]) == 0
    assert cli_aws.requests.operations() == Counter(RegisterTaskDefinition=1)


def test_an_unreadable_path_is_one_line(
    cli_aws: Aws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9")
    path = tmp_path / "web.json"
    path.write_text(json.dumps(FILE))
    code = main(["ecs", "register", str(path), "--image", IMAGE, "--environment", "staging"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("django-aws ecs register: GetParametersByPath /shop/staging failed: ")
    assert len(err.splitlines()) == 1
    assert cli_aws.requests.count("RegisterTaskDefinition") == 0  # nothing half-registered


def test_expansion_leaves_the_request_it_was_given_alone() -> None:
    request: dict[str, Any] = json.loads(json.dumps(FILE).replace("${environment}", "staging"))
    before = json.dumps(request)
    expanded = with_config_secrets(request, {PATH: {"A": f"{ARN}{PATH}/A"}})
    assert json.dumps(request) == before
    assert expanded["containerDefinitions"][0]["secrets"][-1] == {
        "name": "A",
        "valueFrom": f"{ARN}{PATH}/A",
    }
