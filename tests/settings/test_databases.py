"""databases(): the settings dict it builds, every bad input, and real connections.

Connections go to `tls_postgres` (TLS + SCRAM, so passwords are really checked) and run in
a subprocess whose settings module calls databases() on its own environment: migrate,
then queries through the ORM. RDS Proxy mode runs in-process on the machine's server.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import django
import pytest
from support.certificates import CertificateAuthority
from support.postgres import (
    DEFAULT_ROLE_PASSWORD,
    PgRole,
    TlsDatabase,
    close_connection,
    open_connection,
    production_environ,
)
from support.processes import unique_name

from django_aws_settings.settings.databases import (
    DEFAULT_CA_BUNDLE,
    DEFAULT_PROXY_CA_BUNDLE,
    SOURCE_VARIABLES,
    databases,
    pool_available,
)
from django_aws_settings.settings.errors import ConfigError

# The package binds the name `databases` to the function; patch the module itself.
databases_module = importlib.import_module("django_aws_settings.settings.databases")

REPO = Path(__file__).resolve().parents[2]
AWKWARD = DEFAULT_ROLE_PASSWORD  # p$a#s?s/w%o@r:d
ENCODED_AWKWARD = "p%24a%23s%3Fs%2Fw%25o%40r%3Ad"
# Django's connection pool arrived in 5.1 (psycopg[pool] is in the dev extras). Tests marked
# needs_django_pool are about the pool itself and are deselected on Django 4.2 (see ./dev);
# the others hold on every Django, asserting persistent connections where there is no pool.
DJANGO_POOL = django.VERSION >= (5, 1)


# --------------------------------------------------------------------------- helpers


def problem(environ: Mapping[str, str], **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as error:
        databases(environ, **kwargs)
    return str(error.value)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "rds-global-bundle.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


SETTINGS_MODULE = """\
from django_aws_settings.settings.databases import databases

DATABASES = databases()
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
SECRET_KEY = "test-only-not-secret"
USE_TZ = True
"""

MIGRATE_AND_QUERY = """\
import json

import django

django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

call_command("migrate", verbosity=0)
User.objects.create_user("alice")
User.objects.create_user("bob")
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    (user,) = cursor.fetchone()
    cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    (ssl,) = cursor.fetchone()
print(json.dumps({
    "usernames": sorted(User.objects.values_list("username", flat=True)),
    "user": user,
    "ssl": ssl,
    "pool": getattr(connection, "pool", None) is not None,  # Django 5.1+
    "engine": connection.settings_dict["ENGINE"],
}))
"""

CONNECT = """\
import django

django.setup()
from django.db import connection

connection.ensure_connection()
"""


def run_django(
    tmp_path: Path, environ: Mapping[str, str], script: str
) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh interpreter whose settings call databases() on `environ`."""
    (tmp_path / "probe_settings.py").write_text(SETTINGS_MODULE)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        "DJANGO_SETTINGS_MODULE": "probe_settings",
        **environ,
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def migrate_and_query(tmp_path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    result = run_django(tmp_path, environ, MIGRATE_AND_QUERY)
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


# ------------------------------------------------------------------------ development


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("DATABASE_URL", "DATABASE_SECRET")


def test_development_without_environment_is_sqlite_in_base_dir(tmp_path: Path) -> None:
    assert databases({}, base_dir=tmp_path) == {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}
    }


def test_development_base_dir_defaults_to_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert databases({})["default"]["NAME"] == str(tmp_path / "db.sqlite3")


def test_percent_encoded_password_is_decoded() -> None:
    settings = databases({"DATABASE_URL": f"postgres://app:{ENCODED_AWKWARD}@db:5432/shop"})
    assert settings["default"]["PASSWORD"] == AWKWARD


def test_development_url_keeps_its_own_sslmode_and_adds_no_timeout() -> None:
    settings = databases(
        {"DATABASE_URL": "postgres://app:pw@db:5432/shop?sslmode=require", "DATABASE_POOL": "0"}
    )
    assert settings["default"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "app",
        "PASSWORD": "pw",
        "HOST": "db",
        "PORT": "5432",
        "OPTIONS": {"sslmode": "require"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def test_development_url_without_sslmode_sets_none() -> None:
    settings = databases({"DATABASE_URL": "postgres://app:pw@db/shop", "DATABASE_POOL": "0"})
    assert "sslmode" not in settings["default"]["OPTIONS"]


# ------------------------------------------------------------------------- production


def test_production_url_verifies_the_server(ca_file: Path) -> None:
    settings = databases(
        production_environ(ca_file, DATABASE_URL="postgres://app:pw@db.example:5432/shop")
    )
    options = settings["default"]["OPTIONS"]
    assert {key: options[key] for key in ("sslmode", "sslrootcert", "connect_timeout")} == {
        "sslmode": "verify-full",
        "sslrootcert": str(ca_file),
        "connect_timeout": 5,
    }
    assert settings["default"]["CONN_HEALTH_CHECKS"] is True


def test_production_default_ca_bundle(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_CA_BUNDLE == "/etc/ssl/certs/rds-global-bundle.pem"
    monkeypatch.setattr(databases_module, "DEFAULT_CA_BUNDLE", str(ca_file))
    settings = databases({"DJANGO_ENV": "production", "DATABASE_URL": "postgres://a:b@db/shop"})
    assert settings["default"]["OPTIONS"]["sslrootcert"] == str(ca_file)


def test_proxy_mode_defaults_to_the_system_trust_store() -> None:
    # RDS Proxy presents an ACM certificate (Amazon Root CA), not an RDS CA one.
    settings = databases(
        {
            "DJANGO_ENV": "production",
            "DATABASE_URL": "postgres://a:b@db/shop",
            "DATABASE_PROXY": "1",
        }
    )
    assert settings["default"]["OPTIONS"]["sslrootcert"] == DEFAULT_PROXY_CA_BUNDLE


def test_sslmode_and_timeout_from_environment_override_the_url(ca_file: Path) -> None:
    url = "postgres://a:b@db/shop?sslmode=require&connect_timeout=30"
    settings = databases(
        production_environ(
            ca_file,
            DATABASE_URL=url,
            DATABASE_SSLMODE="verify-ca",
            DATABASE_CONNECT_TIMEOUT="3",
        )
    )
    options = settings["default"]["OPTIONS"]
    assert (options["sslmode"], options["connect_timeout"]) == ("verify-ca", 3)


def test_production_keeps_an_explicit_url_sslmode(ca_file: Path) -> None:
    settings = databases(
        production_environ(ca_file, DATABASE_URL="postgres://a:b@db/shop?sslmode=require")
    )
    assert settings["default"]["OPTIONS"]["sslmode"] == "require"


# ----------------------------------------------------------------------- secret shapes


def test_user_created_rds_secret() -> None:
    secret = {
        "engine": "postgres",
        "host": "shop.abc.eu-west-1.rds.amazonaws.com",
        "port": 5433,
        "dbname": "shop",
        "username": "app",
        "password": AWKWARD,
    }
    settings = databases({"DATABASE_SECRET": json.dumps(secret), "DATABASE_POOL": "false"})
    assert settings["default"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "app",
        "PASSWORD": AWKWARD,
        "HOST": "shop.abc.eu-west-1.rds.amazonaws.com",
        "PORT": "5433",
        "OPTIONS": {},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def test_rds_managed_secret_takes_host_port_and_name_from_the_environment() -> None:
    settings = databases(
        {
            "DATABASE_SECRET": json.dumps({"username": "postgres", "password": AWKWARD}),
            "DATABASE_HOST": "shop.cluster-abc.eu-west-1.rds.amazonaws.com",
            "DATABASE_NAME": "shop",
        }
    )
    default = settings["default"]
    assert (default["HOST"], default["PORT"], default["NAME"], default["USER"]) == (
        "shop.cluster-abc.eu-west-1.rds.amazonaws.com",
        "5432",
        "shop",
        "postgres",
    )


def test_environment_overrides_the_secret_host_for_rds_proxy() -> None:
    secret = {"engine": "aurora-postgresql", "host": "writer.rds", "port": 5432}
    secret |= {"dbname": "shop", "username": "app", "password": "x"}
    settings = databases(
        {
            "DATABASE_SECRET": json.dumps(secret),
            "DATABASE_HOST": "shop.proxy-abc.eu-west-1.rds.amazonaws.com",
            "DATABASE_PORT": "6432",
        }
    )
    assert (settings["default"]["HOST"], settings["default"]["PORT"]) == (
        "shop.proxy-abc.eu-west-1.rds.amazonaws.com",
        "6432",
    )


# ---------------------------------------------------------------- pooling and lifetime


def pool_of(environ: Mapping[str, str]) -> Any:
    return databases({"DATABASE_URL": "postgres://a:b@db/shop", **environ})["default"]


@pytest.mark.needs_django_pool
@pytest.mark.parametrize(
    ("budget", "processes", "max_size"),
    [("10", "1", 10), ("10", "3", 3), ("20", "4", 5), ("4", "4", 1)],
)
def test_pool_splits_the_connection_budget_between_processes(
    budget: str, processes: str, max_size: int
) -> None:
    default = pool_of({"DATABASE_CONNECTION_BUDGET": budget, "WEB_CONCURRENCY": processes})
    assert default["OPTIONS"]["pool"] == {
        "min_size": 0,
        "max_size": max_size,
        "timeout": 10,
        "max_lifetime": 1800,
        "max_idle": 300,
    }
    assert default["CONN_MAX_AGE"] == 0


@pytest.mark.needs_django_pool
def test_pool_timings_come_from_the_environment() -> None:
    default = pool_of(
        {
            "DATABASE_POOL_TIMEOUT": "3",
            "DATABASE_POOL_MAX_LIFETIME": "600",
            "DATABASE_POOL_MAX_IDLE": "60",
        }
    )
    pool = default["OPTIONS"]["pool"]
    assert (pool["timeout"], pool["max_lifetime"], pool["max_idle"]) == (3, 600, 60)


def test_pool_is_available_from_django_5_1() -> None:
    assert pool_available() is DJANGO_POOL


def test_default_is_the_pool_or_else_persistent_connections() -> None:
    default = pool_of({})
    assert ("pool" in default["OPTIONS"], default["CONN_MAX_AGE"]) == (
        (True, 0) if DJANGO_POOL else (False, 60)
    )


def test_without_pool_connections_persist() -> None:
    default = pool_of({"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "120"})
    assert "pool" not in default["OPTIONS"]
    assert default["CONN_MAX_AGE"] == 120


def test_without_pool_library_connections_persist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases_module, "pool_available", lambda: False)
    default = pool_of({})
    assert ("pool" in default["OPTIONS"], default["CONN_MAX_AGE"]) == (False, 60)


def test_asgi_without_pool_closes_connections_after_each_request() -> None:
    default = pool_of({"DATABASE_POOL": "false", "DJANGO_ASGI": "true"})
    assert default["CONN_MAX_AGE"] == 0


@pytest.mark.needs_django_pool
def test_asgi_with_pool_uses_the_pool() -> None:
    default = pool_of({"DJANGO_ASGI": "true"})
    assert (default["OPTIONS"]["pool"]["max_size"], default["CONN_MAX_AGE"]) == (10, 0)


def test_proxy_mode_avoids_session_pinning() -> None:
    default = pool_of({"DATABASE_PROXY": "true"})
    assert default["OPTIONS"]["prepare_threshold"] is None
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_without_secrets_manager_the_engine_is_djangos() -> None:
    default = pool_of({})
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert "CREDENTIALS_SECRET" not in default


def test_secret_id_selects_the_rotating_engine() -> None:
    default = databases(
        {
            "DATABASE_SECRET": json.dumps({"username": "a", "password": "b", "host": "h"}),
            "DATABASE_NAME": "shop",
            "DATABASE_SECRET_ID": "prod/shop/db",
            "AWS_REGION": "eu-west-1",
        }
    )["default"]
    assert default["ENGINE"] == "django_aws_settings.db.postgresql"
    assert default["CREDENTIALS_SECRET"] == {
        "reference": "secretsmanager:prod/shop/db",
        "format": "json",
        "region": "eu-west-1",
    }


# --------------------------------------------------------------------------- bad input

SECRET_JSON_WITHOUT_PASSWORD = json.dumps({"username": "shop_owner", "host": "h", "dbname": "d"})
PROCESSES_PROBLEM = (
    "DATABASE_CONNECTION_BUDGET: 2 connections cannot be shared by WEB_CONCURRENCY=4 "
    "processes; expected at least one connection per process (4)"
)
PERCENT_HINT = (
    "percent-encode special characters in the password "
    "($ %24, # %23, ? %3F, / %2F, % %25, @ %40, : %3A)"
)

BAD_INPUTS = [
    pytest.param(
        {"DATABASE_URL": f"postgres://app:{AWKWARD}@db:5432/shop"},
        "DATABASE_URL: cannot be parsed; expected postgres://user:password@host:5432/dbname "
        f"({PERCENT_HINT})",
        [AWKWARD, "p%24a%23s", "p$a"],
        id="unencoded-password",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://app:pa/ss@db:5432/shop"},
        "DATABASE_URL: cannot be parsed; expected postgres://user:password@host:5432/dbname "
        f"({PERCENT_HINT})",
        ["pa/ss", "'pa'"],
        id="slash-in-password",
    ),
    pytest.param(
        {"DATABASE_URL": "postgress://app:hunter2@db/shop"},
        "DATABASE_URL: has an unknown scheme; expected postgres://, postgresql://, "
        "pgsql:// or postgis:// (sqlite:// in development)",
        ["hunter2"],
        id="unknown-scheme",
    ),
    pytest.param(
        {"DATABASE_URL": "hunter2"},
        "DATABASE_URL: is not a database URL; expected postgres://user:password@host:5432/dbname",
        ["hunter2"],
        id="not-a-url",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://app:hunter2@db:5432/"},
        "DATABASE_URL: names no database; expected the database name as the path, e.g. "
        "postgres://user:password@host:5432/dbname",
        ["hunter2"],
        id="no-database-name",
    ),
    pytest.param(
        {"DATABASE_SECRET": "password=hunter2"},
        "DATABASE_SECRET: is not JSON; expected a JSON object with username and password",
        ["hunter2"],
        id="secret-not-json",
    ),
    pytest.param(
        {"DATABASE_SECRET": '["shop_owner", "hunter2"]'},
        "DATABASE_SECRET: is an array, not a JSON object; "
        "expected a JSON object with username and password",
        ["hunter2", "shop_owner"],
        id="secret-array",
    ),
    pytest.param(
        {"DATABASE_SECRET": SECRET_JSON_WITHOUT_PASSWORD},
        "DATABASE_SECRET: has no 'password' key; expected a JSON object with username and "
        "password (keys present: dbname, host, username)",
        ["shop_owner"],
        id="secret-without-password",
    ),
    pytest.param(
        {"DATABASE_SECRET": json.dumps({"username": "u", "password": "hunter2", "engine": "mysql"})}
        | {"DATABASE_HOST": "h", "DATABASE_NAME": "d"},
        "DATABASE_SECRET: has engine 'mysql'; expected postgres or aurora-postgresql",
        ["hunter2"],
        id="secret-other-engine",
    ),
    pytest.param(
        {"DATABASE_SECRET": json.dumps({"username": "u", "password": "hunter2"})}
        | {"DATABASE_NAME": "shop"},
        "DATABASE_HOST: is required when DATABASE_SECRET has no host "
        "(RDS-managed secrets hold only username and password)",
        ["hunter2"],
        id="rds-managed-secret-without-host",
    ),
    pytest.param(
        {"DATABASE_SECRET": json.dumps({"username": "u", "password": "hunter2", "host": "h"})},
        "DATABASE_NAME: is required when DATABASE_SECRET has no dbname "
        "(RDS-managed secrets hold only username and password)",
        ["hunter2"],
        id="rds-managed-secret-without-name",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/shop", "DATABASE_SECRET": '{"password": "x"}'},
        "DATABASE_SECRET: set DATABASE_URL or DATABASE_SECRET, not both",
        ["hunter2"],
        id="both-sources",
    ),
    pytest.param(
        production_environ(
            "/nonexistent/rds-global-bundle.pem", DATABASE_URL="postgres://a:hunter2@db/s"
        ),
        "DATABASE_CA_BUNDLE: /nonexistent/rds-global-bundle.pem does not exist; "
        "sslmode=verify-full verifies the server certificate against this CA bundle (install "
        "the RDS global bundle from https://truststore.pki.rds.amazonaws.com/global/"
        "global-bundle.pem there, or set DATABASE_CA_BUNDLE to the bundle's path)",
        ["hunter2"],
        id="missing-ca-bundle",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s", "DATABASE_CONNECTION_BUDGET": "ten"},
        "DATABASE_CONNECTION_BUDGET: expected an integer between 1 and 5000, got 'ten'",
        ["hunter2"],
        id="budget-not-integer",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s", "DATABASE_CONNECTION_BUDGET": "0"},
        "DATABASE_CONNECTION_BUDGET: expected an integer between 1 and 5000, got 0",
        ["hunter2"],
        id="budget-zero",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s"}
        | {"DATABASE_CONNECTION_BUDGET": "2", "WEB_CONCURRENCY": "4"},
        PROCESSES_PROBLEM,
        ["hunter2"],
        id="budget-below-processes",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s", "DATABASE_SSLMODE": "strict"},
        "DATABASE_SSLMODE: expected one of disable, allow, prefer, require, verify-ca, "
        "verify-full, got 'strict'",
        ["hunter2"],
        id="invalid-sslmode",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s?sslmode=on"},
        "DATABASE_URL: has an unknown sslmode; expected one of disable, allow, prefer, require, "
        "verify-ca, verify-full",
        ["hunter2"],
        id="invalid-url-sslmode",
    ),
    pytest.param(
        {"DJANGO_ENV": "production"},
        "DATABASE_URL: is required when DJANGO_ENV=production; expected DATABASE_URL "
        "(postgres://user:password@host:5432/dbname) or DATABASE_SECRET (the RDS secret JSON)",
        [],
        id="no-database-in-production",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s", "DATABASE_CONN_MAX_AGE": "60"},
        "DATABASE_CONN_MAX_AGE: persistent connections cannot be combined with the connection "
        "pool (Django requires CONN_MAX_AGE=0); unset it or set DATABASE_POOL=false",
        ["hunter2"],
        id="persistent-with-pool",
        marks=pytest.mark.needs_django_pool,
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s", "DATABASE_CONN_MAX_AGE": "60"}
        | {"DATABASE_POOL": "false", "DJANGO_ASGI": "true"},
        "DATABASE_CONN_MAX_AGE: persistent connections leak under ASGI (DJANGO_ASGI=true); "
        "expected 0 or unset, or use the connection pool (DATABASE_POOL=true)",
        ["hunter2"],
        id="persistent-under-asgi",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s?options=-c%20search_path%3Dshop"}
        | {"DATABASE_PROXY": "true"},
        "DATABASE_URL: sets options, which pins every RDS Proxy session to one database "
        "connection; remove it or set DATABASE_PROXY=false",
        ["hunter2"],
        id="proxy-with-options",
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://a:hunter2@db/s?server_side_binding=true"}
        | {"DATABASE_PROXY": "true"},
        "DATABASE_URL: sets server_side_binding, which pins every RDS Proxy session to one "
        "database connection; remove it or set DATABASE_PROXY=false",
        ["hunter2"],
        id="proxy-with-server-side-binding",
    ),
    pytest.param(
        {"DATABASE_SECRET_ID": "prod/shop/db"},
        "DATABASE_SECRET_ID: names the secret that ECS injects into DATABASE_SECRET; "
        "set DATABASE_SECRET too",
        [],
        id="secret-id-alone",
    ),
]


@pytest.mark.parametrize(("environ", "expected", "secrets"), BAD_INPUTS)
def test_bad_input_is_one_problem_without_the_secret(
    environ: dict[str, str], expected: str, secrets: list[str]
) -> None:
    message = problem(environ)
    assert message == f"django-aws-settings: {expected}"
    for secret in secrets:
        assert secret not in message


def test_explicit_pool_without_the_library_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases_module, "pool_available", lambda: False)
    assert problem({"DATABASE_URL": "postgres://a:b@db/s", "DATABASE_POOL": "true"}) == (
        "django-aws-settings: DATABASE_POOL: needs Django 5.1 or later with psycopg[pool] "
        "installed; install it or set DATABASE_POOL=false"
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        databases(
            {
                "DATABASE_URL": "postgres://a:b@db/s",
                "DATABASE_SSLMODE": "strict",
                "DATABASE_CONNECT_TIMEOUT": "soon",
                "WEB_CONCURRENCY": "many",
            }
        )
    assert [str(item) for item in error.value.problems] == [
        "DATABASE_SSLMODE: expected one of disable, allow, prefer, require, verify-ca, "
        "verify-full, got 'strict'",
        "DATABASE_CONNECT_TIMEOUT: expected an integer between 1 and 60, got 'soon'",
        "WEB_CONCURRENCY: expected an integer between 1 and 256, got 'many'",
    ]


# ------------------------------------------------------------------ real connections


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pool", "expect_pool"),
    [pytest.param("true", True, marks=pytest.mark.needs_django_pool), ("false", False)],
)
def test_migrate_and_query_through_url_with_awkward_password(
    tls_database: TlsDatabase, tmp_path: Path, pool: str, expect_pool: bool
) -> None:
    assert ENCODED_AWKWARD in tls_database.url
    result = migrate_and_query(
        tmp_path,
        production_environ(tls_database.ca_path, DATABASE_URL=tls_database.url, DATABASE_POOL=pool),
    )
    assert result == {
        "usernames": ["alice", "bob"],
        "user": tls_database.user,
        "ssl": True,
        "pool": expect_pool,
        "engine": "django.db.backends.postgresql",
    }


@pytest.mark.slow
def test_migrate_and_query_through_user_created_secret(
    tls_database: TlsDatabase, tmp_path: Path
) -> None:
    result = migrate_and_query(
        tmp_path, production_environ(tls_database.ca_path, DATABASE_SECRET=tls_database.secret())
    )
    assert (result["usernames"], result["user"], result["ssl"], result["pool"]) == (
        ["alice", "bob"],
        tls_database.user,
        True,
        DJANGO_POOL,  # the default: the pool where Django has one
    )


@pytest.mark.slow
def test_migrate_and_query_through_rds_managed_secret(
    tls_database: TlsDatabase, tmp_path: Path
) -> None:
    secret = json.dumps({"username": tls_database.user, "password": tls_database.password})
    result = migrate_and_query(
        tmp_path,
        production_environ(
            tls_database.ca_path,
            DATABASE_SECRET=secret,
            DATABASE_HOST=tls_database.host,
            DATABASE_PORT=str(tls_database.port),
            DATABASE_NAME=tls_database.dbname,
        ),
    )
    assert (result["usernames"], result["user"]) == (["alice", "bob"], tls_database.user)


@pytest.mark.slow
def test_verify_full_rejects_a_certificate_from_another_ca(
    tls_database: TlsDatabase, tmp_path: Path
) -> None:
    (tmp_path / "other-ca").mkdir()
    other_ca = CertificateAuthority(tmp_path / "other-ca")
    result = run_django(
        tmp_path,
        production_environ(
            other_ca.cert_path, DATABASE_URL=tls_database.url, DATABASE_POOL="false"
        ),
        CONNECT,
    )
    assert result.returncode == 1
    assert "certificate verify failed" in result.stderr
    assert tls_database.password not in result.stderr


@pytest.mark.slow
def test_verify_full_rejects_a_host_name_the_certificate_does_not_name(
    tls_database: TlsDatabase, tmp_path: Path
) -> None:
    # Reach the server by address, but ask for a name its certificate does not carry: what
    # a hijacked DNS record looks like. verify-ca would accept it; verify-full must not.
    password = urllib.parse.quote(tls_database.password, safe="")
    url = (
        f"postgres://{tls_database.user}:{password}@db.internal.example:{tls_database.port}"
        f"/{tls_database.dbname}?hostaddr={tls_database.host}"
    )
    environ = production_environ(tls_database.ca_path, DATABASE_URL=url, DATABASE_POOL="false")
    rejected = run_django(tmp_path, environ, CONNECT)
    assert rejected.returncode == 1
    assert 'does not match host name "db.internal.example"' in rejected.stderr
    accepted = run_django(tmp_path, environ | {"DATABASE_SSLMODE": "verify-ca"}, CONNECT)
    assert accepted.returncode == 0, accepted.stderr


# ------------------------------------------------------------------ RDS Proxy mode


@pytest.mark.slow
@pytest.mark.usefixtures("django_settings")
def test_proxy_mode_runs_queries_without_preparing_statements(pg_role: PgRole) -> None:
    settings_dict = databases({"DATABASE_URL": pg_role.url, "DATABASE_PROXY": "true"})["default"]
    connection = open_connection(settings_dict, unique_name("proxy"))
    try:
        with connection.cursor() as cursor:
            for number in range(10):  # psycopg would prepare from the 5th run on
                cursor.execute("SELECT %s::int + 1", [number])
                assert cursor.fetchone() == (number + 1,)
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone() == (0,)
        assert connection.connection.prepare_threshold is None
    finally:
        close_connection(connection)


@pytest.mark.slow
@pytest.mark.needs_django_pool
@pytest.mark.usefixtures("django_settings")
def test_proxy_mode_keeps_the_pool_sized_as_configured(pg_role: PgRole) -> None:
    settings_dict = databases({"DATABASE_URL": pg_role.url, "DATABASE_PROXY": "true"})["default"]
    connection = open_connection(settings_dict, unique_name("proxy"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.pool.max_size == settings_dict["OPTIONS"]["pool"]["max_size"] == 10
    finally:
        close_connection(connection)
