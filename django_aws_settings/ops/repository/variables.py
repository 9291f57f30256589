"""Where each variable the app's settings read comes from on ECS, judged by its name.

Shared by ``django-aws config import`` (which also looks at values) and the generated
docs (which only have the names the settings scan found). Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

# Long words are unambiguous anywhere in a name (DBPASSWORD, GITHUB_APITOKEN) ...
SECRET_WORDS = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|APIKEY|ACCESSKEY|SALT"
)
# ... short ones only as a whole word between underscores (KEY, but not MONKEY or KEYBOARD).
SECRET_PARTS = frozenset({"KEY", "KEYS", "DSN", "AUTH", "PASS", "PWD", "PW", "CERT"})
# Keys the platform sets for itself; they mean nothing (or something wrong) on ECS.
PLATFORM_KEYS = {
    "PORT": "set by the platform at run time; the task definition sets it on ECS",
    "DYNO": "Heroku dyno name, set at run time",
    "RENDER": "set by Render at run time",
    "AWS_ACCESS_KEY_ID": "static AWS keys would override the ECS task role; use the role",
    "AWS_SECRET_ACCESS_KEY": "static AWS keys would override the ECS task role; use the role",
    "AWS_SESSION_TOKEN": "static AWS keys would override the ECS task role; use the role",
}
# The old platform's database and Redis: on ECS the task definitions give the new ones
# (DATABASE_SECRET, Terraform's REDIS_URL). Imported into the app secret, the old URL would
# reach the app before them (and DATABASE_URL next to DATABASE_SECRET is refused at start).
REPLACED_ON_ECS = {
    "DATABASE_URL": "the old platform's database; on ECS the task definitions give the new "
    "one (the overlay composes DATABASE_URL from it)",
    "REDIS_URL": "the old platform's Redis; on ECS the app secret holds Terraform's",
    "REDIS_TLS_URL": "the old platform's Redis; on ECS the app secret holds Terraform's REDIS_URL",
}
PLATFORM_PREFIXES = {
    "HEROKU_": "Heroku metadata or an add-on alias of another key (DATABASE_URL, REDIS_URL)",
    "RENDER_": "set by Render at run time",
}
# What the generated task definitions, Terraform and the settings overlay already give.
PROVIDED = {
    "SECRET_KEY": "the app secret (Terraform generates it)",
    "ALLOWED_HOSTS": "an SSM parameter Terraform writes (the domain)",
    "DATABASE_URL": "composed by the overlay from the database secret",
    "REDIS_URL": "the app secret (Terraform's ElastiCache URL, with its auth token)",
    "DJANGO_SETTINGS_MODULE": "the image (the settings overlay)",
    "WEB_CONCURRENCY": "the task definition",
    "DJANGO_ENV": "the task definition",
}
# Names apps commonly read for values the task definitions give under other names:
# DJANGO_AWS_ENV_ALIASES (the `env_aliases` answer) feeds them.
KNOWN_ALIASES = {
    "DJANGO_SECRET_KEY": "SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS": "ALLOWED_HOSTS",
    **{f"{prefix}HOST": "database.host" for prefix in ("POSTGRES_", "DB_", "PG")},
    **{f"{prefix}PORT": "database.port" for prefix in ("POSTGRES_", "DB_", "PG")},
    **{f"{prefix}USER": "database.user" for prefix in ("POSTGRES_", "DB_", "PG")},
    **{f"{prefix}PASSWORD": "database.password" for prefix in ("POSTGRES_", "DB_", "PG")},
    "POSTGRES_DB": "database.name",
    "DB_NAME": "database.name",
    "PGDATABASE": "database.name",
}


def kind_by_name(name: str) -> tuple[Literal["secret", "skipped"], str] | None:
    """``("skipped" | "secret", reason)`` when the name alone decides, else None."""
    upper = name.upper()
    if upper in PLATFORM_KEYS:
        return "skipped", PLATFORM_KEYS[upper]
    if upper in REPLACED_ON_ECS:
        return "skipped", REPLACED_ON_ECS[upper]
    for prefix, reason in PLATFORM_PREFIXES.items():
        if upper.startswith(prefix):
            return "skipped", reason
    word = SECRET_WORDS.search(upper)
    if word:
        return "secret", f"name contains {word.group(0)}"
    part = next((p for p in upper.split("_") if p in SECRET_PARTS), None)
    if part:
        return "secret", f"name contains {part}"
    return None


def stated_aliases(facts: Mapping[str, Any]) -> str:
    """``env_aliases``' default: the known aliases among the names the settings read."""
    names = [item["name"] for item in facts["environment"]["variables"]]
    return ",".join(f"{name}={KNOWN_ALIASES[name]}" for name in names if name in KNOWN_ALIASES)


def _aliases(spec: str) -> dict[str, str]:
    pairs = (entry.partition("=") for entry in spec.split(",") if "=" in entry)
    return {name.strip(): source.strip() for name, _, source in pairs}


def variable_destinations(
    facts: Mapping[str, Any], env_aliases: str, *, project: str
) -> list[dict[str, Any]]:
    """One row per variable the settings read: whether it is required at import and where
    it comes from on ECS (``kind``: provided, alias, secret, config, skipped)."""
    aliases = _aliases(env_aliases)
    rows: list[dict[str, Any]] = []
    for item in facts["environment"]["variables"]:
        name = item["name"]
        if name in PROVIDED:
            kind, where = "provided", PROVIDED[name]
        elif name in aliases:
            kind, where = "alias", f"the same value as {aliases[name]} (env_aliases)"
        else:
            judged = kind_by_name(name)
            kind = judged[0] if judged else "config"
            where = {
                "secret": f"a key of the app secret `{project}/<environment>/app`",
                "config": f"an SSM parameter `/{project}/<environment>/{name}`",
                "skipped": judged[1] if judged else "",
            }[kind]
        rows.append({"name": name, "required": item["required"], "kind": kind, "where": where})
    return rows


def retired_after_cutover(facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """The PaaS's own files, what replaces each, and when it can go."""
    processes = facts["processes"]
    existing = set(facts["existing_files"]["collisions"])
    rows: list[dict[str, str]] = []
    for source in processes.get("sources") or ():
        rows.append(
            {
                "path": source,
                "replaced_by": "deploy/ecs/*.json (one task definition per process)",
                "when": "after the cutover, once the old platform's app is scaled to zero",
            }
        )
    for dockerfile in sorted(set(facts["existing_files"]["heroku_docker_builds"].values())):
        rows.append(
            {
                "path": dockerfile,
                "replaced_by": "deploy/Dockerfile (heroku.yml still builds this one)",
                "when": "with heroku.yml, after the cutover",
            }
        )
    if "gunicorn.conf.py" in existing:
        rows.append(
            {
                "path": "gunicorn.conf.py",
                "replaced_by": "deploy/gunicorn.conf.py: move your settings below its import",
                "when": "before the first deploy (ECS does not read this one)",
            }
        )
    if facts["python"] and facts["python"]["source"].startswith("runtime.txt"):
        rows.append(
            {
                "path": "runtime.txt",
                "replaced_by": "the Dockerfile's PYTHON_VERSION",
                "when": "after the cutover",
            }
        )
    return rows
