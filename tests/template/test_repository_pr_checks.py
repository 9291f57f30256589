"""The generated pull-request workflow's production check (`check --deploy --fail-level
WARNING` under the settings overlay) on each sample repository, as GitHub's runner runs
it: the workflow's virtualenv plus the package the copy's message says to add, the job's
environment and the step's own. Each repository's settings are its own (a split settings
package read through django-environ, os.environ with a VPS's fallbacks, a flat module
through python-decouple); the step passes on each without the user touching them, and
fails on what production would really get wrong: ALLOWED_HOSTS "*", or mail that has
nowhere to go (check W016, until `email: ses` or a mail server is given).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.sample_repos import (
    REPOSITORIES,
    installed_extras,
    land,
    pull_request_job,
    pull_request_steps,
    run_step,
    runner_plumbing,
    workflow_venv_with_package,
)

pytestmark = pytest.mark.slow  # builds a virtualenv per repository (cached in .cache/)

CHECK_STEP = "Production settings pass check --deploy"


class Landed:
    def __init__(self, root: Path, venv: Path) -> None:
        self.root, self.venv = root, venv


# api_platform reads its mail server from EMAIL_URL, cms_site from EMAIL_HOST (the
# workflow sets a placeholder for each); async_service sends through SES.
CASES = {
    "api_platform": {},
    "cms_site": {},
    "async_service": {"email": "ses"},
}
assert set(CASES) == set(REPOSITORIES)


def land_with_package(
    tmp_path_factory: pytest.TempPathFactory, name: str, answers: dict[str, Any]
) -> Landed:
    root = land(tmp_path_factory.mktemp("pr-checks"), name, answers)
    venv = workflow_venv_with_package(root, tmp_path_factory.mktemp("venv"), installed_extras(root))
    return Landed(root, venv)


@pytest.fixture(scope="module", params=sorted(CASES))
def landed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return land_with_package(tmp_path_factory, request.param, CASES[request.param])


def run_check(landed: Landed, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    (step,) = [s for s in pull_request_steps(landed.root) if s.get("name") == CHECK_STEP]
    job_env = {name: str(value) for name, value in pull_request_job(landed.root)["env"].items()}
    env = {**runner_plumbing(landed.venv, tmp_path / "home"), **job_env, **step["env"], **extra}
    return run_step(step, cwd=landed.root, env=env, runner_temp=tmp_path / "runner", timeout=300)


def test_the_production_check_passes_on_the_repository_as_it_is(
    landed: Landed, tmp_path: Path
) -> None:
    (step,) = [s for s in pull_request_steps(landed.root) if s.get("name") == CHECK_STEP]
    mail = {name: value for name, value in step["env"].items() if "EMAIL" in name}
    assert (
        mail
        == {
            "api_platform": {"EMAIL_URL": "smtp://check-deploy-only.invalid:587"},
            "cms_site": {"EMAIL_HOST": "check-deploy-only.invalid"},
            "async_service": {"DJANGO_AWS_EMAIL": "ses"},
        }[landed.root.name]
    )
    done = run_check(landed, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_mail_with_nowhere_to_go_fails_the_check_with_its_remedies(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """async_service sets no mail at all: Django's SMTP to localhost, which a Fargate task
    does not have. The step names that, and only that."""
    landed = land_with_package(tmp_path_factory, "async_service", {})
    (step,) = [s for s in pull_request_steps(landed.root) if s.get("name") == CHECK_STEP]
    assert not any("EMAIL" in name for name in step["env"])
    done = run_check(landed, tmp_path)
    assert done.returncode == 1
    issues = re.findall(r"^\?: \((\S+)\) (.*)$", done.stderr, re.M)
    assert issues == [
        (
            "django_aws_settings.W016",
            "EMAIL_BACKEND is SMTP with EMAIL_HOST 'localhost' in production.",
        )
    ]
    assert "DJANGO_AWS_EMAIL=ses (the email answer ses)" in done.stderr
    assert "SILENCED_SYSTEM_CHECKS" in done.stderr


def test_the_production_check_fails_on_a_production_setting_that_is_wrong(
    landed: Landed, tmp_path: Path
) -> None:
    # An ALLOWED_HOSTS of "*" in production: the package refuses it before Django starts.
    done = run_check(landed, tmp_path, ALLOWED_HOSTS="*")
    assert done.returncode != 0
    assert "ALLOWED_HOSTS" in done.stderr
