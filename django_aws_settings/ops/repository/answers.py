"""The Copier answers a repository already states: copier.yml's defaults.

``stated_answers(facts)`` maps ``RepositoryFacts.as_dict()`` to question names; a question
the repository says nothing about is absent, and copier.yml falls back to its own default.
The user can still answer otherwise; the answers file records what was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .variables import stated_aliases

# The images the template can build (python:<version>-slim-bookworm).
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
DEPENDENCY_MANAGERS = ("pip", "poetry", "uv")


def _queues(workers: list[Mapping[str, Any]]) -> str | None:
    """Every queue the workers consume, in the order the processes name them."""
    queues: list[str] = []
    for worker in workers:
        queues += [queue for queue in worker.get("queues") or () if queue not in queues]
    return ",".join(queues) or None


def stated_answers(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Answers to copier.yml's questions, as far as the repository states them."""
    django, processes = facts["django"], facts["processes"]
    dependencies = facts["dependencies"]
    answers: dict[str, Any] = {}
    if django.get("project_package"):
        answers["django_project"] = django["project_package"]
    if django.get("production_settings"):
        answers["settings_module"] = django["production_settings"]["module"]
    python = facts.get("python")
    if python and python["version"] in PYTHON_VERSIONS:
        answers["python_version"] = python["version"]
    answers["server"] = "asgi" if django.get("asgi") else "wsgi"
    if answers["server"] == "asgi":  # the channels question is asked only then
        answers["channels"] = bool(dependencies.get("present", {}).get("channels"))
    if dependencies.get("manager") in DEPENDENCY_MANAGERS:
        answers["dependency_manager"] = dependencies["manager"]
    requirements = dependencies.get("requirements")
    if requirements and requirements.get("start"):
        answers["requirements_file"] = requirements["start"]

    workers, beat = processes.get("workers") or [], processes.get("beat")
    declared = bool(processes.get("sources"))
    uses_celery = bool(workers or beat) or bool(dependencies.get("present", {}).get("celery"))
    answers["celery"] = uses_celery
    celery_app = next((p["app"] for p in [*workers, beat] if p and p.get("app")), None)
    if celery_app:
        answers["celery_app"] = celery_app
    queues = _queues(workers)
    if queues:
        answers["celery_queues"] = queues
    if declared and uses_celery:
        # A worker started with -B runs beat inside it: that is still a beat to keep.
        answers["celery_beat"] = beat is not None or any(w.get("embeds_beat") for w in workers)
    if beat and beat.get("scheduler"):
        answers["celery_beat_scheduler"] = beat["scheduler"]
    beat_flags = _beat_flags(beat["flags"]) if beat else []
    if beat_flags:
        answers["celery_beat_flags"] = beat_flags
    if workers:
        answers.update(_worker_answers(workers[0]))
    web = processes.get("web")
    if web and web.get("server") == "gunicorn" and web.get("flags"):
        answers["web_flags"] = list(web["flags"])
    release = [item["command"] for item in processes.get("release") or ()]
    if release:
        answers["release_commands"] = release
    answers.update(_test_answers(facts["tests"], answers.get("dependency_manager")))
    aliases = stated_aliases(facts)
    if aliases:
        answers["env_aliases"] = aliases
    return answers


# Beat keeps its schedule file in /tmp (the root filesystem is read-only on ECS) and
# runs in the foreground: a Procfile's own file or detach flags do not apply there.
_BEAT_FLAGS_REPLACED = ("-s", "--schedule", "--detach", "--pidfile", "-f", "--logfile")


def _beat_flags(flags: list[str]) -> list[str]:
    """The beat process's other flags, without those the task definition decides."""
    kept: list[str] = []
    skip_value = False
    for flag in flags:
        if skip_value:
            skip_value = False
            continue
        name, has_value, _ = flag.partition("=")
        if name in _BEAT_FLAGS_REPLACED:
            skip_value = not has_value and name not in ("--detach",)
            continue
        kept.append(flag)
    return kept


def _worker_answers(worker: Mapping[str, Any]) -> dict[str, Any]:
    """The first worker's process count, pool and other flags (queues are answered
    separately: each queue gets its own service, all started alike)."""
    answers: dict[str, Any] = {}
    if str(worker.get("concurrency") or "").isdigit():
        answers["celery_concurrency"] = int(worker["concurrency"])
    if worker.get("pool"):
        answers["celery_pool"] = worker["pool"]
    if worker.get("flags"):
        answers["celery_worker_flags"] = list(worker["flags"])
    return answers


def migrate_command(release_commands: list[str]) -> list[str]:
    """The migrate task's command: the release phase's commands in order (``migrate``
    first when none of them migrates), then the app role's grants, which must follow the
    migrations (they cover the tables those create)."""
    steps = list(release_commands)
    if not any("manage.py migrate" in step or "django-admin migrate" in step for step in steps):
        steps.insert(0, "python manage.py migrate --noinput")
    return ["sh", "-c", " && ".join([*steps, "exec python manage.py ensure_app_role"])]


def _test_answers(tests: Mapping[str, Any], manager: str | None) -> dict[str, Any]:
    """How the repository runs its tests: the runner, its settings and requirements."""
    answers: dict[str, Any] = {}
    if tests.get("runner") == "pytest":
        answers["test_command"] = "pytest"
    elif tests.get("runner") == "manage.py test":
        answers["test_command"] = "python manage.py test"
    if tests.get("settings_module"):
        answers["test_settings_module"] = tests["settings_module"]
    if manager == "pip" and tests.get("requirements"):
        answers["test_requirements_file"] = tests["requirements"]
    return answers
