"""The harness itself works: each fixture gives a real, usable service and cleans up."""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import boto3
import psycopg
import pytest
import redis
from botocore.exceptions import EndpointConnectionError
from cryptography import x509
from psycopg import sql
from support.certificates import CertificateAuthority
from support.ecs_agent import EcsMetadataEndpoint
from support.moto_server import TRAP_ENDPOINT_URL, Aws, MotoServer
from support.postgres import (
    DEFAULT_ROLE_PASSWORD,
    DatabaseFactory,
    PgRole,
    PgServer,
    TlsPostgres,
    create_role,
    dbname_of,
    drop_role,
)
from support.processes import http_get
from support.redis_servers import TlsRedis

# ------------------------------------------------------------------------- PostgreSQL


def test_postgres_url_is_a_fresh_database(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT current_database(), current_user, 6 * 7").fetchone()
    assert row == (dbname_of(postgres_url), "postgres", 42)
    assert postgres_url.startswith("postgres://postgres@127.0.0.1:5432/dastest_")


def test_make_database_gives_independent_databases(make_database: DatabaseFactory) -> None:
    first, second = make_database("source"), make_database("target")
    assert first != second
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_here (id int)")
    with psycopg.connect(second) as conn:
        found = conn.execute("SELECT to_regclass('public.only_here')").fetchone()
    assert found == (None,)
    assert {dbname_of(first), dbname_of(second)} <= set(make_database.names)


def test_pg_role_creates_tables_in_public(pg_role: PgRole, postgres_url: str) -> None:
    assert pg_role.password == DEFAULT_ROLE_PASSWORD
    assert "p%24a%23s%3Fs%2Fw%25o%40r%3Ad@" in pg_role.url
    with psycopg.connect(pg_role.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        row = conn.execute("SELECT current_user, current_database(), body FROM notes").fetchone()
    assert row == (pg_role.user, dbname_of(postgres_url), "hello")


def _stored_password_hash(server: PgServer, role: str) -> str:
    with server.connect() as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_pg_role_set_password_changes_the_stored_verifier(
    pg_role: PgRole, pg_server: PgServer
) -> None:
    before = _stored_password_hash(pg_server, pg_role.user)
    pg_role.set_password("n3w:p@ss/word")
    assert pg_role.password == "n3w:p@ss/word"
    after = _stored_password_hash(pg_server, pg_role.user)
    assert before.startswith("SCRAM-SHA-256$")
    assert after.startswith("SCRAM-SHA-256$")
    assert after != before


@pytest.mark.parametrize("pg_role", ["plain"], indirect=True)
def test_pg_role_password_can_be_chosen(pg_role: PgRole) -> None:
    assert pg_role.password == "plain"
    assert pg_role.url.endswith(f":plain@127.0.0.1:5432/{pg_role.dbname}")


def test_dropping_a_role_drops_its_tables(pg_server: PgServer, postgres_url: str) -> None:
    dbname = dbname_of(postgres_url)
    role = create_role(pg_server, dbname)
    with psycopg.connect(role.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (id int)")
    drop_role(role, [dbname])
    with pg_server.connect(dbname) as conn:
        table = conn.execute("SELECT to_regclass('public.leftover')").fetchone()
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role.user]).fetchone()
    assert table == (None,)
    assert exists is None


# -------------------------------------------------------------------------------- TLS


def test_ca_issues_certificates_for_localhost_and_loopback(test_ca: CertificateAuthority) -> None:
    issued = test_ca.issue_server_cert("probe")
    cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert issued.key_path.stat().st_mode & 0o077 == 0
    # The chain verifies with the stdlib: a server using this pair is trusted via ca.crt.
    context = ssl.create_default_context(cafile=str(test_ca.cert_path))
    assert len(context.get_ca_certs()) == 1


def _ssl_in_use(conn: psycopg.Connection[tuple[object, ...]]) -> object:
    row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_postgres_accepts_verify_full(tls_postgres: TlsPostgres, host: str) -> None:
    with psycopg.connect(
        host=host,
        port=tls_postgres.port,
        user=tls_postgres.user,
        password=tls_postgres.password,
        dbname=tls_postgres.dbname,
        sslmode="verify-full",
        sslrootcert=str(tls_postgres.ca_path),
    ) as conn:
        assert _ssl_in_use(conn) is True
        conn.execute("CREATE TEMPORARY TABLE t (v int)")
        conn.execute("INSERT INTO t VALUES (7)")
        assert conn.execute("SELECT current_user, sum(v) FROM t").fetchone() == ("app", 7)


def test_tls_postgres_url_works_with_query_options(tls_postgres: TlsPostgres) -> None:
    url = f"{tls_postgres.url}?sslmode=verify-full&sslrootcert={tls_postgres.ca_path}"
    with psycopg.connect(url) as conn:
        assert _ssl_in_use(conn) is True


def test_tls_postgres_rejects_plaintext(tls_postgres: TlsPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        psycopg.connect(f"{tls_postgres.url}?sslmode=disable")


def test_tls_postgres_checks_the_password(tls_postgres: TlsPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=tls_postgres.host,
            port=tls_postgres.port,
            user=tls_postgres.user,
            password="wrong",
            dbname=tls_postgres.dbname,
            sslmode="require",
        )


def test_tls_postgres_certificate_is_not_publicly_trusted(tls_postgres: TlsPostgres) -> None:
    """Without our CA, verify-full must fail: proves the chain check is real."""
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(f"{tls_postgres.url}?sslmode=verify-full&sslrootcert=system")


def test_tls_postgres_admin_connection(tls_postgres: TlsPostgres) -> None:
    with tls_postgres.admin_connect() as conn:
        row = conn.execute(
            "SELECT rolname FROM pg_roles r JOIN pg_database d ON d.datdba = r.oid "
            "WHERE d.datname = %s",
            [tls_postgres.dbname],
        ).fetchone()
        assert row == ("app",)
        setting = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier("ssl"))).fetchone()
    assert setting == ("on",)


# ------------------------------------------------------------------------------ Redis


def test_redis_url_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("harness:key", "value", ex=60)
        assert client.get("harness:key") == b"value"
        assert client.connection_pool.connection_kwargs["db"] == int(redis_url.rsplit("/", 1)[1])
    finally:
        client.close()
    assert redis_url in {f"redis://127.0.0.1:6379/{n}" for n in range(8, 16)}


def test_tls_redis_round_trip_verifies_certificate(tls_redis: TlsRedis) -> None:
    assert tls_redis.url.startswith("rediss://127.0.0.1:")
    client = redis.Redis.from_url(tls_redis.url, ssl_ca_certs=str(tls_redis.ca_path))
    try:
        client.set("greeting", "hello over tls")
        assert client.get("greeting") == b"hello over tls"
    finally:
        client.close()


def test_tls_redis_refuses_plaintext(tls_redis: TlsRedis) -> None:
    plain = redis.Redis.from_url(
        tls_redis.url.replace("rediss://", "redis://"), socket_timeout=2, socket_connect_timeout=2
    )
    try:
        with pytest.raises(redis.ConnectionError):
            plain.ping()
    finally:
        plain.close()


def test_tls_redis_certificate_is_not_publicly_trusted(tls_redis: TlsRedis) -> None:
    client = redis.Redis.from_url(tls_redis.url, socket_timeout=2)
    try:
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            client.ping()
    finally:
        client.close()


# -------------------------------------------------------------------------------- AWS


def test_secret_round_trip_through_moto(aws: Aws) -> None:
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="app/db", SecretString=json.dumps({"password": "s3cret"}))
    value = secrets.get_secret_value(SecretId="app/db")
    assert json.loads(value["SecretString"]) == {"password": "s3cret"}
    assert aws.requests.operations() == Counter(CreateSecret=1, GetSecretValue=1)


def test_request_log_counts_operations_per_service(aws: Aws) -> None:
    secrets, ssm = aws.client("secretsmanager"), aws.client("ssm")
    for name in ("a", "b", "c"):
        secrets.create_secret(Name=name, SecretString=name.upper())
    ssm.put_parameter(Name="/app/debug", Value="false", Type="String")
    aws.requests.reset()

    first = secrets.batch_get_secret_value(SecretIdList=["a", "b"])
    second = secrets.batch_get_secret_value(SecretIdList=["c", "missing"])
    params = ssm.get_parameters(Names=["/app/debug"], WithDecryption=True)

    assert [s["SecretString"] for s in first["SecretValues"]] == ["A", "B"]
    assert [e["SecretId"] for e in second["Errors"]] == ["missing"]
    assert params["Parameters"][0]["Value"] == "false"
    assert aws.requests.operations() == Counter(BatchGetSecretValue=2, GetParameters=1)
    assert aws.requests.count("GetParameters", service="ssm") == 1
    assert aws.requests.count("GetParameters", service="secretsmanager") == 0
    batches = [r.params["SecretIdList"] for r in aws.requests.calls("BatchGetSecretValue")]
    assert batches == [["a", "b"], ["c", "missing"]]


def test_request_log_names_s3_query_and_cbor_operations(aws: Aws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="media-bucket")
    s3.put_object(Bucket="media-bucket", Key="a/b.txt", Body=b"hi")
    aws.client("sts").get_caller_identity()  # query protocol (Action=...)
    aws.client("cloudwatch").put_metric_data(  # smithy RPC v2 CBOR protocol
        Namespace="App", MetricData=[{"MetricName": "m", "Value": 1.0}]
    )
    assert [(r.service, r.operation) for r in aws.requests] == [
        ("s3", "PUT /media-bucket"),
        ("s3", "PUT /media-bucket/a/b.txt"),
        ("sts", "GetCallerIdentity"),
        ("monitoring", "PutMetricData"),
    ]
    assert len(aws.requests) == 4


def test_ecs_register_task_definition(aws: Aws) -> None:
    ecs = aws.client("ecs")
    response = ecs.register_task_definition(
        family="app-web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": "app:1", "essential": True}],
    )
    assert response["taskDefinition"]["revision"] == 1
    assert aws.requests.operations(service="ecs") == Counter(RegisterTaskDefinition=1)


def test_moto_reset_forgets_resources_and_requests(aws: Aws, moto_server: MotoServer) -> None:
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/x", Value="1", Type="String")
    moto_server.reset()
    assert len(aws.requests) == 0
    assert ssm.describe_parameters()["Parameters"] == []


def test_aws_environment_is_fake_and_isolated(aws: Aws) -> None:
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in os.environ
    assert aws.environ(DJANGO_DEBUG="0") == {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "DJANGO_DEBUG": "0",
    }
    assert aws.endpoint_url.startswith("http://127.0.0.1:")


def test_clients_that_ignore_the_mapping_cannot_reach_aws(aws: Aws) -> None:
    """boto3 without an explicit endpoint falls back to os.environ: a closed local port."""
    assert os.environ["AWS_ENDPOINT_URL"] == TRAP_ENDPOINT_URL
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError, match=r"127\.0\.0\.1:9"):
        boto3.client("ssm").get_parameter(Name="/anything")
    assert time.monotonic() - started < 5
    assert len(aws.requests) == 0


# -------------------------------------------------------------------- ECS metadata


def _get_json(url: str) -> dict[str, object]:
    status, body = http_get(url)
    assert status == 200
    decoded = json.loads(body)
    assert isinstance(decoded, dict)
    return decoded


def test_ecs_container_metadata(ecs_metadata: EcsMetadataEndpoint) -> None:
    body = _get_json(ecs_metadata.uri)
    assert body["Networks"] == [
        {
            "NetworkMode": "awsvpc",
            "IPv4Addresses": ["10.0.1.23"],
            "AttachmentIndex": 0,
            "MACAddress": "0a:de:f6:10:51:e5",
            "IPv4SubnetCIDRBlock": "10.0.1.0/24",
            "DomainNameServers": ["10.0.1.2"],
            "DomainNameSearchList": ["ec2.internal"],
            "PrivateDNSName": "ip-10-0-1-23.ec2.internal",
            "SubnetGatewayIpv4Address": "10.0.1.1/24",
        }
    ]
    assert body["Name"] == "web"
    assert body["DockerId"] == ecs_metadata.uri.rsplit("/", 1)[1]
    assert ecs_metadata.environ() == {"ECS_CONTAINER_METADATA_URI_V4": ecs_metadata.uri}


def test_ecs_task_metadata(ecs_metadata: EcsMetadataEndpoint) -> None:
    ecs_metadata.private_ip = "10.20.30.40"
    body = _get_json(f"{ecs_metadata.uri}/task")
    assert body["Cluster"] == "arn:aws:ecs:us-east-1:123456789012:cluster/app"
    assert body["TaskARN"] == ecs_metadata.task_arn
    assert (body["Family"], body["Revision"], body["LaunchType"]) == ("app-web", "7", "FARGATE")
    assert body["AvailabilityZone"] == "us-east-1a"
    containers = body["Containers"]
    assert isinstance(containers, list)
    assert containers[0]["Networks"][0]["IPv4Addresses"] == ["10.20.30.40"]
    assert ecs_metadata.requests == [f"{urllib.parse.urlsplit(ecs_metadata.uri).path}/task"]


@pytest.mark.parametrize("ecs_metadata", ["192.168.7.9"], indirect=True)
def test_ecs_private_ip_from_parametrize(ecs_metadata: EcsMetadataEndpoint) -> None:
    network = _get_json(ecs_metadata.uri)["Networks"][0]  # type: ignore[index]
    assert network["IPv4Addresses"] == ["192.168.7.9"]
    assert network["PrivateDNSName"] == "ip-192-168-7-9.ec2.internal"


def test_ecs_metadata_error_and_unknown_paths(ecs_metadata: EcsMetadataEndpoint) -> None:
    root = ecs_metadata.uri.rsplit("/", 2)[0]
    assert http_get(f"{root}/task")[0] == 404  # the URI's path prefix matters
    ecs_metadata.mode = "error"
    assert http_get(ecs_metadata.uri)[0] == 500


def test_ecs_metadata_hang_times_out(ecs_metadata: EcsMetadataEndpoint) -> None:
    ecs_metadata.mode = "hang"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        http_get(ecs_metadata.uri, timeout=0.2)
    assert time.monotonic() - started < 2


def test_trap_endpoint_port_is_closed() -> None:
    """The trap relies on nothing listening on 127.0.0.1:9."""
    with pytest.raises(ConnectionRefusedError):
        http_get(f"{TRAP_ENDPOINT_URL}/", timeout=1)


def test_a_second_ca_can_issue_dns_only_certificates() -> None:
    """Tests may want a CA of their own, e.g. to prove a wrong CA is rejected."""
    with tempfile.TemporaryDirectory() as directory:
        other = CertificateAuthority(Path(directory))
        issued = other.issue_server_cert("x", dns_names=["db.internal"], ip_addresses=[])
        cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    assert cert.subject.rfc4514_string() == "CN=db.internal"
