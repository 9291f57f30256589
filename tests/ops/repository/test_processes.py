"""What each Procfile spelling runs: the server and its flags, Celery workers and beat."""

from __future__ import annotations

import pytest

from django_aws_settings.ops.repository.processes import (
    CeleryBeat,
    CeleryWorker,
    OtherProcess,
    WebProcess,
    classify,
)


def web(command: str, **expected: object) -> WebProcess:
    defaults: dict[str, object] = {
        "source": "Procfile",
        "name": "web",
        "command": command,
        "app": None,
        "asgi": False,
        "bind": None,
        "workers": None,
        "worker_class": None,
        "config_file": None,
        "uses_port_variable": "PORT" in command,
        "wrappers": (),
        "runs_first": (),
        "flags": (),
    }
    return WebProcess(**{**defaults, **expected})  # type: ignore[arg-type]


WEB_SPELLINGS = [
    web(
        "gunicorn config.wsgi --config gunicorn.conf.py --log-file -",
        server="gunicorn",
        app="config.wsgi",
        config_file="gunicorn.conf.py",
        flags=("--log-file", "-"),
    ),
    web(
        "gunicorn --bind 0.0.0.0:$PORT --workers $WEB_CONCURRENCY --timeout 30 --preload "
        "shop.wsgi:application",
        server="gunicorn",
        app="shop.wsgi:application",
        bind="0.0.0.0:$PORT",
        workers="$WEB_CONCURRENCY",
        flags=("--timeout", "30", "--preload"),
    ),
    web(
        "gunicorn -b=0.0.0.0:${PORT} -w4 -k gevent shop.wsgi",
        server="gunicorn",
        app="shop.wsgi",
        bind="0.0.0.0:${PORT}",
        workers="4",
        worker_class="gevent",
    ),
    web(
        "gunicorn service.asgi:application -k uvicorn_worker.UvicornWorker --workers "
        "${WEB_CONCURRENCY:-2}",
        server="gunicorn",
        app="service.asgi:application",
        asgi=True,
        workers="${WEB_CONCURRENCY:-2}",
        worker_class="uvicorn_worker.UvicornWorker",
    ),
    web(
        "newrelic-admin run-program gunicorn shop.wsgi",
        server="gunicorn",
        app="shop.wsgi",
        wrappers=("newrelic-admin run-program",),
    ),
    web(
        "python manage.py migrate && ddtrace-run gunicorn shop.wsgi",
        server="gunicorn",
        app="shop.wsgi",
        wrappers=("ddtrace-run",),
        runs_first=("python manage.py migrate",),
    ),
    web(
        "uvicorn shop.asgi:application --host 0.0.0.0 --port $PORT --proxy-headers --workers 2",
        server="uvicorn",
        app="shop.asgi:application",
        asgi=True,
        workers="2",
        flags=("--host", "0.0.0.0", "--port", "$PORT", "--proxy-headers"),  # noqa: S104
    ),
    web(
        "uwsgi --http :$PORT --module site_project.wsgi --processes 3 --master --die-on-term",
        server="uwsgi",
        app="site_project.wsgi",
        bind=":$PORT",
        workers="3",
        flags=("--master", "--die-on-term"),
    ),
    web(
        "uwsgi --ini uwsgi.ini",
        server="uwsgi",
        config_file="uwsgi.ini",
    ),
    web(
        "daphne -b 0.0.0.0 -p $PORT shop.asgi:application",
        server="daphne",
        app="shop.asgi:application",
        asgi=True,
        bind="0.0.0.0",  # noqa: S104 - a bind address as written
        flags=("-p", "$PORT"),
    ),
    web(
        "python manage.py runserver 0.0.0.0:$PORT --noreload",
        server="runserver",
        bind="0.0.0.0:$PORT",
        flags=("--noreload",),
    ),
    web("python -m gunicorn shop.wsgi", server="gunicorn", app="shop.wsgi"),
]


@pytest.mark.parametrize("expected", WEB_SPELLINGS, ids=lambda item: item.command)
def test_web_spellings(expected: WebProcess) -> None:
    assert classify("Procfile", "web", expected.command) == expected


def worker(command: str, **expected: object) -> CeleryWorker:
    defaults: dict[str, object] = {
        "source": "Procfile",
        "name": "worker",
        "command": command,
        "app": None,
        "queues": (),
        "concurrency": None,
        "pool": None,
        "loglevel": None,
        "embeds_beat": False,
        "wrappers": (),
        "runs_first": (),
        "flags": (),
    }
    return CeleryWorker(**{**defaults, **expected})  # type: ignore[arg-type]


WORKER_SPELLINGS = [
    worker(
        "celery -A config.celery_app worker -Q default,emails -c 4 -l INFO "
        "--max-tasks-per-child 100",
        app="config.celery_app",
        queues=("default", "emails"),
        concurrency="4",
        loglevel="INFO",
        flags=("--max-tasks-per-child", "100"),
    ),
    worker(
        "celery worker -A shop --loglevel=info -Q emails -Q reports",
        app="shop",
        queues=("emails", "reports"),
        loglevel="info",
    ),
    worker(
        "python -m celery --app service worker --pool prefork --concurrency 2",
        app="service",
        concurrency="2",
        pool="prefork",
    ),
    worker(
        "newrelic-admin run-program celery --app=shop worker -c4 -P gevent -B -E "
        "--without-gossip -n worker1@%h",
        app="shop",
        concurrency="4",
        pool="gevent",
        embeds_beat=True,
        wrappers=("newrelic-admin run-program",),
        flags=("-E", "--without-gossip", "-n", "worker1@%h"),
    ),
    worker(
        "celery -A shop worker --concurrency=${CELERY_CONCURRENCY:-2} --queues=default",
        app="shop",
        queues=("default",),
        concurrency="${CELERY_CONCURRENCY:-2}",
    ),
]


@pytest.mark.parametrize("expected", WORKER_SPELLINGS, ids=lambda item: item.command)
def test_worker_spellings(expected: CeleryWorker) -> None:
    assert classify("Procfile", "worker", expected.command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "celery -A config.celery_app beat -S "
            "django_celery_beat.schedulers:DatabaseScheduler -l INFO",
            CeleryBeat(
                "Procfile",
                "beat",
                "celery -A config.celery_app beat -S "
                "django_celery_beat.schedulers:DatabaseScheduler -l INFO",
                "config.celery_app",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "INFO",
                (),
                (),
                (),
            ),
        ),
        (
            "celery beat --app shop --scheduler=redbeat.RedBeatScheduler --max-interval 10",
            CeleryBeat(
                "Procfile",
                "beat",
                "celery beat --app shop --scheduler=redbeat.RedBeatScheduler --max-interval 10",
                "shop",
                "redbeat.RedBeatScheduler",
                None,
                (),
                (),
                ("--max-interval", "10"),
            ),
        ),
        (
            "python -m celery -A shop beat",
            CeleryBeat(
                "Procfile", "beat", "python -m celery -A shop beat", "shop", None, None, (), (), ()
            ),
        ),
    ],
)
def test_beat_keeps_its_scheduler(command: str, expected: CeleryBeat) -> None:
    assert classify("Procfile", "beat", command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "bin/start-web",
        "./bin/worker --queue default",
        "bin/start-pgbouncer-stunnel",
        "python worker.py",
        "celery -A shop flower",
        "npm start",
        "",
    ],
)
def test_unknown_commands_are_other_processes(command: str) -> None:
    assert classify("Procfile", "web", command) == OtherProcess("Procfile", "web", command)
