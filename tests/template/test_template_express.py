"""`compute: express`: one ECS Express Mode web service instead of CloudFront, our load
balancer and ECS services (docs/express.md).

The Terraform is evaluated as Terraform would plan it (support/terraform_eval.py) and
compared with what the pipeline sends on every deploy (`django-aws ecs express-deploy`,
from the same deploy/ecs/web.json); the deploy workflow is parsed; the refusal is Copier's
own validator. fmt, the provider schema, `terraform validate` and checkov run on this answer
set in test_template_terraform.py like on every other.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.template import (
    REQUIRED_ANSWERS,
    changed_files,
    placeholder_values,
    render,
    sample_copy,
    snapshot,
    task_definition_files,
)
from support.template_matrix import ANSWER_SETS, AnswerSet, Rendered
from support.terraform_eval import Facts, Instance, policy_statements

from django_aws_settings.ops.ecs import render_task_definition
from django_aws_settings.ops.express_deploy import primary_container
from django_aws_settings.runtime.health import HEALTH_PATH
from django_aws_settings.settings.storages import storages

REGION = "eu-west-1"  # copier.yml's default
EXPRESS_SETS = [case for case in ANSWER_SETS if case.compute == "express"]
INFRASTRUCTURE_POLICY = (
    "arn:aws:iam::aws:policy/service-role/AmazonECSInfrastructureRoleforExpressGatewayServices"
)


@pytest.fixture(scope="module", params=EXPRESS_SETS, ids=lambda case: case.id)
def express(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    case: AnswerSet = request.param
    root = sample_copy(tmp_path_factory.mktemp(case.id), case.manager)
    before = snapshot(root)
    render(root, case.answers())
    return Rendered(case, root, changed_files(before, snapshot(root)))


def environment(rendered: Rendered, env: str) -> Instance:
    return Instance.root_module(
        rendered.root / "infra" / "terraform" / "environments" / env,
        Facts(rendered.case.account(env), REGION),
    )


def service(rendered: Rendered, env: str) -> tuple[Instance, Any]:
    module = environment(rendered, env).child("app").child("express")
    return module, module.instances("resource", "aws_ecs_express_gateway_service", "web")


def terraform_container(module: Instance, web: Any) -> dict[str, Any]:
    """primary_container as Terraform sends it, in the API's names."""
    (block,) = web.block.nested("primary_container")
    arguments = {name: module.evaluate(tree) for name, tree in block.arguments.items()}
    (logs,) = arguments["aws_logs_configuration"]

    def items(kind: str, value: str) -> list[dict[str, Any]]:
        found = web.nested_blocks(kind, block)
        return [
            {
                "name": module.evaluate(b.arguments["name"], s),
                value: module.evaluate(b.arguments[value], s),
            }
            for b, s in found
        ]

    return {
        "image": arguments["image"],
        "command": arguments["command"],
        "containerPort": arguments["container_port"],
        "environment": items("environment", "value"),
        "secrets": [
            {"name": i["name"], "valueFrom": i["value_from"]} for i in items("secret", "value_from")
        ],
        "awsLogsConfiguration": {
            "logGroup": logs["log_group"],
            "logStreamPrefix": logs["log_stream_prefix"],
        },
    }


def web_request(rendered: Rendered, env: str, image: str) -> dict[str, Any]:
    path = task_definition_files(rendered.root)["web"]
    values = {**placeholder_values("web", env, None, rendered.case.account(env)), "image": image}
    return render_task_definition(path, values)


# ------------------------------------------------------------------------- the service


def test_the_service_runs_the_container_the_pipeline_sends_with_the_repositorys_image(
    express: Rendered,
) -> None:
    for env in express.case.environments:
        module, web = service(express, env)
        account = express.case.account(env)
        image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/shop:bootstrap"
        # Terraform's first revision is exactly what `express-deploy` sends from web.json.
        assert terraform_container(module, web) == primary_container(
            web_request(express, env, image)
        )
        assert terraform_container(module, web)["image"].startswith(
            f"{account}.dkr.ecr.{REGION}.amazonaws.com/shop:"
        )
        assert web.argument("service_name") == f"shop-{env}-web"
        assert (
            web.argument("execution_role_arn")
            == f"arn:aws:iam::{account}:role/shop-{env}-execution"
        )
        assert web.argument("task_role_arn") == f"arn:aws:iam::{account}:role/shop-{env}-task"
        # Every later container is the pipeline's.
        assert web.block.ignored_changes() == {"primary_container"}


def test_health_path_is_the_packages_and_scaling_bounds_come_from_tfvars(express: Rendered) -> None:
    for env in express.case.environments:
        _, web = service(express, env)
        root = environment(express, env)
        (target,) = web.argument("scaling_target")
        assert web.argument("health_check_path") == HEALTH_PATH
        assert (target["min_task_count"], target["max_task_count"]) == (
            root.var("web_min_count"),
            root.var("web_max_count"),
        )
        assert (target["auto_scaling_metric"], target["auto_scaling_target_value"]) == (
            "AVERAGE_CPU",
            60,
        )
        (network,) = web.argument("network_configuration")
        assert network["subnets"] == environment(express, env).child("app").child("network").output(
            "public_subnet_ids"
        )


def test_express_mode_gets_its_infrastructure_role_and_nothing_of_ours_is_in_front(
    express: Rendered,
) -> None:
    for env in express.case.environments:
        app = environment(express, env).child("app")
        module, web = service(express, env)
        role = module.instances("resource", "aws_iam_role", "infrastructure")
        attached = module.instances("resource", "aws_iam_role_policy_attachment", "infrastructure")
        (trust,) = [
            s
            for s in _statements(module, "infrastructure_trust")
            if "sts:AssumeRole" in s["actions"]
        ]
        assert web.argument("infrastructure_role_arn") == role.get("arn")
        assert attached.argument("policy_arn") == INFRASTRUCTURE_POLICY
        assert trust["principals"] == [{"type": "Service", "identifiers": ["ecs.amazonaws.com"]}]
        # No load balancer, CloudFront or ECS services of ours.
        assert [len(app.module_instances(m)) for m in ("edge", "ecs", "express")] == [0, 0, 1]
        assert app.output("cloudfront_distribution_id") is None


def _statements(module: Instance, name: str) -> list[dict[str, Any]]:
    return policy_statements(module.instances("data", "aws_iam_policy_document", name))


def test_media_is_served_by_presigned_s3_urls_without_cloudfront(express: Rendered) -> None:
    env = express.case.environments[0]
    container = web_request(express, env, "image")["containerDefinitions"][0]
    named = {item["name"] for item in container["environment"] + container["secrets"]}
    parameters = (
        environment(express, env)
        .child("app")
        .child("config")
        .instances("resource", "aws_ssm_parameter", "this")
    )
    cloudfront = {"AWS_S3_CUSTOM_DOMAIN", "AWS_CLOUDFRONT_KEY_ID", "AWS_CLOUDFRONT_KEY"}
    assert (named & cloudfront, set(parameters) & cloudfront) == (set(), set())
    assert "AWS_STORAGE_BUCKET_NAME" in named
    # What the package makes of that environment: private media, signed by S3 itself.
    env_values = {item["name"]: item["value"] for item in container["environment"]}
    media = storages({**env_values, "AWS_STORAGE_BUCKET_NAME": "shop-files"}, base_dir=Path("/app"))
    options = media["default"]["OPTIONS"]
    assert (
        options["querystring_auth"],
        options["custom_domain"],
        options.get("cloudfront_key"),
    ) == (
        True,
        None,
        None,
    )


def test_allowed_hosts_admit_the_host_name_express_mode_gives_the_service(
    express: Rendered,
) -> None:
    for env in express.case.environments:
        config = environment(express, env).child("app").child("config")
        parameters = config.instances("resource", "aws_ssm_parameter", "this")
        domain = (
            REQUIRED_ANSWERS["domain"]
            if env == "production"
            else f"{env}.{REQUIRED_ANSWERS['domain']}"
        )
        assert parameters["ALLOWED_HOSTS"].argument("value") == f"{domain},.ecs.{REGION}.on.aws"


# ----------------------------------------------------------------------------- deploys


def deploy_steps(rendered: Rendered) -> list[dict[str, Any]]:
    workflow = yaml.safe_load(
        (rendered.root / ".github/workflows/django-aws-deploy.yml").read_text()
    )
    (job,) = [
        job
        for job in workflow["jobs"].values()
        if any("Migrate" in str(s.get("name")) for s in job.get("steps", []))
    ]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_the_deploy_migrates_before_express_deploy_rolls_web(express: Rendered) -> None:
    steps = deploy_steps(express)
    names = [str(step.get("name", "")) for step in steps]
    migrate = next(i for i, name in enumerate(names) if name.startswith("Migrate"))
    (web,) = [i for i, name in enumerate(names) if name.startswith("Roll ")]
    assert migrate < web
    migrate_run, web_run = steps[migrate]["run"], steps[web]["run"]
    assert "django-aws ecs run-task" in migrate_run
    assert "deploy/ecs/migrate.json" in migrate_run
    command = " ".join(web_run.replace("\\\n", " ").split())
    assert command.startswith('django-aws ecs express-deploy deploy/ecs/web.json --image "$IMAGE"')
    assert '--cluster "$CLUSTER" --service "$CLUSTER-web"' in command
    assert "ecs deploy" not in web_run
    assert "ecs register deploy/ecs/web.json" not in web_run


def allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(
        s["effect"] == "Allow"
        and action in s["actions"]
        and any(fnmatch.fnmatchcase(arn, r) for r in s["resources"])
        for s in statements
    )


def test_the_deploy_role_may_update_and_follow_the_express_service_only(express: Rendered) -> None:
    for env in express.case.environments:
        oidc = environment(express, env).child("app").child("github_oidc")
        statements = policy_statements(oidc.instances("data", "aws_iam_policy_document", "deploy"))
        ecs = f"arn:aws:ecs:{REGION}:{express.case.account(env)}"
        ours = f"{ecs}:service/shop-{env}/shop-{env}-web"
        deployment = f"{ecs}:service-deployment/shop-{env}/shop-{env}-web/Hq9vbD1x"
        other = f"{ecs}:service/shop-other/shop-other-web"
        assert allowed(statements, "ecs:UpdateExpressGatewayService", ours)
        assert allowed(statements, "ecs:ListServiceDeployments", ours)
        assert allowed(statements, "ecs:DescribeServiceDeployments", deployment)
        assert not allowed(statements, "ecs:UpdateExpressGatewayService", other)


# ----------------------------------------------------------------------------- refusal


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"celery": True}, "Celery workers (celery)"),
        ({"celery": False, "server": "asgi", "channels": True}, "WebSockets (channels)"),
        (
            {"celery": False, "static_backend": "s3"},
            "CloudFront for static files (static_backend s3; answer whitenoise)",
        ),
    ],
    ids=["celery", "channels", "static-s3"],
)
def test_express_with_background_work_is_refused_in_one_line_writing_nothing(
    tmp_path: Path, answers: dict[str, Any], reason: str
) -> None:
    root = sample_copy(tmp_path)
    before = snapshot(root)
    with pytest.raises(ValueError, match=r"^Validation error") as refused:
        render(root, {**REQUIRED_ANSWERS, **answers, "compute": "express"})
    assert str(refused.value) == (
        "Validation error for question 'compute': Expected ecs: Express Mode runs one web "
        f"service, without {reason}; see docs/express.md."
    )
    assert snapshot(root) == before
