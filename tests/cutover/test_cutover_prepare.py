"""prepare_copy_target on real PostgreSQL: empty the migrated target before a data-only copy.

The target here is the data-only copy from tests/support/cutover.py (Django's auth tables with
their foreign keys, the raw tables, rows in both), cloned per test: exactly what a
migrated target with rows from migrate, post_migrate and testers looks like to a TRUNCATE.
"""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from psycopg import sql
from support.cutover import Manage, connect, with_password
from support.moto_server import Aws
from support.postgres import DatabaseFactory, dbname_of
from support.processes import unique_name

from django_aws_settings.cutover import CutoverError, database_from_url
from django_aws_settings.cutover.prepare import prepare_copy_target

pytest_plugins = ["support.cutover"]  # the source, copy and clone fixtures
pytestmark = pytest.mark.slow

# Rows of the copy, as SOURCE_ROWS in tests/support/cutover.py writes them; the three tables
# that Django's migrate fills depend on the Django version and come from django_counts.
RAW_ROWS = {
    '"Order Item"': 2,
    "auth_group": 3,
    "auth_group_permissions": 1,
    "auth_user": 2,
    "auth_user_groups": 2,
    "auth_user_user_permissions": 1,
    "countdown": 3,
    "empty_thing": 0,
    "event_log": 3,
    "invoice": 3,
    "ledger_always": 3,
    "ledger_by_default": 3,
    "legacy_bigserial": 4,
    "legacy_serial": 5,
    "membership": 3,
    "ticket": 2,
    "ticket_archive": 2,
}

# Records every TRUNCATE statement that reaches a public table, in another schema.
WITNESS = """
CREATE SCHEMA witness;
CREATE TABLE witness.truncation (tbl text, query text, tx bigint);
CREATE FUNCTION witness.record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO witness.truncation VALUES (TG_TABLE_NAME, current_query(), txid_current());
    RETURN NULL;
END $$;
DO $$ DECLARE t regclass; BEGIN
    FOR t IN SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace
                                        AND relkind = 'r' LOOP
        EXECUTE format('CREATE TRIGGER witness AFTER TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION witness.record()', t);
    END LOOP;
END $$;
"""


# ------------------------------------------------------------------------ helpers


def expected_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(table, rows) of the copy's public schema, in the order the command lists them."""
    rows = {**RAW_ROWS, **counts}
    return sorted((f"public.{table}", n) for table, n in rows.items())


def aligned(rows: list[tuple[str, int]]) -> str:
    """The table as printed: names left-aligned, counts right-aligned."""
    cells = [("TABLE", "ROWS"), *((name, f"{n:,}") for name, n in rows)]
    width = max(len(name) for name, _ in cells)
    count_width = max(len(n) for _, n in cells)
    return "\n".join(f"{name.ljust(width)}  {n.rjust(count_width)}" for name, n in cells)


def row_counts(url: str, schema: str = "public") -> dict[str, int]:
    """count(*) of every ordinary and partitioned table of a schema."""
    with connect(url) as conn:
        names = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace"
            " AND relkind IN ('r', 'p')",
            [schema],
        ).fetchall()
        counts = {}
        for (name,) in names:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, str(name)))
            row = conn.execute(query).fetchone()
            assert row is not None
            counts[str(name)] = int(str(row[0]))
    return counts


def quoted(name: str) -> str:
    """A table name as psycopg's sql.Identifier writes it, from the schema-less display."""
    table = name.removeprefix("public.").strip('"')
    return '"' + table.replace('"', '""') + '"'


def run_sql(url: str, statements: str) -> None:
    with connect(url) as conn:
        conn.execute(statements)


def first_ids(url: str) -> dict[str, int]:
    """The id the next insert gets in tables whose sequences TRUNCATE restarts. Rolled back."""
    inserts = {
        "auth_group": "INSERT INTO auth_group (name) VALUES ('new') RETURNING id",
        "django_content_type": (
            "INSERT INTO django_content_type (app_label, model) VALUES ('a', 'b') RETURNING id"
        ),
        "legacy_serial": "INSERT INTO legacy_serial (note) VALUES ('new') RETURNING id",
        "ledger_always": "INSERT INTO ledger_always (amount) VALUES (1) RETURNING id",
        "invoice": "INSERT INTO invoice (customer) VALUES ('hooli') RETURNING invoice_no",
        "countdown": "INSERT INTO countdown (label) VALUES ('zero') RETURNING id",
    }
    ids = {}
    with psycopg.connect(url) as conn:
        for table, statement in inserts.items():
            with conn.transaction(force_rollback=True):
                row = conn.execute(statement).fetchone()
                assert row is not None
                ids[table] = int(str(row[0]))
    return ids


# --------------------------------------------------------------------- dry run


def test_dry_run_lists_every_table_with_its_rows_and_changes_nothing(
    manage: Manage, target_url: str, django_counts: dict[str, int]
) -> None:
    before = row_counts(target_url)
    rows = expected_rows(django_counts)
    dbname = dbname_of(target_url)

    run = manage("prepare_copy_target", "--url", with_password(target_url), databases={})

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == (
        f"{aligned(rows)}\n"
        f'Dry run: 20 tables in schema "public" of 127.0.0.1/{dbname} hold'
        f" {sum(n for _, n in rows):,} rows (exact counts); nothing was changed.\n"
        "To empty them in one TRUNCATE ... RESTART IDENTITY, run again with"
        f" --yes {dbname}\n"
    )
    assert "Sup3r" not in run.stdout
    assert row_counts(target_url) == before


def test_big_tables_are_estimated_and_unanalyzed_ones_shown_as_unknown(
    target_url: str, django_counts: dict[str, int]
) -> None:
    run_sql(
        target_url,
        "ANALYZE; CREATE TABLE fresh (id serial PRIMARY KEY);"
        " INSERT INTO fresh SELECT generate_series(1, 10);",
    )

    # A limit of 0 bytes: every table with a page is "big"; empty_thing has no page.
    result = prepare_copy_target(
        database_from_url(target_url, application_name="test"), exact_count_limit=0
    )

    cells = {table.name: table.cell() for table in result.tables}
    assert (cells["public.legacy_serial"], cells["public.membership"]) == ("~5", "~3")
    assert (cells["public.empty_thing"], cells["public.fresh"]) == ("0", "?")
    # ANALYZE reads every row of a small table: these estimates are the counts.
    total = sum(n for _, n in expected_rows(django_counts))
    assert result.verdict() == (
        f'Dry run: 21 tables in schema "public" of 127.0.0.1/{dbname_of(target_url)} hold'
        f" at least {total:,} rows (~: pg_class.reltuples estimate for tables over 0 MB,"
        " ?: not analyzed yet; the other counts are exact); nothing was changed."
    )


# ------------------------------------------------------------------------- --yes


def test_a_yes_that_is_not_the_database_name_is_refused(manage: Manage, target_url: str) -> None:
    before = row_counts(target_url)

    run = manage(
        "prepare_copy_target", "--yes", "shop", databases={"default": with_password(target_url)}
    )

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f"CommandError: refusing to empty default (127.0.0.1/{dbname_of(target_url)}): the"
        f" confirmation (--yes) names 'shop', but this database is"
        f" '{dbname_of(target_url)}'; nothing changed\n"
    )
    assert row_counts(target_url) == before


def test_yes_empties_every_table_in_one_statement_and_restarts_identity(
    manage: Manage, target_url: str, django_counts: dict[str, int]
) -> None:
    run_sql(target_url, WITNESS)
    rows = expected_rows(django_counts)
    dbname = dbname_of(target_url)

    run = manage(
        "prepare_copy_target", "--database", "copy", "--yes", dbname,
        databases={"default": target_url, "copy": with_password(target_url)},
    )  # fmt: skip

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == (
        f'Emptied 20 tables in schema "public" of copy (127.0.0.1/{dbname}) in one TRUNCATE'
        f" ... RESTART IDENTITY: {sum(n for _, n in rows):,} rows removed (exact counts).\n"
    )
    assert row_counts(target_url) == dict.fromkeys(row_counts(target_url), 0)
    assert len(row_counts(target_url)) == 20
    with connect(target_url) as conn:
        seen = conn.execute("SELECT tbl, query, tx FROM witness.truncation").fetchall()
    assert sorted(str(table) for table, _, _ in seen) == sorted(
        name.removeprefix("public.").strip('"') for name, _ in rows
    )
    # One statement in one transaction, listing every table, without CASCADE.
    listed = ", ".join(f'"public".{quoted(name)}' for name, _ in rows)
    assert {(str(q), tx) for _, q, tx in seen} == {
        (f"TRUNCATE TABLE {listed} RESTART IDENTITY", seen[0][2])
    }
    # Owned sequences (serial, identity) start again: the copy's ids fit without collisions.
    assert first_ids(target_url) == {
        "auth_group": 1,
        "django_content_type": 1,
        "legacy_serial": 1,
        "ledger_always": 1,
        "invoice": 1000,  # identity START WITH 1000
        "countdown": -1,  # descending
    }


# ------------------------------------------------------------- what is (not) emptied

OTHER_RELATIONS = """
CREATE TABLE reading (taken date NOT NULL, value integer) PARTITION BY RANGE (taken);
CREATE TABLE reading_2024 PARTITION OF reading FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE reading_2025 PARTITION OF reading FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO reading VALUES ('2024-05-01', 1), ('2025-05-01', 2), ('2025-06-01', 3);
CREATE TABLE note (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body text);
INSERT INTO note (body) VALUES ('one'), ('two');
CREATE VIEW recent_note AS SELECT * FROM note;
CREATE MATERIALIZED VIEW note_count AS SELECT count(*) AS n FROM note;
CREATE FOREIGN DATA WRAPPER nowhere;
CREATE SERVER nowhere FOREIGN DATA WRAPPER nowhere;
CREATE FOREIGN TABLE remote_note (id integer) SERVER nowhere;
CREATE TABLE srid (code integer PRIMARY KEY);
INSERT INTO srid VALUES (4326), (3857);
ALTER EXTENSION plpgsql ADD TABLE srid;  -- as PostGIS's spatial_ref_sys belongs to postgis
"""


def test_partitions_go_with_their_parent_and_other_relations_are_left_alone(
    make_database: DatabaseFactory,
) -> None:
    url = make_database("prepare_relations")
    run_sql(url, OTHER_RELATIONS)
    database = database_from_url(url, application_name="test")
    where = f'schema "public" of 127.0.0.1/{dbname_of(url)}'

    plan = prepare_copy_target(database)
    done = prepare_copy_target(database, confirm=dbname_of(url))

    assert plan.lines() == [
        "TABLE           ROWS",
        "public.note        2",
        "public.reading     3",
        "Left alone (extension data): public.srid (plpgsql).",
        f"Dry run: 2 tables in {where} hold 5 rows (exact counts); nothing was changed.",
    ]
    assert done.lines(table=False) == [
        f"Emptied 2 tables in {where} in one TRUNCATE ... RESTART IDENTITY: 5 rows removed"
        " (exact counts)."
    ]
    assert row_counts(url) == {
        "note": 0, "reading": 0, "reading_2024": 0, "reading_2025": 0, "srid": 2,
    }  # fmt: skip
    with connect(url) as conn:
        assert conn.execute("SELECT n FROM note_count").fetchone() == (2,)  # not refreshed


def test_an_empty_schema_has_nothing_to_empty(make_database: DatabaseFactory) -> None:
    url = make_database("prepare_empty")
    database = database_from_url(url, application_name="test")

    result = prepare_copy_target(database, confirm=dbname_of(url))

    assert result.lines() == [
        f'No tables in schema "public" of 127.0.0.1/{dbname_of(url)}; nothing to empty.'
    ]


def test_a_foreign_key_from_another_schema_is_refused_unless_that_schema_is_named(
    target_url: str,
) -> None:
    run_sql(
        target_url,
        "CREATE SCHEMA audit; CREATE SCHEMA billing;"
        " CREATE TABLE audit.entry (id serial PRIMARY KEY,"
        "   actor_id integer CONSTRAINT entry_actor REFERENCES public.auth_user);"
        " INSERT INTO audit.entry (actor_id) VALUES (1);"
        " CREATE TABLE billing.charge (id serial PRIMARY KEY); INSERT INTO billing.charge"
        " VALUES (DEFAULT);",
    )
    database = database_from_url(target_url, application_name="test")
    before = row_counts(target_url)
    dbname = dbname_of(target_url)

    for confirm in (None, dbname):
        with pytest.raises(CutoverError) as raised:
            prepare_copy_target(database, confirm=confirm)
        assert str(raised.value) == (
            f'refusing to empty schema "public" of 127.0.0.1/{dbname}: foreign keys from'
            " outside point at its tables: audit.entry (entry_actor → public.auth_user)"
            " (TRUNCATE would have to empty those too; add their schema with --schema, or"
            " drop those foreign keys for the copy); nothing changed"
        )
    assert row_counts(target_url) == before

    both = prepare_copy_target(database, ["public", "audit"], confirm=dbname)

    assert [t.name for t in both.tables][:2] == ["audit.entry", 'public."Order Item"']
    assert both.emptied
    assert row_counts(target_url, "audit") == {"entry": 0}
    assert set(row_counts(target_url).values()) == {0}
    assert row_counts(target_url, "billing") == {"charge": 1}  # never named, never touched


def test_a_partition_in_another_schema_is_refused(target_url: str) -> None:
    run_sql(
        target_url,
        "CREATE SCHEMA archive;"
        " CREATE TABLE reading (taken date NOT NULL) PARTITION BY RANGE (taken);"
        " CREATE TABLE archive.reading_2023 PARTITION OF reading"
        "   FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        " INSERT INTO reading VALUES ('2023-05-01');",
    )

    with pytest.raises(CutoverError) as raised:
        prepare_copy_target(
            database_from_url(target_url, application_name="test"),
            confirm=dbname_of(target_url),
        )

    assert str(raised.value) == (
        f'refusing to empty schema "public" of 127.0.0.1/{dbname_of(target_url)}: emptying'
        " its tables would also empty archive.reading_2023 (in schema 'archive', a partition"
        " or child of public.reading) (add their schema with --schema, or detach them for"
        " the copy); nothing changed"
    )
    assert row_counts(target_url, "archive") == {"reading_2023": 1}


def test_system_and_unknown_schemas_are_refused(target_url: str) -> None:
    database = database_from_url(target_url, application_name="test")

    with pytest.raises(CutoverError) as system:
        prepare_copy_target(database, ["public", "pg_catalog"], confirm=dbname_of(target_url))
    with pytest.raises(CutoverError) as unknown:
        prepare_copy_target(database, ["public", "nope"])

    assert str(system.value) == (
        "'pg_catalog' is a system schema, never emptied; name the application's schemas"
        " (default: public)"
    )
    assert str(unknown.value) == (
        f"schema 'nope' does not exist in 127.0.0.1/{dbname_of(target_url)}; nothing changed"
    )


# ------------------------------------------------------------------ fails fast, guarded


def test_a_session_holding_a_table_makes_it_fail_fast_and_change_nothing(
    manage: Manage, target_url: str
) -> None:
    before = row_counts(target_url)
    with psycopg.connect(target_url) as app:
        app.execute("SELECT count(*) FROM auth_user")  # its transaction stays open

        run = manage(
            "prepare_copy_target", "--yes", dbname_of(target_url), "--lock-timeout", "0.2",
            databases={"default": target_url},
        )  # fmt: skip
        app.rollback()

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f'CommandError: tables in schema "public" of default (127.0.0.1/{dbname_of(target_url)})'
        " are in use by another session (no lock within 0.2 s); stop what still uses this"
        " database (the app's web, worker and beat tasks, a migrate, a DMS task, an open"
        " psql), then run again; nothing changed\n"
    )
    assert row_counts(target_url) == before


def maintenance_switch(aws: Aws, value: str | None) -> dict[str, str]:
    """The environment of a task whose MAINTENANCE_PARAMETER names a switch set to ``value``
    (None: the parameter does not exist)."""
    name = f"/{unique_name('prepare')}/production/MAINTENANCE_MODE"
    if value is not None:
        aws.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return {"AWS_ENDPOINT_URL": aws.endpoint_url, "MAINTENANCE_PARAMETER": name}


@pytest.mark.parametrize("mode", ["on", "read-only"])
def test_the_maintenance_switch_on_or_read_only_allows_it(
    manage: Manage, target_url: str, aws: Aws, mode: str
) -> None:
    env = maintenance_switch(aws, mode)

    run = manage(
        "prepare_copy_target", "--yes", dbname_of(target_url),
        databases={"default": target_url}, env=env,
    )  # fmt: skip

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.endswith(
        f" rows removed (exact counts); maintenance switch {env['MAINTENANCE_PARAMETER']}"
        f" is {mode}.\n"
    )
    assert set(row_counts(target_url).values()) == {0}
    assert aws.requests.operations("ssm") == Counter(PutParameter=1, GetParameter=1)


def test_the_maintenance_switch_off_refuses_it(manage: Manage, target_url: str, aws: Aws) -> None:
    env = maintenance_switch(aws, "off")
    name = env["MAINTENANCE_PARAMETER"]
    before = row_counts(target_url)

    dry = manage("prepare_copy_target", databases={"default": target_url}, env=env)
    run = manage(
        "prepare_copy_target", "--yes", dbname_of(target_url),
        databases={"default": target_url}, env=env,
    )  # fmt: skip

    assert (dry.returncode, dry.stderr) == (0, "")  # a dry run changes nothing: not guarded
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f"CommandError: the maintenance switch {name} (MAINTENANCE_PARAMETER) is 'off': the"
        f" app may be serving default (127.0.0.1/{dbname_of(target_url)}), and emptying it"
        " would destroy its data; nothing changed. If this is the new database before the"
        " cutover, turn maintenance on first (aws ssm put-parameter --name"
        f" {name} --value on --overwrite), then run again\n"
    )
    assert row_counts(target_url) == before
    assert aws.requests.operations("ssm") == Counter(PutParameter=1, GetParameter=1)


def test_an_unreadable_maintenance_switch_refuses_it(
    manage: Manage, target_url: str, aws: Aws
) -> None:
    env = maintenance_switch(aws, None)
    before = row_counts(target_url)

    run = manage(
        "prepare_copy_target", "--yes", dbname_of(target_url),
        databases={"default": target_url}, env=env,
    )  # fmt: skip

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f"CommandError: cannot read the maintenance switch {env['MAINTENANCE_PARAMETER']}"
        " (MAINTENANCE_PARAMETER): SSM Parameter Store answered ParameterNotFound; refusing"
        f" to empty default (127.0.0.1/{dbname_of(target_url)}) without knowing that the app"
        " is not writing to it; nothing changed\n"
    )
    assert row_counts(target_url) == before


def test_a_maintenance_parameter_that_is_not_a_name_is_refused_without_an_aws_call(
    manage: Manage, target_url: str, aws: Aws
) -> None:
    run = manage(
        "prepare_copy_target", "--yes", dbname_of(target_url),
        databases={"default": target_url},
        env={"AWS_ENDPOINT_URL": aws.endpoint_url, "MAINTENANCE_PARAMETER": "MAINTENANCE_MODE"},
    )  # fmt: skip

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        "CommandError: django-aws-settings: MAINTENANCE_PARAMETER: expected an SSM parameter"
        " name such as /shop/production/MAINTENANCE_MODE (the name itself, not an ssm:"
        " reference, which would be resolved to its value); nothing changed\n"
    )
    assert len(aws.requests) == 0
