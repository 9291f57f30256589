"""EventBridge Scheduler (`scheduler: eventbridge`) on the sample repositories, not on our
sample project: async_service keeps its schedule in a flat settings module read through
python-decouple, with its Celery app in `service/celery.py`; api_platform keeps its
schedule in django-celery-beat's tables. The generated pull-request step that guards the
export runs as GitHub's runner runs it, in the virtualenv the workflow's install step
builds, plus the package as the copy's message says to add it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.sample_repos import (
    SAMPLE_REPOS,
    installed_extras,
    land,
    pull_request_job,
    pull_request_steps,
    run_step,
    runner_plumbing,
    workflow_venv_with_package,
)
from support.template import snapshot

pytestmark = pytest.mark.slow  # builds the workflow's virtualenv (cached in .cache/)

EXPORT = "infra/terraform/schedules.json"
STALE = (
    "::error::infra/terraform/schedules.json is stale: run python manage.py export_schedule "
    "and commit it"
)
# What a team running beat on Render has in its settings: a weekday crontab in its own
# timezone, and an interval.
SCHEDULE = """
from celery.schedules import crontab  # noqa: E402

CELERY_TIMEZONE = "Europe/Paris"
CELERY_BEAT_SCHEDULE = {
    "weekday-totals": {
        "task": "service.tasks.add",
        "schedule": crontab(minute=30, hour=6, day_of_week="mon-fri"),
        "args": (2, 3),
    },
    "refresh": {"task": "service.tasks.add", "schedule": 300.0, "kwargs": {"left": 1, "right": 1}},
}
"""


def add_schedule(root: Path) -> None:
    with (root / "service" / "settings.py").open("a") as settings:
        settings.write(SCHEDULE)


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return land(
        tmp_path_factory.mktemp("schedules"),
        "async_service",
        {"celery_beat": True, "scheduler": "eventbridge"},
        edit=add_schedule,
    )


@pytest.fixture(scope="module")
def venv(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow's virtualenv, copied, with the package the copy's message tells the
    user to add."""
    return workflow_venv_with_package(
        landed, tmp_path_factory.mktemp("venv"), installed_extras(landed)
    )


def export_step(root: Path) -> dict[str, Any]:
    (step,) = [s for s in pull_request_steps(root) if "export_schedule" in s.get("run", "")]
    return step


def step_env(root: Path, venv: Path, home: Path, step: dict[str, Any]) -> dict[str, str]:
    job_env = {name: str(value) for name, value in pull_request_job(root)["env"].items()}
    return {**runner_plumbing(venv, home), **job_env, **step["env"]}


def test_the_export_step_fails_stale_passes_fresh_and_fails_again_on_a_changed_schedule(
    landed: Path, venv: Path, tmp_path: Path
) -> None:
    step = export_step(landed)
    assert step["env"]["DJANGO_SETTINGS_MODULE"] == "service.settings_aws"
    env = step_env(landed, venv, tmp_path / "home", step)

    def run() -> subprocess.CompletedProcess[str]:
        return run_step(step, cwd=landed, env=env, runner_temp=tmp_path / "runner", timeout=300)

    # The copy seeds a placeholder: a pull request before the first export fails.
    stale = run()
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert stale.stdout.splitlines()[-1] == STALE

    # What docs/aws says to run once, with the same environment as the step.
    exported = subprocess.run(
        ["python", "manage.py", "export_schedule", "--app", "service"],
        cwd=landed,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stderr
    export = json.loads((landed / EXPORT).read_text())
    assert export["timezone"] == "Europe/Paris"
    entries = export["schedules"]
    assert sorted(entries) == ["refresh", "weekday-totals"]
    weekday, refresh = entries["weekday-totals"], entries["refresh"]
    # Celery's mon-fri is EventBridge's MON-FRI (2-6); day-of-month left to "?".
    assert weekday["expression"] == "cron(30 6 ? * 2-6 *)"
    assert (weekday["task"], weekday["args"], weekday["kwargs"], weekday["queue"]) == (
        "service.tasks.add",
        [2, 3],
        {},
        "default",
    )
    assert refresh["expression"] == "rate(5 minutes)"
    assert (refresh["args"], refresh["kwargs"]) == ([], {"left": 1, "right": 1})

    fresh = run()
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr

    settings = landed / "service" / "settings.py"
    before = settings.read_text()
    try:
        settings.write_text(before.replace("minute=30, hour=6", "minute=45, hour=6"))
        changed = run()
        assert changed.returncode == 1, changed.stdout + changed.stderr
        lines = changed.stdout.splitlines()
        assert '-      "expression": "cron(30 6 ? * 2-6 *)",' in lines
        assert '+      "expression": "cron(45 6 ? * 2-6 *)",' in lines
        assert changed.stdout.splitlines()[-1] == STALE
    finally:
        settings.write_text(before)


def test_the_guarded_file_is_the_one_terraform_reads(landed: Path) -> None:
    app_module = (landed / "infra/terraform/modules/app/main.tf").read_text()
    (export_file,) = re.findall(r'export_file\s*=\s*"\$\{path\.module\}/([^"]+)"', app_module)
    read = (landed / "infra/terraform/modules/app" / export_file).resolve()
    assert read == (landed / EXPORT).resolve()


def test_a_database_schedule_keeps_beat_in_one_line_writing_nothing(tmp_path: Path) -> None:
    """api_platform's beat runs django-celery-beat's DatabaseScheduler (its Procfile says
    so): its schedule is rows, which EventBridge Scheduler cannot read."""
    with pytest.raises(ValueError, match=r"^Validation error") as refused:
        land(tmp_path, "api_platform", {"scheduler": "eventbridge"})
    assert str(refused.value) == (
        "Validation error for question 'scheduler': Expected beat: the beat scheduler "
        "django_celery_beat.schedulers:DatabaseScheduler keeps its own schedule, which "
        "EventBridge Scheduler cannot read (keep beat, or empty celery_beat_scheduler)."
    )
    # The repository holds the app as it was committed, byte for byte: nothing of ours.
    app = {
        path: content
        for path, content in snapshot(SAMPLE_REPOS / "api_platform").items()
        if "__pycache__" not in path
    }
    assert snapshot(tmp_path / "api_platform") == app
