"""The environment variables a project's settings read at import, by a static AST scan.

Nothing is imported or executed. The scan reads every settings module and, recursively,
every module of the repository they import (``from .base import *``, ``import
config.env``). Code inside functions and lambdas does not run at import and is skipped;
class bodies and module level are read.

Recognised reads (``X`` must be a string literal; ``required`` means the settings fail
to import without it):

* ``os.environ["X"]`` (required); ``os.environ.get("X"[, d])``, ``os.environ.setdefault``,
  ``os.getenv("X"[, d])``, ``"X" in os.environ`` (not required); also through
  ``from os import environ, getenv`` and ``import os as o``;
* django-environ, on any name bound to ``environ.Env(...)`` / ``Env(...)`` in a scanned
  module (or imported from one): ``env("X")`` and ``env.str/bool/int/float/list/tuple/dict/
  json/url/db/db_url/cache/cache_url/email/email_url/search_url/path("X")`` are required
  unless given ``default=`` (or, for the typed methods, a second positional argument) or
  a default in the ``Env(X=(type, default))`` scheme; ``env.db()`` reads DATABASE_URL,
  ``env.cache()`` CACHE_URL, ``env.email()`` EMAIL_URL, ``env.search_url()`` SEARCH_URL;
  ``env.read_env(...)`` / ``environ.Env.read_env(...)`` are listed as env-file loads;
* python-decouple: ``config("X")`` (imported from decouple, or an ``AutoConfig``/``Config``
  instance), required unless given ``default=`` or a second positional argument;
* ``dj_database_url.config()`` reads DATABASE_URL (or ``env=``), not required;
  python-dotenv's ``load_dotenv(...)`` is an env-file load.

A read inside ``if``/conditional expression whose test reads the same variable
(``if "DATABASE_URL" in os.environ:``), or inside ``try`` with an ``except`` that catches
KeyError, ImproperlyConfigured, UndefinedValueError or Exception, is not required.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .django_project import module_path
from .files import read_text, relative

ENV_METHODS = frozenset(
    {
        "str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "db", "db_url",
        "cache", "cache_url", "email", "email_url", "search_url", "path", "bytes", "parse_value",
    }
)  # fmt: skip
ENV_METHOD_DEFAULT_NAMES = {
    "db": "DATABASE_URL",
    "db_url": "DATABASE_URL",
    "cache": "CACHE_URL",
    "cache_url": "CACHE_URL",
    "email": "EMAIL_URL",
    "email_url": "EMAIL_URL",
    "search_url": "SEARCH_URL",
}
GUARDING_EXCEPTIONS = frozenset(
    {"KeyError", "ImproperlyConfigured", "UndefinedValueError", "Exception", "BaseException"}
)
MAX_FILES = 200


@dataclass(frozen=True)
class EnvironmentVariable:
    """One variable: required at import or not, and every ``file:line`` that reads it."""

    name: str
    required: bool
    reads: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentScan:
    files: tuple[str, ...]
    variables: tuple[EnvironmentVariable, ...]
    env_file_loads: tuple[str, ...]
    unparsed: tuple[str, ...]


@dataclass
class _Names:
    """What names mean in one module."""

    os_modules: set[str] = field(default_factory=set)
    environ: set[str] = field(default_factory=set)
    getenv: set[str] = field(default_factory=set)
    environ_modules: set[str] = field(default_factory=set)
    env_classes: set[str] = field(default_factory=set)
    decouple_modules: set[str] = field(default_factory=set)
    config_classes: set[str] = field(default_factory=set)
    dj_database_url: set[str] = field(default_factory=set)
    load_dotenv: set[str] = field(default_factory=set)
    dotenv_modules: set[str] = field(default_factory=set)


@dataclass
class _Shared:
    """Names bound across the scanned modules (settings star-import each other)."""

    env_instances: set[str] = field(default_factory=set)
    env_defaults: set[str] = field(default_factory=set)
    config_callables: set[str] = field(default_factory=set)


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _imported_names(tree: ast.Module) -> _Names:
    names = _Names()
    for node in _module_level(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                {
                    "os": names.os_modules,
                    "environ": names.environ_modules,
                    "decouple": names.decouple_modules,
                    "dj_database_url": names.dj_database_url,
                    "dotenv": names.dotenv_modules,
                }.get(alias.name, set()).add(bound)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                bound = alias.asname or alias.name
                target = {
                    ("os", "environ"): names.environ,
                    ("os", "getenv"): names.getenv,
                    ("environ", "Env"): names.env_classes,
                    ("environ", "FileAwareEnv"): names.env_classes,
                    ("decouple", "AutoConfig"): names.config_classes,
                    ("decouple", "Config"): names.config_classes,
                    ("dotenv", "load_dotenv"): names.load_dotenv,
                }.get((node.module or "", alias.name))
                if target is not None:
                    target.add(bound)
    return names


def _module_level(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that runs at import: not inside a function or a lambda."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                stack.append(child)


class _Module:
    def __init__(self, path: str, tree: ast.Module, shared: _Shared) -> None:
        self.path = path
        self.tree = tree
        self.names = _imported_names(tree)
        self.shared = shared

    def bind_instances(self) -> None:
        """Record names bound to django-environ Env or decouple config instances."""
        names = self.names
        for node in _module_level(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == "decouple":
                self.shared.config_callables.update(
                    alias.asname or alias.name for alias in node.names if alias.name == "config"
                )
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
                continue
            func = node.value.func
            is_env = (isinstance(func, ast.Name) and func.id in names.env_classes) or (
                isinstance(func, ast.Attribute)
                and func.attr in ("Env", "FileAwareEnv")
                and isinstance(func.value, ast.Name)
                and func.value.id in names.environ_modules
            )
            is_config = (isinstance(func, ast.Name) and func.id in names.config_classes) or (
                isinstance(func, ast.Attribute)
                and func.attr in ("AutoConfig", "Config")
                and isinstance(func.value, ast.Name)
                and func.value.id in names.decouple_modules
            )
            targets = {target.id for target in node.targets if isinstance(target, ast.Name)}
            if is_env:
                self.shared.env_instances.update(targets)
                for keyword in node.value.keywords:
                    if (
                        keyword.arg
                        and isinstance(keyword.value, ast.Tuple)
                        and len(keyword.value.elts) >= 2
                    ):
                        self.shared.env_defaults.add(keyword.arg)
            elif is_config:
                self.shared.config_callables.update(targets)

    def is_environ(self, node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in self.names.environ) or (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.names.os_modules
        )

    def read_of(self, node: ast.AST) -> tuple[str, bool] | None:
        """(variable, required) when ``node`` itself reads one; None otherwise."""
        if isinstance(node, ast.Subscript) and self.is_environ(node.value):
            name = _const(node.slice)
            return (name, True) if name else None
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            if isinstance(node.ops[0], ast.In | ast.NotIn) and self.is_environ(node.comparators[0]):
                name = _const(node.left)
                return (name, False) if name else None
            return None
        if not isinstance(node, ast.Call):
            return None
        func, args = node.func, node.args
        first = _const(args[0]) if args else None
        if isinstance(func, ast.Attribute):
            owner = func.value
            if func.attr in ("get", "setdefault") and self.is_environ(owner):
                return (first, False) if first else None
            if isinstance(owner, ast.Name):
                if func.attr == "getenv" and owner.id in self.names.os_modules:
                    return (first, False) if first else None
                if owner.id in self.shared.env_instances and func.attr in ENV_METHODS:
                    name = first or _const(_keyword(node, "var"))
                    name = name or (ENV_METHOD_DEFAULT_NAMES.get(func.attr) if not args else None)
                    if name is None:
                        return None
                    has_default = _keyword(node, "default") is not None or len(args) >= 2
                    return name, not has_default and name not in self.shared.env_defaults
                if func.attr == "config" and owner.id in self.names.decouple_modules:
                    return self._decouple(node, first)
                if func.attr == "config" and owner.id in self.names.dj_database_url:
                    return _const(_keyword(node, "env")) or "DATABASE_URL", False
            return None
        if isinstance(func, ast.Name):
            if func.id in self.names.getenv:
                return (first, False) if first else None
            if func.id in self.shared.env_instances and first:
                has_default = _keyword(node, "default") is not None
                return first, not has_default and first not in self.shared.env_defaults
            if func.id in self.shared.config_callables:
                return self._decouple(node, first)
        return None

    @staticmethod
    def _decouple(call: ast.Call, first: str | None) -> tuple[str, bool] | None:
        if first is None:
            return None
        return first, _keyword(call, "default") is None and len(call.args) < 2

    def is_env_file_load(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in self.names.load_dotenv
        if not isinstance(func, ast.Attribute):
            return False
        owner = func.value
        if func.attr == "read_env":
            return (
                (isinstance(owner, ast.Name) and owner.id in self.shared.env_instances)
                or (
                    isinstance(owner, ast.Attribute)
                    and owner.attr in ("Env", "FileAwareEnv")
                    and isinstance(owner.value, ast.Name)
                    and owner.value.id in self.names.environ_modules
                )
                or (isinstance(owner, ast.Name) and owner.id in self.names.env_classes)
            )
        return (
            func.attr == "load_dotenv"
            and isinstance(owner, ast.Name)
            and owner.id in self.names.dotenv_modules
        )

    def reads(self) -> tuple[list[tuple[str, bool, int]], list[int]]:
        """Every read (variable, required, line) at import, and the lines loading env files."""
        found: list[tuple[str, bool, int]] = []
        loads: list[int] = []
        guards: list[set[str]] = []

        def guarded(name: str) -> bool:
            return any(name in guard or "*" in guard for guard in guards)

        def names_in(node: ast.AST) -> set[str]:
            return {read[0] for child in ast.walk(node) if (read := self.read_of(child))}

        def visit(node: ast.AST) -> None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                return
            read = self.read_of(node)
            if read is not None:
                found.append((read[0], read[1] and not guarded(read[0]), _line(node)))
            if self.is_env_file_load(node):
                loads.append(_line(node))
            if isinstance(node, ast.If | ast.IfExp):
                visit(node.test)
                guards.append(names_in(node.test))
                for child in (
                    [node.body, node.orelse]
                    if isinstance(node, ast.IfExp)
                    else [*node.body, *node.orelse]
                ):
                    visit(child)
                guards.pop()
                return
            if isinstance(node, ast.Try) and any(
                _catches(handler.type) for handler in node.handlers
            ):
                guards.append({"*"})
                for child in node.body:
                    visit(child)
                guards.pop()
                for rest in [*node.handlers, *node.orelse, *node.finalbody]:
                    visit(rest)
                return
            for nested in ast.iter_child_nodes(node):
                visit(nested)

        visit(self.tree)
        return found, loads

    def local_imports(self, base: Path, module: str, is_package: bool) -> list[str]:
        """Modules this module imports at import time (whether or not they exist)."""
        package = module if is_package else module.rpartition(".")[0]
        imported: list[str] = []
        for node in _module_level(self.tree):
            if isinstance(node, ast.Import):
                imported.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - node.level + 1]
                    target = ".".join([*parts, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                submodules = [f"{target}.{alias.name}" for alias in node.names]
                found = [name for name in submodules if module_path(base, name) is not None]
                # ``from . import sentry`` reaches a submodule; the package itself is only
                # read when a name comes from it (``from .base import *``).
                imported.extend(found if len(found) == len(submodules) else [target, *found])
        return [name for name in imported if name and module_path(base, name) is not None]


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _catches(handler: ast.expr | None) -> bool:
    if handler is None:
        return True
    names = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(
        (isinstance(name, ast.Name) and name.id in GUARDING_EXCEPTIONS)
        or (isinstance(name, ast.Attribute) and name.attr in GUARDING_EXCEPTIONS)
        for name in names
    )


def scan_settings(root: Path, base: Path, modules: Iterable[str]) -> EnvironmentScan:
    """Scan ``modules`` (dotted, relative to ``base``) and the local modules they import."""
    shared = _Shared()
    parsed: dict[str, _Module] = {}
    unparsed: list[str] = []
    pending = list(modules)
    seen: set[str] = set()
    while pending and len(seen) < MAX_FILES:
        module = pending.pop(0)
        path = module_path(base, module)
        if module in seen or path is None:
            continue
        seen.add(module)
        name = relative(root, path)
        text = read_text(root, name)
        if text is None or name in parsed:
            continue
        try:
            tree = ast.parse(text, name)
        except SyntaxError as error:
            unparsed.append(f"{name}:{error.lineno}: {error.msg}")
            continue
        parsed[name] = _Module(name, tree, shared)
        pending.extend(parsed[name].local_imports(base, module, path.name == "__init__.py"))
    for scanned in parsed.values():
        scanned.bind_instances()
    reads: dict[str, list[tuple[bool, str]]] = {}
    loads: list[str] = []
    for name in sorted(parsed):
        found, env_loads = parsed[name].reads()
        for variable, required, line in found:
            reads.setdefault(variable, []).append((required, f"{name}:{line}"))
        loads.extend(f"{name}:{line}" for line in env_loads)
    variables = tuple(
        EnvironmentVariable(
            variable,
            any(required for required, _ in entries),
            tuple(dict.fromkeys(where for _, where in entries)),
        )
        for variable, entries in sorted(reads.items())
    )
    return EnvironmentScan(tuple(sorted(parsed)), variables, tuple(loads), tuple(unparsed))
