"""scheduler: eventbridge. No beat service; the sample project's CELERY_BEAT_SCHEDULE is
exported by the real `manage.py export_schedule` in the rendered repository, and the
environments' Terraform (evaluated as it plans, support.terraform_eval) makes exactly one
EventBridge schedule per entry, delivered per broker, by a role that may do only that.
The pull-request workflow's own step fails on a stale export and passes on a fresh one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from support.template_matrix import Rendered
from support.terraform_eval import Facts, Instance, ResourceInstance, policy_statements

EXPORT = "infra/terraform/schedules.json"
REGION = "eu-west-1"  # copier.yml's default


def eventbridge(rendered: Rendered) -> bool:
    case = rendered.case
    return case.celery and case.celery_beat and case.scheduler == "eventbridge"


def environment_app(rendered: Rendered, env: str) -> Instance:
    root = rendered.root / "infra" / "terraform" / "environments" / env
    return Instance.root_module(root, Facts(rendered.case.account(env), REGION)).child("app")


def export(rendered: Rendered) -> dict[str, Any]:
    """What the user runs after the copy: the real command, with the overlay settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    env["DJANGO_SETTINGS_MODULE"] = "shop.settings_aws"
    done = subprocess.run(
        [sys.executable, "manage.py", "export_schedule", "--app", "shop"],
        cwd=rendered.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported: dict[str, Any] = json.loads((rendered.root / EXPORT).read_text())
    return exported


def schedules_of(app: Instance) -> dict[str, ResourceInstance]:
    module = app.child("schedules")
    found: dict[str, ResourceInstance] = module.instances(
        "resource", "aws_scheduler_schedule", "this"
    )
    return found


def target_of(schedule: ResourceInstance) -> dict[str, Any]:
    ((target, scope),) = schedule.nested_blocks("target")
    value = {
        name: schedule.owner.evaluate(target.arguments[name], scope)
        for name in ("arn", "role_arn", "input")
    }
    value["input"] = json.loads(value["input"])
    return value


def test_eventbridge_replaces_the_beat_service_everywhere(rendered: Rendered) -> None:
    case, root = rendered.case, rendered.root
    deploy = (root / ".github/workflows/django-aws-deploy.yml").read_text()
    compose = yaml.safe_load((root / "deploy/compose.yaml").read_text())
    assert (root / "deploy/ecs/beat.json").exists() == case.beat_service
    assert ("Roll beat" in deploy) == case.beat_service
    assert ("beat" in compose["services"]) == case.beat_service
    assert (root / EXPORT).exists() == eventbridge(rendered)
    for env in case.environments:
        app = environment_app(rendered, env)
        assert len(app.module_instances("schedules")) == (1 if eventbridge(rendered) else 0)
        assert app.child("ecs").var("beat") == case.beat_service
    if eventbridge(rendered):
        # The template seeds a placeholder that Terraform refuses to plan from.
        assert json.loads((root / EXPORT).read_text()) == {
            "generated_by": None,
            "schedules": {},
            "timezone": "UTC",
        }


def pull_request_export_step(rendered: Rendered) -> dict[str, Any]:
    workflow = yaml.safe_load(
        (rendered.root / ".github/workflows/django-aws-pull-request.yml").read_text()
    )
    steps = [s for s in workflow["jobs"]["test"]["steps"] if "export_schedule" in s.get("run", "")]
    assert len(steps) == (1 if eventbridge(rendered) else 0)
    return steps[0] if steps else {}


def run_step(
    rendered: Rendered, step: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """The step's script in bash -e, as GitHub's runner runs `run:` (env and RUNNER_TEMP)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    env.update({k: str(v) for k, v in step.get("env", {}).items()})
    env["RUNNER_TEMP"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `python`
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=rendered.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_pull_request_fails_on_a_stale_export_and_passes_on_a_fresh_one(
    rendered: Rendered, tmp_path: Path
) -> None:
    step = pull_request_export_step(rendered)
    if not step:
        return
    placeholder = (rendered.root / EXPORT).read_text()
    try:
        stale = run_step(rendered, step, tmp_path)
        assert stale.returncode == 1
        assert (
            "::error::infra/terraform/schedules.json is stale: run python manage.py "
            "export_schedule and commit it"
        ) in stale.stdout
        export(rendered)
        fresh = run_step(rendered, step, tmp_path)
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    finally:
        (rendered.root / EXPORT).write_text(placeholder)


def test_each_exported_entry_is_one_schedule_delivered_as_the_broker_needs(
    rendered: Rendered,
) -> None:
    if not eventbridge(rendered):
        return
    case = rendered.case
    placeholder = (rendered.root / EXPORT).read_text()
    try:
        exported = export(rendered)
        assert {key: entry["expression"] for key, entry in exported["schedules"].items()} == {
            "heartbeat": "rate(1 minute)",  # the sample's 60.0 seconds
            "weekday-report": "cron(30 7 ? * 2-6 *)",  # mon-fri
        }
        for env in case.environments:
            app = environment_app(rendered, env)
            schedules = schedules_of(app)
            assert set(schedules) == set(exported["schedules"])
            worker = rendered.request("worker", env)
            for key, schedule in schedules.items():
                entry = exported["schedules"][key]
                assert schedule.argument("group_name") == f"shop-{env}"
                assert schedule.argument("schedule_expression") == entry["expression"]
                assert schedule.argument("schedule_expression_timezone") == exported["timezone"]
                ((window, scope),) = schedule.nested_blocks("flexible_time_window")
                assert schedule.owner.evaluate(window.arguments["mode"], scope) == "OFF"
                jobs = app.var("background_jobs")
                assert schedule.argument("state") == ("ENABLED" if jobs else "DISABLED")
                target = target_of(schedule)
                assert (
                    target["role_arn"]
                    == f"arn:aws:iam::{case.account(env)}:role/shop-{env}-scheduler"
                )
                if case.sqs:
                    urls = app.child("queues").output("queue_urls")
                    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
                    assert target["input"] == {
                        "QueueUrl": urls[entry["queue"]],
                        "MessageBody": entry["sqs_message_body"],
                    }
                else:
                    request = target["input"]
                    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:ecs:runTask"
                    # The first worker's family: its latest revision is the deployed image.
                    assert request["taskDefinition"] == worker["family"]
                    assert (
                        request["cluster"]
                        == f"arn:aws:ecs:{REGION}:{case.account(env)}:cluster/shop-{env}"
                    )
                    ((override),) = request["overrides"]["containerOverrides"]
                    containers = {c["name"] for c in worker["containerDefinitions"]}
                    assert override["name"] in containers
                    assert override["command"] == [
                        "python", "manage.py", "enqueue", entry["name"], "--app", "shop",
                    ]  # fmt: skip
    finally:
        (rendered.root / EXPORT).write_text(placeholder)


def test_the_scheduler_role_may_do_exactly_what_its_target_needs(rendered: Rendered) -> None:
    if not eventbridge(rendered):
        return
    case = rendered.case
    placeholder = (rendered.root / EXPORT).read_text()
    try:
        exported = export(rendered)
        for env in case.environments:
            app = environment_app(rendered, env)
            module = app.child("schedules")
            (trust,) = policy_statements(
                module.instances("data", "aws_iam_policy_document", "trust")
            )
            assert trust["principals"] == [
                {"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}
            ]
            assert {
                "test": "StringEquals",
                "variable": "aws:SourceAccount",
                "values": [case.account(env)],
            } in trust["conditions"]
            statements = policy_statements(
                module.instances("data", "aws_iam_policy_document", "deliver")
            )
            dead_letters = f"arn:aws:sqs:{REGION}:{case.account(env)}:shop-{env}-schedules-dlq"
            granted = {
                (action, resource)
                for s in statements
                for action in s["actions"]
                for resource in s["resources"]
            }
            if case.sqs:
                arns = app.child("queues").output("queue_arns")
                queues = {entry["queue"] for entry in exported["schedules"].values()}
                assert granted == {("sqs:SendMessage", dead_letters)} | {
                    ("sqs:SendMessage", arns[queue]) for queue in queues
                }
                assert all(s["conditions"] == [] for s in statements)
                continue
            worker = rendered.request("worker", env)
            family = (
                f"arn:aws:ecs:{REGION}:{case.account(env)}:task-definition/{worker['family']}:*"
            )
            roles = {worker["taskRoleArn"], worker["executionRoleArn"]}
            assert granted == {("sqs:SendMessage", dead_letters), ("ecs:RunTask", family)} | {
                ("iam:PassRole", role) for role in roles
            }
            conditions = {s["sid"]: s["conditions"] for s in statements}
            cluster = f"arn:aws:ecs:{REGION}:{case.account(env)}:cluster/shop-{env}"
            assert conditions["EnqueueTask"] == [
                {"test": "ArnEquals", "variable": "ecs:cluster", "values": [cluster]}
            ]
            assert conditions["EnqueueTaskRoles"] == [
                {
                    "test": "StringEquals",
                    "variable": "iam:PassedToService",
                    "values": ["ecs-tasks.amazonaws.com"],
                }
            ]
    finally:
        (rendered.root / EXPORT).write_text(placeholder)
