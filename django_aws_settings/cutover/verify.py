"""Compare a source and a target database table by table, before the target takes traffic.

Per table, on both sides: the exact row count, the highest primary key and, with
``checksum``, a checksum of the rows, all three in one statement (one round trip, one
snapshot). In the target, every sequence must be past its columns (:mod:`.sequences`).
The catalog (tables, keys, columns, sequences) is read once per side for all tables.
Tables run in parallel on a bounded number of connections: a table borrows one connection
per side, so at most ``jobs`` connections are open on each server at any moment. Sessions
run in autocommit with every transaction read-only, so a statement costs no BEGIN and no
COMMIT.

The checksum is order-independent: each row's text (columns in name order, so a different
physical column order does not count as a difference) is hashed with md5, and the 128-bit
hashes are summed as two 64-bit halves. Summing needs one sequential scan, no sort and
constant memory, where ``string_agg`` over an ordered scan would hold the whole table in
one text value (and fail past PostgreSQL's 1 GB limit). As a multiset hash it also covers
tables without a primary key, where "ordered rows" have no defined order. Both sessions
pin the settings that change a row's text (time zone, date and interval styles, float
digits, bytea output), so equal rows hash equally on two servers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from . import Connection, CutoverError, Database, format_table
from .sequences import sequence_statuses

APPLICATION_NAME = "verify_copy"
DEFAULT_JOBS = 4
# Tables AWS DMS creates in the target for its own bookkeeping; not part of the copy.
DMS_CONTROL_PREFIX = "awsdms_"
# The settings that change how a row prints as text, fixed so both servers print alike.
_SESSION = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
    " SET extra_float_digits = 3; SET bytea_output = 'hex'; SET lc_monetary = 'C';"
    " SET statement_timeout = 0; SET default_transaction_read_only = on"
)
_TABLES = """
SELECT c.relname::text,
       array(SELECT a.attname::text
             FROM pg_constraint con
             CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             WHERE con.conrelid = c.oid AND con.contype = 'p'
             ORDER BY k.position),
       array(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TableShape:
    """A table as the catalog describes it on one side."""

    name: str
    primary_key: tuple[str, ...]
    columns: frozenset[str]


@dataclass(frozen=True)
class Measurement:
    """What one side holds in one table."""

    rows: int
    max_pk: tuple[Any, ...] | None  # None without a primary key, or when empty
    checksum: str | None = None


@dataclass(frozen=True)
class TableComparison:
    """One table compared; ``problems`` is empty when source and target agree."""

    table: str
    source: Measurement | None = None
    target: Measurement | None = None
    problems: tuple[str, ...] = ()
    note: str = ""  # e.g. "no primary key"
    ignored: bool = False

    @property
    def ok(self) -> bool:
        return self.ignored or not self.problems

    @property
    def status(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        text = "ignored" if self.ignored else "ok"
        return f"{text} ({self.note})" if self.note else text

    @property
    def reason(self) -> str:
        """The problems without their details, for the one-line verdict."""
        return ", ".join(dict.fromkeys(_short(problem) for problem in self.problems))

    def cells(self) -> tuple[str, str, str, str, str]:
        return (
            self.table,
            _count(self.source),
            _count(self.target),
            _max_pk(self.source, self.target),
            self.status,
        )


@dataclass(frozen=True)
class CopyVerification:
    """The verdict on a whole copy."""

    source: str  # host/dbname
    target: str
    schema: str
    checksum: bool
    tables: tuple[TableComparison, ...]

    @property
    def mismatches(self) -> tuple[TableComparison, ...]:
        return tuple(t for t in self.tables if not t.ok)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def lines(self) -> list[str]:
        """The summary table, one row per table in name order."""
        headers = ("TABLE", "SOURCE ROWS", "TARGET ROWS", "MAX PK", "STATUS")
        return format_table(headers, (t.cells() for t in self.tables), right=(1, 2))

    def verdict(self) -> str:
        """One line: what matched, or which tables differ and how."""
        if self.ok:
            compared = "row counts, max primary keys, sequences and checksums match"
            if not self.checksum:
                compared = "row counts, max primary keys and sequences match (no checksums)"
            compared_tables = [t for t in self.tables if not t.ignored]
            rows = sum(t.source.rows for t in compared_tables if t.source is not None)
            return (
                f"OK: {self.target} is an exact copy of {self.source}"
                f' (schema "{self.schema}"): {len(compared_tables)} tables, {rows:,} rows;'
                f" {compared}."
            )
        listed = [f"{t.table} ({t.reason})" for t in self.mismatches[:10]]
        more = len(self.mismatches) - len(listed)
        tail = f" and {more} more" if more else ""
        return (
            f"MISMATCH: {len(self.mismatches)} of {len(self.tables)} tables differ between"
            f" {self.source} and {self.target}: {', '.join(listed)}{tail}"
        )


def verify_copy(
    source: Database,
    target: Database,
    *,
    schema: str = "public",
    tables: Sequence[str] | None = None,
    checksum: bool = False,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | None = None,
) -> CopyVerification:
    """Compare ``tables`` (default: every table on either side) of ``schema``.

    Raises CutoverError only when a side cannot be reached or the schema has no table on
    either side; a failure inside one table is reported as that table's problem.
    """
    if jobs < 1:
        raise CutoverError("jobs must be at least 1")
    with _Connections(source) as sources, _Connections(target) as targets:
        # The catalog connections stay open and measure tables afterwards.
        with sources.borrowed() as conn, _catalog_errors(source):
            source_shapes = _shapes(conn, schema)
        with targets.borrowed() as conn, _catalog_errors(target):
            target_shapes = _shapes(conn, schema)
            names = sorted(set(tables)) if tables else sorted({*source_shapes, *target_shapes})
            behind = _sequences_behind(conn, schema, names)
        if not source_shapes and not target_shapes:
            raise CutoverError(
                f'schema "{schema}" has no tables in {source.label} nor in {target.label}'
            )

        done: dict[str, TableComparison] = {}
        found = [(source_shapes.get(name), target_shapes.get(name)) for name in names]
        for name, (in_source, in_target) in zip(names, found, strict=True):
            if in_source is None and in_target is None:
                done[name] = TableComparison(name, problems=("not found in source nor target",))
        measured = [pair for pair in found if pair != (None, None)]

        def report(count: int) -> None:
            if progress is not None:
                progress(count, len(names))

        report(len(done))
        workers = min(jobs, max(len(measured), 1))
        with ThreadPoolExecutor(workers) as pool:
            futures = [
                pool.submit(_compare, sources, targets, schema, in_source, in_target, checksum)
                for in_source, in_target in measured
            ]
            for future in as_completed(futures):
                comparison = future.result()
                name = comparison.table
                comparison = _presence(comparison, name in source_shapes, name in target_shapes)
                if behind.get(name):
                    comparison = replace(comparison, problems=(*comparison.problems, *behind[name]))
                done[name] = comparison
                report(len(done))
    ordered = tuple(done[name] for name in names)
    return CopyVerification(source.label, target.label, schema, checksum, ordered)


class _Connections:
    """The sessions open on one side, each lent to one table at a time.

    A borrower takes an idle session or opens a new one, so no more are open than tables
    are measured at once (the number of worker threads). A session that broke is not
    given back; the next borrower opens another. All are closed at exit.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._opened: list[Connection] = []

    def __enter__(self) -> _Connections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for conn in self._opened:
            conn.close()

    @contextmanager
    def borrowed(self) -> Iterator[Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = _open(self.database)
            with self._lock:
                self._opened.append(conn)
        try:
            yield conn
        finally:
            if not conn.closed:
                with self._lock:
                    self._idle.append(conn)


def _compare(
    sources: _Connections,
    targets: _Connections,
    schema: str,
    source: TableShape | None,
    target: TableShape | None,
    checksum: bool,
) -> TableComparison:
    """Measure a table on each side that has it, then say how the two differ."""
    shape = source or target
    assert shape is not None  # tables missing on both sides are never submitted
    problems: list[str] = []
    if source is not None and target is not None:
        problems.extend(_shape_problems(source, target, checksum))
    # Rows hash alike only over the same columns; without them, counts and keys still count.
    same_columns = source is None or target is None or source.columns == target.columns
    columns = tuple(sorted(shape.columns)) if checksum and same_columns else None
    measurements: dict[str, Measurement] = {}
    for side, present, connections in (("source", source, sources), ("target", target, targets)):
        if present is None:
            continue
        try:
            with connections.borrowed() as conn:
                measurements[side] = _measure(conn, schema, shape.name, shape.primary_key, columns)
        except (psycopg.Error, CutoverError) as error:
            problems.append(f"{side} error: {connections.database.describe(error)}")
    found_source, found_target = measurements.get("source"), measurements.get("target")
    if found_source is not None and found_target is not None:
        if found_source.rows != found_target.rows:
            problems.append("rows differ")
        if found_source.max_pk != found_target.max_pk:
            problems.append("max pk differs")
        if found_source.checksum != found_target.checksum:
            problems.append("checksum differs")
    return TableComparison(
        shape.name,
        found_source,
        found_target,
        tuple(problems),
        note="" if shape.primary_key else "no primary key",
    )


def _measure(
    conn: Connection,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    columns: Sequence[str] | None,
) -> Measurement:
    """Count (and checksum) in one scan, and read the highest key through its index, in
    one statement: one round trip, and both answers from the same snapshot."""
    relation = sql.Identifier(schema, table)
    if columns is None:
        query = sql.SQL("SELECT count(*) FROM {}").format(relation)
    else:
        row_text = sql.SQL("md5(ROW({})::text)").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        query = sql.SQL(
            "SELECT count(*),"
            " coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0),"
            " coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)"
            " FROM (SELECT {} AS h FROM {}) AS hashed"
        ).format(row_text, relation)
    if primary_key:
        # The aggregate gives exactly one row; the key's columns are NULL when there is none.
        keys = [sql.Identifier(c) for c in primary_key]
        highest = sql.SQL("SELECT {} FROM {} ORDER BY {} LIMIT 1").format(
            sql.SQL(", ").join(keys),
            relation,
            sql.SQL(", ").join(sql.SQL("{} DESC").format(k) for k in keys),
        )
        query = sql.SQL("SELECT * FROM ({}) AS measured LEFT JOIN ({}) AS highest ON true").format(
            query, highest
        )
    row = conn.execute(query).fetchone()
    if row is None:  # cannot happen: an aggregate without GROUP BY returns one row
        raise CutoverError(f"no result from measuring {table}")
    digest = None if columns is None else f"{row[1]}:{row[2]}"
    key = tuple(row[1 if columns is None else 3 :])
    max_pk = key if any(value is not None for value in key) else None
    return Measurement(int(row[0]), max_pk, digest)


@contextmanager
def _catalog_errors(database: Database) -> Iterator[None]:
    """A failing catalog query stops the whole verification, naming the side."""
    try:
        yield
    except psycopg.Error as error:
        raise CutoverError(f"{database.label}: {database.describe(error)}") from None


def _open(database: Database) -> Connection:
    """A session with the text settings pinned, in autocommit, every transaction read-only."""
    conn = database.open()
    try:
        conn.autocommit = True
        conn.execute(_SESSION)
    except psycopg.Error as error:
        conn.close()
        raise CutoverError(f"{database.label}: {database.describe(error)}") from None
    return conn


def _shapes(conn: Connection, schema: str) -> dict[str, TableShape]:
    rows = conn.execute(_TABLES, [schema]).fetchall()
    return {name: TableShape(name, tuple(key), frozenset(columns)) for name, key, columns in rows}


def _sequences_behind(conn: Connection, schema: str, tables: Sequence[str]) -> dict[str, list[str]]:
    """For each table, one problem per sequence of the target that is behind its column."""
    statuses = sequence_statuses(conn, schema, tables=set(tables))
    problems: dict[str, list[str]] = {}
    for status in statuses:
        if not status.behind:
            continue
        for column in status.columns:
            if status.extreme is None:
                held = f"start {status.start}"
            else:
                held = f"{'max' if status.ascending else 'min'} {status.extreme}"
            problems.setdefault(column.table, []).append(
                f"sequence {status.qualified} behind (next {status.next_value}, {held})"
            )
    return problems


def _shape_problems(source: TableShape, target: TableShape, checksum: bool) -> list[str]:
    """Differences in the primary key, and (when the rows are hashed) in the columns."""
    problems = []
    if target.primary_key != source.primary_key:
        problems.append(
            f"primary key differs ({_key(source.primary_key)} vs {_key(target.primary_key)})"
        )
    if checksum and source.columns != target.columns:
        problems.append(_columns_differ(source.columns, target.columns))
    return problems


def _presence(comparison: TableComparison, in_source: bool, in_target: bool) -> TableComparison:
    """A table on one side only: missing, extra, or a DMS control table that does not count."""
    if in_source and in_target:
        return comparison
    if in_source:
        return replace(comparison, problems=("missing in target", *comparison.problems))
    if comparison.table.startswith(DMS_CONTROL_PREFIX):
        return replace(comparison, note="DMS control table", ignored=True)
    return replace(comparison, problems=("extra in target", *comparison.problems))


def _columns_differ(source: frozenset[str], target: frozenset[str]) -> str:
    parts = []
    if source - target:
        parts.append("only in source: " + ", ".join(sorted(source - target)))
    if target - source:
        parts.append("only in target: " + ", ".join(sorted(target - source)))
    return f"columns differ ({'; '.join(parts)})"


def _short(problem: str) -> str:
    if problem.startswith("sequence "):
        return "sequence behind"
    return problem.split(" (")[0].split(":")[0]


def _key(columns: Sequence[str]) -> str:
    return ", ".join(columns) if columns else "none"


def _count(measurement: Measurement | None) -> str:
    return "-" if measurement is None else f"{measurement.rows:,}"


def _max_pk(source: Measurement | None, target: Measurement | None) -> str:
    values = [_pk_text(m.max_pk) for m in (source, target) if m is not None]
    if not values:
        return "-"
    return values[0] if len(set(values)) == 1 else " ≠ ".join(values)


def _pk_text(key: tuple[Any, ...] | None) -> str:
    if key is None:
        return "-"
    return str(key[0]) if len(key) == 1 else "(" + ", ".join(map(str, key)) + ")"
