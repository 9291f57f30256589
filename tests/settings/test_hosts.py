"""ALLOWED_HOSTS (with the ECS task's own IP, from a fake task metadata endpoint) and
CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import logging
import time
import urllib.parse

import pytest
from support.ecs_agent import EcsMetadataEndpoint

from django_aws_settings.settings.errors import ConfigError, Problem
from django_aws_settings.settings.hosts import (
    SOURCE_VARIABLES,
    allowed_hosts,
    csrf_trusted_origins,
    task_private_ips,
)

PRODUCTION = {"DJANGO_ENV": "production"}


def host_problems(environ: dict[str, str]) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as error:
        allowed_hosts(environ)
    return error.value.problems


def origin_problems(environ: dict[str, str]) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as error:
        csrf_trusted_origins(environ)
    return error.value.problems


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")


# ---------------------------------------------------------------------- ALLOWED_HOSTS


def test_development_default_is_loopback_only() -> None:
    assert allowed_hosts({}) == ["localhost", "127.0.0.1", "[::1]"]


def test_development_adds_loopback_to_what_is_set() -> None:
    assert allowed_hosts({"ALLOWED_HOSTS": "app.test, localhost"}) == [
        "app.test",
        "localhost",
        "127.0.0.1",
        "[::1]",
    ]


def test_production_uses_exactly_what_is_set() -> None:
    environ = {**PRODUCTION, "ALLOWED_HOSTS": "app.example.com, .example.org,"}
    assert allowed_hosts(environ) == ["app.example.com", ".example.org"]


def test_wildcard_is_refused_in_production() -> None:
    assert host_problems({**PRODUCTION, "ALLOWED_HOSTS": "app.example.com,*"}) == (
        Problem(
            "ALLOWED_HOSTS",
            "must not contain '*' when DJANGO_ENV=production (it turns off Host header"
            " validation); list the domain names the app is served on",
        ),
    )


def test_wildcard_is_accepted_in_development() -> None:
    assert allowed_hosts({"ALLOWED_HOSTS": "*"})[0] == "*"


def test_empty_is_refused_in_production() -> None:
    assert host_problems({**PRODUCTION, "ALLOWED_HOSTS": " , "}) == (
        Problem(
            "ALLOWED_HOSTS",
            "is required when DJANGO_ENV=production; expected the comma-separated domain"
            " names the app is served on, such as app.example.com,.example.org",
        ),
    )


def test_host_with_a_scheme_is_refused() -> None:
    assert host_problems({"ALLOWED_HOSTS": "https://app.example.com,app.example.com"}) == (
        Problem(
            "ALLOWED_HOSTS",
            "expected comma-separated host names without scheme, path or spaces, such as"
            " app.example.com or .example.com (every subdomain); got 'https://app.example.com'",
        ),
    )


# -------------------------------------------------------------- ECS task metadata v4


def test_task_private_ip_is_added(ecs_metadata: EcsMetadataEndpoint) -> None:
    environ = {**PRODUCTION, "ALLOWED_HOSTS": "app.example.com", **ecs_metadata.environ()}
    assert allowed_hosts(environ) == ["app.example.com", "10.0.1.23"]


@pytest.mark.parametrize("ecs_metadata", ["172.31.40.7"], indirect=True)
def test_the_ip_is_whatever_the_endpoint_reports(ecs_metadata: EcsMetadataEndpoint) -> None:
    assert task_private_ips(ecs_metadata.environ()) == ["172.31.40.7"]


def test_the_container_metadata_path_is_read_once(ecs_metadata: EcsMetadataEndpoint) -> None:
    task_private_ips(ecs_metadata.environ())
    assert ecs_metadata.requests == [urllib.parse.urlsplit(ecs_metadata.uri).path]


def test_task_metadata_shape_is_understood_too(ecs_metadata: EcsMetadataEndpoint) -> None:
    environ = {"ECS_CONTAINER_METADATA_URI_V4": ecs_metadata.uri + "/task"}
    assert task_private_ips(environ) == ["10.0.1.23"]


def test_absent_variable_adds_nothing(ecs_metadata: EcsMetadataEndpoint) -> None:
    assert allowed_hosts({**PRODUCTION, "ALLOWED_HOSTS": "app.example.com"}) == ["app.example.com"]
    assert ecs_metadata.requests == []


def test_hanging_endpoint_gives_up_at_the_timeout(ecs_metadata: EcsMetadataEndpoint) -> None:
    ecs_metadata.mode = "hang"  # the endpoint would hold the connection for 60 s
    environ = {**PRODUCTION, "ALLOWED_HOSTS": "app.example.com", **ecs_metadata.environ()}
    started = time.monotonic()
    hosts = allowed_hosts(environ, metadata_timeout=0.3)
    elapsed = time.monotonic() - started
    assert hosts == ["app.example.com"]
    assert elapsed < 5, "a bound far below the endpoint's 60 s hang, not a benchmark"


def test_hanging_endpoint_is_logged(
    ecs_metadata: EcsMetadataEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    ecs_metadata.mode = "hang"
    with caplog.at_level(logging.WARNING, logger="django_aws_settings.settings.hosts"):
        task_private_ips(ecs_metadata.environ(), timeout=0.3)
    assert caplog.messages == [
        f"Could not read the ECS container metadata at {ecs_metadata.uri} (TimeoutError);"
        " the task's private IP is not added to ALLOWED_HOSTS"
    ]


def test_failing_endpoint_is_logged_not_raised(
    ecs_metadata: EcsMetadataEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    ecs_metadata.mode = "error"
    with caplog.at_level(logging.WARNING, logger="django_aws_settings.settings.hosts"):
        assert task_private_ips(ecs_metadata.environ()) == []
    assert caplog.messages == [
        f"Could not read the ECS container metadata at {ecs_metadata.uri} (HTTPError);"
        " the task's private IP is not added to ALLOWED_HOSTS"
    ]


def test_unreachable_endpoint_returns_nothing(caplog: pytest.LogCaptureFixture) -> None:
    environ = {"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:9/v4/abc"}
    with caplog.at_level(logging.WARNING, logger="django_aws_settings.settings.hosts"):
        assert task_private_ips(environ) == []
    assert caplog.messages == [
        "Could not read the ECS container metadata at http://127.0.0.1:9/v4/abc (URLError);"
        " the task's private IP is not added to ALLOWED_HOSTS"
    ]


def test_metadata_variable_is_read_from_os_environ_by_default(
    ecs_metadata: EcsMetadataEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", ecs_metadata.uri)
    assert task_private_ips() == ["10.0.1.23"]


# --------------------------------------------------------------- CSRF_TRUSTED_ORIGINS


def test_origins_from_the_environment_are_used_as_given() -> None:
    environ = {
        "ALLOWED_HOSTS": "ignored.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://app.example.com, https://*.example.org",
    }
    assert csrf_trusted_origins(environ) == ["https://app.example.com", "https://*.example.org"]


def test_origin_without_scheme_is_refused() -> None:
    environ = {"CSRF_TRUSTED_ORIGINS": "https://app.example.com,admin.example.com"}
    assert origin_problems(environ) == (
        Problem(
            "CSRF_TRUSTED_ORIGINS",
            "expected origins with a scheme, such as https://app.example.com;"
            " got 'admin.example.com'",
        ),
    )


def test_origins_are_derived_from_allowed_hosts() -> None:
    environ = {**PRODUCTION, "ALLOWED_HOSTS": "app.example.com,.example.org,app.example.com"}
    assert csrf_trusted_origins(environ) == ["https://app.example.com", "https://*.example.org"]


def test_derived_origins_skip_ips_and_loopback_in_production() -> None:
    environ = {
        **PRODUCTION,
        "ALLOWED_HOSTS": "10.0.1.23,[::1],[fd00::1]:8000,localhost,app.example.com:8443",
    }
    assert csrf_trusted_origins(environ) == ["https://app.example.com:8443"]


def test_derived_origins_keep_loopback_names_in_development() -> None:
    environ = {"ALLOWED_HOSTS": "app.localhost,127.0.0.1,*"}
    assert csrf_trusted_origins(environ) == ["https://app.localhost"]


def test_no_hosts_no_origins() -> None:
    assert csrf_trusted_origins({}) == []
