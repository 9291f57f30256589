"""verify_copy on real PostgreSQL: an exact copy passes; each kind of damage is caught.

The source and the data-only copy come from tests/support/cutover.py; "exact" is that copy
after resync_sequences. Every test damages its own clone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

import psycopg
import pytest
from psycopg import pq
from psycopg.rows import TupleRow
from support.cutover import Clones, Manage, connect, with_password
from support.postgres import dbname_of

from django_aws_settings.cutover import Connection, CutoverError, Database, database_from_url
from django_aws_settings.cutover.sequences import resync_sequences
from django_aws_settings.cutover.verify import CopyVerification, verify_copy

pytest_plugins = ["support.cutover"]  # the source, copy and clone fixtures
pytestmark = pytest.mark.slow

HEADER = ("TABLE", "SOURCE ROWS", "TARGET ROWS", "MAX PK", "STATUS")


@pytest.fixture(scope="session")
def exact_template(clones: Clones, copied_url: str) -> str:
    url = clones(copied_url, "cutover_exact")
    resync_sequences(database_from_url(url, application_name="test"))
    return url


@pytest.fixture
def copy_url(clones: Clones, exact_template: str) -> str:
    """An exact copy of the source, sequences resynced; each test damages its own."""
    return clones(exact_template, "cutover_copy")


def db(url: str) -> Database:
    return database_from_url(url, application_name="verify_copy")


def verify(source: str, target: str, **options: object) -> CopyVerification:
    return verify_copy(db(source), db(target), **options)  # type: ignore[arg-type]


def run_sql(url: str, statement: str) -> None:
    with connect(url) as conn:
        conn.execute(statement)


def expected_rows(counts: dict[str, int]) -> list[tuple[str, ...]]:
    """The summary rows of an exact copy."""
    rows = [
        ("Order Item", 2, "2"),
        ("auth_group", 3, "3"),
        ("auth_group_permissions", 1, "1"),
        ("auth_permission", counts["auth_permission"], str(counts["auth_permission"])),
        ("auth_user", 2, "2"),
        ("auth_user_groups", 2, "2"),
        ("auth_user_user_permissions", 1, "1"),
        ("countdown", 3, "-1"),
        ("django_content_type", counts["django_content_type"], str(counts["django_content_type"])),
        ("django_migrations", counts["django_migrations"], str(counts["django_migrations"])),
        ("empty_thing", 0, "-"),
        ("event_log", 3, "-"),
        ("invoice", 3, "1002"),
        ("ledger_always", 3, "3"),
        ("ledger_by_default", 3, "3"),
        ("legacy_bigserial", 4, "4"),
        ("legacy_serial", 5, "5"),
        ("membership", 3, "(2, 1)"),
        ("ticket", 2, "2"),
        ("ticket_archive", 2, "4"),
    ]
    return [
        (
            table,
            str(count),
            str(count),
            max_pk,
            "ok (no primary key)" if table == "event_log" else "ok",
        )
        for table, count, max_pk in rows
    ]


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """The summary table as printed: counts right-aligned, two spaces between columns."""
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(width) if index in (1, 2) else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(row) for row in [HEADER, *rows]]


def replaced(rows: list[tuple[str, ...]], table: str, **cells: str) -> list[tuple[str, ...]]:
    """The rows with some cells of one table's row replaced (by header name, lowercased)."""
    names = ["table", "source", "target", "max_pk", "status"]
    return [
        tuple(cells.get(names[i], cell) for i, cell in enumerate(row)) if row[0] == table else row
        for row in rows
    ]


def total_rows(counts: dict[str, int]) -> int:
    return sum(int(row[1]) for row in expected_rows(counts))


# --------------------------------------------------------------------------- the core


def test_an_exact_copy_passes_with_checksums(
    source_url: str, copy_url: str, django_counts: dict[str, int]
) -> None:
    result = verify(source_url, copy_url, checksum=True)

    assert result.lines() == aligned(expected_rows(django_counts))
    assert result.verdict() == (
        f"OK: 127.0.0.1/{dbname_of(copy_url)} is an exact copy of 127.0.0.1/"
        f'{dbname_of(source_url)} (schema "public"): 20 tables,'
        f" {total_rows(django_counts):,} rows; row counts, max primary keys, sequences and"
        " checksums match."
    )


def test_a_missing_table_is_a_mismatch(
    source_url: str, copy_url: str, django_counts: dict[str, int]
) -> None:
    run_sql(copy_url, "DROP TABLE event_log")

    result = verify(source_url, copy_url)

    rows = replaced(
        expected_rows(django_counts),
        "event_log",
        target="-",
        max_pk="-",
        status="missing in target",
    )
    assert result.lines() == aligned(rows)
    assert result.verdict() == (
        f"MISMATCH: 1 of 20 tables differ between 127.0.0.1/{dbname_of(source_url)} and"
        f" 127.0.0.1/{dbname_of(copy_url)}: event_log (missing in target)"
    )


def test_one_deleted_row_is_a_mismatch_in_row_counts(
    source_url: str, copy_url: str, django_counts: dict[str, int]
) -> None:
    run_sql(copy_url, "DELETE FROM legacy_serial WHERE id = 2")

    result = verify(source_url, copy_url)

    assert result.lines() == aligned(
        replaced(expected_rows(django_counts), "legacy_serial", target="4", status="rows differ")
    )
    assert [t.table for t in result.mismatches] == ["legacy_serial"]


def test_deleting_the_last_row_also_changes_the_max_primary_key(
    source_url: str, copy_url: str
) -> None:
    run_sql(copy_url, "DELETE FROM membership WHERE org_id = 2")

    result = verify(source_url, copy_url, tables=["membership"])

    assert result.lines() == aligned(
        [("membership", "3", "2", "(2, 1) ≠ (1, 2)", "rows differ; max pk differs")]
    )


def test_a_changed_value_passes_the_counts(source_url: str, copy_url: str) -> None:
    run_sql(copy_url, "UPDATE legacy_serial SET note = 'tampered' WHERE id = 3")

    assert verify(source_url, copy_url).ok


def test_a_changed_value_fails_the_checksum(
    source_url: str, copy_url: str, django_counts: dict[str, int]
) -> None:
    run_sql(copy_url, "UPDATE legacy_serial SET note = 'tampered' WHERE id = 3")

    result = verify(source_url, copy_url, checksum=True)

    assert result.lines() == aligned(
        replaced(expected_rows(django_counts), "legacy_serial", status="checksum differs")
    )


def test_the_checksum_sees_a_duplicated_row_in_a_table_without_primary_key(
    source_url: str, copy_url: str
) -> None:
    # Same count: one of the two identical 'started' rows became a second 'stopped' row.
    run_sql(
        copy_url,
        "UPDATE event_log SET happened_at = '2024-03-01 11:30:00+00', message = 'stopped'"
        " WHERE ctid = (SELECT min(ctid) FROM event_log WHERE message = 'started')",
    )

    result = verify(source_url, copy_url, checksum=True, tables=["event_log"])

    assert result.lines() == aligned([("event_log", "3", "3", "-", "checksum differs")])


def test_the_checksum_ignores_physical_row_and_column_order(source_url: str, copy_url: str) -> None:
    # Rewrite the table with its rows in reverse and its columns in another order.
    run_sql(
        copy_url,
        "CREATE TABLE ledger_copy AS SELECT amount, id FROM ledger_always ORDER BY id DESC;"
        "DROP TABLE ledger_always; ALTER TABLE ledger_copy RENAME TO ledger_always;"
        "ALTER TABLE ledger_always ADD PRIMARY KEY (id);",
    )

    result = verify(source_url, copy_url, checksum=True, tables=["ledger_always"])

    assert result.lines() == aligned([("ledger_always", "3", "3", "3", "ok")])


def test_checksum_mode_reports_columns_that_differ(source_url: str, copy_url: str) -> None:
    run_sql(copy_url, "ALTER TABLE invoice ADD COLUMN paid boolean")

    result = verify(source_url, copy_url, checksum=True, tables=["invoice"])

    assert result.lines() == aligned(
        [("invoice", "3", "3", "1002", "columns differ (only in target: paid)")]
    )


def test_sequences_behind_their_columns_in_the_target_are_a_mismatch(
    source_url: str, target_url: str
) -> None:
    result = verify(source_url, target_url, tables=["countdown", "empty_thing", "ticket"])

    assert result.lines() == aligned(
        [
            (
                "countdown",
                "3",
                "3",
                "-1",
                "sequence public.countdown_id_seq behind (next -1, min -3)",
            ),
            ("empty_thing", "0", "0", "-", "ok"),
            ("ticket", "2", "2", "2", "sequence public.ticket_number_seq behind (next 1, max 4)"),
        ]
    )
    assert result.verdict() == (
        f"MISMATCH: 2 of 3 tables differ between 127.0.0.1/{dbname_of(source_url)} and"
        f" 127.0.0.1/{dbname_of(target_url)}:"
        " countdown (sequence behind), ticket (sequence behind)"
    )


def test_every_table_with_rows_and_a_sequence_is_behind_before_resync(
    source_url: str, target_url: str
) -> None:
    result = verify(source_url, target_url)

    behind = {t.table for t in result.mismatches if "behind" in t.status}
    assert behind == {
        "Order Item",
        "auth_group",
        "auth_group_permissions",
        "auth_permission",
        "auth_user",
        "auth_user_groups",
        "auth_user_user_permissions",
        "countdown",
        "django_content_type",
        "django_migrations",
        "invoice",
        "ledger_always",
        "ledger_by_default",
        "legacy_bigserial",
        "legacy_serial",
        "ticket",
        "ticket_archive",
    }
    assert {t.table for t in result.mismatches} == behind
    assert result.verdict().endswith(" and 7 more")


def test_an_extra_table_is_a_mismatch_but_dms_control_tables_are_not(
    source_url: str, copy_url: str
) -> None:
    run_sql(
        copy_url,
        "CREATE TABLE scratch (id int); CREATE TABLE awsdms_apply_exceptions (error text);",
    )

    result = verify(source_url, copy_url)

    assert [
        (t.table, t.status)
        for t in result.tables
        if t.table in ("scratch", "awsdms_apply_exceptions")
    ] == [
        ("awsdms_apply_exceptions", "ignored (DMS control table)"),
        ("scratch", "extra in target"),
    ]
    assert [t.table for t in result.mismatches] == ["scratch"]


def test_a_requested_table_that_exists_nowhere_is_a_mismatch(
    source_url: str, copy_url: str
) -> None:
    result = verify(source_url, copy_url, tables=["invoice", "nope"])

    assert result.lines() == aligned(
        [
            ("invoice", "3", "3", "1002", "ok"),
            ("nope", "-", "-", "-", "not found in source nor target"),
        ]
    )


def test_a_schema_without_tables_on_either_side_is_an_error(source_url: str, copy_url: str) -> None:
    with pytest.raises(CutoverError) as raised:
        verify(source_url, copy_url, schema="typo")

    assert str(raised.value) == (
        f'schema "typo" has no tables in 127.0.0.1/{dbname_of(source_url)}'
        f" nor in 127.0.0.1/{dbname_of(copy_url)}"
    )


class CountedDatabase:
    """A Database whose connections are counted while open, to check the --jobs bound."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.open = self.peak = self.opened = 0
        self._lock = threading.Lock()
        counter = self

        class Counted(psycopg.Connection[TupleRow]):
            def close(self) -> None:
                if not self.closed:
                    with counter._lock:
                        counter.open -= 1
                super().close()

        self._connection_class = Counted

    def connect(self) -> Connection:
        conn = self._connection_class.connect(self.url, application_name="verify_copy")
        with self._lock:
            self.open += 1
            self.opened += 1
            self.peak = max(self.peak, self.open)
        return conn

    def database(self) -> Database:
        return Database(dbname_of(self.url), self.connect)


def test_two_jobs_use_at_most_two_connections_per_side_and_close_them(
    source_url: str, copy_url: str
) -> None:
    source, target = CountedDatabase(source_url), CountedDatabase(copy_url)
    seen: list[tuple[int, int]] = []

    result = verify_copy(
        source.database(),
        target.database(),
        checksum=True,
        jobs=2,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert result.ok
    assert (source.peak, target.peak) == (2, 2)
    # The catalog connection of each side measures tables too: two workers, two connections.
    assert (source.opened, target.opened) == (2, 2)
    assert (source.open, target.open) == (0, 0)
    assert seen == [(done, 20) for done in range(21)]


def test_every_session_is_read_only(source_url: str, copy_url: str) -> None:
    read_only: list[object] = []

    class Recorded(psycopg.Connection[TupleRow]):
        def close(self) -> None:
            if not self.closed:  # what a write in this session would meet
                read_only.append(self.execute("SHOW transaction_read_only").fetchone())
            super().close()

    def database(url: str) -> Database:
        return Database(dbname_of(url), lambda: Recorded.connect(url))

    assert verify_copy(database(source_url), database(copy_url), jobs=2).ok
    assert read_only  # one session per side at least, all closed
    assert set(read_only) == {("on",)}


class TracedDatabase:
    """A Database whose connections write libpq's protocol trace, to count round trips.

    The client waits for the server once per request it sends (a simple Query, or a
    Parse/Bind/Execute batch ending in Sync), and the server ends each answer with one
    ReadyForQuery. Tracing starts after the connection is made, so connecting is not
    counted; a transaction's BEGIN and COMMIT are, like any other statement.
    """

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        directory.mkdir(parents=True)
        self._traces: list[IO[str]] = []  # open until read: libpq writes into them
        self._lock = threading.Lock()

    def connect(self) -> Connection:
        conn = psycopg.connect(self.url, application_name="verify_copy")
        with self._lock:
            trace = (self.directory / f"{len(self._traces)}.trace").open("w")
            self._traces.append(trace)
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        return conn

    def database(self) -> Database:
        return Database(dbname_of(self.url), self.connect)

    def round_trips(self) -> int:
        """ReadyForQuery messages on every connection; call after they are all closed."""
        count = 0
        for trace in self._traces:
            trace.close()
            lines = Path(trace.name).read_text().splitlines()
            count += sum(line.startswith("B\t") and "\tReadyForQuery\t" in line for line in lines)
        return count


def round_trips(
    source_url: str, target_url: str, directory: Path, tables: list[str], *, checksum: bool
) -> tuple[int, int]:
    """Round trips on each side for verifying ``tables`` on one connection per side."""
    source = TracedDatabase(source_url, directory / "source")
    target = TracedDatabase(target_url, directory / "target")
    result = verify_copy(
        source.database(), target.database(), tables=tables, checksum=checksum, jobs=1
    )
    assert [t.table for t in result.tables] == sorted(tables)
    return source.round_trips(), target.round_trips()


@pytest.mark.parametrize("checksum", [False, True], ids=["counts", "checksums"])
def test_each_table_costs_one_round_trip_per_side(
    source_url: str, copy_url: str, tmp_path: Path, checksum: bool
) -> None:
    # Tables of every kind: composite key, no key, empty, a shared and a descending sequence.
    few = ["membership", "event_log", "empty_thing"]
    many = [*few, "countdown", "ticket", "ticket_archive", "invoice", "auth_permission"]

    source_few, target_few = round_trips(
        source_url, copy_url, tmp_path / "few", few, checksum=checksum
    )
    source_many, target_many = round_trips(
        source_url, copy_url, tmp_path / "many", many, checksum=checksum
    )

    # The session settings and the catalog once per side (plus, in the target, the
    # sequences and their columns' extremes in one query), then one statement per table.
    assert (source_few, target_few) == (2 + len(few), 4 + len(few))
    assert (source_many, target_many) == (2 + len(many), 4 + len(many))


# ---------------------------------------------------------------- the command itself


def test_command_exits_0_on_an_exact_copy(
    manage: Manage, source_url: str, copy_url: str, django_counts: dict[str, int]
) -> None:
    run = manage(
        "verify_copy",
        "--source",
        with_password(source_url),
        "--target",
        with_password(copy_url),
        "--checksum",
        "--jobs",
        "2",
        databases={},
    )

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.splitlines() == [
        *aligned(expected_rows(django_counts)),
        f"OK: 127.0.0.1/{dbname_of(copy_url)} is an exact copy of 127.0.0.1/"
        f'{dbname_of(source_url)} (schema "public"): 20 tables,'
        f" {total_rows(django_counts):,} rows; row counts, max primary keys, sequences and"
        " checksums match.",
    ]
    assert "\r" not in run.stdout  # no progress line when stdout is not a terminal
    assert "Sup3r" not in run.stdout + run.stderr


def test_command_exits_1_with_a_one_line_verdict_on_a_mismatch(
    manage: Manage, source_url: str, copy_url: str
) -> None:
    run_sql(copy_url, "DELETE FROM auth_user_groups WHERE id = 1")

    run = manage(
        "verify_copy",
        "--source",
        "source",
        "--target",
        "copy",
        "--tables",
        "auth_user_groups,auth_group",
        databases={"source": with_password(source_url), "copy": with_password(copy_url)},
    )

    assert run.returncode == 1
    assert run.stdout.splitlines() == aligned(
        [("auth_group", "3", "3", "3", "ok"), ("auth_user_groups", "2", "1", "2", "rows differ")]
    )
    assert run.stderr == (
        f"CommandError: MISMATCH: 1 of 2 tables differ between source (127.0.0.1/"
        f"{dbname_of(source_url)}) and copy (127.0.0.1/{dbname_of(copy_url)}):"
        " auth_user_groups (rows differ)\n"
    )
    assert "Sup3r" not in run.stdout + run.stderr


def test_command_shows_progress_on_a_terminal(
    manage: Manage, source_url: str, copy_url: str
) -> None:
    run = manage(
        "verify_copy", "--source", source_url, "--target", copy_url, databases={}, tty=True
    )

    assert run.returncode == 0, run.stderr
    progress, _, table = run.stdout.partition("\n")
    assert progress.startswith("\r[0/20] tables verified\r[1/20] tables verified")
    assert progress.endswith("\r[20/20] tables verified")
    assert table.startswith("TABLE ")


def test_command_names_an_unknown_alias(manage: Manage, copy_url: str) -> None:
    run = manage("verify_copy", "--source", "old", "--target", "copy", databases={"copy": copy_url})

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        "CommandError: 'old' is neither a DATABASES alias (defined: copy, default)"
        " nor a postgres:// URL\n"
    )


def test_command_reports_an_unreachable_source_without_its_password(
    manage: Manage, source_url: str, copy_url: str
) -> None:
    run = manage(
        "verify_copy",
        "--source",
        with_password(source_url).replace(":5432/", ":1/"),
        "--target",
        with_password(copy_url),
        databases={},
    )

    assert run.returncode == 1
    assert run.stderr.startswith(
        f"CommandError: cannot connect to 127.0.0.1/{dbname_of(source_url)}: "
    )
    assert "Sup3r" not in run.stdout + run.stderr
