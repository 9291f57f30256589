"""The Django project: where manage.py is, the project package, its settings modules.

Module names are relative to ``source_root``, the folder holding ``manage.py`` (the
repository root, or one folder down such as ``src/``), as ``manage.py`` imports them.

* ``project_package``: the package holding ``wsgi.py`` / ``asgi.py`` (the one the
  settings or the web process name, when there are several).
* ``settings_modules``: ``<project>/settings.py``; every module of ``<project>/settings/``;
  and every module of the package of any settings module the repository names (manage.py,
  wsgi.py and asgi.py's ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)``, the PaaS
  files, pytest's configuration), so ``config/django/{base,production,test}.py`` is found.
* ``production_settings``, first found: DJANGO_SETTINGS_MODULE set by the PaaS files
  (heroku.yml config, app.json env, render.yaml envVars, ``VAR=...`` or ``--settings`` in
  a declared command); a settings module named ``production``/``prod``; the default of
  wsgi.py, asgi.py, manage.py; ``<project>.settings``.
* ``asgi``: the web process serves ASGI (uvicorn, daphne, a uvicorn worker class, an
  ``asgi`` module), else channels, daphne, uvicorn or uvicorn-worker is a dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .files import read_text, relative

_SETDEFAULT = re.compile(
    r"""setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']\s*\)"""
)
_SKIPPED_FOLDERS = frozenset(
    {"node_modules", "site-packages", "venv", "env", "tests", "test", "docs", "static", "media"}
)
PRODUCTION_NAMES = ("production", "prod", "settings_production", "production_settings")
ASGI_PACKAGES = ("channels", "daphne", "uvicorn", "uvicorn-worker")


@dataclass(frozen=True)
class SettingsModule:
    module: str
    source: str


@dataclass(frozen=True)
class DjangoProject:
    manage_py: str | None
    source_root: str
    project_package: str | None
    asgi: bool
    asgi_reason: str | None
    settings_modules: tuple[str, ...]
    production_settings: SettingsModule | None


def _folders(base: Path, depth: int) -> Iterable[Path]:
    for child in sorted(base.iterdir()):
        if (
            child.is_dir()
            and not child.name.startswith((".", "_"))
            and child.name not in _SKIPPED_FOLDERS
        ):
            yield child
            if depth > 1:
                yield from _folders(child, depth - 1)


def source_root(root: Path) -> tuple[Path, str | None]:
    """The folder manage.py is in (the root, or one folder down) and manage.py's path."""
    if (root / "manage.py").is_file():
        return root, "manage.py"
    for folder in _folders(root, 1):
        if (folder / "manage.py").is_file():
            return folder, relative(root, folder / "manage.py")
    return root, None


def module_path(base: Path, module: str) -> Path | None:
    """The file of ``module`` under ``base`` (a module file or a package's __init__)."""
    path = base.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def settings_default(root: Path, base: Path, name: str) -> str | None:
    """The module ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` names in a file."""
    text = read_text(root, relative(root, base / name))
    match = _SETDEFAULT.search(text) if text else None
    return match.group(1) if match else None


def _dotted(base: Path, folder: Path) -> str:
    return ".".join(folder.relative_to(base).parts)


def _package_modules(base: Path, package: Path) -> list[str]:
    return [
        _dotted(base, path.with_suffix(""))
        for path in sorted(package.glob("*.py"))
        if path.name != "__init__.py"
    ]


def django_project(
    root: Path,
    *,
    declared: Iterable[SettingsModule],
    also_named: Iterable[str],
    web_asgi: str | None,
    packages: Iterable[str],
) -> DjangoProject:
    """The project facts. ``declared``: DJANGO_SETTINGS_MODULE as the PaaS files set it;
    ``also_named``: other settings modules the repository names (its test configuration);
    ``web_asgi``: why the web process is ASGI, if it is."""
    base, manage_py = source_root(root)
    candidates = [
        folder
        for folder in _folders(base, 2)
        if (folder / "wsgi.py").is_file() or (folder / "asgi.py").is_file()
    ]
    named = list(declared)
    defaults: list[SettingsModule] = []
    for candidate in candidates:
        for name in ("wsgi.py", "asgi.py"):
            found = settings_default(root, candidate, name)
            if found:
                defaults.append(SettingsModule(found, relative(root, candidate / name)))
    manage_default = settings_default(root, base, "manage.py") if manage_py else None
    if manage_default and manage_py:
        defaults.append(SettingsModule(manage_default, manage_py))
    referenced = [item.module for item in (*named, *defaults)] + list(also_named)
    project: Path | None = None
    for module in referenced:
        project = next(
            (folder for folder in candidates if module.startswith(_dotted(base, folder) + ".")),
            None,
        )
        if project:
            break
    if project is None and candidates:
        project = candidates[0]

    modules: list[str] = []
    if project is not None:
        if (project / "settings.py").is_file():
            modules.append(_dotted(base, project / "settings"))
        if (project / "settings" / "__init__.py").is_file():
            modules.extend(_package_modules(base, project / "settings"))
    for module in referenced:
        path = module_path(base, module)
        if path is None:
            continue
        parent = path.parent if path.name != "__init__.py" else path.parent.parent
        if parent in (project, base):
            modules.append(module)
        else:
            modules.extend(_package_modules(base, parent))
    settings_modules = tuple(sorted(dict.fromkeys(modules)))

    production: SettingsModule | None = named[0] if named else None
    if production is None:
        production = next(
            (
                SettingsModule(module, "by name")
                for module in settings_modules
                if module.rsplit(".", 1)[-1] in PRODUCTION_NAMES
            ),
            None,
        )
    if production is None and defaults:
        production = defaults[0]
    if production is None and project is not None and (project / "settings.py").is_file():
        production = SettingsModule(_dotted(base, project / "settings"), "by name")

    present = set(packages)
    reason = web_asgi
    if reason is None:
        reason = next((f"dependency {name}" for name in ASGI_PACKAGES if name in present), None)
    return DjangoProject(
        manage_py=manage_py,
        source_root=relative(root, base) if base != root else ".",
        project_package=_dotted(base, project) if project else None,
        asgi=reason is not None,
        asgi_reason=reason,
        settings_modules=settings_modules,
        production_settings=production,
    )


def declared_settings(
    variables: Iterable[tuple[str, str, str]], commands: Iterable[tuple[str, str]]
) -> list[SettingsModule]:
    """DJANGO_SETTINGS_MODULE as the PaaS files set it: ``variables`` are (source, name,
    value); ``commands`` are (source, command) with ``VAR=...`` or ``--settings``."""
    found: list[SettingsModule] = [
        SettingsModule(value, source)
        for source, name, value in variables
        if name == "DJANGO_SETTINGS_MODULE" and re.fullmatch(r"[\w.]+", value)
    ]
    for source, command in commands:
        match = re.search(r"(?:DJANGO_SETTINGS_MODULE=|--settings[= ])([\w.]+)", command)
        if match:
            found.append(SettingsModule(match.group(1), source))
    return found


def settings_file(root: Path, project: DjangoProject, module: str) -> str | None:
    """The repository path of a settings module, None when it is not in the repository."""
    base = root / project.source_root
    path = module_path(base, module)
    return relative(root, path) if path else None


def settings_named_for_tests(modules: Iterable[str]) -> str | None:
    """A settings module named for tests: ``test``, ``tests``, ``testing``, ``settings_test``."""
    names = ("test", "tests", "testing", "settings_test", "test_settings")
    return next((module for module in modules if module.rsplit(".", 1)[-1] in names), None)
