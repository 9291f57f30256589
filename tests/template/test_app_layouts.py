"""Settings modules shaped like real Heroku-era apps, imported through the *generated*
overlay with exactly the environment the rendered task definitions give.

Each layout is written into a copy of the sample project and the template rendered with
its settings module (and, for the cookiecutter-like one, its ``env_aliases``). The app
secret's JSON, the RDS secret and the config parameters are served by moto; PostgreSQL is
a TLS-only cluster verified with ``verify-full``. Then ``migrate`` and ``check --deploy``
run in the migrate and web tasks' environments, and the app's own logic is asked what it
saw: it must see what it saw on the PaaS.
"""

from __future__ import annotations

import json
import re
import secrets
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from support.moto_server import Aws, MotoServer
from support.postgres import TlsPostgres
from support.processes import unique_name
from support.template import (
    RUN_ANSWERS,
    RUN_REGION,
    RenderedProject,
    fake_aws,
    host_plumbing,
    media_signing,
    render,
    run_command,
    sample_copy,
)

pytestmark = pytest.mark.slow

PREFIX = "/shop/production"
ARN_PREFIX = f"arn:aws:ssm:{RUN_REGION}:123456789012:parameter{PREFIX}"
CHECK_ID = re.compile(r"\b[a-z_]+\.[EW]\d{3}\b")
SENTRY_DSN = "https://public@o1.ingest.sentry.io/42"
PRINT_VIEW = (
    "import json; from django.conf import settings as s;"
    "print(json.dumps({**s.PAAS_VIEW, 'atomic': s.DATABASES['default'].get('ATOMIC_REQUESTS'),"
    "'postgres_app': 'django.contrib.postgres' in s.INSTALLED_APPS,"
    "'result_backend': getattr(s, 'CELERY_RESULT_BACKEND', None),"
    "'hsts': [s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD],"
    "'cache_timeout': s.CACHES['default'].get('TIMEOUT'),"
    "'key_prefix': s.CACHES['default'].get('KEY_PREFIX'),"
    "'engine': s.DATABASES['default']['ENGINE']}))"
)

# django-environ, decisions taken from the environment the PaaS gave (Heroku's own docs).
ENVIRON_LAYOUT = """
import os

import environ

from shop.settings import *  # noqa: F403

env = environ.Env()
SECRET_KEY = env("SECRET_KEY")
DEBUG = False
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if os.environ.get("DATABASE_URL", "").startswith("postgres://"):
    INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.postgres"]  # noqa: F405
REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "TIMEOUT": 600,
    },
}
CELERY_RESULT_BACKEND = "django-db"
vars().update(env.email_url("EMAIL_URL"))  # SMTP to the provider's host (check W016)
SECURE_SSL_REDIRECT = True
PAAS_VIEW = {
    "database_url": os.environ["DATABASE_URL"].split("://", 1)[0],
    "sentry_dsn": env("SENTRY_DSN"),
    "primary_host": env("PRIMARY_HOST"),
}
"""

# cookiecutter-django's production module, cut down: its own names for everything.
COOKIECUTTER_LAYOUT = """
import environ

from shop.settings import *  # noqa: F403

env = environ.Env()
SECRET_KEY = env("DJANGO_SECRET_KEY")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("POSTGRES_DB"),
        "USER": env("POSTGRES_USER"),
        "PASSWORD": env("POSTGRES_PASSWORD"),
        "HOST": env("POSTGRES_HOST"),
        "PORT": env("POSTGRES_PORT"),
        "ATOMIC_REQUESTS": True,
    }
}
ADMIN_URL = env("DJANGO_ADMIN_URL")
SECURE_HSTS_SECONDS = 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("REDIS_URL"),
        "KEY_PREFIX": "cc",
    }
}
AWS_QUERYSTRING_AUTH = False
EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"  # cookiecutter-django's (check W016)
PAAS_VIEW = {"admin_url": ADMIN_URL, "sentry_dsn": env("SENTRY_DSN")}
"""
COOKIECUTTER_ALIASES = (
    "DJANGO_SECRET_KEY=SECRET_KEY,POSTGRES_DB=database.name,POSTGRES_USER=database.user,"
    "POSTGRES_PASSWORD=database.password,POSTGRES_HOST=database.host,"
    "POSTGRES_PORT=database.port"
)


@dataclass(frozen=True)
class Layout:
    name: str
    module: str  # dotted, inside the sample project
    source: str
    answers: dict[str, Any]
    app_secret: dict[str, str]  # beyond SECRET_KEY and REDIS_URL
    parameters: dict[str, str]  # config keys under the environment's prefix


LAYOUTS = [
    Layout(
        "django-environ",
        "shop.layouts.environ_production",
        ENVIRON_LAYOUT,
        {},
        {"SENTRY_DSN": SENTRY_DSN, "EMAIL_URL": "smtp+tls://postmaster:pw@smtp.mailgun.org:587"},
        {"PRIMARY_HOST": "shop.example.com"},
    ),
    Layout(
        "cookiecutter",
        "config.settings.production",
        COOKIECUTTER_LAYOUT,
        {"env_aliases": COOKIECUTTER_ALIASES},
        {"SENTRY_DSN": SENTRY_DSN},
        {"DJANGO_ADMIN_URL": "staff-7f3a/"},
    ),
]


@dataclass
class Deployed(RenderedProject):
    layout: Layout
    aws: Aws

    def manage(self, role: str, *args: str) -> Any:
        return run_command(
            ["python", "manage.py", *args], cwd=self.root, env=self.environ(role), timeout=120
        )


def write_module(root: Path, dotted: str, source: str) -> None:
    path = root.joinpath(*dotted.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for package in path.relative_to(root).parents:
        if package != Path("."):
            (root / package / "__init__.py").touch()
    path.write_text(textwrap.dedent(source).lstrip())


@pytest.fixture(params=LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def deployed(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tls_postgres: TlsPostgres,
    redis_url: str,
    moto_server: MotoServer,
) -> Iterator[Deployed]:
    layout: Layout = request.param
    root = sample_copy(tmp_path)
    write_module(root, layout.module, layout.source)
    render(root, {**RUN_ANSWERS, "settings_module": layout.module, **layout.answers})

    moto_server.reset()
    aws = Aws(moto_server.endpoint_url, RUN_REGION, moto_server.requests)
    rds = aws.client("secretsmanager").create_secret(
        Name=unique_name("rds-cluster"),
        SecretString=json.dumps({"username": tls_postgres.user, "password": tls_postgres.password}),
    )
    # What `django-aws ecs register` finds under the config path and makes secrets entries.
    registered = {PREFIX: {name: f"{ARN_PREFIX}/{name}" for name in layout.parameters}}
    dbname = unique_name("layouts")
    with tls_postgres.admin_connect() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(tls_postgres.user)
            )
        )
    app_secret = {"SECRET_KEY": secrets.token_urlsafe(50), "REDIS_URL": redis_url}
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield Deployed(
            root=root,
            secret_values={
                **app_secret,
                "DJANGO_AWS_APP_SECRET": json.dumps({**app_secret, **layout.app_secret}),
                "DATABASE_SECRET": f"secretsmanager:{rds['ARN']}",
                # The migrate task's app-role secret; one role suffices for these checks.
                "DATABASE_APP_SECRET": f"secretsmanager:{rds['ARN']}",
                "DATABASE_PROXY": "false",
                "DATABASE_HOST": tls_postgres.host,
                "DATABASE_NAME": dbname,
                "AWS_STORAGE_BUCKET_NAME": "shop-production-assets",
                "ALLOWED_HOSTS": "shop.example.com",
                **media_signing(),
                **layout.parameters,  # injected by ECS from the registered secrets entries
            },
            config_parameters=registered,
            plumbing={
                **host_plumbing(home),
                **fake_aws(moto_server.endpoint_url),
                "DATABASE_PORT": str(tls_postgres.port),
                "DATABASE_CA_BUNDLE": str(tls_postgres.ca_path),
            },
            layout=layout,
            aws=aws,
        )
    finally:
        with tls_postgres.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


def check_ids(output: str) -> list[str]:
    return sorted(set(CHECK_ID.findall(output)))


def test_the_app_sees_its_paas_environment_and_migrates(deployed: Deployed) -> None:
    if deployed.layout.name == "cookiecutter":
        # The module serves public media; the deployment must say which it wants. Without
        # it: one line naming MEDIA_PUBLIC. Then the operator adds the parameter (config
        # import would) and the next registration carries it; nothing else changes.
        refused = deployed.manage("migrate", "check")
        assert refused.returncode != 0
        assert "MEDIA_PUBLIC: must be set" in refused.stderr
        assert "Traceback" not in refused.stderr
        deployed.config_parameters[PREFIX]["MEDIA_PUBLIC"] = f"{ARN_PREFIX}/MEDIA_PUBLIC"
        deployed.secret_values["MEDIA_PUBLIC"] = "false"

    migrate = deployed.manage("migrate", "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr

    deployed.aws.requests.reset()
    view = deployed.manage("web", "shell", "-c", PRINT_VIEW)
    assert view.returncode == 0, view.stderr
    # The config keys came with the registered task definition: nothing read at start but
    # the one reference the web task still resolves (DATABASE_SECRET, for now).
    assert deployed.aws.requests.count("GetParametersByPath") == 0
    seen = json.loads(view.stdout.strip().splitlines()[-1])
    assert seen["atomic"] is True  # merged, not replaced
    assert seen["engine"] == "django_aws_settings.db.postgresql"
    assert seen["sentry_dsn"] == SENTRY_DSN  # the app secret's key, no task-definition edit
    if deployed.layout.name == "django-environ":
        assert seen["database_url"] == "postgres"  # composed, spelled as Heroku does
        assert seen["postgres_app"] is True  # the app's own branch on DATABASE_URL
        assert seen["primary_host"] == "shop.example.com"  # a parameter under the path
        assert seen["result_backend"] == "django-db"  # django-celery-results kept
        assert seen["cache_timeout"] == 600
        assert seen["key_prefix"] == "shop"  # DJANGO_AWS_PROJECT
        assert seen["hsts"] == [31_536_000, True, True]  # the module set none
    else:
        assert seen["admin_url"] == "staff-7f3a/"
        assert seen["hsts"] == [60, True, True]  # the app's ramp, kept
        assert seen["key_prefix"] == "cc"


def test_check_deploy_says_only_what_the_app_chose(deployed: Deployed) -> None:
    if deployed.layout.name == "cookiecutter":
        deployed.config_parameters[PREFIX]["MEDIA_PUBLIC"] = f"{ARN_PREFIX}/MEDIA_PUBLIC"
        deployed.secret_values["MEDIA_PUBLIC"] = "false"
    checked = deployed.manage("web", "check", "--deploy", "--fail-level", "ERROR")
    assert checked.returncode == 0, checked.stderr
    expected = {"django-environ": [], "cookiecutter": ["django_aws_settings.W014"]}
    assert check_ids(checked.stdout + checked.stderr) == expected[deployed.layout.name]
