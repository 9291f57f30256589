"""The cutover commands accept the old database as a Secrets Manager / SSM reference."""

from __future__ import annotations

import json

import pytest
from django.core.management.base import CommandError
from support.moto_server import Aws

from django_aws_settings.management import database_for


def test_a_secret_reference_names_the_source_database(
    aws: Aws, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("secretsmanager").create_secret(
        Name="shop/production/cutover", SecretString=json.dumps({"SOURCE_URL": postgres_url})
    )
    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    database = database_for(
        "secretsmanager:shop/production/cutover#SOURCE_URL", application_name="test"
    )
    with database.connect() as connection:
        assert connection.execute("select current_database()").fetchone() == (
            postgres_url.rsplit("/", 1)[1],
        )
    assert aws.requests.count("BatchGetSecretValue") == 1


def test_a_missing_reference_is_one_clear_error(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError) as error:
        database_for("ssm:/shop/production/OLD_DATABASE_URL", application_name="test")
    assert str(error.value) == (
        "django-aws-settings: ssm:/shop/production/OLD_DATABASE_URL: not found"
    )
