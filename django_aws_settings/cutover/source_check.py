"""``django-aws cutover check-source <url>``: can AWS DMS keep a copy in sync, and how big is it?

Reads only catalogs and settings over a read-only session, then reports with reasons:

* whether DMS change data capture (CDC) is possible: ``wal_level = logical`` (on RDS and
  Aurora: ``rds.logical_replication``), a free replication slot and WAL sender, and a user
  allowed to replicate (superuser, REPLICATION, or member of ``rds_replication``);
* whether the source is Heroku Postgres, which offers customers no logical replication at
  all: its host names (``ec2-*.compute-1.amazonaws.com`` or ``*.cluster-*.rds.amazonaws.com``)
  together with its generated user and database names (``u`` / ``d`` + 13 characters), or
  the ``heroku_ext`` schema Heroku creates in every database;
* tables CDC cannot follow: no primary key and no ``REPLICA IDENTITY FULL``/``USING INDEX``
  (updates and deletes cannot be applied), and unlogged tables (never written to WAL);
* size, largest tables, server version, extensions;

and recommends DMS full load + CDC, or a full copy (pg_dump/pg_restore) during a write
freeze, with the time that copy takes at a stated throughput. The recommendation is data:
the command exits 0 when the check ran, 2 when it could not connect.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..settings.errors import ConfigError, Problem

DEFAULT_THROUGHPUT = 25.0  # MiB/s; pg_dump | pg_restore or a DMS full load over the network
LARGEST_TABLES = 10
Path_ = Literal["dms-full-load-and-cdc", "full-load-in-write-freeze"]
CDC: Path_ = "dms-full-load-and-cdc"
FREEZE: Path_ = "full-load-in-write-freeze"

_HEROKU_NAME = re.compile(r"^[a-z0-9]{14}$")  # legacy user names: 14 lowercase characters
_HEROKU_USER = re.compile(r"^u[a-z0-9]{13}$")
_HEROKU_DATABASE = re.compile(r"^d[a-z0-9]{13}$")
_HEROKU_EC2_HOST = re.compile(
    r"^ec2-\d{1,3}(-\d{1,3}){3}\.(compute-1|[a-z]{2}-[a-z]+-\d\.compute)\.amazonaws\.com$"
)
_HEROKU_CLUSTER_HOST = re.compile(
    r"^[a-z0-9]{14}\.cluster-[a-z0-9]{12}\.[a-z]{2}-[a-z]+-\d\.rds\.amazonaws\.com$"
)
HEROKU_SCHEMA = "heroku_ext"


@dataclass(frozen=True)
class Check:
    """One condition for CDC: whether it holds and what was found (or what to change)."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    bytes: int
    estimated_rows: int | None  # None until the table was first analyzed

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class SourceReport:
    """Everything check-source found; :func:`report_text` and :func:`report_json` print it."""

    source: str  # user@host:port/dbname, never the password
    server_version: str
    database_bytes: int
    largest_tables: list[Table]
    extensions: list[tuple[str, str]]
    heroku: str | None
    checks: list[Check]
    tables_without_primary_key: list[str]
    unlogged_tables: list[str]
    throughput: float  # MiB/s assumed for the estimate
    notes: list[str] = field(default_factory=list)

    @property
    def cdc_possible(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def path(self) -> Path_:
        return CDC if self.cdc_possible else FREEZE

    @property
    def copy_seconds(self) -> float:
        return self.database_bytes / (self.throughput * 1024 * 1024)

    def recommendation(self) -> list[str]:
        """The path as sentences: what to do, then what to fix first."""
        if self.cdc_possible:
            lines = [
                "DMS full load + CDC: the full load runs while the app keeps writing and CDC"
                " keeps the target in sync; the cutover window only needs the write freeze,"
                " draining, verification and the sequence resync."
            ]
            if self.tables_without_primary_key:
                lines.append(
                    "Before starting, give each table without a primary key one, or run"
                    " ALTER TABLE ... REPLICA IDENTITY FULL on it."
                )
            if self.unlogged_tables:
                lines.append(
                    "Unlogged tables are not in WAL: make them logged (ALTER TABLE ... SET"
                    " LOGGED) or copy them during the window."
                )
            return lines
        lines = [
            "Full load during a write freeze: turn maintenance mode on, copy with"
            " pg_dump --format=directory --jobs N then pg_restore --jobs N (or a DMS"
            " full-load-only task), verify, resync sequences, switch; the window lasts as long"
            " as the copy."
        ]
        fixable = [c for c in self.checks if not c.ok and c.name != "heroku"]
        if self.heroku is None and fixable:
            lines.append(
                "CDC becomes possible once these are fixed: "
                + "; ".join(c.name for c in fixable)
                + "."
            )
        return lines


def heroku_reason(host: str, user: str, dbname: str) -> str | None:
    """Why the connection parameters look like Heroku Postgres, or None.

    A host name alone is not enough (any EC2 instance has an ec2-* name); Heroku also
    generates the user and database names.
    """
    host = host.lower()
    generated = _HEROKU_DATABASE.match(dbname) and (
        _HEROKU_USER.match(user) or _HEROKU_NAME.match(user)
    )
    if generated and (_HEROKU_CLUSTER_HOST.match(host) or _HEROKU_EC2_HOST.match(host)):
        return f"host {host} and generated user and database names follow its naming"
    return None


def inspect_source(url: str, *, throughput: float = DEFAULT_THROUGHPUT) -> SourceReport:
    """Connect read-only to ``url`` (a libpq URI or key=value string) and inspect it.

    Raises ConfigError with one line, without the password, when it cannot connect.
    """
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # pragma: no cover - depends on the installed extras
        problem = Problem(
            "check-source", "needs psycopg: pip install 'django-aws-settings[postgres]'"
        )
        raise ConfigError([problem]) from None

    if not url.strip():
        # libpq would connect to its defaults (PGHOST, the local socket): not what was meant.
        raise ConfigError([Problem("check-source", f"the URL is empty; expected {EXPECTED_URL}")])
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        # libpq quotes the offending part of the string, which may be the password.
        raise ConfigError([Problem("check-source", _NOT_A_URL)]) from None
    misparsed = _misparsed(url, params)
    if misparsed is not None:
        raise ConfigError([Problem("check-source", f"{_NOT_A_URL}: {misparsed}")])
    where = _describe(params)
    try:
        connection = psycopg.connect(
            url, autocommit=True, connect_timeout=10, application_name="django-aws check-source"
        )
    except psycopg.Error as error:
        raise _connection_error(where, url, params, error) from None
    with connection:
        # Belt and braces: nothing here writes, and nothing may wait long on a busy source.
        connection.execute("SET default_transaction_read_only = on")
        connection.execute("SET statement_timeout = '60s'")
        connection.execute("SET lock_timeout = '5s'")
        return _inspect(connection, where, params, throughput)


def _inspect(
    connection: Any, where: str, params: dict[str, Any], throughput: float
) -> SourceReport:
    settings = connection.execute(
        "SELECT current_setting('server_version'), current_setting('wal_level'),"
        " current_setting('max_replication_slots')::int,"
        " current_setting('max_wal_senders')::int,"
        " current_setting('rds.logical_replication', true),"
        " pg_database_size(current_database()), current_user, current_database()"
    ).fetchone()
    version, wal_level, max_slots, max_senders, rds_logical, size, user, dbname = settings
    superuser, replication, rds_replication = connection.execute(
        "SELECT r.rolsuper, r.rolreplication, COALESCE((SELECT pg_has_role(current_user, g.oid,"
        " 'MEMBER') FROM pg_roles g WHERE g.rolname = 'rds_replication'), false)"
        " FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    (used_slots,) = connection.execute("SELECT count(*) FROM pg_replication_slots").fetchone()
    (used_senders,) = connection.execute("SELECT count(*) FROM pg_stat_replication").fetchone()
    (heroku_schema,) = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [HEROKU_SCHEMA]
    ).fetchone()
    extensions = [
        (name, ext_version)
        for name, ext_version in connection.execute(
            "SELECT extname, extversion FROM pg_extension ORDER BY extname"
        )
    ]
    rows = connection.execute(
        "SELECT n.nspname, c.relname, c.relpersistence, c.relreplident,"
        " EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'),"
        " pg_total_relation_size(c.oid), c.reltuples::bigint"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%%'"
        # Tables an extension owns (PostGIS's spatial_ref_sys) are the extension's business.
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
        " AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY n.nspname, c.relname"
    ).fetchall()

    tables = [Table(s, n, b, rows_ if rows_ >= 0 else None) for s, n, _, _, _, b, rows_ in rows]
    without_key = [
        f"{schema}.{name}"
        for schema, name, _, identity, has_key, _, _ in rows
        if not has_key and identity not in ("f", "i")
    ]
    unlogged = [f"{schema}.{name}" for schema, name, persistence, *_ in rows if persistence == "u"]

    heroku = heroku_reason(str(params.get("host", "")), user, dbname)
    if heroku is None and heroku_schema:
        heroku = f"the database has the {HEROKU_SCHEMA} schema Heroku Postgres creates"
    logical = wal_level == "logical" or rds_logical in ("on", "1")
    checks = [
        Check(
            "heroku",
            heroku is None,
            "not Heroku Postgres"
            if heroku is None
            else f"Heroku Postgres ({heroku}): it offers no logical replication or replication"
            " privilege to customers, so DMS cannot capture changes from it",
        ),
        Check(
            "wal_level",
            logical,
            f"wal_level = {wal_level}"
            + (
                ""
                if logical
                else "; CDC needs logical (self-managed: wal_level = logical and a restart;"
                " RDS/Aurora: rds.logical_replication = 1 in the parameter group and a reboot)"
            ),
        ),
        Check(
            "replication slots",
            max_slots - used_slots >= 1,
            f"max_replication_slots = {max_slots}, {used_slots} in use; DMS needs one free",
        ),
        Check(
            "wal senders",
            max_senders - used_senders >= 1,
            f"max_wal_senders = {max_senders}, {used_senders} in use; DMS needs one free",
        ),
        _privilege_check(user, superuser, replication, rds_replication),
    ]
    largest = sorted(tables, key=lambda t: (-t.bytes, t.qualified))[:LARGEST_TABLES]
    return SourceReport(
        source=where,
        server_version=version,
        database_bytes=size,
        largest_tables=largest,
        extensions=extensions,
        heroku=heroku,
        checks=checks,
        tables_without_primary_key=without_key,
        unlogged_tables=unlogged,
        throughput=throughput,
    )


def _privilege_check(user: str, superuser: bool, replication: bool, rds_replication: bool) -> Check:
    if superuser:
        return Check("replication privilege", True, f"{user} is a superuser")
    if replication:
        return Check("replication privilege", True, f"{user} has REPLICATION")
    if rds_replication:
        return Check("replication privilege", True, f"{user} is a member of rds_replication")
    return Check(
        "replication privilege",
        False,
        f"{user} has no REPLICATION attribute and is not in rds_replication"
        f" (self-managed: ALTER ROLE {user} REPLICATION; RDS: GRANT rds_replication TO {user})",
    )


EXPECTED_URL = "postgres://user:password@host:5432/dbname"
_NOT_A_URL = (
    f"the URL is not a valid PostgreSQL URL; expected {EXPECTED_URL}"
    " (percent-encode special characters)"
)
_URI_SCHEMES = ("postgres://", "postgresql://")


def _misparsed(url: str, params: dict[str, Any]) -> str | None:
    """Why libpq's reading of ``url`` is not the one meant, in words that quote no part of
    it, or None. libpq ends the user:password part at the first "/", so a password with an
    unencoded "/" moves its tail (and the host) into the database name, and the host and
    port into odd places: then every part after the user name may hold the password."""
    if url.strip().lower().startswith(_URI_SCHEMES):
        authority, slash, rest = url.strip().partition("://")[2].partition("/")
        if slash and "@" in rest.partition("?")[0]:
            return "an '@' after the first '/' (a password with an unencoded '/'?)"
        if authority.count("@") > 1:
            return "more than one '@' before the host (a password with an unencoded '@'?)"
    ports = str(params.get("port") or "")
    if ports and not all(p.isdigit() and 0 < int(p) < 65536 for p in ports.split(",") if p):
        return "the port is not a number from 1 to 65535"
    if not (params.get("host") or params.get("hostaddr")):
        return "no host (libpq would connect to its defaults)"
    return None


def _describe(params: dict[str, Any]) -> str:
    user = params.get("user") or "(default user)"
    host = params.get("host") or params.get("hostaddr") or "(default host)"
    port = params.get("port") or "5432"
    return f"{user}@{host}:{port}/{params.get('dbname') or user}"


def _connection_error(
    where: str, url: str, params: dict[str, Any], error: Exception
) -> ConfigError:
    """One line: libpq's first line, with the URL and the password cut out of it."""
    from urllib.parse import quote

    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = message.replace(url, "<url>")
    password = str(params.get("password") or "")
    if password:
        for spelling in {password, quote(password, safe=""), quote(password)}:
            message = message.replace(spelling, "***")
    return ConfigError([Problem(f"cannot connect to {where}", message)])


# ------------------------------------------------------------------------------ output


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes > 1 else ''}"
    return f"about {seconds / 3600:.1f} hours"


def report_text(report: SourceReport) -> str:
    lines = [
        f"Source:     {report.source}",
        f"Server:     PostgreSQL {report.server_version}",
        f"Size:       {size_text(report.database_bytes)} (pg_database_size, indexes included)",
        "Extensions: " + (", ".join(f"{n} {v}" for n, v in report.extensions) or "none"),
        "",
        "Largest tables:",
        *(
            f"  {t.qualified:<40} {size_text(t.bytes):>10}  "
            + (f"~{t.estimated_rows:,} rows" if t.estimated_rows is not None else "rows unknown")
            for t in report.largest_tables
        ),
        *([] if report.largest_tables else ["  (no tables)"]),
        "",
        "DMS change data capture:",
        *(f"  {'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in report.checks),
    ]
    if report.tables_without_primary_key:
        lines += ["", "Tables without a primary key (CDC cannot apply their UPDATEs/DELETEs):"]
        lines += [f"  {name}" for name in report.tables_without_primary_key]
    if report.unlogged_tables:
        lines += ["", "Unlogged tables (not in WAL, CDC cannot see their changes):"]
        lines += [f"  {name}" for name in report.unlogged_tables]
    title = "DMS full load + CDC" if report.cdc_possible else "full load during a write freeze"
    lines += ["", f"Recommendation: {title}"]
    lines += [f"  {sentence}" for sentence in report.recommendation()]
    lines += [
        "",
        f"Estimate: {size_text(report.database_bytes)} to copy, "
        f"{duration_text(report.copy_seconds)} at an assumed {report.throughput:g} MiB/s"
        " (rehearse to measure yours; set it with --throughput)",
    ]
    return "\n".join(lines)


def report_json(report: SourceReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "server_version": report.server_version,
        "database_bytes": report.database_bytes,
        "largest_tables": [
            {**asdict(t), "qualified_name": t.qualified} for t in report.largest_tables
        ],
        "extensions": [{"name": n, "version": v} for n, v in report.extensions],
        "heroku": report.heroku,
        "checks": [asdict(c) for c in report.checks],
        "tables_without_primary_key": report.tables_without_primary_key,
        "unlogged_tables": report.unlogged_tables,
        "cdc_possible": report.cdc_possible,
        "recommendation": {"path": report.path, "steps": report.recommendation()},
        "estimate": {
            "bytes": report.database_bytes,
            "throughput_mib_per_second": report.throughput,
            "seconds": round(report.copy_seconds, 1),
        },
    }


# --------------------------------------------------------------------------------- CLI


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cutover = commands.add_parser("cutover", help="database cutover checks")
    cutover_commands = cutover.add_subparsers(dest="cutover_command", required=True)
    check = cutover_commands.add_parser(
        "check-source",
        help="can DMS capture changes from this database, and how big is it?",
    )
    check.add_argument(
        "url",
        help="postgres://user:password@host:5432/dbname, or - to read it from stdin"
        " (keeps the password out of the process list and shell history)",
    )
    check.add_argument("--json", action="store_true", help="print JSON for machines")
    check.add_argument(
        "--throughput",
        type=float,
        default=DEFAULT_THROUGHPUT,
        metavar="MIB_PER_S",
        help=f"copy throughput for the estimate (default {DEFAULT_THROUGHPUT:g} MiB/s)",
    )
    check.set_defaults(handler=_check_source)


def _check_source(arguments: argparse.Namespace) -> int:
    if not 0 < arguments.throughput < math.inf:  # also refuses nan
        raise ConfigError([Problem("--throughput", "expected a positive number of MiB/s")])
    if arguments.url == "-":
        try:
            url = sys.stdin.readline().strip()
        except UnicodeDecodeError:
            raise ConfigError([Problem("check-source", "stdin is not UTF-8 text")]) from None
        if not url:
            raise ConfigError(
                [Problem("check-source", f"nothing on stdin; expected one line: {EXPECTED_URL}")]
            )
    else:
        url = arguments.url
    report = inspect_source(url, throughput=arguments.throughput)
    if arguments.json:
        json.dump(report_json(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report_text(report))
    return 0


__all__ = [
    "CDC",
    "FREEZE",
    "Check",
    "SourceReport",
    "Table",
    "heroku_reason",
    "inspect_source",
    "register",
    "report_json",
    "report_text",
]
