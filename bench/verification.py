"""Verification speed: ``manage.py verify_copy`` vs a naive sequential ``count(*)`` loop.

A source database gets hundreds of tables (``id bigserial`` primary key and four
columns) whose row counts fall off like a real schema's (table i holds a share
proportional to 1/(i+1): a few big tables, a long tail of small ones). The target is an
exact copy (``CREATE DATABASE … TEMPLATE``), made after ``VACUUM ANALYZE`` as a DBA would
run after a load. Both sides live on the machine's PostgreSQL (127.0.0.1:5432) under
``dastest_<pid>_…`` names and are dropped at the end.

* ours: the verify_copy management command as an operator runs it (a new process, Django
  set up, default ``--jobs``): table set, exact row counts, max primary keys and target
  sequences, tables in parallel. With ``--checksum`` it also hashes every row; that run
  is timed once per size and reported in the details (the baseline does nothing like it).
* baseline: a script in a new process that lists the tables and runs ``SELECT count(*)``
  on the source, then on the target, one table after the other, on one connection each.

Then the source grows (same tables, more rows), the copy is made again and both run
again: the details show how each grows with the row count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from support.postgres import DatabaseFactory

    from .common import Options, Result

NAME = "verification"
# tables, (rows first, rows after growing)
SHAPES: dict[str, tuple[int, tuple[int, int]]] = {
    "tiny": (20, (10_000, 40_000)),
    "small": (300, (1_000_000, 4_000_000)),
    "full": (500, (4_000_000, 16_000_000)),
}
RUNS = {"tiny": 1, "small": 5, "full": 5}
SETTINGS = 'SECRET_KEY = "bench"\nINSTALLED_APPS = ["django_aws_settings"]\nUSE_TZ = True\n'
_CREATE = (
    "CREATE TABLE {} (id bigserial PRIMARY KEY, account_id integer NOT NULL,"
    " amount numeric(12, 2) NOT NULL, created timestamptz NOT NULL, note text)"
)
_FILL = (
    "INSERT INTO {} (account_id, amount, created, note)"
    " SELECT g %% 1000, (g %% 10000) / 100.0, timestamptz '2024-01-01' + g * interval '1 second',"
    " 'note ' || g FROM generate_series(1, %s) AS g"
)


def run(options: Options) -> Result:
    from support.postgres import DatabaseFactory, PgServer, drop_stale_objects

    from .common import Result, Sample, log

    tables, sizes = SHAPES[options.size]
    runs = options.runs_for(RUNS)
    server = PgServer()
    drop_stale_objects(server)
    factory = DatabaseFactory(server)
    measured: list[dict[str, Any]] = []
    version = ""
    try:
        with tempfile.TemporaryDirectory(prefix="bench-verification-") as directory:
            settings_dir = Path(directory)
            (settings_dir / "bench_verify_settings.py").write_text(SETTINGS)
            source = factory("verify_source")
            version = server_version(source)
            create_tables(source, tables)
            rows_now = [0] * tables
            for total in sizes:
                log(f"{NAME}: filling {tables} tables to {total:,} rows")
                rows_now = grow(source, rows_now, shares(total, tables))
                target = copy_of(factory, source)
                naive(source, target)  # warm-up: every page in the page cache, untimed
                ours_times: list[float] = []
                naive_times: list[float] = []
                for index in range(runs):
                    pair = [("ours", ours_times), ("naive", naive_times)]
                    for kind, times in pair if index % 2 == 0 else pair[::-1]:
                        if kind == "ours":
                            times.append(ours(source, target, settings_dir))
                        else:
                            times.append(naive(source, target))
                    log(
                        f"{NAME}: {sum(rows_now):,} rows, run {index + 1}/{runs}:"
                        f" ours {ours_times[-1]:.2f} s, naive {naive_times[-1]:.2f} s"
                    )
                checksum = ours(source, target, settings_dir, "--checksum")
                remote: dict[str, Any] = {}
                if total == sizes[-1] and options.latency_ms > 0:
                    remote = over_a_link(source, target, settings_dir, options.latency, runs)
                measured.append(
                    {
                        "rows": sum(rows_now),
                        "database_bytes": database_bytes(source),
                        "ours": Sample.of(ours_times),
                        "naive": Sample.of(naive_times),
                        "ours_with_checksum_seconds": round(checksum, 4),
                        **remote,
                    }
                )
                drop(factory, target)
    finally:
        factory.drop_all()
    small, large = measured
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=round(large["ours"].median, 4),
        baseline=round(large["naive"].median, 4),
        unit="seconds",
        note=f"seconds to verify {tables} tables, {large['rows']:,} rows, median of {runs}"
        f" (at {small['rows']:,} rows: ours {small['ours'].median:.3g} s, naive"
        f" {small['naive'].median:.3g} s); lower is better",
        details={
            "tables": tables,
            "sizes": [
                {
                    **{k: v for k, v in size.items() if k not in ("ours", "naive")},
                    "ours": size["ours"].as_dict(),
                    "naive": size["naive"].as_dict(),
                }
                for size in measured
            ],
            "growth": {
                "rows": round(large["rows"] / small["rows"], 3),
                "ours": round(large["ours"].median / small["ours"].median, 3),
                "naive": round(large["naive"].median / small["naive"].median, 3),
            },
            "ours_command": "python -m django verify_copy --source URL --target URL",
            "postgresql": version,
        },
    )


def over_a_link(
    source: str, target: str, settings_dir: Path, rtt: float, runs: int
) -> dict[str, Any]:
    """Both again, with the source behind a link that adds ``rtt`` to every round trip."""
    from .common import DelayedLink, Sample, log

    parts = urllib.parse.urlsplit(source)
    assert parts.hostname is not None
    assert parts.port is not None
    times: dict[str, list[float]] = {"ours": [], "naive": []}
    with DelayedLink(parts.hostname, parts.port, rtt) as link:
        remote = parts._replace(netloc=f"{parts.username}@{parts.hostname}:{link.port}").geturl()
        for index in range(min(runs, 3)):
            order = ("ours", "naive") if index % 2 == 0 else ("naive", "ours")
            for kind in order:
                if kind == "ours":
                    times[kind].append(ours(remote, target, settings_dir))
                else:
                    times[kind].append(naive(remote, target))
            log(
                f"{NAME}: source {rtt * 1000:g} ms away, run {index + 1}:"
                f" ours {times['ours'][-1]:.2f} s, naive {times['naive'][-1]:.2f} s"
            )
    return {
        "source_rtt_ms": round(rtt * 1000, 3),
        "ours_remote_source": Sample.of(times["ours"]).as_dict(),
        "naive_remote_source": Sample.of(times["naive"]).as_dict(),
    }


def shares(total: int, tables: int) -> list[int]:
    """Rows per table: proportional to 1/(i+1), at least one each."""
    weights = [1 / (i + 1) for i in range(tables)]
    scale = total / sum(weights)
    return [max(1, round(weight * scale)) for weight in weights]


def table(index: int) -> sql.Identifier:
    return sql.Identifier(f"t_{index:03d}")


def create_tables(url: str, tables: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for index in range(tables):
            conn.execute(sql.SQL(_CREATE).format(table(index)))


def grow(url: str, now: list[int], wanted: list[int]) -> list[int]:
    """Insert rows until each table holds ``wanted``, then VACUUM ANALYZE."""
    with psycopg.connect(url, autocommit=True) as conn:
        for index, (have, want) in enumerate(zip(now, wanted, strict=True)):
            if want > have:
                conn.execute(sql.SQL(_FILL).format(table(index)), [want - have])
        conn.execute("VACUUM ANALYZE")
    return [max(have, want) for have, want in zip(now, wanted, strict=True)]


def copy_of(factory: DatabaseFactory, source: str) -> str:
    """An exact copy of ``source``, file by file, dropped with the factory's databases."""
    from support.postgres import dbname_of
    from support.processes import unique_name

    name = unique_name("verify_target")
    with factory.server.connect() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(dbname_of(source))
            )
        )
    factory.names.append(name)
    return factory.server.url(name)


def drop(factory: DatabaseFactory, url: str) -> None:
    from support.postgres import dbname_of

    name = dbname_of(url)
    with factory.server.connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    factory.names.remove(name)


def database_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.info.parameter_status("server_version"))


def ours(source: str, target: str, settings_dir: Path, *extra: str) -> float:
    from .common import PYTHON, REPO_ROOT, timed

    command = [
        PYTHON, "-m", "django", "verify_copy",
        "--settings", "bench_verify_settings", "--pythonpath", str(settings_dir),
        "--source", source, "--target", target, *extra,
    ]  # fmt: skip
    seconds, done = timed(
        subprocess.run, command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0 or not done.stdout.splitlines()[-1].startswith("OK:"):
        raise RuntimeError(f"verify_copy failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
    return float(seconds)


def naive(source: str, target: str) -> float:
    from .common import PYTHON, REPO_ROOT, timed

    command = [PYTHON, "-m", "bench.verification", source, target]
    seconds, done = timed(
        subprocess.run, command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"the count(*) loop failed:\n{done.stderr[-4000:]}")
    if json.loads(done.stdout)["mismatches"]:
        raise RuntimeError(f"the count(*) loop found mismatches in an exact copy: {done.stdout}")
    return float(seconds)


def count_loop(source: str, target: str) -> dict[str, int]:
    """The script an operator writes in five minutes: count every table on both sides."""
    with (
        psycopg.connect(source, autocommit=True) as src,
        psycopg.connect(target, autocommit=True) as tgt,
    ):
        names = [
            row[0]
            for row in src.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        mismatches = 0
        for name in names:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            counts = [conn.execute(query).fetchone() for conn in (src, tgt)]
            mismatches += counts[0] != counts[1]
    return {"tables": len(names), "mismatches": mismatches}


if __name__ == "__main__":
    print(json.dumps(count_loop(sys.argv[1], sys.argv[2])))
