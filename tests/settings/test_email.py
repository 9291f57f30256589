"""Email through SES: configure() writes django-ses's settings from the environment, Django's
send_mail reaches moto's SES v2 through real boto3, bad input names its variable, and W016
warns when production mail would never leave the task."""

from __future__ import annotations

import json
import urllib.request
from email import message_from_string
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core import mail
from django.test import override_settings
from support.moto_server import Aws

from django_aws_settings.settings.checks import check_email_backend
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.email import (
    SES_BACKEND,
    SOURCE_VARIABLES,
    email_settings,
)
from django_aws_settings.settings.errors import ConfigError

pytestmark = pytest.mark.usefixtures("django_settings")

DOMAIN = "shop.example.com"
SENDER = f"Shop <no-reply@{DOMAIN}>"
CONFIGURATION_SET = "shop-production"
EMAIL_KEYS = (
    "EMAIL_BACKEND",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
    "USE_SES_V2",
    "AWS_SES_REGION_NAME",
    "AWS_SES_REGION_ENDPOINT_URL",
    "AWS_SES_CONFIGURATION_SET",
    "AWS_SES_ACCESS_KEY_ID",
    "AWS_SES_SECRET_ACCESS_KEY",
    "AWS_SES_SESSION_TOKEN",
    "AWS_SES_AUTO_THROTTLE",
)
PRODUCTION = {"ENVIRONMENT": "production", "ASGI": False}
ANYMAIL = "anymail.backends.ses.EmailBackend"


def module_namespace(base_dir: Path, **settings: Any) -> dict[str, Any]:
    """A settings module from the old platform: its own sender and S3 keys."""
    return {
        "BASE_DIR": base_dir,
        "DEFAULT_FROM_EMAIL": "webmaster@old-platform.example.org",
        "AWS_ACCESS_KEY_ID": "AKIAOLDPLATFORMKEY00",
        "AWS_SECRET_ACCESS_KEY": "old-platform-secret",
        **settings,
    }


def email_of(namespace: dict[str, Any]) -> dict[str, Any]:
    """The settings django-ses reads, the module's old AWS keys included."""
    keys = (*EMAIL_KEYS, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return {key: namespace[key] for key in keys if key in namespace}


def sent_messages(aws: Aws) -> list[dict[str, Any]]:
    """What moto's SES kept of each raw message (source, destinations, raw_data)."""
    url = f"{aws.endpoint_url}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback moto)
        data = json.load(response)
    return list(data["ses"]["RawMessage"])


# -------------------------------------------------------------------- through moto's SES


def test_send_mail_reaches_ses_as_the_verified_identity_with_the_configuration_set(
    aws: Aws, tmp_path: Path
) -> None:
    sesv2 = aws.client("sesv2")
    sesv2.create_email_identity(EmailIdentity=DOMAIN)
    sesv2.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    namespace = module_namespace(tmp_path)
    configure(
        namespace,
        aws.environ(
            DJANGO_AWS_EMAIL="ses",
            DEFAULT_FROM_EMAIL=SENDER,
            AWS_SES_CONFIGURATION_SET=CONFIGURATION_SET,
        ),
    )
    aws.requests.reset()

    with override_settings(**email_of(namespace)):
        sent = mail.send_mail("Your order", "It ships today.", None, ["buyer@example.net"])

    assert sent == 1
    (message,) = sent_messages(aws)
    assert message["source"] == SENDER
    assert "buyer@example.net" in message["destinations"]
    headers = message_from_string(message["raw_data"])
    assert headers["Subject"] == "Your order"
    assert headers["From"] == SENDER  # DEFAULT_FROM_EMAIL from the environment, not the module's
    assert headers["X-SES-CONFIGURATION-SET"] == CONFIGURATION_SET
    # Exactly one call, to SES v2 (REST: the operation is its method and path), and no
    # GetAccount: the throttle that would need ses:GetAccount is off.
    send = "POST /v2/email/outbound-emails"
    assert aws.requests.operations() == {send: 1}
    (call,) = aws.requests.calls(send, service="ses")
    assert call.params["FromEmailAddress"] == SENDER
    assert call.params["Destination"] == {"ToAddresses": ["buyer@example.net"]}


def test_ses_uses_the_default_credential_chain_not_the_modules_old_keys(tmp_path: Path) -> None:
    """On ECS the default chain is the task role, which Terraform lets send as the identity."""
    from django_ses import SESBackend

    namespace = module_namespace(tmp_path)
    configure(namespace, {"DJANGO_AWS_EMAIL": "ses", "AWS_REGION": "eu-west-1"})
    with override_settings(**email_of(namespace)):
        backend = SESBackend()
    assert (backend._access_key_id, backend._access_key, backend._session_token) == (None,) * 3
    assert backend._use_ses_v2 is True
    assert backend._throttle is None


def test_ses_refuses_a_sender_outside_the_verified_identity(aws: Aws, tmp_path: Path) -> None:
    """Why the from-address comes from Terraform: SES sends only as a verified identity."""
    aws.client("sesv2").create_email_identity(EmailIdentity=DOMAIN)
    namespace = module_namespace(tmp_path)
    configure(namespace, aws.environ(DJANGO_AWS_EMAIL="ses"))

    with override_settings(**email_of(namespace)), pytest.raises(ClientError) as refused:
        mail.send_mail("Hello", "Body", None, ["buyer@example.net"])

    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert sent_messages(aws) == []


# ------------------------------------------------------------------------- precedence


def test_nothing_is_written_without_an_email_variable(tmp_path: Path) -> None:
    namespace = module_namespace(tmp_path, EMAIL_BACKEND="anymail.backends.postmark.EmailBackend")
    configure(namespace, {})
    assert namespace["EMAIL_BACKEND"] == "anymail.backends.postmark.EmailBackend"
    assert namespace["DEFAULT_FROM_EMAIL"] == "webmaster@old-platform.example.org"
    assert not {"USE_SES_V2", "AWS_SES_REGION_NAME", "SERVER_EMAIL"} & set(namespace)


def test_ses_keeps_the_modules_sender_and_configuration_set_unless_given(tmp_path: Path) -> None:
    def per_message(message: Any, **dkim: Any) -> str:
        return "transactional"

    namespace = module_namespace(tmp_path, AWS_SES_CONFIGURATION_SET=per_message)
    configure(namespace, {"DJANGO_AWS_EMAIL": "SES", "AWS_REGION": "eu-west-1"})
    assert {key: namespace[key] for key in EMAIL_KEYS if key in namespace} == {
        "EMAIL_BACKEND": SES_BACKEND,
        "DEFAULT_FROM_EMAIL": "webmaster@old-platform.example.org",
        "USE_SES_V2": True,
        "AWS_SES_REGION_NAME": "eu-west-1",
        "AWS_SES_REGION_ENDPOINT_URL": None,  # boto3 resolves it
        "AWS_SES_CONFIGURATION_SET": per_message,
        "AWS_SES_ACCESS_KEY_ID": None,
        "AWS_SES_SECRET_ACCESS_KEY": None,
        "AWS_SES_SESSION_TOKEN": None,
        "AWS_SES_AUTO_THROTTLE": None,
    }


def test_ses_region_of_its_own_wins_over_the_stacks() -> None:
    built = email_settings(
        {"DJANGO_AWS_EMAIL": "ses", "AWS_REGION": "eu-west-1", "AWS_SES_REGION_NAME": "us-east-1"}
    )
    assert built["AWS_SES_REGION_NAME"] == "us-east-1"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DJANGO_AWS_EMAIL": "console"}, "django.core.mail.backends.console.EmailBackend"),
        ({"DJANGO_AWS_EMAIL": "app"}, None),
        (
            {"EMAIL_BACKEND": "anymail.backends.ses.EmailBackend"},
            "anymail.backends.ses.EmailBackend",
        ),
    ],
    ids=["console", "app", "dotted-path"],
)
def test_other_backends_are_written_as_named(environ: dict[str, str], expected: str | None) -> None:
    built = email_settings(environ)
    assert built.get("EMAIL_BACKEND") == expected
    assert "USE_SES_V2" not in built


def test_every_variable_read_is_a_source_of_the_email_part() -> None:
    """configure() treats the part as given when any of these is set (docs/email.md lists them)."""
    assert set(SOURCE_VARIABLES) == {
        "DJANGO_AWS_EMAIL",
        "EMAIL_BACKEND",
        "DEFAULT_FROM_EMAIL",
        "SERVER_EMAIL",
        "AWS_SES_REGION_NAME",
        "AWS_SES_CONFIGURATION_SET",
    }


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("environ", "variable", "expected"),
    [
        ({"DJANGO_AWS_EMAIL": "sendgrid"}, "DJANGO_AWS_EMAIL", "expected one of app, ses, smtp"),
        (
            {
                "DJANGO_AWS_EMAIL": "ses",
                "AWS_REGION": "eu-west-1",
                "DEFAULT_FROM_EMAIL": "no-reply",
            },
            "DEFAULT_FROM_EMAIL",
            "expected an email address",
        ),
        ({"SERVER_EMAIL": "Shop <shop.example.com>"}, "SERVER_EMAIL", "expected an email address"),
        (
            {"DJANGO_AWS_EMAIL": "ses", "EMAIL_BACKEND": SES_BACKEND},
            "EMAIL_BACKEND",
            "set one of them",
        ),
        ({"EMAIL_BACKEND": "ses"}, "EMAIL_BACKEND", "expected the dotted path"),
        (
            {
                "DJANGO_AWS_EMAIL": "ses",
                "AWS_REGION": "eu-west-1",
                "AWS_SES_CONFIGURATION_SET": "shop production",
            },
            "AWS_SES_CONFIGURATION_SET",
            "expected an SES configuration set name",
        ),
        (
            {"AWS_SES_CONFIGURATION_SET": CONFIGURATION_SET},
            "AWS_SES_CONFIGURATION_SET",
            "email does not go through SES",
        ),
        ({"DJANGO_AWS_EMAIL": "ses"}, "AWS_SES_REGION_NAME", "is required"),
    ],
    ids=[
        "unknown-choice",
        "sender-without-domain",
        "server-email-without-at",
        "both-names",
        "choice-in-backend",
        "configuration-set-with-space",
        "configuration-set-without-ses",
        "no-region",
    ],
)
def test_bad_input_names_the_variable_and_writes_nothing(
    tmp_path: Path, environ: dict[str, str], variable: str, expected: str
) -> None:
    namespace = module_namespace(tmp_path)
    before = dict(namespace)
    with pytest.raises(ConfigError) as raised:
        configure(namespace, environ)
    assert [(p.name, expected in p.message) for p in raised.value.problems] == [(variable, True)]
    assert namespace == before


def test_a_sender_from_a_reference_is_not_quoted() -> None:
    from django_aws_settings.settings.env import Reference, ResolvedEnviron

    environ = ResolvedEnviron(
        {"DEFAULT_FROM_EMAIL": "not-an-address"},
        {"DEFAULT_FROM_EMAIL": Reference("ssm", "/shop/production/DEFAULT_FROM_EMAIL", None)},
    )
    with pytest.raises(ConfigError) as raised:
        email_settings(environ)
    assert "not-an-address" not in str(raised.value)
    assert "/shop/production/DEFAULT_FROM_EMAIL" in str(raised.value)


# --------------------------------------------------------------------------- W016


@pytest.mark.parametrize(
    ("settings", "warned"),
    [
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, True),
        ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, True),
        ({"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}, True),
        ({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}, True),
        (
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "localhost",
            },
            True,
        ),
        (
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "smtp.postmarkapp.com",
            },
            False,
        ),
        ({"EMAIL_BACKEND": SES_BACKEND}, False),
    ],
    ids=["console", "locmem", "dummy", "smtp-default-host", "smtp-localhost", "smtp-host", "ses"],
)
def test_w016_production_mail_that_never_leaves_the_task(
    settings: dict[str, Any], warned: bool
) -> None:
    with override_settings(DJANGO_AWS_SETTINGS=PRODUCTION, **settings):
        found = check_email_backend(None)
    assert [m.id for m in found] == (["django_aws_settings.W016"] if warned else [])


def test_w016_is_production_only() -> None:
    console = "django.core.mail.backends.console.EmailBackend"
    development = {"ENVIRONMENT": "development", "ASGI": False}
    with override_settings(DJANGO_AWS_SETTINGS=development, EMAIL_BACKEND=console):
        assert check_email_backend(None) == []
