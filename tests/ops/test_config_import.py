# ruff: noqa: E501 - the expected plan table is asserted whole, as the command prints it
"""``django-aws config import`` against the moto server: plan, apply, re-apply, ECS blocks.

The command runs in-process through ``cli.main`` with os.environ pointing boto3 at moto
(the ``aws`` fixture's fake credentials), so ``aws.requests`` shows every call it made.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import Aws

from django_aws_settings.ops import cli
from django_aws_settings.ops.config_import import classify, plan_import, read_env_text
from django_aws_settings.ops.ecs import validation_errors
from django_aws_settings.settings.errors import ConfigError

ACCOUNT = "123456789012"  # moto's default account
APP = ["--app", "shop", "--environment", "production"]

ENV_FILE = """\
# exported from Heroku
export DJANGO_SECRET_KEY='{secret_key}'
DATABASE_URL=postgres://u1abc:{db_password}@db.internal:5432/shop
REDIS_URL=redis://cache.internal:6379/0
SENTRY_DSN="https://{sentry_key}@o1.ingest.sentry.io/42"
DEBUG=false
ALLOWED_HOSTS=shop.example.com,www.shop.example.com
STRIPE_PUBLISHABLE_KEY=pk_live_visible
WELCOME_MESSAGE="Hello, world"  # shown on the home page
FEATURE_FLAGS=
PORT=5000
HEROKU_APP_NAME=shop
"""

DRY_RUN_TABLE = """\
KEY                     KIND     DESTINATION                                           REASON
ALLOWED_HOSTS           config   ssm:/shop/production/ALLOWED_HOSTS                    no credential in name or value
DATABASE_URL            skipped  -                                                     the old platform's database; on ECS the task definitions give the new one (the overlay composes DATABASE_URL from it)
DEBUG                   config   ssm:/shop/production/DEBUG                            no credential in name or value
DJANGO_SECRET_KEY       secret   secretsmanager:shop/production/app#DJANGO_SECRET_KEY  name contains SECRET
FEATURE_FLAGS           config   environment (SSM cannot hold an empty value)          no credential in name or value
HEROKU_APP_NAME         skipped  -                                                     Heroku metadata or an add-on alias of another key (DATABASE_URL, REDIS_URL)
PORT                    skipped  -                                                     set by the platform at run time; the task definition sets it on ECS
REDIS_URL               skipped  -                                                     the old platform's Redis; on ECS the app secret holds Terraform's
SENTRY_DSN              secret   secretsmanager:shop/production/app#SENTRY_DSN         name contains DSN
STRIPE_PUBLISHABLE_KEY  config   ssm:/shop/production/STRIPE_PUBLISHABLE_KEY           --config
WELCOME_MESSAGE         config   ssm:/shop/production/WELCOME_MESSAGE                  no credential in name or value

2 secret(s) -> Secrets Manager shop/production/app, 4 parameter(s) -> SSM /shop/production/, 1 empty -> ECS environment, 4 skipped
dry run: nothing was read from or written to AWS
"""

CONFIG_VALUES = {
    "ALLOWED_HOSTS": "shop.example.com,www.shop.example.com",
    "DEBUG": "false",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_visible",
    "WELCOME_MESSAGE": "Hello, world",
}


class Secrets:
    """Random secret values, so a test can prove none of them is ever printed."""

    def __init__(self) -> None:
        self.secret_key = "sk-" + secrets.token_urlsafe(24)
        self.db_password = "pw" + secrets.token_hex(12)
        self.sentry_key = "sentry" + secrets.token_hex(8)

    def env_file(self) -> str:
        return ENV_FILE.format(**vars(self))

    def values(self) -> dict[str, str]:
        return {
            "DJANGO_SECRET_KEY": self.secret_key,
            "SENTRY_DSN": f"https://{self.sentry_key}@o1.ingest.sentry.io/42",
        }

    def fragments(self) -> list[str]:
        # The old DATABASE_URL is skipped, never stored: still never printed.
        database_url = f"postgres://u1abc:{self.db_password}@db.internal:5432/shop"
        return [*self.values().values(), database_url, self.secret_key, self.db_password,
                self.sentry_key]  # fmt: skip


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def blocks(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document


@pytest.fixture
def values() -> Secrets:
    return Secrets()


@pytest.fixture
def env_file(tmp_path: Path, values: Secrets) -> Path:
    path = tmp_path / ".env"
    path.write_text(values.env_file())
    return path


@pytest.fixture
def on_moto(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """os.environ as an operator's shell would have it, with the endpoint at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    return aws


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    capsys.readouterr()
    code = cli.main(["config", "import", *argv])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def import_env(capsys: pytest.CaptureFixture[str], env_file: Path, *extra: str) -> Run:
    return run(
        capsys, *APP, "--env-file", str(env_file), "--config", "STRIPE_PUBLISHABLE_KEY", *extra
    )


# ---------------------------------------------------------------------------- dry run


def test_dry_run_prints_the_plan_and_calls_no_aws(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_env(capsys, env_file, "--dry-run")
    assert (result.code, result.out, result.err) == (0, DRY_RUN_TABLE, "")
    assert len(on_moto.requests) == 0


def test_heroku_json_gives_the_same_plan_as_the_env_file(
    tmp_path: Path, env_file: Path, values: Secrets, capsys: pytest.CaptureFixture[str]
) -> None:
    heroku = tmp_path / "config.json"
    heroku.write_text(json.dumps(read_env_text(env_file.read_text(), ".env")))
    result = run(
        capsys,
        *APP,
        "--heroku-json",
        str(heroku),
        "--config",
        "STRIPE_PUBLISHABLE_KEY",
        "--dry-run",
    )
    assert (result.code, result.out) == (0, DRY_RUN_TABLE)


def test_stdin_lines_give_the_same_plan(
    env_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(env_file.read_text()))
    result = run(capsys, *APP, "--stdin", "--config", "STRIPE_PUBLISHABLE_KEY", "--dry-run")
    assert (result.code, result.out) == (0, DRY_RUN_TABLE)


def test_prefix_moves_every_parameter(env_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = import_env(capsys, env_file, "--dry-run", "--prefix", "/legacy/shop/")
    destinations = {line.split()[0]: line.split()[2] for line in result.out.splitlines()[1:12]}
    assert destinations["DEBUG"] == "ssm:/legacy/shop/DEBUG"
    assert (
        destinations["DJANGO_SECRET_KEY"] == "secretsmanager:shop/production/app#DJANGO_SECRET_KEY"
    )


# ------------------------------------------------------------------------------ apply


def test_apply_writes_one_secret_and_one_parameter_per_config_key(
    on_moto: Aws, env_file: Path, values: Secrets, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_env(capsys, env_file)
    assert result.code == 0, result.err
    assert on_moto.requests.operations() == Counter(
        GetCallerIdentity=1, GetSecretValue=1, CreateSecret=1, GetParameters=1, PutParameter=4
    )
    stored = on_moto.client("secretsmanager").get_secret_value(SecretId="shop/production/app")
    assert json.loads(stored["SecretString"]) == values.values()
    parameters = on_moto.client("ssm").get_parameters_by_path(Path="/shop/production")
    assert {p["Name"]: (p["Value"], p["Type"]) for p in parameters["Parameters"]} == {
        f"/shop/production/{key}": (value, "String") for key, value in CONFIG_VALUES.items()
    }


def test_reapplying_the_same_input_writes_nothing(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = import_env(capsys, env_file)
    on_moto.requests.reset()
    second = import_env(capsys, env_file)
    assert (first.code, second.code) == (0, 0)
    assert on_moto.requests.operations() == Counter(
        GetCallerIdentity=1, GetSecretValue=1, GetParameters=1
    )
    versions = on_moto.client("secretsmanager").list_secret_version_ids(
        SecretId="shop/production/app"
    )
    assert len(versions["Versions"]) == 1
    assert "0 write(s)" in second.err.splitlines()
    assert second.blocks == first.blocks


def test_a_changed_value_rewrites_only_that_key_and_keeps_other_secret_keys(
    on_moto: Aws, env_file: Path, values: Secrets, capsys: pytest.CaptureFixture[str]
) -> None:
    on_moto.client("secretsmanager").create_secret(
        Name="shop/production/app", SecretString=json.dumps({"ADDED_BY_HAND": "kept"})
    )
    assert import_env(capsys, env_file).code == 0
    env_file.write_text(
        env_file.read_text().replace("DEBUG=false", "DEBUG=true").replace(values.secret_key, "new")
    )
    on_moto.requests.reset()
    result = import_env(capsys, env_file)
    assert result.code == 0, result.err
    assert on_moto.requests.operations() == Counter(
        GetCallerIdentity=1, GetSecretValue=1, GetParameters=1, PutSecretValue=1, PutParameter=1
    )
    assert on_moto.requests.calls("PutParameter")[0].params["Name"] == "/shop/production/DEBUG"
    stored = on_moto.client("secretsmanager").get_secret_value(SecretId="shop/production/app")
    assert json.loads(stored["SecretString"]) == {
        **values.values(),
        "DJANGO_SECRET_KEY": "new",
        "ADDED_BY_HAND": "kept",
    }
    status = {line.split()[0]: line.split()[3] for line in result.err.splitlines()[1:12]}
    assert (status["DEBUG"], status["DJANGO_SECRET_KEY"], status["SENTRY_DSN"]) == (
        "updated",
        "updated",
        "unchanged",
    )
    assert "secret shop/production/app: updated; kept 1 other key(s)" in result.err.splitlines()


def test_ecs_blocks_name_every_imported_key_by_arn(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_env(capsys, env_file)
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shop/production/app"
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/shop/production"
    assert result.blocks == {
        "secrets": [
            {"name": "ALLOWED_HOSTS", "valueFrom": f"{parameter}/ALLOWED_HOSTS"},
            {"name": "DEBUG", "valueFrom": f"{parameter}/DEBUG"},
            {"name": "DJANGO_SECRET_KEY", "valueFrom": f"{secret}:DJANGO_SECRET_KEY::"},
            {"name": "SENTRY_DSN", "valueFrom": f"{secret}:SENTRY_DSN::"},
            {"name": "STRIPE_PUBLISHABLE_KEY", "valueFrom": f"{parameter}/STRIPE_PUBLISHABLE_KEY"},
            {"name": "WELCOME_MESSAGE", "valueFrom": f"{parameter}/WELCOME_MESSAGE"},
        ],
        "environment": [{"name": "FEATURE_FLAGS", "value": ""}],
    }
    assert (
        f"the task execution role needs secretsmanager:GetSecretValue / ssm:GetParameters on: "
        f"{secret}-??????, {parameter}/*"
    ) in result.err.splitlines()


def test_ecs_blocks_are_valid_in_a_task_definition(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = import_env(capsys, env_file).blocks
    request: dict[str, Any] = {
        "family": "shop-web",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-execution",
        "containerDefinitions": [{"name": "web", "image": "shop:1", "memory": 512, **blocks}],
    }
    assert validation_errors(request) == []
    registered = on_moto.client("ecs").register_task_definition(**request)
    container = registered["taskDefinition"]["containerDefinitions"][0]
    assert container["secrets"] == blocks["secrets"]


def test_no_secret_value_is_ever_printed(
    on_moto: Aws, env_file: Path, values: Secrets, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [import_env(capsys, env_file, "--dry-run"), import_env(capsys, env_file)]
    env_file.write_text(env_file.read_text().replace(values.db_password, "rotated"))
    runs.append(import_env(capsys, env_file))
    output = "\n".join(run.out + run.err for run in runs)
    assert [run.code for run in runs] == [0, 0, 0]
    assert [fragment for fragment in values.fragments() if fragment in output] == []


# ------------------------------------------------------------------------- bad input


def test_a_missing_file_is_one_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    result = run(capsys, *APP, "--env-file", str(missing), "--dry-run")
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"django-aws: No such file or directory: {missing}\n",
    )


def test_malformed_lines_are_reported_by_number_without_their_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text("GOOD=1\nnot a line with hunter2\nNO_VALUE\n")
    result = run(capsys, *APP, "--env-file", str(path), "--dry-run")
    assert (result.code, result.out, result.err) == (
        2,
        "",
        "django-aws: found 2 problems:\n"
        f"  - {path}: line 2: cannot be parsed; expected KEY=value\n"
        f"  - {path}: line 3: NO_VALUE has no value; expected KEY=value\n",
    )


def test_an_unknown_key_in_secret_is_one_error(
    env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_env(capsys, env_file, "--secret", "NOT_THERE", "--dry-run")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "django-aws: --secret: NOT_THERE not in the input (keys: "
        "ALLOWED_HOSTS, DATABASE_URL, DEBUG, DJANGO_SECRET_KEY, FEATURE_FLAGS, HEROKU_APP_NAME,"
        " PORT, REDIS_URL, SENTRY_DSN, STRIPE_PUBLISHABLE_KEY, WELCOME_MESSAGE)\n"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "{not json",
            "is not valid JSON (Expecting property name enclosed in double quotes:"
            " line 1 column 2 (char 1))",
        ),
        ('["A=1"]', "expected a JSON object of names to values (heroku config --json)"),
        ('{"A": 1}', "the value of A is not a string"),
    ],
)
def test_bad_heroku_json_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(document)
    result = run(capsys, *APP, "--heroku-json", str(path), "--dry-run")
    assert (result.code, result.err) == (2, f"django-aws: {path}: {message}\n")


def test_an_existing_secure_string_is_not_downgraded(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on_moto.client("ssm").put_parameter(
        Name="/shop/production/DEBUG", Value="false", Type="SecureString"
    )
    on_moto.requests.reset()
    result = import_env(capsys, env_file)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "django-aws: /shop/production/DEBUG: exists as a SecureString"
        " parameter; pass --secret DEBUG or delete the parameter (this import writes String"
        " parameters only)\n"
    )
    assert on_moto.requests.operations() == Counter(
        GetCallerIdentity=1, GetSecretValue=1, GetParameters=1
    )


def test_a_secret_that_is_not_a_json_object_is_not_overwritten(
    on_moto: Aws, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on_moto.client("secretsmanager").create_secret(
        Name="shop/production/app", SecretString="plain text"
    )
    result = import_env(capsys, env_file)
    assert (result.code, result.err) == (
        2,
        "django-aws: shop/production/app: exists but does not hold a JSON"
        " object; refusing to overwrite it\n",
    )
    assert on_moto.requests.count("PutSecretValue") + on_moto.requests.count("PutParameter") == 0


# ---------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("SECRET_KEY", "x", ("secret", "name contains SECRET")),
        ("DB_PASSWORD", "x", ("secret", "name contains PASSWORD")),
        ("GITHUB_APITOKEN", "x", ("secret", "name contains TOKEN")),
        ("SENDGRID_API_KEY", "x", ("secret", "name contains KEY")),
        ("BASIC_AUTH", "x", ("secret", "name contains AUTH")),
        ("DJANGO_HASH_SALT", "x", ("secret", "name contains SALT")),
        ("GOOGLE_APPLICATION_CREDENTIALS", "x", ("secret", "name contains CREDENTIAL")),
        ("CACHE_URL", "redis://:hunter2@cache:6379/0", ("secret", "URL with a password")),
        ("CLOUDINARY_URL", "cloudinary://123:abc@shop", ("secret", "URL with a password")),
        ("SAML_CERT_PEM", "x", ("secret", "name contains CERT")),
        ("SIGNING", "-----BEGIN PRIVATE KEY-----\n...", ("secret", "PEM private key")),
        ("MONKEY_COUNT", "3", ("config", "no credential in name or value")),
        ("KEYBOARD_LAYOUT", "us", ("config", "no credential in name or value")),
        ("SENTRY_ENVIRONMENT", "production", ("config", "no credential in name or value")),
        (
            "CACHE_SERVICE_URL",
            "redis://user@cache:6379",
            ("config", "no credential in name or value"),
        ),
        (
            "DATABASE_URL",
            "postgres://u:p@h/d",
            (
                "skipped",
                "the old platform's database; on ECS the "
                "task definitions give the new one (the overlay composes DATABASE_URL from it)",
            ),
        ),
        (
            "REDIS_TLS_URL",
            "rediss://:p@h:6380",
            (
                "skipped",
                "the old platform's Redis; on ECS the app secret holds Terraform's REDIS_URL",
            ),
        ),
        ("WEIRD_URL", "http://[::1", ("config", "no credential in name or value")),
        (
            "HEROKU_POSTGRESQL_RED_URL",
            "postgres://u:p@h/d",
            (
                "skipped",
                "Heroku metadata or an add-on alias of another key (DATABASE_URL, REDIS_URL)",
            ),
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            "x",
            ("skipped", "static AWS keys would override the ECS task role; use the role"),
        ),
    ],
)
def test_classification(key: str, value: str, expected: tuple[str, str]) -> None:
    assert classify(key, value) == expected


def test_a_forced_key_is_imported_even_when_it_would_be_skipped() -> None:
    plan = plan_import(
        {"HEROKU_APP_NAME": "shop"},
        app="shop",
        environment="staging",
        config_keys=["HEROKU_APP_NAME"],
    )
    assert [(e.key, e.kind, e.destination) for e in plan.entries] == [
        ("HEROKU_APP_NAME", "config", "ssm:/shop/staging/HEROKU_APP_NAME")
    ]


def test_every_plan_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        plan_import(
            {"A": "x" * 4097, "B": "1"},
            app="Shop",
            environment="prod",
            secret_keys=["B"],
            config_keys=["B"],
            prefix="/aws/x",
        )
    assert [str(problem) for problem in raised.value.problems] == [
        "--app: expected lowercase letters, digits and dashes, got 'Shop'",
        "--prefix: SSM reserves names that begin with aws or ssm",
        "--secret/--config: B given to both",
        "A: its value is longer than 4096 characters, the limit of a Standard SSM parameter;"
        " pass --secret A",
    ]


def test_the_old_database_url_is_imported_only_when_named(
    env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Skipped by default: next to the task definitions' DATABASE_SECRET it would stop the
    app at start. An app that keeps its database outside AWS names it."""
    result = import_env(capsys, env_file, "--dry-run", "--secret", "DATABASE_URL")
    row = next(line for line in result.out.splitlines() if line.startswith("DATABASE_URL "))
    assert row.split() == [
        "DATABASE_URL", "secret", "secretsmanager:shop/production/app#DATABASE_URL", "--secret"
    ]  # fmt: skip
