"""Password rotation: the backend re-reads Secrets Manager once when PostgreSQL says 28P01.

Real PostgreSQL with SCRAM over TLS (`tls_postgres`), real boto3 against moto. Each test
connects, rotates the way Secrets Manager does (ALTER ROLE, then PutSecretValue), and
opens a new connection in the same process.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.utils import OperationalError
from psycopg import sql
from support.moto_server import Aws
from support.postgres import (
    DEFAULT_ROLE_PASSWORD,
    TlsDatabase,
    close_connection,
    open_connection,
    production_environ,
)
from support.processes import unique_name

from django_aws_settings.db.postgresql.base import is_authentication_failure
from django_aws_settings.settings.databases import ROTATING_ENGINE, databases

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("django_settings")]

ROTATED = "r0t@ted/$#?%:pw"


def secret_reads(aws: Aws) -> int:
    return aws.requests.count("BatchGetSecretValue", service="secretsmanager")


def whoami(connection: Any) -> tuple[str, int]:
    """(current_user, backend pid) over the Django connection, connecting if needed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, pg_backend_pid()")
        user, pid = cursor.fetchone()
    return str(user), int(pid)


@pytest.fixture
def connections() -> Iterator[list[Any]]:
    """Django connections a test opens; closed (and their pools too) afterwards."""
    opened: list[Any] = []
    yield opened
    for connection in opened:
        close_connection(connection)


def connect(settings_dict: dict[str, Any], opened: list[Any]) -> Any:
    connection = open_connection(settings_dict, unique_name("rotation"))
    opened.append(connection)
    return connection


def store_secret(aws: Aws, value: str) -> str:
    name = f"prod/{unique_name('db')}"
    aws.client("secretsmanager").create_secret(Name=name, SecretString=value)
    return name


def rotate(aws: Aws, database: TlsDatabase, name: str, value: str) -> None:
    """Secrets Manager's order: setSecret changes the database, finishSecret the secret."""
    database.set_password(ROTATED)
    aws.client("secretsmanager").put_secret_value(SecretId=name, SecretString=value)


# DATABASE_POOL=true is a configuration error on Django 4.2, which has no pool.
@pytest.mark.parametrize(
    "pool", ["false", pytest.param("true", marks=pytest.mark.needs_django_pool)]
)
def test_reference_secret_survives_rotation(
    aws: Aws, tls_database: TlsDatabase, connections: list[Any], pool: str
) -> None:
    name = store_secret(aws, tls_database.secret())
    environ = aws.environ(
        **production_environ(
            tls_database.ca_path, DATABASE_SECRET=f"secretsmanager:{name}", DATABASE_POOL=pool
        )
    )
    settings_dict = databases(environ)["default"]
    assert settings_dict["ENGINE"] == ROTATING_ENGINE
    assert settings_dict["CREDENTIALS_SECRET"] == {
        "reference": f"secretsmanager:{name}",
        "format": "json",
        "region": aws.region,
        "endpoint_url": aws.endpoint_url,
    }
    assert secret_reads(aws) == 1  # resolving DATABASE_SECRET at startup

    connection = connect(settings_dict, connections)
    user, first_pid = whoami(connection)
    assert user == tls_database.user
    connection.close()  # back to the pool, or closed

    rotate(aws, tls_database, name, tls_database.secret(password=ROTATED))
    # Kill the pooled connection too, as a failover or max_lifetime would: the pool must
    # open a new one, which the old password can no longer do.
    tls_database.terminate_sessions()

    assert (connection.pool is not None) == (pool == "true")
    user, second_pid = whoami(connection)
    assert user == tls_database.user
    assert second_pid != first_pid
    assert secret_reads(aws) == 2  # exactly one re-read

    connection.close()
    tls_database.terminate_sessions()
    assert whoami(connection)[0] == tls_database.user
    assert secret_reads(aws) == 2  # the process now holds the new password


def test_secret_injected_by_ecs_is_reread_through_its_id(
    aws: Aws, tls_database: TlsDatabase, connections: list[Any]
) -> None:
    name = store_secret(aws, tls_database.secret())
    environ = aws.environ(
        **production_environ(
            tls_database.ca_path,
            DATABASE_SECRET=tls_database.secret(),  # what ECS put in the environment
            DATABASE_SECRET_ID=name,
            DATABASE_POOL="false",
        )
    )
    settings_dict = databases(environ)["default"]
    assert secret_reads(aws) == 0
    connection = connect(settings_dict, connections)
    assert whoami(connection)[0] == tls_database.user
    connection.close()

    rotate(aws, tls_database, name, tls_database.secret(password=ROTATED))

    assert whoami(connection)[0] == tls_database.user
    assert secret_reads(aws) == 1


def test_url_in_a_secret_key_is_reread(
    aws: Aws, tls_database: TlsDatabase, connections: list[Any]
) -> None:
    def document(password: str) -> str:
        quoted = urllib.parse.quote(password, safe="")
        url = tls_database.url.replace(urllib.parse.quote(tls_database.password, safe=""), quoted)
        return json.dumps({"url": url, "note": "managed by terraform"})

    name = store_secret(aws, document(tls_database.password))
    environ = aws.environ(
        **production_environ(tls_database.ca_path, DATABASE_URL=f"secretsmanager:{name}#url")
    )
    settings_dict = databases(environ)["default"]
    assert settings_dict["CREDENTIALS_SECRET"]["format"] == "url"
    connection = connect(settings_dict, connections)
    assert whoami(connection)[0] == tls_database.user
    connection.close()

    rotate(aws, tls_database, name, document(ROTATED))
    tls_database.terminate_sessions()

    assert whoami(connection)[0] == tls_database.user
    assert secret_reads(aws) == 2


def test_alternating_users_rotation_switches_the_user(
    aws: Aws, tls_database: TlsDatabase, connections: list[Any]
) -> None:
    # Secrets Manager's alternating-users strategy moves the secret to a clone role.
    clone = f"{tls_database.user}_clone"[:63]
    with tls_database.server.admin_connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(clone), sql.Literal(ROTATED), sql.Identifier(tls_database.user)
            )
        )
    try:
        name = store_secret(aws, tls_database.secret())
        environ = aws.environ(
            **production_environ(
                tls_database.ca_path, DATABASE_SECRET=f"secretsmanager:{name}", DATABASE_POOL="0"
            )
        )
        connection = connect(databases(environ)["default"], connections)
        assert whoami(connection)[0] == tls_database.user
        connection.close()

        aws.client("secretsmanager").put_secret_value(
            SecretId=name, SecretString=tls_database.secret(username=clone, password=ROTATED)
        )
        tls_database.set_password("retired by the next rotation")

        assert whoami(connection)[0] == clone
        assert secret_reads(aws) == 2
    finally:
        for connection in connections:
            connection.close()
        with tls_database.server.admin_connect() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(clone)))


def test_secret_not_yet_rotated_fails_after_one_reread(
    aws: Aws, tls_database: TlsDatabase, connections: list[Any]
) -> None:
    original = tls_database.password
    name = store_secret(aws, tls_database.secret())
    environ = aws.environ(
        **production_environ(
            tls_database.ca_path, DATABASE_SECRET=f"secretsmanager:{name}", DATABASE_POOL="false"
        )
    )
    connection = connect(databases(environ)["default"], connections)
    tls_database.set_password(ROTATED)  # the secret still holds the old password

    with pytest.raises(OperationalError) as first:
        connection.ensure_connection()
    assert is_authentication_failure(first.value.__cause__ or first.value)
    assert 'password authentication failed for user "' in str(first.value)
    assert original not in str(first.value)
    assert ROTATED not in str(first.value)
    assert secret_reads(aws) == 2

    # Right after a re-read that did not help, failures do not read the secret again.
    with pytest.raises(OperationalError):
        connection.ensure_connection()
    assert secret_reads(aws) == 2


def test_failed_reread_keeps_the_authentication_error_and_logs_no_value(
    aws: Aws,
    tls_database: TlsDatabase,
    connections: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = store_secret(aws, tls_database.secret())
    environ = aws.environ(
        **production_environ(
            tls_database.ca_path, DATABASE_SECRET=f"secretsmanager:{name}", DATABASE_POOL="false"
        )
    )
    connection = connect(databases(environ)["default"], connections)
    aws.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    tls_database.set_password(ROTATED)

    with pytest.raises(OperationalError, match="password authentication failed"):
        connection.ensure_connection()
    assert [
        record.getMessage() for record in caplog.records if record.name == "django_aws_settings.db"
    ] == [
        f"the database rejected the credentials; re-reading secretsmanager:{name}",
        f"cannot re-read secretsmanager:{name}: not found",
    ]
    assert DEFAULT_ROLE_PASSWORD not in caplog.text


def test_plain_url_keeps_djangos_engine(tls_database: TlsDatabase) -> None:
    settings_dict = databases(
        production_environ(tls_database.ca_path, DATABASE_URL=tls_database.url)
    )
    assert settings_dict["default"]["ENGINE"] == "django.db.backends.postgresql"
