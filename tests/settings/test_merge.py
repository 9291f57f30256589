"""configure() keeps what the app decided: merge, never replace (docs/configure.md's table),
and it says what it changed (settings/report.py, ``manage.py configured_settings``)."""

from __future__ import annotations

import io
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from support.projects import copy_example

from django_aws_settings.apps import running_a_management_command
from django_aws_settings.management.commands.configured_settings import Command
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError
from django_aws_settings.settings.report import MASK, described, last_changes, log_replaced

PASSWORD = "Pl4nted-S3cret"
SECRET_KEY = "k" * 30 + "ey-for-the-merge-tests-0123456789"
DJANGO_REDIS = "django_redis.cache.RedisCache"


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    """Everything production requires, with a CA bundle that exists."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"postgres://shop:{PASSWORD}@db.internal:5432/shop",
        "DATABASE_CA_BUNDLE": str(ca),
        "CACHE_URL": f"rediss://:{PASSWORD}@cache.internal:6379/0",
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
        "AWS_REGION": "eu-west-1",
    }


def module(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": [], **settings}


# ------------------------------------------------------------------------------ DATABASES


def test_database_alias_keeps_every_key_the_package_does_not_build(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(
        tmp_path,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "local",
                "HOST": "localhost",
                "ATOMIC_REQUESTS": True,
                "TEST": {"NAME": "test_shop"},
                "TIME_ZONE": "Europe/Paris",
                "OPTIONS": {"options": "-c statement_timeout=5000", "sslmode": "disable"},
            }
        },
    )
    configure(namespace, production)
    default = namespace["DATABASES"]["default"]
    assert (default["ATOMIC_REQUESTS"], default["TEST"], default["TIME_ZONE"]) == (
        True,
        {"NAME": "test_shop"},
        "Europe/Paris",
    )
    assert (default["HOST"], default["NAME"]) == ("db.internal", "shop")
    # The app's own libpq options stay; the connection's TLS is the package's.
    assert default["OPTIONS"]["options"] == "-c statement_timeout=5000"
    assert default["OPTIONS"]["sslmode"] == "verify-full"


def test_another_engines_options_do_not_reach_psycopg(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(
        tmp_path,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": "db.sqlite3",
                "ATOMIC_REQUESTS": True,
                "OPTIONS": {"timeout": 20},
            }
        },
    )
    configure(namespace, production)
    default = namespace["DATABASES"]["default"]
    assert "timeout" not in default["OPTIONS"]
    assert default["ATOMIC_REQUESTS"] is True


# ----------------------------------------------------------------------------------- Celery


@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "django-db"), ({"CELERY_RESULT_BACKEND": "disabled"}, None)],
    ids=["module-backend-kept", "environment-wins"],
)
def test_the_modules_result_backend_is_kept_unless_the_environment_names_one(
    tmp_path: Path, environment: dict[str, str], expected: str | None
) -> None:
    namespace = module(tmp_path, CELERY_RESULT_BACKEND="django-db")
    configure(namespace, {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", **environment})
    assert namespace["CELERY_RESULT_BACKEND"] == expected
    assert namespace["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"


def test_production_without_celery_writes_no_celery_settings(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(tmp_path)
    configure(namespace, production)
    # CACHE_URL is Redis, so a broker is derived and Celery is configured...
    assert namespace["CELERY_BROKER_URL"].startswith("rediss://")
    namespace = module(tmp_path)
    configure(namespace, {**production, "CACHE_URL": "locmem://"})
    # ...but with nothing to derive it from and no sign of Celery, nothing CELERY_ is written.
    assert [key for key in namespace if key.startswith("CELERY_")] == []


# ------------------------------------------------------------------------------- storages


def test_filesystem_media_uses_the_modules_media_root(tmp_path: Path) -> None:
    uploads = tmp_path / "var" / "uploads"
    namespace = module(tmp_path, MEDIA_ROOT=str(uploads))
    configure(namespace, {})
    assert namespace["MEDIA_ROOT"] == str(uploads)
    assert namespace["STORAGES"]["default"]["OPTIONS"]["location"] == str(uploads)


def test_public_media_the_module_chose_is_not_silently_signed(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(tmp_path, AWS_QUERYSTRING_AUTH=False)
    with pytest.raises(ConfigError) as error:
        configure(namespace, production)
    assert [p.name for p in error.value.problems] == ["MEDIA_PUBLIC"]
    assert "MEDIA_PUBLIC=false" in str(error.value)
    assert "MEDIA_PUBLIC=true" in str(error.value)
    assert "STORAGES" not in namespace  # nothing half-written

    configure(namespace, {**production, "MEDIA_PUBLIC": "false"})
    assert namespace["STORAGES"]["default"]["OPTIONS"]["querystring_auth"] is True
    configure(namespace, {**production, "MEDIA_PUBLIC": "true"})
    assert namespace["STORAGES"]["default"]["OPTIONS"]["querystring_auth"] is False


# ------------------------------------------------------------------------------- security


def test_the_apps_hsts_ramp_is_kept(tmp_path: Path, production: dict[str, str]) -> None:
    namespace = module(tmp_path, SECURE_HSTS_SECONDS=60)
    configure(namespace, production)
    assert (
        namespace["SECURE_HSTS_SECONDS"],
        namespace["SECURE_HSTS_INCLUDE_SUBDOMAINS"],
        namespace["SECURE_HSTS_PRELOAD"],
    ) == (60, False, False)


def test_hsts_from_the_environment_wins(tmp_path: Path, production: dict[str, str]) -> None:
    namespace = module(tmp_path, SECURE_HSTS_SECONDS=60, SECURE_HSTS_PRELOAD=True)
    configure(namespace, {**production, "SECURE_HSTS_SECONDS": "31536000"})
    assert (namespace["SECURE_HSTS_SECONDS"], namespace["SECURE_HSTS_PRELOAD"]) == (
        31_536_000,
        True,
    )


def test_an_app_without_hsts_gets_the_packages_year(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(tmp_path)
    configure(namespace, production)
    assert namespace["SECURE_HSTS_SECONDS"] == 31_536_000


def test_development_serves_plain_http_even_when_the_module_forces_https(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import django_aws_settings.settings.configure as configure_module

    monkeypatch.setattr(configure_module, "_announced", False)
    namespace = module(
        tmp_path, SECURE_SSL_REDIRECT=True, SESSION_COOKIE_SECURE=True, SECURE_HSTS_SECONDS=3600
    )
    with caplog.at_level(logging.WARNING, logger="django_aws_settings.settings.configure"):
        configure(namespace, {})
    assert (
        namespace["SECURE_SSL_REDIRECT"],
        namespace["SESSION_COOKIE_SECURE"],
        namespace["SECURE_HSTS_SECONDS"],
    ) == (False, False, 0)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "plain http: SECURE_SSL_REDIRECT, SESSION_COOKIE_SECURE, SECURE_HSTS_SECONDS off" in (
        line
    )


# --------------------------------------------------------------------------------- caches


def test_django_redis_keeps_its_class_and_options(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(
        tmp_path,
        CACHES={
            "default": {
                "BACKEND": DJANGO_REDIS,
                "LOCATION": "redis://localhost:6379/0",
                "KEY_PREFIX": "shop",
                "TIMEOUT": 600,
                "OPTIONS": {
                    "CLIENT_CLASS": "django_redis.client.DefaultClient",
                    "IGNORE_EXCEPTIONS": True,
                    "SOCKET_TIMEOUT": 3,
                },
            }
        },
    )
    configure(namespace, production)
    default = namespace["CACHES"]["default"]
    assert default["BACKEND"] == DJANGO_REDIS
    assert default["LOCATION"] == [f"rediss://:{PASSWORD}@cache.internal:6379/0"]
    assert (default["KEY_PREFIX"], default["TIMEOUT"]) == ("shop", 600)
    options = default["OPTIONS"]
    assert (options["IGNORE_EXCEPTIONS"], options["SOCKET_TIMEOUT"]) == (True, 3)
    assert options["SOCKET_CONNECT_TIMEOUT"] == 1.0  # not set by the app: the package's
    # django-redis passes TLS options to redis-py through CONNECTION_POOL_KWARGS.
    assert options["CONNECTION_POOL_KWARGS"]["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert "ssl_cert_reqs" not in options


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"DJANGO_SETTINGS_MODULE": "config.settings.production"}, "django"),
        ({"DJANGO_SETTINGS_MODULE": "shop.settings"}, "shop"),
        (
            {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_AWS_PROJECT": "shop"},
            "shop",
        ),
        ({"DJANGO_AWS_PROJECT": "shop", "CACHE_KEY_PREFIX": "shop-v2"}, "shop-v2"),
    ],
    ids=["generic-package", "project-package", "project-variable", "explicit-prefix"],
)
def test_key_prefix_names_the_project_never_a_generic_package(
    tmp_path: Path, production: dict[str, str], environment: dict[str, str], expected: str
) -> None:
    namespace = module(tmp_path)
    configure(namespace, {**production, **environment})
    assert namespace["CACHES"]["default"]["KEY_PREFIX"] == expected


def test_the_modules_key_prefix_wins_over_a_derived_one(
    tmp_path: Path, production: dict[str, str]
) -> None:
    namespace = module(tmp_path, CACHES={"default": {"BACKEND": DJANGO_REDIS, "KEY_PREFIX": "app"}})
    configure(namespace, {**production, "DJANGO_AWS_PROJECT": "shop"})
    assert namespace["CACHES"]["default"]["KEY_PREFIX"] == "app"
    configure(namespace, {**production, "CACHE_KEY_PREFIX": "from-env"})
    assert namespace["CACHES"]["default"]["KEY_PREFIX"] == "from-env"


# ---------------------------------------------------------------------------- the report


def test_the_report_names_each_replaced_leaf_and_masks_secrets(
    tmp_path: Path, production: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    namespace = module(
        tmp_path,
        SECRET_KEY="django-insecure-module-key",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}},
        SECURE_HSTS_SECONDS=60,
    )
    configure(namespace, production)
    with caplog.at_level(logging.WARNING, logger="django_aws_settings"):
        log_replaced(logging.getLogger("django_aws_settings"))  # what AppConfig.ready() does
    changed = "\n".join(described(last_changes(), only_replaced=True))
    assert "DATABASES  [environment: DATABASE_URL]" in changed
    assert "    DATABASES.default.ENGINE: 'django.db.backends.sqlite3' -> " in changed
    assert "    DATABASES.default.HOST = 'db.internal'" not in changed  # new, not replaced
    assert f"SECRET_KEY: '{MASK}' -> '{MASK}'" in changed
    assert "SECURE_HSTS_SECONDS" not in changed  # kept
    everything = "\n".join(described(last_changes()))
    assert "    DATABASES.default.HOST = 'db.internal'" in everything
    assert f"    DATABASES.default.PASSWORD = '{MASK}'" in everything
    assert f"rediss://:{MASK}@cache.internal:6379/0" in everything
    # One start-up line in production, names only.
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("django-aws-settings replaced ")
    assert "DATABASES" in line
    assert "SECRET_KEY" in line
    for text in (changed, everything, line):
        assert PASSWORD not in text
        assert SECRET_KEY not in text


def test_the_command_prints_the_report(tmp_path: Path, production: dict[str, str]) -> None:
    namespace = module(tmp_path, DATABASES={"default": {"ENGINE": "x", "NAME": "n"}})
    configure(namespace, production)
    out = io.StringIO()
    Command(stdout=out).handle(changed=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == "DATABASES  [environment: DATABASE_URL]"
    assert "    DATABASES.default.ENGINE: 'x' -> 'django.db.backends.postgresql'" in lines
    assert PASSWORD not in out.getvalue()


@pytest.mark.slow
def test_the_command_runs_in_a_real_project(tmp_path: Path, postgres_url: str) -> None:
    """The sample project (startproject settings) with its generated-style overlay."""
    project = copy_example(tmp_path)
    url = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    result = project.manage(
        "configured_settings", "--changed", env=project.environ(DATABASE_URL=url)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "DATABASES  [environment: DATABASE_URL]",
        "    DATABASES.default.ENGINE: 'django.db.backends.sqlite3' -> "
        "'django.db.backends.postgresql'",
        f"    DATABASES.default.NAME: PosixPath('{project.root / 'db.sqlite3'}') -> "
        f"'{postgres_url.rsplit('/', 1)[1]}'",
    ]
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("argv0", "command"),
    [
        ("/app/manage.py", True),
        ("/venv/bin/django-admin", True),
        ("/venv/lib/python3.11/site-packages/django/__main__.py", True),
        ("/venv/bin/gunicorn", False),
        ("/venv/bin/celery", False),
    ],
)
def test_the_start_up_line_is_for_servers_and_workers(
    argv0: str, command: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands print their own output on stdout, where production logs go too."""
    monkeypatch.setattr("sys.argv", [argv0, "x"])
    assert running_a_management_command() is command
