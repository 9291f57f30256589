"""The benchmarks run end to end at ``--size tiny``; nothing here asserts a duration.

One ``python -m bench --size tiny`` run (all six benchmarks, as a user starts them)
feeds the tests: each benchmark printed its summary line and wrote its JSON result, and
the counts that do not depend on the machine's speed (AWS calls, rows, failed requests)
are exact.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # the bench package sits beside tests/

from bench.connections import Load, parse_wrk, python_load  # noqa: E402

BENCHMARKS = (
    "cold_start",
    "secrets",
    "connections",
    "verification",
    "template_speed",
    "media_copy",
)
RESULT_KEYS = {"name", "size", "runs", "ours", "baseline", "ratio", "unit", "details", "machine"}
MACHINE_KEYS = {"arch", "nproc", "python", "system", "date", "loadavg"}
NUMBER = r"(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|inf)"
SUMMARY = re.compile(
    rf"^(?P<name>\w+): ours=(?P<ours>{NUMBER}) baseline=(?P<baseline>{NUMBER})"
    rf" ratio=(?P<ratio>{NUMBER}) \((?P<note>.+)\)$"
)


@dataclass(frozen=True)
class Run:
    returncode: int
    lines: list[str]  # stdout: one summary line per benchmark
    stderr: str
    out: Path

    def result(self, name: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.out / f"{name}.json").read_text())
        return document

    def summary(self, name: str) -> re.Match[str]:
        (line,) = [line for line in self.lines if line.startswith(f"{name}: ")]
        match = SUMMARY.match(line)
        assert match is not None, line
        return match


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("bench-results")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return Run(done.returncode, done.stdout.splitlines(), done.stderr, out)


# -------------------------------------------------------------------- every benchmark


@pytest.mark.slow
def test_every_benchmark_succeeds_and_prints_one_line_in_order(tiny: Run) -> None:
    assert tiny.returncode == 0, tiny.stderr[-6000:]
    assert [line.split(":")[0] for line in tiny.lines] == list(BENCHMARKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_summary_line_has_ours_baseline_and_ratio(tiny: Run, name: str) -> None:
    match = tiny.summary(name)
    assert (match["name"], match["note"].endswith("is better")) == (name, True)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_result_file_has_the_documented_keys(tiny: Run, name: str) -> None:
    result = tiny.result(name)
    assert set(result) == RESULT_KEYS
    assert set(result["machine"]) == MACHINE_KEYS
    assert (result["name"], result["size"]) == (name, "tiny")


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_summary_line_shows_the_numbers_of_the_result_file(tiny: Run, name: str) -> None:
    match, result = tiny.summary(name), tiny.result(name)
    assert (float(match["ours"]), float(match["baseline"])) == pytest.approx(
        (result["ours"], result["baseline"]), rel=1e-3
    )
    assert result["ratio"] == pytest.approx(result["ours"] / result["baseline"], rel=1e-3)
    assert float(match["ratio"]) == pytest.approx(result["ratio"], rel=5e-3)


# ----------------------------------------------------------- counts, not durations


@pytest.mark.slow
def test_cold_start_makes_no_aws_call_and_a_reference_costs_one(tiny: Run) -> None:
    details = tiny.result("cold_start")["details"]
    assert details["aws_calls_at_start"] == {}
    assert details["aws_calls_at_start_with_a_reference"] == {"BatchGetSecretValue": 1}
    assert details["baseline_command"] == ["gunicorn", "shop.wsgi"]  # the Procfile's web line


@pytest.mark.slow
def test_secrets_are_resolved_in_four_batched_calls(tiny: Run) -> None:
    ours = tiny.result("secrets")["details"]["contenders"]["django-aws-settings"]
    assert ours["aws_operations"] == {"BatchGetSecretValue": 2, "GetParameters": 2}


@pytest.mark.slow
def test_pydantic_settings_reads_one_secret_per_call(tiny: Run) -> None:
    peer = tiny.result("secrets")["details"]["contenders"]["pydantic-settings"]
    assert peer["aws_operations"]["GetSecretValue"] == 40


@pytest.mark.slow
def test_environ_config_reads_one_value_per_call(tiny: Run) -> None:
    details = tiny.result("secrets")["details"]
    assert "environ-config" not in details["unavailable"], details["unavailable"]
    peer = details["contenders"]["environ-config"]
    assert peer["aws_operations"] == {"GetParameter": 20, "GetSecretValue": 40}


@pytest.mark.slow
def test_connections_answers_every_request_in_every_configuration(tiny: Run) -> None:
    configurations = tiny.result("connections")["details"]["configurations"]
    errors = {name: configuration["errors"] for name, configuration in configurations.items()}
    assert errors == {"pooled": 0, "conn_max_age_0": 0, "conn_max_age_600": 0}


@pytest.mark.slow
def test_verification_runs_at_two_row_counts(tiny: Run) -> None:
    # 20 tables, shares of 10,000 then 40,000 rows proportional to 1/(i+1), rounded
    sizes = tiny.result("verification")["details"]["sizes"]
    assert [size["rows"] for size in sizes] == [10_002, 40_001]


@pytest.mark.slow
def test_media_copy_writes_each_object_once_at_any_parallelism(tiny: Run) -> None:
    details = tiny.result("media_copy")["details"]
    assert details["writes_per_run"] == {"workers_8": 60, "workers_1": 60}


# ------------------------------------------------------------------ load generators

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.10ms   31.20ms 412.00ms   80.00%
    Req/Sec   310.12     60.00   450.00     70.00%
  Latency Distribution
     50%   48.25ms
     75%   60.10ms
     90%   80.00ms
     99%    1.20s
  6190 requests in 10.01s, 9.87MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    618.38
Transfer/sec:      0.99MB
"""


def test_wrk_output_is_parsed_into_rate_percentiles_and_errors() -> None:
    assert parse_wrk(WRK_OUTPUT) == Load(
        requests=6190, errors=7, requests_per_second=618.38, p50_ms=48.25, p99_ms=1200.0
    )


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like gunicorn

    def do_GET(self) -> None:
        status = 200 if self.headers["Host"] == "shop.example.com" else 400
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def ok_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_python_load_generator_sends_what_the_alb_forwards(ok_server: int) -> None:
    load = python_load(ok_server, 0.3, 2)
    assert (load.errors, load.requests > 0) == (0, True)
