"""The Copier answers a repository already states: copier.yml's defaults.

``stated_answers(facts)`` maps ``RepositoryFacts.as_dict()`` to question names; a question
the repository says nothing about is absent, and copier.yml falls back to its own default.
The user can still answer otherwise; the answers file records what was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    return answers
