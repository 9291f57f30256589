# ruff: noqa: E501  (the case table reads best one case per line)
"""Bad environment values and references: one problem naming the variable, never a secret.

Every value served from moto carries SECRET, and so does every password written into a URL
in the environment. Each case starts from a valid production environment (whose database
URL, cache URL and SECRET_KEY are themselves references) and breaks one thing; configure()
must then raise one ConfigError with exactly one problem, naming the variable, leaving the
namespace untouched, and SECRET must appear nowhere: not in the error, stdout, stderr or
the log records. A representative subset runs through a real ``manage.py check``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import Aws, MotoServer, aws_environment

from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError

SECRET = "Pl4nted-S3cret"
AWS_REGION = "us-east-1"

APP_SECRET = "shop/prod/app"  # a JSON object of the app's secrets
URL_SECRET = "shop/prod/database-url"  # a plain string: one URL
MYSQL_SECRET = "shop/prod/mysql-url"
RDS_SECRET = "shop/prod/rds"  # the RDS shape, with an engine this package refuses
PARTIAL_RDS_SECRET = "shop/prod/rds-partial"
URL_PARAMETER = "/shop/prod/DATABASE_URL"
JSON_PARAMETER = "/shop/prod/CONFIG"

DB_URL = f"postgres://app:{SECRET}@db.internal:5432/shop"
REDIS_URL = f"rediss://:{SECRET}@cache.internal:6379/0"
BROKER_URL = f"redis://:{SECRET}@cache.internal:6379/1"
SECRET_KEY = f"{SECRET}-" + "x7Yz" * 12
APP_VALUES = {
    "DATABASE_URL": DB_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": SECRET_KEY,
    "TOKEN": SECRET,
    "NOTES": f"{SECRET} and {SECRET}",
}

REF_DB = f"secretsmanager:{APP_SECRET}#DATABASE_URL"
REF_REDIS = f"secretsmanager:{APP_SECRET}#REDIS_URL"
REF_TOKEN = f"secretsmanager:{APP_SECRET}#TOKEN"
REF_NOTES = f"secretsmanager:{APP_SECRET}#NOTES"
REF_JSON = f"secretsmanager:{APP_SECRET}"
REF_URL = f"secretsmanager:{URL_SECRET}"
SSM_URL = f"ssm:{URL_PARAMETER}"
SSM_TOKEN = f"ssm:{JSON_PARAMETER}#TOKEN"

BASELINE: dict[str, str] = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": f"secretsmanager:{APP_SECRET}#SECRET_KEY",
    "ALLOWED_HOSTS": "shop.example.com,.shop.example.org",
    "DATABASE_URL": REF_DB,
    "DATABASE_CA_BUNDLE": "system",
    "CACHE_URL": REF_REDIS,
    "CELERY_BROKER_URL": BROKER_URL,
    "AWS_STORAGE_BUCKET_NAME": "shop-media",
}

NOT_SHOWN = "(not shown)"
DATABASE_SCHEMES = "expected postgres://, postgresql://, pgsql:// or postgis://"
pool = pytest.mark.needs_django_pool


def plant(aws: Aws) -> None:
    """Every secret and parameter the cases reference, each holding SECRET."""
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=APP_SECRET, SecretString=json.dumps(APP_VALUES))
    sm.create_secret(Name=URL_SECRET, SecretString=DB_URL)
    sm.create_secret(Name=MYSQL_SECRET, SecretString=f"mysql://app:{SECRET}@db.internal/shop")
    rds = {"username": "app", "password": SECRET, "host": "db.internal", "dbname": "shop"}
    sm.create_secret(Name=RDS_SECRET, SecretString=json.dumps({**rds, "engine": SECRET}))
    sm.create_secret(Name=PARTIAL_RDS_SECRET, SecretString=json.dumps({"username": SECRET}))
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=URL_PARAMETER, Value=DB_URL, Type="SecureString")
    ssm.put_parameter(Name=JSON_PARAMETER, Value=json.dumps({"TOKEN": SECRET}), Type="String")


def environment(aws: Aws, changes: Mapping[str, str | None]) -> dict[str, str]:
    environ = aws.environ(**BASELINE)
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


def case(
    case_id: str, changes: Mapping[str, str | None], name: str, fragment: str, *marks: Any
) -> Any:
    return pytest.param(changes, name, fragment, id=case_id, marks=marks)


CASES = [
    # ---- A value from a reference, read by a variable that expects something else.
    case("hosts-from-db-url", {"ALLOWED_HOSTS": REF_DB}, "ALLOWED_HOSTS", f"a postgres:// URL from {REF_DB} {NOT_SHOWN}"),
    case("hosts-from-ssm-url", {"ALLOWED_HOSTS": SSM_URL}, "ALLOWED_HOSTS", f"from {SSM_URL} {NOT_SHOWN}"),
    case("hosts-from-whole-secret", {"ALLOWED_HOSTS": REF_JSON}, "ALLOWED_HOSTS", f"entries from {REF_JSON} {NOT_SHOWN}"),
    case("hosts-from-notes", {"ALLOWED_HOSTS": REF_NOTES}, "ALLOWED_HOSTS", f"from {REF_NOTES} {NOT_SHOWN}"),
    case("origins-from-db-url", {"CSRF_TRUSTED_ORIGINS": REF_DB}, "CSRF_TRUSTED_ORIGINS", f"a postgres:// URL from {REF_DB} {NOT_SHOWN}"),
    case("origins-from-token", {"CSRF_TRUSTED_ORIGINS": REF_TOKEN}, "CSRF_TRUSTED_ORIGINS", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("origins-from-ssm", {"CSRF_TRUSTED_ORIGINS": SSM_URL}, "CSRF_TRUSTED_ORIGINS", f"from {SSM_URL} {NOT_SHOWN}"),
    case("sslmode-from-db-url", {"DATABASE_SSLMODE": REF_DB}, "DATABASE_SSLMODE", f"a postgres:// URL from {REF_DB} {NOT_SHOWN}"),
    case("sslmode-from-ssm-key", {"DATABASE_SSLMODE": SSM_TOKEN}, "DATABASE_SSLMODE", f"from {SSM_TOKEN} {NOT_SHOWN}"),
    case("custom-domain-from-db-url", {"AWS_S3_CUSTOM_DOMAIN": REF_DB}, "AWS_S3_CUSTOM_DOMAIN", f"from {REF_DB} {NOT_SHOWN}"),
    case("custom-domain-from-url-secret", {"AWS_S3_CUSTOM_DOMAIN": REF_URL}, "AWS_S3_CUSTOM_DOMAIN", f"from {REF_URL} {NOT_SHOWN}"),
    case("static-backend-from-db-url", {"STATIC_BACKEND": REF_DB}, "STATIC_BACKEND", f"from {REF_DB} {NOT_SHOWN}"),
    case("static-backend-from-token", {"STATIC_BACKEND": REF_TOKEN}, "STATIC_BACKEND", f"a value from {REF_TOKEN} {NOT_SHOWN}"),
    case("maintenance-mode-from-db-url", {"MAINTENANCE_MODE": REF_DB}, "MAINTENANCE_MODE", f"from {REF_DB} {NOT_SHOWN}"),
    case("maintenance-mode-from-ssm", {"MAINTENANCE_MODE": SSM_TOKEN}, "MAINTENANCE_MODE", f"from {SSM_TOKEN} {NOT_SHOWN}"),
    case("media-storage-from-token", {"MEDIA_STORAGE": REF_TOKEN}, "MEDIA_STORAGE", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("log-level-from-token", {"LOG_LEVEL": REF_TOKEN}, "LOG_LEVEL", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("log-format-from-db-url", {"LOG_FORMAT": REF_DB}, "LOG_FORMAT", f"from {REF_DB} {NOT_SHOWN}"),
    case("django-env-from-token", {"DJANGO_ENV": REF_TOKEN}, "DJANGO_ENV", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("debug-from-token", {"DEBUG": REF_TOKEN}, "DEBUG", "expected a boolean"),
    case("pool-flag-from-token", {"DATABASE_POOL": REF_TOKEN}, "DATABASE_POOL", "expected a boolean"),
    case("connect-timeout-from-token", {"DATABASE_CONNECT_TIMEOUT": REF_TOKEN}, "DATABASE_CONNECT_TIMEOUT", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("budget-from-db-url", {"DATABASE_CONNECTION_BUDGET": REF_DB}, "DATABASE_CONNECTION_BUDGET", f"from {REF_DB} {NOT_SHOWN}"),
    case("web-concurrency-from-ssm", {"WEB_CONCURRENCY": SSM_TOKEN}, "WEB_CONCURRENCY", f"from {SSM_TOKEN} {NOT_SHOWN}"),
    case("pool-timeout-from-token", {"DATABASE_POOL_TIMEOUT": REF_TOKEN}, "DATABASE_POOL_TIMEOUT", NOT_SHOWN, pool),
    case("hsts-from-token", {"SECURE_HSTS_SECONDS": REF_TOKEN}, "SECURE_HSTS_SECONDS", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("time-limit-from-token", {"CELERY_TASK_TIME_LIMIT": REF_TOKEN}, "CELERY_TASK_TIME_LIMIT", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("result-expires-from-db-url", {"CELERY_RESULT_EXPIRES": REF_DB}, "CELERY_RESULT_EXPIRES", f"from {REF_DB} {NOT_SHOWN}"),
    case("queues-from-db-url", {"CELERY_QUEUES": REF_DB}, "CELERY_QUEUES", f"from {REF_DB} {NOT_SHOWN}"),
    case("routes-from-db-url", {"CELERY_TASK_ROUTES": REF_DB}, "CELERY_TASK_ROUTES", f"from {REF_DB} {NOT_SHOWN}"),
    case("default-queue-from-db-url", {"CELERY_DEFAULT_QUEUE": REF_DB}, "CELERY_DEFAULT_QUEUE", "expected a queue name"),
    case("broker-is-a-reference", {"CELERY_BROKER_URL": REF_REDIS}, "CELERY_BROKER_URL", "must hold the URL itself"),
    case("result-backend-is-a-reference", {"CELERY_RESULT_BACKEND": REF_REDIS}, "CELERY_RESULT_BACKEND", "must hold the URL itself"),
    case("cache-from-secret-key", {"CACHE_URL": f"secretsmanager:{APP_SECRET}#SECRET_KEY"}, "CACHE_URL", f"a value from secretsmanager:{APP_SECRET}#SECRET_KEY {NOT_SHOWN}"),
    case("cache-from-db-url", {"CACHE_URL": REF_DB}, "CACHE_URL", f"a postgres:// URL from {REF_DB} {NOT_SHOWN}"),
    case("redis-url-from-token", {"CACHE_URL": None, "REDIS_URL": REF_TOKEN}, "REDIS_URL", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("key-prefix-from-whole-secret", {"CACHE_KEY_PREFIX": REF_JSON}, "CACHE_KEY_PREFIX", "expected at most 100 printable characters"),
    case("cache-timeout-from-token", {"CACHE_SOCKET_TIMEOUT": REF_TOKEN}, "CACHE_SOCKET_TIMEOUT", "expected a number of seconds"),
    case("redis-ca-bundle-from-token", {"REDIS_CA_BUNDLE": REF_TOKEN}, "REDIS_CA_BUNDLE", f"no file at a value from {REF_TOKEN} {NOT_SHOWN}"),
    case("database-ca-bundle-from-token", {"DATABASE_CA_BUNDLE": REF_TOKEN}, "DATABASE_CA_BUNDLE", f"a value from {REF_TOKEN} {NOT_SHOWN} does not exist"),
    case("maintenance-parameter-from-token", {"MAINTENANCE_PARAMETER": REF_TOKEN}, "MAINTENANCE_PARAMETER", "expected an SSM parameter name"),
    case("maintenance-poll-from-token", {"MAINTENANCE_POLL_SECONDS": REF_TOKEN}, "MAINTENANCE_POLL_SECONDS", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("querystring-expire-from-token", {"AWS_QUERYSTRING_EXPIRE": REF_TOKEN}, "AWS_QUERYSTRING_EXPIRE", f"from {REF_TOKEN} {NOT_SHOWN}"),
    case("release-from-notes", {"STATIC_BACKEND": "s3", "APP_RELEASE": REF_NOTES}, "APP_RELEASE", "expected a release id"),
    case("cloudfront-key-from-token", {"AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F", "AWS_CLOUDFRONT_KEY": REF_TOKEN, "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com"}, "AWS_CLOUDFRONT_KEY", "expected a PEM private key"),
    case("secret-key-too-short-from-token", {"SECRET_KEY": REF_TOKEN}, "SECRET_KEY", "got 14 characters"),
    case("database-secret-from-db-url", {"DATABASE_URL": None, "DATABASE_SECRET": REF_DB}, "DATABASE_SECRET", "is not JSON"),
    case("database-secret-with-unknown-engine", {"DATABASE_URL": None, "DATABASE_SECRET": f"secretsmanager:{RDS_SECRET}"}, "DATABASE_SECRET", f"has engine a value from secretsmanager:{RDS_SECRET} {NOT_SHOWN}"),
    case("database-secret-without-password", {"DATABASE_URL": None, "DATABASE_SECRET": f"secretsmanager:{PARTIAL_RDS_SECRET}", "DATABASE_HOST": "db.internal", "DATABASE_NAME": "shop"}, "DATABASE_SECRET", "has no 'password' key"),
    case("database-url-from-whole-secret", {"DATABASE_URL": REF_JSON}, "DATABASE_URL", f"a JSON object from {REF_JSON} {NOT_SHOWN}"),
    case("database-url-mysql-from-secret", {"DATABASE_URL": f"secretsmanager:{MYSQL_SECRET}"}, "DATABASE_URL", f"a mysql:// URL from secretsmanager:{MYSQL_SECRET} {NOT_SHOWN}"),
    case("database-url-from-token", {"DATABASE_URL": REF_TOKEN}, "DATABASE_URL", "is not a database URL"),
    case("reference-to-a-missing-key", {"DATABASE_URL": f"secretsmanager:{APP_SECRET}#PASSWORD"}, "DATABASE_URL", "the JSON has no key 'PASSWORD'"),
    case("key-of-a-plain-string-secret", {"DATABASE_URL": f"{REF_URL}#password"}, "DATABASE_URL", "the value is not JSON"),
    case("missing-secret", {"SECRET_KEY": "secretsmanager:shop/prod/missing"}, "SECRET_KEY", "not found"),
    case("missing-parameter", {"ALLOWED_HOSTS": "ssm:/shop/prod/missing"}, "ALLOWED_HOSTS", "not found"),
    case("missing-key-of-a-parameter", {"SECRET_KEY": f"ssm:{JSON_PARAMETER}#SECRET_KEY"}, "SECRET_KEY", "the JSON has no key 'SECRET_KEY'"),
    # ---- A URL with credentials written into a variable that expects something else.
    case("hosts-plain-db-url", {"ALLOWED_HOSTS": DB_URL}, "ALLOWED_HOSTS", f"a postgres:// URL with credentials {NOT_SHOWN}"),
    case("hosts-whole-secret-injected-by-ecs", {"ALLOWED_HOSTS": json.dumps(APP_VALUES)}, "ALLOWED_HOSTS", "part of a JSON document (not shown)"),
    case("origins-whole-secret-injected-by-ecs", {"CSRF_TRUSTED_ORIGINS": json.dumps(APP_VALUES)}, "CSRF_TRUSTED_ORIGINS", "part of a JSON document (not shown)"),
    case("log-level-whole-secret-injected-by-ecs", {"LOG_LEVEL": json.dumps({"TOKEN": SECRET})}, "LOG_LEVEL", "part of a JSON document (not shown)"),
    case("hosts-user-at-host", {"ALLOWED_HOSTS": f"app:{SECRET}@shop.example.com"}, "ALLOWED_HOSTS", f"with credentials {NOT_SHOWN}"),
    case("origins-plain-db-url", {"CSRF_TRUSTED_ORIGINS": DB_URL}, "CSRF_TRUSTED_ORIGINS", f"a postgres:// URL with credentials {NOT_SHOWN}"),
    case("origin-with-userinfo", {"CSRF_TRUSTED_ORIGINS": f"https://app:{SECRET}@shop.example.com"}, "CSRF_TRUSTED_ORIGINS", f"a https:// URL with credentials {NOT_SHOWN}"),
    case("custom-domain-with-userinfo", {"AWS_S3_CUSTOM_DOMAIN": f"https://cdn:{SECRET}@cdn.example.com"}, "AWS_S3_CUSTOM_DOMAIN", NOT_SHOWN),
    case("sslmode-plain-url", {"DATABASE_SSLMODE": DB_URL}, "DATABASE_SSLMODE", NOT_SHOWN),
    case("static-backend-plain-url", {"STATIC_BACKEND": BROKER_URL}, "STATIC_BACKEND", f"a redis:// URL with credentials {NOT_SHOWN}"),
    case("maintenance-mode-plain-url", {"MAINTENANCE_MODE": REDIS_URL}, "MAINTENANCE_MODE", NOT_SHOWN),
    case("log-level-plain-url", {"LOG_LEVEL": DB_URL}, "LOG_LEVEL", NOT_SHOWN),
    case("django-env-plain-url", {"DJANGO_ENV": DB_URL}, "DJANGO_ENV", NOT_SHOWN),
    case("queues-plain-url", {"CELERY_QUEUES": BROKER_URL}, "CELERY_QUEUES", NOT_SHOWN),
    case("routes-plain-url", {"CELERY_TASK_ROUTES": f"app.tasks.*={BROKER_URL}"}, "CELERY_TASK_ROUTES", NOT_SHOWN),
    case("database-ca-bundle-plain-url", {"DATABASE_CA_BUNDLE": DB_URL}, "DATABASE_CA_BUNDLE", NOT_SHOWN),
    case("cache-memcached-with-password", {"CACHE_URL": f"memcached://app:{SECRET}@cache.internal:11211"}, "CACHE_URL", "got a memcached:// URL"),
    case("broker-kafka-with-password", {"CELERY_BROKER_URL": f"kafka://app:{SECRET}@broker.internal:9092"}, "CELERY_BROKER_URL", "got a kafka:// URL"),
    case("broker-sqs-with-keys", {"CELERY_BROKER_URL": f"sqs://AKIAEXAMPLE:{SECRET}@"}, "CELERY_BROKER_URL", "must not carry AWS credentials"),
    case("database-url-sslmode-in-query", {"DATABASE_URL": f"{DB_URL}?sslmode={SECRET}"}, "DATABASE_URL", "has an unknown sslmode"),
    case("database-url-huge-connect-timeout", {"DATABASE_URL": f"{DB_URL}?connect_timeout=99999999999"}, "DATABASE_URL", "has a connect_timeout that is not between 1 and 60"),
    case("database-url-unparseable", {"DATABASE_URL": f"postgres://app:{SECRET}/x@db.internal:5432/shop"}, "DATABASE_URL", "cannot be parsed"),
    case("database-url-scheme-typo", {"DATABASE_URL": f"postgress://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", f"has an unknown scheme; {DATABASE_SCHEMES}"),
    case("database-url-secret-as-scheme", {"DATABASE_URL": f"{SECRET}://db.internal/shop"}, "DATABASE_URL", f"has an unknown scheme; {DATABASE_SCHEMES}"),
    case("cache-url-secret-as-scheme", {"CACHE_URL": f"{SECRET}://cache.internal"}, "CACHE_URL", "got a URL with an unknown scheme"),
    case("redis-url-unreadable-port", {"CACHE_URL": f"redis://:{SECRET}@cache.internal:port/0"}, "CACHE_URL", "its host and port cannot be read"),
    case("redis-url-fragment", {"CACHE_URL": f"redis://:{SECRET}#x@cache.internal/0"}, "CACHE_URL", "is not a valid Redis URL"),
    # ---- Accepted silently before, failing at the first query or request.
    case("database-url-without-host", {"DATABASE_URL": f"postgres://app:{SECRET}@/shop"}, "DATABASE_URL", "names no host"),
    case("database-url-socket-host", {"DATABASE_URL": f"postgres://app:{SECRET}@%2Fvar%2Frun%2Fpostgresql/shop"}, "DATABASE_URL", "names no host"),
    case("sqlite-in-production", {"DATABASE_URL": "sqlite:////tmp/shop.sqlite3"}, "DATABASE_URL", "cannot be used when DJANGO_ENV=production"),
    case("mysql", {"DATABASE_URL": f"mysql://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", f"has the scheme mysql://; {DATABASE_SCHEMES}"),
    case("mysql2", {"DATABASE_URL": f"mysql2://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", "has the scheme mysql2://"),
    case("mssql", {"DATABASE_URL": f"mssql://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", "has the scheme mssql://"),
    case("oracle", {"DATABASE_URL": f"oracle://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", "has the scheme oracle://"),
    case("cockroachdb", {"DATABASE_URL": f"cockroachdb://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", "has the scheme cockroachdb://"),
    case("redshift", {"DATABASE_URL": f"redshift://app:{SECRET}@db.internal/shop"}, "DATABASE_URL", "has the scheme redshift://"),
    case("mysql-from-ssm", {"DATABASE_URL": "ssm:/shop/prod/MYSQL"}, "DATABASE_URL", "not found"),
    case("budget-zero", {"DATABASE_CONNECTION_BUDGET": "0"}, "DATABASE_CONNECTION_BUDGET", "expected an integer between 1 and 5000, got 0"),
    case("budget-negative", {"DATABASE_CONNECTION_BUDGET": "-5"}, "DATABASE_CONNECTION_BUDGET", "got -5"),
    case("budget-huge", {"DATABASE_CONNECTION_BUDGET": "9" * 40}, "DATABASE_CONNECTION_BUDGET", "expected an integer between 1 and 5000"),
    case("web-concurrency-zero", {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY", "between 1 and 256, got 0"),
    case("web-concurrency-huge", {"WEB_CONCURRENCY": "100000"}, "WEB_CONCURRENCY", "between 1 and 256, got 100000"),
    case("connect-timeout-zero", {"DATABASE_CONNECT_TIMEOUT": "0"}, "DATABASE_CONNECT_TIMEOUT", "between 1 and 60, got 0"),
    case("connect-timeout-huge", {"DATABASE_CONNECT_TIMEOUT": "3000000000"}, "DATABASE_CONNECT_TIMEOUT", "between 1 and 60"),
    case("conn-max-age-huge", {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "99999999999"}, "DATABASE_CONN_MAX_AGE", "between 0 and 86400"),
    case("conn-max-age-negative", {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "-1"}, "DATABASE_CONN_MAX_AGE", "between 0 and 86400, got -1"),
    case("pool-timeout-zero", {"DATABASE_POOL_TIMEOUT": "0"}, "DATABASE_POOL_TIMEOUT", "between 1 and 300, got 0", pool),
    case("pool-timeout-huge", {"DATABASE_POOL_TIMEOUT": "1" + "0" * 11}, "DATABASE_POOL_TIMEOUT", "between 1 and 300", pool),
    case("pool-lifetime-huge", {"DATABASE_POOL_MAX_LIFETIME": "10000000000"}, "DATABASE_POOL_MAX_LIFETIME", "between 60 and 86400", pool),
    case("pool-idle-huge", {"DATABASE_POOL_MAX_IDLE": "999999"}, "DATABASE_POOL_MAX_IDLE", "between 10 and 86400, got 999999", pool),
    case("time-limit-huge", {"CELERY_TASK_TIME_LIMIT": "99999999"}, "CELERY_TASK_TIME_LIMIT", "between 2 and 86400"),
    case("soft-time-limit-negative", {"CELERY_TASK_SOFT_TIME_LIMIT": "-30"}, "CELERY_TASK_SOFT_TIME_LIMIT", "between 1 and 86400, got -30"),
    case("visibility-huge", {"CELERY_VISIBILITY_TIMEOUT": "99999999999"}, "CELERY_VISIBILITY_TIMEOUT", "between 1 and 604800"),
    case("result-expires-zero", {"CELERY_RESULT_EXPIRES": "0"}, "CELERY_RESULT_EXPIRES", "between 1 and 2592000, got 0"),
    case("hsts-huge", {"SECURE_HSTS_SECONDS": "999999999999"}, "SECURE_HSTS_SECONDS", "between 0 and 63072000"),
    case("retry-after-huge", {"MAINTENANCE_RETRY_AFTER": "31536000"}, "MAINTENANCE_RETRY_AFTER", "between 1 and 86400"),
    case("integer-with-underscores", {"DATABASE_CONNECTION_BUDGET": "1_000"}, "DATABASE_CONNECTION_BUDGET", "got '1_000'"),
    case("cache-timeout-infinite", {"CACHE_SOCKET_TIMEOUT": "inf"}, "CACHE_SOCKET_TIMEOUT", "at most 60"),
    case("cache-timeout-huge", {"CACHE_SOCKET_CONNECT_TIMEOUT": "1e308"}, "CACHE_SOCKET_CONNECT_TIMEOUT", "at most 60"),
    case("broker-timeout-nan", {"CELERY_REDIS_SOCKET_TIMEOUT": "nan"}, "CELERY_REDIS_SOCKET_TIMEOUT", "at most 300"),
    case("cache-database-16", {"CACHE_URL": f"rediss://:{SECRET}@cache.internal:6379/16"}, "CACHE_URL", "the database number must be between 0 and 15"),
    case("broker-database-16", {"CELERY_BROKER_URL": f"redis://:{SECRET}@cache.internal:6379/16"}, "CELERY_BROKER_URL", "between 0 and 15"),
    case("redis-url-database-huge", {"CACHE_URL": None, "REDIS_URL": f"redis://:{SECRET}@cache.internal/99999999999999"}, "REDIS_URL", "the path must be a database number"),
    case("result-backend-database-99", {"CELERY_RESULT_BACKEND": f"redis://:{SECRET}@cache.internal/99"}, "CELERY_RESULT_BACKEND", "between 0 and 15"),
    case("hosts-with-a-space", {"ALLOWED_HOSTS": "shop.example.com www.shop.example.com"}, "ALLOWED_HOSTS", "got 'shop.example.com www.shop.example.com'"),
    case("hosts-bare-dot", {"ALLOWED_HOSTS": "shop.example.com,."}, "ALLOWED_HOSTS", "got '.'"),
    case("hosts-star-dot", {"ALLOWED_HOSTS": "*.example.com"}, "ALLOWED_HOSTS", "got '*.example.com'"),
    case("hosts-star-in-production", {"ALLOWED_HOSTS": "shop.example.com,*"}, "ALLOWED_HOSTS", "must not contain '*'"),
    case("hosts-with-path", {"ALLOWED_HOSTS": "shop.example.com/admin"}, "ALLOWED_HOSTS", "without scheme, path or spaces"),
    case("hosts-only-commas", {"ALLOWED_HOSTS": " , ,"}, "ALLOWED_HOSTS", "is required when DJANGO_ENV=production"),
    case("origins-bare-wildcard", {"CSRF_TRUSTED_ORIGINS": "https://*"}, "CSRF_TRUSTED_ORIGINS", "got 'https://*'"),
    case("origins-http-in-production", {"CSRF_TRUSTED_ORIGINS": "https://shop.example.com,http://shop.example.com"}, "CSRF_TRUSTED_ORIGINS", "expected https:// origins when DJANGO_ENV=production"),
    case("origins-trailing-slash", {"CSRF_TRUSTED_ORIGINS": "https://shop.example.com/"}, "CSRF_TRUSTED_ORIGINS", "without path"),
    case("origins-other-scheme", {"CSRF_TRUSTED_ORIGINS": "ftp://shop.example.com"}, "CSRF_TRUSTED_ORIGINS", "got 'ftp://shop.example.com'"),
    case("origins-without-scheme", {"CSRF_TRUSTED_ORIGINS": "shop.example.com"}, "CSRF_TRUSTED_ORIGINS", "expected origins with a scheme"),
]  # fmt: skip

# Through `manage.py check`: references, URL credentials and the new refusals.
SUBPROCESS_CASES = [
    "hosts-from-db-url",
    "origins-from-db-url",
    "sslmode-from-db-url",
    "custom-domain-from-db-url",
    "static-backend-from-db-url",
    "maintenance-mode-from-db-url",
    "database-url-mysql-from-secret",
    "hosts-plain-db-url",
    "database-url-without-host",
    "sqlite-in-production",
    "mysql",
    "budget-huge",
    "broker-database-16",
    "hosts-bare-dot",
    "origins-bare-wildcard",
    "origins-http-in-production",
]


@pytest.fixture(scope="module")
def planted(moto_server: MotoServer) -> Iterator[Aws]:
    """The `aws` fixture's isolation, set up once for the module: the cases only read."""
    import boto3

    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in aws_environment(AWS_REGION).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        moto_server.reset()
        aws = Aws(moto_server.endpoint_url, AWS_REGION, moto_server.requests)
        plant(aws)
        yield aws


def test_the_baseline_is_valid(planted: Aws) -> None:
    namespace: dict[str, Any] = {"BASE_DIR": Path.cwd()}
    configure(namespace, environment(planted, {}))
    assert namespace["DATABASES"]["default"]["PASSWORD"] == SECRET
    assert namespace["DJANGO_AWS_SETTINGS"]["ENVIRONMENT"] == "production"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 80
    assert set(SUBPROCESS_CASES) <= {c.id for c in CASES}


@pytest.mark.parametrize(("changes", "name", "fragment"), CASES)
def test_one_problem_naming_the_variable_and_no_secret(
    planted: Aws,
    changes: Mapping[str, str | None],
    name: str,
    fragment: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, Any] = {"BASE_DIR": Path.cwd(), "INSTALLED_APPS": ["app"]}
    before = json.dumps(namespace, default=str)
    with caplog.at_level(logging.INFO), pytest.raises(ConfigError) as error:
        configure(namespace, environment(planted, changes))
    problems = [str(problem) for problem in error.value.problems]
    assert [problem.name for problem in error.value.problems] == [name], problems
    assert fragment in problems[0]
    assert str(error.value).count("\n") == 0
    captured = capsys.readouterr()
    for text in (str(error.value), repr(error.value), captured.out, captured.err, caplog.text):
        assert SECRET.lower() not in text.lower()
    assert json.dumps(namespace, default=str) == before  # nothing half-written


SETTINGS_MODULE = """\
from django_aws_settings import configure

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
configure(globals())
"""

MANAGE = """\
import sys

from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "badinput_settings.py").write_text(SETTINGS_MODULE)
    (tmp_path / "manage.py").write_text(MANAGE)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "name", "fragment"), [c for c in CASES if c.id in SUBPROCESS_CASES]
)
def test_manage_py_check_prints_one_line_and_no_secret(
    planted: Aws, project: Path, changes: Mapping[str, str | None], name: str, fragment: str
) -> None:
    environ = {
        **os.environ,
        **environment(planted, changes),
        "DJANGO_SETTINGS_MODULE": "badinput_settings",
        "PYTHONPATH": str(project),
    }
    for removed in (n for n, v in changes.items() if v is None):
        environ.pop(removed, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"django-aws-settings: {name}: {lines[0].split(': ', 2)[-1]}"]
    assert fragment in lines[0]
    assert SECRET.lower() not in (result.stdout + result.stderr).lower()
