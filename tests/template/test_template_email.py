"""Email through SES as the template writes it (the `email` answer), on every answer set.

The task definitions, Terraform's parameters and the task role must agree: the containers
read exactly the senders and configuration set Terraform writes, the senders are addresses
of the identity's domain, and the task role may send as that identity, through that
configuration set, and do nothing else with SES. Terraform is evaluated from the HCL as it
would plan (support.terraform_eval); the real validators run in test_template_terraform.py.
"""

from __future__ import annotations

import fnmatch
import functools
from pathlib import Path
from typing import Any

import yaml
from support.template import REQUIRED_ANSWERS
from support.template_matrix import Rendered
from support.terraform_eval import Facts, Instance, policy_statements
from support.terraform_schema import TERRAFORM_DIR

from django_aws_settings.ops.repository.derived import package_extras

REGION = "eu-west-1"
DOMAIN = REQUIRED_ANSWERS["domain"]
EMAIL_VARIABLES = ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL", "AWS_SES_CONFIGURATION_SET")
EVENTS = {"BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY"}


def ses(rendered: Rendered) -> bool:
    return rendered.case.email == "ses"


def host(env: str) -> str:
    """The environment's host name: the domain in production, <env>.<domain> elsewhere."""
    return DOMAIN if env == "production" else f"{env}.{DOMAIN}"


@functools.cache
def environment(root: Path, name: str, account: str) -> Instance:
    return Instance.root_module(
        root / TERRAFORM_DIR / "environments" / name, Facts(account, REGION)
    )


def app(rendered: Rendered, env: str) -> Instance:
    return environment(rendered.root, env, rendered.case.account(env)).child("app")


def email_modules(instance: Instance) -> list[Instance]:
    """module.email's instances in the app module (count 0 or 1)."""
    count = instance.evaluate(instance.module.modules["email"].arguments["count"])
    return [instance.child("email")] * count


def statements(instance: Instance, name: str) -> list[dict[str, Any]]:
    document = instance.instances("data", "aws_iam_policy_document", name)
    documents = document if isinstance(document, list) else [document]
    return [s for d in documents for s in policy_statements(d)]


def ses_grants(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in found if any(a.startswith("ses:") for a in s["actions"])]


def containers(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {
        label: container
        for label, request in rendered.requests().items()
        for container in request["containerDefinitions"]
    }


# ------------------------------------------------------------------ task definitions


def test_every_container_names_ses_and_reads_the_senders_only_when_answered(
    rendered: Rendered,
) -> None:
    for label, container in containers(rendered).items():
        env = label.partition("@")[2]
        account = rendered.case.account(env)
        named = {item["name"]: item["value"] for item in container["environment"]}
        secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
        if not ses(rendered):
            assert "DJANGO_AWS_EMAIL" not in named, label
            assert not set(EMAIL_VARIABLES) & set(secrets), label
            continue
        assert named["DJANGO_AWS_EMAIL"] == "ses", label
        assert {name: secrets[name] for name in EMAIL_VARIABLES} == {
            name: f"arn:aws:ssm:{REGION}:{account}:parameter/shop/{env}/{name}"
            for name in EMAIL_VARIABLES
        }, label


def test_the_requirement_installs_django_ses_only_with_ses(rendered: Rendered) -> None:
    """The message after the copy names copier.yml's `package_extras` (derived, so not in
    the answers file): the same rule, from the recorded answers."""
    answers = yaml.safe_load((rendered.root / ".copier-answers.django-aws.yml").read_text())
    assert answers.get("email", "app") == rendered.case.email
    extras = package_extras(answers).split(",")
    assert ("ses" in extras) == ses(rendered)


# -------------------------------------------------------------------------- Terraform


def test_the_containers_read_exactly_the_parameters_terraform_writes(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        instance = app(rendered, env)
        config = instance.child("config")
        parameters = {
            p.get("name"): p
            for p in config.instances("resource", "aws_ssm_parameter", "this").values()
        }
        written = {name.rpartition("/")[2]: p.get("value") for name, p in parameters.items()}
        found = email_modules(instance)
        if not ses(rendered):
            assert found == []
            assert not set(EMAIL_VARIABLES) & set(written)
            continue
        (email,) = found
        sender = f"no-reply@{host(env)}"
        assert email.output("from_address") == sender
        assert {name: written[name] for name in EMAIL_VARIABLES} == {
            "DEFAULT_FROM_EMAIL": sender,
            "SERVER_EMAIL": sender,
            "AWS_SES_CONFIGURATION_SET": f"shop-{env}",
        }
        assert email.output("configuration_set_name") == f"shop-{env}"
        # ...and each is a parameter whose ARN a container names.
        named = {
            item["valueFrom"]
            for label, container in containers(rendered).items()
            if label.endswith(f"@{env}")
            for item in container["secrets"]
            if item["name"] in EMAIL_VARIABLES
        }
        assert named == {parameters[f"/shop/{env}/{name}"].get("arn") for name in EMAIL_VARIABLES}


def test_the_task_role_may_send_only_as_the_identity(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        instance = app(rendered, env)
        config = instance.child("config")
        # Nothing else in the stack grants an SES action.
        for name in ("task", "execution"):
            assert ses_grants(statements(config, name)) == [], name
        if not ses(rendered):
            assert email_modules(instance) == []
            continue
        (email,) = email_modules(instance)
        account = rendered.case.account(env)
        identity = f"arn:aws:ses:{REGION}:{account}:identity/{host(env)}"
        configuration_set = f"arn:aws:ses:{REGION}:{account}:configuration-set/shop-{env}"
        (send,) = statements(email, "send")
        assert send["effect"] == "Allow"
        assert set(send["actions"]) == {"ses:SendEmail", "ses:SendRawEmail"}
        assert set(send["resources"]) == {identity, configuration_set}
        assert send["conditions"] == [
            {"test": "StringLike", "variable": "ses:FromAddress", "values": [f"*@{host(env)}"]}
        ]
        # The sender Terraform hands the app passes that condition; another domain does not.
        (pattern,) = send["conditions"][0]["values"]
        assert fnmatch.fnmatchcase(email.output("from_address"), pattern)
        assert not fnmatch.fnmatchcase(f"no-reply@old-platform.{DOMAIN}", pattern)
        assert configuration_set == email.output("configuration_set_arn")
        # The policy is on the task role the web and worker task definitions run with.
        attached = email.instances("resource", "aws_iam_role_policy", "send")
        task_role = config.instances("resource", "aws_iam_role", "task")
        assert attached.get("role") == task_role.get("name") == f"shop-{env}-task"


def test_the_identity_is_the_environments_host_signed_with_easy_dkim(rendered: Rendered) -> None:
    if not ses(rendered):
        return
    for env in rendered.case.environments:
        (email,) = email_modules(app(rendered, env))
        identity = email.instances("resource", "aws_sesv2_email_identity", "this")
        assert identity.get("email_identity") == host(env)
        assert identity.get("configuration_set_name") == f"shop-{env}"
        dkim = email.instances("resource", "aws_route53_record", "dkim")
        assert len(dkim) == 3
        for record in dkim:
            assert record.get("type") == "CNAME"
            assert record.get("name").endswith(f"._domainkey.{host(env)}")
            (target,) = record.get("records")
            assert target.endswith(".dkim.amazonses.com")
        # The records go to the zone the environment names (terraform.tfvars), public.
        zone = email.instances("data", "aws_route53_zone", "this")
        assert zone.get("name") == app(rendered, env).var("hosted_zone_name")
        assert zone.get("private_zone") is False
        mail_from = email.instances(
            "resource", "aws_sesv2_email_identity_mail_from_attributes", "this"
        )
        assert mail_from.get("mail_from_domain") == f"mail.{host(env)}"
        mx = email.instances("resource", "aws_route53_record", "mail_from_mx")
        spf = email.instances("resource", "aws_route53_record", "mail_from_spf")
        assert (mx.get("name"), mx.get("records")) == (
            f"mail.{host(env)}",
            [f"10 feedback-smtp.{REGION}.amazonses.com"],
        )
        assert (spf.get("name"), spf.get("records")) == (
            f"mail.{host(env)}",
            ["v=spf1 include:amazonses.com ~all"],
        )


def test_bounces_and_complaints_reach_the_queue_and_only_from_this_configuration_set(
    rendered: Rendered,
) -> None:
    if not ses(rendered):
        return
    for env in rendered.case.environments:
        (email,) = email_modules(app(rendered, env))
        account = rendered.case.account(env)
        configuration_set = email.output("configuration_set_arn")
        topic = email.instances("resource", "aws_sns_topic", "events")
        queue = email.instances("resource", "aws_sqs_queue", "events")
        key = email.instances("resource", "aws_kms_key", "events")

        (destination,) = email.instances(
            "resource", "aws_sesv2_configuration_set_event_destination", "events"
        ).block.nested("event_destination")
        owner = email.instances(
            "resource", "aws_sesv2_configuration_set_event_destination", "events"
        )
        assert owner.get("configuration_set_name") == f"shop-{env}"
        assert set(email.evaluate(destination.arguments["matching_event_types"])) == EVENTS
        (sns,) = destination.nested("sns_destination")
        assert email.evaluate(sns.arguments["topic_arn"]) == topic.get("arn")

        # The topic is encrypted with the module's key, which SES may use for this set only.
        assert topic.get("kms_master_key_id") == key.get("arn")
        assert key.get("enable_key_rotation") is True
        source_conditions = [
            {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account]},
            {"test": "ArnLike", "variable": "aws:SourceArn", "values": [configuration_set]},
        ]
        (ses_key,) = [
            s for s in statements(email, "events_key") if s["sid"] == "SesPublishesEvents"
        ]
        assert ses_key["principals"] == [{"type": "Service", "identifiers": ["ses.amazonaws.com"]}]
        assert ses_key["conditions"] == source_conditions
        (publish,) = statements(email, "topic")
        assert (publish["actions"], publish["resources"]) == (["sns:Publish"], [topic.get("arn")])
        assert publish["principals"] == [{"type": "Service", "identifiers": ["ses.amazonaws.com"]}]
        assert publish["conditions"] == source_conditions

        # The queue: encrypted, subscribed raw, and only this topic may send to it.
        assert queue.get("sqs_managed_sse_enabled") is True
        subscription = email.instances("resource", "aws_sns_topic_subscription", "queue")
        assert (subscription.get("topic_arn"), subscription.get("protocol")) == (
            topic.get("arn"),
            "sqs",
        )
        assert subscription.get("endpoint") == queue.get("arn")
        assert subscription.get("raw_message_delivery") is True
        (deliver,) = statements(email, "queue")
        assert (deliver["actions"], deliver["resources"]) == (
            ["sqs:SendMessage"],
            [queue.get("arn")],
        )
        assert deliver["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
        assert deliver["conditions"] == [
            {"test": "ArnEquals", "variable": "aws:SourceArn", "values": [topic.get("arn")]}
        ]
        policy = email.instances("resource", "aws_sqs_queue_policy", "events")
        assert policy.get("queue_url") == queue.get("id")


def test_the_generated_docs_say_how_to_leave_the_sandbox(rendered: Rendered) -> None:
    runbook = (rendered.root / "docs" / "aws" / "cutover-runbook.md").read_text()
    readme = (rendered.root / "docs" / "aws" / "README.md").read_text()
    assert ("put-account-details --production-access-enabled" in runbook) == ses(rendered)
    assert ("`DJANGO_AWS_EMAIL`" in readme) == ses(rendered)


def test_the_pull_request_check_runs_with_the_email_the_tasks_get(rendered: Rendered) -> None:
    """check --deploy --fail-level WARNING (W016) sees the backend production will use."""
    document = yaml.safe_load(
        (rendered.root / ".github" / "workflows" / "django-aws-pull-request.yml").read_text()
    )
    (check,) = [
        step
        for step in document["jobs"]["test"]["steps"]
        if "check --deploy" in str(step.get("run", ""))
    ]
    assert check["env"].get("DJANGO_AWS_EMAIL") == ("ses" if ses(rendered) else None)
