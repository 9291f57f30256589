"""The machine's PostgreSQL (databases and roles made per test session), throwaway
TLS-only PostgreSQL clusters, and Django connections opened on either."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from .certificates import CertificateAuthority
from .processes import (
    LOOPBACK,
    NAME_PREFIX,
    START_TIMEOUT,
    free_port,
    pid_alive,
    running_as_root,
    unique_name,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --------------------------------------------------------------- local PostgreSQL server


@dataclass(frozen=True)
class PgServer:
    """The long-running PostgreSQL on this machine (trust auth: passwords are not checked)."""

    host: str = LOOPBACK
    port: int = 5432
    user: str = "postgres"

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[TupleRow]:
        """Admin connection in autocommit, because CREATE/DROP DATABASE refuse transactions."""
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True
        )


_STALE_NAME = re.compile(rf"^{NAME_PREFIX}_(\d+)_")


def _is_stale(name: str) -> bool:
    match = _STALE_NAME.match(name)
    return match is not None and not pid_alive(int(match.group(1)))


def drop_stale_objects(server: PgServer) -> list[str]:
    """Drop databases and roles left behind by killed sessions (their pid no longer exists).

    Normal teardown removes everything; this only matters after SIGKILL or a power cut,
    which would otherwise accumulate databases on a developer's machine.
    """
    dropped: list[str] = []
    with server.connect() as conn:
        databases = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        for name in filter(_is_stale, databases):
            with contextlib.suppress(psycopg.Error):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                dropped.append(name)
        roles = [row[0] for row in conn.execute("SELECT rolname FROM pg_roles")]
        for name in filter(_is_stale, roles):
            with contextlib.suppress(psycopg.Error):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
                dropped.append(name)
    return dropped


class DatabaseFactory:
    """Creates uniquely named databases on demand and drops all of them at the end."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self.names: list[str] = []

    def __call__(self, name_prefix: str = "db") -> str:
        """Create a fresh empty database and return its `postgres://` URL."""
        name = unique_name(name_prefix)
        with self.server.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.names.append(name)
        return self.server.url(name)

    def drop_all(self) -> None:
        """Drop every database we made; FORCE terminates connections a test left open."""
        with self.server.connect() as conn:
            while self.names:
                name = self.names.pop()
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def dbname_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


DEFAULT_ROLE_PASSWORD = "p$a#s?s/w%o@r:d"


@dataclass
class PgRole:
    """A throwaway login role; `url` percent-encodes the password, as a user's URL must."""

    user: str
    password: str
    host: str
    port: int
    dbname: str
    server: PgServer = field(repr=False)

    @property
    def url(self) -> str:
        user = urllib.parse.quote(self.user, safe="")
        password = urllib.parse.quote(self.password, safe="")
        return f"postgres://{user}:{password}@{self.host}:{self.port}/{self.dbname}"

    def set_password(self, new: str) -> None:
        """Rotate the password (what a Secrets Manager rotation does to RDS)."""
        with self.server.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(new)
                )
            )
        self.password = new


def create_role(server: PgServer, dbname: str, password: str = DEFAULT_ROLE_PASSWORD) -> PgRole:
    """Create a login role able to create tables in `public` of `dbname` (PG15 revoked that)."""
    role = PgRole(unique_name("role"), password, server.host, server.port, dbname, server)
    ident, db = sql.Identifier(role.user), sql.Identifier(dbname)
    with server.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password))
        )
        conn.execute(
            sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(db, ident)
        )
    with server.connect(dbname) as conn:
        conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(ident))
    return role


def drop_role(role: PgRole, databases: Iterable[str]) -> None:
    """Terminate the role's sessions, drop what it owns in `databases`, then the role.

    DROP OWNED also drops the tables a test created as this role, so the shared session
    database does not accumulate state from one test to the next.
    """
    ident = sql.Identifier(role.user)
    with role.server.connect() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            [role.user],
        )
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    for dbname in dict.fromkeys(databases):
        if dbname in existing:
            with role.server.connect(dbname) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(ident))
    with role.server.connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))


# ------------------------------------------------------------- throwaway TLS PostgreSQL


def _as_postgres(*argv: str) -> list[str]:
    """PostgreSQL server binaries refuse to run as root, so drop to the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *argv] if running_as_root() else list(argv)


def _give_to_postgres(*paths: Path) -> None:
    if running_as_root():
        for path in paths:
            shutil.chown(path, user="postgres")


_TLS_PG_HBA = """\
# setup and teardown over the unix socket only
local     all  all                 trust
hostssl   all  all  127.0.0.1/32   scram-sha-256
host      all  all  127.0.0.1/32   reject
"""

_TLS_PG_CONF = """
# --- django-aws-settings test cluster: loopback only, TLS, tuned for speed not safety
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 32MB
"""


@dataclass
class TlsPostgres:
    """A PostgreSQL 15 cluster that only accepts TLS + SCRAM from TCP clients, like RDS."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    ca_path: Path
    socket_dir: Path = field(repr=False)
    base_dir: Path = field(repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def url(self) -> str:
        """URL without TLS options; tests append `?sslmode=...&sslrootcert=...` as needed."""
        password = urllib.parse.quote(self.password, safe="")
        return f"postgres://{self.user}:{password}@{self.host}:{self.port}/{self.dbname}"

    def admin_connect(self, dbname: str = "postgres") -> psycopg.Connection[TupleRow]:
        """Superuser connection over the unix socket (trust), for setup inside a test."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
        )

    def stop(self) -> None:
        stop_cluster(self.base_dir)


def stop_cluster(base_dir: Path) -> None:
    """Stop the cluster (if it runs) and delete its files."""
    data = base_dir / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"),
            capture_output=True,
            check=False,
        )
    shutil.rmtree(base_dir, ignore_errors=True)


def start_tls_postgres(
    ca: CertificateAuthority, *, user: str = "app", dbname: str = "app"
) -> TlsPostgres:
    """initdb + start a cluster on a free port with a CA-signed cert; create `user`/`dbname`."""
    base = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-pg-"))
    try:
        return _start_tls_postgres(base, ca, user=user, dbname=dbname)
    except BaseException:
        stop_cluster(base)
        raise


def _start_tls_postgres(
    base: Path, ca: CertificateAuthority, *, user: str, dbname: str
) -> TlsPostgres:
    data, socket_dir, log = base / "data", base / "socket", base / "postgres.log"
    socket_dir.mkdir()
    _give_to_postgres(base, socket_dir)
    subprocess.run(
        _as_postgres(
            str(PG_BIN / "initdb"),
            "-D", str(data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    cert = ca.issue_server_cert("postgres-server")
    shutil.copyfile(cert.cert_path, data / "server.crt")
    shutil.copyfile(cert.key_path, data / "server.key")
    (data / "server.key").chmod(0o600)
    (data / "pg_hba.conf").write_text(_TLS_PG_HBA)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(_TLS_PG_CONF.format(socket_dir=socket_dir))
    _give_to_postgres(data / "server.crt", data / "server.key", data / "pg_hba.conf")

    for _attempt in range(3):  # the port may be taken between free_port() and bind()
        port = free_port()
        started = subprocess.run(
            _as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log),
                "-o", f"-p {port}", "-w", "-t", str(int(START_TIMEOUT)), "start",
            ),
            capture_output=True,
            check=False,
        )  # fmt: skip
        if started.returncode == 0:
            break
        if "could not bind" not in log.read_text(errors="replace"):
            raise RuntimeError(f"pg_ctl start failed:\n{log.read_text(errors='replace')}")
    else:
        raise RuntimeError("no free port for the TLS PostgreSQL cluster")

    server = TlsPostgres(
        host=LOOPBACK,
        port=port,
        user=user,
        password=secrets.token_urlsafe(16),
        dbname=dbname,
        ca_path=ca.cert_path,
        socket_dir=socket_dir,
        base_dir=base,
    )
    with server.admin_connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(server.password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(user)
            )
        )
    return server


@dataclass
class TlsDatabase:
    """A role with an awkward password owning its own database on the TLS cluster."""

    user: str
    password: str
    host: str
    port: int
    dbname: str
    ca_path: Path
    server: TlsPostgres

    @classmethod
    def create(cls, server: TlsPostgres, password: str = DEFAULT_ROLE_PASSWORD) -> TlsDatabase:
        """A fresh role and a database it owns, both named `dastest_<pid>_<random>_tls`."""
        name = unique_name("tls")
        with server.admin_connect() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(name)
                )
            )
        return cls(name, password, server.host, server.port, name, server.ca_path, server)

    @property
    def url(self) -> str:
        password = urllib.parse.quote(self.password, safe="")
        return f"postgres://{self.user}:{password}@{self.host}:{self.port}/{self.dbname}"

    def secret(self, **overrides: Any) -> str:
        """The JSON of a user-created RDS secret for this database."""
        document = {
            "engine": "postgres",
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "username": self.user,
            "password": self.password,
            **overrides,
        }
        return json.dumps({key: value for key, value in document.items() if value is not None})

    def set_password(self, new: str) -> None:
        """What a Secrets Manager rotation does to the database."""
        with self.server.admin_connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(new)
                )
            )
        self.password = new

    def terminate_sessions(self) -> None:
        with self.server.admin_connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [self.user],
            )

    def drop(self) -> None:
        """Drop the database (closing its sessions) and the role."""
        with self.server.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)
                )
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.user)))


def production_environ(ca_path: Path | str, **extra: str) -> dict[str, str]:
    """A production environment for `databases()` that trusts the CA bundle at `ca_path`."""
    return {"DJANGO_ENV": "production", "DATABASE_CA_BUNDLE": str(ca_path), **extra}


# ------------------------------------------------------------------ Django connections


def open_connection(settings_dict: dict[str, Any], alias: str) -> Any:
    """A Django connection for `settings_dict`, outside `django.db.connections`.

    Needs configured settings (the `django_settings` fixture). Use a unique alias: Django
    5.1+ keys its connection pools by alias, for the whole process.
    """
    from django.db.utils import ConnectionHandler

    dummy = {"ENGINE": "django.db.backends.dummy"}
    return ConnectionHandler({"default": dummy, alias: settings_dict})[alias]


def close_connection(connection: Any) -> None:
    """Close the connection, and its pool where Django has pools (5.1+)."""
    connection.close()
    if hasattr(connection, "close_pool"):  # Django 4.2 has neither pool nor close_pool()
        connection.close_pool()
