"""``manage.py ensure_app_role``: the app's least-privilege database role, after ``migrate``."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...cutover import CutoverError
from ...ops.app_role import (
    APPLICATION_NAME,
    DEFAULT_LOCK_TIMEOUT,
    app_role_from_secret,
    ensure_app_role,
)
from ...settings.env import AwsClients, fetch_reference, parse_reference
from ...settings.errors import ConfigError
from .. import add_database_arguments, database_from_options

SECRET_VARIABLE = "DATABASE_APP_SECRET"  # noqa: S105 (the variable's name)


class Command(BaseCommand):
    help = (
        "Create or update the role the app connects as (its secret's username and password)"
        " with SELECT, INSERT, UPDATE, DELETE on every table of the schema and USAGE on its"
        " sequences, now and for the tables later migrations create. Run it as the migrating"
        " user, after migrate; it is idempotent and never prints the password."
    )
    # Runs in the migrate task right after migrate: the same checks already ran there.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_database_arguments(parser, verb="grant on", lock_timeout=DEFAULT_LOCK_TIMEOUT)
        parser.add_argument(
            "--secret",
            default=os.environ.get(SECRET_VARIABLE),
            help=(
                "secretsmanager:<arn or name> of the role's secret ({username, password});"
                f" default: ${SECRET_VARIABLE}."
            ),
        )
        parser.add_argument(
            "--schema", default="public", help="Schema of the app's tables (default: public)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["secret"]:
            self.stdout.write(
                f"{SECRET_VARIABLE} is not set: no app role to create (the app connects"
                " as the migrating user)."
            )
            return
        reference = parse_reference(options["secret"])
        if reference is None:
            # Never echo the value: it may be the secret itself, pasted by mistake.
            raise CommandError("--secret must be a secretsmanager: or ssm: reference")
        try:
            role = app_role_from_secret(fetch_reference(reference, AwsClients()))
            database = database_from_options(options, application_name=APPLICATION_NAME)
            result = ensure_app_role(
                database, role, schema=options["schema"], lock_timeout=options["lock_timeout"]
            )
        except (ConfigError, CutoverError) as error:
            raise CommandError(str(error)) from None
        for line in result.lines():
            self.stdout.write(line)
