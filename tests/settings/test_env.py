"""Reference resolution against moto in server mode, and the collecting Reader."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from django_aws_settings.settings.env import (
    AwsClients,
    Reader,
    Reference,
    ResolvedEnviron,
    fetch_reference,
    parse_reference,
    quoted,
    resolved,
    shape,
)
from django_aws_settings.settings.errors import ConfigError, Problems

SECRET_VALUE = "s3cr3t-$#?/%@:-value"


def problems_of(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("secretsmanager:prod/app", Reference("secretsmanager", "prod/app")),
        ("secretsmanager:prod/app#password", Reference("secretsmanager", "prod/app", "password")),
        (
            "secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf#host",
            Reference(
                "secretsmanager",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
                "host",
            ),
        ),
        ("ssm:/shop/prod/SENTRY_DSN", Reference("ssm", "/shop/prod/SENTRY_DSN")),
        ("postgres://u:p@h/db", None),
        ("plain", None),
    ],
)
def test_parse_reference(value: str, expected: Reference | None) -> None:
    assert parse_reference(value) == expected


def test_plain_environment_is_copied_without_any_aws_call(aws: Any) -> None:
    environ = {"DEBUG": "false", "DATABASE_URL": "postgres://h/db"}
    result = resolved(environ)
    assert result == environ
    assert result.references == {}
    assert len(aws.requests) == 0


def test_secret_whole_json_key_and_parameter_resolve(aws: Any) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="shop/prod/app", SecretString=json.dumps({"SECRET_KEY": SECRET_VALUE}))
    sm.create_secret(Name="shop/prod/url", SecretString="redis://cache:6379/0")
    aws.client("ssm").put_parameter(
        Name="/shop/prod/BUCKET", Value="shop-media", Type="SecureString"
    )
    environ = aws.environ(
        SECRET_KEY="secretsmanager:shop/prod/app#SECRET_KEY",
        CACHE_URL="secretsmanager:shop/prod/url",
        AWS_STORAGE_BUCKET_NAME="ssm:/shop/prod/BUCKET",
        DEBUG="false",
    )
    result = resolved(environ)
    assert result["SECRET_KEY"] == SECRET_VALUE
    assert result["CACHE_URL"] == "redis://cache:6379/0"
    assert result["AWS_STORAGE_BUCKET_NAME"] == "shop-media"
    assert result["DEBUG"] == "false"
    assert result.references["SECRET_KEY"] == Reference(
        "secretsmanager", "shop/prod/app", "SECRET_KEY"
    )


def test_batches_are_the_minimum_number_of_calls(aws: Any) -> None:
    sm, ssm = aws.client("secretsmanager"), aws.client("ssm")
    environ = aws.environ()
    for i in range(45):
        sm.create_secret(Name=f"app/s{i}", SecretString=json.dumps({"a": f"A{i}", "b": f"B{i}"}))
        # Two variables per secret: each secret must still be fetched once.
        environ[f"S{i}_A"] = f"secretsmanager:app/s{i}#a"
        environ[f"S{i}_B"] = f"secretsmanager:app/s{i}#b"
    for i in range(25):
        ssm.put_parameter(Name=f"/app/p{i}", Value=f"P{i}", Type="String")
        environ[f"P{i}"] = f"ssm:/app/p{i}"
    aws.requests.reset()

    result = resolved(environ)

    assert result["S44_B"] == "B44"
    assert result["P24"] == "P24"
    assert aws.requests.count("BatchGetSecretValue") == 3  # ceil(45 / 20)
    assert aws.requests.count("GetParameters") == 3  # ceil(25 / 10)
    assert len(aws.requests) == 6


def test_secret_by_full_arn(aws: Any) -> None:
    arn = aws.client("secretsmanager").create_secret(Name="db", SecretString='{"password":"x"}')[
        "ARN"
    ]
    result = resolved(aws.environ(DB_PASSWORD=f"secretsmanager:{arn}#password"))
    assert result["DB_PASSWORD"] == "x"


def test_every_failure_is_reported_once_without_values(aws: Any) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="app", SecretString=json.dumps({"SECRET_KEY": SECRET_VALUE}))
    sm.create_secret(Name="text", SecretString=SECRET_VALUE)
    sm.create_secret(Name="list", SecretString=json.dumps([SECRET_VALUE]))
    environ = aws.environ(
        A_MISSING_SECRET="secretsmanager:nope",
        B_MISSING_KEY="secretsmanager:app#PASSWORD",
        C_NOT_JSON="secretsmanager:text#PASSWORD",
        D_NOT_OBJECT="secretsmanager:list#PASSWORD",
        E_MISSING_PARAMETER="ssm:/app/nope",
        F_FINE="secretsmanager:app#SECRET_KEY",
    )
    with pytest.raises(ConfigError) as error:
        resolved(environ)
    assert problems_of(error) == [
        "A_MISSING_SECRET: cannot resolve secretsmanager:nope: not found",
        "B_MISSING_KEY: cannot resolve secretsmanager:app#PASSWORD: the JSON has no key "
        "'PASSWORD' (keys present: SECRET_KEY)",
        "C_NOT_JSON: cannot resolve secretsmanager:text#PASSWORD: the value is not JSON, "
        "so it has no key 'PASSWORD'",
        "D_NOT_OBJECT: cannot resolve secretsmanager:list#PASSWORD: the value is not a JSON "
        "object, so it has no key 'PASSWORD'",
        "E_MISSING_PARAMETER: cannot resolve ssm:/app/nope: not found",
    ]
    assert SECRET_VALUE not in str(error.value)
    assert str(error.value).startswith("django-aws-settings found 5 problems:\n  - A_MISSING")


def test_binary_secret_is_refused(aws: Any) -> None:
    aws.client("secretsmanager").create_secret(Name="bin", SecretBinary=b"\x00\x01")
    with pytest.raises(ConfigError) as error:
        resolved(aws.environ(CERT="secretsmanager:bin"))
    assert problems_of(error) == [
        "CERT: cannot resolve secretsmanager:bin: is a binary secret; only string secrets "
        "are supported"
    ]


def test_access_denied_names_every_reference_of_the_batch() -> None:
    client = boto3.client(
        "secretsmanager",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "batch_get_secret_value", "AccessDeniedException", http_status_code=400
    )
    environ = {"AWS_REGION": "eu-west-1", "X": "secretsmanager:a", "Y": "secretsmanager:b#k"}
    with stubber, pytest.raises(ConfigError) as error:
        resolved(environ, clients=AwsClients(environ, factory=lambda service: client))
    reason = (
        "access denied by Secrets Manager (AccessDeniedException); check the task role's policy"
    )
    assert problems_of(error) == [
        f"X: cannot resolve secretsmanager:a: {reason}",
        f"Y: cannot resolve secretsmanager:b#k: {reason}",
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint(aws: Any) -> None:
    environ = aws.environ(X="ssm:/a")
    environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ConfigError) as error:
        resolved(environ)
    assert problems_of(error) == [
        "X: cannot resolve ssm:/a: could not reach SSM Parameter Store in us-east-1 "
        "(EndpointConnectionError)"
    ]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that accepts connections and never answers, like a blackholed endpoint."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.slow
def test_timeout_is_bounded(aws: Any, silent_endpoint: str) -> None:
    environ = aws.environ(X="secretsmanager:a")
    environ["AWS_ENDPOINT_URL"] = silent_endpoint
    with pytest.raises(ConfigError) as error:
        resolved(environ)
    assert problems_of(error) == [
        "X: cannot resolve secretsmanager:a: could not reach Secrets Manager in us-east-1 "
        "(ReadTimeoutError)"
    ]


def test_missing_region(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    environ = {"AWS_ENDPOINT_URL": aws.endpoint_url, "X": "secretsmanager:a"}
    with pytest.raises(ConfigError) as error:
        resolved(environ)
    assert problems_of(error) == [
        "X: cannot resolve secretsmanager:a: no AWS region: set AWS_REGION"
    ]


def test_fetch_reference_reads_the_current_value(aws: Any) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="db", SecretString='{"password":"old"}')
    environ = aws.environ()
    clients = AwsClients(environ)
    assert fetch_reference(Reference("secretsmanager", "db", "password"), clients) == "old"
    sm.put_secret_value(SecretId="db", SecretString='{"password":"new"}')
    assert fetch_reference(Reference("secretsmanager", "db", "password"), clients) == "new"


def test_reader_collects_every_problem() -> None:
    r = Reader({"DJANGO_ENV": "production", "DEBUG": "maybe", "BUDGET": "ten", "PORT": "70000"})
    assert r.flag("DEBUG", default=False) is False
    assert r.integer("BUDGET", 10) == 10
    assert r.integer("PORT", 5432, minimum=1, maximum=65535) == 5432
    assert r.required("SECRET_KEY", "a long random string") is None
    with pytest.raises(ConfigError) as error:
        r.raise_if_any()
    assert problems_of(error) == [
        "DEBUG: expected a boolean (true/false, 1/0, yes/no, on/off)",
        "BUDGET: expected an integer between 0 and 2147483647, got 'ten'",
        "PORT: expected an integer between 1 and 65535, got 70000",
        "SECRET_KEY: is required when DJANGO_ENV=production; expected a long random string",
    ]


def test_unknown_django_env_is_strict() -> None:
    r = Reader({"DJANGO_ENV": "prod"})
    assert r.production is True
    assert [str(p) for p in r.problems.items] == [
        "DJANGO_ENV: expected one of development, production, got 'prod'"
    ]


def test_reader_items_and_empty_values() -> None:
    r = Reader({"HOSTS": " a.example.com, ,b.example.com ", "EMPTY": "  "})
    assert r.items("HOSTS") == ["a.example.com", "b.example.com"]
    assert r.text("EMPTY", "fallback") == "fallback"
    assert r.production is False


# ------------------------------------------------------------- quoting values in messages


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod", "'prod'"),
        ("https://app.example.com", "'https://app.example.com'"),
        (
            f"postgres://app:{SECRET_VALUE}@db/shop",
            "a postgres:// URL with credentials (not shown)",
        ),
        ("https://h/path?token=abc", "a https:// URL with credentials (not shown)"),
        ("Weird-Scheme9://u:p@h", "a URL with credentials (not shown)"),
        ("app:hunter2@db", "a value with credentials (not shown)"),
        ("x" * 120, repr("x" * 100 + "...")),
        ('{"TOKEN": "hunter2"}', "part of a JSON document (not shown)"),
        (' "TOKEN": "hunter2"}', "part of a JSON document (not shown)"),
    ],
)
def test_plain_values_are_quoted_unless_they_carry_credentials(value: str, expected: str) -> None:
    assert quoted([value]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("redis://:t@h/0", "a redis:// URL"),
        ('{"password": "x"}', "a JSON object"),
        ("[1, 2]", "a JSON array"),
        ("12", "a number"),
        ("hunter2", "a value"),
    ],
)
def test_a_value_from_a_reference_is_only_described(value: str, expected: str) -> None:
    reference = Reference("secretsmanager", "shop/prod/app", "KEY")
    assert quoted([value], reference) == f"{expected} from {reference} (not shown)"
    assert quoted([value, value], reference) == f"2 entries from {reference} (not shown)"


def test_reader_shows_references_by_name_only() -> None:
    environ = ResolvedEnviron(
        {"ALLOWED_HOSTS": f"postgres://app:{SECRET_VALUE}@db/shop", "LOG_LEVEL": "loud"},
        {"ALLOWED_HOSTS": Reference("secretsmanager", "app", "DATABASE_URL")},
    )
    r = Reader(environ)
    assert r.shown("ALLOWED_HOSTS", environ["ALLOWED_HOSTS"]) == (
        "a postgres:// URL from secretsmanager:app#DATABASE_URL (not shown)"
    )
    assert r.shown("LOG_LEVEL", "loud") == "'loud'"
    assert shape("memcached://h") == "a memcached:// URL"


def test_an_integer_from_a_reference_is_not_shown() -> None:
    environ = ResolvedEnviron({"BUDGET": "99999"}, {"BUDGET": Reference("ssm", "/app/PIN")})
    r = Reader(environ)
    assert r.integer("BUDGET", 10, minimum=1, maximum=100) == 10
    assert [str(p) for p in r.problems.items] == [
        "BUDGET: expected an integer between 1 and 100, got a number from ssm:/app/PIN (not shown)"
    ]


def test_an_uncaught_config_error_prints_its_message_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: seen.append(error))
    problems = Problems()
    problems.add("ALLOWED_HOSTS", "expected host names")
    with pytest.raises(ConfigError) as error:
        problems.raise_if_any()
    sys.excepthook(ConfigError, error.value, None)
    other = ValueError("not ours")
    sys.excepthook(ValueError, other, None)
    assert capsys.readouterr().err == "django-aws-settings: ALLOWED_HOSTS: expected host names\n"
    assert seen == [other]  # anything else reaches the hook installed before
