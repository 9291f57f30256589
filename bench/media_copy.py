"""Media copy: seconds to copy a bucket prefix server-side at ``--workers 8`` and at 1.

The job: OBJECTS[size] objects of 20 kB under ``uploads/`` in one moto bucket, copied by
``django_aws_settings.ops.media_copy.copy_media`` (what ``django-aws media copy`` runs)
into the ``media/`` prefix of a fresh, empty bucket per run; moto holds every request for
``--latency-ms`` (S3 answers a CopyObject in tens of milliseconds). The clock covers both
listings and every copy. The baseline is the same command with one worker, i.e. one
request at a time: what the ratio shows is what the bounded thread pool buys.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import Options, Result

NAME = "media_copy"
OBJECTS = {"tiny": 60, "small": 400, "full": 1000}
RUNS = {"tiny": 1, "small": 3, "full": 3}
OBJECT_BYTES = 20_000
OURS, BASELINE = 8, 1  # workers
SOURCE = "bench-old-media"


def run(options: Options) -> Result:
    from botocore.config import Config

    from django_aws_settings.ops.media_copy import (
        S3Destination,
        S3Source,
        copy_media,
        parse_s3_url,
    )

    from .common import Result, Sample, log, moto, moto_aws, timed

    count, runs = OBJECTS[options.size], options.runs_for(RUNS)
    seconds: dict[int, list[float]] = {OURS: [], BASELINE: []}
    writes: dict[int, list[int]] = {OURS: [], BASELINE: []}
    with moto(options.latency) as server:
        aws = moto_aws(server, "us-east-1")  # CreateBucket without a location constraint
        client: Any = aws.client("s3", Config(max_pool_connections=OURS + 2))
        client.create_bucket(Bucket=SOURCE)
        body = secrets.token_bytes(OBJECT_BYTES)
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda n: client.put_object(Bucket=SOURCE, Key=f"uploads/{n}.jpg", Body=body),
                    range(count),
                )
            )
        source = S3Source(client, parse_s3_url(f"s3://{SOURCE}/uploads/"), server_side=True)
        for index in range(runs):
            order = (OURS, BASELINE) if index % 2 == 0 else (BASELINE, OURS)
            for workers in order:
                bucket = f"bench-new-media-{workers}-{index}"
                client.create_bucket(Bucket=bucket)
                target = S3Destination(
                    client, parse_s3_url(f"s3://{bucket}/media/"), multipart_threshold=64 << 20
                )
                server.requests.reset()
                elapsed, report = timed(copy_media, source, target, workers=workers)
                if report.copied != count or report.failed:
                    raise RuntimeError(f"{NAME}: copied {report.copied} of {count}")
                seconds[workers].append(elapsed)
                writes[workers].append(
                    sum(1 for r in server.requests if r.method == "PUT" and not r.query)
                )
            log(
                f"{NAME}: {count} objects, run {index + 1}/{runs}: --workers {OURS}"
                f" {seconds[OURS][-1]:.2f} s, --workers {BASELINE} {seconds[BASELINE][-1]:.2f} s"
            )
    ours, baseline = Sample.of(seconds[OURS]), Sample.of(seconds[BASELINE])
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=round(ours.median, 4),
        baseline=round(baseline.median, 4),
        unit="seconds",
        note=f"seconds to copy {count} objects server-side at --workers {OURS} against"
        f" --workers {BASELINE}, {options.latency_ms:g} ms per request, median of {runs};"
        " lower is better",
        details={
            "objects": count,
            "object_bytes": OBJECT_BYTES,
            "latency_ms": options.latency_ms,
            "ours": ours.as_dict(),
            "baseline": baseline.as_dict(),
            "objects_per_second": {
                f"workers_{w}": round(count / Sample.of(s).median, 1) for w, s in seconds.items()
            },
            # One CopyObject per object, whatever the parallelism.
            "writes_per_run": {f"workers_{w}": max(n) for w, n in writes.items()},
        },
    )
