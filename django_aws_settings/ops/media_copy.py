"""Media copy: move the files of the old storage into the app's media bucket, and verify.

One engine for two kinds of source: an S3 bucket (``s3://bucket/prefix``, in this account or
another, on AWS or another S3 endpoint; ``django-aws media copy|verify``, ops/media_cli.py)
and any Django storage (``manage.py copy_media``, through :class:`StorageSource`). The
destination is the app's media location in its bucket (``s3://<bucket>/media/``).

- Resume: a run lists both sides first and skips every object that is already there with
  the same size and content, so a re-run (or the run after a killed one) copies only what
  is missing or changed. An object appears in S3 only once it is complete, so a killed run
  leaves nothing half-written behind.
- Parallelism: ``workers`` threads, each with at most one request in flight (boto3's
  managed transfers run without their own threads here), and a bounded queue in front.
- S3 to S3 with the same credentials is copied server-side (CopyObject, or UploadPartCopy
  above :data:`MULTIPART_THRESHOLD`); any other source is streamed through the operator's
  machine (download, hash, upload).
- Proof of content: a single-part S3 ETag is the MD5 of the bytes, so equal ETags prove
  equal content. Where ETags cannot be compared (multipart uploads, a Django storage
  source) a copy records the source's ETag or SHA-256 in the object's metadata
  (:data:`SOURCE_ETAG_KEY`, :data:`SHA256_KEY`) and verification hashes both sides.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TextIO

from ..settings.errors import ConfigError, Problem
from .aws import ATTEMPTS, CONNECT_TIMEOUT

if TYPE_CHECKING:
    import boto3

DEFAULT_WORKERS = 8
MAX_WORKERS = 64
# Above this size a copy or upload goes in parts (S3 refuses a single CopyObject above
# 5 GiB; parts also let a slow link retry 64 MiB instead of the whole object).
MULTIPART_THRESHOLD = 64 * 1024 * 1024
CHUNK = 1024 * 1024  # bytes read at a time while hashing
# Seconds a media client waits for the next bytes (operator calls wait 5): S3 answers a
# CopyObject at once and keeps the connection alive until the copy is done.
MEDIA_READ_TIMEOUT = 15
LONGEST_MEDIA_CALL_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT + MEDIA_READ_TIMEOUT) + 3  # as ops.aws
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a streamed object larger than this is spooled to disk
# User metadata a copy writes when the ETag cannot prove the content (x-amz-meta-...).
SOURCE_ETAG_KEY = "media-copy-source-etag"
SHA256_KEY = "media-copy-sha256"
# Headers S3 keeps with an object besides its user metadata; copied as they are.
_OBJECT_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
)
# AWS answers that no other object will get past: stop the run and say so once.
_FATAL_CODES = {
    "AccessDenied": "access denied",
    "AllAccessDisabled": "access denied",
    "InvalidAccessKeyId": "the access key is not valid there",
    "SignatureDoesNotMatch": "the credentials are not valid there",
    "ExpiredToken": "the credentials have expired",
    "NoSuchBucket": "no such bucket",
    "PermanentRedirect": "the bucket is in another region (pass its region)",
    "AuthorizationHeaderMalformed": "the bucket is in another region (pass its region)",
}


# ------------------------------------------------------------------------ locations


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix/``: a bucket and a key prefix that is empty or ends with ``/``."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, relative: str) -> str:
        return self.prefix + relative


def parse_s3_url(text: str) -> S3Location:
    """``s3://bucket[/prefix]``; the prefix gets a trailing ``/`` (``media`` means the
    folder, not every key starting with ``media``). Raises ValueError naming what is wrong."""
    if not text.startswith("s3://"):
        raise ValueError(f"expected s3://bucket/prefix, got {text!r}")
    bucket, _, prefix = text.removeprefix("s3://").partition("/")
    if not (3 <= len(bucket) <= 63) or not all(c.isalnum() or c in ".-_" for c in bucket):
        raise ValueError(f"expected s3://bucket/prefix with a bucket name, got {text!r}")
    prefix = prefix.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Location(bucket, prefix)


# -------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class Entry:
    """One object: its key below the location's prefix, its size and (S3 only) its ETag."""

    key: str
    size: int
    etag: str | None = None


@dataclass(frozen=True)
class Digest:
    md5: str
    sha256: str


def single_part(etag: str | None) -> bool:
    """A single-part upload's ETag is the MD5 of the bytes (with SSE-S3 or no encryption);
    a multipart one is ``<md5 of the parts' md5s>-<parts>``."""
    return etag is not None and "-" not in etag


class Spool:
    """An object's bytes read once: hashed while read, kept in memory up to
    :data:`SPOOL_IN_MEMORY` and on disk above, so one read serves both the comparison
    and the upload."""

    def __init__(self, stream: IO[bytes]) -> None:
        md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        # Closed by close(): the spool outlives this constructor.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.size = 0
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
            self.file.write(chunk)
            self.size += len(chunk)
        self.file.seek(0)
        self.digest = Digest(md5.hexdigest(), sha256.hexdigest())

    def close(self) -> None:
        self.file.close()


def digest_of(stream: IO[bytes]) -> Digest:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    while chunk := stream.read(CHUNK):
        md5.update(chunk)
        sha256.update(chunk)
    return Digest(md5.hexdigest(), sha256.hexdigest())


# -------------------------------------------------------------------------- sources


class Source(Protocol):
    """Where the media comes from."""

    @property
    def label(self) -> str: ...

    def entries(self) -> Iterator[Entry]: ...

    def open(self, entry: Entry) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def fetch(self, entry: Entry) -> tuple[Spool, dict[str, Any]]:
        """The object's bytes, and its headers for the upload (ContentType, ..., Metadata)."""
        ...


class S3Source:
    """A bucket prefix. ``server_side`` when the destination's credentials can read it:
    objects are then copied inside S3, never through this machine."""

    def __init__(
        self,
        client: Any,
        location: S3Location,
        *,
        server_side: bool,
        same_store: bool | None = None,
    ) -> None:
        self.client = client
        self.location = location
        self.server_side = server_side
        # Same endpoint and account as the destination (so the same bucket name is the
        # same bucket); true whenever the copy can be server-side.
        self.same_store = server_side if same_store is None else same_store

    @property
    def label(self) -> str:
        return self.location.url

    def entries(self) -> Iterator[Entry]:
        yield from list_entries(self.client, self.location)

    @contextlib.contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        response = self.client.get_object(
            Bucket=self.location.bucket, Key=self.location.key(entry.key)
        )
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    def headers(self, entry: Entry) -> dict[str, Any]:
        head = self.client.head_object(
            Bucket=self.location.bucket, Key=self.location.key(entry.key)
        )
        return _object_headers(head)

    def fetch(self, entry: Entry) -> tuple[Spool, dict[str, Any]]:
        response = self.client.get_object(
            Bucket=self.location.bucket, Key=self.location.key(entry.key)
        )
        try:
            return Spool(response["Body"]), _object_headers(response)
        finally:
            response["Body"].close()


class Storage(Protocol):
    """The part of Django's Storage API a source needs (FileSystemStorage, S3Storage, ...)."""

    def listdir(self, path: str) -> tuple[list[str], list[str]]: ...

    def size(self, name: str) -> int: ...

    def open(self, name: str, mode: str = "rb") -> Any: ...


class StorageSource:
    """Any Django storage, walked with ``listdir`` from its root."""

    def __init__(self, storage: Storage, label: str) -> None:
        self.storage = storage
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    def entries(self) -> Iterator[Entry]:
        pending = [""]
        while pending:
            folder = pending.pop()
            directories, files = self.storage.listdir(folder)
            for name in sorted(files):
                key = f"{folder}{name}"
                yield Entry(key, self.storage.size(key))
            pending.extend(f"{folder}{d}/" for d in sorted(directories, reverse=True))

    @contextlib.contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        with self.storage.open(entry.key, "rb") as handle:
            yield handle

    def fetch(self, entry: Entry) -> tuple[Spool, dict[str, Any]]:
        with self.open(entry) as stream:
            spool = Spool(stream)
        # What django-storages' S3Storage sets when the app saves the file.
        content_type, encoding = mimetypes.guess_type(entry.key)
        headers: dict[str, Any] = {"ContentType": content_type or "application/octet-stream"}
        if encoding == "gzip":
            headers["ContentEncoding"] = "gzip"
        return spool, headers


def _object_headers(head: Mapping[str, Any]) -> dict[str, Any]:
    headers = {name: head[name] for name in _OBJECT_HEADERS if head.get(name)}
    headers["Metadata"] = dict(head.get("Metadata") or {})
    return headers


def list_entries(client: Any, location: S3Location) -> Iterator[Entry]:
    """Every object under the location, keys relative to its prefix. A missing bucket, a
    refused listing or an unreachable endpoint is a ConfigError naming the location."""
    paginator = client.get_paginator("list_objects_v2")
    with aws_errors(location.url):
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.prefix):
            for item in page.get("Contents", ()):
                yield Entry(
                    item["Key"].removeprefix(location.prefix),
                    int(item["Size"]),
                    str(item["ETag"]).strip('"'),
                )


@contextlib.contextmanager
def aws_errors(where: str) -> Iterator[None]:
    """A refused or unreachable call as one line naming ``where``, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        reason = _FATAL_CODES.get(code) or f"AWS answered {code or 'an error'}"
        raise ConfigError([Problem(where, reason)]) from None
    except BotoCoreError as error:
        raise ConfigError([Problem(where, f"{type(error).__name__}: {error}")]) from None


def _fatal_reason(error: BaseException) -> str | None:
    """Why no other object will copy either, or None when only this object failed."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(error, ClientError):
        return _FATAL_CODES.get(str(error.response.get("Error", {}).get("Code", "")))
    if isinstance(error, (EndpointConnectionError, NoCredentialsError)):
        return str(error)
    return None


def _failure(error: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return f"AWS answered {error.response.get('Error', {}).get('Code', 'an error')}"
    return f"{type(error).__name__}: {error}".splitlines()[0]


# ---------------------------------------------------------------------- destination


class S3Destination:
    """The app's media location; objects above ``multipart_threshold`` go in parts."""

    def __init__(self, client: Any, location: S3Location, *, multipart_threshold: int) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.location = location
        # No threads of its own: each worker has one request in flight at most.
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_threshold,
            use_threads=False,
        )
        self.multipart_threshold = multipart_threshold

    def entries(self) -> dict[str, Entry]:
        return {entry.key: entry for entry in list_entries(self.client, self.location)}

    def metadata(self, entry: Entry) -> dict[str, str]:
        head = self.client.head_object(
            Bucket=self.location.bucket, Key=self.location.key(entry.key)
        )
        return dict(head.get("Metadata") or {})

    @contextlib.contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        response = self.client.get_object(
            Bucket=self.location.bucket, Key=self.location.key(entry.key)
        )
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    def copy_from(self, source: S3Source, entry: Entry) -> None:
        """Copy inside S3. A single-part source keeps its ETag (the proof); any other gets
        the source's ETag in its metadata, for the next run to recognise it."""
        copy_source = {"Bucket": source.location.bucket, "Key": source.location.key(entry.key)}
        key = self.location.key(entry.key)
        if single_part(entry.etag) and entry.size < self.multipart_threshold:
            self.client.copy_object(
                Bucket=self.location.bucket,
                Key=key,
                CopySource=copy_source,
                MetadataDirective="COPY",
            )
            return
        headers = source.headers(entry)
        headers["Metadata"][SOURCE_ETAG_KEY] = entry.etag or ""
        if entry.size < self.multipart_threshold:
            self.client.copy_object(
                Bucket=self.location.bucket,
                Key=key,
                CopySource=copy_source,
                MetadataDirective="REPLACE",
                **headers,
            )
        else:
            self.client.copy(
                copy_source,
                self.location.bucket,
                key,
                ExtraArgs={"MetadataDirective": "REPLACE", **headers},
                Config=self.transfer,
            )

    def upload(self, spool: Spool, entry: Entry, headers: dict[str, Any]) -> None:
        metadata = {**headers.get("Metadata", {}), SHA256_KEY: spool.digest.sha256}
        if entry.etag is not None:
            metadata[SOURCE_ETAG_KEY] = entry.etag
        self.client.upload_fileobj(
            spool.file,
            self.location.bucket,
            self.location.key(entry.key),
            ExtraArgs={**headers, "Metadata": metadata},
            Config=self.transfer,
        )


# ------------------------------------------------------------------------- progress


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"  # pragma: no cover - the loop returns at GiB


class Progress:
    """One line at a time on ``stream``: objects and bytes done of the total, and the rate.

    Rewritten in place on a terminal; elsewhere (a log) a new line every ``interval``
    seconds. Thread-safe: workers call :meth:`add`.
    """

    def __init__(
        self,
        verb: str,
        total_objects: int,
        total_bytes: int,
        stream: TextIO | None,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb = verb
        self.total_objects = total_objects
        self.total_bytes = total_bytes
        self.stream = stream
        self.tty = bool(stream is not None and stream.isatty())
        self.interval = interval if interval is not None else (0.5 if self.tty else 5.0)
        self.clock = clock
        self.started = clock()
        self.objects = 0
        self.bytes = 0
        self._last = self.started
        self._lock = threading.Lock()

    def add(self, objects: int, size: int) -> None:
        with self._lock:
            self.objects += objects
            self.bytes += size
            now = self.clock()
            if now - self._last >= self.interval:
                self._last = now
                self._show(now)

    def finish(self) -> None:
        with self._lock:
            self._show(self.clock(), final=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        return (
            f"{self.verb}: {self.objects:,}/{self.total_objects:,} objects,"
            f" {_size(self.bytes)}/{_size(self.total_bytes)},"
            f" {self.objects / elapsed:,.0f} objects/s, {_size(self.bytes / elapsed)}/s"
        )

    def _show(self, now: float, *, final: bool = False) -> None:
        if self.stream is None:
            return
        if self.tty:
            self.stream.write("\r\033[K" + self.line(now) + ("\n" if final else ""))
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------- engine


@dataclass
class CopyReport:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    left: int = 0  # objects not attempted because the run stopped at max_objects

    def lines(self, source: str, destination: str) -> list[str]:
        lines = [f"failed: {key}: {reason}" for key, reason in self.failed]
        lines.append(
            f"copied {self.copied:,} objects ({_size(self.copied_bytes)}) from {source} to"
            f" {destination}; {self.skipped:,} already there ({_size(self.skipped_bytes)})"
            + (f"; {len(self.failed):,} failed" if self.failed else "")
            + (f"; {self.left:,} left for the next run" if self.left else "")
        )
        return lines

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left


KINDS = ("missing", "size", "content", "unread")  # unread: an object verify could not read


@dataclass(frozen=True)
class Difference:
    key: str
    kind: str  # one of KINDS
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind:<8} {self.key}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class VerifyReport:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    extra: int = 0  # in the destination only: new uploads, or files the old app deleted

    @property
    def ok(self) -> bool:
        return not self.differences

    def lines(self, destination: str) -> list[str]:
        lines = [str(d) for d in sorted(self.differences, key=lambda d: d.key)]
        kinds = Counter(d.kind for d in self.differences)
        extra = f"; {self.extra:,} only in {destination}" if self.extra else ""
        if self.ok:
            lines.append(f"OK: {self.checked:,} objects identical in {destination}{extra}")
        else:
            counted = ", ".join(f"{kinds[kind]:,} {kind}" for kind in KINDS if kinds[kind])
            lines.append(
                f"DIFFERENT: {len(self.differences):,} of {self.checked:,} objects ({counted})"
                f"{extra}"
            )
        return lines


def copy_media(
    source: Source,
    destination: S3Destination,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: TextIO | None = None,
    max_objects: int | None = None,
    progress_interval: float | None = None,
) -> CopyReport:
    """Copy what is missing or different; ``max_objects`` stops after that many copies
    (a trial run, or a run sized to a window). Raises ConfigError when no object can be
    copied (a missing bucket, access denied)."""
    refuse_overlap(source, destination)
    existing = destination.entries()  # first: a missing bucket stops before a long walk
    entries = list(source.entries())
    meter = Progress(
        "media copy",
        len(entries),
        sum(e.size for e in entries),
        progress,
        interval=progress_interval,
    )
    report = CopyReport()
    lock = threading.Lock()
    budget = [max_objects if max_objects is not None else len(entries)]

    def copy_one(entry: Entry) -> None:
        there = existing.get(entry.key)
        fetched = None
        try:
            if isinstance(source, S3Source):
                same = _s3_copy_there(destination, entry, there)
            else:  # a Django storage has no ETag: its bytes are read once, here
                fetched = source.fetch(entry)
                same = _copy_there(destination, there, fetched[0].digest)
            if same:
                with lock:
                    report.skipped += 1
                    report.skipped_bytes += entry.size
                meter.add(1, entry.size)
                return
            with lock:
                if budget[0] <= 0:
                    report.left += 1
                    return
                budget[0] -= 1
            if isinstance(source, S3Source) and source.server_side:
                destination.copy_from(source, entry)
            else:
                fetched = fetched or source.fetch(entry)
                destination.upload(fetched[0], entry, fetched[1])
        finally:
            if fetched is not None:
                fetched[0].close()
        with lock:
            report.copied += 1
            report.copied_bytes += entry.size
        meter.add(1, entry.size)

    def failed(entry: Entry, error: BaseException) -> None:
        with lock:
            report.failed.append((destination.location.key(entry.key), _failure(error)))

    where = f"copy from {source.label} to {destination.location.url}"
    try:
        run_bounded(entries, copy_one, failed, workers=workers, where=where)
    except ConfigError as error:
        meter.finish()
        if isinstance(source, S3Source) and source.server_side and "access denied" in str(error):
            # The listing worked, so it is the copy: CopyObject reads the source with the
            # destination's credentials.
            raise ConfigError(
                [
                    Problem(
                        where,
                        "access denied (a server-side copy reads the source with the"
                        " destination's credentials: let them s3:GetObject it, or pass"
                        " --source-profile or --stream)",
                    )
                ]
            ) from None
        raise
    meter.finish()
    return report


def refuse_overlap(source: Source, destination: S3Destination) -> None:
    """One prefix inside the other in one bucket: each run would copy its own copies."""
    if not isinstance(source, S3Source) or not source.same_store:
        return  # another endpoint or account: the same name is another bucket
    here, there = source.location, destination.location
    if here.bucket == there.bucket and (
        here.prefix.startswith(there.prefix) or there.prefix.startswith(here.prefix)
    ):
        raise ConfigError(
            [Problem(there.url, f"overlaps the source {here.url}; expected separate prefixes")]
        )


def _s3_copy_there(destination: S3Destination, entry: Entry, there: Entry | None) -> bool:
    """Whether ``there`` is a copy of this version of the S3 object: equal ETags, or the
    source ETag a previous copy recorded (multipart and streamed copies)."""
    if there is None or there.size != entry.size:
        return False
    if entry.etag == there.etag:
        return True
    return destination.metadata(there).get(SOURCE_ETAG_KEY) == entry.etag


def _copy_there(destination: S3Destination, there: Entry | None, digest: Digest) -> bool:
    """Whether ``there`` holds these bytes: its single-part ETag is their MD5, or a
    previous copy recorded their SHA-256."""
    if there is None:
        return False
    if single_part(there.etag) and there.etag == digest.md5:
        return True
    return destination.metadata(there).get(SHA256_KEY) == digest.sha256


def verify_media(
    source: Source,
    destination: S3Destination,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: TextIO | None = None,
    progress_interval: float | None = None,
) -> VerifyReport:
    """Compare every source object with its copy: present, same size, same content (equal
    single-part ETags, else SHA-256 of both sides' bytes)."""
    refuse_overlap(source, destination)
    existing = destination.entries()  # first: a missing bucket stops before a long walk
    entries = list(source.entries())
    meter = Progress(
        "media verify",
        len(entries),
        sum(e.size for e in entries),
        progress,
        interval=progress_interval,
    )
    report = VerifyReport(checked=len(entries))
    report.extra = len(existing.keys() - {e.key for e in entries})
    lock = threading.Lock()

    def check(entry: Entry) -> None:
        difference = _difference(source, destination, entry, existing.get(entry.key))
        if difference is not None:
            with lock:
                report.differences.append(difference)
        meter.add(1, entry.size)

    def failed(entry: Entry, error: BaseException) -> None:
        key = destination.location.key(entry.key)
        with lock:
            report.differences.append(Difference(key, "unread", _failure(error)))

    where = f"verify {source.label} against {destination.location.url}"
    try:
        run_bounded(entries, check, failed, workers=workers, where=where)
    finally:
        meter.finish()
    return report


def _difference(
    source: Source, destination: S3Destination, entry: Entry, there: Entry | None
) -> Difference | None:
    key = destination.location.key(entry.key)
    if there is None:
        return Difference(key, "missing")
    if there.size != entry.size:
        return Difference(key, "size", f"source {entry.size:,} B, destination {there.size:,} B")
    if single_part(entry.etag) and entry.etag == there.etag:
        return None
    with source.open(entry) as stream:
        expected = digest_of(stream)
    if entry.etag is None and single_part(there.etag) and there.etag == expected.md5:
        return None
    # Multipart, or an ETag that is not an MD5 (SSE-KMS): the bytes decide.
    with destination.open(there) as stream:
        actual = digest_of(stream)
    if actual.sha256 != expected.sha256:
        return Difference(key, "content", "SHA-256 differs")
    return None


def run_bounded(
    items: Iterable[Entry],
    work: Callable[[Entry], None],
    failed: Callable[[Entry, BaseException], None],
    *,
    workers: int,
    where: str,
) -> None:
    """``work`` on every item in ``workers`` threads, at most ``2 * workers`` queued.

    An error no other item would get past (access denied, an unreachable endpoint) stops
    the run and is raised as a ConfigError naming ``where``; any other is the item's own
    failure, handed to ``failed``."""
    fatal: list[str] = []
    pending: set[Future[None]] = set()
    owners: dict[Future[None], Entry] = {}

    def settle(done: Iterable[Future[None]]) -> None:
        for future in done:
            entry = owners.pop(future)
            error = future.exception()
            if error is None:
                continue
            reason = _fatal_reason(error)
            if reason is not None:
                fatal.append(reason)
            elif isinstance(error, Exception):
                failed(entry, error)
            else:
                raise error

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="media") as pool:
        try:
            for item in items:
                if fatal:
                    break
                if len(pending) >= 2 * workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    settle(done)
                future = pool.submit(work, item)
                owners[future] = item
                pending.add(future)
            done, pending = wait(pending)
            settle(done)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    if fatal:
        raise ConfigError([Problem(where, fatal[0])])


# ---------------------------------------------------------------------- clients


def media_client(
    session: boto3.session.Session, workers: int, endpoint_url: str | None = None
) -> Any:
    """An S3 client for ``workers`` threads: a connection each, and a longer read timeout
    than other operator calls (a throttled S3 may pause between the chunks of an object),
    still bounded: a silent endpoint ends a run within :data:`LONGEST_MEDIA_CALL_SECONDS`."""
    from botocore.config import Config

    from .aws import operator_config

    config = operator_config().merge(
        Config(read_timeout=MEDIA_READ_TIMEOUT, max_pool_connections=workers + 2)
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


__all__ = [
    "DEFAULT_WORKERS",
    "MAX_WORKERS",
    "MULTIPART_THRESHOLD",
    "CopyReport",
    "Entry",
    "S3Destination",
    "S3Location",
    "S3Source",
    "Source",
    "StorageSource",
    "VerifyReport",
    "copy_media",
    "media_client",
    "parse_s3_url",
    "refuse_overlap",
    "verify_media",
]
