"""What Copier knows of the repository it lands in: the facts of
``django_aws_settings.ops.repository`` (Procfile, settings, requirements, Python version,
existing files...), offered to copier.yml and the templates as ``repository_facts()``.

copier-template-extensions loads this file from the template's checkout, so the package
does not have to be installed where Copier runs: the reader uses the standard library
only, and is loaded here by path under a private name.

``copier update`` renders the old and the new template into empty temporary folders to
compute its diff; facts read there would be empty and the diff would remove every line
that came from them. Those renders read the repository ``copier update`` runs in (the
working directory holding the answers file) instead, so all three renders agree.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import cache
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

from copier.errors import UserMessageError
from jinja2 import Environment
from jinja2.ext import Extension

CHECKOUT = Path(__file__).resolve().parent.parent
READER = CHECKOUT / "django_aws_settings" / "ops" / "repository"
# One name per checkout: `copier update` loads the old and the new release in one process.
MODULE = "_django_aws_repository_facts_" + hashlib.sha256(str(READER).encode()).hexdigest()[:12]
ANSWERS_FILE = ".copier-answers.django-aws.yml"
# The cost estimate (docs/aws/README.md's "What it costs"), standard library only too.
COST = CHECKOUT / "django_aws_settings" / "ops" / "cost"
COST_MODULE = "_django_aws_cost_" + hashlib.sha256(str(COST).encode()).hexdigest()[:12]
UPDATE_COPIES = ("copier._main.old_copy.", "copier._main.new_copy.")


def _reader() -> ModuleType:
    if MODULE in sys.modules:
        return sys.modules[MODULE]
    spec = importlib.util.spec_from_file_location(
        MODULE, READER / "__init__.py", submodule_search_locations=[str(READER)]
    )
    if spec is None or spec.loader is None:
        raise UserMessageError(f"django-aws-settings: no repository reader at {READER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    return module


def repository_root(destination: str | PurePath) -> Path:
    """The repository whose facts a render should use (see the module docstring)."""
    path = Path(destination)
    if any(part.startswith(UPDATE_COPIES) for part in path.parts):
        working = Path.cwd()
        if (working / ANSWERS_FILE).is_file():
            return working
    return path


@cache
def _facts(root: str) -> dict[str, Any]:
    reader = _reader()
    try:
        facts: dict[str, Any] = reader.repository_facts(Path(root)).as_dict()
    except reader.RepositoryError as error:
        raise UserMessageError(f"django-aws-settings: {error}") from None
    return facts


@cache
def _answers(root: str) -> dict[str, Any]:
    facts = _facts(root)
    stated: dict[str, Any] = importlib.import_module(f"{MODULE}.answers").stated_answers(facts)
    return stated


def _root(destination: str | PurePath) -> str:
    return str(repository_root(destination).resolve())


class RepositoryFacts(Extension):
    """``repository_facts(_copier_conf.dst_path)``: the facts as plain dicts and lists;
    ``repository_answers(_copier_conf.dst_path)``: the answers they state (copier.yml's
    defaults), a question the repository says nothing about left out."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["repository_facts"] = lambda destination: _facts(_root(destination))
        environment.globals["repository_answers"] = lambda destination: _answers(_root(destination))
        environment.globals["repository_taken"] = _taken
        environment.globals["repository_image"] = _image
        environment.globals["migrate_command"] = _migrate_command
        environment.globals["repository_variables"] = _variables
        environment.globals["repository_retired"] = _retired
        environment.globals["repository_cost"] = _cost
        environment.globals["needs_elasticache"] = lambda **answers: _derived().needs_elasticache(
            answers
        )
        environment.globals["package_extras"] = lambda **answers: _derived().package_extras(answers)


def _derived() -> ModuleType:
    """copier.yml's derived answers (ElastiCache, the package's extras)."""
    _reader()
    return importlib.import_module(f"{MODULE}.derived")


def _variables(destination: str | PurePath, env_aliases: str, project: str) -> list[Any]:
    """Each variable the settings read and where it comes from on ECS."""
    facts = _facts(_root(destination))
    rows: list[Any] = importlib.import_module(f"{MODULE}.variables").variable_destinations(
        facts, env_aliases, project=project
    )
    return rows


def _cost(answers: dict[str, Any]) -> str:
    """The generated README's "What it costs" section for the answers being rendered."""
    if COST_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            COST_MODULE, COST / "__init__.py", submodule_search_locations=[str(COST)]
        )
        if spec is None or spec.loader is None:
            raise UserMessageError(f"django-aws-settings: no cost estimate at {COST}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[COST_MODULE] = module
        spec.loader.exec_module(module)
    cost = sys.modules[COST_MODULE]
    try:
        section: str = cost.repository_cost(dict(answers))
    except cost.CostError as error:
        raise UserMessageError(f"django-aws-settings: {error}") from None
    return section


def _retired(destination: str | PurePath) -> list[Any]:
    """The PaaS's own files to retire after the cutover."""
    facts = _facts(_root(destination))
    rows: list[Any] = importlib.import_module(f"{MODULE}.variables").retired_after_cutover(facts)
    return rows


def _migrate_command(release_commands: list[str]) -> list[str]:
    """The migrate task's command for the release phase's commands."""
    _reader()
    command: list[str] = importlib.import_module(f"{MODULE}.answers").migrate_command(
        list(release_commands)
    )
    return command


def _image(
    destination: str | PurePath, dependency_manager: str, requirements_file: str, server: str
) -> dict[str, Any]:
    """What deploy/Dockerfile (and the PR workflow's placeholders) need: requirement files,
    Debian packages, placeholders; read once per render."""
    return _image_plan(_root(destination), dependency_manager, requirements_file, server)


@cache
def _image_plan(
    root: str, dependency_manager: str, requirements_file: str, server: str
) -> dict[str, Any]:
    facts = _facts(root)
    plan: dict[str, Any] = importlib.import_module(f"{MODULE}.image").image_plan(
        Path(root),
        facts,
        dependency_manager=dependency_manager,
        requirements_file=requirements_file or None,
        server=server,
    )
    return plan


def _taken(destination: str | PurePath, django_project: str) -> str:
    """The paths a first copy would overwrite, comma-separated ("" when none)."""
    _reader()
    landing = importlib.import_module(f"{MODULE}.landing")
    return ", ".join(landing.taken_paths(Path(_root(destination)), django_project))
