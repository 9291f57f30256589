"""STORAGES and the URL settings: the exact shapes, the refusals, and real S3 (moto) behaviour.

The S3 tests configure Django in a subprocess (the suite has no global settings) from a
settings module that calls the builders on that process's environment, so what is
exercised is exactly what a deployed settings module would get.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.moto_server import Aws

from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError, Problem
from django_aws_settings.settings.storages import (
    IMMUTABLE_CACHE_CONTROL,
    SOURCE_VARIABLES,
    storage_urls,
    storages,
)

BASE = Path("/srv/app")
REPOSITORY = Path(__file__).resolve().parents[2]
PRODUCTION = {"DJANGO_ENV": "production", "AWS_REGION": "eu-west-1"}
NO_KEYS = {"access_key": None, "secret_key": None, "security_token": None}


def problems(environ: dict[str, str]) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as error:
        storages(environ, base_dir=BASE)
    return error.value.problems


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("AWS_STORAGE_BUCKET_NAME", "STATIC_BACKEND")


# ----------------------------------------------------------------------- development


def test_development_defaults_keep_everything_on_the_local_disk() -> None:
    assert storages({}, base_dir=BASE) == {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": "/srv/app/media", "base_url": "/media/"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_development_urls_and_roots() -> None:
    assert storage_urls({}, base_dir=BASE) == {
        "STATIC_URL": "/static/",
        "STATIC_ROOT": "/srv/app/staticfiles",
        "MEDIA_URL": "/media/",
        "MEDIA_ROOT": "/srv/app/media",
    }


def test_base_dir_defaults_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert storage_urls({})["MEDIA_ROOT"] == str(tmp_path / "media")


# ------------------------------------------------------------------------ media on S3


def test_media_on_s3_is_private_signed_and_never_overwritten() -> None:
    result = storages({**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "shop-media"}, base_dir=BASE)
    assert result["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "shop-media",
            "location": "media",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 3600,
            "signature_version": "s3v4",
            "region_name": "eu-west-1",
            "custom_domain": None,
            "cloudfront_key_id": None,
            "cloudfront_key": None,
            **NO_KEYS,
        },
    }


def test_production_static_defaults_to_whitenoise() -> None:
    result = storages({**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "shop-media"}, base_dir=BASE)
    assert result["staticfiles"] == {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    }


def test_production_urls_with_whitenoise_and_s3_media() -> None:
    urls = storage_urls({**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "shop-media"}, base_dir=BASE)
    assert urls == {
        "STATIC_URL": "/static/",
        "STATIC_ROOT": "/srv/app/staticfiles",
        "MEDIA_URL": "https://shop-media.s3.eu-west-1.amazonaws.com/media/",
    }


def test_querystring_expiry_is_read_from_the_environment() -> None:
    environ = {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_QUERYSTRING_EXPIRE": "300"}
    assert storages(environ, base_dir=BASE)["default"]["OPTIONS"]["querystring_expire"] == 300


def test_s3_endpoint_url_is_honoured() -> None:
    environ = {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:5000"}
    assert storages(environ, base_dir=BASE)["default"]["OPTIONS"]["endpoint_url"] == (
        "http://127.0.0.1:5000"
    )


def test_generic_aws_endpoint_url_is_the_fallback() -> None:
    environ = {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:5001"}
    assert storages(environ, base_dir=BASE)["default"]["OPTIONS"]["endpoint_url"] == (
        "http://127.0.0.1:5001"
    )


def test_cloudfront_domain_alone_does_not_serve_private_media() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
    }
    options = storages(environ, base_dir=BASE)["default"]["OPTIONS"]
    assert (options["custom_domain"], options["querystring_auth"]) == (None, True)


def test_cloudfront_signing_serves_media_through_the_domain() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": "-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n",
    }
    options = storages(environ, base_dir=BASE)["default"]["OPTIONS"]
    assert {k: options[k] for k in ("custom_domain", "querystring_auth", "cloudfront_key_id")} == {
        "custom_domain": "cdn.example.com",
        "querystring_auth": True,
        "cloudfront_key_id": "K2JCJMDEHXQW5F",
    }


def test_single_line_pem_gets_its_newlines_back() -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": r"-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----",
    }
    assert storages(environ, base_dir=BASE)["default"]["OPTIONS"]["cloudfront_key"] == (
        "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"
    )


def test_public_media_is_unsigned_through_the_domain() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "MEDIA_PUBLIC": "true",
    }
    options = storages(environ, base_dir=BASE)["default"]["OPTIONS"]
    assert (options["custom_domain"], options["querystring_auth"]) == ("cdn.example.com", False)


def test_media_storage_none_keeps_uploads_local_in_production() -> None:
    environ = {**PRODUCTION, "MEDIA_STORAGE": "none"}
    assert storages(environ, base_dir=BASE)["default"]["BACKEND"] == (
        "django.core.files.storage.FileSystemStorage"
    )


# --------------------------------------------------------------------- static on S3


def test_static_on_s3_is_unsigned_hashed_and_cached_forever() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
        "AWS_STATIC_BUCKET_NAME": "shop-static",
        "STATIC_BACKEND": "s3",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
    }
    assert storages(environ, base_dir=BASE)["staticfiles"] == {
        "BACKEND": "django_aws_settings.runtime.static_storage.ReleaseManifestStaticStorage",
        "OPTIONS": {
            "bucket_name": "shop-static",
            "location": "static",
            "manifest_name": "staticfiles.json",
            "default_acl": None,
            "querystring_auth": False,
            "file_overwrite": True,
            "custom_domain": "cdn.example.com",
            "object_parameters": {"CacheControl": "max-age=31536000, public, immutable"},
            "signature_version": "s3v4",
            "region_name": "eu-west-1",
            **NO_KEYS,
        },
    }


def test_the_release_names_the_static_manifest() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "shop",
        "STATIC_BACKEND": "s3",
        "APP_RELEASE": "3f9c2d1e5b7a",
    }
    options = storages(environ, base_dir=BASE)["staticfiles"]["OPTIONS"]
    assert options["manifest_name"] == "staticfiles-3f9c2d1e5b7a.json"


def test_the_release_is_read_only_for_static_files_on_s3() -> None:
    environ = {**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "shop", "APP_RELEASE": "a/b"}
    assert storages(environ, base_dir=BASE)["staticfiles"] == {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    }


def test_configure_adds_no_whitenoise_for_static_files_on_s3(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "MIDDLEWARE": []}
    configure(namespace, {"STATIC_BACKEND": "s3", "AWS_STATIC_BUCKET_NAME": "shop-static"})
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in namespace["MIDDLEWARE"]
    assert namespace["STORAGES"]["staticfiles"]["BACKEND"] == (
        "django_aws_settings.runtime.static_storage.ReleaseManifestStaticStorage"
    )


def test_static_bucket_defaults_to_the_media_bucket() -> None:
    environ = {**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "shop", "STATIC_BACKEND": "s3"}
    assert storages(environ, base_dir=BASE)["staticfiles"]["OPTIONS"]["bucket_name"] == "shop"


def test_static_url_on_cloudfront() -> None:
    environ = {
        **PRODUCTION,
        "AWS_STORAGE_BUCKET_NAME": "shop",
        "STATIC_BACKEND": "s3",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
    }
    assert storage_urls(environ, base_dir=BASE) == {
        "STATIC_URL": "https://cdn.example.com/static/",
        "MEDIA_URL": "https://shop.s3.eu-west-1.amazonaws.com/media/",
    }


def test_static_backend_is_case_insensitive() -> None:
    result = storages({"STATIC_BACKEND": "WhiteNoise"}, base_dir=BASE)
    assert result["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


# ------------------------------------------------------------------------- refusals


def test_unknown_static_backend() -> None:
    assert problems({"STATIC_BACKEND": "nginx"}) == (
        Problem("STATIC_BACKEND", "expected one of whitenoise, s3, filesystem, got 'nginx'"),
    )


def test_s3_static_without_a_bucket() -> None:
    assert problems({"STATIC_BACKEND": "s3"}) == (
        Problem(
            "AWS_STATIC_BUCKET_NAME",
            "is required when STATIC_BACKEND=s3; expected a bucket name"
            " (or set AWS_STORAGE_BUCKET_NAME to share the media bucket)",
        ),
    )


def test_missing_bucket_in_production() -> None:
    assert problems(PRODUCTION) == (
        Problem(
            "AWS_STORAGE_BUCKET_NAME",
            "is required when DJANGO_ENV=production or MEDIA_STORAGE=s3 (uploads written to"
            " the container disk are lost at every deploy); expected the media bucket name,"
            " or set MEDIA_STORAGE=none if the app stores no uploads",
        ),
    )


def test_missing_region_with_s3_in_production() -> None:
    assert problems({"DJANGO_ENV": "production", "AWS_STORAGE_BUCKET_NAME": "b"}) == (
        Problem(
            "AWS_REGION",
            "is required with S3 storage when DJANGO_ENV=production;"
            " expected the buckets' region, such as eu-west-1",
        ),
    )


def test_unknown_media_storage() -> None:
    assert problems({"MEDIA_STORAGE": "disk", "AWS_STORAGE_BUCKET_NAME": "b"}) == (
        Problem("MEDIA_STORAGE", "expected one of s3, none, got 'disk'"),
    )


def test_cloudfront_key_id_without_key() -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
    }
    assert problems(environ) == (
        Problem(
            "AWS_CLOUDFRONT_KEY",
            "is required when AWS_CLOUDFRONT_KEY_ID is set; expected the PEM private key of"
            " that CloudFront public key (for example a secretsmanager: reference)",
        ),
    )


def test_cloudfront_key_that_is_not_a_pem_is_refused_without_echoing_it() -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": "hunter2-not-a-key",
    }
    assert problems(environ) == (
        Problem("AWS_CLOUDFRONT_KEY", "expected a PEM private key (-----BEGIN ... PRIVATE KEY)"),
    )


def test_cloudfront_signing_without_a_domain() -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----",
    }
    assert problems(environ) == (
        Problem(
            "AWS_S3_CUSTOM_DOMAIN",
            "is required when AWS_CLOUDFRONT_KEY_ID is set; expected the CloudFront"
            " distribution's domain name that signed URLs point at",
        ),
    )


def test_custom_domain_with_a_scheme() -> None:
    environ = {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_CUSTOM_DOMAIN": "https://cdn.example.com"}
    assert problems(environ) == (
        Problem(
            "AWS_S3_CUSTOM_DOMAIN",
            "expected a bare host name without scheme, port or path, such as"
            " d111111abcdef8.cloudfront.net or cdn.example.com; got 'https://cdn.example.com'",
        ),
    )


def test_non_integer_querystring_expiry() -> None:
    assert problems({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_QUERYSTRING_EXPIRE": "1h"}) == (
        Problem("AWS_QUERYSTRING_EXPIRE", "expected an integer between 1 and 604800, got '1h'"),
    )


def test_querystring_expiry_beyond_what_sigv4_allows() -> None:
    assert problems({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_QUERYSTRING_EXPIRE": "604801"}) == (
        Problem("AWS_QUERYSTRING_EXPIRE", "expected an integer between 1 and 604800, got 604801"),
    )


def test_public_and_signed_media_at_once() -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----",
        "MEDIA_PUBLIC": "yes",
    }
    assert problems(environ) == (
        Problem(
            "MEDIA_PUBLIC",
            "is true while CloudFront signing (AWS_CLOUDFRONT_KEY_ID) is configured;"
            " media URLs are either public or signed, unset one of them",
        ),
    )


@pytest.mark.parametrize("release", ["feature/login", "v1 2", "x" * 129])
def test_release_that_cannot_name_a_manifest(release: str) -> None:
    environ = {"STATIC_BACKEND": "s3", "AWS_STATIC_BUCKET_NAME": "s", "APP_RELEASE": release}
    assert problems(environ) == (
        Problem(
            "APP_RELEASE",
            "expected a release id of at most 128 characters without '/', '\\' or whitespace,"
            " such as the commit SHA (it names the static files manifest)",
        ),
    )


def test_every_problem_is_reported_at_once() -> None:
    environ = {"DJANGO_ENV": "production", "STATIC_BACKEND": "s3", "AWS_QUERYSTRING_EXPIRE": "x"}
    assert [problem.name for problem in problems(environ)] == [
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_STATIC_BUCKET_NAME",
        "AWS_REGION",
        "AWS_QUERYSTRING_EXPIRE",
    ]


# ------------------------------------------------------------------- S3 through moto

SETTINGS = """
from pathlib import Path

from django_aws_settings.settings.storages import storage_urls, storages

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "storage-tests-" + "x" * 50
USE_TZ = True
INSTALLED_APPS = ["django.contrib.staticfiles"]
STATICFILES_DIRS = [BASE_DIR / "assets"]
STORAGES = storages(base_dir=BASE_DIR)
globals().update(storage_urls(base_dir=BASE_DIR))
"""

MEDIA_BUCKET = "shop-media"
STATIC_BUCKET = "shop-static"


def run_django(project: Path, aws: Aws, environ: dict[str, str], *args: str, code: str = "") -> str:
    """Run Django code (``-c``) or a management command in a fresh process; return stdout.

    Only AWS_S3_ENDPOINT_URL points at moto: os.environ's AWS_ENDPOINT_URL is the `aws`
    fixture's trap, so a storage that ignored the built endpoint would fail.
    """
    (project / "test_settings.py").write_text(SETTINGS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project), str(REPOSITORY)]),
        "DJANGO_SETTINGS_MODULE": "test_settings",
        "AWS_REGION": aws.region,
        "AWS_S3_ENDPOINT_URL": aws.endpoint_url,
        **environ,
    }
    argv = ["-c", "import django; django.setup()\n" + code] if code else ["-m", "django", *args]
    completed = subprocess.run(
        [sys.executable, *argv], env=env, cwd=project, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def make_bucket(aws: Aws, name: str) -> None:
    aws.client("s3").create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")


SAVE_TWICE = textwrap.dedent(
    """
    import json
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    first = default_storage.save("invoices/2024.txt", ContentFile(b"first upload"))
    second = default_storage.save("invoices/2024.txt", ContentFile(b"second upload"))
    print(json.dumps({"first": first, "second": second, "url": default_storage.url(first)}))
    """
)


@pytest.fixture
def saved_twice(tmp_path: Path, aws: Aws) -> dict[str, Any]:
    make_bucket(aws, MEDIA_BUCKET)
    output = run_django(tmp_path, aws, {"AWS_STORAGE_BUCKET_NAME": MEDIA_BUCKET}, code=SAVE_TWICE)
    result: dict[str, Any] = json.loads(output)
    return result


def media_keys(aws: Aws) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=MEDIA_BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.mark.slow  # runs Django in a subprocess
def test_uploads_land_under_media(saved_twice: dict[str, Any], aws: Aws) -> None:
    assert f"media/{saved_twice['first']}" in media_keys(aws)


@pytest.mark.slow  # runs Django in a subprocess
def test_same_name_twice_keeps_both(saved_twice: dict[str, Any], aws: Aws) -> None:
    second = saved_twice["second"]
    assert saved_twice["first"] == "invoices/2024.txt"
    assert re.fullmatch(r"invoices/2024_[A-Za-z0-9]{7}\.txt", second)
    assert media_keys(aws) == sorted(["media/invoices/2024.txt", f"media/{second}"])


@pytest.mark.slow  # runs Django in a subprocess
def test_uploaded_objects_carry_only_the_owner_grant(saved_twice: dict[str, Any], aws: Aws) -> None:
    acl = aws.client("s3").get_object_acl(Bucket=MEDIA_BUCKET, Key="media/invoices/2024.txt")
    grants = [(grant["Grantee"].get("Type"), grant["Permission"]) for grant in acl["Grants"]]
    assert grants == [("CanonicalUser", "FULL_CONTROL")]
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]


@pytest.mark.slow  # runs Django in a subprocess
def test_media_url_is_presigned(saved_twice: dict[str, Any], aws: Aws) -> None:
    url = urllib.parse.urlsplit(saved_twice["url"])
    query = urllib.parse.parse_qs(url.query)
    assert (url.path, query["X-Amz-Algorithm"], query["X-Amz-Expires"]) == (
        f"/{MEDIA_BUCKET}/media/invoices/2024.txt",
        ["AWS4-HMAC-SHA256"],
        ["3600"],
    )
    assert "X-Amz-Signature" in query


@pytest.mark.slow  # runs Django in a subprocess
def test_presigned_media_url_returns_the_bytes(saved_twice: dict[str, Any]) -> None:
    with urllib.request.urlopen(saved_twice["url"], timeout=10) as response:  # noqa: S310
        assert response.read() == b"first upload"


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.slow  # runs Django in a subprocess
def test_cloudfront_signed_media_url(tmp_path: Path, aws: Aws) -> None:
    environ = {
        "AWS_STORAGE_BUCKET_NAME": MEDIA_BUCKET,
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": private_key_pem(),
    }
    code = "from django.core.files.storage import default_storage as s; print(s.url('a b.pdf'))"
    url = urllib.parse.urlsplit(run_django(tmp_path, aws, environ, code=code).strip())
    query = urllib.parse.parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path, query["Key-Pair-Id"]) == (
        "https",
        "cdn.example.com",
        "/media/a%20b.pdf",
        ["K2JCJMDEHXQW5F"],
    )
    assert {"Expires", "Signature"} <= query.keys()


ASSETS = {
    "css/app.css": 'body { background: url("../img/dot.png"); }\n',
    "img/dot.png": "not really a png\n",
}


@pytest.fixture
def collected(tmp_path: Path, aws: Aws) -> Path:
    make_bucket(aws, STATIC_BUCKET)
    for name, content in ASSETS.items():
        path = tmp_path / "assets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    environ = {
        "STATIC_BACKEND": "s3",
        "AWS_STATIC_BUCKET_NAME": STATIC_BUCKET,
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "MEDIA_STORAGE": "none",
    }
    run_django(tmp_path, aws, environ, "collectstatic", "--noinput", "-v0")
    return tmp_path


def static_keys(aws: Aws) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=STATIC_BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def hashed_css_key(aws: Aws) -> str:
    (key,) = [k for k in static_keys(aws) if re.fullmatch(r"static/css/app\.[0-9a-f]{12}\.css", k)]
    return key


@pytest.mark.slow  # runs Django in a subprocess
def test_collectstatic_uploads_hashed_files_and_the_manifest(collected: Path, aws: Aws) -> None:
    keys = static_keys(aws)
    assert "static/staticfiles.json" in keys
    css = [k for k in keys if k.startswith("static/css/")]
    assert css == sorted(["static/css/app.css", hashed_css_key(aws)])


@pytest.mark.slow  # runs Django in a subprocess
def test_hashed_static_files_are_cached_for_a_year(collected: Path, aws: Aws) -> None:
    head = aws.client("s3").head_object(Bucket=STATIC_BUCKET, Key=hashed_css_key(aws))
    assert head["CacheControl"] == IMMUTABLE_CACHE_CONTROL


@pytest.mark.slow  # runs Django in a subprocess
def test_static_tag_points_at_the_hashed_name_on_cloudfront(collected: Path, aws: Aws) -> None:
    environ = {
        "STATIC_BACKEND": "s3",
        "AWS_STATIC_BUCKET_NAME": STATIC_BUCKET,
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "MEDIA_STORAGE": "none",
    }
    code = "from django.templatetags.static import static; print(static('css/app.css'))"
    url = run_django(collected, aws, environ, code=code).strip()
    assert url == "https://cdn.example.com/" + hashed_css_key(aws)


RELEASE_ASSETS = {
    "1111aaa": {"css/app.css": "body { color: red; }\n", "img/old.png": "retired\n"},
    "2222bbb": {"css/app.css": "body { color: blue; }\n"},  # old.png removed
}
RESOLVE = textwrap.dedent(
    """
    import json
    from django.templatetags.static import static

    urls = {}
    for name in ("css/app.css", "img/old.png"):
        try:
            urls[name] = static(name)
        except ValueError as error:  # Missing staticfiles manifest entry
            urls[name] = str(error)
    print(json.dumps(urls))
    """
)


@pytest.mark.slow  # runs Django in subprocesses
def test_each_release_reads_its_own_manifest(tmp_path: Path, aws: Aws) -> None:
    """Release 2222bbb's collectstatic runs while 1111aaa still serves: 1111aaa's tasks
    keep resolving the names (and files) its own collectstatic wrote."""
    make_bucket(aws, STATIC_BUCKET)
    environ = {
        "STATIC_BACKEND": "s3",
        "AWS_STATIC_BUCKET_NAME": STATIC_BUCKET,
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "MEDIA_STORAGE": "none",
    }
    for release, assets in RELEASE_ASSETS.items():
        shutil.rmtree(tmp_path / "assets", ignore_errors=True)
        for name, content in assets.items():
            path = tmp_path / "assets" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        release_environ = {**environ, "APP_RELEASE": release}
        run_django(tmp_path, aws, release_environ, "collectstatic", "--noinput", "-v0")

    manifests = [key for key in static_keys(aws) if key.endswith(".json")]
    assert manifests == ["static/staticfiles-1111aaa.json", "static/staticfiles-2222bbb.json"]
    resolved = {
        release: json.loads(
            run_django(tmp_path, aws, {**environ, "APP_RELEASE": release}, code=RESOLVE)
        )
        for release in RELEASE_ASSETS
    }
    paths = {
        release: json.loads(
            aws.client("s3")
            .get_object(Bucket=STATIC_BUCKET, Key=f"static/staticfiles-{release}.json")["Body"]
            .read()
        )["paths"]
        for release in RELEASE_ASSETS
    }
    cdn = "https://cdn.example.com/static/"
    assert resolved["1111aaa"] == {
        "css/app.css": cdn + paths["1111aaa"]["css/app.css"],
        "img/old.png": cdn + paths["1111aaa"]["img/old.png"],
    }
    assert resolved["2222bbb"] == {
        "css/app.css": cdn + paths["2222bbb"]["css/app.css"],
        "img/old.png": "Missing staticfiles manifest entry for 'img/old.png'",
    }
    assert paths["1111aaa"]["css/app.css"] != paths["2222bbb"]["css/app.css"]
    old_files = {f"static/{paths['1111aaa'][name]}" for name in ("css/app.css", "img/old.png")}
    assert old_files <= set(static_keys(aws))
