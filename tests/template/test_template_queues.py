"""broker=sqs: modules/queues, the task role's SQS access, the task definitions' broker
variables, and ElastiCache only where something needs Redis. Parsed from every rendered
answer set (the Redis sets assert the absence) and checked against each other: the queue
URLs Terraform stores are what the package's celery_settings() accepts for the prefix the
task definitions name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.template import placeholder_values, task_definition_files
from support.template_matrix import Rendered
from support.terraform_eval import Facts, Instance, ResourceInstance, policy_statements
from support.terraform_schema import TERRAFORM_DIR

from django_aws_settings.ops.ecs import render_task_definition
from django_aws_settings.ops.repository.derived import package_extras
from django_aws_settings.settings.celery import (
    DEFAULT_VISIBILITY_TIMEOUT,
    SQS_WAIT_TIME_SECONDS,
    celery_settings,
)

REGION = "eu-west-1"
# Exactly what kombu calls with predefined queues (tests/settings/test_celery_sqs.py
# records a real worker's calls against moto): no ListQueues, GetQueueUrl or CreateQueue.
TASK_ROLE_SQS_ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]


def account_of(root: Path, env: str) -> str:
    answers = yaml.safe_load((root / ".copier-answers.django-aws.yml").read_text())
    if not answers.get("account_per_environment"):
        return str(answers["aws_account_id"])
    return dict(p.split("=") for p in answers["environment_account_ids"].split(","))[env]


def app(rendered: Rendered, env: str) -> Instance:
    root = rendered.root / TERRAFORM_DIR / "environments" / env
    return Instance.root_module(root, Facts(account_of(rendered.root, env), REGION)).child("app")


def containers(rendered: Rendered, env: str) -> dict[str, dict[str, Any]]:
    """Each task definition's app container by family, ${environment} etc. filled in."""
    found = {}
    for role, path in task_definition_files(rendered.root).items():
        for queue in rendered.case.queues if role == "worker" else (None,):
            values = placeholder_values(role, env, queue, rendered.case.account(env))
            request = render_task_definition(path, values)
            found[request["family"]] = request["containerDefinitions"][0]
    return found


def environment_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["environment"]}


def secrets_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["valueFrom"] for item in container["secrets"]}


def sqs_only(rendered: Rendered) -> None:
    if not rendered.case.sqs:
        pytest.skip("the Redis broker: tests/template/test_template_terraform.py")


def queue_resources(rendered: Rendered, env: str) -> tuple[Instance, dict[str, ResourceInstance]]:
    queues = app(rendered, env).child("queues")
    return queues, queues.instances("resource", "aws_sqs_queue", "this")


# ---------------------------------------------------------------------------- modules


def test_queues_module_and_elasticache_exist_exactly_when_answered(rendered: Rendered) -> None:
    case = rendered.case
    for env in case.environments:
        instance = app(rendered, env)
        assert len(instance.module_instances("queues")) == (1 if case.sqs else 0)
        assert len(instance.module_instances("cache")) == (1 if case.elasticache else 0)


def test_one_queue_and_dead_letter_queue_per_celery_queue(rendered: Rendered) -> None:
    sqs_only(rendered)
    for env in rendered.case.environments:
        module, queues = queue_resources(rendered, env)
        dead = module.instances("resource", "aws_sqs_queue", "dead_letter")
        assert set(queues) == set(dead) == set(rendered.case.queues)
        max_receive = module.var("max_receive_count")
        for name, queue in queues.items():
            assert queue.argument("name") == f"shop-{env}-{name}"
            assert dead[name].argument("name") == f"shop-{env}-{name}-dlq"
            assert json.loads(queue.argument("redrive_policy")) == {
                "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{rendered.case.account(env)}:"
                f"shop-{env}-{name}-dlq",
                "maxReceiveCount": max_receive,
            }
            # The package's long poll and visibility timeout: kombu never creates these
            # queues, so their own attributes are what SQS applies.
            assert queue.argument("receive_wait_time_seconds") == SQS_WAIT_TIME_SECONDS
            assert queue.argument("visibility_timeout_seconds") == DEFAULT_VISIBILITY_TIMEOUT
            assert queue.argument("sqs_managed_sse_enabled") is True
            assert dead[name].argument("sqs_managed_sse_enabled") is True
            assert dead[name].argument("message_retention_seconds") == 14 * 86_400
        allowed = module.instances("resource", "aws_sqs_queue_redrive_allow_policy", "dead_letter")
        assert {
            name: json.loads(policy.argument("redrive_allow_policy"))["sourceQueueArns"]
            for name, policy in allowed.items()
        } == {name: [queue.get("arn")] for name, queue in queues.items()}


def test_max_receive_count_is_stated_and_small(rendered: Rendered) -> None:
    sqs_only(rendered)
    module, _ = queue_resources(rendered, rendered.case.environments[0])
    assert 3 <= module.var("max_receive_count") <= 10


# -------------------------------------------------------------------------------- IAM


def test_task_role_gets_exactly_the_five_actions_on_exactly_its_queues(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        instance = app(rendered, env)
        config = instance.child("config")
        # Every SQS grant anywhere in config (task, migrate, execution, publisher roles).
        for name in config.module.data.get("aws_iam_policy_document", {}):
            document = config.instances("data", "aws_iam_policy_document", name)
            for d in document if isinstance(document, list) else [document]:
                actions = [a for s in policy_statements(d) for a in s["actions"]]
                assert not [a for a in actions if a.startswith("sqs:")], name
        if not rendered.case.sqs:
            continue
        module, queues = queue_resources(rendered, env)
        (statement,) = policy_statements(
            module.instances("data", "aws_iam_policy_document", "task")
        )
        assert statement["effect"] == "Allow"
        assert statement["actions"] == TASK_ROLE_SQS_ACTIONS
        assert sorted(statement["resources"]) == sorted(q.get("arn") for q in queues.values())
        attached = module.instances("resource", "aws_iam_role_policy", "task")
        task_role = config.instances("resource", "aws_iam_role", "task")
        assert attached.argument("role") == task_role.argument("name")
        # ...the role every task definition names, migrate's aside.
        for role, path in task_definition_files(rendered.root).items():
            text = path.read_text()
            expected = "migrate" if role == "migrate" else "task"
            assert re.search(
                rf'"taskRoleArn": "[^"]*:role/shop-\$\{{environment\}}-{expected}"', text
            )


# ------------------------------------------------------------- task definitions vs Terraform


def test_task_definitions_name_the_queues_terraform_creates(rendered: Rendered) -> None:
    """Terraform's CELERY_SQS_QUEUE_URLS and the task definitions' prefix, read together by
    the package itself: every queue a worker consumes has a URL ending in prefix + queue."""
    for env in rendered.case.environments:
        instance = app(rendered, env)
        config = instance.child("config")
        parameters = config.instances("resource", "aws_ssm_parameter", "this")
        name = f"/shop/{env}/CELERY_SQS_QUEUE_URLS"
        stored = {p.argument("name"): p for p in parameters.values()}
        for family, container in containers(rendered, env).items():
            environ, secrets = environment_of(container), secrets_of(container)
            assert ("REDIS_URL" in secrets) == rendered.case.elasticache, family
            assert ("CACHE_URL" in environ) == (not rendered.case.elasticache), family
            if not rendered.case.elasticache:
                assert environ["CACHE_URL"] == "locmem://"
            if not rendered.case.sqs:
                assert "CELERY_BROKER_URL" not in environ, family
                assert "CELERY_SQS_QUEUE_URLS" not in secrets, family
                continue
            assert environ["CELERY_BROKER_URL"] == "sqs://"
            assert environ["CELERY_SQS_QUEUE_PREFIX"] == f"shop-{env}-"
            assert environ["CELERY_QUEUES"] == ",".join(rendered.case.queues)
            assert secrets["CELERY_SQS_QUEUE_URLS"].endswith(f":parameter{name}")
            urls = stored[name].argument("value")
            settings = celery_settings(
                {**environ, "CELERY_SQS_QUEUE_URLS": urls, "AWS_REGION": REGION}
            )
            predefined = settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["predefined_queues"]
            _, queues = queue_resources(rendered, env)
            assert predefined == {
                q.argument("name"): {"url": q.get("url")} for q in queues.values()
            }
            backend = rendered.case.celery_result_backend
            results = environ.get("CELERY_RESULT_BACKEND") or secrets.get("CELERY_RESULT_BACKEND")
            assert (
                results
                == {
                    "none": None,
                    "django-db": "django-db",
                    "redis": secrets.get("REDIS_URL"),
                }[backend]
            )
        assert (name in stored) == rendered.case.sqs


def test_the_install_line_names_the_sqs_extra(rendered: Rendered) -> None:
    """The install line the message after the copy prints: copier.yml's derived
    `package_extras`, the same rule from the recorded answers."""
    answers = yaml.safe_load((rendered.root / ".copier-answers.django-aws.yml").read_text())
    extras = set(package_extras(answers).split(","))
    case = rendered.case
    assert ("sqs" in extras) == case.sqs
    assert ("redis" in extras) == case.elasticache
    assert ("celery" in extras) == (case.celery and not case.sqs)


# ------------------------------------------------------------------ scaling and alarms


def test_workers_scale_on_sqs_visible_messages_without_a_publisher(rendered: Rendered) -> None:
    sqs_only(rendered)
    for env in rendered.case.environments:
        instance = app(rendered, env)
        ecs = instance.child("ecs")
        assert ecs.instances("resource", "aws_ecs_service", "queue_metrics") == []
        assert ecs.instances("resource", "aws_ecs_task_definition", "queue_metrics") == []
        _, queues = queue_resources(rendered, env)
        for queue, scaling in ecs.instances(
            "resource", "aws_appautoscaling_policy", "worker_backlog"
        ).items():
            evaluate, scope = scaling.owner.evaluate, scaling.scope
            (configuration,) = scaling.block.nested("target_tracking_scaling_policy_configuration")
            (custom,) = configuration.nested("customized_metric_specification")
            (depth,) = [
                m for m in custom.nested("metrics") if evaluate(m.arguments["id"], scope) == "depth"
            ]
            (stat,) = depth.nested("metric_stat")
            (metric,) = stat.nested("metric")
            assert evaluate(metric.arguments["namespace"], scope) == "AWS/SQS"
            assert (
                evaluate(metric.arguments["metric_name"], scope)
                == "ApproximateNumberOfMessagesVisible"
            )
            assert {
                evaluate(d.arguments["name"], scope): evaluate(d.arguments["value"], scope)
                for d in metric.nested("dimensions")
            } == {"QueueName": queues[queue].argument("name")}
        # The Redis path's depth alarms read the publisher's metric: none with SQS.
        observability = instance.child("observability")
        assert (
            observability.instances("resource", "aws_cloudwatch_metric_alarm", "queue_depth") == {}
        )


def test_dead_letters_and_old_messages_alarm_the_operators(rendered: Rendered) -> None:
    sqs_only(rendered)
    for env in rendered.case.environments:
        instance = app(rendered, env)
        module, queues = queue_resources(rendered, env)
        topic = instance.child("observability").output("alarm_topic_arn")
        dead = module.instances("resource", "aws_sqs_queue", "dead_letter")
        alarms = {
            name: module.instances("resource", "aws_cloudwatch_metric_alarm", name)
            for name in ("dead_letters", "oldest_message", "depth")
        }
        for queue in rendered.case.queues:
            dlq, oldest = alarms["dead_letters"][queue], alarms["oldest_message"][queue]
            assert (
                dlq.argument("metric_name"),
                dlq.argument("dimensions"),
                dlq.argument("comparison_operator"),
                dlq.argument("threshold"),
            ) == (
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": dead[queue].argument("name")},
                "GreaterThanThreshold",
                0,
            )
            assert oldest.argument("metric_name") == "ApproximateAgeOfOldestMessage"
            assert oldest.argument("dimensions") == {"QueueName": queues[queue].argument("name")}
            for alarm in (dlq, oldest, alarms["depth"][queue]):
                assert alarm.argument("namespace") == "AWS/SQS"
                assert alarm.argument("alarm_actions") == [topic]
