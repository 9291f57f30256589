"""``django-aws inspect [PATH] [--json]``: what a repository states about itself.

Reads the repository (Procfile, heroku.yml, app.json, render.yaml, requirements and lock
files, the settings modules, pytest configuration, ignore files) without importing or
running any of it, and prints the facts the template builds on: short sections for people,
or with ``--json`` the shape docs/inspect.md documents.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

from ..settings.errors import ConfigError, Problem
from .repository import RepositoryError, RepositoryFacts, repository_facts
from .repository.requirements import RequirementsFile

LABEL_WIDTH = 20


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inspect = commands.add_parser(
        "inspect",
        help="print what a repository states: processes, settings, dependencies, tests",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    inspect.add_argument(
        "path", nargs="?", default=".", type=Path, help="the repository (default: .)"
    )
    inspect.add_argument(
        "--json", action="store_true", help="print the facts as JSON (docs/inspect.md)"
    )
    inspect.set_defaults(handler=_inspect)


def _inspect(arguments: argparse.Namespace) -> int:
    root: Path = arguments.path
    try:
        facts = repository_facts(root)
    except RepositoryError as error:
        where = error.path if error.path == str(root) else str(root / error.path)
        raise ConfigError([Problem(where, error.reason)]) from None
    if arguments.json:
        print(json.dumps(facts.as_dict(), indent=2, sort_keys=True))
    else:
        print(human_report(facts, str(root)), end="")
    return 0


def _line(label: str, value: str) -> str:
    return f"  {label:<{LABEL_WIDTH}} {value}".rstrip()


def _joined(items: Iterable[str], empty: str = "none") -> str:
    text = ", ".join(items)
    return text or empty


def _named(*pairs: tuple[str, str | None]) -> list[str]:
    """``label value`` for each pair that has a value."""
    return [f"{label} {value}" for label, value in pairs if value]


def _flags(flags: Iterable[str]) -> str:
    text = " ".join(flags)
    return f"; flags {text}" if text else ""


def human_report(facts: RepositoryFacts, root: str) -> str:
    """The facts as short aligned sections, one fact a line."""
    django, processes, deps = facts.django, facts.processes, facts.dependencies
    lines = [f"Repository {root}", "", "Django"]
    project = django.project_package or "not found"
    lines.append(_line("project", f"{project} ({django.manage_py or 'no manage.py'})"))
    production = django.production_settings
    lines.append(
        _line(
            "production settings",
            f"{production.module} ({production.source})" if production else "not found",
        )
    )
    lines.append(_line("settings modules", _joined(django.settings_modules)))
    lines.append(_line("ASGI", f"yes ({django.asgi_reason})" if django.asgi else "no"))

    python = facts.python
    lines += ["", "Python"]
    lines.append(
        _line(
            "version",
            f"{python.version} ({python.source}: {python.declared})" if python else "not stated",
        )
    )

    lines += ["", f"Processes ({_joined(processes.sources)})"]
    web = processes.web
    if web is not None:
        details = _named(
            ("app", web.app),
            ("config", web.config_file),
            ("workers", web.workers),
            ("class", web.worker_class),
            ("bind", web.bind),
        )
        text = ", ".join([web.server, *details])
        lines.append(_line(f"web ({web.name})", text + _flags(web.flags)))
    for worker in processes.workers:
        parts = _named(
            ("app", worker.app),
            ("queues", ",".join(worker.queues) or "default"),
            ("concurrency", worker.concurrency),
            ("pool", worker.pool),
            ("loglevel", worker.loglevel),
        )
        if worker.embeds_beat:
            parts.append("embeds beat")
        lines.append(_line(f"worker ({worker.name})", ", ".join(parts) + _flags(worker.flags)))
    beat = processes.beat
    if beat is not None:
        parts = _named(
            ("app", beat.app),
            ("scheduler", beat.scheduler or "default"),
            ("loglevel", beat.loglevel),
        )
        lines.append(_line(f"beat ({beat.name})", ", ".join(parts) + _flags(beat.flags)))
    for position, release in enumerate(processes.release, 1):
        lines.append(_line(f"release {position}", release.command))
    for position, command in enumerate(processes.postdeploy, 1):
        lines.append(_line(f"postdeploy {position}", command.command))
    for scale in processes.formation:
        size = scale.size or "default size"
        lines.append(_line(f"scale ({scale.name})", f"{scale.quantity or '?'} x {size}"))
    for other in processes.other:
        lines.append(_line(f"other ({other.name})", other.command))
    if not processes.sources:
        lines.append(_line("declared", "none"))

    lines += ["", "Dependencies"]
    source = f" ({deps.manager_source})" if deps.manager_source else ""
    lines.append(_line("manager", f"{deps.manager or 'not found'}{source}"))
    if deps.requirements is not None:
        lines.append(_line("requirements", _tree(deps.requirements.files)))
        for problem in (*deps.requirements.cycles, *deps.requirements.missing):
            lines.append(_line("", f"! {problem}"))
    if deps.lock_file:
        lines.append(_line("lock file", deps.lock_file))
    if deps.dev_groups:
        lines.append(_line("dev groups", _joined(deps.dev_groups)))
    for need in deps.native:
        build = f"build {' '.join(need.build)}; " if need.build else ""
        lines.append(
            _line(f"native {need.package}", f"{build}runtime {' '.join(need.runtime) or 'none'}")
        )
    lines.append(_line("present", _joined(name for name, found in deps.present.items() if found)))

    tests = facts.tests
    lines += ["", "Tests"]
    runner = f"{tests.runner} ({tests.config})" if tests.config else tests.runner or "not found"
    lines.append(_line("runner", runner))
    settings = (
        f"{tests.settings_module} ({tests.settings_source})"
        if tests.settings_module
        else "not found"
    )
    lines.append(_line("settings", settings))
    lines.append(_line("requirements", tests.requirements or "none"))

    environment = facts.environment
    count = len(environment.files)
    lines += ["", f"Environment read at import ({count} file{'s' * (count != 1)})"]
    width = max((len(variable.name) for variable in environment.variables), default=0)
    for variable in environment.variables:
        status = "required" if variable.required else "optional"
        lines.append(f"  {variable.name:<{width}}  {status}  {', '.join(variable.reads)}")
    for load in environment.env_file_loads:
        lines.append(f"  env file loaded at {load}")
    for problem in environment.unparsed:
        lines.append(f"  ! not parsed: {problem}")

    existing = facts.existing_files
    lines += ["", "Existing files"]
    lines.append(_line("would collide", _joined(existing.collisions)))
    dockerignore = existing.dockerignore
    lines.append(
        _line(".dockerignore", "none" if dockerignore is None else _joined(dockerignore, "empty"))
    )
    lines.append(
        _line("staticfiles ignored", "yes" if existing.gitignore_covers_staticfiles else "no")
    )
    for name, dockerfile in existing.heroku_docker_builds.items():
        lines.append(_line("heroku.yml builds", f"{name}: {dockerfile}"))
    return "\n".join(lines) + "\n"


def _tree(files: Iterable[RequirementsFile]) -> str:
    return _joined(
        f"{item.path} (constraints)" if item.kind == "constraints" else item.path for item in files
    )
