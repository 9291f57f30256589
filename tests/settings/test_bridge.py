"""The environment bridge: the app's own settings find their PaaS environment on ECS.

Secrets and parameters are served by moto; the environment is a plain dict standing in for
``os.environ`` (the bridge writes into what it is given).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path

import pytest
from support.moto_server import Aws

from django_aws_settings.settings.bridge import (
    COMPOSED_VARIABLE,
    bridge_environment,
    without_composed,
)
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError

PASSWORD = "Pl4nted/S3cret:@#"  # every character a URL must escape
PREFIX = "/shop/production"
SECRET_KEY = "q8V-f2Zk_r9LmXw4Tn7Pb1Hc6Yd3Gs0Je5Ua-Io8Kx2Wv9Rz4Nt7Ql1Bm6Sp3Fy0"


@pytest.fixture
def stack(aws: Aws, tmp_path: Path) -> dict[str, str]:
    """What the web task definition gives: the app secret whole, the RDS secret by reference
    through an SSM parameter, and the config path."""
    secrets = aws.client("secretsmanager")
    rds = secrets.create_secret(
        Name="rds!cluster-shop",
        SecretString=json.dumps({"username": "shop_app", "password": PASSWORD}),
    )
    app = {"SECRET_KEY": SECRET_KEY, "SENTRY_DSN": "https://k@o1.ingest.sentry.io/1"}
    ssm = aws.client("ssm")
    for name, value in {
        "DATABASE_SECRET": f"secretsmanager:{rds['ARN']}",
        "PRIMARY_HOST": "shop.example.com",
        "CORS_ALLOWED_ORIGINS": "https://app.example.com",
    }.items():
        ssm.put_parameter(Name=f"{PREFIX}/{name}", Value=value, Type="String")
    ca = tmp_path / "rds-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    aws.requests.reset()
    return aws.environ(
        DJANGO_ENV="production",
        DJANGO_AWS_APP_SECRET=json.dumps(app),
        DJANGO_AWS_CONFIG_PATH=PREFIX,
        DATABASE_HOST="shop.cluster-abc.eu-west-1.rds.amazonaws.com",
        DATABASE_NAME="shop",
        DATABASE_CA_BUNDLE=str(ca),
        CACHE_URL="redis://cache.internal:6379/0",
    )


def test_the_app_finds_its_paas_environment(stack: dict[str, str], aws: Aws) -> None:
    environ = dict(stack)
    added = bridge_environment(environ)
    # The app secret's keys and the parameters under the path, without a task-definition edit.
    assert environ["SENTRY_DSN"] == "https://k@o1.ingest.sentry.io/1"
    assert environ["PRIMARY_HOST"] == "shop.example.com"
    assert environ["CORS_ALLOWED_ORIGINS"] == "https://app.example.com"
    # DATABASE_URL spelled the way Heroku spells it, every character of the password intact.
    url = urllib.parse.urlsplit(environ["DATABASE_URL"])
    assert (url.scheme, url.username, url.hostname, url.port, url.path) == (
        "postgres",
        "shop_app",
        "shop.cluster-abc.eu-west-1.rds.amazonaws.com",
        5432,
        "/shop",
    )
    assert urllib.parse.unquote(url.password or "") == PASSWORD
    assert urllib.parse.parse_qs(url.query)["sslmode"] == ["verify-full"]
    assert environ["REDIS_URL"] == "redis://cache.internal:6379/0"
    assert environ[COMPOSED_VARIABLE] == "DATABASE_URL,REDIS_URL"
    assert set(added) >= {"SENTRY_DSN", "PRIMARY_HOST", "DATABASE_URL", "REDIS_URL"}
    assert aws.requests.operations() == {
        "GetParametersByPath": 1,
        "BatchGetSecretValue": 1,
    }


def test_what_the_environment_has_always_wins(stack: dict[str, str]) -> None:
    environ = {**stack, "PRIMARY_HOST": "mine.example.com", "REDIS_URL": "redis://mine:6379/2"}
    bridge_environment(environ)
    assert environ["PRIMARY_HOST"] == "mine.example.com"
    assert environ["REDIS_URL"] == "redis://mine:6379/2"
    assert environ[COMPOSED_VARIABLE] == "DATABASE_URL"


def test_the_old_platforms_database_url_is_not_brought_in(stack: dict[str, str]) -> None:
    """config import stores Heroku's DATABASE_URL in the app secret; the task names RDS."""
    secret = json.loads(stack["DJANGO_AWS_APP_SECRET"])
    secret["DATABASE_URL"] = "postgres://old:pw@ec2-1-2-3-4.compute-1.amazonaws.com/d1"
    environ = {**stack, "DJANGO_AWS_APP_SECRET": json.dumps(secret)}
    bridge_environment(environ)
    assert urllib.parse.urlsplit(environ["DATABASE_URL"]).hostname == stack["DATABASE_HOST"]


def test_aliases_feed_the_names_the_app_reads(stack: dict[str, str]) -> None:
    environ = {
        **stack,
        "DJANGO_AWS_ENV_ALIASES": (
            "DJANGO_SECRET_KEY=SECRET_KEY,POSTGRES_PASSWORD=database.password,"
            "POSTGRES_HOST=database.host,POSTGRES_DB=database.name,DJANGO_ADMIN_HOST=PRIMARY_HOST"
        ),
    }
    bridge_environment(environ)
    assert environ["DJANGO_SECRET_KEY"] == SECRET_KEY
    assert environ["POSTGRES_PASSWORD"] == PASSWORD
    assert (environ["POSTGRES_HOST"], environ["POSTGRES_DB"]) == (stack["DATABASE_HOST"], "shop")
    assert environ["DJANGO_ADMIN_HOST"] == "shop.example.com"


def test_configure_ignores_what_the_bridge_composed(
    stack: dict[str, str], tmp_path: Path, aws: Aws
) -> None:
    """DATABASE_URL next to DATABASE_SECRET would be "not both"; the composed one is not."""
    environ = {
        **stack,
        "ALLOWED_HOSTS": "shop.example.com",
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
    }
    bridge_environment(environ)
    namespace = {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": []}
    configure(namespace, without_composed(environ))
    default = namespace["DATABASES"]["default"]
    assert (default["USER"], default["PASSWORD"], default["HOST"]) == (
        "shop_app",
        PASSWORD,
        stack["DATABASE_HOST"],
    )
    assert namespace["SECRET_KEY"] == SECRET_KEY  # from the app secret's JSON


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"DJANGO_AWS_APP_SECRET": "not json " + PASSWORD},
            "DJANGO_AWS_APP_SECRET: expected the JSON object of the app's secret (an ECS secrets"
            " entry whose valueFrom is the secret's ARN, without a JSON key)",
        ),
        (
            {"DJANGO_AWS_APP_SECRET": json.dumps([PASSWORD])},
            "DJANGO_AWS_APP_SECRET: expected the JSON object of the app's secret (an ECS secrets"
            " entry whose valueFrom is the secret's ARN, without a JSON key)",
        ),
        (
            {"DJANGO_AWS_APP_SECRET": json.dumps({"A": {"nested": PASSWORD}})},
            "DJANGO_AWS_APP_SECRET: key A must hold a string",
        ),
        (
            {"DJANGO_AWS_CONFIG_PATH": "shop/production"},
            "DJANGO_AWS_CONFIG_PATH: expected an SSM path such as /shop/production",
        ),
        (
            {"DJANGO_AWS_ENV_ALIASES": "DJANGO_SECRET_KEY"},
            "DJANGO_AWS_ENV_ALIASES: expected NAME=SOURCE pairs, got 'DJANGO_SECRET_KEY'",
        ),
        (
            {"DJANGO_AWS_ENV_ALIASES": "X=database.socket"},
            "DJANGO_AWS_ENV_ALIASES: X: expected a variable name or one of database.host,"
            " database.port, database.name, database.user, database.password",
        ),
    ],
    ids=["secret-not-json", "secret-not-object", "secret-nested", "path", "alias", "alias-part"],
)
def test_bad_input_is_one_line_without_the_secret(
    aws: Aws, variables: dict[str, str], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    environ = aws.environ(**variables)
    before = dict(environ)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as error:
        bridge_environment(environ)
    assert str(error.value) == f"django-aws-settings: {message}"
    assert PASSWORD not in str(error.value) + caplog.text
    assert environ == before  # nothing half-written


def test_an_unreadable_config_path_names_the_path(aws: Aws) -> None:
    environ = aws.environ(DJANGO_AWS_CONFIG_PATH=PREFIX, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    with pytest.raises(ConfigError) as error:
        bridge_environment(environ)
    assert str(error.value).startswith(
        f"django-aws-settings: DJANGO_AWS_CONFIG_PATH: cannot read the parameters under {PREFIX}: "
    )


def test_development_without_any_of_it_changes_nothing(aws: Aws) -> None:
    environ = aws.environ(DATABASE_URL="postgres://u:p@localhost/d")
    before = dict(environ)
    assert bridge_environment(environ) == []
    assert environ == before
    assert aws.requests.operations() == {}
