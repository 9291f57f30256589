"""``django-aws media copy|verify``: the command line of :mod:`.media_copy`.

``SOURCE`` is ``s3://bucket[/prefix]``, read with the destination's credentials (and copied
server-side) unless ``--source-profile`` or ``--source-endpoint-url`` says it lives
elsewhere; ``DESTINATION`` is the app's media location, ``s3://<bucket>/media/``.
"""

from __future__ import annotations

import argparse
import sys

from ..settings.errors import ConfigError, Problem
from . import media_copy
from .media_copy import (
    DEFAULT_WORKERS,
    MAX_WORKERS,
    S3Destination,
    S3Location,
    S3Source,
    copy_media,
    media_client,
    parse_s3_url,
    verify_media,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    media = commands.add_parser(
        "media", help="copy media from the old storage into the new bucket, and verify it"
    )
    actions = media.add_subparsers(dest="media_command", required=True)
    copy = actions.add_parser(
        "copy",
        help="copy what is missing or different (run it again to resume or catch up)",
        description="Copy every object under SOURCE that DESTINATION lacks or holds"
        " differently. docs/media-copy.md.",
    )
    _common_arguments(copy)
    copy.add_argument(
        "--max-objects",
        type=_count,
        metavar="N",
        help="stop after copying N objects (a trial run; run again to continue)",
    )
    copy.set_defaults(handler=_copy_command)
    verify = actions.add_parser(
        "verify",
        help="compare count, sizes and content; exit 1 when anything is missing or differs",
        description="List what is missing or different in DESTINATION. docs/media-copy.md.",
    )
    _common_arguments(verify)
    verify.set_defaults(handler=_verify_command)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=_s3_url, help="the old media: s3://bucket[/prefix]")
    parser.add_argument(
        "destination", type=_s3_url, help="the app's media location: s3://<bucket>/media/"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        help=f"objects in flight at once, 1-{MAX_WORKERS} (default: %(default)s)",
    )
    parser.add_argument("--region", help="the destination bucket's region (default: AWS_REGION)")
    parser.add_argument("--source-region", help="the source bucket's region")
    parser.add_argument(
        "--source-profile", help="AWS profile that can read the source (another account)"
    )
    parser.add_argument(
        "--source-endpoint-url", help="S3 endpoint of the source (another S3 provider)"
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="download and upload through this machine even when the destination's"
        " credentials can read the source",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _s3_url(text: str) -> S3Location:
    try:
        return parse_s3_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_WORKERS}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("expected a whole number above 0")
    return int(text)


def _endpoints(arguments: argparse.Namespace) -> tuple[S3Source, S3Destination]:
    import boto3
    from botocore.exceptions import BotoCoreError

    from .aws import operator_session

    session = operator_session(arguments.region)
    client = media_client(session, arguments.workers)
    own = arguments.source_profile or arguments.source_endpoint_url
    source_client = client
    if own or arguments.source_region:
        try:
            source_session = boto3.session.Session(
                profile_name=arguments.source_profile,
                region_name=arguments.source_region or session.region_name,
            )
            source_client = media_client(
                source_session, arguments.workers, arguments.source_endpoint_url
            )
        except (BotoCoreError, ValueError) as error:
            name = "--source-profile" if arguments.source_profile else "--source-endpoint-url"
            raise ConfigError([Problem(name, str(error).splitlines()[0])]) from None
    source = S3Source(
        source_client,
        arguments.source,
        server_side=not (own or arguments.stream),
        same_store=not own,
    )
    destination = S3Destination(
        client, arguments.destination, multipart_threshold=media_copy.MULTIPART_THRESHOLD
    )
    return source, destination


def _copy_command(arguments: argparse.Namespace) -> int:
    source, destination = _endpoints(arguments)
    report = copy_media(
        source,
        destination,
        workers=arguments.workers,
        progress=None if arguments.quiet else sys.stderr,
        max_objects=arguments.max_objects,
    )
    for line in report.lines(source.label, destination.location.url):
        print(line)
    return 0 if not report.failed else 1


def _verify_command(arguments: argparse.Namespace) -> int:
    source, destination = _endpoints(arguments)
    report = verify_media(
        source,
        destination,
        workers=arguments.workers,
        progress=None if arguments.quiet else sys.stderr,
    )
    for line in report.lines(destination.location.url):
        print(line)
    return 0 if report.ok else 1
