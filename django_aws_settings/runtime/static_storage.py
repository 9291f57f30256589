"""Static files on S3 whose manifest is named after the release that collected them.

``collectstatic`` runs once per release, before the new web tasks start. With the one
``staticfiles.json`` of django-storages' S3ManifestStaticStorage, it overwrites the
manifest the *running* release reads: an old task that loads it afterwards (scaled out,
replaced, rolled back to, or a gunicorn worker recycled by ``max_requests``) gets the new
names and raises "Missing staticfiles manifest entry" for every file the release renamed or
removed. With ``staticfiles-<APP_RELEASE>.json`` each release reads its own manifest, and
the hashed files of both stay in the bucket.

Imported by Django through ``STORAGES`` only (it needs django-storages and boto3).
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3ManifestStaticStorage


class ReleaseManifestStaticStorage(S3ManifestStaticStorage):  # type: ignore[misc]  # untyped
    """S3ManifestStaticStorage with ``manifest_name`` as an option.

    S3Storage refuses options it does not know ("Invalid setting 'manifest_name'"), and
    ManifestFilesMixin reads the manifest inside ``__init__``: the name is set first.
    """

    def __init__(self, *args: Any, manifest_name: str | None = None, **kwargs: Any) -> None:
        if manifest_name is not None:
            self.manifest_name = manifest_name
        super().__init__(*args, **kwargs)


__all__ = ["ReleaseManifestStaticStorage"]
