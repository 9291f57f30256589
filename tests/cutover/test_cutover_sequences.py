"""resync_sequences against a data-only copy, as AWS DMS leaves it, on real PostgreSQL.

The source and the copy (its sequences still at their start) come from tests/support/cutover.py.
Each test works on its own clone of that copy.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from support.cutover import Manage, connect, with_password
from support.postgres import DatabaseFactory, dbname_of

from django_aws_settings.cutover import CutoverError, database_from_url
from django_aws_settings.cutover.sequences import resync_sequences

pytest_plugins = ["support.cutover"]  # the source, copy and clone fixtures
pytestmark = pytest.mark.slow

# One insert per table with a sequence, relying on the sequence for the id.
INSERTS = {
    "Order Item": 'INSERT INTO "Order Item" ("Quantity") VALUES (1)',
    "auth_group": "INSERT INTO auth_group (name) VALUES ('newcomers')",
    "auth_group_permissions": (
        "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (2, 1)"
    ),
    "auth_permission": (
        "INSERT INTO auth_permission (name, content_type_id, codename)"
        " VALUES ('Can audit', 1, 'audit')"
    ),
    "auth_user": (
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
        " email, is_staff, is_active, date_joined)"
        " VALUES ('!', false, 'grace', '', '', '', false, true, now())"
    ),
    "auth_user_groups": "INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 2)",
    "auth_user_user_permissions": (
        "INSERT INTO auth_user_user_permissions (user_id, permission_id) VALUES (2, 1)"
    ),
    "countdown": "INSERT INTO countdown (label) VALUES ('zero')",
    "django_content_type": (
        "INSERT INTO django_content_type (app_label, model) VALUES ('audit', 'entry')"
    ),
    "django_migrations": (
        "INSERT INTO django_migrations (app, name, applied) VALUES ('audit', '0001', now())"
    ),
    "empty_thing": "INSERT INTO empty_thing (name) VALUES ('first')",
    "invoice": "INSERT INTO invoice (customer) VALUES ('hooli')",
    "ledger_always": "INSERT INTO ledger_always (amount) VALUES (1)",
    "ledger_by_default": "INSERT INTO ledger_by_default (amount) VALUES (4)",
    "legacy_bigserial": "INSERT INTO legacy_bigserial (note) VALUES ('new')",
    "legacy_serial": "INSERT INTO legacy_serial (note) VALUES ('new')",
    "ticket": "INSERT INTO ticket (title) VALUES ('fifth')",
    "ticket_archive": "INSERT INTO ticket_archive (title) VALUES ('sixth')",
}
ID_COLUMNS = {"invoice": "invoice_no", "ticket": "number", "ticket_archive": "number"}


# ------------------------------------------------------------------------ helpers


def sequence_positions(url: str) -> dict[str, tuple[int, bool]]:
    """(last_value, is_called) of every sequence in public."""
    with connect(url) as conn:
        names = conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'S'"
            " AND relnamespace = 'public'::regnamespace"
        ).fetchall()
        positions = {}
        for (name,) in names:
            row = conn.execute(
                sql.SQL("SELECT last_value, is_called FROM {}").format(
                    sql.Identifier("public", str(name))
                )
            ).fetchone()
            assert row is not None
            positions[str(name)] = (int(str(row[0])), bool(row[1]))
    return positions


def try_inserts(url: str) -> dict[str, int | str]:
    """For each table: the id its insert got, or the constraint it violated. Rolled back."""
    results: dict[str, int | str] = {}
    with psycopg.connect(url) as conn:
        for table, statement in INSERTS.items():
            column = ID_COLUMNS.get(table, "id")
            try:
                with conn.transaction(force_rollback=True):
                    row = conn.execute(f"{statement} RETURNING {column}").fetchone()
                    assert row is not None
                    results[table] = int(str(row[0]))
            except psycopg.errors.UniqueViolation as error:
                results[table] = f"duplicate key: {error.diag.constraint_name}"
    return results


def expected_rows(counts: dict[str, int]) -> list[tuple[str, ...]]:
    """The report rows for the copied target: every sequence behind, except empty_thing's."""
    permissions = counts["auth_permission"]
    content_types = counts["django_content_type"]
    migrations = counts["django_migrations"]
    return [
        ("Order Item", "id", 'public."Order Item_id_seq"', "2", "1 → 3"),
        ("auth_group", "id", "public.auth_group_id_seq", "3", "1 → 4"),
        ("auth_group_permissions", "id", "public.auth_group_permissions_id_seq", "1", "1 → 2"),
        ("auth_permission", "id", "public.auth_permission_id_seq", str(permissions),
         f"1 → {permissions + 1}"),
        ("auth_user", "id", "public.auth_user_id_seq", "2", "1 → 3"),
        ("auth_user_groups", "id", "public.auth_user_groups_id_seq", "2", "1 → 3"),
        ("auth_user_user_permissions", "id", "public.auth_user_user_permissions_id_seq", "1",
         "1 → 2"),
        ("countdown", "id", "public.countdown_id_seq", "-3 (min)", "-1 → -4"),
        ("django_content_type", "id", "public.django_content_type_id_seq", str(content_types),
         f"1 → {content_types + 1}"),
        ("django_migrations", "id", "public.django_migrations_id_seq", str(migrations),
         f"1 → {migrations + 1}"),
        ("invoice", "invoice_no", "public.invoice_invoice_no_seq", "1002", "1000 → 1003"),
        ("ledger_always", "id", "public.ledger_always_id_seq", "3", "1 → 4"),
        ("ledger_by_default", "id", "public.ledger_by_default_id_seq", "3", "1 → 4"),
        ("legacy_bigserial", "id", "public.legacy_bigserial_id_seq", "4", "1 → 5"),
        ("legacy_serial", "id", "public.legacy_serial_id_seq", "5", "1 → 6"),
        ("ticket", "number", "public.ticket_number_seq", "2", "1 → 5"),
        ("ticket_archive", "number", "public.ticket_number_seq", "4", "1 → 5"),
    ]  # fmt: skip


def aligned(rows: list[tuple[str, ...]]) -> str:
    """The report table as the command prints it: two spaces between left-aligned columns."""
    header = ("TABLE", "COLUMN", "SEQUENCE", "COLUMN MAX", "NEXT VALUE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


# --------------------------------------------------------------------------- tests


def test_inserts_collide_on_every_primary_key_after_a_data_only_copy(target_url: str) -> None:
    collisions = {table: f"duplicate key: {table}_pkey" for table in INSERTS}

    assert try_inserts(target_url) == {
        **collisions,
        "empty_thing": 1,  # nothing to collide with
        # The shared sequence hands out 2 after ticket's failed insert took 1: no key
        # violation in this table, but ticket already holds 2.
        "ticket_archive": 2,
    }


def test_resync_lets_every_table_insert_with_the_next_id(
    target_url: str, django_counts: dict[str, int]
) -> None:
    resync_sequences(database_from_url(target_url, application_name="test"))

    assert try_inserts(target_url) == {
        "Order Item": 3,
        "auth_group": 4,
        "auth_group_permissions": 2,
        "auth_permission": django_counts["auth_permission"] + 1,
        "auth_user": 3,
        "auth_user_groups": 3,
        "auth_user_user_permissions": 2,
        "countdown": -4,  # a descending identity goes on downwards
        "django_content_type": django_counts["django_content_type"] + 1,
        "django_migrations": django_counts["django_migrations"] + 1,
        "empty_thing": 1,
        "invoice": 1003,
        "ledger_always": 4,
        "ledger_by_default": 4,
        "legacy_bigserial": 5,
        "legacy_serial": 6,
        "ticket": 5,  # one sequence shared by two tables passes the highest of both
        "ticket_archive": 6,
    }


def test_resync_reports_each_change_and_the_verdict(
    target_url: str, django_counts: dict[str, int]
) -> None:
    result = resync_sequences(database_from_url(target_url, application_name="test"))

    dbname = dbname_of(target_url)
    assert "\n".join(result.lines()) == (
        aligned(expected_rows(django_counts))
        + f'\nAdvanced 16 of 17 sequences in schema "public" of 127.0.0.1/{dbname}'
        " in one transaction."
    )


def test_a_second_resync_changes_nothing(target_url: str) -> None:
    database = database_from_url(target_url, application_name="test")
    resync_sequences(database)
    positions = sequence_positions(target_url)

    again = resync_sequences(database)

    assert again.lines() == [
        f'All 17 sequences in schema "public" of 127.0.0.1/{dbname_of(target_url)}'
        " are already past their columns; nothing to change."
    ]
    assert sequence_positions(target_url) == positions


def test_dry_run_plans_the_same_changes_and_changes_nothing(
    target_url: str, django_counts: dict[str, int]
) -> None:
    before = sequence_positions(target_url)

    plan = resync_sequences(database_from_url(target_url, application_name="test"), dry_run=True)

    dbname = dbname_of(target_url)
    assert "\n".join(plan.lines()) == (
        aligned(expected_rows(django_counts))
        + f'\nDry run: 16 of 17 sequences in schema "public" of 127.0.0.1/{dbname}'
        " are behind their columns and would be advanced; nothing was changed."
    )
    assert sequence_positions(target_url) == before


def test_a_sequence_ahead_of_its_column_is_never_moved_back(target_url: str) -> None:
    with connect(target_url) as conn:
        conn.execute("SELECT setval('legacy_serial_id_seq', 100)")

    result = resync_sequences(database_from_url(target_url, application_name="test"))

    assert "legacy_serial" not in {c.table for s in result.changes for c in s.columns}
    assert sequence_positions(target_url)["legacy_serial_id_seq"] == (100, True)


def test_an_empty_table_whose_sequence_is_below_its_start_goes_back_to_start(
    make_database: DatabaseFactory,
) -> None:
    url = make_database("cutover_empty")
    with connect(url) as conn:
        conn.execute(
            "CREATE TABLE slot (id integer GENERATED BY DEFAULT AS IDENTITY"
            " (START WITH 50 MINVALUE 1) PRIMARY KEY)"
        )
        conn.execute("SELECT setval('slot_id_seq', 10)")

    result = resync_sequences(database_from_url(url, application_name="test"))

    assert result.lines()[:2] == [
        "TABLE  COLUMN  SEQUENCE            COLUMN MAX  NEXT VALUE",
        "slot   id      public.slot_id_seq  empty       11 → 50",
    ]
    assert sequence_positions(url) == {"slot_id_seq": (50, False)}


def test_a_column_past_its_sequence_maximum_stops_the_whole_resync(
    make_database: DatabaseFactory,
) -> None:
    url = make_database("cutover_full")
    with connect(url) as conn:
        conn.execute(
            "CREATE TABLE tiny (id smallint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);"
            "CREATE TABLE roomy (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);"
            "INSERT INTO tiny VALUES (32767); INSERT INTO roomy VALUES (1), (2);"
        )

    with pytest.raises(CutoverError) as raised:
        resync_sequences(database_from_url(url, application_name="test"))

    assert str(raised.value) == (
        "cannot resync, nothing changed: public.tiny_id_seq: its columns need next value"
        " 32768, beyond its MAXVALUE 32767 (ALTER SEQUENCE ... MAXVALUE or AS bigint)"
    )
    assert sequence_positions(url) == {"roomy_id_seq": (1, False), "tiny_id_seq": (1, False)}


def test_resync_fails_instead_of_waiting_while_a_writer_holds_a_table(target_url: str) -> None:
    before = sequence_positions(target_url)
    with psycopg.connect(target_url) as writer:
        writer.execute("INSERT INTO legacy_serial (id, note) VALUES (99, 'in flight')")

        with pytest.raises(CutoverError) as raised:
            resync_sequences(
                database_from_url(target_url, application_name="test"), lock_timeout=0.2
            )
        writer.rollback()

    assert str(raised.value) == (
        f"tables in schema 'public' of 127.0.0.1/{dbname_of(target_url)} are still being"
        " written (no lock within 0.2 s); stop the writers, then run again; nothing changed"
    )
    assert sequence_positions(target_url) == before


def test_resync_covers_only_the_schema_it_is_given(target_url: str) -> None:
    with connect(target_url) as conn:
        conn.execute(
            'CREATE SCHEMA "Billing";'
            'CREATE TABLE "Billing".charge (id bigserial PRIMARY KEY);'
            'INSERT INTO "Billing".charge VALUES (7);'
        )
    before = sequence_positions(target_url)

    result = resync_sequences(
        database_from_url(target_url, application_name="test"), schema="Billing"
    )

    assert result.lines()[:2] == [
        "TABLE   COLUMN  SEQUENCE                 COLUMN MAX  NEXT VALUE",
        'charge  id      "Billing".charge_id_seq  7           1 → 8',
    ]
    assert sequence_positions(target_url) == before  # public untouched


def test_an_unknown_schema_is_an_error(target_url: str) -> None:
    with pytest.raises(CutoverError) as raised:
        resync_sequences(database_from_url(target_url, application_name="test"), schema="nope")

    assert str(raised.value) == (
        f"schema 'nope' does not exist in 127.0.0.1/{dbname_of(target_url)}"
    )


# ----------------------------------------------------------------- the command itself


def test_command_dry_run_then_apply_then_nothing_left_to_do(
    manage: Manage, target_url: str, django_counts: dict[str, int]
) -> None:
    url = with_password(target_url)
    dbname = dbname_of(target_url)
    where = f'in schema "public" of 127.0.0.1/{dbname}'
    table = aligned(expected_rows(django_counts))

    dry = manage("resync_sequences", "--url", url, "--dry-run", databases={})
    applied = manage("resync_sequences", "--url", url, databases={})
    again = manage("resync_sequences", "--url", url, databases={})

    assert (dry.returncode, dry.stderr) == (0, "")
    assert dry.stdout == (
        f"{table}\nDry run: 16 of 17 sequences {where} are behind their columns"
        " and would be advanced; nothing was changed.\n"
    )
    assert (applied.returncode, applied.stderr) == (0, "")
    assert applied.stdout == f"{table}\nAdvanced 16 of 17 sequences {where} in one transaction.\n"
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == (
        f"All 17 sequences {where} are already past their columns; nothing to change.\n"
    )
    for run in (dry, applied, again):
        assert "Sup3r" not in run.stdout + run.stderr


def test_command_resyncs_a_django_alias_and_lists_everything_at_verbosity_2(
    manage: Manage, target_url: str, django_counts: dict[str, int]
) -> None:
    rows = expected_rows(django_counts)
    unchanged = ("empty_thing", "id", "public.empty_thing_id_seq", "empty", "1")
    rows.insert(rows.index(next(r for r in rows if r[0] == "invoice")), unchanged)

    run = manage(
        "resync_sequences",
        "--database",
        "copy",
        "-v",
        "2",
        databases={"default": with_password(target_url), "copy": with_password(target_url)},
    )

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == (
        f'{aligned(rows)}\nAdvanced 16 of 17 sequences in schema "public" of copy'
        f" (127.0.0.1/{dbname_of(target_url)}) in one transaction.\n"
    )
    assert "Sup3r" not in run.stdout


def test_command_reports_an_unreachable_database_without_its_password(
    manage: Manage, target_url: str
) -> None:
    url = with_password(target_url).replace(":5432/", ":1/")

    run = manage("resync_sequences", "--url", url, databases={})

    assert run.returncode == 1
    assert run.stderr.startswith("CommandError: cannot connect to 127.0.0.1/")
    assert "Sup3r" not in run.stdout + run.stderr


def test_command_rejects_a_url_it_cannot_parse_without_echoing_it(manage: Manage) -> None:
    run = manage("resync_sequences", "--url", "postgres://u:Sup3r%zz@127.0.0.1/db", databases={})

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        "CommandError: cannot parse the database URL: expected"
        " postgres://user:password@host:port/dbname with special characters in the"
        " password percent-encoded\n"
    )
