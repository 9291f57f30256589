"""The template landing in repositories shaped like the common real layouts
(tests/sample_repos): a non-interactive `copier copy` with only the answers no repository
states completes, changes none of the repository's files, takes every other answer from
what the repository says (Procfile, settings, requirements, Python version), keeps beat's
scheduler, and keeps every pattern of the repository's own .dockerignore.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.sample_repos import (
    REPOSITORIES,
    SAMPLE_REPOS,
    UNSTATED,
    pull_request_steps,
    pull_request_tests_step,
)
from support.template import (
    ANSWERS_FILE,
    REQUIRED_ANSWERS,
    changed_files,
    commit_all,
    git,
    host_plumbing,
    placeholder_values,
    render,
    sample_copy,
    snapshot,
    template_checkout,
    update,
)

from django_aws_settings.ops.ecs import render_task_definition
from django_aws_settings.ops.repository import repository_facts
from django_aws_settings.ops.repository.answers import stated_answers

pytestmark = pytest.mark.slow  # a Copier render per repository


class Landed:
    def __init__(self, root: Path, before: dict[str, bytes]) -> None:
        self.root, self.before = root, before
        self.after = snapshot(root)
        self.answers: dict[str, Any] = yaml.safe_load((root / ANSWERS_FILE).read_text())

    def text(self, name: str) -> str:
        return (self.root / name).read_text()


@pytest.fixture(scope="module", params=REPOSITORIES)
def landed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Landed:
    name: str = request.param
    root = tmp_path_factory.mktemp("landing") / name
    shutil.copytree(
        SAMPLE_REPOS / name, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    git(root, "init", "-q")
    commit_all(root, "The app as it runs on the PaaS")
    before = snapshot(root)
    render(root, {**UNSTATED, "project_slug": name.replace("_", "-")})
    return Landed(root, before)


def test_the_copy_changes_no_file_of_the_repository(landed: Landed) -> None:
    changed = changed_files(landed.before, landed.after)
    assert changed & set(landed.before) == set()
    assert set(landed.before) <= set(landed.after)


def test_every_answer_the_repository_states_is_the_default(landed: Landed) -> None:
    stated = stated_answers(repository_facts(landed.root).as_dict())
    recorded = {name: landed.answers.get(name) for name in stated}
    assert recorded == stated


def test_the_defaults_are_what_each_layout_says(landed: Landed) -> None:
    expected = {
        "api_platform": {
            "django_project": "config",
            "settings_module": "config.django.production",
            "python_version": "3.11",
            "dependency_manager": "pip",
            "requirements_file": "requirements/production.txt",
            "celery": True,
            "celery_app": "config.celery_app",
            "celery_queues": "default,emails",
            "celery_beat": True,
            "celery_beat_scheduler": "django_celery_beat.schedulers:DatabaseScheduler",
            "server": "wsgi",
        },
        "cms_site": {
            "django_project": "site_project",
            "settings_module": "site_project.settings.production",
            "python_version": "3.12",
            "dependency_manager": "pip",
            "requirements_file": "requirements.txt",
            "celery": False,
            "server": "wsgi",
        },
        "async_service": {
            "django_project": "service",
            "settings_module": "service.settings",
            "python_version": "3.12",
            "dependency_manager": "uv",
            "celery": True,
            "celery_app": "service",
            "server": "asgi",
        },
    }[landed.root.name]
    assert {name: landed.answers.get(name) for name in expected} == expected


def test_beat_keeps_the_scheduler_the_procfile_names(landed: Landed) -> None:
    beat_file = landed.root / "deploy" / "ecs" / "beat.json"
    if not landed.answers["celery"] or not landed.answers.get("celery_beat"):
        assert not beat_file.exists()
        return
    request = render_task_definition(beat_file, placeholder_values("beat", "staging", None))
    (container,) = request["containerDefinitions"]
    command = container["command"]
    scheduler = landed.answers["celery_beat_scheduler"]
    if scheduler:
        assert command[command.index("--scheduler") + 1] == scheduler
        assert "--schedule" not in command  # the file schedule is unused with a scheduler
    else:
        assert "--scheduler" not in command
    compose = yaml.safe_load(landed.text("deploy/compose.yaml"))
    assert compose["services"]["beat"]["command"] == command


def test_the_build_context_keeps_every_exclusion_of_the_repository(landed: Landed) -> None:
    own = landed.root / ".dockerignore"
    ours = patterns(landed.text("deploy/Dockerfile.dockerignore"))
    # `**/`: dockerignore patterns are anchored at the root; these hold at any depth.
    assert {"**/.env", "**/.env.*", "**/.envs", ".git", "**/*.pem", "**/*.key"} <= set(ours)
    if own.is_file():
        theirs = patterns(own.read_text())
        assert theirs  # the layout has one with patterns
        # Theirs first, in their order; ours add to them and re-include only our config.
        assert ours[: len(theirs)] == theirs
        assert [p for p in ours if p.startswith("!")] == [
            *[p for p in theirs if p.startswith("!")],
            "!deploy/gunicorn.conf.py",
        ]


def patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_a_first_copy_onto_paths_the_template_writes_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "cms_site"
    shutil.copytree(SAMPLE_REPOS / "cms_site", root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "docs" / "aws").mkdir(parents=True)
    (root / "docs" / "aws" / "notes.md").write_text("Our own AWS notes.\n")
    (root / "deploy").mkdir()
    (root / "deploy" / "gunicorn.conf.py").write_text("workers = 3\n")
    git(root, "init", "-q")
    commit_all(root, "The app, with its own docs/aws and deploy/gunicorn.conf.py")
    before = snapshot(root)
    with pytest.raises(ValueError, match=r"^Validation error") as refused:
        render(root, {**UNSTATED, "project_slug": "cms"})
    assert str(refused.value) == (
        "Validation error for question 'django_project': The repository already has "
        "deploy/gunicorn.conf.py, docs/aws, where this template writes; move them aside and "
        "copy again (nothing was written)."
    )
    assert snapshot(root) == before


def test_the_pull_request_tests_run_as_each_repository_runs_them(landed: Landed) -> None:
    step = pull_request_tests_step(landed.root)
    expected = {
        "api_platform": ("pytest", "config.django.test"),
        "cms_site": ("python manage.py test", "site_project.settings.test"),
        "async_service": ("python manage.py test", "service.settings"),
    }[landed.root.name]
    assert (landed.answers["test_command"], step["env"]["DJANGO_SETTINGS_MODULE"]) == expected
    assert expected[0] in step["run"]
    install = next(s for s in pull_request_steps(landed.root) if "Install" in s.get("name", ""))
    if landed.root.name == "api_platform":  # its pytest lives in requirements/local.txt
        assert "--requirement requirements/local.txt" in install["run"]


@pytest.mark.parametrize("with_tests", [True, False], ids=["its-tests", "no-test"])
def test_the_tests_step_passes_and_fails_when_no_test_runs(
    tmp_path: Path, with_tests: bool
) -> None:
    """The Tests step of the generated workflow, run as GitHub's bash runs it, on the
    sample project (`manage.py test`): its tests pass; with them gone, "Ran 0 tests" and
    Django's exit status 0 must still fail the step."""
    root = sample_copy(tmp_path)
    if not with_tests:
        (root / "catalog" / "tests.py").unlink()
    render(root, REQUIRED_ANSWERS)
    step = pull_request_tests_step(root)
    assert step["shell"] == "bash"
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=root,
        env={
            **host_plumbing(tmp_path),
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "RUNNER_TEMP": str(runner_temp),
            **step["env"],
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if with_tests:
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"^Ran [1-9]\d* tests? in ", done.stdout, re.M)
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert "::error::the test command ran no test" in done.stdout


def test_the_procfile_flags_and_release_commands_reach_the_task_definitions(
    landed: Landed,
) -> None:
    commands = {
        role: only_command(landed.root, role, queue)
        for role, queue in (("web", None), ("migrate", None), ("worker", "default"))
        if (landed.root / "deploy" / "ecs" / f"{role}.json").is_file()
    }
    app = landed.answers["django_project"]
    expected = {
        "api_platform": {
            "web": ["gunicorn", "--config", "deploy/gunicorn.conf.py", "--log-file", "-",
                    f"{app}.wsgi:application"],
            "migrate": ["sh", "-c", "python manage.py migrate --noinput"
                        " && exec python manage.py ensure_app_role"],
            "worker": ["celery", "--app", "config.celery_app", "worker", "--queues", "default",
                       "--hostname", "default@%h", "--concurrency", "4",
                       "--max-tasks-per-child", "100", "--without-gossip", "--without-mingle",
                       "--loglevel", "INFO"],
        },
        "cms_site": {  # uwsgi's flags do not apply to gunicorn; heroku.yml's two releases
            "web": ["gunicorn", "--config", "deploy/gunicorn.conf.py", f"{app}.wsgi:application"],
            "migrate": ["sh", "-c", "./manage.py migrate --noinput && ./manage.py createcachetable"
                        " && exec python manage.py ensure_app_role"],
        },
        "async_service": {
            "web": ["gunicorn", "--config", "deploy/gunicorn.conf.py", f"{app}.asgi:application"],
            "migrate": ["sh", "-c", "python manage.py migrate"
                        " && exec python manage.py ensure_app_role"],
            "worker": ["celery", "--app", "service", "worker", "--queues", "default",
                       "--hostname", "default@%h", "--concurrency", "2", "--without-gossip",
                       "--without-mingle", "--loglevel", "INFO"],
        },
    }[landed.root.name]  # fmt: skip
    assert commands == expected
    # Compose runs the same commands (one worker for every queue).
    services = yaml.safe_load(landed.text("deploy/compose.yaml"))["services"]
    assert services["web"]["command"] == commands["web"]
    assert services["migrate"]["command"] == commands["migrate"]


def only_command(root: Path, role: str, queue: str | None) -> list[str]:
    path = root / "deploy" / "ecs" / f"{role}.json"
    request = render_task_definition(path, placeholder_values(role, "staging", queue))
    (container,) = request["containerDefinitions"]
    command: list[str] = container["command"]
    return command


def test_an_update_keeps_what_came_from_the_repository(tmp_path: Path) -> None:
    """`copier update` renders the old and the new release into empty folders for its
    diff; they read the repository's facts too, so the lines that came from them (its
    .dockerignore, its release commands) stay, with no conflict."""
    template = template_checkout(tmp_path / "template")
    git(template, "init", "-q")
    commit_all(template, "v1")
    git(template, "tag", "v1.0.0")
    readme = template / "template" / "docs" / "aws" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nA line of the next release.\n")
    commit_all(template, "v2")
    git(template, "tag", "v2.0.0")

    root = tmp_path / "cms_site"
    shutil.copytree(SAMPLE_REPOS / "cms_site", root, ignore=shutil.ignore_patterns("__pycache__"))
    git(root, "init", "-q")
    commit_all(root, "The app")
    render(root, {**UNSTATED, "project_slug": "cms"}, src_path=template, vcs_ref="v1.0.0")
    commit_all(root, "django-aws-settings v1")
    before = snapshot(root)
    update(root, vcs_ref="v2.0.0")
    after = snapshot(root)

    assert changed_files(before, after) == {"docs/aws/README.md", ANSWERS_FILE}
    assert after["docs/aws/README.md"].endswith(b"\nA line of the next release.\n")
    theirs = patterns((root / ".dockerignore").read_text())
    assert (
        patterns((root / "deploy" / "Dockerfile.dockerignore").read_text())[: len(theirs)] == theirs
    )


def test_the_renders_behind_an_update_read_the_repository_it_runs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extension = load_extension()
    project = tmp_path / "project"
    project.mkdir()
    (project / ANSWERS_FILE).write_text("_src_path: x\n")
    monkeypatch.chdir(project)
    old_copy = tmp_path / "copier._main.old_copy.k2j3" / "sub"
    new_copy = tmp_path / "copier._main.new_copy.x9y8"
    assert extension.repository_root(old_copy) == project
    assert extension.repository_root(new_copy) == project
    assert extension.repository_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.chdir(tmp_path)  # not a rendered repository: the folder itself
    assert extension.repository_root(new_copy) == new_copy


def load_extension() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "extensions" / "repository_facts.py"
    spec = importlib.util.spec_from_file_location("repository_facts_extension", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_say_where_each_variable_goes_and_what_retires(landed: Landed) -> None:
    readme = landed.text("docs/aws/README.md")
    variables = markdown_table(readme, "### What your settings read")
    retired = markdown_table(readme, "## What retires after the cutover")
    project = landed.answers["project_slug"]
    expected_variables, expected_retired = {
        "api_platform": (
            {
                "DJANGO_SECRET_KEY": ("yes", "the same value as SECRET_KEY (env_aliases)"),
                "DATABASE_URL": ("yes", "composed by the overlay from the database secret"),
                "SENTRY_DSN": ("no", f"a key of the app secret `{project}/<environment>/app`"),
                "DJANGO_DEBUG": ("no", f"an SSM parameter `/{project}/<environment>/DJANGO_DEBUG`"),
            },
            {"Procfile", "gunicorn.conf.py"},
        ),
        "cms_site": (
            {
                "SECRET_KEY": ("yes", "the app secret (Terraform generates it)"),
                "SENTRY_DSN": ("no", f"a key of the app secret `{project}/<environment>/app`"),
            },
            {"heroku.yml", "Dockerfile", "runtime.txt"},
        ),
        "async_service": (
            {
                "DB_PASSWORD": ("no", "the same value as database.password (env_aliases)"),
                "DB_HOST": ("no", "the same value as database.host (env_aliases)"),
            },
            {"Procfile", "render.yaml"},
        ),
    }[landed.root.name]
    found = {row[0].strip("`"): (row[1], row[2]) for row in variables}
    assert {name: found.get(name) for name in expected_variables} == expected_variables
    scanned = repository_facts(landed.root).as_dict()["environment"]["variables"]
    assert set(found) == {item["name"] for item in scanned}
    assert {row[0].strip("`") for row in retired} == expected_retired


def markdown_table(text: str, heading: str) -> list[list[str]]:
    """The rows (header and rule left out) of the first table after `heading`."""
    section = text.split(f"\n{heading}\n", 1)[1]
    lines = section.split("\n\n| ", 1)[1].split("\n\n", 1)[0].splitlines()
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def test_every_step_of_the_pull_request_job_can_import_the_settings(landed: Landed) -> None:
    """The variables the settings require at import are in the job's environment (the
    database and Redis as the job's services, the rest as build-only placeholders)."""
    workflow = yaml.safe_load(landed.text(".github/workflows/django-aws-pull-request.yml"))
    job_env = workflow["jobs"]["test"]["env"]
    scanned = repository_facts(landed.root).as_dict()["environment"]["variables"]
    required = {item["name"] for item in scanned if item["required"]}
    assert required <= set(job_env)
    placeholders = {name: value for name, value in job_env.items() if "build-only" in value}
    assert set(placeholders) == required - {"DATABASE_URL", "REDIS_URL"}
