"""``python -m bench [names...] [--size tiny|small|full] [--runs N] [--out DIR]``.

Runs the named benchmarks (all by default) one after the other, prints one summary line
per benchmark on stdout (progress goes to stderr) and writes ``<out>/<name>.json``.
Exits 1 if any benchmark failed; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from .common import DEFAULT_OUT, SIZES, Options, Result

BENCHMARKS = (
    "cold_start",
    "secrets",
    "connections",
    "verification",
    "template_speed",
    "media_copy",
)


def parse(argv: Sequence[str] | None) -> tuple[list[str], Options]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--size", choices=SIZES, default="small", help="(default: %(default)s)")
    parser.add_argument("--runs", type=int, help="repetitions (default: per benchmark and size)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="result directory (default: bench/results)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=20.0,
        help="delay moto adds to every AWS request (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    options = Options(size=args.size, runs=args.runs, out=args.out, latency_ms=args.latency_ms)
    return list(dict.fromkeys(args.names)) or list(BENCHMARKS), options


def run_one(name: str, options: Options) -> Result:
    module = importlib.import_module(f"bench.{name}")
    result: Result = module.run(options)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    names, options = parse(argv)
    failed: list[str] = []
    for name in names:
        try:
            result = run_one(name, options)
        except Exception:  # noqa: BLE001 - reported; the other benchmarks still run
            traceback.print_exc()
            print(f"{name}: FAILED", flush=True)
            failed.append(name)
            continue
        result.write(options.out)
        print(result.summary(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
