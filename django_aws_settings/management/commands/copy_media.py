"""``manage.py copy_media --from-storage OLD``: copy any Django storage into the media bucket."""

from __future__ import annotations

import json
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...ops.media_copy import (
    DEFAULT_WORKERS,
    MAX_WORKERS,
    MULTIPART_THRESHOLD,
    S3Destination,
    S3Location,
    StorageSource,
    copy_media,
    media_client,
    parse_s3_url,
    verify_media,
)
from ...settings.errors import ConfigError


class Command(BaseCommand):
    help = (
        "Copy the files of a Django storage (a STORAGES alias, or a storage class with"
        " --from-option NAME=VALUE) into the app's media bucket, skipping what is already"
        " there; --verify compares everything afterwards (exit 1 on any difference)."
        " docs/media-copy.md."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-storage",
            required=True,
            help="STORAGES alias (such as 'old_media') or dotted storage class"
            " (such as django.core.files.storage.FileSystemStorage).",
        )
        parser.add_argument(
            "--from-option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Keyword argument for a storage class (location=/srv/media); a JSON value"
            " is decoded. Repeat for several.",
        )
        parser.add_argument(
            "--to",
            help="s3://bucket/prefix/ (default: the bucket and location of STORAGES['default']).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help=f"Files in flight at once, 1-{MAX_WORKERS} (default: %(default)s).",
        )
        parser.add_argument(
            "--max-objects", type=int, help="Stop after copying N files (run again to continue)."
        )
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--verify", action="store_true", help="Verify after copying.")
        what.add_argument("--verify-only", action="store_true", help="Verify, copy nothing.")
        parser.add_argument("--region", help="The bucket's region (default: AWS_REGION).")
        parser.add_argument("--quiet", action="store_true", help="No progress lines on stderr.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["workers"] <= MAX_WORKERS:
            raise CommandError(f"--workers: expected a whole number from 1 to {MAX_WORKERS}")
        if options["max_objects"] is not None and options["max_objects"] < 1:
            raise CommandError("--max-objects: expected a whole number above 0")
        try:
            self._run(options)
        except ConfigError as error:
            raise CommandError(str(error)) from None
        except OSError as error:  # the source storage's disk: a vanished or unreadable path
            where = f": {error.filename}" if error.filename is not None else ""
            raise CommandError(f"{error.strerror or type(error).__name__}{where}") from None

    def _run(self, options: dict[str, Any]) -> None:
        from ...ops.aws import operator_session

        source = StorageSource(
            _storage(options["from_storage"], options["from_option"]), options["from_storage"]
        )
        location = _destination(options["to"])
        client = media_client(operator_session(options["region"]), options["workers"])
        destination = S3Destination(client, location, multipart_threshold=MULTIPART_THRESHOLD)
        # Progress goes to the real stream (a terminal rewrites one line in place).
        progress = None if options["quiet"] else cast("TextIO", self.stderr._out)
        if not options["verify_only"]:
            copied = copy_media(
                source,
                destination,
                workers=options["workers"],
                progress=progress,
                max_objects=options["max_objects"],
            )
            for line in copied.lines(source.label, location.url):
                self.stdout.write(line)
            if copied.failed:
                raise CommandError(f"{len(copied.failed):,} files failed; run again to retry")
        if options["verify"] or options["verify_only"]:
            verified = verify_media(
                source, destination, workers=options["workers"], progress=progress
            )
            *differences, verdict = verified.lines(location.url)
            for line in differences:
                self.stdout.write(line)
            if not verified.ok:
                raise CommandError(verdict)
            self.stdout.write(verdict)


def _storage(name: str, raw_options: list[str]) -> Any:
    """The storage a STORAGES alias names, or an instance of a dotted storage class."""
    from django.core.files.storage import InvalidStorageError, storages
    from django.utils.module_loading import import_string

    if "." not in name:
        if raw_options:
            raise CommandError("--from-option: applies to a storage class, not to an alias")
        try:
            return storages[name]
        except InvalidStorageError:
            raise CommandError(
                f"--from-storage: {name!r} is not in STORAGES; expected an alias or a dotted"
                " storage class"
            ) from None
    try:
        storage_class = import_string(name)
    except ImportError as error:
        raise CommandError(f"--from-storage: cannot import {name!r} ({error})") from None
    try:
        return storage_class(**_keyword_arguments(raw_options))
    except (TypeError, ValueError) as error:
        raise CommandError(f"--from-option: {name} refused them ({error})") from None


def _keyword_arguments(raw_options: list[str]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for raw in raw_options:
        name, equals, value = raw.partition("=")
        if not equals or not name.isidentifier():
            raise CommandError(f"--from-option: expected NAME=VALUE, got {raw!r}")
        try:
            arguments[name] = json.loads(value)
        except ValueError:
            arguments[name] = value
    return arguments


def _destination(url: str | None) -> S3Location:
    if url:
        try:
            return parse_s3_url(url)
        except ValueError as error:
            raise CommandError(f"--to: {error}") from None
    from django.conf import settings

    default = getattr(settings, "STORAGES", {}).get("default", {})
    bucket = default.get("OPTIONS", {}).get("bucket_name")
    if not bucket:
        raise CommandError(
            "--to: STORAGES['default'] is not an S3 bucket; expected --to s3://bucket/media/"
        )
    location = str(default["OPTIONS"].get("location") or "")
    return parse_s3_url(f"s3://{bucket}/{location}")
