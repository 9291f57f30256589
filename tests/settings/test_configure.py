"""configure(globals()): the whole configuration, its precedence, and check --deploy."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import Aws
from support.postgres import TlsPostgres
from support.projects import Project, copy_example

from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError

HEALTH = "django_aws_settings.runtime.health.HealthCheckMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
SECRET_KEY = secrets.token_urlsafe(48)


def startproject_namespace(base_dir: Path) -> dict[str, Any]:
    return {
        "BASE_DIR": base_dir,
        "SECRET_KEY": "django-insecure-from-startproject",
        "DEBUG": True,
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.staticfiles"],
        "MIDDLEWARE": [
            SECURITY,
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        "DATABASES": {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": base_dir / "db.sqlite3"}
        },
    }


def test_embedded_default_runs_locally(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "MIDDLEWARE": [SECURITY]}
    configure(namespace, {})
    assert namespace["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert namespace["DATABASES"]["default"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert namespace["CACHES"]["default"]["BACKEND"] == (
        "django.core.cache.backends.locmem.LocMemCache"
    )
    assert namespace["STORAGES"]["default"]["BACKEND"] == (
        "django.core.files.storage.FileSystemStorage"
    )
    assert namespace["CELERY_TASK_ALWAYS_EAGER"] is True
    assert namespace["DEBUG"] is True
    assert namespace["DJANGO_AWS_SETTINGS"] == {"ENVIRONMENT": "development", "ASGI": False}
    assert namespace["MIDDLEWARE"] == [HEALTH, SECURITY, WHITENOISE]
    assert namespace["INSTALLED_APPS"] == ["django_aws_settings"]


def test_embedded_default_is_announced_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = sys.modules["django_aws_settings.settings.configure"]
    monkeypatch.setattr(module, "_announced", False)
    configure({"BASE_DIR": tmp_path}, {})
    configure({"BASE_DIR": tmp_path}, {})
    messages = [
        r.getMessage() for r in caplog.records if r.name == "django_aws_settings.settings.configure"
    ]
    assert messages == [
        "django-aws-settings: DJANGO_ENV=development (database sqlite3, cache LocMemCache, "
        "celery eager); set DJANGO_ENV=production for strict mode"
    ]


def test_development_keeps_the_modules_own_values(tmp_path: Path) -> None:
    namespace = startproject_namespace(tmp_path)
    namespace["DATABASES"]["default"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}
    namespace["LOGGING"] = {"version": 1, "mine": True}
    namespace["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/5"
    configure(namespace, {})
    assert namespace["DATABASES"]["default"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "x",
    }
    assert namespace["SECRET_KEY"] == "django-insecure-from-startproject"
    assert namespace["LOGGING"] == {"version": 1, "mine": True}
    # A module with its own broker is not switched to eager mode.
    assert namespace["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/5"
    assert "CELERY_TASK_ALWAYS_EAGER" not in namespace


def test_environment_wins_and_other_aliases_are_kept(tmp_path: Path) -> None:
    namespace = startproject_namespace(tmp_path)
    replica = {"ENGINE": "django.db.backends.postgresql", "NAME": "replica"}
    namespace["DATABASES"]["replica"] = replica
    namespace["CSRF_TRUSTED_ORIGINS"] = ["https://admin.example.com"]
    namespace["CELERY_TASK_ROUTES"] = {"mine.*": {"queue": "mine"}}
    namespace["CELERY_TASK_TIME_LIMIT"] = 600
    configure(
        namespace,
        {
            "DATABASE_URL": "postgres://u:p%23@db.internal:5432/shop",
            "ALLOWED_HOSTS": "shop.example.com",
            "CELERY_BROKER_URL": "redis://cache:6379/0",
            "CELERY_TASK_ROUTES": "shop.tasks.*=emails",
        },
    )
    assert namespace["DATABASES"]["default"]["NAME"] == "shop"
    assert namespace["DATABASES"]["default"]["PASSWORD"] == "p#"
    assert namespace["DATABASES"]["replica"] == replica
    assert namespace["ALLOWED_HOSTS"][0] == "shop.example.com"
    assert namespace["CSRF_TRUSTED_ORIGINS"] == [
        "https://admin.example.com",
        "https://shop.example.com",
    ]
    assert namespace["CELERY_BROKER_URL"] == "redis://cache:6379/0"
    # The environment's routes win; the module's own time limit (not in the env) is kept.
    assert namespace["CELERY_TASK_ROUTES"] == {"shop.tasks.*": {"queue": "emails"}}
    assert namespace["CELERY_TASK_TIME_LIMIT"] == 600


def test_configure_twice_keeps_one_copy_of_each_entry(tmp_path: Path) -> None:
    namespace = startproject_namespace(tmp_path)
    configure(namespace, {})
    first = (list(namespace["MIDDLEWARE"]), list(namespace["INSTALLED_APPS"]))
    configure(namespace, {})
    assert (namespace["MIDDLEWARE"], namespace["INSTALLED_APPS"]) == first
    assert namespace["MIDDLEWARE"] == [
        HEALTH,
        SECURITY,
        WHITENOISE,
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]


@pytest.mark.parametrize(
    ("celery_sign", "broker_required"),
    [
        ({}, False),  # startproject: no Celery anywhere
        ({"CELERY_REQUIRED": "true"}, True),  # what the generated task definitions say
        ({"INSTALLED_APPS": ["django_celery_beat"]}, True),
        ({"CELERY_TASK_TIME_LIMIT": 60}, True),
    ],
    ids=["no-celery", "celery-required", "celery-app-installed", "celery-settings"],
)
def test_production_reports_every_missing_value_at_once(
    tmp_path: Path, celery_sign: dict[str, Any], broker_required: bool
) -> None:
    namespace = startproject_namespace(tmp_path)
    environ = {"DJANGO_ENV": "production"}
    for key, value in celery_sign.items():
        if key == "INSTALLED_APPS":
            namespace[key] = [*namespace[key], *value]
        elif key.isupper() and isinstance(value, str):
            environ[key] = value
        else:
            namespace[key] = value
    before = json.dumps(namespace, default=str)
    with pytest.raises(ConfigError) as error:
        configure(namespace, environ)
    names = [problem.name for problem in error.value.problems]
    expected = [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "AWS_STORAGE_BUCKET_NAME",
    ]
    assert names == expected + (["CELERY_BROKER_URL"] if broker_required else [])
    assert str(error.value).startswith(f"django-aws-settings found {len(names)} problems:")
    # Nothing half-written: the module's namespace is exactly as it was.
    assert json.dumps(namespace, default=str) == before


def test_production_refuses_debug_and_a_weak_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        configure(
            startproject_namespace(tmp_path),
            {
                "DJANGO_ENV": "production",
                "DEBUG": "true",
                "SECRET_KEY": "short-$ecret",
                "ALLOWED_HOSTS": "shop.example.com",
                "DATABASE_URL": "sqlite:////tmp/x.db",
                "CACHE_URL": "locmem://",
                "MEDIA_STORAGE": "none",
                "CELERY_BROKER_URL": "memory://",
            },
        )
    problems = [str(problem) for problem in error.value.problems]
    assert problems[:2] == [
        "DEBUG: must be false when DJANGO_ENV=production (it leaks settings and data)",
        "SECRET_KEY: expected at least 50 characters with at least 5 distinct ones and no "
        "'django-insecure-' prefix (got 12 characters)",
    ]
    assert "short-$ecret" not in str(error.value)


def test_unresolvable_reference_is_reported_before_anything_else(aws: Aws) -> None:
    with pytest.raises(ConfigError) as error:
        configure({}, aws.environ(DJANGO_ENV="production", SECRET_KEY="secretsmanager:nope"))
    assert [str(p) for p in error.value.problems] == [
        "SECRET_KEY: cannot resolve secretsmanager:nope: not found"
    ]


# ------------------------------------------------------------ a real project, production


@pytest.fixture
def production(
    tmp_path: Path, tls_postgres: TlsPostgres, redis_url: str, aws: Aws
) -> tuple[Project, dict[str, str]]:
    aws.client("s3").create_bucket(Bucket="shop-media")
    aws.client("secretsmanager").create_secret(
        Name="shop/prod/app", SecretString=json.dumps({"SECRET_KEY": SECRET_KEY})
    )
    project = copy_example(tmp_path)
    env = project.environ(
        DJANGO_ENV="production",
        SECRET_KEY="secretsmanager:shop/prod/app#SECRET_KEY",
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=tls_postgres.url,
        DATABASE_CA_BUNDLE=str(tls_postgres.ca_path),
        REDIS_URL=redis_url,
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_REGION=aws.region,
        AWS_ENDPOINT_URL=aws.endpoint_url,
        AWS_S3_ENDPOINT_URL=aws.endpoint_url,
        # Mail leaves the task (check W016): through SES, as the template's email=ses sets it.
        DJANGO_AWS_EMAIL="ses",
        DEFAULT_FROM_EMAIL="no-reply@shop.example.com",
    )
    return project, env


@pytest.mark.slow
def test_production_configuration_passes_check_deploy(
    production: tuple[Project, dict[str, str]],
) -> None:
    project, env = production
    result = project.manage("check", "--deploy", "--fail-level", "DEBUG", env=env)
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "System check identified no issues (0 silenced).",
    ), result.stderr


@pytest.mark.slow
def test_production_configuration_migrates_over_verified_tls(
    production: tuple[Project, dict[str, str]],
) -> None:
    project, env = production
    migrate = project.manage("migrate", "--noinput", env=env)
    assert migrate.returncode == 0, migrate.stderr
    shown = project.manage(
        "shell",
        "-c",
        "import json; from django.conf import settings as s; from django.db import connection;"
        "connection.ensure_connection();"
        "print(json.dumps({'ssl': connection.connection.info.pgconn.ssl_in_use,"
        "'sslmode': s.DATABASES['default']['OPTIONS']['sslmode'],"
        "'secret_key_ok': s.SECRET_KEY == " + repr(SECRET_KEY) + ","
        "'middleware': s.MIDDLEWARE[:3], 'debug': s.DEBUG}))",
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == {
        "ssl": True,
        "sslmode": "verify-full",
        "secret_key_ok": True,
        "middleware": [HEALTH, SECURITY, WHITENOISE],
        "debug": False,
    }
    # Production logs are JSON lines.
    assert all(json.loads(line)["level"] for line in migrate.stderr.splitlines() if line)


@pytest.mark.slow
def test_checks_report_each_misconfiguration_by_id(
    production: tuple[Project, dict[str, str]],
) -> None:
    project, env = production
    overlay = project.root / "shop" / "settings_aws.py"
    overlay.write_text(
        overlay.read_text()
        + "\nDEBUG = True\n"
        + "ALLOWED_HOSTS = ['*']\n"
        + "DATABASES['default']['OPTIONS']['sslmode'] = 'require'\n"
        + "CACHES['default'] = {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}\n"
        + "STORAGES['default'] = {'BACKEND': 'django.core.files.storage.FileSystemStorage'}\n"
        + "CELERY_TASK_ALWAYS_EAGER = True\n"
        + "CELERY_BROKER_URL = 'memory://'\n"
        + "CELERY_TASK_TIME_LIMIT = 7200\n"
        + "MIDDLEWARE = MIDDLEWARE[1:] + MIDDLEWARE[:1]\n"
    )
    result = project.manage("check", env=env)
    ids = sorted(
        word.strip("():")
        for line in result.stderr.splitlines()
        for word in line.split()
        if word.strip("():").startswith("django_aws_settings.")
    )
    assert ids == [
        "django_aws_settings.E001",
        "django_aws_settings.W001",
        "django_aws_settings.W003",
        "django_aws_settings.W004",
        "django_aws_settings.W006",
        "django_aws_settings.W007",
        "django_aws_settings.W008",
        "django_aws_settings.W009",
        "django_aws_settings.W010",
    ]


def test_public_names_stay_the_functions_after_submodule_imports() -> None:
    import importlib

    import django_aws_settings

    for name in ("caches", "configure", "databases", "storages"):
        importlib.import_module(f"django_aws_settings.settings.{name}")
        assert callable(getattr(django_aws_settings, name)), name
        assert getattr(django_aws_settings, name).__name__ == name
