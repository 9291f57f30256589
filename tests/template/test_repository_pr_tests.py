"""The generated pull-request workflow's Tests step, run on each sample repository
(tests/sample_repos) as GitHub's runner would run it: a virtualenv of the Python the
workflow sets up, holding what its install step installs (the step itself, executed), the
job's PostgreSQL and Redis (this machine's), and the step's own bash. The repository's
tests pass; with its test files gone, the step fails instead of passing on nothing.

The virtualenvs stay in .cache/sample-venvs between runs (a clean clone builds them:
psycopg2 and uWSGI compile from source, about 100 s on two cores; then about 15 s).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.postgres import DatabaseFactory
from support.sample_repos import (
    REPOSITORIES,
    land,
    pull_request_job,
    pull_request_tests_step,
    run_step,
    runner_plumbing,
    workflow_venv,
)

pytestmark = pytest.mark.slow  # builds a virtualenv per repository (cached in .cache/)


class Landed:
    """A sample repository with the template in it, and the virtualenv its workflow builds."""

    def __init__(self, root: Path, venv: Path) -> None:
        self.root, self.venv = root, venv

    @property
    def name(self) -> str:
        return self.root.name


@pytest.fixture(scope="module", params=REPOSITORIES)
def landed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Landed:
    root = land(tmp_path_factory.mktemp("pr-tests"), request.param)
    return Landed(root, workflow_venv(root))


def run_tests_step(
    root: Path, landed: Landed, tmp_path: Path, database_url: str, redis_url: str
) -> subprocess.CompletedProcess[str]:
    """The Tests step in `root` with the job's env, where the job's service containers
    (postgres and redis on localhost) are this machine's servers."""
    job_env: dict[str, str] = dict(pull_request_job(root)["env"])
    assert job_env["DATABASE_URL"].startswith("postgres://postgres:postgres@localhost:5432/")
    assert job_env["REDIS_URL"].startswith("redis://localhost:6379/")
    job_env |= {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    step = pull_request_tests_step(root)
    return run_step(
        step,
        cwd=root,
        env={**runner_plumbing(landed.venv, tmp_path / "home"), **job_env, **step["env"]},
        runner_temp=tmp_path / "runner",
        timeout=600,
    )


def count_of_tests_run(output: str) -> int:
    """How many tests the runner says it ran: pytest's summary or unittest's "Ran N"."""
    ran = re.findall(r"^Ran (\d+) tests? in ", output, re.M)
    if ran:
        return int(ran[-1])
    summary = re.findall(r"^=+ (.*) in [\d.]+s", output, re.M)
    assert summary, output
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary[-1])}
    assert set(counts) <= {"passed", "skipped", "deselected", "xfailed", "warning", "warnings"}, (
        summary[-1]
    )
    return counts.get("passed", 0)


def test_the_tests_step_passes_with_the_repository_tests(
    landed: Landed, tmp_path: Path, make_database: DatabaseFactory, redis_url: str
) -> None:
    done = run_tests_step(landed.root, landed, tmp_path, make_database("prtests"), redis_url)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert (
        count_of_tests_run(output)
        == {"api_platform": 1, "cms_site": 1, "async_service": 2}[landed.name]
    )


def test_the_tests_step_fails_when_no_test_runs(
    landed: Landed, tmp_path: Path, make_database: DatabaseFactory, redis_url: str
) -> None:
    root = tmp_path / landed.name
    shutil.copytree(landed.root, root, symlinks=True)
    removed = remove_test_files(root)
    assert (
        removed
        == {
            "api_platform": ["tests/test_ping.py"],
            "cms_site": ["pages/tests.py"],
            "async_service": ["service/tests.py"],
        }[landed.name]
    )
    done = run_tests_step(root, landed, tmp_path, make_database("prtests"), redis_url)
    output = done.stdout + done.stderr
    if pull_request_tests_step(root)["run"].strip() == "pytest":
        # pytest's own status for "collected nothing" fails the step.
        assert done.returncode == 5, output
        assert re.search(r"^=+ no tests ran in ", done.stdout, re.M), output
    else:
        # Django's runner exits 0 on no test; the step's check of its log fails it.
        assert done.returncode == 1, output
        assert re.search(r"^Ran 0 tests in ", done.stdout, re.M), output
        assert done.stdout.splitlines()[-1] == "::error::the test command ran no test"


def remove_test_files(root: Path) -> list[str]:
    """Delete the repository's test modules (the names pytest and unittest discover)."""
    found = sorted(
        path
        for path in root.rglob("*.py")
        if (path.name == "tests.py" or path.name.startswith("test_"))
        and ".git" not in path.relative_to(root).parts
    )
    for path in found:
        path.unlink()
    return [path.relative_to(root).as_posix() for path in found]
