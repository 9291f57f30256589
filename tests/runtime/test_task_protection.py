"""ECS task scale-in protection for Celery workers, against a fake ECS agent.

`ecs_metadata` (services.EcsMetadataEndpoint) is also the agent's task protection endpoint
and records every PUT. The decisions are checked step by step on a fake clock; real
workers (`celery worker`, prefork and solo pools, on the real Redis) show that the main
process sees its children's tasks and that nothing reaches a task when the agent fails.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery
from support.ecs_agent import EcsMetadataEndpoint
from support.fake_time import FakeTime
from support.processes import running

from django_aws_settings.runtime.task_protection import (
    Agent,
    TaskProtection,
    Watcher,
    durations,
    start,
)
from django_aws_settings.settings.celery import ProtectionOptions, celery_settings
from django_aws_settings.settings.errors import ConfigError

TESTS_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = TESTS_DIR.parent
PRODUCTION = {"DJANGO_ENV": "production"}
MODULE = "django_aws_settings.runtime.task_protection"
LOGGER = MODULE
# The worker's Celery app: tests/celery_app's settings (celery_settings() on the worker's
# environment, so CELERY_IMPORTS is what wires the module in) and a task that takes time.
APP_SOURCE = """\
import os
import time

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celery_app.settings")
app = Celery("protection_app")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="protection_app.nap")
def nap(seconds):
    time.sleep(seconds)
    return seconds


@app.task(name="protection_app.stubborn")
def stubborn(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(deadline - time.monotonic())
        except Exception:  # SoftTimeLimitExceeded: carry on until the hard limit kills us
            pass
"""


@pytest.fixture(autouse=True)
def _no_celery_variables_in_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery prefers these two os.environ variables to any setting given to a sender."""
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)


def calls(agent: EcsMetadataEndpoint) -> list[tuple[bool, int | None]]:
    return [(call.enabled, call.minutes) for call in agent.protection_calls]


def protection(
    agent: EcsMetadataEndpoint, clock: FakeTime, *, minutes: int = 6, max_minutes: int = 12
) -> TaskProtection:
    return TaskProtection(
        Agent(agent.agent_uri, timeout=2.0),
        minutes=minutes,
        max_minutes=max_minutes,
        clock=clock.clock,
    )


def run(state: TaskProtection, clock: FakeTime, busy: bool, seconds: float) -> None:
    """What the watcher does: one update per second for `seconds`."""
    for _ in range(round(seconds)):
        state.update(busy)
        clock.sleep(1)


# ------------------------------------------------------------------------- the agent


def test_agent_sends_the_documented_request(ecs_metadata: EcsMetadataEndpoint) -> None:
    agent = Agent(ecs_metadata.agent_uri)
    agent.update(True, 6)
    assert ecs_metadata.protected
    agent.update(False)
    assert not ecs_metadata.protected
    assert calls(ecs_metadata) == [(True, 6), (False, None)]


def test_agent_ignores_the_proxy_variables(
    ecs_metadata: EcsMetadataEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy for the internet must not catch the link-local agent (169.254.170.2)."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    Agent(ecs_metadata.agent_uri).update(True, 1)
    assert ecs_metadata.protected


# ------------------------------------------------------------------ decisions, in time


def test_protected_while_busy_and_released_after_the_delay(
    ecs_metadata: EcsMetadataEndpoint,
) -> None:
    clock = FakeTime()
    state = protection(ecs_metadata, clock)
    run(state, clock, busy=True, seconds=60)
    assert calls(ecs_metadata) == [(True, 6)]  # once, not once per second
    assert ecs_metadata.protected
    run(state, clock, busy=False, seconds=5)
    assert calls(ecs_metadata) == [(True, 6)]
    state.update(False)  # idle for 5 s now
    assert calls(ecs_metadata) == [(True, 6), (False, None)]
    assert not ecs_metadata.protected
    run(state, clock, busy=False, seconds=600)
    assert len(ecs_metadata.protection_calls) == 2


def test_back_to_back_tasks_keep_one_protection(ecs_metadata: EcsMetadataEndpoint) -> None:
    clock = FakeTime()
    state = protection(ecs_metadata, clock)
    for _ in range(20):  # 20 tasks of 7 s, each 2 s after the last (the worker is never idle 5 s)
        run(state, clock, busy=True, seconds=7)
        run(state, clock, busy=False, seconds=2)
    run(state, clock, busy=False, seconds=6)
    assert calls(ecs_metadata) == [(True, 6), (False, None)]


def test_a_long_busy_stretch_is_renewed_at_half_life(ecs_metadata: EcsMetadataEndpoint) -> None:
    clock = FakeTime()
    state = protection(ecs_metadata, clock, minutes=6, max_minutes=60)
    run(state, clock, busy=True, seconds=600)
    assert calls(ecs_metadata) == [(True, 6)] * 4  # at 0, 3, 6 and 9 minutes
    assert ecs_metadata.protected


def test_a_busy_stretch_is_protected_at_most_max_minutes(
    ecs_metadata: EcsMetadataEndpoint,
) -> None:
    """A worker that is never idle must not hold up deploys for ever."""
    clock = FakeTime()
    state = protection(ecs_metadata, clock, minutes=6, max_minutes=12)
    started = clock.now
    expiries: list[float] = []
    for _ in range(30 * 60):
        before = len(ecs_metadata.protection_calls)
        state.update(True)
        if len(ecs_metadata.protection_calls) > before:
            minutes = ecs_metadata.protection_calls[-1].minutes
            assert minutes is not None
            expiries.append(clock.now + 60 * minutes)
        clock.sleep(1)
    # Until 6, 9, then 12 minutes; at 9 minutes one more would pass the 12: it runs out.
    assert calls(ecs_metadata) == [(True, 6), (True, 6), (True, 6)]
    assert max(expiries) == started + 12 * 60
    run(state, clock, busy=False, seconds=6)
    # Idle at last: the next task starts a new stretch, protected again.
    run(state, clock, busy=True, seconds=1)
    assert calls(ecs_metadata)[-2:] == [(False, None), (True, 6)]


def test_agent_errors_are_logged_once_and_retried(
    ecs_metadata: EcsMetadataEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    ecs_metadata.protection_mode = "denied"
    clock = FakeTime()
    state = protection(ecs_metadata, clock)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        run(state, clock, busy=True, seconds=61)  # tries at 0, 30 and 60 s
        ecs_metadata.protection_mode = "ok"  # the task role got its permission
        run(state, clock, busy=True, seconds=30)
    assert calls(ecs_metadata) == [(True, 6)] * 4
    assert ecs_metadata.protected
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "ECS task scale-in protection: could not protect the task (AccessDeniedException: "
        f"User: arn:aws:sts::123456789012:assumed-role/app-task/{ecs_metadata.task_id} is not "
        "authorized to perform: ecs:UpdateTaskProtection on resource: "
        f"{ecs_metadata.task_arn} because no identity-based policy allows the "
        "ecs:UpdateTaskProtection action); tasks run on; later failures are logged at debug "
        "level"
    ]
    assert vars(warnings[0])["agent_error"].startswith("AccessDeniedException: ")  # JSON field


def test_a_task_outside_a_service_stops_asking(
    ecs_metadata: EcsMetadataEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    """RunTask tasks cannot be protected (TASK_NOT_VALID): ask once, then never again."""
    ecs_metadata.protection_mode = "not-in-service"
    clock = FakeTime()
    state = protection(ecs_metadata, clock)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(3):
            run(state, clock, busy=True, seconds=120)
            run(state, clock, busy=False, seconds=10)
    assert calls(ecs_metadata) == [(True, 6)]
    assert [r.getMessage() for r in caplog.records] == [
        "ECS task scale-in protection: could not protect the task (TASK_NOT_VALID); "
        "giving up in this worker"
    ]


@pytest.mark.parametrize("where", ["closed-port", "hanging"])
def test_an_unreachable_agent_costs_a_bounded_wait_and_no_exception(
    ecs_metadata: EcsMetadataEndpoint, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    if where == "hanging":
        ecs_metadata.protection_mode = "hang"
        uri = ecs_metadata.agent_uri
    else:
        uri = "http://127.0.0.1:9/api/abc"
    clock = FakeTime()
    state = TaskProtection(Agent(uri, timeout=0.3), minutes=6, max_minutes=12, clock=clock.clock)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        state.update(True)
    assert time.monotonic() - began < 2
    expected = "TimeoutError" if where == "hanging" else "URLError"
    assert [r.getMessage() for r in caplog.records] == [
        f"ECS task scale-in protection: could not protect the task (agent unreachable "
        f"({expected})); tasks run on; later failures are logged at debug level"
    ]


# -------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("options", "time_limit", "expected"),
    [
        pytest.param(ProtectionOptions(True), 300, (6, 12), id="time-limit-plus-a-minute"),
        pytest.param(ProtectionOptions(True), 301, (7, 14), id="rounded-up"),
        pytest.param(ProtectionOptions(True), None, (120, 240), id="no-time-limit"),
        pytest.param(ProtectionOptions(True), 200_000, (2880, 2880), id="api-maximum"),
        pytest.param(ProtectionOptions(True, minutes=10), 300, (10, 20), id="minutes-set"),
        pytest.param(ProtectionOptions(True, max_minutes=4), 300, (4, 4), id="max-below-derived"),
        pytest.param(ProtectionOptions(True, 3, 30), 300, (3, 30), id="both-set"),
    ],
)
def test_durations(
    options: ProtectionOptions, time_limit: float | None, expected: tuple[int, int]
) -> None:
    assert durations(options, time_limit) == expected


def test_settings_import_the_module_on_ecs_only(ecs_metadata: EcsMetadataEndpoint) -> None:
    broker = {**PRODUCTION, "CELERY_BROKER_URL": "redis://broker:6379/0"}
    on_ecs = {**broker, **ecs_metadata.agent_environ()}
    assert celery_settings(on_ecs)["CELERY_IMPORTS"] == (MODULE,)
    assert "CELERY_IMPORTS" not in celery_settings(broker)
    assert "CELERY_IMPORTS" not in celery_settings({**on_ecs, "CELERY_TASK_PROTECTION": "false"})
    # No broker, no worker: development runs tasks eagerly.
    assert "CELERY_IMPORTS" not in celery_settings(ecs_metadata.agent_environ())


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"CELERY_TASK_PROTECTION": "sometimes"},
            "CELERY_TASK_PROTECTION: expected a boolean (true/false, 1/0, yes/no, on/off)",
        ),
        (
            {"CELERY_TASK_PROTECTION_MINUTES": "0"},
            "CELERY_TASK_PROTECTION_MINUTES: expected an integer between 1 and 2880, got 0",
        ),
        (
            {"CELERY_TASK_PROTECTION_MAX_MINUTES": "2881"},
            "CELERY_TASK_PROTECTION_MAX_MINUTES: expected an integer between 1 and 2880, got 2881",
        ),
        (
            {"CELERY_TASK_PROTECTION_MINUTES": "10", "CELERY_TASK_PROTECTION_MAX_MINUTES": "5"},
            "CELERY_TASK_PROTECTION_MAX_MINUTES: expected at least "
            "CELERY_TASK_PROTECTION_MINUTES (10), got 5",
        ),
    ],
)
def test_bad_settings_are_one_problem_each(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        celery_settings(environ)
    assert [str(problem) for problem in error.value.problems] == [expected]


def test_nothing_starts_without_ecs_agent_uri(ecs_metadata: EcsMetadataEndpoint) -> None:
    assert start({}, time_limit=300) is None
    assert start({"ECS_AGENT_URI": " "}, time_limit=300) is None
    disabled = {**ecs_metadata.agent_environ(), "CELERY_TASK_PROTECTION": "off"}
    assert start(disabled, time_limit=300) is None
    assert ecs_metadata.protection_calls == []


# ---------------------------------------------------------------------- the watcher


def test_watcher_protects_at_once_when_a_task_is_received(
    ecs_metadata: EcsMetadataEndpoint,
) -> None:
    """Celery records a task just after task_received: the flag bridges the gap."""
    busy = False
    state = TaskProtection(
        Agent(ecs_metadata.agent_uri), minutes=6, max_minutes=12, release_delay=0.3
    )
    watcher = Watcher(state, lambda: busy, interval=30)  # polls would come far too late
    watcher.start()
    try:
        watcher.received()
        _wait_for(lambda: ecs_metadata.protected, 2)
        assert calls(ecs_metadata) == [(True, 6)]
    finally:
        watcher.stop()
        watcher.received()  # wake it to see the stop
        watcher.join(5)
    assert calls(ecs_metadata) == [(True, 6), (False, None)]  # released on the way out


# ------------------------------------------------------------------- real workers


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextmanager
def celery_process(
    environ: dict[str, str], tmp_path: Path, *argv: str, command: str = "worker"
) -> Iterator[Path]:
    """`celery -A protection_app <command> ...` with only our variables; yields its log."""
    (tmp_path / "protection_app.py").write_text(APP_SOURCE)
    ours = ("CELERY_", "REDIS_", "CACHE_", "DJANGO_", "AWS_", "ECS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(TESTS_DIR), str(PROJECT_DIR)])
    log = tmp_path / f"{command}.log"
    base = [sys.executable, "-m", "celery", "-A", "protection_app", command]
    with running([*base, *argv], cwd=tmp_path, env=env, log=log, grace=20):  # warm shutdown
        yield log


def _queue_environ(redis_url: str, agent: EcsMetadataEndpoint | None) -> dict[str, str]:
    environ = {
        **PRODUCTION,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_DEFAULT_QUEUE": f"protection-{secrets.token_hex(4)}",
    }
    return {**environ, **(agent.agent_environ() if agent else {})}


def sender(environ: dict[str, str]) -> Celery:
    app = Celery("sender", set_as_current=False)
    app.config_from_object(SimpleNamespace(**celery_settings(environ)), namespace="CELERY")
    return app


def _worker_argv(environ: dict[str, str], pool: str, concurrency: int = 2) -> list[str]:
    return [
        f"--pool={pool}", f"--concurrency={concurrency}", "-Q", environ["CELERY_DEFAULT_QUEUE"],
        f"--hostname=protection-{secrets.token_hex(4)}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_worker_is_protected_while_its_task_runs(
    ecs_metadata: EcsMetadataEndpoint,
    redis_url: str,
    tmp_path: Path,
    pool: str,
) -> None:
    """Prefork runs the task in a child; the main process still sees it and protects."""
    environ = _queue_environ(redis_url, ecs_metadata)
    app = sender(environ)
    with celery_process(environ, tmp_path, *_worker_argv(environ, pool)) as log:
        try:
            result = app.send_task("protection_app.nap", args=(8,))
            assert _wait_for(lambda: ecs_metadata.protected, 20), log.read_text()
            # Longer than the release delay and a poll: held for as long as the task runs.
            assert not _wait_for(lambda: len(ecs_metadata.protection_calls) > 1, 6.5)
            assert not result.ready()
            assert result.get(timeout=20) == 8
            assert calls(ecs_metadata) == [(True, 6)]
            # Removed once idle for 5 s (plus up to a 1 s poll).
            assert _wait_for(lambda: len(ecs_metadata.protection_calls) == 2, 10), log.read_text()
            protected, released = (call.at for call in ecs_metadata.protection_calls)
            assert released - protected > 8 + 5 - 0.5  # the task, then 5 s idle
        finally:
            app.close()
        assert not ecs_metadata.protected
        text = log.read_text()
    assert "ECS task scale-in protection on: 6 minutes at a time" in text
    assert calls(ecs_metadata) == [(True, 6), (False, None)]  # shutdown had nothing to release


@pytest.mark.slow
def test_a_task_killed_at_its_hard_time_limit_ends_the_protection(
    ecs_metadata: EcsMetadataEndpoint, redis_url: str, tmp_path: Path
) -> None:
    """The pool kills the child process: no task_postrun runs there, the main process knows."""
    environ = {
        **_queue_environ(redis_url, ecs_metadata),
        "CELERY_TASK_TIME_LIMIT": "2",
        "CELERY_TASK_SOFT_TIME_LIMIT": "1",
    }
    app = sender(environ)
    with celery_process(environ, tmp_path, *_worker_argv(environ, "prefork")) as log:
        try:
            result = app.send_task("protection_app.stubborn", args=(30,))
            assert _wait_for(lambda: ecs_metadata.protected, 20), log.read_text()
            result.get(timeout=20, propagate=False)
            assert result.state == "FAILURE"
            assert type(result.result).__name__ == "TimeLimitExceeded"
            assert _wait_for(lambda: len(ecs_metadata.protection_calls) == 2, 10), log.read_text()
        finally:
            app.close()
    # Two minutes at a time: the 2 s limit rounded up, plus one.
    assert calls(ecs_metadata) == [(True, 2), (False, None)]


@pytest.mark.slow
def test_a_worker_running_tasks_back_to_back_asks_once(
    ecs_metadata: EcsMetadataEndpoint,
    redis_url: str,
    tmp_path: Path,
) -> None:
    environ = _queue_environ(redis_url, ecs_metadata)
    app = sender(environ)
    with celery_process(environ, tmp_path, *_worker_argv(environ, "prefork", concurrency=1)):
        try:
            results = [app.send_task("protection_app.nap", args=(1,)) for _ in range(5)]
            assert [r.get(timeout=30) for r in results] == [1] * 5
            assert calls(ecs_metadata) == [(True, 6)]
            assert _wait_for(lambda: len(ecs_metadata.protection_calls) == 2, 10)
        finally:
            app.close()
    assert calls(ecs_metadata) == [(True, 6), (False, None)]


@pytest.mark.slow
def test_agent_errors_never_fail_a_task(
    ecs_metadata: EcsMetadataEndpoint,
    redis_url: str,
    tmp_path: Path,
) -> None:
    ecs_metadata.protection_mode = "denied"
    environ = _queue_environ(redis_url, ecs_metadata)
    app = sender(environ)
    with celery_process(environ, tmp_path, *_worker_argv(environ, "prefork")) as log:
        try:
            for _ in range(2):
                assert app.send_task("protection_app.nap", args=(0.5,)).get(timeout=20) == 0.5
        finally:
            app.close()
    text = log.read_text()
    assert text.count("could not protect the task (AccessDeniedException: ") == 1
    assert calls(ecs_metadata)[0] == (True, 6)


@pytest.mark.slow
def test_turned_off_a_worker_on_ecs_never_calls_the_agent(
    ecs_metadata: EcsMetadataEndpoint,
    redis_url: str,
    tmp_path: Path,
) -> None:
    environ = {**_queue_environ(redis_url, ecs_metadata), "CELERY_TASK_PROTECTION": "false"}
    app = sender(environ)
    with celery_process(environ, tmp_path, *_worker_argv(environ, "prefork")) as log:
        try:
            assert app.send_task("protection_app.nap", args=(1.5,)).get(timeout=20) == 1.5
        finally:
            app.close()
    assert ecs_metadata.protection_calls == []
    assert "scale-in protection" not in log.read_text()


@pytest.mark.slow
def test_beat_imports_the_module_and_never_calls_the_agent(
    ecs_metadata: EcsMetadataEndpoint,
    redis_url: str,
    tmp_path: Path,
) -> None:
    environ = _queue_environ(redis_url, ecs_metadata)
    schedule = str(tmp_path / "beat-schedule")
    with celery_process(
        environ, tmp_path, "--schedule", schedule, "--loglevel=DEBUG", command="beat"
    ) as log:
        assert _wait_for(lambda: "beat: Starting..." in log.read_text(), 20), log.read_text()
        time.sleep(2)
    assert ecs_metadata.protection_calls == []
    assert "Traceback" not in log.read_text()
