"""STORAGES (media and static files) and the URL/ROOT settings that go with them.

Media goes to a private S3 bucket through django-storages and is served with signed URLs;
static files are served by WhiteNoise from the image, or from S3 behind CloudFront. With
nothing set in development, both stay on the local disk under ``base_dir``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .env import Reader, reader

SOURCE_VARIABLES = ("AWS_STORAGE_BUCKET_NAME", "STATIC_BACKEND")

S3_MEDIA_BACKEND = "storages.backends.s3.S3Storage"
# S3ManifestStaticStorage with a manifest per release (static_storage.py says why).
S3_STATIC_BACKEND = "django_aws_settings.runtime.static_storage.ReleaseManifestStaticStorage"
WHITENOISE_BACKEND = "whitenoise.storage.CompressedManifestStaticFilesStorage"
FILESYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"
STATICFILES_BACKEND = "django.contrib.staticfiles.storage.StaticFilesStorage"

STATIC_BACKENDS = ("whitenoise", "s3", "filesystem")
MEDIA_STORAGES = ("s3", "none")
MEDIA_LOCATION = "media"
STATIC_LOCATION = "static"
# Hashed names change whenever the content does, so a cached copy can never be stale.
IMMUTABLE_CACHE_CONTROL = "max-age=31536000, public, immutable"
DEFAULT_QUERYSTRING_EXPIRE = 3600
MAX_QUERYSTRING_EXPIRE = 604_800  # SigV4 presigned URLs cannot outlive 7 days
MANIFEST_NAME = "staticfiles.json"  # Django's, when the release is not known
# One S3 key segment: no slash, no whitespace (a commit SHA, a tag, a build number).
RELEASE = re.compile(r"[^\s/\\]{1,128}")


@dataclass(frozen=True)
class _S3:
    region: str | None
    endpoint_url: str | None
    custom_domain: str | None


@dataclass(frozen=True)
class _Plan:
    """What the environment asks for, read once and shared by both public builders."""

    base_dir: Path
    media_root: Path
    s3: _S3
    media_bucket: str | None
    media_options: dict[str, Any]
    media_domain: str | None
    static_backend: str
    static_bucket: str | None
    release: str | None


def storages(
    environ: Mapping[str, str] | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    media_root: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Django's STORAGES: ``default`` (media) and ``staticfiles``.

    ``base_dir`` (the project's BASE_DIR; the working directory when None) anchors the
    local ``staticfiles`` directory, and ``media`` unless ``media_root`` (the module's
    MEDIA_ROOT) names where local uploads live.
    """
    r = reader(environ)
    plan = _plan(r, base_dir, media_root)
    r.raise_if_any()
    return {"default": _media_storage(plan), "staticfiles": _static_storage(plan)}


def storage_urls(
    environ: Mapping[str, str] | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    media_root: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """STATIC_URL and MEDIA_URL, plus STATIC_ROOT / MEDIA_ROOT for whichever is local."""
    r = reader(environ)
    plan = _plan(r, base_dir, media_root)
    r.raise_if_any()
    urls: dict[str, str] = {}
    if plan.static_backend == "s3":
        urls["STATIC_URL"] = _public_url(plan.s3, plan.static_bucket, STATIC_LOCATION)
    else:
        urls["STATIC_URL"] = f"/{STATIC_LOCATION}/"
        urls["STATIC_ROOT"] = os.fspath(plan.base_dir / "staticfiles")
    if plan.media_bucket is not None:
        # Informative only: S3Storage builds every media URL itself (signed when private).
        s3 = _S3(plan.s3.region, plan.s3.endpoint_url, plan.media_domain)
        urls["MEDIA_URL"] = _public_url(s3, plan.media_bucket, MEDIA_LOCATION)
    else:
        urls["MEDIA_URL"] = f"/{MEDIA_LOCATION}/"
        urls["MEDIA_ROOT"] = os.fspath(plan.media_root)
    return urls


def _plan(
    r: Reader,
    base_dir: str | os.PathLike[str] | None,
    media_root: str | os.PathLike[str] | None = None,
) -> _Plan:
    bucket = r.text("AWS_STORAGE_BUCKET_NAME")
    media_storage = r.text("MEDIA_STORAGE")
    if media_storage is not None:
        media_storage = r.choice("MEDIA_STORAGE", MEDIA_STORAGES, "s3")
    if media_storage == "none":
        media_bucket = None  # explicit: the app stores no uploads, whatever else is set
    elif bucket is not None:
        media_bucket = bucket
    else:
        media_bucket = None
        if media_storage == "s3" or r.production:
            r.problem(
                "AWS_STORAGE_BUCKET_NAME",
                "is required when DJANGO_ENV=production or MEDIA_STORAGE=s3 (uploads written to"
                " the container disk are lost at every deploy); expected the media bucket name,"
                " or set MEDIA_STORAGE=none if the app stores no uploads",
            )

    default_static = "whitenoise" if r.production else "filesystem"
    static_backend = r.choice("STATIC_BACKEND", STATIC_BACKENDS, default_static)
    static_bucket = None
    if static_backend == "s3":
        static_bucket = r.text("AWS_STATIC_BUCKET_NAME") or bucket
        if static_bucket is None:
            r.problem(
                "AWS_STATIC_BUCKET_NAME",
                "is required when STATIC_BACKEND=s3; expected a bucket name"
                " (or set AWS_STORAGE_BUCKET_NAME to share the media bucket)",
            )

    release = _release(r) if static_backend == "s3" else None

    uses_s3 = media_bucket is not None or static_backend == "s3"
    s3 = _S3(
        region=_region(r, required=uses_s3),
        endpoint_url=(
            r.text("AWS_S3_ENDPOINT_URL")
            or r.text("AWS_ENDPOINT_URL_S3")
            or r.text("AWS_ENDPOINT_URL")
        ),
        custom_domain=_custom_domain(r),
    )
    media_options, media_domain = _media_s3_options(r, s3)
    root = Path(base_dir) if base_dir is not None else Path.cwd()
    return _Plan(
        base_dir=root,
        media_root=Path(media_root) if media_root else root / MEDIA_LOCATION,
        s3=s3,
        media_bucket=media_bucket,
        media_options=media_options,
        media_domain=media_domain,
        static_backend=static_backend,
        static_bucket=static_bucket,
        release=release,
    )


def _release(r: Reader) -> str | None:
    """APP_RELEASE (the image's build arg, the commit SHA in the deploy workflow)."""
    release = r.text("APP_RELEASE")
    if release is not None and not RELEASE.fullmatch(release):
        r.problem(
            "APP_RELEASE",
            "expected a release id of at most 128 characters without '/', '\\' or"
            " whitespace, such as the commit SHA (it names the static files manifest)",
        )
        return None
    return release


def _region(r: Reader, *, required: bool) -> str | None:
    region = r.text("AWS_REGION") or r.text("AWS_DEFAULT_REGION")
    if region is None and required and r.production:
        r.problem(
            "AWS_REGION",
            "is required with S3 storage when DJANGO_ENV=production;"
            " expected the buckets' region, such as eu-west-1",
        )
    return region


def _custom_domain(r: Reader) -> str | None:
    domain = r.text("AWS_S3_CUSTOM_DOMAIN")
    if domain is not None and ("/" in domain or ":" in domain):
        r.problem(
            "AWS_S3_CUSTOM_DOMAIN",
            "expected a bare host name without scheme, port or path,"
            " such as d111111abcdef8.cloudfront.net or cdn.example.com;"
            f" got {r.shown('AWS_S3_CUSTOM_DOMAIN', domain)}",
        )
        return None
    return domain


def _media_s3_options(r: Reader, s3: _S3) -> tuple[dict[str, Any], str | None]:
    """Options for S3Storage, and the CloudFront domain when media may be served through it."""
    expire = r.integer(
        "AWS_QUERYSTRING_EXPIRE",
        DEFAULT_QUERYSTRING_EXPIRE,
        minimum=1,
        maximum=MAX_QUERYSTRING_EXPIRE,
    )
    public = r.flag("MEDIA_PUBLIC", default=False)
    key_id = r.text("AWS_CLOUDFRONT_KEY_ID")
    key = _pem(r.text("AWS_CLOUDFRONT_KEY"))
    if key_id is not None and key is None:
        r.problem(
            "AWS_CLOUDFRONT_KEY",
            "is required when AWS_CLOUDFRONT_KEY_ID is set; expected the PEM private key of"
            " that CloudFront public key (for example a secretsmanager: reference)",
        )
    elif key is not None and key_id is None:
        r.problem(
            "AWS_CLOUDFRONT_KEY_ID",
            "is required when AWS_CLOUDFRONT_KEY is set; expected the CloudFront public key"
            " id, such as K2JCJMDEHXQW5F",
        )
    elif key is not None and "PRIVATE KEY-----" not in key:
        r.problem("AWS_CLOUDFRONT_KEY", "expected a PEM private key (-----BEGIN ... PRIVATE KEY)")
    signed_by_cloudfront = key_id is not None and key is not None
    if signed_by_cloudfront and public:
        r.problem(
            "MEDIA_PUBLIC",
            "is true while CloudFront signing (AWS_CLOUDFRONT_KEY_ID) is configured;"
            " media URLs are either public or signed, unset one of them",
        )
    if signed_by_cloudfront and s3.custom_domain is None:
        r.problem(
            "AWS_S3_CUSTOM_DOMAIN",
            "is required when AWS_CLOUDFRONT_KEY_ID is set; expected the CloudFront"
            " distribution's domain name that signed URLs point at",
        )
    # CloudFront with an unsigned URL would make private media public: use the domain for
    # media only when the URL is signed by CloudFront or the media is public on purpose.
    domain = s3.custom_domain if (signed_by_cloudfront or public) else None
    options: dict[str, Any] = {
        "location": MEDIA_LOCATION,
        # Buckets with Object Ownership "bucket owner enforced" reject any ACL header.
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": not public,
        "querystring_expire": expire,
        "signature_version": "s3v4",
        "region_name": s3.region,
        "custom_domain": domain,
        "cloudfront_key_id": key_id if signed_by_cloudfront else None,
        "cloudfront_key": key if signed_by_cloudfront else None,
        **_credentials_from_the_default_chain(),
    }
    if s3.endpoint_url is not None:
        options["endpoint_url"] = s3.endpoint_url
    return options, domain


def _pem(value: str | None) -> str | None:
    # A PEM pasted into a single-line variable often carries literal "\n" sequences.
    if value is not None and "\n" not in value:
        return value.replace("\\n", "\n")
    return value


def _credentials_from_the_default_chain() -> dict[str, None]:
    # Explicit None overrides any AWS_ACCESS_KEY_ID left in an old settings module, so
    # boto3 uses its default chain: the ECS task role in production.
    return {"access_key": None, "secret_key": None, "security_token": None}


def _media_storage(plan: _Plan) -> dict[str, Any]:
    if plan.media_bucket is None:
        return {
            "BACKEND": FILESYSTEM_BACKEND,
            "OPTIONS": {
                "location": os.fspath(plan.media_root),
                "base_url": f"/{MEDIA_LOCATION}/",
            },
        }
    return {
        "BACKEND": S3_MEDIA_BACKEND,
        "OPTIONS": {"bucket_name": plan.media_bucket, **plan.media_options},
    }


def _static_storage(plan: _Plan) -> dict[str, Any]:
    if plan.static_backend == "whitenoise":
        return {"BACKEND": WHITENOISE_BACKEND}
    if plan.static_backend == "filesystem":
        return {"BACKEND": STATICFILES_BACKEND}
    manifest = f"staticfiles-{plan.release}.json" if plan.release else MANIFEST_NAME
    options: dict[str, Any] = {
        "bucket_name": plan.static_bucket,
        "location": STATIC_LOCATION,
        # Each release reads the manifest its own collectstatic wrote.
        "manifest_name": manifest,
        "default_acl": None,
        "querystring_auth": False,
        # collectstatic replaces unchanged names in place; never rename to name_abc123.css.
        "file_overwrite": True,
        "custom_domain": plan.s3.custom_domain,
        "object_parameters": {"CacheControl": IMMUTABLE_CACHE_CONTROL},
        "signature_version": "s3v4",
        "region_name": plan.s3.region,
        **_credentials_from_the_default_chain(),
    }
    if plan.s3.endpoint_url is not None:
        options["endpoint_url"] = plan.s3.endpoint_url
    return {"BACKEND": S3_STATIC_BACKEND, "OPTIONS": options}


def _public_url(s3: _S3, bucket: str | None, location: str) -> str:
    if s3.custom_domain is not None:
        return f"https://{s3.custom_domain}/{location}/"
    if s3.endpoint_url is not None:
        return f"{s3.endpoint_url.rstrip('/')}/{bucket}/{location}/"
    host = f"{bucket}.s3.{s3.region}.amazonaws.com" if s3.region else f"{bucket}.s3.amazonaws.com"
    return f"https://{host}/{location}/"


__all__ = ["SOURCE_VARIABLES", "storage_urls", "storages"]
