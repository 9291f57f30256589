"""``django-aws inspect``: JSON that parses to the facts, exact human output, one-line errors."""

# ruff: noqa: E501 - CMS_SITE_REPORT is the command's exact output, long lines included

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.template import VENV_BIN

from django_aws_settings.ops.cli import EXIT_BAD_INPUT, main
from django_aws_settings.ops.repository import repository_facts

SAMPLE_REPOS = Path(__file__).resolve().parents[1] / "sample_repos"

CMS_SITE_REPORT = """\
Repository {root}

Django
  project              site_project (manage.py)
  production settings  site_project.settings.production (by name)
  settings modules     site_project.settings.base, site_project.settings.production, site_project.settings.test
  ASGI                 no

Python
  version              3.12 (runtime.txt: python-3.12.4)

Processes (heroku.yml)
  web (web)            uwsgi, app site_project.wsgi, workers 3, bind :$PORT; flags --master --die-on-term
  release 1            ./manage.py migrate --noinput
  release 2            ./manage.py createcachetable

Dependencies
  manager              pip (requirements.txt)
  requirements         requirements.txt
  native uwsgi         build gcc libc6-dev; runtime none
  present              uwsgi, psycopg

Tests
  runner               manage.py test
  settings             site_project.settings.test (by name)
  requirements         none

Environment read at import (3 files)
  ALLOWED_HOSTS  optional  site_project/settings/production.py:6
  DATABASE_URL   optional  site_project/settings/base.py:33, site_project/settings/base.py:34
  DEBUG          optional  site_project/settings/base.py:9
  EMAIL_HOST     optional  site_project/settings/production.py:11
  EMAIL_PORT     optional  site_project/settings/production.py:12
  SECRET_KEY     required  site_project/settings/base.py:8, site_project/settings/test.py:3
  SENTRY_DSN     optional  site_project/settings/production.py:7

Existing files
  would collide        Dockerfile, .dockerignore, docker-compose.yml, heroku.yml
  .dockerignore        .git, .envs/, .env*, *.pem, node_modules, media/
  staticfiles ignored  no
  heroku.yml builds    web: Dockerfile
"""


def test_json_is_the_facts(capsys: pytest.CaptureFixture[str]) -> None:
    root = SAMPLE_REPOS / "api_platform"
    assert main(["inspect", str(root), "--json"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == repository_facts(root).as_dict()
    assert printed == json.dumps(repository_facts(root).as_dict(), indent=2, sort_keys=True) + "\n"


def test_json_through_the_console_script_from_the_repository() -> None:
    shown = subprocess.run(
        [VENV_BIN / "django-aws", "inspect", "tests/sample_repos/api_platform", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=SAMPLE_REPOS.parents[1],
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    facts = json.loads(shown.stdout)
    assert (
        facts["processes"]["beat"]["scheduler"] == "django_celery_beat.schedulers:DatabaseScheduler"
    )
    assert facts["tests"]["settings_module"] == "config.django.test"


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    root = SAMPLE_REPOS / "cms_site"
    assert main(["inspect", str(root)]) == 0
    assert capsys.readouterr() == (CMS_SITE_REPORT.format(root=root), "")


def test_bad_path_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(["inspect", str(missing)]) == EXIT_BAD_INPUT
    assert capsys.readouterr() == (
        "",
        f"django-aws: {missing}: is not a directory\n",
    )


def test_bad_file_names_it_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert main(["inspect", str(tmp_path)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"django-aws: {tmp_path / 'pyproject.toml'}: is not valid TOML")
    assert err.count("\n") == 1
