"""System check W011: a Redis cache in the same database as Celery's broker or results.

Settings come from configure() on an environment, as a project gets them; the check runs
on them through Django's override_settings, and once through a real `manage.py check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.checks import CheckMessage
from django.test import override_settings
from support.projects import copy_example

from django_aws_settings.settings.checks import check_cache_apart_from_celery
from django_aws_settings.settings.configure import configure

pytestmark = pytest.mark.usefixtures("django_settings")

TOKEN = "s3cr3t-auth-T0ken"
CELERY_KEYS = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def configured(environ: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": []}
    configure(namespace, environ)
    return {key: namespace[key] for key in ("CACHES", *CELERY_KEYS)}


def messages(settings: dict[str, Any]) -> list[CheckMessage]:
    with override_settings(**settings):
        return check_cache_apart_from_celery(None)


def test_redis_url_alone_passes(tmp_path: Path) -> None:
    assert messages(configured({"REDIS_URL": f"redis://:{TOKEN}@h:6379/0"}, tmp_path)) == []


def test_cache_url_alone_passes_because_the_queues_move_to_the_next_database(
    tmp_path: Path,
) -> None:
    """The package's own default (broker derived from CACHE_URL) keeps check --deploy clean."""
    settings = configured({"CACHE_URL": f"rediss://:{TOKEN}@h:6379/3"}, tmp_path)
    assert messages(settings) == []
    assert settings["CELERY_BROKER_URL"] == f"rediss://:{TOKEN}@h:6379/4"
    assert settings["CACHES"]["default"]["LOCATION"] == [f"rediss://:{TOKEN}@h:6379/3"]


def test_a_broker_named_on_the_caches_database_is_one_warning(tmp_path: Path) -> None:
    url = f"rediss://:{TOKEN}@h:6379/3"
    [message] = messages(configured({"CACHE_URL": url, "CELERY_BROKER_URL": url}, tmp_path))
    assert (message.id, message.msg) == (
        "django_aws_settings.W011",
        "CACHES['default'] and Celery's broker and result backend use the same Redis database (3).",
    )
    assert message.hint is not None
    assert "FLUSHDB" in message.hint
    assert TOKEN not in f"{message.msg} {message.hint}"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CACHE_URL": "redis://h/0", "CELERY_BROKER_URL": "redis://h/1"}, []),
        ({"CACHE_URL": "redis://h/0", "CELERY_BROKER_URL": "redis://other/0"}, []),
        ({"CACHE_URL": "redis://h/0", "CELERY_BROKER_URL": "sqs://"}, []),
        ({"CACHE_URL": "locmem://", "REDIS_URL": "redis://h/0"}, []),
        (
            {"CACHE_URL": "redis://h/0", "CELERY_BROKER_URL": "redis://H:6379"},
            ["broker and result backend"],
        ),
        (
            {
                "CACHE_URL": "redis://h/2",
                "CELERY_BROKER_URL": "sqs://",
                "CELERY_RESULT_BACKEND": "rediss://h:6379/2",
            },
            ["result backend"],
        ),
        (
            {
                "CACHE_URL": "redis://h/2",
                "CELERY_BROKER_URL": "redis://h/1",
                "CELERY_RESULT_BACKEND": "redis://h/2",
            },
            ["result backend"],
        ),
    ],
)
def test_only_the_same_server_and_database_is_reported(
    environ: dict[str, str], expected: list[str], tmp_path: Path
) -> None:
    found = messages(configured(environ, tmp_path))
    assert [m.msg.split("Celery's ", 1)[1].split(" use ", 1)[0] for m in found] == expected


def test_every_server_of_a_string_location_and_a_failover_broker_is_compared() -> None:
    """Django splits a string LOCATION on ',' and ';'; kombu splits a broker URL on ';'."""
    settings = {
        "CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "shared": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://a:6379/1,redis://replica:6379/4",
            },
        },
        "CELERY_BROKER_URL": "redis://primary:6379/4;redis://replica:6379/4",
        "CELERY_RESULT_BACKEND": None,
    }
    assert [(m.id, m.msg) for m in messages(settings)] == [
        (
            "django_aws_settings.W011",
            "CACHES['shared'] and Celery's broker use the same Redis database (4).",
        )
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variables", "expected"),
    [(("CACHE_URL", "CELERY_BROKER_URL"), ["django_aws_settings.W011"]), (("REDIS_URL",), [])],
)
def test_manage_py_check_reports_it(
    variables: tuple[str, ...], expected: list[str], redis_url: str, tmp_path: Path
) -> None:
    """The sample project (a Celery app; its settings read REDIS_URL for the broker)."""
    project = copy_example(tmp_path)
    env = project.environ(**dict.fromkeys(variables, redis_url))
    result = project.manage("check", env=env)
    found = [
        word.strip("():")
        for line in result.stderr.splitlines()
        for word in line.split()
        if word.strip("():").startswith("django_aws_settings.")
    ]
    assert (found, result.returncode) == (expected, 0), result.stderr
