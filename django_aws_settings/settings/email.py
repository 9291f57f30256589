"""EMAIL_BACKEND and the sender addresses: Amazon SES through django-ses, or the app's own.

Nothing is written unless the environment asks: ``DJANGO_AWS_EMAIL=ses`` (the generated task
definitions set it when the ``email`` answer is ``ses``) or ``EMAIL_BACKEND`` names a class.
SES is reached through API v2 with the task role's credentials; the configuration set
(``AWS_SES_CONFIGURATION_SET``) routes bounces and complaints to the stack's SNS topic.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .env import Reader, reader

SOURCE_VARIABLES = (
    "DJANGO_AWS_EMAIL",
    "EMAIL_BACKEND",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
    "AWS_SES_REGION_NAME",
    "AWS_SES_CONFIGURATION_SET",
)

SES_BACKEND = "django_ses.SESBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
# DJANGO_AWS_EMAIL: "app" keeps whatever the settings module chose (the default).
BACKENDS = {"app": None, "ses": SES_BACKEND, "smtp": SMTP_BACKEND, "console": CONSOLE_BACKEND}
SENDER_VARIABLES = ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL")

# SES: 1-64 letters, digits, underscores and dashes.
_CONFIGURATION_SET = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


def email_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The email settings the environment gives; empty when it gives none."""
    r = reader(environ)
    backend = _backend(r)
    values: dict[str, Any] = {}
    if backend is not None:
        values["EMAIL_BACKEND"] = backend
    for name in SENDER_VARIABLES:
        address = _sender(r, name)
        if address is not None:
            values[name] = address
    if backend == SES_BACKEND:
        values.update(_ses(r))
    elif r.text("AWS_SES_CONFIGURATION_SET") is not None:
        r.problem(
            "AWS_SES_CONFIGURATION_SET",
            "is set but email does not go through SES; set DJANGO_AWS_EMAIL=ses or unset it",
        )
    r.raise_if_any()
    return values


def _backend(r: Reader) -> str | None:
    choice = r.text("DJANGO_AWS_EMAIL")
    dotted = r.text("EMAIL_BACKEND")
    if choice is not None and dotted is not None:
        r.problem(
            "EMAIL_BACKEND",
            "is set together with DJANGO_AWS_EMAIL; set one of them"
            " (DJANGO_AWS_EMAIL=ses, or EMAIL_BACKEND=<dotted path of a backend class>)",
        )
        return None
    if dotted is not None:
        if not _DOTTED_PATH.fullmatch(dotted):
            r.problem(
                "EMAIL_BACKEND",
                "expected the dotted path of an email backend class, such as"
                f" {SES_BACKEND}; got {r.shown('EMAIL_BACKEND', dotted)}",
            )
            return None
        return dotted
    if choice is None:
        return None
    name = r.choice("DJANGO_AWS_EMAIL", tuple(BACKENDS), "app")
    backend = BACKENDS[name]
    if backend == SES_BACKEND and importlib.util.find_spec("django_ses") is None:
        r.problem(
            "DJANGO_AWS_EMAIL",
            "is ses but django-ses is not installed; install django-aws-settings[ses]",
        )
    return backend


def _sender(r: Reader, name: str) -> str | None:
    """An address, bare or with a display name ("Shop <no-reply@shop.example.com>")."""
    value = r.text(name)
    if value is None:
        return None
    _display, address = parseaddr(value)
    try:
        validate_email(address)
    except ValidationError:
        r.problem(
            name,
            "expected an email address, such as no-reply@shop.example.com or"
            f" 'Shop <no-reply@shop.example.com>'; got {r.shown(name, value)}",
        )
        return None
    return value


def _ses(r: Reader) -> dict[str, Any]:
    region = r.text("AWS_SES_REGION_NAME") or r.text("AWS_REGION") or r.text("AWS_DEFAULT_REGION")
    if region is None:
        r.problem(
            "AWS_SES_REGION_NAME",
            "is required with DJANGO_AWS_EMAIL=ses (or AWS_REGION); expected the region of"
            " the SES identity, such as eu-west-1",
        )
    configuration_set = r.text("AWS_SES_CONFIGURATION_SET")
    if configuration_set is not None and not _CONFIGURATION_SET.fullmatch(configuration_set):
        r.problem(
            "AWS_SES_CONFIGURATION_SET",
            "expected an SES configuration set name (1-64 letters, digits, '_' or '-');"
            f" got {r.shown('AWS_SES_CONFIGURATION_SET', configuration_set)}",
        )
        configuration_set = None
    values: dict[str, Any] = {
        "USE_SES_V2": True,
        "AWS_SES_REGION_NAME": region,
        # None: boto3 resolves the endpoint itself (AWS_ENDPOINT_URL_SESV2 and FIPS included);
        # django-ses would otherwise pin https://email.<region>.amazonaws.com.
        "AWS_SES_REGION_ENDPOINT_URL": (
            r.text("AWS_SES_REGION_ENDPOINT_URL")
            or r.text("AWS_ENDPOINT_URL_SESV2")
            or r.text("AWS_ENDPOINT_URL")
        ),
        # django-ses falls back to AWS_ACCESS_KEY_ID & co. from the settings module (often
        # left there for S3 on the old platform); None keeps boto3 on its default chain,
        # which is the task role on ECS.
        "AWS_SES_ACCESS_KEY_ID": None,
        "AWS_SES_SECRET_ACCESS_KEY": None,
        "AWS_SES_SESSION_TOKEN": None,
        # django-ses's throttle counts one process's sends against the account's rate and
        # needs ses:GetAccount; with several tasks it cannot hold the limit anyway. A
        # throttled send raises, and the caller (a Celery retry) decides.
        "AWS_SES_AUTO_THROTTLE": None,
    }
    if configuration_set is not None:
        # A module's own AWS_SES_CONFIGURATION_SET (a callable, say) stays when none is given.
        values["AWS_SES_CONFIGURATION_SET"] = configuration_set
    return values


__all__ = ["SOURCE_VARIABLES", "email_settings"]
