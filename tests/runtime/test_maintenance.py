"""Maintenance mode through the full middleware chain, with the switch in moto's SSM.

Each scenario is a project whose settings module ends with ``configure(globals())``; it
runs once in a subprocess (the suite has no global Django settings) that plays a list of
steps: requests through Django's test Client (WSGI handler) or AsyncClient (ASGI
handler), and PutParameter calls that flip the switch between requests. Tests assert on
the recorded responses. MAINTENANCE_POLL_SECONDS=0 makes every request re-read the
parameter, so a flip shows on the very next request.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import FAKE_CREDENTIALS, Aws, MotoServer
from support.processes import unique_name

from django_aws_settings.runtime.maintenance import MaintenanceSwitch
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError
from django_aws_settings.settings.maintenance import (
    MIDDLEWARE,
    maintenance_settings,
    with_maintenance_middleware,
)

SLOW = pytest.mark.slow  # runs Django in a subprocess
REPOSITORY = Path(__file__).resolve().parents[2]
HEALTH = "django_aws_settings.runtime.health.HealthCheckMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
REGION = "us-east-1"

SETTINGS = """
from pathlib import Path

from django_aws_settings.settings.configure import configure

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "maintenance-tests-" + "x" * 50
ROOT_URLCONF = "test_urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
{templates}
configure(globals())
"""

# A project that renders HTML and overrides the page; the other scenarios have no TEMPLATES
# at all (an API), so the packaged page is rendered by a standalone engine there.
WITH_TEMPLATES = (
    'TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",'
    ' "DIRS": [BASE_DIR / "templates"], "APP_DIRS": True}]'
)
OVERRIDE = "<p>Shop is moving house. Back in {{ retry_after_minutes }} minutes.</p>\n"

URLS = """
from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse(f"home {request.method}"))]
"""

RUNNER = """
import asyncio
import json
import os
import sys

import boto3
import django

django.setup()
from django.conf import settings
from django.test import AsyncClient, Client
from django.test.utils import setup_test_environment

setup_test_environment()  # lets the test client's Host "testserver" through
ssm = boto3.client("ssm")
client = Client()


def record(response):
    return {
        "status": response.status_code,
        "body": response.content.decode(),
        "content_type": response.get("Content-Type"),
        "retry_after": response.get("Retry-After"),
        "cache_control": response.get("Cache-Control"),
    }


async def async_request(method, path):
    return await getattr(AsyncClient(), method.lower())(path)


results = []
for step in json.load(sys.stdin):
    kind, *args = step
    if kind == "put":
        ssm.put_parameter(
            Name=os.environ["MAINTENANCE_PARAMETER"], Value=args[0], Type="String", Overwrite=True
        )
        results.append(None)
    elif kind == "middleware":
        results.append(list(settings.MIDDLEWARE))
    elif kind == "async":
        results.append(record(asyncio.run(async_request(*args))))
    else:
        method, path, headers = args
        results.append(record(getattr(client, method.lower())(path, headers=headers)))
print(json.dumps(results))
"""

HTML: dict[str, str] = {}
JSON = {"accept": "application/json"}
Step = list[Any]
Responses = dict[str, Any]


def serve(
    project: Path,
    environ: dict[str, str],
    steps: dict[str, Step],
    *,
    templates: bool = False,
) -> Responses:
    """Run the steps in order in a fresh process; returns each step's result by name."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "test_settings.py").write_text(
        SETTINGS.format(templates=WITH_TEMPLATES if templates else "")
    )
    (project / "test_urls.py").write_text(URLS)
    if templates:
        override = project / "templates" / "django_aws_settings" / "maintenance.html"
        override.parent.mkdir(parents=True)
        override.write_text(OVERRIDE)
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "MAINTENANCE_", "AWS_"))
    }
    env = {
        **inherited,
        **FAKE_CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join([str(project), str(REPOSITORY)]),
        "DJANGO_SETTINGS_MODULE": "test_settings",
        **environ,
    }
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(list(steps.values())),
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    # The last line: the project logs to stdout too.
    return dict(zip(steps, json.loads(completed.stdout.splitlines()[-1]), strict=True))


def live_switch(moto: MotoServer, parameter: str, initial: str) -> dict[str, str]:
    ssm = Aws(moto.endpoint_url, REGION, moto.requests).client("ssm")
    ssm.put_parameter(Name=parameter, Value=initial, Type="String", Overwrite=True)
    return {
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "MAINTENANCE_PARAMETER": parameter,
        "MAINTENANCE_POLL_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def flipped(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Responses:
    """One process while the parameter goes on -> read-only -> off -> on."""
    parameter = f"/{unique_name('maintenance')}/MAINTENANCE_MODE"
    return serve(
        tmp_path_factory.mktemp("flipped"),
        live_switch(moto_server, parameter, "on"),
        {
            "middleware": ["middleware"],
            "on_page": ["request", "GET", "/", HTML],
            "on_json": ["request", "GET", "/", JSON],
            "on_head": ["request", "HEAD", "/", HTML],
            "on_health": ["request", "GET", "/healthz", HTML],
            "on_readiness": ["request", "GET", "/readyz", HTML],
            "to_read_only": ["put", "read-only"],
            "read_only_get": ["request", "GET", "/", HTML],
            "read_only_post": ["request", "POST", "/", HTML],
            "read_only_post_json": ["request", "POST", "/", JSON],
            "to_off": ["put", "off"],
            "off_post": ["request", "POST", "/", HTML],
            "to_on": ["put", "on"],
            "on_again_async": ["async", "GET", "/"],
            "health_async": ["async", "GET", "/healthz"],
        },
    )


@pytest.fixture(scope="module")
def static_on(tmp_path_factory: pytest.TempPathFactory) -> Responses:
    """MAINTENANCE_MODE=on from the environment alone, in a project with its own page."""
    return serve(
        tmp_path_factory.mktemp("static_on"),
        {"MAINTENANCE_MODE": "on", "MAINTENANCE_RETRY_AFTER": "120"},
        {"page": ["request", "GET", "/", {"accept": "text/html,*/*;q=0.8"}]},
        templates=True,
    )


# ------------------------------------------------------------------- full middleware chain


@SLOW
def test_configure_places_the_middleware_before_sessions(flipped: Responses) -> None:
    assert flipped["middleware"][:4] == [HEALTH, SECURITY, WHITENOISE, MIDDLEWARE]
    assert flipped["middleware"][4] == SESSIONS


@SLOW
def test_on_answers_pages_with_the_friendly_page(flipped: Responses) -> None:
    response = flipped["on_page"]
    assert (
        response["status"],
        response["content_type"],
        response["retry_after"],
        response["cache_control"],
    ) == (503, "text/html; charset=utf-8", "300", "no-store")
    assert "<h1>Back in a few minutes</h1>" in response["body"]
    assert "try again in about 5 minutes." in response["body"]


@SLOW
def test_the_page_loads_nothing_from_elsewhere(flipped: Responses) -> None:
    body = flipped["on_page"]["body"]
    assert [marker for marker in ("<link", "<script", "src=", "url(") if marker in body] == []


@SLOW
def test_on_answers_api_clients_with_json(flipped: Responses) -> None:
    response = flipped["on_json"]
    assert (response["status"], response["content_type"], json.loads(response["body"])) == (
        503,
        "application/json",
        {
            "error": "maintenance",
            "mode": "on",
            "message": "The service is down for maintenance.",
            "retry_after": 300,
        },
    )


@SLOW
def test_on_answers_head_without_a_body(flipped: Responses) -> None:
    assert (flipped["on_head"]["status"], flipped["on_head"]["body"]) == (503, "")


@SLOW
def test_health_answers_200_while_on(flipped: Responses) -> None:
    assert (flipped["on_health"]["status"], flipped["on_health"]["body"]) == (200, "ok")


@SLOW
def test_readiness_answers_200_while_on(flipped: Responses) -> None:
    assert flipped["on_readiness"]["status"] == 200


@SLOW
def test_read_only_lets_get_through(flipped: Responses) -> None:
    assert (flipped["read_only_get"]["status"], flipped["read_only_get"]["body"]) == (
        200,
        "home GET",
    )


@SLOW
def test_read_only_refuses_post(flipped: Responses) -> None:
    response = flipped["read_only_post"]
    assert (response["status"], response["retry_after"]) == (503, "300")
    assert "<h1>Read-only for a few minutes</h1>" in response["body"]


@SLOW
def test_read_only_tells_api_clients_why(flipped: Responses) -> None:
    assert json.loads(flipped["read_only_post_json"]["body"])["message"] == (
        "The service is read-only during maintenance; changes cannot be saved right now."
    )


@SLOW
def test_off_serves_everything_again(flipped: Responses) -> None:
    assert (flipped["off_post"]["status"], flipped["off_post"]["body"]) == (200, "home POST")


@SLOW
def test_the_asgi_handler_follows_the_switch_too(flipped: Responses) -> None:
    assert (flipped["on_again_async"]["status"], flipped["health_async"]["status"]) == (503, 200)


@SLOW
def test_a_project_template_overrides_the_page(static_on: Responses) -> None:
    response = static_on["page"]
    assert (response["status"], response["retry_after"], response["body"]) == (
        503,
        "120",
        "<p>Shop is moving house. Back in 2 minutes.</p>\n",
    )


@SLOW
def test_an_unreadable_parameter_keeps_the_environments_mode(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    responses = serve(
        tmp_path,
        {
            "AWS_ENDPOINT_URL": moto_server.endpoint_url,
            "MAINTENANCE_MODE": "read-only",
            "MAINTENANCE_PARAMETER": f"/{unique_name('missing')}/MAINTENANCE_MODE",
            "MAINTENANCE_POLL_SECONDS": "0",
        },
        {"get": ["request", "GET", "/", HTML], "post": ["request", "POST", "/", HTML]},
    )
    assert (responses["get"]["status"], responses["post"]["status"]) == (200, 503)


@SLOW
def test_without_configuration_the_middleware_is_not_installed(tmp_path: Path) -> None:
    responses = serve(
        tmp_path,
        {},
        {"middleware": ["middleware"], "post": ["request", "POST", "/", HTML]},
    )
    assert MIDDLEWARE not in responses["middleware"]
    assert responses["post"]["status"] == 200


# ------------------------------------------------------------------------ configuration


def test_configure_adds_the_middleware_only_when_configured(tmp_path: Path) -> None:
    plain: dict[str, Any] = {"BASE_DIR": tmp_path, "MIDDLEWARE": [SECURITY, SESSIONS]}
    switched: dict[str, Any] = {"BASE_DIR": tmp_path, "MIDDLEWARE": [SECURITY, SESSIONS]}
    configure(plain, {})
    configure(switched, {"MAINTENANCE_PARAMETER": "/shop/production/MAINTENANCE_MODE"})
    assert plain["MIDDLEWARE"] == [HEALTH, SECURITY, WHITENOISE, SESSIONS]
    assert switched["MIDDLEWARE"] == [HEALTH, SECURITY, WHITENOISE, MIDDLEWARE, SESSIONS]
    assert switched["DJANGO_AWS_MAINTENANCE"] == {
        "MODE": "off",
        "PARAMETER": "/shop/production/MAINTENANCE_MODE",
        "POLL_SECONDS": 10,
        "RETRY_AFTER": 300,
    }


def test_placement_is_idempotent_and_follows_the_leading_middleware() -> None:
    on = {"MODE": "on"}
    once = with_maintenance_middleware([HEALTH, SECURITY, SESSIONS, MIDDLEWARE], on)
    assert once == [HEALTH, SECURITY, MIDDLEWARE, SESSIONS]
    assert with_maintenance_middleware(once, on) == once
    assert with_maintenance_middleware(once, {"MODE": "off"}) == [HEALTH, SECURITY, SESSIONS]


def test_bad_values_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        maintenance_settings(
            {
                "MAINTENANCE_MODE": "readonly",
                "MAINTENANCE_PARAMETER": "MAINTENANCE_MODE",
                "MAINTENANCE_POLL_SECONDS": "-1",
            }
        )
    assert [str(problem) for problem in raised.value.problems] == [
        "MAINTENANCE_MODE: expected one of off, on, read-only, got 'readonly'",
        "MAINTENANCE_PARAMETER: expected an SSM parameter name such as"
        " /shop/production/MAINTENANCE_MODE (the name itself, not an ssm: reference, which"
        " would be resolved to its value)",
        "MAINTENANCE_POLL_SECONDS: expected an integer between 0 and 3600, got -1",
    ]


# ------------------------------------------------------------------------------ the switch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Parameter:
    """A fake GetParameter: a value, or an exception, and a count of reads."""

    def __init__(self, value: str) -> None:
        self.value: str | Exception = value
        self.reads = 0

    def __call__(self, name: str) -> str:
        self.reads += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def switch(parameter: Parameter, clock: Clock, mode: str = "off") -> MaintenanceSwitch:
    return MaintenanceSwitch(
        mode, "/shop/MAINTENANCE_MODE", poll_seconds=10, fetch=parameter, clock=clock
    )


def test_the_parameter_is_read_at_most_once_per_interval() -> None:
    parameter, clock = Parameter("on"), Clock()
    maintenance = switch(parameter, clock)
    first = maintenance.mode()
    parameter.value = "off"
    clock.now += 9.9
    cached = maintenance.mode()
    clock.now += 0.1
    assert (first, cached, maintenance.mode(), parameter.reads) == ("on", "on", "off", 2)


def test_a_failed_read_keeps_the_last_state_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parameter, clock = Parameter("on"), Clock()
    maintenance = switch(parameter, clock)
    maintenance.mode()
    parameter.value = ConnectionError("ssm unreachable")
    modes = []
    for _ in range(3):
        clock.now += 10
        modes.append(maintenance.mode())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert modes == ["on", "on", "on"]
    assert warnings == [
        "maintenance: mode on (from /shop/MAINTENANCE_MODE)",
        "maintenance: cannot read /shop/MAINTENANCE_MODE (ConnectionError); keeping mode 'on'",
    ]


def test_an_unknown_value_keeps_the_last_state_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The value itself is never logged: a mistyped parameter may hold a secret."""
    parameter, clock = Parameter("postgres://app:Pl4nted-S3cret@db/app"), Clock()
    maintenance = switch(parameter, clock, mode="read-only")
    first = maintenance.mode()
    clock.now += 10
    assert (first, maintenance.mode(), parameter.reads) == ("read-only", "read-only", 2)
    assert [r.getMessage() for r in caplog.records] == [
        "maintenance: /shop/MAINTENANCE_MODE holds none of off, on, read-only (the value is"
        " not logged); keeping mode 'read-only'"
    ]


def test_without_a_parameter_nothing_is_read() -> None:
    parameter: Callable[[str], str] = Parameter("on")
    maintenance = MaintenanceSwitch("read-only", None, fetch=parameter)
    assert (maintenance.mode(), maintenance.due()) == ("read-only", False)
