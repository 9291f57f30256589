"""What the template takes from the facts: answers, the image plan, where variables go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from django_aws_settings.ops.repository import repository_facts
from django_aws_settings.ops.repository.answers import migrate_command, stated_answers
from django_aws_settings.ops.repository.derived import needs_elasticache, package_extras
from django_aws_settings.ops.repository.image import image_plan, placeholder_for
from django_aws_settings.ops.repository.variables import kind_by_name, variable_destinations


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DATABASE_URL", "postgres://build-only@build-only.invalid/build_only"),
        ("DB_URL", "postgres://build-only@build-only.invalid/build_only"),
        ("CELERY_BROKER_URL", "redis://build-only.invalid:6379/0"),
        ("REDIS_URL", "redis://build-only.invalid:6379/0"),
        ("SENTRY_DSN", "https://build-only.invalid/"),
        ("DJANGO_DEBUG", "False"),
        ("DJANGO_ALLOWED_HOSTS", "build-only.invalid"),
        ("CSRF_TRUSTED_ORIGINS", "https://build-only.invalid"),
        ("CONN_MAX_AGE", "0"),
        ("DJANGO_SECRET_KEY", "build-only-not-a-secret"),
    ],
)
def test_placeholders_parse_as_their_names_suggest(name: str, expected: str) -> None:
    assert placeholder_for(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("STRIPE_API_KEY", ("secret", "name contains KEY")),
        ("DB_PASSWORD", ("secret", "name contains PASSWORD")),
        ("SENTRY_DSN", ("secret", "name contains DSN")),
        ("MONKEY_COUNT", None),
        ("PRIMARY_HOST", None),
        ("HEROKU_APP_NAME", ("skipped", "Heroku metadata or an add-on alias of another key "
                                        "(DATABASE_URL, REDIS_URL)")),
        ("PORT", ("skipped", "set by the platform at run time; "
                             "the task definition sets it on ECS")),
    ],
)  # fmt: skip
def test_names_alone_decide_secrets_and_platform_keys(
    name: str, expected: tuple[str, str] | None
) -> None:
    assert kind_by_name(name) == expected


def test_migrate_runs_the_release_commands_then_the_grants() -> None:
    assert migrate_command([]) == [
        "sh", "-c", "python manage.py migrate --noinput && exec python manage.py ensure_app_role"
    ]  # fmt: skip
    assert migrate_command(["./bin/warm-cache", "django-admin migrate"]) == [
        "sh", "-c", "./bin/warm-cache && django-admin migrate"
        " && exec python manage.py ensure_app_role",
    ]  # fmt: skip
    assert migrate_command(["python manage.py createcachetable"])[2] == (
        "python manage.py migrate --noinput && python manage.py createcachetable"
        " && exec python manage.py ensure_app_role"
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


APP = {
    "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")\n',
    "app/__init__.py": "",
    "app/wsgi.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")\n',
    "app/settings.py": (
        "import os\n"
        'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n'
        'PAYMENT_TOKEN = os.environ["PAYMENT_TOKEN"]\n'
        'FEATURE = os.getenv("FEATURE_FLAG", "off")\n'
    ),
    "requirements/prod.txt": "-r base.txt\ngunicorn==23.0.0\n",
    "requirements/base.txt": "-c ../constraints.txt\nDjango==5.2\npsycopg2==2.9.10\n",
    "constraints.txt": "Django<6\n",
    "Procfile": "web: gunicorn app.wsgi --timeout 60\n",
}


def test_the_image_plan_follows_the_answered_requirements_file(tmp_path: Path) -> None:
    root = write(tmp_path, APP)
    facts = repository_facts(root).as_dict()
    plan = image_plan(
        root, facts, dependency_manager="pip", requirements_file="requirements/prod.txt",
        server="asgi",
    )  # fmt: skip
    assert plan == {
        "requirement_copies": [
            {"sources": ["requirements/prod.txt", "requirements/base.txt"],
             "destination": "requirements/"},
            {"sources": ["constraints.txt"], "destination": "./"},
        ],
        "build_packages": ["gcc", "libc6-dev", "libpq-dev"],
        "runtime_packages": ["libpq5"],
        "native_packages": ["psycopg2"],
        "extra_requirements": ["uvicorn-worker==0.3.0"],  # gunicorn is listed
        "build_placeholders": {
            "DJANGO_SECRET_KEY": "build-only-not-a-secret",
            "PAYMENT_TOKEN": "build-only-not-a-secret",
        },
        "mail_placeholders": {},
    }  # fmt: skip


def test_the_pull_request_check_gets_a_mail_server_where_the_settings_fall_back(
    tmp_path: Path,
) -> None:
    settings = APP["app/settings.py"] + (
        'EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")\n'
        'EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")\n'
        'RELAY = os.environ["SMTP_URL"]\n'
    )
    root = write(tmp_path, {**APP, "app/settings.py": settings})
    plan = image_plan(
        root, repository_facts(root).as_dict(), dependency_manager="pip",
        requirements_file="requirements/prod.txt", server="wsgi",
    )  # fmt: skip
    # Required at import: a build placeholder that parses as a mail URL.
    assert plan["build_placeholders"]["SMTP_URL"] == "smtp://build-only.invalid:587"
    # A server the settings fall back from (localhost): the pull request's check --deploy
    # gets one, so W016 judges production's mail, not the fallback. EMAIL_HOST_USER is no
    # server; SMTP_URL has its build placeholder already.
    assert plan["mail_placeholders"] == {"EMAIL_HOST": "check-deploy-only.invalid"}


def test_answers_and_destinations_from_one_small_app(tmp_path: Path) -> None:
    root = write(tmp_path, APP)
    facts = repository_facts(root).as_dict()
    answers = stated_answers(facts)
    assert answers["web_flags"] == ["--timeout", "60"]
    assert answers["env_aliases"] == "DJANGO_SECRET_KEY=SECRET_KEY"
    assert answers["celery"] is False
    rows = variable_destinations(facts, answers["env_aliases"], project="shop")
    assert [(r["name"], r["required"], r["kind"]) for r in rows] == [
        ("DJANGO_SECRET_KEY", True, "alias"),
        ("FEATURE_FLAG", False, "config"),
        ("PAYMENT_TOKEN", True, "secret"),
    ]


def test_beat_keeps_its_flags_but_not_the_schedule_file_or_detaching(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            **APP,
            "Procfile": "beat: celery -A app beat -l INFO -s /app/celerybeat-schedule "
            "--pidfile= --max-interval 30 --detach\n",
        },
    )
    answers = stated_answers(repository_facts(root).as_dict())
    assert answers["celery_beat_flags"] == ["--max-interval", "30"]


@pytest.mark.parametrize(
    ("answers", "extras", "elasticache"),
    [
        # Recorded answers leave unasked questions out: their defaults apply.
        ({}, "postgres,redis,celery,s3,whitenoise", True),
        ({"celery": False, "media_on_s3": False, "static_backend": "s3"}, "postgres,redis,s3",
         True),
        ({"broker": "sqs", "celery_result_backend": "none"}, "postgres,sqs,s3,whitenoise", False),
        ({"broker": "sqs", "celery_result_backend": "redis"},
         "postgres,redis,sqs,s3,whitenoise", True),
        ({"broker": "sqs", "channels": True, "email": "ses", "media_on_s3": False},
         "postgres,redis,sqs,whitenoise,ses,channels", True),
    ],
)  # fmt: skip
def test_derived_answers_follow_the_broker_results_channels_and_email(
    answers: dict[str, Any], extras: str, elasticache: bool
) -> None:
    assert package_extras(answers) == extras
    assert needs_elasticache(answers) is elasticache
