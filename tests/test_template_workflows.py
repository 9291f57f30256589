"""The generated GitHub workflows: linted by actionlint and zizmor, pinned, keyless, ordered."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_matrix import ANSWER_SETS, Rendered
from template_support import VENV_BIN, task_definition_files

WORKFLOWS = (".github/workflows/deploy.yml", ".github/workflows/pull-request.yml")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
STEP_COMMAND = re.compile(r"django-aws ecs (register|run-task|deploy) ([^\n]*)")


def workflow(rendered: Rendered, name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((rendered.root / name).read_text())
    return document


def deploy_steps(rendered: Rendered) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["steps"]
    return steps


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [str(VENV_BIN / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_with_shellcheck_reports_nothing(rendered: Rendered) -> None:
    result = tool("actionlint", *WORKFLOWS, cwd=rendered.root)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_offline_reports_nothing(rendered: Rendered) -> None:
    result = tool("zizmor", "--offline", "--no-progress", *WORKFLOWS, cwd=rendered.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report." in result.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        text = (rendered.root / name).read_text()
        uses = re.findall(r"uses: (\S+)( # v[\d.]+)?", text)
        assert uses, name
        assert [ref for ref, version in uses if not PINNED.match(ref) or not version] == []


def test_no_aws_access_keys_anywhere(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        text = (rendered.root / name).read_text().lower()
        assert "aws-access-key-id" not in text
        assert "aws_secret_access_key" not in text


def test_permissions_start_empty_and_only_deploy_gets_an_id_token(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        document = workflow(rendered, name)
        assert document["permissions"] == {}
        granted = {job: spec.get("permissions") for job, spec in document["jobs"].items()}
        expected_deploy = {"contents": "read", "id-token": "write"}
        for job, permissions in granted.items():
            allowed = expected_deploy if job == "deploy" else {"contents": "read"}
            assert permissions in ({}, allowed), (name, job, permissions)
    assert workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
    }


def test_checkouts_do_not_persist_credentials(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        for job in workflow(rendered, name)["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


def test_deploys_never_overlap_per_environment(rendered: Rendered) -> None:
    deploy = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]
    assert deploy["concurrency"] == {
        "group": "deploy-${{ needs.target.outputs.environment }}",
        "cancel-in-progress": False,
    }
    assert deploy["environment"] == "${{ needs.target.outputs.environment }}"


def test_order_is_build_migrate_web_then_workers(rendered: Rendered) -> None:
    names = [str(step.get("name", step.get("uses", ""))) for step in deploy_steps(rendered)]
    order = [
        next(i for i, name in enumerate(names) if name.startswith(prefix))
        for prefix in ("Build and push", "Migrate", "Roll web")
    ]
    assert order == sorted(order)
    migrate, web = order[1], order[2]
    if rendered.case.static_backend == "s3":
        static = names.index("Publish static files to S3 (once per release, before web rolls)")
        assert migrate < static < web
    later = [i for i, name in enumerate(names) if name in ("Roll workers", "Roll beat")]
    assert later == sorted(later)
    assert all(i > web for i in later)
    assert len(later) == (
        rendered.case.celery + (rendered.case.celery and rendered.case.celery_beat)
    )
    assert names[-1] == "Smoke test the readiness endpoint"


def test_each_register_names_a_generated_task_definition(rendered: Rendered) -> None:
    generated = {
        f"deploy/ecs/{path.name}" for path in task_definition_files(rendered.root).values()
    }
    registered = {
        arguments.split()[0]
        for step in deploy_steps(rendered)
        for command, arguments in STEP_COMMAND.findall(str(step.get("run", "")))
        if command == "register"
    }
    assert registered == generated


def test_worker_services_cover_every_queue(rendered: Rendered) -> None:
    if not rendered.case.celery:
        return
    step = next(s for s in deploy_steps(rendered) if s.get("name") == "Roll workers")
    assert f"for queue in {' '.join(rendered.case.queues)}; do" in step["run"]
    assert '--service "$CLUSTER-worker-$queue"' in step["run"]


def test_pull_requests_lint_migrations_against_the_base_branch(rendered: Rendered) -> None:
    test_job = workflow(rendered, WORKFLOWS[1])["jobs"]["test"]
    runs = [str(step.get("run", "")) for step in test_job["steps"]]
    assert 'python manage.py lint_migrations --since "origin/$BASE_REF"' in runs
    assert "python manage.py makemigrations --check --dry-run" in runs
    checkout = test_job["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    check = next(s for s in test_job["steps"] if "check --deploy" in str(s.get("run", "")))
    assert check["env"]["DJANGO_ENV"] == "production"
    assert "--fail-level WARNING" in check["run"]


@pytest.mark.parametrize("case", ANSWER_SETS[:1], ids=lambda case: case.id)
def test_the_matrix_is_the_render_matrix(case: object) -> None:
    # The workflow checks run on every answer set the render tests use.
    assert len(ANSWER_SETS) >= 6
