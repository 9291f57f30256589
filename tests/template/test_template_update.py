"""`copier update` from one template release to the next keeps the user's edits.

A throwaway git repository holds the template twice: v0.1.0 is today's template with
tests/template_versions/v0.1.0.patch applied (the release before a real change: the
Dockerfile's numeric USER and merged RUN lines, the task definitions' includes), v0.2.0
is today's template. The sample project is rendered at v0.1.0 and committed, the user
edits two generated files where the release does not touch them, then updates to v0.2.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.template import (
    ANSWERS_FILE,
    REQUIRED_ANSWERS,
    TEMPLATE_VERSIONS,
    commit_all,
    git,
    placeholder_values,
    render,
    sample_copy,
    snapshot,
    template_checkout,
    update,
)

from django_aws_settings.ops.ecs import render_task_definition, validation_errors

pytestmark = pytest.mark.slow

OLD, NEW = "v0.1.0", "v0.2.0"
ANSWERS = {**REQUIRED_ANSWERS, "celery_queues": "default,emails"}
GUNICORN_EDIT = "\n# Product image uploads are slow on mobile networks.\ntimeout = 120\n"
CONCURRENCY = ('"--concurrency", "2"', '"--concurrency", "4"')
WORKER_PROCESSES = (
    '{"name": "WEB_CONCURRENCY", "value": "2"}',
    '{"name": "WEB_CONCURRENCY", "value": "4"}',
)
CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>")


@pytest.fixture(scope="module")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's git history in two tagged releases."""
    repository = tmp_path_factory.mktemp("template") / "django-aws-settings"
    template_checkout(repository)
    git(repository, "init", "-q")
    patch = str(TEMPLATE_VERSIONS / f"{OLD}.patch")
    git(repository, "apply", patch)
    commit_all(repository, "Release 0.1.0")
    git(repository, "tag", OLD)
    git(repository, "apply", "--reverse", patch)
    commit_all(repository, "Numeric USER, one RUN layer, tidy includes")
    git(repository, "tag", NEW)
    return repository


@dataclass(frozen=True)
class Updated:
    before: dict[str, bytes]  # the project as rendered at v0.1.0, before the user's edits
    root: Path

    def text(self, name: str) -> str:
        return (self.root / name).read_text()


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory, template_repository: Path) -> Updated:
    root = sample_copy(tmp_path_factory.mktemp("update"))
    render(root, ANSWERS, src_path=template_repository, vcs_ref=OLD)
    commit_all(root, "Add django-aws-settings 0.1.0")
    before = snapshot(root)

    with (root / "deploy" / "gunicorn.conf.py").open("a") as config:
        config.write(GUNICORN_EDIT)
    worker = root / "deploy" / "ecs" / "worker.json"
    text = worker.read_text()
    for old, new in (CONCURRENCY, WORKER_PROCESSES):
        assert text.count(old) == 1, f"expected one {old} in worker.json"
        text = text.replace(old, new)
    worker.write_text(text)
    commit_all(root, "Four worker processes; longer gunicorn timeout")

    update(root, vcs_ref=NEW)
    return Updated(before, root)


def test_the_old_release_was_rendered_first(updated: Updated) -> None:
    assert b"\nUSER app:app\n" in updated.before["Dockerfile"]


def test_files_moved_out_of_the_repository_root_leave_no_copy_behind(updated: Updated) -> None:
    """The image and compose files moved under deploy/ (where they collide with nothing
    of the app's): the update removes the old render's copies it wrote at the root."""
    after = snapshot(updated.root)
    assert {"Dockerfile", ".dockerignore", "compose.yaml"} & set(updated.before) == {
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
    }
    assert {"Dockerfile", ".dockerignore", "compose.yaml"} & set(after) == set()
    moved = {"deploy/Dockerfile", "deploy/Dockerfile.dockerignore", "deploy/compose.yaml"}
    assert moved <= set(after)


def test_user_edits_survive(updated: Updated) -> None:
    worker = updated.text("deploy/ecs/worker.json")
    assert updated.text("deploy/gunicorn.conf.py").endswith(GUNICORN_EDIT)
    assert (CONCURRENCY[1] in worker, WORKER_PROCESSES[1] in worker) == (True, True)


def test_the_release_arrives(updated: Updated) -> None:
    dockerfile = updated.text("deploy/Dockerfile")
    assert "\nUSER 10001:10001\n" in dockerfile
    assert "RUN python -m compileall -q /app \\\n    && DJANGO_ENV=development" in dockerfile
    assert '],\n  "cpu": "512",\n' in updated.text("deploy/ecs/worker.json")


def test_nothing_is_left_to_resolve(updated: Updated) -> None:
    unresolved = {
        name
        for name, content in snapshot(updated.root).items()
        if name.endswith((".rej", ".orig")) or any(m.encode() in content for m in CONFLICT_MARKERS)
    }
    assert unresolved == set()


def test_merged_task_definition_is_still_a_valid_request(updated: Updated) -> None:
    path = updated.root / "deploy" / "ecs" / "worker.json"
    request = render_task_definition(path, placeholder_values("worker", "staging", "emails"))
    command = request["containerDefinitions"][0]["command"]
    assert validation_errors(request) == []
    assert command[command.index("--concurrency") + 1] == "4"


def test_answers_file_records_the_new_release(updated: Updated) -> None:
    answers = yaml.safe_load(updated.text(ANSWERS_FILE))
    assert (answers["_commit"], answers["celery_queues"]) == (NEW, "default,emails")
