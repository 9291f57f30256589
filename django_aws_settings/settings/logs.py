"""LOGGING: one JSON object per line on stdout in production, readable text in development."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .env import reader

SOURCE_VARIABLES = ("LOG_LEVEL", "LOG_FORMAT")
LEVELS = ("debug", "info", "warning", "error", "critical")

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line that CloudWatch Logs Insights can query by field."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def logging_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """LOGGING: JSON lines in production, text in development (LOG_FORMAT overrides)."""
    r = reader(environ)
    level = r.choice("LOG_LEVEL", LEVELS, "info").upper()
    style = r.choice("LOG_FORMAT", ("json", "text"), "json" if r.production else "text")
    r.raise_if_any()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonFormatter"},
            "text": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": style,
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Django's own handlers would print a second, unformatted copy of each error.
            "django": {"handlers": ["stdout"], "level": level, "propagate": False},
        },
    }
