"""Empty the target's schema before a data-only copy: one ``TRUNCATE ... RESTART IDENTITY``.

``manage.py migrate`` leaves rows in the new database before any data arrives:
``django_migrations``, content types and permissions (post_migrate), ``django_site``, rows
of data migrations or testers. A data-only copy (``pg_restore --data-only``, AWS DMS with
``TargetTablePrepMode=DO_NOTHING``) then collides on primary keys, or keeps content-type
and permission ids that the source's foreign keys do not point at. Emptying every table
first lets the source's rows, ``django_migrations`` included, replace them entirely.

One statement lists every table, so the foreign keys among them do not block it and no
CASCADE is needed. What the statement would reach beyond the schemas given is refused,
never cascaded into: a table elsewhere whose foreign key points at one of ours (TRUNCATE
would fail, or with CASCADE empty it too), and a partition or child table of ours that
lives elsewhere (TRUNCATE on a parent empties its partitions wherever they are).

Which relations count, following :mod:`.verify`: ordinary and partitioned tables
(``relkind`` r, p); a partition (or inheritance child) goes with its parent, so each row
is counted once; views, materialized views, foreign tables and sequences are not tables
to empty; tables that belong to an extension (PostGIS's ``spatial_ref_sys``) are its
reference data, not the app's, and are left alone. System schemas are refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from . import Connection, CutoverError, Database, format_table, sequences

APPLICATION_NAME = "prepare_copy_target"
# Seconds; sessions still holding a table make us fail, not queue (and block them meanwhile).
DEFAULT_LOCK_TIMEOUT = sequences.DEFAULT_LOCK_TIMEOUT
# Tables whose heap (with partitions) is larger are not counted but estimated from
# pg_class.reltuples: a dry run must not scan a table that a copy already filled.
EXACT_COUNT_LIMIT = 64 * 1024 * 1024
# The maintenance modes in which the app does not write: the new database may be emptied.
_SAFE_MODES = ("on", "read-only")

# Every candidate table, grouped under its top-most parent among the candidates ("root"),
# plus every partition or child of those roots wherever it lives (they go with the root).
_TREE = """
WITH RECURSIVE candidates AS (
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
), tree AS (
    SELECT c.oid AS root, c.oid FROM candidates c
    WHERE NOT EXISTS (SELECT FROM pg_inherits i JOIN candidates p ON p.oid = i.inhparent
                      WHERE i.inhrelid = c.oid)
    UNION
    SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
)
"""
_MEMBERS = sql.SQL(_TREE) + sql.SQL(
    """
SELECT rn.nspname::text, r.relname::text, format('%%I.%%I', rn.nspname, r.relname),
       format('%%I.%%I', mn.nspname, m.relname), mn.nspname::text, m.relkind::text,
       m.oid IN (SELECT oid FROM candidates), pg_relation_size(m.oid), m.reltuples::float8
FROM tree t
JOIN pg_class r ON r.oid = t.root JOIN pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_class m ON m.oid = t.oid JOIN pg_namespace mn ON mn.oid = m.relnamespace
ORDER BY rn.nspname COLLATE "C", r.relname COLLATE "C", m.oid <> t.root,
         mn.nspname COLLATE "C", m.relname COLLATE "C"
"""
)
# Foreign keys from outside the tree into it; clones on partitions have a conparentid.
_REFERENCES_FROM_OUTSIDE = sql.SQL(_TREE) + sql.SQL(
    """
SELECT format('%%I.%%I', rn.nspname, r.relname), con.conname::text,
       format('%%I.%%I', tn.nspname, t.relname)
FROM pg_constraint con
JOIN pg_class r ON r.oid = con.conrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND con.confrelid IN (SELECT oid FROM tree) AND con.conrelid NOT IN (SELECT oid FROM tree)
ORDER BY rn.nspname COLLATE "C", r.relname COLLATE "C", con.conname COLLATE "C"
"""
)
_EXTENSION_TABLES = """
SELECT format('%%I.%%I', n.nspname, c.relname), e.extname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND e.oid = d.refobjid
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
"""


@dataclass(frozen=True)
class TableRows:
    """One table the TRUNCATE lists, and how many rows it (with its partitions) holds."""

    name: str  # schema.table, quoted by PostgreSQL where needed
    rows: int | None  # None: too big to count, and never analyzed
    estimated: bool = False  # rows comes from pg_class.reltuples, not count(*)

    def cell(self) -> str:
        if self.rows is None:
            return "?"
        return f"~{self.rows:,}" if self.estimated else f"{self.rows:,}"


@dataclass(frozen=True)
class Preparation:
    """What a run found and, unless a dry run, emptied."""

    database: str  # label: host/dbname or alias (host/dbname)
    dbname: str  # current_database(), what --yes must repeat
    schemas: tuple[str, ...]
    tables: tuple[TableRows, ...]
    emptied: bool
    extension_tables: tuple[str, ...] = ()  # "schema.table (extension name)", left alone
    maintenance: str | None = None  # the switch that allowed it, e.g. "/shop/x is on"
    exact_count_limit: int = EXACT_COUNT_LIMIT  # bytes; bigger tables were estimated

    def lines(self, *, table: bool = True) -> list[str]:
        """The table of tables and their rows (unless not ``table``), notes, the verdict."""
        shown = []
        if table and self.tables:
            rows = ((t.name, t.cell()) for t in self.tables)
            shown = format_table(("TABLE", "ROWS"), rows, right=(1,))
        notes = []
        if table and self.extension_tables:
            notes.append("Left alone (extension data): " + ", ".join(self.extension_tables) + ".")
        return [*shown, *notes, self.verdict()]

    def verdict(self) -> str:
        where = f"in {_schemas(self.schemas)} of {self.database}"
        if not self.tables:
            return f"No tables {where}; nothing to empty."
        tables = _plural(len(self.tables), "table")
        rows, counted = self._rows()
        if not self.emptied:
            return f"Dry run: {tables} {where} hold {rows} ({counted}); nothing was changed."
        switch = f"; maintenance switch {self.maintenance}" if self.maintenance else ""
        return (
            f"Emptied {tables} {where} in one TRUNCATE ... RESTART IDENTITY:"
            f" {rows} removed ({counted}){switch}."
        )

    def _rows(self) -> tuple[str, str]:
        """The total, and how it was counted."""
        total = _plural(sum(t.rows or 0 for t in self.tables), "row")
        if not any(t.estimated for t in self.tables):
            return total, "exact counts"
        unknown = any(t.rows is None for t in self.tables)
        limit = f"{self.exact_count_limit / (1024 * 1024):g} MB"
        return (
            f"at least {total}" if unknown else f"about {total}",
            f"~: pg_class.reltuples estimate for tables over {limit}, ?: not analyzed yet;"
            " the other counts are exact",
        )


def prepare_copy_target(
    database: Database,
    schemas: Sequence[str] = ("public",),
    *,
    confirm: str | None = None,
    environ: Mapping[str, str] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    exact_count_limit: int = EXACT_COUNT_LIMIT,
) -> Preparation:
    """Empty every table of ``schemas`` in one ``TRUNCATE ... RESTART IDENTITY``.

    Without ``confirm`` a read-only dry run: the tables and their rows, nothing changed.
    With it, ``confirm`` must be the database's own name (``current_database()``), and
    when ``environ`` (``os.environ`` by default) names a ``MAINTENANCE_PARAMETER``, that
    switch must be ``on`` or ``read-only``. The tables are locked first, failing after
    ``lock_timeout`` seconds rather than queueing behind the app; rows are counted under
    the lock, then truncated, all in one transaction. Raises CutoverError, with nothing
    changed, on any refusal or failure.
    """
    schemas = tuple(dict.fromkeys(schemas))
    if not schemas:
        raise CutoverError("no schema given")
    if lock_timeout <= 0:  # PostgreSQL reads 0 as "wait forever"
        raise CutoverError("the lock timeout must be more than 0 seconds")
    dry_run = confirm is None
    where = f"{_schemas(schemas)} of {database.label}"
    with database.open() as conn:
        conn.read_only = dry_run
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("SET LOCAL lock_timeout = {}").format(
                        sql.Literal(f"{max(1, round(lock_timeout * 1000))}ms")
                    )
                )
                dbname = _current_database(conn)
                if confirm is not None and confirm != dbname:
                    raise CutoverError(
                        f"refusing to empty {database.label}: the confirmation (--yes) names"
                        f" {confirm!r}, but this database is {dbname!r}; nothing changed"
                    )
                _require_schemas(conn, schemas, database.label)
                switch = None if dry_run else maintenance_guard(environ, database.label)
                plan = _plan(conn, schemas, where)
                extension_tables = tuple(
                    f"{name} ({extension})"
                    for name, extension in conn.execute(
                        _EXTENSION_TABLES, {"schemas": list(schemas)}
                    ).fetchall()
                )
                relations = sql.SQL(", ").join(sql.Identifier(*t.identifier) for t in plan)
                if plan and not dry_run:
                    # Locked before counting, so the summary counts exactly what is removed.
                    conn.execute(
                        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(relations)
                    )
                counted = _count(conn, plan, exact_count_limit)
                if plan and not dry_run:
                    conn.execute(sql.SQL("TRUNCATE TABLE {} RESTART IDENTITY").format(relations))
        except psycopg.errors.LockNotAvailable:
            raise CutoverError(
                f"tables in {where} are in use by another session (no lock within"
                f" {lock_timeout:g} s); stop what still uses this database (the app's web,"
                " worker and beat tasks, a migrate, a DMS task, an open psql), then run"
                " again; nothing changed"
            ) from None
        except psycopg.Error as error:
            raise CutoverError(
                f"preparing {database.label} failed, nothing changed: {database.describe(error)}"
            ) from None
    return Preparation(
        database.label,
        dbname,
        schemas,
        tuple(counted),
        emptied=not dry_run and bool(plan),
        extension_tables=extension_tables,
        maintenance=switch,
        exact_count_limit=exact_count_limit,
    )


def maintenance_guard(environ: Mapping[str, str] | None = None, label: str = "") -> str | None:
    """Refuse unless the maintenance switch says the app does not write; None without one.

    The switch is the SSM parameter ``MAINTENANCE_PARAMETER`` names, read with GetParameter,
    the call (and IAM grant) the app's middleware uses. Emptying a database while the app
    may be serving it, typically production after the cutover, is the mistake this stops.
    Returns e.g. ``"/shop/production/MAINTENANCE_MODE is on"``.
    """
    # Imported here: the rest of this package works without Django. aws_failure_reason is
    # the package's one wording of boto errors; GetParameter is what the IAM policy grants.
    from ..settings.env import AwsClients, aws_failure_reason
    from ..settings.errors import ConfigError
    from ..settings.maintenance import maintenance_settings

    environ = os.environ if environ is None else environ
    raw = environ.get("MAINTENANCE_PARAMETER", "").strip()
    if not raw:
        return None
    try:  # the app's own rule for the name: "/..." or "arn:..."
        maintenance_settings({"MAINTENANCE_PARAMETER": raw})
    except ConfigError as error:
        raise CutoverError(f"{error}; nothing changed") from None
    target = f" {label}" if label else " this database"
    clients = AwsClients(environ)
    try:
        response = clients.ssm().get_parameter(Name=raw, WithDecryption=True)
    except Exception as error:  # noqa: BLE001 - one sentence, as for every AWS read
        reason = aws_failure_reason(error, "SSM Parameter Store", clients.region)
        raise CutoverError(
            f"cannot read the maintenance switch {raw} (MAINTENANCE_PARAMETER): {reason};"
            f" refusing to empty{target} without knowing that the app is not writing to it;"
            " nothing changed"
        ) from None
    value = response["Parameter"].get("Value", "").strip().lower()
    if value not in _SAFE_MODES:
        raise CutoverError(
            f"the maintenance switch {raw} (MAINTENANCE_PARAMETER) is {value!r}: the app may"
            f" be serving{target}, and emptying it would destroy its data; nothing changed."
            " If this is the new database before the cutover, turn maintenance on first"
            f" (aws ssm put-parameter --name {raw} --value on --overwrite), then run again"
        )
    return f"{raw} is {value}"


@dataclass(frozen=True)
class _Table:
    """A table the TRUNCATE lists, with what its heap (partitions included) tells."""

    name: str
    identifier: tuple[str, str]  # schema, table
    size: int  # bytes of heap, partitions and children included
    reltuples: float  # the planner's row estimate, summed likewise
    analyzed: bool  # every part has been analyzed or vacuumed (reltuples is known)


def _plan(conn: Connection, schemas: Sequence[str], where: str) -> list[_Table]:
    """The tables to list in the TRUNCATE; refuses what it would reach outside ``schemas``."""
    parameters = {"schemas": list(schemas)}
    tables: dict[str, _Table] = {}
    reached: list[str] = []
    for row in conn.execute(_MEMBERS, parameters).fetchall():
        schema, relname, name, member, member_schema, relkind, candidate, size, reltuples = row
        if not candidate:
            if relkind == "f":
                what = "a foreign table"
            elif member_schema in schemas:
                what = "a table of an extension"
            else:
                what = f"in schema {member_schema!r}"
            reached.append(f"{member} ({what}, a partition or child of {name})")
        table = tables.get(name) or _Table(name, (schema, relname), 0, 0.0, True)
        known = relkind != "r" or reltuples >= 0  # -1: never analyzed (PostgreSQL 14+)
        tables[name] = _Table(
            name,
            table.identifier,
            table.size + int(size),
            table.reltuples + (max(reltuples, 0.0) if relkind == "r" else 0.0),
            table.analyzed and known,
        )
    references = [
        f"{referencing} ({constraint} → {referenced})"
        for referencing, constraint, referenced in conn.execute(
            _REFERENCES_FROM_OUTSIDE, parameters
        ).fetchall()
    ]
    problems = []
    if references:
        problems.append(
            "foreign keys from outside point at its tables: "
            + ", ".join(references)
            + " (TRUNCATE would have to empty those too; add their schema with --schema,"
            " or drop those foreign keys for the copy)"
        )
    if reached:
        problems.append(
            "emptying its tables would also empty " + ", ".join(reached) + " (add their schema"
            " with --schema, or detach them for the copy)"
        )
    if problems:
        raise CutoverError(
            f"refusing to empty {where}: " + "; ".join(problems) + "; nothing changed"
        )
    return list(tables.values())


def _count(conn: Connection, tables: Sequence[_Table], exact_count_limit: int) -> list[TableRows]:
    """Rows per table: count(*) up to ``exact_count_limit`` bytes, all in one statement;
    the planner's estimate above it."""
    exact = [i for i, t in enumerate(tables) if t.size <= exact_count_limit]
    counts: dict[int, int] = {}
    if exact:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*) FROM {}").format(
                sql.Literal(i), sql.Identifier(*tables[i].identifier)
            )
            for i in exact
        )
        counts = {int(i): int(n) for i, n in conn.execute(query).fetchall()}
    found = []
    for i, table in enumerate(tables):
        if i in counts:
            found.append(TableRows(table.name, counts[i]))
        else:
            rows = round(table.reltuples) if table.analyzed else None
            found.append(TableRows(table.name, rows, estimated=True))
    return found


def _current_database(conn: Connection) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    return str(row[0])


def _require_schemas(conn: Connection, schemas: Sequence[str], label: str) -> None:
    system = [s for s in schemas if s.startswith("pg_") or s == "information_schema"]
    if system:
        what = "is a system schema" if len(system) == 1 else "are system schemas"
        raise CutoverError(
            f"{', '.join(map(repr, system))} {what}, never emptied; name the application's"
            " schemas (default: public)"
        )
    rows = conn.execute(
        "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY(%s)", [list(schemas)]
    ).fetchall()
    missing = sorted(set(schemas) - {name for (name,) in rows})
    if missing:
        raise CutoverError(
            f"schema {', '.join(map(repr, missing))} does not exist in {label}; nothing changed"
        )


def _schemas(schemas: Sequence[str]) -> str:
    quoted = ", ".join(f'"{s}"' for s in schemas)
    return f"schema {quoted}" if len(schemas) == 1 else f"schemas {quoted}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
