"""What configure() wrote: for each setting, the module's value, the result and its source.

``manage.py configured_settings`` prints it (secrets masked); in production configure()
logs one line naming the settings it replaced. Values are kept only in this process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MASK = "********"


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


MISSING: Any = _Missing()
# Keys whose value is a credential wherever they appear (settings and nested OPTIONS).
_SECRET_KEY = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|(^|_)KEY$|^cloudfront_key$", re.IGNORECASE
)
_URL_WITH_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://)([^:/@]*):([^@]*)@", re.IGNORECASE)


@dataclass(frozen=True)
class SettingChange:
    """One setting configure() wrote."""

    name: str
    before: Any  # MISSING when the module did not define it
    after: Any
    source: str  # "environment: A, B", "reference: ssm:/x", "default", or a rule's name

    @property
    def replaced(self) -> bool:
        """The module had its own value and the result differs from it; a list that only
        gained entries (INSTALLED_APPS, MIDDLEWARE) was extended, not replaced."""
        if self.before is MISSING or self.before == self.after:
            return False
        if isinstance(self.before, list | tuple) and isinstance(self.after, list | tuple):
            return not {repr(item) for item in self.before} <= {repr(i) for i in self.after}
        return True


_last: list[SettingChange] = []


def record(changes: Iterable[SettingChange]) -> None:
    _last[:] = list(changes)


def last_changes() -> list[SettingChange]:
    """What the latest configure() call in this process wrote."""
    return list(_last)


def log_replaced(logger: logging.Logger) -> None:
    """One line naming the settings module's values that configure() replaced (names only).

    Logged from AppConfig.ready(), once Django has configured LOGGING (JSON in production);
    configure() itself runs before that.
    """
    replaced = [change.name for change in _last if change.replaced]
    if replaced:
        logger.warning(
            "django-aws-settings replaced %s from the settings module"
            " (manage.py configured_settings --changed shows how)",
            ", ".join(replaced),
        )


def masked(value: Any, key: str = "") -> Any:
    """``value`` with every credential replaced by a mask, however deep it sits."""
    if isinstance(value, Mapping):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(item, key) for item in value)
    if key and _SECRET_KEY.search(key) and value not in (None, "", MISSING):
        return MASK
    if isinstance(value, str):
        return _URL_WITH_PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", value)
    return value


def source_of(
    names: Iterable[str], environ: Mapping[str, str], references: Mapping[str, object]
) -> str:
    """Where a builder's values came from: the variables (and references) that were set."""
    given = [name for name in names if environ.get(name, "").strip()]
    if not given:
        return "default"
    refs = [f"{name}={references[name]}" for name in given if name in references]
    plain = [name for name in given if name not in references]
    parts = []
    if plain:
        parts.append("environment: " + ", ".join(plain))
    if refs:
        parts.append("reference: " + ", ".join(refs))
    return "; ".join(parts)


def described(changes: Iterable[SettingChange], *, only_replaced: bool = False) -> list[str]:
    """Lines for people: per setting its source, then each leaf that differs, masked.

    Nested settings (DATABASES, CACHES...) are shown leaf by leaf
    (``DATABASES.default.OPTIONS.sslmode``), so a merge reads as the few keys it changed.
    """
    lines: list[str] = []
    for change in changes:
        if only_replaced and not change.replaced:
            continue
        before = _leaves(change.before, change.name)
        after = _leaves(change.after, change.name)
        rows = []
        for path in sorted(set(before) | set(after)):
            old, new = before.get(path, MISSING), after.get(path, MISSING)
            if old == new:
                continue
            key = path.rsplit(".", 1)[-1]
            old, new = masked(old, key), masked(new, key)
            if old is MISSING:
                if not only_replaced:  # an addition, not a replacement
                    rows.append(f"    {path} = {new!r}")
            elif only_replaced or new is not MISSING:
                rows.append(f"    {path}: {old!r} -> {new!r}")
            else:
                rows.append(f"    {path}: {old!r} -> (removed)")
        if rows:
            lines.append(f"{change.name}  [{change.source}]")
            lines.extend(rows)
    return lines


def _leaves(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        leaves: dict[str, Any] = {}
        for key, item in value.items():
            leaves.update(_leaves(item, f"{path}.{key}"))
        return leaves
    return {path: value}
