"""Processes from Procfile, heroku.yml, app.json and render.yaml, with their sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from django_aws_settings.ops.repository.processes import OtherProcess
from django_aws_settings.ops.repository.procfiles import (
    DeclaredVariable,
    Formation,
    ReleaseCommand,
    platform_files,
)

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def test_procfile_release_chain_is_ordered_commands(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "Procfile": """
                # comments and blank lines are skipped

                release: ./manage.py migrate --noinput && ./manage.py createcachetable; bin/notify
                web: gunicorn shop.wsgi
            """
        }
    )
    processes, _ = platform_files(root)
    assert processes.release == (
        ReleaseCommand("Procfile", "./manage.py migrate --noinput"),
        ReleaseCommand("Procfile", "./manage.py createcachetable"),
        ReleaseCommand("Procfile", "bin/notify"),
    )
    assert processes.sources == ("Procfile",)
    assert processes.web is not None
    assert processes.web.app == "shop.wsgi"


def test_every_worker_is_kept_and_unknown_processes_are_other(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "Procfile": """
                web: bin/start-nginx bin/start-web
                worker: celery -A shop worker -Q default
                emails: celery -A shop worker -Q emails -c 2
                beat: celery -A shop beat
                clock: python clock.py
                websocket: daphne shop.asgi:application
            """
        }
    )
    processes, _ = platform_files(root)
    assert processes.web is None
    assert [(item.name, item.queues) for item in processes.workers] == [
        ("worker", ("default",)),
        ("emails", ("emails",)),
    ]
    assert processes.beat is not None
    assert processes.beat.name == "beat"
    assert processes.other == (
        OtherProcess("Procfile", "web", "bin/start-nginx bin/start-web"),
        OtherProcess("Procfile", "clock", "python clock.py"),
        OtherProcess("Procfile", "websocket", "daphne shop.asgi:application"),
    )


def test_heroku_yml_comes_first_and_declares_its_config(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "heroku.yml": """
                build:
                  docker:
                    web: Dockerfile
                  config:
                    DJANGO_SETTINGS_MODULE: site.settings.production
                release:
                  image: web
                  command:
                    - ./manage.py migrate
                    - ./manage.py createcachetable
                run:
                  web: uwsgi --http :$PORT --module site.wsgi
                  worker:
                    command:
                      - celery -A site worker
                    image: web
            """,
            "Procfile": "web: gunicorn site.wsgi\nrelease: ./manage.py migrate\n",
        }
    )
    processes, variables = platform_files(root)
    assert processes.sources == ("heroku.yml", "Procfile")
    assert processes.web is not None
    assert (processes.web.source, processes.web.server) == ("heroku.yml", "uwsgi")
    assert processes.release == (
        ReleaseCommand("heroku.yml", "./manage.py migrate"),
        ReleaseCommand("heroku.yml", "./manage.py createcachetable"),
    )
    assert [(item.source, item.app) for item in processes.workers] == [("heroku.yml", "site")]
    assert processes.other == (OtherProcess("Procfile", "web", "gunicorn site.wsgi"),)
    assert variables == (
        DeclaredVariable("heroku.yml", "DJANGO_SETTINGS_MODULE", "site.settings.production"),
    )


def test_heroku_yml_release_as_one_string(make_repo: RepoFactory) -> None:
    root = make_repo(
        {"heroku.yml": "release:\n  command: [./manage.py migrate && ./manage.py check]\n"}
    )
    assert platform_files(root)[0].release == (
        ReleaseCommand("heroku.yml", "./manage.py migrate"),
        ReleaseCommand("heroku.yml", "./manage.py check"),
    )


def test_app_json_postdeploy_formation_and_env(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "app.json": """
                {
                  "name": "shop",
                  "scripts": {"postdeploy": "./manage.py loaddata demo && ./manage.py check"},
                  "formation": {
                    "web": {"quantity": 2, "size": "standard-1x"},
                    "worker": {"quantity": 1}
                  },
                  "env": {
                    "DJANGO_SETTINGS_MODULE": {"value": "shop.settings.review"},
                    "WEB_CONCURRENCY": "3",
                    "SECRET_KEY": {"generator": "secret"}
                  }
                }
            """
        }
    )
    processes, variables = platform_files(root)
    assert processes.release == ()
    assert processes.postdeploy == (
        ReleaseCommand("app.json", "./manage.py loaddata demo"),
        ReleaseCommand("app.json", "./manage.py check"),
    )
    assert processes.formation == (
        Formation("app.json", "web", 2, "standard-1x"),
        Formation("app.json", "worker", 1, None),
    )
    assert variables == (
        DeclaredVariable("app.json", "DJANGO_SETTINGS_MODULE", "shop.settings.review"),
        DeclaredVariable("app.json", "WEB_CONCURRENCY", "3"),
    )


def test_render_yaml_services(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "render.yaml": """
                services:
                  - type: web
                    name: api
                    startCommand: gunicorn api.wsgi --bind 0.0.0.0:$PORT
                    preDeployCommand: python manage.py migrate && python manage.py createcachetable
                    plan: standard
                    numInstances: 3
                    envVars:
                      - key: DJANGO_SETTINGS_MODULE
                        value: api.settings.render
                      - key: SECRET_KEY
                        generateValue: true
                  - type: worker
                    name: jobs
                    startCommand: celery --app api worker --pool prefork --concurrency 2
                    preDeployCommand: python manage.py migrate
                  - type: worker
                    name: scheduler
                    startCommand: celery --app api beat
                  - type: cron
                    name: nightly
                    schedule: "0 3 * * *"
                    startCommand: python manage.py clearsessions
            """
        }
    )
    processes, variables = platform_files(root)
    assert processes.web is not None
    assert (processes.web.name, processes.web.bind) == ("api", "0.0.0.0:$PORT")
    assert [(item.name, item.pool, item.concurrency) for item in processes.workers] == [
        ("jobs", "prefork", "2")
    ]
    assert processes.beat is not None
    assert processes.beat.name == "scheduler"
    assert processes.release == (
        ReleaseCommand("render.yaml", "python manage.py migrate"),
        ReleaseCommand("render.yaml", "python manage.py createcachetable"),
    )
    assert processes.formation == (Formation("render.yaml", "api", 3, "standard"),)
    assert processes.other == (
        OtherProcess("render.yaml", "nightly", "python manage.py clearsessions"),
    )
    assert variables == (
        DeclaredVariable("render.yaml", "DJANGO_SETTINGS_MODULE", "api.settings.render"),
    )


def test_the_same_worker_in_two_files_is_kept_once(make_repo: RepoFactory) -> None:
    command = "celery -A shop worker -Q default"
    root = make_repo(
        {
            "Procfile": f"web: gunicorn shop.wsgi\nworker: {command}\n",
            "render.yaml": "services:\n  - type: worker\n    name: w\n    "
            f"startCommand: {command}\n",
        }
    )
    processes, _ = platform_files(root)
    assert [(item.source, item.name) for item in processes.workers] == [("Procfile", "worker")]


def test_no_platform_files_is_no_processes(tmp_path: Path) -> None:
    processes, variables = platform_files(tmp_path)
    assert processes.sources == ()
    assert (processes.web, processes.workers, processes.beat, processes.release) == (
        None,
        (),
        None,
        (),
    )
    assert variables == ()
