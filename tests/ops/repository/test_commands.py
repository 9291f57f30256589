"""Command lines as a PaaS runs them: chains in order, wrappers peeled off, options split."""

from __future__ import annotations

import pytest

from django_aws_settings.ops.repository.commands import (
    Invocation,
    invocation,
    split_chain,
    uses_port_variable,
)


@pytest.mark.parametrize(
    ("line", "commands"),
    [
        (
            "python manage.py migrate --noinput && python manage.py createcachetable",
            ["python manage.py migrate --noinput", "python manage.py createcachetable"],
        ),
        (
            "./manage.py migrate; ./manage.py check --deploy",
            ["./manage.py migrate", "./manage.py check --deploy"],
        ),
        ("echo 'a && b; c' && true", ["echo 'a && b; c'", "true"]),
        ('echo "x; y"', ['echo "x; y"']),
        ("sh -c 'cd src && gunicorn app.wsgi'", ["cd src", "gunicorn app.wsgi"]),
        ('bash -c "python manage.py migrate"', ["python manage.py migrate"]),
        ("  ", []),
    ],
)
def test_split_chain_keeps_order_and_quotes(line: str, commands: list[str]) -> None:
    assert split_chain(line) == commands


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("gunicorn app.wsgi", Invocation((), (), "gunicorn", ("app.wsgi",))),
        (
            "newrelic-admin run-program gunicorn app.wsgi",
            Invocation(("newrelic-admin run-program",), (), "gunicorn", ("app.wsgi",)),
        ),
        (
            "ddtrace-run celery -A app worker",
            Invocation(("ddtrace-run",), (), "celery", ("-A", "app", "worker")),
        ),
        (
            "DJANGO_SETTINGS_MODULE=app.prod exec gunicorn app.wsgi",
            Invocation(
                ("DJANGO_SETTINGS_MODULE=app.prod", "exec"),
                (("DJANGO_SETTINGS_MODULE", "app.prod"),),
                "gunicorn",
                ("app.wsgi",),
            ),
        ),
        ("python -m celery -A app beat", Invocation((), (), "celery", ("-A", "app", "beat"))),
        ("python3.12 -u -m gunicorn app.wsgi", Invocation((), (), "gunicorn", ("app.wsgi",))),
        ("python manage.py runserver", Invocation((), (), "manage.py", ("runserver",))),
        ("./manage.py migrate", Invocation((), (), "manage.py", ("migrate",))),
        ("uv run gunicorn app.wsgi", Invocation(("uv run",), (), "gunicorn", ("app.wsgi",))),
        (
            "poetry run celery -A app worker",
            Invocation(("poetry run",), (), "celery", ("-A", "app", "worker")),
        ),
        ("/app/.venv/bin/gunicorn app.wsgi", Invocation((), (), "gunicorn", ("app.wsgi",))),
        (
            "bin/start-pgbouncer gunicorn app.wsgi",
            Invocation((), (), "bin/start-pgbouncer", ("gunicorn", "app.wsgi")),
        ),
        ("python worker.py", Invocation((), (), "python", ("worker.py",))),
    ],
)
def test_invocation_peels_wrappers(command: str, expected: Invocation) -> None:
    assert invocation(command) == expected


@pytest.mark.parametrize(
    ("command", "uses"),
    [
        ("gunicorn -b 0.0.0.0:$PORT app.wsgi", True),
        ("gunicorn -b 0.0.0.0:${PORT} app.wsgi", True),
        ("gunicorn -b 0.0.0.0:${PORT:-8000} app.wsgi", True),
        ("gunicorn app.wsgi --workers $PORTS", False),
        ("gunicorn app.wsgi", False),
    ],
)
def test_port_variable_spellings(command: str, uses: bool) -> None:
    assert uses_port_variable(command) is uses
