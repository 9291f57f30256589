"""Shell command lines as a PaaS runs them: chains, wrappers, the program and its options.

Nothing is executed. A command line is split on ``&&`` and ``;`` outside quotes into the
commands it runs in order; each command is split into words the way a POSIX shell would
(quotes removed, ``$PORT`` and ``${WEB_CONCURRENCY:-2}`` left as written). Leading
environment assignments and launchers that run another command (``exec``, ``env``,
``newrelic-admin run-program``, ``ddtrace-run``, ``opentelemetry-instrument``, ``uv run``,
``poetry run``, ``pipenv run``, ``pdm run``) are peeled off and kept; ``sh -c '...'`` and
``bash -c '...'`` run the commands of their argument.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"python(?:\d+(?:\.\d+)?)?")
# Launchers followed directly by the command they run, by how many words they take.
_LAUNCHERS: dict[tuple[str, ...], int] = {
    ("exec",): 1,
    ("env",): 1,
    ("ddtrace-run",): 1,
    ("opentelemetry-instrument",): 1,
    ("newrelic-admin", "run-program"): 2,
    ("newrelic-admin", "run-python"): 2,
    ("uv", "run"): 2,
    ("poetry", "run"): 2,
    ("pipenv", "run"): 2,
    ("pdm", "run"): 2,
}


def split_chain(line: str) -> list[str]:
    """The commands of ``line`` in the order they run (split on ``&&`` and ``;``; the
    argument of ``sh -c`` / ``bash -c`` is split in its place)."""
    commands: list[str] = []
    for command in _split_once(line):
        tokens = words(command)
        if len(tokens) == 3 and tokens[0] in ("sh", "bash") and tokens[1] == "-c":
            commands.extend(split_chain(tokens[2]))
        else:
            commands.append(command)
    return commands


def _split_once(line: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                current.append(line[index : index + 2])
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char == "\\":
            current.append(line[index : index + 2])
            index += 2
            continue
        elif char in "\"'":
            quote = char
        elif line.startswith("&&", index) or char == ";":
            parts.append("".join(current).strip())
            current = []
            index += 2 if char == "&" else 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def words(command: str) -> list[str]:
    """``command`` split as a POSIX shell splits it (quotes removed); unbalanced quotes
    fall back to splitting on whitespace."""
    try:
        return shlex.split(command, comments=False, posix=True)
    except ValueError:
        return command.split()


@dataclass(frozen=True)
class Invocation:
    """One command: what wraps it, the program it runs and that program's arguments.

    ``program`` is the name that decides what the command is: ``gunicorn``, ``celery``,
    ``manage.py`` (``arguments`` then start with its subcommand), a script path as written
    (``bin/start-web``) or ``python`` for any other Python invocation.
    """

    wrappers: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    program: str
    arguments: tuple[str, ...]


def invocation(command: str) -> Invocation:
    """The wrappers, program and arguments of one command (no ``&&`` or ``;`` in it)."""
    tokens = words(command)
    wrappers: list[str] = []
    environment: list[tuple[str, str]] = []
    while tokens:
        if _ASSIGNMENT.match(tokens[0]):
            name, _, value = tokens[0].partition("=")
            environment.append((name, value))
            wrappers.append(tokens.pop(0))
            continue
        for launcher, size in _LAUNCHERS.items():
            if tuple(tokens[: len(launcher)]) == launcher and len(tokens) > size:
                wrappers.append(" ".join(tokens[:size]))
                del tokens[:size]
                break
        else:
            break
    if not tokens:
        return Invocation(tuple(wrappers), tuple(environment), "", ())
    program, arguments = tokens[0], tokens[1:]
    name = program.rsplit("/", 1)[-1]
    if _PYTHON.fullmatch(name):
        while arguments and arguments[0].startswith("-") and arguments[0] != "-m":
            arguments = arguments[1:]  # interpreter options such as -u, -X dev
        if len(arguments) >= 2 and arguments[0] == "-m":
            return Invocation(
                tuple(wrappers), tuple(environment), arguments[1], tuple(arguments[2:])
            )
        if arguments and arguments[0].rsplit("/", 1)[-1] == "manage.py":
            return Invocation(
                tuple(wrappers), tuple(environment), "manage.py", tuple(arguments[1:])
            )
        return Invocation(tuple(wrappers), tuple(environment), "python", tuple(arguments))
    if name == "manage.py" or (
        "/" in program and not program.startswith(("bin/", "./bin/")) and name != program
    ):
        return Invocation(tuple(wrappers), tuple(environment), name, tuple(arguments))
    return Invocation(tuple(wrappers), tuple(environment), program, tuple(arguments))


@dataclass(frozen=True)
class Option:
    """One option as written: its flag, its value (None for a switch), and its words."""

    flag: str
    value: str | None
    written: tuple[str, ...]


@dataclass(frozen=True)
class ParsedArguments:
    options: tuple[Option, ...] = ()
    positionals: tuple[str, ...] = ()
    # Every option and positional in order, so the rest can be kept verbatim.
    order: tuple[Option | str, ...] = field(default=())


def parse_arguments(
    arguments: Sequence[str], takes_value: Callable[[str], bool]
) -> ParsedArguments:
    """Options and positionals of a command line, given which flags take a value.

    ``--flag=value`` and short flags with an attached value (``-c4``) are understood;
    ``--`` ends the options.
    """
    options: list[Option] = []
    positionals: list[str] = []
    order: list[Option | str] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        index += 1
        if word == "--":
            rest = list(arguments[index:])
            positionals.extend(rest)
            order.extend(rest)
            break
        if word.startswith("--") and "=" in word:
            flag, _, value = word.partition("=")
            option = Option(flag, value, (word,))
        elif word.startswith("--"):
            if takes_value(word) and index < len(arguments):
                option = Option(word, arguments[index], (word, arguments[index]))
                index += 1
            else:
                option = Option(word, None, (word,))
        elif word.startswith("-") and len(word) > 1:
            flag = word[:2]
            if takes_value(flag) and len(word) > 2:
                option = Option(flag, word[2:].removeprefix("="), (word,))
            elif takes_value(flag) and index < len(arguments):
                option = Option(flag, arguments[index], (word, arguments[index]))
                index += 1
            else:
                option = Option(word, None, (word,))
        else:
            positionals.append(word)
            order.append(word)
            continue
        options.append(option)
        order.append(option)
    return ParsedArguments(tuple(options), tuple(positionals), tuple(order))


def uses_port_variable(command: str) -> bool:
    """Whether ``command`` reads the platform's port: ``$PORT``, ``${PORT}``, ``${PORT:-8000}``."""
    return re.search(r"\$(?:PORT\b|\{PORT[}:\-])", command) is not None
