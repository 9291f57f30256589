"""The processes a PaaS runs, from Procfile, heroku.yml, app.json and render.yaml.

Sources are read in this order, which is also the order of precedence for the one web
process: ``heroku.yml`` (it replaces the Procfile when present), ``Procfile``,
``render.yaml``, ``app.json``. Workers and release commands from several sources are all
kept, each naming its source; one declared twice with the same command is kept once.

* Procfile: ``name: command`` lines; ``web`` serves HTTP, ``release`` runs before each
  release (a ``&&`` / ``;`` chain is several release commands, in order).
* heroku.yml: ``run.<name>`` (a string, or ``command`` as a string or a list of commands),
  ``release.command`` (a string or a list, each item one command), ``build.docker`` (which
  Dockerfile Heroku builds, see existing_files), ``build.config`` / ``setup.config``.
* app.json: ``scripts.postdeploy`` (once, after a review app is created: reported apart
  from release), ``formation.<name>.quantity/size``, ``env`` values.
* render.yaml: ``services[]`` with ``type`` (``web`` serves HTTP; ``cron`` is kept as
  another process), ``name``, ``startCommand`` (or ``dockerCommand``),
  ``preDeployCommand`` (release), ``numInstances``, ``plan``, ``envVars[].key/value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .commands import split_chain
from .errors import RepositoryError
from .files import read_json_object, read_text, read_yaml_mapping
from .processes import CeleryBeat, CeleryWorker, OtherProcess, Process, WebProcess, classify

_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$")


@dataclass(frozen=True)
class ReleaseCommand:
    """One command run before a release (or once after a review app's creation)."""

    source: str
    command: str


@dataclass(frozen=True)
class Formation:
    """How many of a process the platform runs, and on what size, as declared."""

    source: str
    name: str
    quantity: int | None
    size: str | None


@dataclass(frozen=True)
class DeclaredVariable:
    """An environment value the platform files set (``value`` only, never generated ones)."""

    source: str
    name: str
    value: str


@dataclass(frozen=True)
class Processes:
    sources: tuple[str, ...]
    web: WebProcess | None
    workers: tuple[CeleryWorker, ...]
    beat: CeleryBeat | None
    release: tuple[ReleaseCommand, ...]
    postdeploy: tuple[ReleaseCommand, ...]
    formation: tuple[Formation, ...]
    other: tuple[OtherProcess, ...]


@dataclass(frozen=True)
class _Declared:
    source: str
    name: str
    command: str
    serves_http: bool


@dataclass
class _Found:
    sources: list[str]
    declared: list[_Declared]
    release: list[ReleaseCommand]
    postdeploy: list[ReleaseCommand]
    formation: list[Formation]
    variables: list[DeclaredVariable]


def _commands(value: Any, where: str, source: str) -> list[str]:
    """A command written as a string, or a list of commands; anything else is an error."""
    if value is None:
        return []
    if isinstance(value, str):
        return split_chain(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [command for item in value for command in split_chain(item)]
    raise RepositoryError(source, f"{where} must be a command or a list of commands")


def _procfile(root: Path, found: _Found) -> None:
    text = read_text(root, "Procfile")
    if text is None:
        return
    found.sources.append("Procfile")
    for line in text.splitlines():
        match = _PROCFILE_LINE.match(line.strip())
        if line.strip().startswith("#") or match is None or not match.group(2).strip():
            continue
        name, command = match.group(1), match.group(2).strip()
        if name == "release":
            found.release.extend(ReleaseCommand("Procfile", part) for part in split_chain(command))
        else:
            found.declared.append(_Declared("Procfile", name, command, name == "web"))


def _heroku_yml(root: Path, found: _Found) -> None:
    document = read_yaml_mapping(root, "heroku.yml")
    if document is None:
        return
    found.sources.append("heroku.yml")
    source = "heroku.yml"
    for section in ("build", "setup"):
        block = document.get(section)
        config = block.get("config") if isinstance(block, dict) else None
        if isinstance(config, dict):
            found.variables.extend(
                DeclaredVariable(source, str(key), str(value))
                for key, value in config.items()
                if value is not None
            )
    release = document.get("release")
    if isinstance(release, dict):
        for command in _commands(release.get("command"), "release.command", source):
            found.release.append(ReleaseCommand(source, command))
    run = document.get("run")
    if isinstance(run, dict):
        for name, value in run.items():
            entry = value.get("command") if isinstance(value, dict) else value
            commands = _commands(entry, f"run.{name}", source)
            if commands:
                found.declared.append(_Declared(source, name, " && ".join(commands), name == "web"))


def _app_json(root: Path, found: _Found) -> None:
    document = read_json_object(root, "app.json")
    if document is None:
        return
    found.sources.append("app.json")
    scripts = document.get("scripts")
    if isinstance(scripts, dict):
        for command in _commands(scripts.get("postdeploy"), "scripts.postdeploy", "app.json"):
            found.postdeploy.append(ReleaseCommand("app.json", command))
    formation = document.get("formation")
    if isinstance(formation, dict):
        for name, entry in formation.items():
            if isinstance(entry, dict):
                quantity = entry.get("quantity")
                size = entry.get("size")
                found.formation.append(
                    Formation(
                        "app.json",
                        name,
                        quantity if isinstance(quantity, int) else None,
                        str(size) if size is not None else None,
                    )
                )
    env = document.get("env")
    if isinstance(env, dict):
        for name, entry in env.items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            if isinstance(value, str):
                found.variables.append(DeclaredVariable("app.json", name, value))


def _render_yaml(root: Path, found: _Found) -> None:
    document = read_yaml_mapping(root, "render.yaml")
    if document is None:
        return
    source = "render.yaml"
    found.sources.append(source)
    services = document.get("services") or []
    if not isinstance(services, list):
        raise RepositoryError(source, "services must be a list")
    for position, service in enumerate(services):
        if not isinstance(service, dict):
            continue
        name = str(service.get("name") or f"services[{position}]")
        kind = service.get("type")
        start = service.get("startCommand") or service.get("dockerCommand")
        commands = _commands(start, f"{name}.startCommand", source)
        if commands:
            found.declared.append(_Declared(source, name, " && ".join(commands), kind == "web"))
        for command in _commands(
            service.get("preDeployCommand"), f"{name}.preDeployCommand", source
        ):
            found.release.append(ReleaseCommand(source, command))
        instances = service.get("numInstances")
        plan = service.get("plan")
        if instances is not None or plan is not None:
            found.formation.append(
                Formation(
                    source,
                    name,
                    instances if isinstance(instances, int) else None,
                    str(plan) if plan is not None else None,
                )
            )
        for variable in service.get("envVars") or []:
            if isinstance(variable, dict) and isinstance(variable.get("value"), str):
                found.variables.append(
                    DeclaredVariable(source, str(variable.get("key")), variable["value"])
                )


def _unique(items: list[ReleaseCommand]) -> tuple[ReleaseCommand, ...]:
    seen: set[str] = set()
    kept: list[ReleaseCommand] = []
    for item in items:
        if item.command not in seen:
            seen.add(item.command)
            kept.append(item)
    return tuple(kept)


def _found(root: Path) -> _Found:
    found = _Found([], [], [], [], [], [])
    # heroku.yml first: with the container stack, Heroku ignores the Procfile.
    for reader in (_heroku_yml, _procfile, _render_yaml, _app_json):
        reader(root, found)
    return found


def platform_files(root: Path) -> tuple[Processes, tuple[DeclaredVariable, ...]]:
    """Every process the repository's PaaS files declare, classified, and the environment
    values they set (heroku.yml config, app.json env, render.yaml envVars)."""
    found = _found(root)
    web: WebProcess | None = None
    workers: list[CeleryWorker] = []
    beat: CeleryBeat | None = None
    other: list[OtherProcess] = []
    seen: set[str] = set()
    for declared in found.declared:
        process: Process = classify(declared.source, declared.name, declared.command)
        duplicate = declared.command in seen
        seen.add(declared.command)
        if isinstance(process, WebProcess) and declared.serves_http and web is None:
            web = process
        elif duplicate:
            continue
        elif isinstance(process, CeleryWorker):
            workers.append(process)
        elif isinstance(process, CeleryBeat) and beat is None:
            beat = process
        else:
            other.append(OtherProcess(declared.source, declared.name, declared.command))
    found_processes = Processes(
        sources=tuple(found.sources),
        web=web,
        workers=tuple(workers),
        beat=beat,
        release=_unique(found.release),
        postdeploy=_unique(found.postdeploy),
        formation=tuple(found.formation),
        other=tuple(other),
    )
    return found_processes, tuple(found.variables)
