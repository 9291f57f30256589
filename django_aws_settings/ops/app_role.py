"""The app's least-privilege PostgreSQL role, made by the migrate task after ``migrate``.

The migrate task connects as the database owner (the RDS master user) and owns every table
a migration creates. Web, workers and beat connect as a second role that may read and write
rows and use sequences, and nothing else: no DDL, no TRUNCATE, no DROP. ``ALTER DEFAULT
PRIVILEGES`` extends the same rights to the tables and sequences later migrations create,
so the role needs no re-grant after each deploy (re-running it is harmless anyway).

The password goes to PostgreSQL as a SCRAM-SHA-256 verifier computed here, so the server's
statement log (``log_statement = ddl`` on the generated parameter groups) never holds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ..cutover import CutoverError, Database

APPLICATION_NAME = "django-aws ensure_app_role"
DEFAULT_LOCK_TIMEOUT = 10.0
TABLE_RIGHTS = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
SEQUENCE_RIGHTS = sql.SQL("USAGE, SELECT, UPDATE")
# PostgreSQL's own default for password_encryption = scram-sha-256.
SCRAM_ITERATIONS = 4096


@dataclass(frozen=True)
class AppRole:
    """The role's name and password, as the db-app secret holds them."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AppRoleResult:
    """What :func:`ensure_app_role` did, worded without the password."""

    role: str
    created: bool
    owner: str
    schema: str
    database: str

    def lines(self) -> list[str]:
        verb = "created" if self.created else "updated (password and grants)"
        return [
            f"app role {self.role} {verb} on {self.database}",
            f"  {TABLE_RIGHTS.as_string(None)} on every table of {self.schema},"
            f" and on the tables {self.owner} creates there later",
        ]


def app_role_from_secret(text: str) -> AppRole:
    """The role in a secret shaped like RDS's master secret: {"username": ..., "password": ...}."""
    try:
        secret = json.loads(text)
    except ValueError:
        raise CutoverError("the app role's secret is not JSON") from None
    if not isinstance(secret, dict):
        raise CutoverError("the app role's secret is not a JSON object")
    username, password = secret.get("username"), secret.get("password")
    if (
        not isinstance(username, str)
        or not username
        or not isinstance(password, str)
        or not password
    ):
        raise CutoverError("the app role's secret needs a non-empty username and password")
    return AppRole(username, password)


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677)."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    encode = base64.b64encode
    return (
        f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{encode(salt).decode()}"
        f"${encode(stored_key).decode()}:{encode(server_key).decode()}"
    )


def ensure_app_role(
    database: Database,
    role: AppRole,
    *,
    schema: str = "public",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> AppRoleResult:
    """Create or update `role` with DML rights on `schema`, now and for later tables.

    Runs as the connecting user, which must own the schema's tables (the migrating user)
    and may create roles. One transaction: a failure leaves no half-granted role.
    """
    name, schema_name = sql.Identifier(role.username), sql.Identifier(schema)
    verifier = sql.Literal(scram_verifier(role.password))
    try:
        with database.open() as connection, connection.transaction():
            connection.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{lock_timeout}s"))
            )
            row = connection.execute(
                "SELECT current_user, current_database(),"
                " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
                (role.username,),
            ).fetchone()
            assert row is not None
            owner, dbname, exists = str(row[0]), str(row[1]), bool(row[2])
            if owner == role.username:
                raise CutoverError(
                    f"connected as {owner}, the app role itself: run this as the migrating user"
                )
            verb = "ALTER" if exists else "CREATE"
            connection.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(name, verifier))
            for statement in (
                "GRANT CONNECT ON DATABASE {database} TO {role}",
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                "GRANT {tables} ON ALL TABLES IN SCHEMA {schema} TO {role}",
                "GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
                " GRANT {tables} ON TABLES TO {role}",
                "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
                " GRANT {sequences} ON SEQUENCES TO {role}",
            ):
                connection.execute(
                    sql.SQL(statement).format(
                        database=sql.Identifier(dbname),
                        role=name,
                        schema=schema_name,
                        owner=sql.Identifier(owner),
                        tables=TABLE_RIGHTS,
                        sequences=SEQUENCE_RIGHTS,
                    )
                )
    except psycopg.Error as error:
        raise CutoverError(
            f"cannot set up the app role on {database.label}: {database.describe(error)}"
        ) from None
    return AppRoleResult(role.username, not exists, owner, schema, database.label)
