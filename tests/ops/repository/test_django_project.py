"""The project package, its settings modules, the production settings and ASGI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from django_aws_settings.ops.repository.django_project import (
    SettingsModule,
    declared_settings,
    django_project,
)

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture

MANAGE = 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{}")\n'


def test_settings_module_file(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "manage.py": MANAGE.format("shop.settings"),
            "shop/__init__.py": "",
            "shop/settings.py": "",
            "shop/wsgi.py": MANAGE.format("shop.settings"),
        }
    )
    project = django_project(root, declared=[], also_named=[], web_asgi=None, packages=[])
    assert (project.project_package, project.settings_modules) == ("shop", ("shop.settings",))
    assert project.production_settings == SettingsModule("shop.settings", "shop/wsgi.py")
    assert (project.asgi, project.manage_py, project.source_root) == (False, "manage.py", ".")


def test_settings_package_under_src_with_production_by_name(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "src/manage.py": MANAGE.format("proj.settings.local"),
            "src/proj/__init__.py": "",
            "src/proj/asgi.py": "",
            "src/proj/settings/__init__.py": "",
            "src/proj/settings/base.py": "",
            "src/proj/settings/local.py": "",
            "src/proj/settings/prod.py": "",
        }
    )
    project = django_project(root, declared=[], also_named=[], web_asgi=None, packages=["channels"])
    assert (project.manage_py, project.source_root, project.project_package) == (
        "src/manage.py",
        "src",
        "proj",
    )
    assert project.settings_modules == (
        "proj.settings.base",
        "proj.settings.local",
        "proj.settings.prod",
    )
    assert project.production_settings == SettingsModule("proj.settings.prod", "by name")
    assert (project.asgi, project.asgi_reason) == (True, "dependency channels")


def test_config_django_layout_found_through_the_named_modules(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "manage.py": MANAGE.format("config.django.base"),
            "config/__init__.py": "",
            "config/wsgi.py": "",
            "config/django/__init__.py": "",
            "config/django/base.py": "",
            "config/django/production.py": "",
            "config/django/test.py": "",
            "config/settings/__init__.py": "",
            "config/settings/cors.py": "",
        }
    )
    project = django_project(root, declared=[], also_named=[], web_asgi=None, packages=[])
    assert project.settings_modules == (
        "config.django.base",
        "config.django.production",
        "config.django.test",
        "config.settings.cors",
    )
    assert project.production_settings == SettingsModule("config.django.production", "by name")


def test_declared_settings_win(make_repo: RepoFactory) -> None:
    root = make_repo(
        {"manage.py": "", "app/__init__.py": "", "app/wsgi.py": MANAGE.format("app.settings")}
    )
    declared = declared_settings(
        [
            ("render.yaml", "DJANGO_SETTINGS_MODULE", "app.settings_render"),
            ("render.yaml", "X", "y"),
        ],
        [("Procfile", "gunicorn app.wsgi --env DJANGO_SETTINGS_MODULE=app.settings_env")],
    )
    assert declared == [
        SettingsModule("app.settings_render", "render.yaml"),
        SettingsModule("app.settings_env", "Procfile"),
    ]
    project = django_project(
        root, declared=declared, also_named=[], web_asgi="Procfile web: uvicorn", packages=[]
    )
    assert project.production_settings == SettingsModule("app.settings_render", "render.yaml")
    assert (project.asgi, project.asgi_reason) == (True, "Procfile web: uvicorn")


def test_release_command_settings_flag(make_repo: RepoFactory) -> None:
    assert declared_settings(
        [], [("Procfile", "python manage.py migrate --settings=shop.settings.heroku")]
    ) == [SettingsModule("shop.settings.heroku", "Procfile")]


def test_no_django_project(tmp_path: Path) -> None:
    project = django_project(tmp_path, declared=[], also_named=[], web_asgi=None, packages=[])
    assert (
        project.manage_py,
        project.project_package,
        project.settings_modules,
        project.production_settings,
    ) == (
        None,
        None,
        (),
        None,
    )
