"""Celery beat's schedule, exported for EventBridge Scheduler.

The schedule stays where the app keeps it (``CELERY_BEAT_SCHEDULE`` / ``beat_schedule``).
``manage.py export_schedule`` writes it as JSON that Terraform copies into one
``aws_scheduler_schedule`` per entry: the expression (``cron()`` or ``rate()``), the
task, its arguments, its queue, and the SQS message body a broker-less delivery puts on
the queue. Terraform adds no logic of its own: everything is decided here.

What Scheduler cannot express is refused, one line each, never approximated: solar
schedules, custom schedule classes, sub-minute intervals, database schedulers.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# EventBridge Scheduler replaces it with an id of its own for every attempted invocation:
# each delivery is a new Celery task id.
EXECUTION_ID = "<aws.scheduler.execution-id>"
EXPORT_PATH = "infra/terraform/schedules.json"
KEEP_BEAT = "keep the scheduler answer on beat"
# Entry options a scheduled message can carry; any other (expires, priority...) is refused.
ROUTING_OPTIONS = frozenset({"queue", "routing_key"})
_SCHEDULE_NAME = re.compile(r"[^0-9A-Za-z_.-]+")
_DAYS = 7
BEAT_SCHEDULERS = frozenset({"celery.beat.PersistentScheduler", "celery.beat.Scheduler"})


class ScheduleRefused(Exception):
    """An entry or setting EventBridge Scheduler cannot reproduce; the message is one line."""


@dataclass(frozen=True)
class ExportedEntry:
    """One beat entry as Terraform reads it."""

    name: str  # the beat entry's own name (what `manage.py enqueue` takes)
    schedule_name: str  # the Scheduler schedule's name: [0-9A-Za-z_.-], 64 characters
    task: str
    expression: str  # cron(...) or rate(...)
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str
    sqs_message_body: str  # the Celery message kombu's SQS transport reads

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "expression": self.expression,
            "args": self.args,
            "kwargs": self.kwargs,
            "queue": self.queue,
            "sqs_message_body": self.sqs_message_body,
        }


# ---------------------------------------------------------------------- expressions


def rate_expression(seconds: float, entry: str) -> str:
    """``rate(N minutes|hours|days)``; Scheduler's unit is the minute."""
    if seconds <= 0 or seconds % 60:
        raise ScheduleRefused(
            f"beat entry {entry!r}: every {seconds:g} seconds is not a whole number of minutes "
            f"(EventBridge Scheduler's smallest unit); {KEEP_BEAT}"
        )
    minutes = int(seconds // 60)
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise AssertionError("unreachable: a minute divides every whole number of minutes")


def cron_field(values: Iterable[int], low: int, high: int, *, steps: bool = True) -> str:
    """A set of values as the shortest exact cron field: ``*``, ``a/s``, ``a-b/s``, ``a-b,c``
    (EventBridge takes no ``/`` in the day of the week: ``steps=False``)."""
    chosen = sorted(set(values))
    if chosen == list(range(low, high + 1)):
        return "*"
    if steps and len(chosen) >= 3:
        step = chosen[1] - chosen[0]
        if step > 1 and all(b - a == step for a, b in itertools.pairwise(chosen)):
            # a/s runs to the field's end: only exact when no further value would fit.
            if chosen[-1] + step > high:
                return f"{chosen[0]}/{step}"
            return f"{chosen[0]}-{chosen[-1]}/{step}"
    parts: list[str] = []
    start = previous = chosen[0]
    for value in [*chosen[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - start >= 2:
            parts.append(f"{start}-{previous}")
        else:
            parts.extend(str(v) for v in range(start, previous + 1))
        if value is not None:
            start = previous = value
    return ",".join(parts)


def cron_expression(schedule: Any, entry: str) -> str:
    """EventBridge's ``cron(minutes hours day-of-month month day-of-week year)``.

    Celery counts weekdays 0-6 from Sunday; EventBridge 1-7 from Sunday. Celery runs an
    entry when the day of the month AND the weekday match; EventBridge takes one of the
    two ("?" for the other), so restricting both is refused.
    """
    minute = cron_field(schedule.minute, 0, 59)
    hour = cron_field(schedule.hour, 0, 23)
    month = cron_field(schedule.month_of_year, 1, 12)
    days_of_month = cron_field(schedule.day_of_month, 1, 31)
    weekdays = cron_field((day + 1 for day in schedule.day_of_week), 1, _DAYS, steps=False)
    if days_of_month != "*" and weekdays != "*":
        raise ScheduleRefused(
            f"beat entry {entry!r}: EventBridge cron cannot restrict both day_of_month and "
            f"day_of_week (Celery requires both to match); {KEEP_BEAT}"
        )
    if weekdays != "*":
        days_of_month = "?"
    else:
        weekdays = "?"
    return f"cron({minute} {hour} {days_of_month} {month} {weekdays} *)"


def schedule_expression(schedule: Any, entry: str) -> str:
    """The Scheduler expression for a beat entry's ``schedule`` value."""
    from celery import schedules

    if isinstance(schedule, schedules.crontab):
        return cron_expression(schedule, entry)
    if isinstance(schedule, bool):
        raise ScheduleRefused(f"beat entry {entry!r}: schedule {schedule!r} is not a schedule")
    if isinstance(schedule, int | float):
        return rate_expression(float(schedule), entry)
    if isinstance(schedule, timedelta):
        return rate_expression(schedule.total_seconds(), entry)
    # Exactly celery.schedules.schedule: its subclasses (solar, custom ones) decide
    # their own times.
    if type(schedule) is schedules.schedule:
        return rate_expression(schedule.run_every.total_seconds(), entry)
    kind = type(schedule).__name__
    raise ScheduleRefused(
        f"beat entry {entry!r}: a {kind} schedule has no EventBridge equivalent; {KEEP_BEAT}"
    )


def schedule_name(entry: str) -> str:
    """The entry's name within Scheduler's limits (letters, digits, ``-_.``, 64)."""
    name = _SCHEDULE_NAME.sub("-", entry).strip("-")
    if not name or len(name) > 64:
        raise ScheduleRefused(
            f"beat entry {entry!r}: name it with 1-64 letters, digits, '-', '_' or '.' "
            "(it names the EventBridge schedule)"
        )
    return name


# ------------------------------------------------------------------------ the message


def sqs_message_body(
    app: Any, task: str, args: list[Any], kwargs: dict[str, Any], queue: str
) -> str:
    """The Celery message (protocol 2) exactly as kombu's SQS transport puts it on a queue.

    Built by Celery's own ``as_task_v2`` and kombu's own serializer, with the task id left
    as Scheduler's per-invocation execution id. The SQS body is the JSON envelope itself,
    not base64 (kombu's ``sqs_base64_encoding``): Scheduler substitutes the id in plain text,
    and kombu reads both forms.
    """
    from kombu.serialization import dumps

    message = app.amqp.as_task_v2(
        EXECUTION_ID,
        task,
        args=args,
        kwargs=kwargs,
        origin="eventbridge-scheduler",  # not the exporting machine: the export is stable
    )
    content_type, content_encoding, body = dumps(message.body, serializer="json")  # type: ignore[no-untyped-call]
    envelope = {
        "body": base64.b64encode(body.encode() if isinstance(body, str) else body).decode(),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": message.headers,
        "properties": {
            **message.properties,
            "body_encoding": "base64",
            "delivery_info": {"exchange": "", "routing_key": queue},
            "delivery_mode": 2,
            "priority": 0,
            # kombu's SQS transport replaces it with the message's receipt handle.
            "delivery_tag": EXECUTION_ID,
        },
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"))


# ----------------------------------------------------------------------------- export


def entry_queue(app: Any, name: str, entry: Mapping[str, Any]) -> str:
    """Where beat would send the entry: its ``options`` queue, else ``task_routes``, else
    the default queue."""
    options = dict(entry.get("options") or {})
    unsupported = sorted(set(options) - ROUTING_OPTIONS)
    if unsupported:
        raise ScheduleRefused(
            f"beat entry {name!r}: option(s) {', '.join(unsupported)} cannot travel in a "
            f"scheduled message (only queue); {KEEP_BEAT}"
        )
    if options:
        return str(options.get("queue") or options["routing_key"])
    route = app.amqp.router.route(
        {}, entry["task"], entry.get("args") or (), entry.get("kwargs") or {}
    )
    queue = route.get("queue")
    return str(getattr(queue, "name", queue) or app.conf.task_default_queue)


def exported_entry(app: Any, name: str, entry: Mapping[str, Any]) -> ExportedEntry:
    if not isinstance(entry, Mapping) or "task" not in entry or "schedule" not in entry:
        raise ScheduleRefused(f"beat entry {name!r}: expected a dict with 'task' and 'schedule'")
    task = str(entry["task"])
    args = list(entry.get("args") or ())
    kwargs = dict(entry.get("kwargs") or {})
    try:
        json.dumps([args, kwargs])
    except TypeError:
        raise ScheduleRefused(
            f"beat entry {name!r}: args and kwargs must be JSON values to be exported"
        ) from None
    queue = entry_queue(app, name, entry)
    return ExportedEntry(
        name=name,
        schedule_name=schedule_name(name),
        task=task,
        expression=schedule_expression(entry["schedule"], name),
        args=args,
        kwargs=kwargs,
        queue=queue,
        sqs_message_body=sqs_message_body(app, task, args, kwargs, queue),
    )


def schedule_timezone(app: Any) -> str:
    """The zone beat reads crontab entries in: ``CELERY_TIMEZONE``, else UTC."""
    zone = app.conf.timezone
    if zone:
        return str(zone)
    if not app.conf.enable_utc:
        raise ScheduleRefused(
            "CELERY_ENABLE_UTC is False without CELERY_TIMEZONE: beat uses the machine's "
            "local time, which Scheduler cannot know; set CELERY_TIMEZONE"
        )
    return "UTC"


def refuse_custom_scheduler(scheduler: str) -> None:
    """Beat's own schedulers read the settings; any other (django-celery-beat's
    DatabaseScheduler...) keeps its schedule where Terraform cannot read it."""
    if scheduler and scheduler.replace(":", ".") not in BEAT_SCHEDULERS:
        raise ScheduleRefused(
            f"the beat scheduler {scheduler} keeps its own schedule (a database, a "
            f"service), which cannot be exported; {KEEP_BEAT}"
        )


def exported_schedule(app: Any, scheduler: str = "") -> dict[str, Any]:
    """The app's beat schedule as the JSON document Terraform reads (sorted, stable)."""
    refuse_custom_scheduler(scheduler or str(app.conf.beat_scheduler or ""))
    entries: dict[str, ExportedEntry] = {}
    for name in sorted(app.conf.beat_schedule or {}):
        exported = exported_entry(app, name, app.conf.beat_schedule[name])
        clash = next(
            (e.name for e in entries.values() if e.schedule_name == exported.schedule_name), None
        )
        if clash is not None:
            raise ScheduleRefused(
                f"beat entries {clash!r} and {name!r} both become the schedule name "
                f"{exported.schedule_name!r}; rename one"
            )
        entries[exported.schedule_name] = exported
    return {
        "generated_by": "python manage.py export_schedule",
        "timezone": schedule_timezone(app),
        "schedules": {key: entries[key].as_json() for key in sorted(entries)},
    }


def export_text(app: Any, scheduler: str = "") -> str:
    return json.dumps(exported_schedule(app, scheduler), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------- enqueue


def enqueue(app: Any, name: str) -> str:
    """Send one beat entry's task now, as beat would; return the task id."""
    schedule = app.conf.beat_schedule or {}
    if name not in schedule:
        known = ", ".join(sorted(schedule)) or "none"
        raise ScheduleRefused(f"no beat entry named {name!r} (entries: {known})")
    entry = schedule[name]
    result = app.send_task(
        entry["task"],
        args=list(entry.get("args") or ()),
        kwargs=dict(entry.get("kwargs") or {}),
        **dict(entry.get("options") or {}),
    )
    return str(result.id)


def celery_app(path: str | None) -> Any:
    """The app ``celery --app PATH`` would find; without a path, the current one (a
    Django project's package imports its app while settings load)."""
    if path:
        from celery.app.utils import find_app

        try:
            return find_app(path)
        except (ImportError, AttributeError) as error:
            raise ScheduleRefused(f"--app {path}: no Celery app there ({error})") from None
    from celery import _state

    app = _state.get_current_app()
    # Celery's fallback app reads no settings: exporting it would write an empty schedule.
    if app is _state.default_app:
        raise ScheduleRefused(
            "no Celery app is loaded with these settings; pass --app (the module "
            "`celery --app` takes)"
        )
    return app
