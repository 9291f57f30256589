"""System check W008: the broker's visibility timeout against the longest task time limit.

Redis and SQS hand an unacknowledged task to another worker once the visibility timeout
ends; with late acks that includes a task that is still running. CELERY_TASK_TIME_LIMIT is
not the whole story: a task's own ``time_limit`` (its decorator, or CELERY_TASK_ANNOTATIONS)
may be longer, so the check reads the project's Celery app as a worker would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery._state import get_current_app
from django.core.checks import CheckMessage
from django.test import override_settings

from django_aws_settings.settings.checks import check_celery
from django_aws_settings.settings.configure import configure

pytestmark = pytest.mark.usefixtures("django_settings")

BROKER = "redis://127.0.0.1:6379/12"


def configured(tmp_path: Path, **environ: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": []}
    configure(namespace, {"CELERY_BROKER_URL": BROKER, **environ})
    return {key: value for key, value in namespace.items() if key.startswith("CELERY_")}


def w008(settings: dict[str, Any]) -> list[str]:
    with override_settings(**settings):
        found: list[CheckMessage] = check_celery(None)
    return [message.msg for message in found if message.id == "django_aws_settings.W008"]


@pytest.fixture
def project_app() -> Iterator[Celery]:
    """A Celery app the way a project's celery.py makes it: the current app."""
    previous = get_current_app()
    app = Celery("shop", broker=BROKER)  # set_as_current, as Celery() does by default
    yield app
    previous.set_current()


def test_the_defaults_pass(tmp_path: Path, project_app: Celery) -> None:
    @project_app.task(name="shop.tasks.send_email", shared=False)
    def send_email() -> None: ...

    assert w008(configured(tmp_path)) == []


def test_the_global_limit_above_the_visibility_timeout_warns(tmp_path: Path) -> None:
    settings = configured(tmp_path, CELERY_TASK_TIME_LIMIT="600")
    settings["CELERY_BROKER_TRANSPORT_OPTIONS"] = {"visibility_timeout": 600}
    assert w008(settings) == [
        "The broker's visibility timeout (600s) is not longer than the task time limit (600s)."
    ]


def test_one_tasks_own_time_limit_above_the_visibility_timeout_warns_naming_it(
    tmp_path: Path, project_app: Celery
) -> None:
    @project_app.task(name="shop.tasks.nightly_report", time_limit=7200, shared=False)
    def nightly_report() -> None: ...

    @project_app.task(name="shop.tasks.send_email", time_limit=60, shared=False)
    def send_email() -> None: ...

    assert w008(configured(tmp_path)) == [
        "The broker's visibility timeout (3600s) is not longer than task "
        "shop.tasks.nightly_report's time limit (7200s)."
    ]


def test_a_time_limit_from_the_annotations_counts_too(tmp_path: Path, project_app: Celery) -> None:
    project_app.conf.task_annotations = {"shop.tasks.export": {"time_limit": 4000}}

    @project_app.task(name="shop.tasks.export", shared=False)
    def export() -> None: ...

    assert w008(configured(tmp_path)) == [
        "The broker's visibility timeout (3600s) is not longer than task "
        "shop.tasks.export's time limit (4000s)."
    ]


def test_without_a_broker_the_tasks_are_not_read(tmp_path: Path, project_app: Celery) -> None:
    @project_app.task(name="shop.tasks.nightly_report", time_limit=7200, shared=False)
    def nightly_report() -> None: ...

    settings = configured(tmp_path)
    settings["CELERY_BROKER_URL"] = "memory://"
    assert w008(settings) == []
