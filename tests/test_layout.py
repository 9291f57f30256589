"""The package's layout: imports point one way (ops -> cutover -> runtime -> settings), and
the dotted paths that settings name resolve to the classes they mean."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import django_aws_settings
from django_aws_settings.settings import celery, databases, maintenance, middleware, storages

PACKAGE = Path(django_aws_settings.__file__).resolve().parent
# Each folder may import from the folders after it in this list, never from one before it.
LAYERS = ("management", "ops", "cutover", "runtime", "db", "settings")


def package_imports(path: Path) -> set[str]:
    """The django_aws_settings modules that one file imports, as absolute dotted names."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # A name may be a submodule (`from . import ecs_cli`): count both spellings.
            found.update([target, *(f"{target}.{alias.name}" for alias in node.names)])
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("django_aws_settings.")}


def layer_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_four_rooms_exist() -> None:
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} == {
        "settings",
        "runtime",
        "db",
        "ops",
        "cutover",
        "management",
        # Django's own folder layout for an app's templates, not a Python package.
    } - {"templates"}


def test_the_flat_modules_are_gone() -> None:
    """Only the package's __init__ and the AppConfig stay at the top."""
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "apps.py"]


def test_imports_point_one_way() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if here is None:
            continue
        for imported in sorted(package_imports(path)):
            there = layer_of(imported)
            if there is not None and LAYERS.index(there) < LAYERS.index(here):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {imported}")
    assert wrong == []


def test_settings_import_nothing_outside_settings() -> None:
    outside = {
        f"{path.name}: {imported}"
        for path in (PACKAGE / "settings").glob("*.py")
        for imported in package_imports(path)
        if not imported.startswith("django_aws_settings.settings")
    }
    assert outside == set()


def test_the_import_reader_sees_relative_imports() -> None:
    """The checks above would pass on a reader that found nothing."""
    assert "django_aws_settings.settings.env" in package_imports(PACKAGE / "settings" / "caches.py")
    assert "django_aws_settings.settings.maintenance" in package_imports(
        PACKAGE / "runtime" / "maintenance.py"
    )
    assert "django_aws_settings.cutover.source_check" in package_imports(PACKAGE / "ops" / "cli.py")


def test_the_package_init_swaps_no_module_class() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    assigned = [
        ast.unparse(target)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
    ]
    assert not [name for name in assigned if name.endswith("__class__")]


@pytest.mark.parametrize(
    "dotted",
    [
        middleware.HEALTH_MIDDLEWARE,
        middleware.MAINTENANCE_MIDDLEWARE,
        maintenance.MIDDLEWARE,
        storages.S3_STATIC_BACKEND,
        databases.ROTATING_ENGINE + ".base.DatabaseWrapper",
    ],
)
def test_dotted_paths_in_settings_name_real_classes(dotted: str) -> None:
    module, _, name = dotted.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module), name), type)


def test_the_task_protection_module_exists() -> None:
    assert importlib.import_module(celery.TASK_PROTECTION_MODULE).__name__ == (
        "django_aws_settings.runtime.task_protection"
    )
