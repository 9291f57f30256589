"""The whole facts of each sample repository, compared key by key to what the files say.

The three samples (tests/sample_repos/) are shaped like common real layouts: a
``config/django/`` API with requirements/ includes, psycopg2 from source, Celery and
django-celery-beat and pytest; a uwsgi site with its own Dockerfile, heroku.yml and
settings.test; a uv + ASGI service with render.yaml and python-decouple.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from django_aws_settings.ops.repository import repository_facts

SAMPLE_REPOS = Path(__file__).resolve().parents[2] / "sample_repos"

API_PLATFORM: dict[str, Any] = {
    "schema": 1,
    "django": {
        "manage_py": "manage.py",
        "source_root": ".",
        "project_package": "config",
        "asgi": False,
        "asgi_reason": None,
        "settings_modules": [
            "config.django.base",
            "config.django.production",
            "config.django.test",
        ],
        "production_settings": {"module": "config.django.production", "source": "by name"},
    },
    "python": {"version": "3.11", "declared": "3.11", "source": ".python-version"},
    "processes": {
        "sources": ["Procfile"],
        "web": {
            "source": "Procfile",
            "name": "web",
            "command": "gunicorn config.wsgi --config gunicorn.conf.py --log-file -",
            "server": "gunicorn",
            "app": "config.wsgi",
            "asgi": False,
            "bind": None,
            "workers": None,
            "worker_class": None,
            "config_file": "gunicorn.conf.py",
            "uses_port_variable": False,
            "wrappers": [],
            "runs_first": [],
            "flags": ["--log-file", "-"],
        },
        "workers": [
            {
                "source": "Procfile",
                "name": "worker",
                "command": "celery -A config.celery_app worker -Q default,emails "
                "-c 4 -l INFO --max-tasks-per-child 100",
                "app": "config.celery_app",
                "queues": ["default", "emails"],
                "concurrency": "4",
                "pool": None,
                "loglevel": "INFO",
                "embeds_beat": False,
                "wrappers": [],
                "runs_first": [],
                "flags": ["--max-tasks-per-child", "100"],
            }
        ],
        "beat": {
            "source": "Procfile",
            "name": "beat",
            "command": "celery -A config.celery_app beat -S "
            "django_celery_beat.schedulers:DatabaseScheduler -l INFO",
            "app": "config.celery_app",
            "scheduler": "django_celery_beat.schedulers:DatabaseScheduler",
            "loglevel": "INFO",
            "wrappers": [],
            "runs_first": [],
            "flags": [],
        },
        "release": [{"source": "Procfile", "command": "python manage.py migrate --noinput"}],
        "postdeploy": [],
        "formation": [],
        "other": [],
    },
    "dependencies": {
        "manager": "pip",
        "manager_source": "requirements/production.txt",
        "lock_file": None,
        "requirements": {
            "start": "requirements/production.txt",
            "files": [
                {"path": "requirements/production.txt", "kind": "requirements"},
                {"path": "requirements/base.txt", "kind": "requirements"},
                {"path": "requirements/constraints.txt", "kind": "constraints"},
            ],
            "packages": [
                "celery",
                "django",
                "django-celery-beat",
                "django-environ",
                "gunicorn",
                "psycopg2",
                "sentry-sdk",
            ],
            "cycles": [],
            "missing": [],
        },
        "test_requirements": {
            "start": "requirements/local.txt",
            "files": [
                {"path": "requirements/local.txt", "kind": "requirements"},
                {"path": "requirements/base.txt", "kind": "requirements"},
                {"path": "requirements/constraints.txt", "kind": "constraints"},
            ],
            "packages": [
                "celery",
                "django",
                "django-celery-beat",
                "django-environ",
                "psycopg2",
                "pytest",
                "pytest-django",
            ],
            "cycles": [],
            "missing": [],
        },
        "dev_groups": [],
        "packages": [
            "celery",
            "django",
            "django-celery-beat",
            "django-environ",
            "gunicorn",
            "psycopg2",
            "sentry-sdk",
        ],
        "native": [
            {
                "package": "psycopg2",
                "build": ["gcc", "libc6-dev", "libpq-dev"],
                "runtime": ["libpq5"],
                "reason": "no wheels (psycopg2-binary has them)",
            }
        ],
        "present": {
            "gunicorn": True,
            "uvicorn": False,
            "uvicorn-worker": False,
            "uwsgi": False,
            "daphne": False,
            "celery": True,
            "django-celery-beat": True,
            "django-celery-results": False,
            "channels": False,
            "whitenoise": False,
            "django-storages": False,
            "psycopg": False,
            "psycopg2": True,
            "psycopg2-binary": False,
        },
    },
    "tests": {
        "runner": "pytest",
        "config": "pytest.ini",
        "settings_module": "config.django.test",
        "settings_source": "pytest.ini",
        "requirements": "requirements/local.txt",
    },
    "environment": {
        "files": ["config/django/base.py", "config/django/production.py", "config/django/test.py"],
        "variables": [
            {"name": "CONN_MAX_AGE", "required": False, "reads": ["config/django/production.py:8"]},
            {
                "name": "DATABASE_URL",
                "required": True,
                "reads": ["config/django/base.py:32", "config/django/production.py:7"],
            },
            {
                "name": "DJANGO_ALLOWED_HOSTS",
                "required": False,
                "reads": ["config/django/base.py:14"],
            },
            {
                "name": "DJANGO_CSRF_TRUSTED_ORIGINS",
                "required": False,
                "reads": ["config/django/production.py:12"],
            },
            {"name": "DJANGO_DEBUG", "required": False, "reads": ["config/django/base.py:12"]},
            {
                "name": "DJANGO_DEFAULT_FROM_EMAIL",
                "required": False,
                "reads": ["config/django/production.py:17"],
            },
            {
                "name": "DJANGO_SECRET_KEY",
                "required": True,
                "reads": ["config/django/base.py:13", "config/django/production.py:6"],
            },
            {
                "name": "DJANGO_SECURE_SSL_REDIRECT",
                "required": False,
                "reads": ["config/django/production.py:11"],
            },
            {"name": "EMAIL_URL", "required": False, "reads": ["config/django/production.py:16"]},
            {"name": "REDIS_URL", "required": False, "reads": ["config/django/base.py:39"]},
            {"name": "SENTRY_DSN", "required": False, "reads": ["config/django/production.py:13"]},
        ],
        "env_file_loads": ["config/django/base.py:10"],
        "unparsed": [],
    },
    "existing_files": {
        "collisions": ["docker-compose.yml", "gunicorn.conf.py"],
        "dockerignore": None,
        "gitignore_covers_staticfiles": True,
        "heroku_docker_builds": {},
    },
}

CMS_SITE: dict[str, Any] = {
    "schema": 1,
    "django": {
        "manage_py": "manage.py",
        "source_root": ".",
        "project_package": "site_project",
        "asgi": False,
        "asgi_reason": None,
        "settings_modules": [
            "site_project.settings.base",
            "site_project.settings.production",
            "site_project.settings.test",
        ],
        "production_settings": {"module": "site_project.settings.production", "source": "by name"},
    },
    "python": {"version": "3.12", "declared": "python-3.12.4", "source": "runtime.txt"},
    "processes": {
        "sources": ["heroku.yml"],
        "web": {
            "source": "heroku.yml",
            "name": "web",
            "command": "uwsgi --http :$PORT --module site_project.wsgi --processes "
            "3 --master --die-on-term",
            "server": "uwsgi",
            "app": "site_project.wsgi",
            "asgi": False,
            "bind": ":$PORT",
            "workers": "3",
            "worker_class": None,
            "config_file": None,
            "uses_port_variable": True,
            "wrappers": [],
            "runs_first": [],
            "flags": ["--master", "--die-on-term"],
        },
        "workers": [],
        "beat": None,
        "release": [
            {"source": "heroku.yml", "command": "./manage.py migrate --noinput"},
            {"source": "heroku.yml", "command": "./manage.py createcachetable"},
        ],
        "postdeploy": [],
        "formation": [],
        "other": [],
    },
    "dependencies": {
        "manager": "pip",
        "manager_source": "requirements.txt",
        "lock_file": None,
        "requirements": {
            "start": "requirements.txt",
            "files": [{"path": "requirements.txt", "kind": "requirements"}],
            "packages": ["dj-database-url", "django", "psycopg", "psycopg-binary", "uwsgi"],
            "cycles": [],
            "missing": [],
        },
        "test_requirements": None,
        "dev_groups": [],
        "packages": ["dj-database-url", "django", "psycopg", "psycopg-binary", "uwsgi"],
        "native": [
            {
                "package": "uwsgi",
                "build": ["gcc", "libc6-dev"],
                "runtime": [],
                "reason": "no wheels: compiled at install",
            }
        ],
        "present": {
            "gunicorn": False,
            "uvicorn": False,
            "uvicorn-worker": False,
            "uwsgi": True,
            "daphne": False,
            "celery": False,
            "django-celery-beat": False,
            "django-celery-results": False,
            "channels": False,
            "whitenoise": False,
            "django-storages": False,
            "psycopg": True,
            "psycopg2": False,
            "psycopg2-binary": False,
        },
    },
    "tests": {
        "runner": "manage.py test",
        "config": None,
        "settings_module": "site_project.settings.test",
        "settings_source": "by name",
        "requirements": None,
    },
    "environment": {
        "files": [
            "site_project/settings/base.py",
            "site_project/settings/production.py",
            "site_project/settings/test.py",
        ],
        "variables": [
            {
                "name": "ALLOWED_HOSTS",
                "required": False,
                "reads": ["site_project/settings/production.py:6"],
            },
            {
                "name": "DATABASE_URL",
                "required": False,
                "reads": ["site_project/settings/base.py:33", "site_project/settings/base.py:34"],
            },
            {"name": "DEBUG", "required": False, "reads": ["site_project/settings/base.py:9"]},
            {
                "name": "EMAIL_HOST",
                "required": False,
                "reads": ["site_project/settings/production.py:11"],
            },
            {
                "name": "EMAIL_PORT",
                "required": False,
                "reads": ["site_project/settings/production.py:12"],
            },
            {
                "name": "SECRET_KEY",
                "required": True,
                "reads": ["site_project/settings/base.py:8", "site_project/settings/test.py:3"],
            },
            {
                "name": "SENTRY_DSN",
                "required": False,
                "reads": ["site_project/settings/production.py:7"],
            },
        ],
        "env_file_loads": [],
        "unparsed": [],
    },
    "existing_files": {
        "collisions": ["Dockerfile", ".dockerignore", "docker-compose.yml", "heroku.yml"],
        "dockerignore": [".git", ".envs/", ".env*", "*.pem", "node_modules", "media/"],
        "gitignore_covers_staticfiles": False,
        "heroku_docker_builds": {"web": "Dockerfile"},
    },
}

ASYNC_SERVICE: dict[str, Any] = {
    "schema": 1,
    "django": {
        "manage_py": "manage.py",
        "source_root": ".",
        "project_package": "service",
        "asgi": True,
        "asgi_reason": "Procfile web: gunicorn",
        "settings_modules": ["service.settings"],
        "production_settings": {"module": "service.settings", "source": "render.yaml"},
    },
    "python": {"version": "3.12", "declared": ">=3.12", "source": "pyproject.toml requires-python"},
    "processes": {
        "sources": ["Procfile", "render.yaml"],
        "web": {
            "source": "Procfile",
            "name": "web",
            "command": "gunicorn service.asgi:application -k "
            "uvicorn_worker.UvicornWorker --workers "
            "${WEB_CONCURRENCY:-2}",
            "server": "gunicorn",
            "app": "service.asgi:application",
            "asgi": True,
            "bind": None,
            "workers": "${WEB_CONCURRENCY:-2}",
            "worker_class": "uvicorn_worker.UvicornWorker",
            "config_file": None,
            "uses_port_variable": False,
            "wrappers": [],
            "runs_first": [],
            "flags": [],
        },
        "workers": [
            {
                "source": "render.yaml",
                "name": "async-service-worker",
                "command": "celery --app service worker --pool prefork --concurrency 2",
                "app": "service",
                "queues": [],
                "concurrency": "2",
                "pool": "prefork",
                "loglevel": None,
                "embeds_beat": False,
                "wrappers": [],
                "runs_first": [],
                "flags": [],
            }
        ],
        "beat": None,
        "release": [{"source": "render.yaml", "command": "python manage.py migrate"}],
        "postdeploy": [],
        "formation": [
            {"source": "render.yaml", "name": "async-service", "quantity": 2, "size": None}
        ],
        "other": [],
    },
    "dependencies": {
        "manager": "uv",
        "manager_source": "uv.lock",
        "lock_file": "uv.lock",
        "requirements": None,
        "test_requirements": None,
        "dev_groups": ["dev"],
        "packages": [
            "amqp",
            "asgiref",
            "billiard",
            "celery",
            "click",
            "click-didyoumean",
            "click-plugins",
            "click-repl",
            "colorama",  # click's, on Windows only: the lock lists every platform's
            "django",
            "gunicorn",
            "h11",
            "kombu",
            "packaging",
            "prompt-toolkit",
            "psycopg",
            "psycopg-binary",
            "python-dateutil",
            "python-decouple",
            "redis",
            "six",
            "sqlparse",
            "typing-extensions",
            "tzdata",
            "uvicorn",
            "uvicorn-worker",
            "vine",
            "wcwidth",
        ],
        "native": [],
        "present": {
            "gunicorn": True,
            "uvicorn": True,
            "uvicorn-worker": True,
            "uwsgi": False,
            "daphne": False,
            "celery": True,
            "django-celery-beat": False,
            "django-celery-results": False,
            "channels": False,
            "whitenoise": False,
            "django-storages": False,
            "psycopg": True,
            "psycopg2": False,
            "psycopg2-binary": False,
        },
    },
    "tests": {
        "runner": "manage.py test",
        "config": None,
        "settings_module": None,
        "settings_source": None,
        "requirements": None,
    },
    "environment": {
        "files": ["service/settings.py"],
        "variables": [
            {"name": "ALLOWED_HOSTS", "required": False, "reads": ["service/settings.py:9"]},
            {"name": "DB_HOST", "required": False, "reads": ["service/settings.py:29"]},
            {"name": "DB_NAME", "required": False, "reads": ["service/settings.py:28"]},
            {"name": "DB_PASSWORD", "required": False, "reads": ["service/settings.py:31"]},
            {"name": "DB_USER", "required": False, "reads": ["service/settings.py:30"]},
            {"name": "DEBUG", "required": False, "reads": ["service/settings.py:8"]},
            {"name": "REDIS_URL", "required": False, "reads": ["service/settings.py:38"]},
            {"name": "SECRET_KEY", "required": True, "reads": ["service/settings.py:7"]},
        ],
        "env_file_loads": [],
        "unparsed": [],
    },
    "existing_files": {
        "collisions": [],
        "dockerignore": None,
        "gitignore_covers_staticfiles": False,
        "heroku_docker_builds": {},
    },
}


@pytest.mark.parametrize(
    ("repo", "expected"),
    [("api_platform", API_PLATFORM), ("cms_site", CMS_SITE), ("async_service", ASYNC_SERVICE)],
)
def test_sample_repository_facts(repo: str, expected: dict[str, Any]) -> None:
    assert repository_facts(SAMPLE_REPOS / repo).as_dict() == expected


@pytest.mark.parametrize("repo", ["api_platform", "cms_site", "async_service"])
def test_as_dict_is_json(repo: str) -> None:
    facts = repository_facts(SAMPLE_REPOS / repo).as_dict()
    assert json.loads(json.dumps(facts)) == facts


def test_geodjango_adds_its_runtime_libraries(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "wsgi.py").write_text("")
    (tmp_path / "geo" / "settings.py").write_text('INSTALLED_APPS = ["django.contrib.gis"]\n')
    native = repository_facts(tmp_path).as_dict()["dependencies"]["native"]
    assert native == [
        {
            "package": "django.contrib.gis",
            "build": [],
            "runtime": ["gdal-bin", "libgdal32", "libgeos-c1v5", "libproj25"],
            "reason": "GeoDjango loads GDAL, GEOS and PROJ at run time",
        }
    ]
