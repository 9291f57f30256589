"""Media copy between two moto buckets (server mode, real boto3 clients) and from a
FileSystemStorage through ``manage.py copy_media``.

The source bucket is filled once per module (2,000 small objects under nested, unicode and
space-holding keys, some with their own metadata and headers, and three multipart objects)
and each test copies into a fresh destination bucket. Requests are counted in moto's
request log: a CopyObject and a PutObject are both ``PUT /<bucket>/<key>`` without a query,
an UploadPartCopy carries ``partNumber``.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from django.core.management import call_command
from django.core.management.base import CommandError
from support.moto_server import Aws, MotoServer, aws_environment
from support.template import VENV_BIN

from django_aws_settings.management.commands import copy_media as copy_media_command
from django_aws_settings.ops import cli, media_copy
from django_aws_settings.ops.media_copy import (
    SHA256_KEY,
    SOURCE_ETAG_KEY,
    S3Destination,
    S3Source,
    copy_media,
    parse_s3_url,
    verify_media,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # the account moto answers for with the fake credentials
SOURCE_BUCKET = "old-media"
MiB = 1024 * 1024
# The smallest part S3 (and moto) accepts: objects above it are copied in parts here.
PART = 5 * MiB
SMALL = 2000
BIG = 3
FOLDERS = ("photos/2024/05/", "документы/", "with space/", "deep/a/b/c/d/", "")


def small_key(n: int) -> str:
    folder = FOLDERS[n % len(FOLDERS)]
    name = (f"файл {n}.pdf", f"photo {n}.jpg", f"note {n}.txt", f"{n}.png")[n % 4]
    return f"uploads/{folder}{name}"


def small_body(n: int) -> bytes:
    return (f"{n}:".encode() + secrets.token_bytes(16)) * (1 + n % 40)


BIG_KEYS = tuple(f"uploads/big/video {n}.mp4" for n in range(BIG))
BIG_SIZE = PART + 123_457  # two parts
EXTRA_SMALL_IN_BIG = 40  # small objects beside the big ones, for the prefix-only tests


@dataclass
class SourceBucket:
    aws: Aws
    objects: int
    bytes: int


@pytest.fixture(scope="module")
def s3env(moto_server: MotoServer) -> Iterator[Aws]:
    """Fake credentials and AWS_ENDPOINT_URL on moto for the whole module (the `aws`
    fixture resets moto per test: the source bucket would have to be refilled each time)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in aws_environment(REGION).items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
        import boto3

        patch.setattr(boto3, "DEFAULT_SESSION", None)
        yield Aws(moto_server.endpoint_url, REGION, moto_server.requests)
    moto_server.reset()  # the buckets hold some 200 MB of the session's memory


def s3(aws: Aws, pool: int = 20) -> S3Client:
    return aws.client("s3", Config(max_pool_connections=pool))


def fill_source(client: S3Client) -> None:
    """The small objects go straight into moto's store (2,040 PutObject calls through
    HTTP cost 10-25 s of a loaded machine, and are not what is tested); the multipart ones
    through boto3, so their ETags and parts are S3's own."""
    from moto.s3.models import s3_backends

    client.create_bucket(Bucket=SOURCE_BUCKET)
    store = s3_backends[MOTO_ACCOUNT]["aws"]
    content_types = {"pdf": "application/pdf", "jpg": "image/jpeg", "txt": "text/plain"}
    for n in range(SMALL):
        key = small_key(n)
        headers = {"Content-Type": content_types.get(key.rpartition(".")[2], "image/png")}
        if n % 10 == 0:
            headers |= {"x-amz-meta-owner": f"user-{n}", "x-amz-meta-note": "cafe =?utf-8?"}
        if n % 7 == 0:
            headers["Cache-Control"] = "max-age=60"
        if n % 13 == 0:
            headers["Content-Disposition"] = f'attachment; filename="{n}.bin"'
        store.put_object(SOURCE_BUCKET, key, small_body(n)).set_metadata(headers)
    for n in range(EXTRA_SMALL_IN_BIG):
        store.put_object(SOURCE_BUCKET, f"uploads/big/small {n}.txt", small_body(n))
    for n, key in enumerate(BIG_KEYS):
        upload = client.create_multipart_upload(
            Bucket=SOURCE_BUCKET, Key=key, ContentType="video/mp4", Metadata={"take": str(n)}
        )
        body = secrets.token_bytes(BIG_SIZE)
        parts: list[CompletedPartTypeDef] = []
        for number, start in enumerate(range(0, BIG_SIZE, PART), 1):
            part = client.upload_part(
                Bucket=SOURCE_BUCKET,
                Key=key,
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=body[start : start + PART],
            )
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        client.complete_multipart_upload(
            Bucket=SOURCE_BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )


@pytest.fixture
def source(s3env: Aws) -> SourceBucket:
    """The filled source bucket (refilled if another module's test reset moto), and an
    empty request log."""
    client = s3(s3env)
    try:  # the last object fill_source writes
        client.head_object(Bucket=SOURCE_BUCKET, Key=BIG_KEYS[-1])
    except client.exceptions.ClientError:
        fill_source(client)
    small = [*range(SMALL), *range(EXTRA_SMALL_IN_BIG)]
    s3env.requests.reset()
    return SourceBucket(
        s3env, len(small) + BIG, sum(len(small_body(n)) for n in small) + BIG * BIG_SIZE
    )


def new_bucket(client: S3Client) -> str:
    name = f"new-media-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=name)
    return name


def objects(client: S3Client, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    """key below the prefix -> listing entry."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"].removeprefix(prefix)] = dict(item)
    return found


def writes(aws: Aws, bucket: str) -> int:
    """Whole-object writes (PutObject, CopyObject) into ``bucket``."""
    return sum(
        1
        for r in aws.requests
        if r.method == "PUT" and r.path.startswith(f"/{bucket}/") and not r.query
    )


def part_writes(aws: Aws, bucket: str) -> int:
    """Parts written into ``bucket`` (UploadPartCopy, UploadPart)."""
    return sum(
        1
        for r in aws.requests
        if r.method == "PUT" and r.path.startswith(f"/{bucket}/") and "partNumber" in r.query
    )


class InFlight:
    """Counts the client's HTTP requests between sending and the answer (botocore events):
    the highest number at once is the parallelism the copy really used."""

    def __init__(self, client: Any) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()
        client.meta.events.register("before-send.s3", self._sent)
        client.meta.events.register("response-received.s3", self._answered)

    def _sent(self, **_: Any) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def _answered(self, **_: Any) -> None:
        with self._lock:
            self.now -= 1


def destination(client: S3Client, bucket: str) -> S3Destination:
    return S3Destination(client, parse_s3_url(f"s3://{bucket}/media/"), multipart_threshold=PART)


# ------------------------------------------------------------------------ S3 to S3


def test_copy_is_complete_resumes_after_a_stop_and_reruns_for_free(source: SourceBucket) -> None:
    aws = source.aws
    client = s3(aws)
    bucket = new_bucket(client)
    origin = S3Source(client, parse_s3_url(f"s3://{SOURCE_BUCKET}/uploads"), server_side=True)
    target = destination(client, bucket)

    # A run stopped after 600 copies (what a killed run leaves: whole objects only).
    stopped = copy_media(origin, target, workers=8, max_objects=600)
    assert (stopped.copied, stopped.skipped, stopped.failed) == (600, 0, [])
    assert stopped.left == source.objects - 600
    already = objects(client, bucket, "media/").keys()
    assert len(already) == 600
    big_left = sum(1 for k in BIG_KEYS if k.removeprefix("uploads/") not in already)

    # The next run copies the rest only, 4 requests in flight at most.
    aws.requests.reset()
    meter = InFlight(client)
    progress = io.StringIO()
    resumed = copy_media(origin, target, workers=4, progress=progress, progress_interval=0.0)
    assert (resumed.skipped, resumed.copied, resumed.failed, resumed.left) == (
        600,
        source.objects - 600,
        [],
        0,
    )
    assert 2 <= meter.most <= 4, meter.most
    assert writes(aws, bucket) == source.objects - 600 - big_left
    assert part_writes(aws, bucket) == 2 * big_left
    # Server-side: no object's bytes came through this machine.
    assert not [r for r in aws.requests if r.method == "GET" and not r.query]
    lines = progress.getvalue().splitlines()
    assert lines[-1].startswith(
        f"media copy: {source.objects:,}/{source.objects:,} objects, "
        f"{source.bytes / MiB:,.1f} MiB/{source.bytes / MiB:,.1f} MiB, "
    )
    assert lines[-1].endswith("MiB/s")
    assert " objects/s, " in lines[-1]

    # Everything is there: same keys, sizes, bytes (ETag = MD5 for single-part objects,
    # read back for the multipart ones), headers and metadata.
    copied = objects(client, bucket, "media/")
    original = objects(client, SOURCE_BUCKET, "uploads/")
    assert copied.keys() == original.keys()
    assert {k: v["Size"] for k, v in copied.items()} == {k: v["Size"] for k, v in original.items()}
    for key, item in original.items():
        if "-" not in item["ETag"]:
            assert copied[key]["ETag"] == item["ETag"], key
    for key in [small_key(n).removeprefix("uploads/") for n in range(0, SMALL, 40)]:
        assert_same_object(client, key, bucket)
    for key in BIG_KEYS:
        relative = key.removeprefix("uploads/")
        assert_same_object(client, relative, bucket)
        head = client.head_object(Bucket=bucket, Key=f"media/{relative}")
        assert head["Metadata"][SOURCE_ETAG_KEY] == original[relative]["ETag"].strip('"')

    # A third run writes nothing.
    aws.requests.reset()
    again = copy_media(origin, target, workers=8)
    assert (again.copied, again.skipped) == (0, source.objects)
    assert writes(aws, bucket) == part_writes(aws, bucket) == 0
    assert verify_media(origin, target, workers=8).ok


def assert_same_object(client: S3Client, key: str, bucket: str, copied_as: str = "") -> None:
    """``uploads/<key>`` in the source and ``media/<copied_as or key>`` in ``bucket``: same
    bytes, headers and metadata (besides the copy's own)."""
    before = client.get_object(Bucket=SOURCE_BUCKET, Key=f"uploads/{key}")
    after = client.get_object(Bucket=bucket, Key=f"media/{copied_as or key}")
    assert after["Body"].read() == before["Body"].read(), key
    for header in ("ContentType", "CacheControl", "ContentDisposition"):
        assert after.get(header) == before.get(header), (key, header)
    own = {k: v for k, v in after["Metadata"].items() if not k.startswith("media-copy-")}
    assert own == before["Metadata"], key


# ----------------------------------------------------------------------- the command

BIG_PREFIX = f"s3://{SOURCE_BUCKET}/uploads/big/"
BIG_PREFIX_BYTES = BIG * BIG_SIZE + sum(len(small_body(n)) for n in range(EXTRA_SMALL_IN_BIG))


def django_aws(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """``django-aws`` in this process: exit status, stdout lines, stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_verify_names_each_missing_resized_and_changed_object(
    source: SourceBucket, capsys: pytest.CaptureFixture[str]
) -> None:
    client = s3(source.aws)
    bucket = new_bucket(client)
    target = f"s3://{bucket}/media/"
    code, out, err = django_aws(capsys, "media", "copy", BIG_PREFIX, target, "--quiet")
    assert (code, err) == (0, "")
    assert out == [
        f"copied {BIG + EXTRA_SMALL_IN_BIG} objects ({BIG_PREFIX_BYTES / MiB:,.1f} MiB) from"
        f" {BIG_PREFIX} to {target};"
        " 0 already there (0 B)"
    ]
    assert django_aws(capsys, "media", "verify", BIG_PREFIX, target, "--quiet") == (
        0,
        [f"OK: {BIG + EXTRA_SMALL_IN_BIG} objects identical in {target}"],
        "",
    )

    client.delete_object(Bucket=bucket, Key="media/small 1.txt")
    client.put_object(Bucket=bucket, Key="media/small 2.txt", Body=small_body(2) + b"!")
    same_size = bytes(b ^ 1 for b in small_body(3))
    client.put_object(Bucket=bucket, Key="media/small 3.txt", Body=same_size)
    video = client.get_object(Bucket=bucket, Key="media/video 0.mp4")["Body"].read()
    changed = video[:-1] + bytes([video[-1] ^ 0xFF])  # same size, one byte differs
    client.put_object(Bucket=bucket, Key="media/video 0.mp4", Body=changed)
    client.put_object(Bucket=bucket, Key="media/uploaded after.txt", Body=b"new")

    code, out, err = django_aws(capsys, "media", "verify", BIG_PREFIX, target, "--quiet")
    assert code == 1
    assert out == [
        "missing  media/small 1.txt",
        f"size     media/small 2.txt (source {len(small_body(2))} B,"
        f" destination {len(small_body(2)) + 1} B)",
        "content  media/small 3.txt (SHA-256 differs)",
        "content  media/video 0.mp4 (SHA-256 differs)",
        f"DIFFERENT: 4 of {BIG + EXTRA_SMALL_IN_BIG} objects (1 missing, 1 size, 2 content);"
        f" 1 only in {target}",
    ]

    # A delta run copies exactly those four back.
    source.aws.requests.reset()
    code, out, _ = django_aws(capsys, "media", "copy", BIG_PREFIX, target, "--quiet")
    assert code == 0
    assert writes(source.aws, bucket) == 4
    assert out[-1].startswith("copied 4 objects (")
    assert django_aws(capsys, "media", "verify", BIG_PREFIX, target, "--quiet")[0] == 0


def test_a_source_on_another_endpoint_is_streamed_with_its_hash_recorded(
    source: SourceBucket, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_copy, "MULTIPART_THRESHOLD", PART)  # the big ones go in parts
    client = s3(source.aws)
    bucket = new_bucket(client)
    target = f"s3://{bucket}/media/"
    other = ("--source-endpoint-url", source.aws.endpoint_url, "--workers", "3")
    code, out, err = django_aws(capsys, "media", "copy", BIG_PREFIX, target, *other)
    assert code == 0, err
    assert out[-1].startswith(f"copied {BIG + EXTRA_SMALL_IN_BIG} objects")
    progress = err.splitlines()
    assert progress[-1].startswith(
        f"media copy: {BIG + EXTRA_SMALL_IN_BIG}/{BIG + EXTRA_SMALL_IN_BIG} objects"
    )
    # Streamed: the bytes were downloaded, uploaded in parts above the threshold.
    downloads = [r for r in source.aws.requests if r.method == "GET" and "/uploads/big/" in r.path]
    assert len(downloads) == BIG + EXTRA_SMALL_IN_BIG
    for key in BIG_KEYS:
        relative = key.removeprefix("uploads/big/")
        head = client.head_object(Bucket=bucket, Key=f"media/{relative}")
        assert head["ETag"].strip('"').endswith("-2")
        body = client.get_object(Bucket=bucket, Key=f"media/{relative}")["Body"].read()
        assert head["Metadata"][SHA256_KEY] == hashlib.sha256(body).hexdigest()
        assert_same_object(client, f"big/{relative}", bucket, relative)

    source.aws.requests.reset()
    code, out, _ = django_aws(capsys, "media", "copy", BIG_PREFIX, target, *other, "--quiet")
    assert code == 0
    assert out[-1].startswith(f"copied 0 objects (0 B) from {BIG_PREFIX} to {target};")
    assert writes(source.aws, bucket) == part_writes(source.aws, bucket) == 0
    assert not [r for r in source.aws.requests if r.method == "GET" and not r.query]
    code, out, _ = django_aws(capsys, "media", "verify", BIG_PREFIX, target, *other, "--quiet")
    assert (code, out[-1]) == (0, f"OK: {BIG + EXTRA_SMALL_IN_BIG} objects identical in {target}")


def test_a_killed_run_leaves_whole_objects_and_the_next_run_completes(
    source: SourceBucket,
) -> None:
    """SIGKILL ``django-aws media copy`` (a real process, one worker) mid-run."""
    client = s3(source.aws)
    bucket = new_bucket(client)
    prefix = f"s3://{SOURCE_BUCKET}/uploads/{FOLDERS[0]}"
    total = SMALL // len(FOLDERS)
    argv = [str(VENV_BIN / "django-aws"), "media", "copy", prefix, f"s3://{bucket}/media/"]
    run = subprocess.Popen(
        [*argv, "--workers", "1", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            if client.list_objects_v2(Bucket=bucket)["KeyCount"] >= 20:
                break
            time.sleep(0.05)
    finally:
        run.kill()
        _, err = run.communicate(timeout=10)
    assert run.returncode == -signal.SIGKILL, err
    left_behind = len(objects(client, bucket, "media/"))
    assert 20 <= left_behind < total

    origin = S3Source(client, parse_s3_url(prefix), server_side=True)
    target = destination(client, bucket)
    resumed = copy_media(origin, target, workers=8)
    assert (resumed.skipped, resumed.copied, resumed.failed) == (
        left_behind,
        total - left_behind,
        [],
    )
    assert verify_media(origin, target).ok


def test_an_object_deleted_during_the_run_fails_alone(source: SourceBucket) -> None:
    """The old app deletes a file after the listing: that copy fails, named; the rest land."""
    client = s3(source.aws)
    old = new_bucket(client)
    for n in range(30):
        client.put_object(Bucket=old, Key=f"uploads/{n}.txt", Body=small_body(n))

    class DeletedAfterListing(S3Source):
        def entries(self) -> Iterator[media_copy.Entry]:
            listed = list(super().entries())
            client.delete_object(Bucket=old, Key="uploads/7.txt")
            return iter(listed)

    bucket = new_bucket(client)
    origin = DeletedAfterListing(client, parse_s3_url(f"s3://{old}/uploads/"), server_side=True)
    report = copy_media(origin, destination(client, bucket), workers=4)
    assert (report.copied, report.failed) == (29, [("media/7.txt", "AWS answered NoSuchKey")])
    assert report.lines(origin.label, f"s3://{bucket}/media/")[0] == (
        "failed: media/7.txt: AWS answered NoSuchKey"
    )
    assert len(objects(client, bucket, "media/")) == 29


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (("s3://no-such-old/x", "{target}"), ("s3://no-such-old/x/", "no such bucket")),
        ((BIG_PREFIX, "s3://no-such-new/media/"), ("s3://no-such-new/media/", "no such bucket")),
        (
            (BIG_PREFIX, "{target}", "--source-endpoint-url", "http://127.0.0.1:9"),
            (BIG_PREFIX, "Could not connect", "127.0.0.1:9"),
        ),
        (
            (BIG_PREFIX, "{target}", "--source-profile", "old-account"),
            ("--source-profile", "old-account", "could not be found"),
        ),
        (
            (f"s3://{SOURCE_BUCKET}/", f"s3://{SOURCE_BUCKET}/media/"),
            (f"s3://{SOURCE_BUCKET}/media/", "overlaps the source", "separate prefixes"),
        ),
        (
            (f"s3://{SOURCE_BUCKET}/uploads/big/", f"s3://{SOURCE_BUCKET}/uploads/", "--stream"),
            (f"s3://{SOURCE_BUCKET}/uploads/", "overlaps the source"),
        ),
    ],
    ids=[
        "missing-source-bucket",
        "missing-destination-bucket",
        "unreachable-source",
        "unknown-source-profile",
        "destination-inside-source",
        "source-inside-destination-streamed",
    ],
)
def test_bad_input_is_one_line(
    source: SourceBucket,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    names: tuple[str, ...],
) -> None:
    bucket = new_bucket(s3(source.aws))
    for verb in ("copy", "verify"):
        args = [a.replace("{target}", f"s3://{bucket}/media/") for a in argv]
        code, out, err = django_aws(capsys, "media", verb, *args)
        assert (code, out) == (2, [])
        assert len(err.splitlines()) == 1, err
        assert "Traceback" not in err
        for name in names:
            assert name in err, err
    assert writes(source.aws, bucket) == 0


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (("old-media/uploads", "s3://new-media/media/"), ("source", "s3://bucket/prefix")),
        (("s3://old-media", "https://new-media/"), ("destination", "s3://bucket/prefix")),
        (("s3://x/", "s3://new-media/"), ("source", "bucket name")),
        (("s3://old-media", "s3://new-media/", "--workers", "0"), ("--workers", "1 to 64")),
    ],
    ids=["no-scheme", "https-destination", "short-bucket", "no-workers"],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], names: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["media", "copy", *argv])
    assert stopped.value.code == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    for name in names:
        assert name in err, err


# -------------------------------------------------------------- any Django storage

FILE_STORAGE = "django.core.files.storage.FileSystemStorage"


def test_a_filesystem_storage_through_copy_media(
    source: SourceBucket,
    django_settings: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(copy_media_command, "MULTIPART_THRESHOLD", PART)
    files: dict[str, bytes] = {}
    for n in range(150):
        files[small_key(n).removeprefix("uploads/")] = small_body(n)
    files["big/scan.tif"] = secrets.token_bytes(PART + 1)
    files["archive/log.txt.gz"] = b"\x1f\x8b" + secrets.token_bytes(100)
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    client = s3(source.aws)
    bucket = new_bucket(client)
    target = f"s3://{bucket}/media/"
    command = (
        "--from-storage",
        FILE_STORAGE,
        "--from-option",
        f"location={tmp_path}",
        "--to",
        target,
        "--workers",
        "4",
    )

    out, err = io.StringIO(), io.StringIO()
    call_command(copy_media_command.Command(), *command, "--verify", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"copied {len(files)} objects (")
    assert lines[-1] == f"OK: {len(files)} objects identical in {target}"
    assert f"media copy: {len(files)}/{len(files)} objects" in err.getvalue()
    copied = objects(client, bucket, "media/")
    assert copied.keys() == files.keys()
    for name, body in files.items():
        got = client.get_object(Bucket=bucket, Key=f"media/{name}")
        assert got["Body"].read() == body, name
        assert got["Metadata"][SHA256_KEY] == hashlib.sha256(body).hexdigest()
        expected_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        assert got["ContentType"] == expected_type, name
    assert client.head_object(Bucket=bucket, Key="media/archive/log.txt.gz")["ContentEncoding"] == (
        "gzip"
    )
    assert copied["big/scan.tif"]["ETag"].strip('"').endswith("-2")

    # Again: nothing written (single-part ETags are the files' MD5, the big one's SHA-256
    # is in its metadata).
    source.aws.requests.reset()
    out = io.StringIO()
    call_command(copy_media_command.Command(), *command, "--quiet", stdout=out)
    assert out.getvalue().startswith(f"copied 0 objects (0 B) from {FILE_STORAGE} to {target};")
    assert writes(source.aws, bucket) == 0

    # A file changed in place (same size) is a difference, named.
    changed = small_key(7).removeprefix("uploads/")
    (tmp_path / changed).write_bytes(bytes(b ^ 1 for b in files[changed]))
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"DIFFERENT: 1 of 152 objects \(1 content\)"):
        call_command(copy_media_command.Command(), *command, "--verify-only", "--quiet", stdout=out)
    assert out.getvalue().splitlines() == [f"content  media/{changed} (SHA-256 differs)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--from-storage", "old_media"), "'old_media' is not in STORAGES"),
        (("--from-storage", "no.such.Storage"), "cannot import 'no.such.Storage'"),
        (("--from-storage", FILE_STORAGE, "--from-option", "location"), "expected NAME=VALUE"),
        (("--from-storage", FILE_STORAGE, "--to", "bucket/media"), "--to: expected s3://"),
        (("--from-storage", FILE_STORAGE, "--workers", "0"), "--workers: expected"),
    ],
    ids=["unknown-alias", "unknown-class", "option-without-value", "bad-to", "no-workers"],
)
def test_copy_media_bad_input(django_settings: None, argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(copy_media_command.Command(), "--to", "s3://new-media/media/", *argv)


def test_copy_media_reads_a_storages_alias_into_the_default_storages_bucket(
    source: SourceBucket, django_settings: None, tmp_path: Path
) -> None:
    """No --to: the bucket and location of STORAGES["default"], as the app writes them."""
    from django.test import override_settings

    files = {"a.txt": b"alpha", "deep/b c.png": b"\x89PNG beta"}
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    client = s3(source.aws)
    bucket = new_bucket(client)
    storages = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": bucket, "location": "media"},
        },
        "old_media": {"BACKEND": FILE_STORAGE, "OPTIONS": {"location": str(tmp_path)}},
    }
    out = io.StringIO()
    with override_settings(STORAGES=storages):
        call_command(
            copy_media_command.Command(), "--from-storage", "old_media", "--quiet", stdout=out
        )
    assert out.getvalue().startswith(
        f"copied 2 objects (14 B) from old_media to s3://{bucket}/media/;"
    )
    for name, body in files.items():
        assert client.get_object(Bucket=bucket, Key=f"media/{name}")["Body"].read() == body


def test_copy_media_names_a_missing_source_directory(
    source: SourceBucket, django_settings: None, tmp_path: Path
) -> None:
    bucket = new_bucket(s3(source.aws))
    missing = tmp_path / "no-media-here"
    argv = ("--from-storage", FILE_STORAGE, "--from-option", f"location={missing}")
    with pytest.raises(CommandError) as refused:
        call_command(copy_media_command.Command(), *argv, "--to", f"s3://{bucket}/media/")
    assert str(refused.value) == f"No such file or directory: {missing}"
