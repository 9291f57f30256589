"""What a declared process runs: a web server, a Celery worker or beat, or something else.

Every value is kept as written (``$WEB_CONCURRENCY`` stays a string); options the reader
does not pull out into a field are kept, in order, in ``flags``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import (
    Invocation,
    Option,
    ParsedArguments,
    invocation,
    parse_arguments,
    split_chain,
    uses_port_variable,
)

WEB_SERVERS = ("gunicorn", "uvicorn", "uwsgi", "daphne", "runserver")

_GUNICORN_SWITCHES = frozenset(
    {
        "--reload", "--preload", "--daemon", "-D", "-R", "--enable-stdio-inheritance",
        "--capture-output", "--check-config", "--print-config", "--spew", "--no-sendfile",
        "--reuse-port", "--strip-header-spaces", "--disable-redirect-access-to-syslog",
        "--version", "-v", "--help", "-h",
    }
)  # fmt: skip
_UVICORN_SWITCHES = frozenset(
    {
        "--reload", "--proxy-headers", "--no-proxy-headers", "--access-log", "--no-access-log",
        "--use-colors", "--no-use-colors", "--server-header", "--no-server-header",
        "--date-header", "--no-date-header", "--factory", "--version", "--help",
    }
)  # fmt: skip
_DAPHNE_SWITCHES = frozenset({"--proxy-headers", "--no-server-name", "--help", "-h"})
_RUNSERVER_SWITCHES = frozenset(
    {"--noreload", "--nothreading", "--insecure", "--nostatic", "--ipv6", "-6", "--skip-checks"}
)
_CELERY_SWITCHES = frozenset(
    {
        "-B", "--beat", "-E", "--task-events", "--events", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--purge", "--discard", "-D", "--detach",
        "--skip-checks", "-q", "--quiet", "-C", "--no-color", "--help", "--version",
    }
)  # fmt: skip


@dataclass(frozen=True)
class WebProcess:
    """The process that serves HTTP.

    ``server``: gunicorn, uvicorn, uwsgi, daphne or runserver. ``app``: the WSGI/ASGI
    target as written (``config.wsgi``, ``service.asgi:application``; uwsgi's
    ``--module``/``--wsgi-file``), None for runserver. ``bind``: gunicorn/daphne ``-b``,
    uwsgi ``--http``/``--http-socket``/``--socket``, runserver's address. ``workers``:
    gunicorn ``-w``, uvicorn ``--workers``, uwsgi ``--processes``. ``config_file``: gunicorn
    ``-c``, uwsgi ``--ini``. ``runs_first``: commands chained before the server.
    """

    source: str
    name: str
    command: str
    server: str
    app: str | None
    asgi: bool
    bind: str | None
    workers: str | None
    worker_class: str | None
    config_file: str | None
    uses_port_variable: bool
    wrappers: tuple[str, ...]
    runs_first: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class CeleryWorker:
    """A ``celery worker``: app (``-A``), queues (``-Q``, [] = Celery's default queue),
    concurrency (``-c``), pool (``-P``), loglevel (``-l``), whether it embeds beat (``-B``)."""

    source: str
    name: str
    command: str
    app: str | None
    queues: tuple[str, ...]
    concurrency: str | None
    pool: str | None
    loglevel: str | None
    embeds_beat: bool
    wrappers: tuple[str, ...]
    runs_first: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class CeleryBeat:
    """A ``celery beat``: app, scheduler (``-S``, e.g. the django_celery_beat one), loglevel."""

    source: str
    name: str
    command: str
    app: str | None
    scheduler: str | None
    loglevel: str | None
    wrappers: tuple[str, ...]
    runs_first: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OtherProcess:
    """A declared process the reader does not recognise (a ``bin/`` script, a cron job,
    a second server): kept with its command so nothing declared is lost."""

    source: str
    name: str
    command: str


Process = WebProcess | CeleryWorker | CeleryBeat | OtherProcess


def _pick(order: list[Option | str], *flags: str) -> tuple[str | None, list[Option | str]]:
    """The last value given for any of ``flags``, and the remaining words without them."""
    value: str | None = None
    rest: list[Option | str] = []
    for item in order:
        if isinstance(item, Option) and item.flag in flags:
            value = item.value if item.value is not None else value
        else:
            rest.append(item)
    return value, rest


def _written(order: list[Option | str]) -> tuple[str, ...]:
    tokens: list[str] = []
    for item in order:
        tokens.extend(item.written if isinstance(item, Option) else (item,))
    return tuple(tokens)


def _web(
    source: str, name: str, command: str, call: Invocation, first: tuple[str, ...]
) -> WebProcess | None:
    program = call.program
    arguments = call.arguments
    if program == "manage.py":
        if not arguments or arguments[0] != "runserver":
            return None
        program, arguments = "runserver", arguments[1:]
    switches = {
        "gunicorn": _GUNICORN_SWITCHES,
        "uvicorn": _UVICORN_SWITCHES,
        "daphne": _DAPHNE_SWITCHES,
        "runserver": _RUNSERVER_SWITCHES,
    }
    if program == "uwsgi":
        # uwsgi has no positional argument: a word after a flag is that flag's value, and
        # a flag followed by another flag is a switch (parse_arguments saw it as a value).
        parsed = _uwsgi_arguments(arguments)
    elif program in switches:
        table = switches[program]
        parsed = parse_arguments(list(arguments), lambda flag: flag not in table)
    else:
        return None
    app: str | None = None
    bind = workers = worker_class = config_file = None
    rest: list[Option | str] = list(parsed.order)
    if program == "gunicorn":
        bind, rest = _pick(rest, "-b", "--bind")
        workers, rest = _pick(rest, "-w", "--workers")
        worker_class, rest = _pick(rest, "-k", "--worker-class")
        config_file, rest = _pick(rest, "-c", "--config")
    elif program == "uvicorn":
        workers, rest = _pick(rest, "--workers")
    elif program == "daphne":
        bind, rest = _pick(rest, "-b", "--bind")
    elif program == "uwsgi":
        app, rest = _pick(rest, "--module", "-w", "--wsgi", "--wsgi-file", "--file", "--mount")
        bind, rest = _pick(rest, "--http", "--http-socket", "--socket", "-s")
        workers, rest = _pick(rest, "--processes", "-p", "--workers")
        config_file, rest = _pick(rest, "--ini")
    positionals = [item for item in rest if isinstance(item, str)]
    if positionals and program != "uwsgi":
        if program == "runserver":
            bind = positionals[0]
        else:
            app = positionals[0]
        rest.remove(positionals[0])
    asgi = program in ("uvicorn", "daphne") or "uvicorn" in (worker_class or "").lower()
    asgi = asgi or (app is not None and "asgi" in app.replace(":", ".").split("."))
    return WebProcess(
        source=source,
        name=name,
        command=command,
        server=program,
        app=app,
        asgi=asgi,
        bind=bind,
        workers=workers,
        worker_class=worker_class,
        config_file=config_file,
        uses_port_variable=uses_port_variable(command),
        wrappers=call.wrappers,
        runs_first=first,
        flags=_written(rest),
    )


def _uwsgi_arguments(arguments: tuple[str, ...]) -> ParsedArguments:
    order: list[Option | str] = []
    index = 0
    while index < len(arguments):
        token = arguments[index]
        index += 1
        if not token.startswith("-"):
            order.append(token)
            continue
        flag, equals, inline = token.partition("=")
        if equals:
            order.append(Option(flag, inline, (token,)))
        elif index < len(arguments) and not arguments[index].startswith("-"):
            order.append(Option(token, arguments[index], (token, arguments[index])))
            index += 1
        else:
            order.append(Option(token, None, (token,)))
    return ParsedArguments(
        tuple(item for item in order if isinstance(item, Option)),
        tuple(item for item in order if isinstance(item, str)),
        tuple(order),
    )


def _celery(
    source: str, name: str, command: str, call: Invocation, first: tuple[str, ...]
) -> CeleryWorker | CeleryBeat | None:
    if call.program != "celery":
        return None
    parsed = parse_arguments(list(call.arguments), lambda flag: flag not in _CELERY_SWITCHES)
    subcommands = [item for item in parsed.order if isinstance(item, str)]
    if not subcommands or subcommands[0] not in ("worker", "beat"):
        return None
    rest = list(parsed.order)
    rest.remove(subcommands[0])
    app, rest = _pick(rest, "-A", "--app")
    loglevel, rest = _pick(rest, "-l", "--loglevel")
    if subcommands[0] == "beat":
        scheduler, rest = _pick(rest, "-S", "--scheduler")
        return CeleryBeat(
            source, name, command, app, scheduler, loglevel, call.wrappers, first, _written(rest)
        )
    queues: list[str] = []
    kept: list[Option | str] = []
    embeds_beat = False
    for item in rest:
        if isinstance(item, Option) and item.flag in ("-Q", "--queues") and item.value:
            queues.extend(queue.strip() for queue in item.value.split(",") if queue.strip())
        elif isinstance(item, Option) and item.flag in ("-B", "--beat"):
            embeds_beat = True
        else:
            kept.append(item)
    concurrency, kept = _pick(kept, "-c", "--concurrency")
    pool, kept = _pick(kept, "-P", "--pool")
    return CeleryWorker(
        source=source,
        name=name,
        command=command,
        app=app,
        queues=tuple(queues),
        concurrency=concurrency,
        pool=pool,
        loglevel=loglevel,
        embeds_beat=embeds_beat,
        wrappers=call.wrappers,
        runs_first=first,
        flags=_written(kept),
    )


def classify(source: str, name: str, command: str) -> Process:
    """What ``command`` (declared as process ``name`` in ``source``) runs.

    A chain (``python manage.py migrate && gunicorn ...``) is the server, worker or beat it
    ends in, with the commands before it in ``runs_first``.
    """
    chain = split_chain(command)
    for position in range(len(chain) - 1, -1, -1):
        call = invocation(chain[position])
        first = tuple(chain[:position])
        found: Process | None = _celery(source, name, command, call, first)
        if found is None:
            found = _web(source, name, command, call, first)
        if found is not None:
            return found
    return OtherProcess(source, name, command)
