"""What the generated Dockerfile needs to know about the repository, decided here so the
template only fills values in: the requirement files to copy (the whole ``-r``/``-c``
tree, grouped by folder), the Debian packages to build and run with, the servers the
repository does not list, and build-only placeholders for the variables its settings
require at import (``collectstatic`` imports them at build time), and the mail server the
pull request's production check may assume.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .native_packages import native_needs
from .requirements import requirements_tree

# Installed next to the app's own dependencies when it does not list them: the web
# command is gunicorn (with uvicorn's worker under ASGI).
GUNICORN = "gunicorn==23.0.0"
UVICORN_WORKER = "uvicorn-worker==0.3.0"
# Variables the Dockerfile's collectstatic step sets itself.
SET_BY_THE_BUILD = frozenset({"DJANGO_ENV", "DJANGO_SETTINGS_MODULE", "STATIC_BACKEND"})
PLACEHOLDER = "build-only-not-a-secret"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|_)(DATABASE|DB)_URL$"), "postgres://build-only@build-only.invalid/build_only"),
    (re.compile(r"(REDIS|CACHE|BROKER|CELERY).*_URL$"), "redis://build-only.invalid:6379/0"),
    (re.compile(r"(^|_)(E?MAIL|SMTP)_URL$"), "smtp://build-only.invalid:587"),
    (re.compile(r"_(URL|DSN|ENDPOINT)$"), "https://build-only.invalid/"),
    (re.compile(r"(^|_)DEBUG$"), "False"),
    (re.compile(r"ORIGINS$"), "https://build-only.invalid"),
    (re.compile(r"HOSTS?$"), "build-only.invalid"),
    (re.compile(r"(_PORT|_TIMEOUT|_AGE|_SECONDS|_COUNT|_SIZE)$"), "0"),
)
# The mail server variables an app reads (EMAIL_HOST, EMAIL_URL, SMTP_HOST...). Production
# gives them; the pull request's `check --deploy` does not, and the app's fallback
# (localhost, usually) would trip check W016 on a setting production does not have.
_MAIL_SERVER = re.compile(r"(^|_)(E?MAIL|SMTP)_(HOST|SERVER|URL)$")
MAIL_PLACEHOLDERS = {
    "URL": "smtp://check-deploy-only.invalid:587",
    "HOST": "check-deploy-only.invalid",
    "SERVER": "check-deploy-only.invalid",
}


def placeholder_for(name: str) -> str:
    """A value that parses as what the name suggests and is obviously not real."""
    return next((value for rule, value in _RULES if rule.search(name)), PLACEHOLDER)


def _copies(files: list[str]) -> list[dict[str, Any]]:
    """COPY instructions keeping each file's path: one per folder, in first-seen order."""
    folders: dict[str, list[str]] = {}
    for path in files:
        folders.setdefault(posixpath.dirname(path), []).append(path)
    return [
        {"sources": sources, "destination": f"{folder}/" if folder else "./"}
        for folder, sources in folders.items()
    ]


def image_plan(
    root: Path,
    facts: Mapping[str, Any],
    *,
    dependency_manager: str,
    requirements_file: str | None,
    server: str,
) -> dict[str, Any]:
    """The Dockerfile's inputs for the answers given (which may differ from the facts)."""
    dependencies = facts["dependencies"]
    packages: set[str] = set(dependencies.get("packages") or ())
    copies: list[dict[str, Any]] = []
    if (
        dependency_manager == "pip"
        and requirements_file
        and not (root / requirements_file).is_file()
    ):
        copies = _copies([requirements_file])  # not written yet: the answer alone
    elif dependency_manager == "pip" and requirements_file:
        tree = requirements_tree(root, requirements_file)
        copies = _copies([item.path for item in tree.files] or [requirements_file])
        packages |= set(tree.packages)
    # What the facts found (GeoDjango from the settings included) and what the answered
    # requirements tree adds.
    native = [dict(item) for item in dependencies.get("native") or ()]
    known = {item["package"] for item in native}
    native += [
        {"package": n.package, "build": n.build, "runtime": n.runtime, "reason": n.reason}
        for n in native_needs(sorted(packages))
        if n.package not in known
    ]
    extra = [] if "gunicorn" in packages else [GUNICORN]
    if server == "asgi" and "uvicorn-worker" not in packages:
        extra.append(UVICORN_WORKER)
    variables = facts["environment"]["variables"]
    placeholders = {
        item["name"]: placeholder_for(item["name"])
        for item in variables
        if item["required"] and item["name"] not in SET_BY_THE_BUILD
    }
    return {
        "requirement_copies": copies,
        "build_packages": sorted({name for need in native for name in need["build"]}),
        "runtime_packages": sorted({name for need in native for name in need["runtime"]}),
        "native_packages": [need["package"] for need in native],
        "extra_requirements": extra,
        "build_placeholders": dict(sorted(placeholders.items())),
        "mail_placeholders": {
            item["name"]: MAIL_PLACEHOLDERS[match.group(3)]
            for item in sorted(variables, key=lambda item: str(item["name"]))
            if item["name"] not in placeholders
            and (match := _MAIL_SERVER.search(item["name"])) is not None
        },
    }
