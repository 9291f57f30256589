"""Real local services for the test suite: PostgreSQL, Redis, moto and a fake ECS agent.

conftest.py wraps these helpers in fixtures; they live in a plain module so tests can
import the types for annotations. Everything binds to loopback, names what it creates
uniquely (so parallel sessions and pytest-xdist workers do not collide) and removes it
again, including on a failed start.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.client
import http.server
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import psycopg
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from psycopg import sql
from psycopg.rows import TupleRow

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from botocore.config import Config
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient
    from werkzeug.serving import BaseWSGIServer

LOOPBACK = "127.0.0.1"
# Every database, role and temp dir we create starts with this, followed by our pid, so a
# later session can recognise (and drop) leftovers of a session that was killed.
NAME_PREFIX = "dastest"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 30.0


# --------------------------------------------------------------------------- generic


def free_port() -> int:
    """A currently free loopback port, for servers that cannot be told to bind port 0."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def unique_name(label: str = "") -> str:
    """`dastest_<pid>_<random>[_label]`, a valid unquoted SQL identifier of at most 63 chars."""
    slug = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")
    name = f"{NAME_PREFIX}_{os.getpid()}_{secrets.token_hex(4)}"
    return f"{name}_{slug}"[:63] if slug else name


def pid_alive(pid: int) -> bool:
    """Whether a process exists (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `check` until true; fail early with the log if the server process died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.02)
    detail = log.read_text(errors="replace") if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not become ready\n{detail}")


def http_get(url: str, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET a loopback http:// URL with a timeout; returns (status, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _running_as_root() -> bool:
    return os.geteuid() == 0


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


# ------------------------------------------------------------------ certificate authority


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by its owner only (PostgreSQL refuses group/world-readable keys)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class ServerCert:
    cert_path: Path
    key_path: Path


class CertificateAuthority:
    """A throwaway CA, so TLS tests verify certificates (verify-full) instead of disabling checks.

    Certificates carry SKI/AKI, key usages and SANs, which OpenSSL 3 and Python's
    VERIFY_X509_STRICT (default from 3.13) insist on.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cert_path = directory / "ca.crt"
        self.key_path = directory / "ca.key"
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "django-aws-settings test CA")])
        public = self._key.public_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        _write_private(self.key_path, _key_pem(self._key))

    def issue_server_cert(
        self,
        name: str = "server",
        *,
        dns_names: Iterable[str] = ("localhost",),
        ip_addresses: Iterable[str] = (LOOPBACK,),
    ) -> ServerCert:
        """Issue `<name>.crt`/`<name>.key` for the given SANs (CN is the first DNS name)."""
        dns = list(dns_names)
        ips = [ipaddress.ip_address(ip) for ip in ip_addresses]
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        common_name = dns[0] if dns else str(ips[0])
        san: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        san += [x509.IPAddress(ip) for ip in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        result = ServerCert(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        result.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(result.key_path, _key_pem(key))
        return result


# ------------------------------------------------------------- throwaway TLS PostgreSQL


def _as_postgres(*argv: str) -> list[str]:
    """PostgreSQL server binaries refuse to run as root, so drop to the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *argv] if _running_as_root() else list(argv)


def _give_to_postgres(*paths: Path) -> None:
    if _running_as_root():
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


# ------------------------------------------------------------------------------ Redis

REDIS_HOST, REDIS_PORT = LOOPBACK, 6379
# Without xdist we use 14; each xdist worker gets its own even index so FLUSHDB stays private
# (a cache derived from REDIS_URL takes the next, odd, database: nobody else's).
_REDIS_DB_INDEXES = (14, 12, 10, 8, 6, 4, 2)


def redis_db_index(xdist_worker: str | None) -> int:
    """DB index for this process: 13, or one per xdist worker (`gw0`, `gw1`, ...)."""
    if not xdist_worker:
        return _REDIS_DB_INDEXES[0]
    number = int(xdist_worker.removeprefix("gw"))
    if number >= len(_REDIS_DB_INDEXES):
        raise RuntimeError(f"redis_url supports at most {len(_REDIS_DB_INDEXES)} xdist workers")
    return _REDIS_DB_INDEXES[number]


def flush_redis(url: str, **kwargs: Any) -> None:
    client = redis.Redis.from_url(url, **kwargs)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class TlsRedis:
    """A redis-server that speaks TLS only (like ElastiCache with in-transit encryption)."""

    url: str
    ca_path: Path
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    directory: Path = field(repr=False)

    def client(self) -> redis.Redis:
        """A client that verifies the server certificate against the test CA."""
        return redis.Redis.from_url(self.url, ssl_ca_certs=str(self.ca_path))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _tls_ping(port: int, ca_path: Path) -> bool:
    client = redis.Redis(
        host=LOOPBACK, port=port, ssl=True, ssl_ca_certs=str(ca_path), socket_timeout=1
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def start_tls_redis(ca: CertificateAuthority) -> TlsRedis:
    """Start `redis-server --port 0 --tls-port <free>` with a CA-signed cert; no persistence."""
    directory = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-redis-"))
    cert = ca.issue_server_cert("redis-server")
    log = directory / "redis.log"
    try:
        for _attempt in range(3):  # the port may be taken between free_port() and bind()
            port = free_port()
            argv = [
                REDIS_SERVER,
                "--bind", LOOPBACK,
                "--port", "0",
                "--tls-port", str(port),
                "--tls-cert-file", str(cert.cert_path),
                "--tls-key-file", str(cert.key_path),
                "--tls-ca-cert-file", str(ca.cert_path),
                "--tls-auth-clients", "no",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
                "--logfile", str(log),
            ]  # fmt: skip
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            server = TlsRedis(
                f"rediss://{LOOPBACK}:{port}/0", ca.cert_path, port, process, directory
            )
            try:
                _wait_until(
                    functools.partial(_tls_ping, port, ca.cert_path),
                    what="TLS redis-server",
                    process=process,
                    log=log,
                )
            except RuntimeError:
                process.kill()
                process.wait()
                if "Address already in use" in log.read_text(errors="replace"):
                    continue
                raise
            return server
        raise RuntimeError("no free port for the TLS redis-server")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


# ---------------------------------------------------------------------- moto + counting


@dataclass(frozen=True)
class AwsRequest:
    """One request moto received, reduced to what tests assert on.

    `service` is the SigV4 signing name ("secretsmanager", "ssm", "s3", "ecs", "sqs",
    "monitoring" for CloudWatch, "sts"). `operation` is the API name ("GetParameters")
    for JSON, query and RPCv2-CBOR protocols, and "<METHOD> <path>" for S3.
    `params` is the decoded JSON or form body (e.g. params["SecretIdList"]), else {}.
    """

    service: str
    operation: str
    method: str
    path: str
    query: str
    params: Mapping[str, Any]


class RequestLog:
    """Thread-safe list of the AWS requests moto served, in arrival order.

    Typical assertion (exact, so an unexpected extra call fails the test):
        assert aws.requests.operations() == Counter(BatchGetSecretValue=2, GetParameters=1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[AwsRequest] = []

    def record(self, request: AwsRequest) -> None:
        with self._lock:
            self._calls.append(request)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def all(self) -> list[AwsRequest]:
        with self._lock:
            return list(self._calls)

    def __iter__(self) -> Iterator[AwsRequest]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def operations(self, service: str | None = None) -> Counter[str]:
        """Operation name -> number of calls (optionally for one service only)."""
        return Counter(r.operation for r in self.all() if service is None or r.service == service)

    def calls(self, operation: str, *, service: str | None = None) -> list[AwsRequest]:
        return [
            r
            for r in self.all()
            if r.operation == operation and (service is None or r.service == service)
        ]

    def count(self, operation: str, *, service: str | None = None) -> int:
        return len(self.calls(operation, service=service))

    def __repr__(self) -> str:
        return f"RequestLog({dict(self.operations())!r})"


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_DECODED_BODIES = (
    "application/x-amz-json",
    "application/json",
    "application/x-www-form-urlencoded",
)


def _read_body(environ: WSGIEnvironment) -> bytes:
    """Read the body and put it back, so moto still sees it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if length <= 0:
        return b""
    body = cast("io.BufferedReader", environ["wsgi.input"]).read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def describe_request(environ: WSGIEnvironment) -> AwsRequest:
    """Work out service and operation the way AWS does: header, path or Action parameter."""
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", ""))
    query = str(environ.get("QUERY_STRING", ""))
    content_type = str(environ.get("CONTENT_TYPE", ""))
    body = _read_body(environ) if content_type.startswith(_DECODED_BODIES) else b""

    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
    elif body:
        with contextlib.suppress(ValueError):
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                params.update(decoded)

    authorization = str(environ.get("HTTP_AUTHORIZATION", "")) or urllib.parse.unquote(query)
    scope = _CREDENTIAL_SCOPE.search(authorization.replace("X-Amz-Credential=", "Credential="))
    service = scope.group(1) if scope else "unknown"

    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    rpc_v2 = _RPC_V2_PATH.match(path)
    if target:
        operation = target.rpartition(".")[2]
    elif rpc_v2:
        operation = rpc_v2.group(1)
    elif "Action" in params:
        operation = str(params["Action"])
    else:
        operation = f"{method} {path}"
    return AwsRequest(service, operation, method, path, query, params)


class RequestCountingMiddleware:
    """WSGI middleware in front of moto that records every AWS call (not /moto-api ones)."""

    def __init__(self, app: WSGIApplication, log: RequestLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            self.log.record(describe_request(environ))
        return self.app(environ, start_response)


class MotoServer:
    """moto in server mode on a loopback port, in a thread, behind the counting middleware.

    Like `moto.server.ThreadedMotoServer`, but we build the WSGI server ourselves so the
    app can be wrapped (ThreadedMotoServer creates its app inside the thread).
    """

    def __init__(self) -> None:
        # Imported here: moto is only needed by tests that use AWS.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """No access log line per request: failing assertions show the RequestLog."""

        self.requests = RequestLog()
        app = RequestCountingMiddleware(
            DomainDispatcherApplication(create_backend_app), self.requests
        )
        self._server: BaseWSGIServer = make_server(
            LOOPBACK, 0, app, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        """Forget every resource (all services, all regions) and every recorded request."""
        host, port = self._server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        try:
            conn.request("POST", "/moto-api/reset")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"moto reset failed: HTTP {response.status}")
        finally:
            conn.close()
        self.requests.reset()


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Aws:
    """What a test needs to talk to moto and to hand our package an environment."""

    endpoint_url: str
    region: str
    requests: RequestLog

    def environ(self, **extra: str) -> dict[str, str]:
        """The mapping to pass to the package: region and endpoint point at moto."""
        return {"AWS_REGION": self.region, "AWS_ENDPOINT_URL": self.endpoint_url, **extra}

    @overload
    def client(self, service_name: Literal["s3"], config: Config | None = None) -> S3Client: ...
    @overload
    def client(
        self, service_name: Literal["secretsmanager"], config: Config | None = None
    ) -> SecretsManagerClient: ...
    @overload
    def client(self, service_name: Literal["ssm"], config: Config | None = None) -> SSMClient: ...
    @overload
    def client(self, service_name: Literal["ecs"], config: Config | None = None) -> ECSClient: ...
    @overload
    def client(self, service_name: Literal["sqs"], config: Config | None = None) -> SQSClient: ...
    @overload
    def client(
        self, service_name: Literal["cloudwatch"], config: Config | None = None
    ) -> CloudWatchClient: ...
    @overload
    def client(self, service_name: Literal["sts"], config: Config | None = None) -> STSClient: ...
    def client(self, service_name: str, config: Config | None = None) -> Any:
        """A real boto3 client on moto, with its own session (no shared credential cache)."""
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )
        return session.client(  # type: ignore[call-overload]
            service_name, endpoint_url=self.endpoint_url, config=config
        )


# Anything that ignores the mapping it was given and falls back to os.environ lands here:
# a closed loopback port, so the mistake fails fast instead of reaching real AWS.
TRAP_ENDPOINT_URL = "http://127.0.0.1:9"


def aws_environment(region: str) -> dict[str, str | None]:
    """os.environ changes for the `aws` fixture (None = delete)."""
    changes: dict[str, str | None] = {
        **FAKE_CREDENTIALS,
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_ROLE_ARN": None,
        "AWS_WEB_IDENTITY_TOKEN_FILE": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
        "ECS_CONTAINER_METADATA_URI_V4": None,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": TRAP_ENDPOINT_URL,
    }
    for name in os.environ:
        if name.startswith("AWS_ENDPOINT_URL_"):
            changes[name] = None
    return changes


# ------------------------------------------------------------------ fake ECS task metadata

EcsMode = Literal["ok", "hang", "error"]
# How the agent answers task protection requests: "denied" is the task role lacking
# ecs:UpdateTaskProtection, "not-in-service" a task started by RunTask (TASK_NOT_VALID).
ProtectionMode = Literal["ok", "denied", "not-in-service", "hang"]
PROTECTION_PATH = "/task-protection/v1/state"


@dataclass(frozen=True)
class ProtectionCall:
    """One PUT to ${ECS_AGENT_URI}/task-protection/v1/state, as the agent decoded it."""

    enabled: bool
    minutes: int | None
    at: float  # time.monotonic() on arrival


def _timestamp(moment: datetime.datetime) -> str:
    """The agent's format: RFC 3339 UTC with nanoseconds, e.g. 2020-10-02T00:15:07.620912337Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}417Z"


@dataclass
class EcsMetadataEndpoint:
    """A stand-in for the ECS agent's task metadata endpoint v4 (Fargate, awsvpc).

    Shapes follow the documented Fargate examples and the agent's TMDS v4 structs.
    Tests change `private_ip` or `mode` at any time: "hang" never answers (timeouts),
    "error" answers 500. `requests` lists the paths asked for.

    The same server is the agent's task scale-in protection endpoint at `agent_uri`
    (ECS_AGENT_URI): PUT and GET .../task-protection/v1/state, answered as the agent's
    taskprotection/v1 handlers do; `protection_calls` records every valid PUT and
    `protection_mode` chooses the answer.
    """

    private_ip: str = "10.0.1.23"
    mode: EcsMode = "ok"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    cluster: str = "app"
    service_name: str | None = "app-web"
    family: str = "app-web"
    revision: str = "7"
    container_name: str = "web"
    availability_zone: str = "us-east-1a"
    task_id: str = field(default_factory=lambda: secrets.token_hex(16))
    requests: list[str] = field(default_factory=list)
    protection_mode: ProtectionMode = "ok"
    protection_calls: list[ProtectionCall] = field(default_factory=list)
    _protected_until: float | None = field(default=None, repr=False)  # monotonic
    _release: threading.Event = field(default_factory=threading.Event, repr=False)
    _server: _EcsHttpServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _docker_id: str = field(default="", repr=False)

    @property
    def uri(self) -> str:
        """What ECS puts in ECS_CONTAINER_METADATA_URI_V4 (note: a path, no trailing slash)."""
        if self._server is None:
            raise RuntimeError("endpoint not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v4/{self._docker_id}"

    def environ(self) -> dict[str, str]:
        return {"ECS_CONTAINER_METADATA_URI_V4": self.uri}

    @property
    def agent_uri(self) -> str:
        """What ECS puts in ECS_AGENT_URI: http://169.254.170.2/api/<container id> on Fargate."""
        if self._server is None:
            raise RuntimeError("endpoint not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/{self._docker_id}"

    def agent_environ(self) -> dict[str, str]:
        return {"ECS_AGENT_URI": self.agent_uri}

    @property
    def protected(self) -> bool:
        """Whether the task is protected now, as ECS would answer GetTaskProtection."""
        return self._protected_until is not None and time.monotonic() < self._protected_until

    @property
    def cluster_arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account_id}:cluster/{self.cluster}"

    @property
    def task_arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account_id}:task/{self.cluster}/{self.task_id}"

    def _network(self) -> dict[str, Any]:
        subnet = ipaddress.ip_network(f"{self.private_ip}/24", strict=False)
        internal = (
            "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        )
        return {
            "NetworkMode": "awsvpc",
            "IPv4Addresses": [self.private_ip],
            "AttachmentIndex": 0,
            "MACAddress": "0a:de:f6:10:51:e5",
            "IPv4SubnetCIDRBlock": str(subnet),
            "DomainNameServers": [str(subnet.network_address + 2)],
            "DomainNameSearchList": [internal],
            "PrivateDNSName": f"ip-{self.private_ip.replace('.', '-')}.{internal}",
            "SubnetGatewayIpv4Address": f"{subnet.network_address + 1}/{subnet.prefixlen}",
        }

    def container_metadata(self) -> dict[str, Any]:
        """Body of GET ${ECS_CONTAINER_METADATA_URI_V4}."""
        started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        return {
            "DockerId": self._docker_id,
            "Name": self.container_name,
            "DockerName": self.container_name,
            "Image": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{self.family}:latest",
            "ImageID": "sha256:" + "ab" * 32,
            "Labels": {
                "com.amazonaws.ecs.cluster": self.cluster_arn,
                "com.amazonaws.ecs.container-name": self.container_name,
                "com.amazonaws.ecs.task-arn": self.task_arn,
                "com.amazonaws.ecs.task-definition-family": self.family,
                "com.amazonaws.ecs.task-definition-version": self.revision,
            },
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": {"CPU": 2, "Memory": 512},
            "CreatedAt": _timestamp(started),
            "StartedAt": _timestamp(started),
            "Type": "NORMAL",
            "LogDriver": "awslogs",
            "LogOptions": {
                "awslogs-create-group": "true",
                "awslogs-group": f"/ecs/{self.family}",
                "awslogs-region": self.region,
                "awslogs-stream": f"{self.container_name}/{self.container_name}/{self.task_id}",
            },
            "ContainerARN": (
                f"arn:aws:ecs:{self.region}:{self.account_id}:container/"
                f"{self.cluster}/{self.task_id}/{secrets.token_hex(4)}-0000-4000-8000-{'0' * 12}"
            ),
            "Networks": [self._network()],
            "Snapshotter": "overlayfs",
        }

    def task_metadata(self) -> dict[str, Any]:
        """Body of GET ${ECS_CONTAINER_METADATA_URI_V4}/task."""
        now = datetime.datetime.now(datetime.timezone.utc)
        body: dict[str, Any] = {
            "Cluster": self.cluster_arn,
            "TaskARN": self.task_arn,
            "Family": self.family,
            "Revision": self.revision,
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": {"CPU": 0.25, "Memory": 512},
            "PullStartedAt": _timestamp(now - datetime.timedelta(minutes=6)),
            "PullStoppedAt": _timestamp(now - datetime.timedelta(minutes=5)),
            "AvailabilityZone": self.availability_zone,
            "LaunchType": "FARGATE",
            "Containers": [self.container_metadata()],
            "ClockDrift": {
                "ClockErrorBound": 0.4,
                "ReferenceTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ClockSynchronizationStatus": "SYNCHRONIZED",
            },
            "EphemeralStorageMetrics": {"Utilized": 261, "Reserved": 20496},
        }
        if self.service_name is not None:
            body["ServiceName"] = self.service_name
        return body

    def start(self) -> None:
        self._docker_id = f"{self.task_id}-{secrets.randbelow(10**10):010d}"
        self._server = _EcsHttpServer((LOOPBACK, 0), _EcsHandler)
        self._server.endpoint = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name="ecs-metadata",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._release.set()  # let "hang" handlers return
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _answer(self, path: str) -> tuple[int, dict[str, Any] | None]:
        self.requests.append(path)
        if self.mode == "hang":
            self._release.wait(timeout=60)
            return 0, None
        if self.mode == "error":
            return 500, None
        base = urllib.parse.urlsplit(self.uri).path
        if path == base:
            return 200, self.container_metadata()
        if path == f"{base}/task":
            return 200, self.task_metadata()
        return 404, None

    def _protection(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any] | None]:
        """The agent's UpdateTaskProtection (PUT) and GetTaskProtection (GET) handlers."""
        if path != urllib.parse.urlsplit(self.agent_uri).path + PROTECTION_PATH:
            return 404, None
        if method == "GET":
            return 200, self._protection_state()
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        # The agent decodes with DisallowUnknownFields and requires ProtectionEnabled.
        known = isinstance(request, dict) and set(request) <= {
            "ProtectionEnabled",
            "ExpiresInMinutes",
        }
        enabled = request.get("ProtectionEnabled") if known else None
        minutes = request.get("ExpiresInMinutes") if known else None
        if not isinstance(enabled, bool) or not (
            minutes is None or (type(minutes) is int and 1 <= minutes <= 2880)
        ):
            return 400, self._protection_error(
                "InvalidParameterException",
                "Invalid request: expected ProtectionEnabled"
                " (boolean) and optionally ExpiresInMinutes (1 to 2880)",
            )
        self.protection_calls.append(ProtectionCall(enabled, minutes, time.monotonic()))
        if self.protection_mode == "hang":
            self._release.wait(timeout=60)
            return 0, None
        if self.protection_mode == "denied":
            return 400, self._protection_error(
                "AccessDeniedException",
                f"User: arn:aws:sts::{self.account_id}:assumed-role/{self.cluster}-task/"
                f"{self.task_id} is not authorized to perform: ecs:UpdateTaskProtection on "
                f"resource: {self.task_arn} because no identity-based policy allows the "
                "ecs:UpdateTaskProtection action",
            )
        if self.protection_mode == "not-in-service":
            # UpdateTaskProtection's failures reach the container with a 200.
            return 200, {
                "failure": {"Arn": self.task_arn, "Detail": None, "Reason": "TASK_NOT_VALID"}
            }
        if enabled:
            self._protected_until = time.monotonic() + 60 * (minutes or 120)
        else:
            self._protected_until = None
        return 200, self._protection_state()

    def _protection_state(self) -> dict[str, Any]:
        expiration = None
        if self.protected:
            assert self._protected_until is not None
            left = datetime.timedelta(seconds=self._protected_until - time.monotonic())
            moment = datetime.datetime.now(datetime.timezone.utc) + left
            expiration = f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
        return {
            "protection": {
                "ExpirationDate": expiration,
                "ProtectionEnabled": self.protected,
                "TaskArn": self.task_arn,
            }
        }

    def _protection_error(self, code: str, message: str) -> dict[str, Any]:
        return {
            "requestID": secrets.token_hex(8),
            "error": {"Arn": self.task_arn, "Code": code, "Message": message},
        }


class _EcsHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a "hang" handler must not block interpreter exit
    endpoint: EcsMetadataEndpoint


class _EcsHandler(http.server.BaseHTTPRequestHandler):
    server: _EcsHttpServer

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/api/"):
            self._send(*self.server.endpoint._protection("GET", path, b""))
        else:
            self._send(*self.server.endpoint._answer(path))

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urllib.parse.urlsplit(self.path).path
        self._send(*self.server.endpoint._protection("PUT", path, raw))

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        if status == 0:
            self.close_connection = True
            return
        payload = json.dumps(body).encode() if body is not None else b"internal server error"
        if status == 404:
            payload = b"404 page not found"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""


# ------------------------------------------------------------------- time in ECS tests


class FakeTime:
    """`clock` and `sleep` for the ECS commands: sleeping advances the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def timeless(lines: list[str]) -> list[str]:
    """Real-clock durations (moto runs for real) replaced by Ns, so load cannot flake them."""
    return [re.sub(r" in \d+s$", " in Ns", re.sub(r"\(\d+s\)", "(Ns)", line)) for line in lines]
