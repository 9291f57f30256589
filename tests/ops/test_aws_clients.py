"""ops/aws.py: every operator command takes its region one way and bounds every AWS call.

botocore reads only AWS_DEFAULT_REGION; ECS, the AWS docs and the generated workflows set
AWS_REGION. The commands said they read it and did not: ``ecs register`` with AWS_REGION
set went to AWS_DEFAULT_REGION's region.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.moto_server import Aws

from django_aws_settings.ops.aws import (
    LONGEST_CALL_SECONDS,
    operator_client,
    operator_config,
    operator_session,
)
from django_aws_settings.ops.cli import main
from django_aws_settings.settings.env import AwsClients, aws_region
from django_aws_settings.settings.errors import ConfigError

ACCOUNT = "123456789012"  # moto's default account
IMAGE = f"{ACCOUNT}.dkr.ecr.eu-west-2.amazonaws.com/shop:3f9c2d1"
REQUEST = {
    "family": "shop-${environment}-web",
    "containerDefinitions": [
        {"name": "web", "image": "${image}", "essential": True, "memory": 512}
    ],
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-west-2"),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        ({"AWS_REGION": " ", "AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, None),
        ({}, None),
    ],
)
def test_aws_region_prefers_aws_region_and_ignores_blanks(
    environ: dict[str, str], expected: str | None
) -> None:
    assert aws_region(environ) == expected
    assert AwsClients(environ).region == expected  # the settings side reads it the same way


def test_the_session_takes_region_then_aws_region_then_aws_default_region() -> None:
    environ = {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}
    assert operator_session(None, environ).region_name == "eu-west-2"
    assert operator_session("ap-south-1", environ).region_name == "ap-south-1"
    assert operator_session(" ", {"AWS_DEFAULT_REGION": "us-east-1"}).region_name == "us-east-1"


@pytest.mark.parametrize(
    ("region", "environ", "named"),
    [
        ("the moon", {}, "--region"),
        (None, {"AWS_REGION": "moon-1"}, "AWS_REGION"),
        (None, {"AWS_DEFAULT_REGION": "eu_west_1"}, "AWS_DEFAULT_REGION"),
    ],
)
def test_a_region_that_is_not_a_region_name_is_refused_naming_its_source(
    region: str | None, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as error:
        operator_session(region, environ)
    assert str(error.value) == (
        f"django-aws-settings: {named}: expected an AWS region name such as eu-west-1"
    )


def test_no_region_anywhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    with pytest.raises(ConfigError) as error:
        operator_session(None, {})
    assert str(error.value) == (
        "django-aws-settings: --region: no AWS region: pass --region or set AWS_REGION"
    )


def test_every_client_gets_the_bounded_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    client = operator_client(operator_session("eu-west-1", {}), "ecs")
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries) == (
        3,
        5,
        {"mode": "standard", "total_max_attempts": 3},
    )
    assert operator_config().read_timeout * 3 < LONGEST_CALL_SECONDS <= 30


@pytest.mark.parametrize(("variable", "attempts"), [("1", 1), ("2", 2), ("10", 3), ("x", 3)])
def test_aws_max_attempts_may_lower_the_attempts_never_raise_them(
    variable: str, attempts: int
) -> None:
    retries = operator_config({"AWS_MAX_ATTEMPTS": variable}).retries
    assert retries == {"mode": "standard", "total_max_attempts": attempts}


def test_ecs_register_goes_to_aws_region_not_aws_default_region(
    aws: Aws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The `aws` fixture sets AWS_DEFAULT_REGION=us-east-1; AWS_REGION says eu-west-2."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    path = tmp_path / "web.json"
    path.write_text(json.dumps(REQUEST))

    code = main(["ecs", "register", str(path), "--image", IMAGE, "--environment", "staging"])

    out = capsys.readouterr()
    assert (code, out.out) == (
        0,
        f"arn:aws:ecs:eu-west-2:{ACCOUNT}:task-definition/shop-staging-web:1\n",
    ), out.err
