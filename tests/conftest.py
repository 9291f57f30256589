"""Shared fixtures: real PostgreSQL and Redis, TLS-only variants of both, moto, a fake ECS agent,
real OCI builds and containers.

The harnesses live in tests/support/ (one module each), where tests can import their types;
this file only decides scope and cleanup. Everything listens on 127.0.0.1 and is removed afterwards.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from support.certificates import CertificateAuthority
from support.ecs_agent import EcsMetadataEndpoint
from support.moto_server import Aws, MotoServer, aws_environment
from support.oci import Oci
from support.postgres import (
    DEFAULT_ROLE_PASSWORD,
    DatabaseFactory,
    PgRole,
    PgServer,
    TlsDatabase,
    TlsPostgres,
    create_role,
    dbname_of,
    drop_role,
    drop_stale_objects,
    start_tls_postgres,
)
from support.redis_servers import (
    REDIS_HOST,
    REDIS_PORT,
    TlsRedis,
    flush_redis,
    redis_db_index,
    start_tls_redis,
)
from support.template_matrix import rendered  # noqa: F401  (the template tests' answer-set matrix)

AWS_REGION = "us-east-1"


def pytest_configure(config: pytest.Config) -> None:
    """Register our markers here too, so `--strict-markers` works without pyproject."""
    config.addinivalue_line(
        "markers", "slow: starts processes or clusters; still part of the suite"
    )
    config.addinivalue_line(
        "markers",
        "needs_django_pool: about Django's connection pool (5.1+); deselected on Django 4.2 only",
    )


# ------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The machine's PostgreSQL (127.0.0.1:5432, user postgres, trust auth)."""
    return PgServer()


@pytest.fixture(scope="session")
def make_database(pg_server: PgServer) -> Iterator[DatabaseFactory]:
    """`make_database(name_prefix) -> url`: extra fresh databases, all dropped at session end."""
    drop_stale_objects(pg_server)
    factory = DatabaseFactory(pg_server)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def postgres_url(make_database: DatabaseFactory) -> str:
    """`postgres://postgres@127.0.0.1:5432/<fresh db>` for the whole session."""
    return make_database("session")


class RoleFactory(Protocol):
    def __call__(self, password: str = DEFAULT_ROLE_PASSWORD) -> PgRole: ...


@pytest.fixture
def make_pg_role(
    pg_server: PgServer, postgres_url: str, make_database: DatabaseFactory
) -> Iterator[RoleFactory]:
    """`make_pg_role(password=...)`: login roles on the session database, dropped after the test."""
    roles: list[PgRole] = []

    def make(password: str = DEFAULT_ROLE_PASSWORD) -> PgRole:
        role = create_role(pg_server, dbname_of(postgres_url), password)
        roles.append(role)
        return role

    yield make
    for role in roles:
        drop_role(role, [role.dbname, *make_database.names])


@pytest.fixture
def pg_role(request: pytest.FixtureRequest, make_pg_role: RoleFactory) -> PgRole:
    """A login role whose password has URL-hostile characters; override the password with
    `@pytest.mark.parametrize("pg_role", ["other"], indirect=True)`."""
    return make_pg_role(getattr(request, "param", DEFAULT_ROLE_PASSWORD))


# -------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="session")
def test_ca() -> Iterator[CertificateAuthority]:
    """A throwaway CA; `test_ca.issue_server_cert()` signs localhost/127.0.0.1 certificates."""
    with tempfile.TemporaryDirectory(prefix="dastest-ca-") as directory:
        yield CertificateAuthority(Path(directory))


@pytest.fixture(scope="session")
def tls_postgres(test_ca: CertificateAuthority) -> Iterator[TlsPostgres]:
    """A PostgreSQL 15 cluster accepting only TLS + SCRAM on TCP, with role and db `app`."""
    server = start_tls_postgres(test_ca)
    yield server
    server.stop()


@pytest.fixture
def tls_database(tls_postgres: TlsPostgres) -> Iterator[TlsDatabase]:
    """A role with an awkward password owning its own database on `tls_postgres`."""
    database = TlsDatabase.create(tls_postgres)
    yield database
    database.drop()


# ----------------------------------------------------------------------------- Django


@pytest.fixture(scope="session")
def django_settings() -> None:
    """Just enough settings for a DatabaseWrapper: other tests may have configured more."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, TIME_ZONE="UTC")
        django.setup()


# ------------------------------------------------------------------------------ Redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """`redis://127.0.0.1:6379/<13, or one index per xdist worker>`, flushed before and after."""
    index = redis_db_index(os.environ.get("PYTEST_XDIST_WORKER"))
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}"
    flush_redis(url)
    yield url
    flush_redis(url)


@pytest.fixture(scope="session")
def tls_redis(test_ca: CertificateAuthority) -> Iterator[TlsRedis]:
    """A TLS-only redis-server (`url` is rediss://, verify with `ca_path`)."""
    server = start_tls_redis(test_ca)
    yield server
    server.stop()


# -------------------------------------------------------------------------------- AWS


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto in server mode on a free loopback port, recording every request it serves."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """Empty moto, empty request log, fake credentials, and no way out to real AWS.

    os.environ gets fake keys, no profile/container credentials, IMDS disabled, one
    attempt per call (so request counts are exact) and AWS_ENDPOINT_URL pointing at a
    closed port: code that ignores the mapping from `aws.environ()` fails fast.
    """
    import boto3

    for name, value in aws_environment(AWS_REGION).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    # boto3's default session caches credentials resolved under an earlier environment.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    moto_server.reset()
    return Aws(moto_server.endpoint_url, AWS_REGION, moto_server.requests)


@pytest.fixture
def ecs_metadata(request: pytest.FixtureRequest) -> Iterator[EcsMetadataEndpoint]:
    """Fake ECS task metadata endpoint v4; set `.private_ip` / `.mode` ("hang", "error").

    The IP can also come from `@pytest.mark.parametrize("ecs_metadata", ["10.0.9.9"],
    indirect=True)`.
    """
    endpoint = EcsMetadataEndpoint()
    if hasattr(request, "param"):
        endpoint.private_ip = str(request.param)
    endpoint.start()
    yield endpoint
    endpoint.stop()


# -------------------------------------------------------------------------------- OCI


@pytest.fixture(scope="session")
def oci() -> Iterator[Oci]:
    """buildah and podman on the checkout's cached storage (.cache/oci/), with the
    `python:3.11-slim-bookworm` stand-in ready. Installs the tools if missing and builds
    the stand-in on first use only (about a minute): nothing happens unless a test asks."""
    engine = Oci.prepare()
    engine.base_image()
    yield engine
    engine.close()
