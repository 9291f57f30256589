"""Python packages that need a compiler or system libraries in a slim Debian bookworm image.

``build`` is what ``pip install`` needs to compile the package (installed in a build stage
with ``--no-install-recommends``, hence ``libc6-dev`` next to ``gcc``); ``runtime`` is
what the installed package loads at run time (the final stage). The official
``python:<version>-slim-bookworm`` images already carry Python's own headers; a base image
built on Debian's ``python3`` would also need ``python3-dev`` to compile.

Every Debian name below was checked with ``apt-cache show`` against Debian 12 (bookworm).

Deliberately absent, because PyPI has manylinux wheels that carry their libraries:
Pillow, cryptography, lxml, psycopg2-binary, psycopg-binary, cffi, PyYAML, gevent,
reportlab, rasterio, fiona.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_C = ("gcc", "libc6-dev")


@dataclass(frozen=True)
class NativeNeeds:
    """What one package needs from Debian, and why."""

    package: str
    build: tuple[str, ...]
    runtime: tuple[str, ...]
    reason: str


NATIVE_PACKAGES: Mapping[str, NativeNeeds] = {
    need.package: need
    for need in (
        NativeNeeds(
            "psycopg2", (*_C, "libpq-dev"), ("libpq5",), "no wheels (psycopg2-binary has them)"
        ),
        NativeNeeds(
            "psycopg",
            (),
            ("libpq5",),
            "pure Python, loads libpq at run time unless psycopg-binary or psycopg-c is installed",
        ),
        NativeNeeds(
            "psycopg-c", (*_C, "libpq-dev"), ("libpq5",), "no wheels: compiled against libpq"
        ),
        NativeNeeds(
            "mysqlclient",
            (*_C, "pkg-config", "default-libmysqlclient-dev"),
            ("libmariadb3",),
            "no Linux wheels: compiled against the MySQL/MariaDB client library",
        ),
        NativeNeeds("uwsgi", _C, (), "no wheels: compiled at install"),
        NativeNeeds(
            "python-ldap",
            (*_C, "libldap2-dev", "libsasl2-dev"),
            ("libldap-2.5-0", "libsasl2-2"),
            "no wheels: compiled against OpenLDAP and Cyrus SASL",
        ),
        NativeNeeds(
            "django-auth-ldap",
            (*_C, "libldap2-dev", "libsasl2-dev"),
            ("libldap-2.5-0", "libsasl2-2"),
            "depends on python-ldap",
        ),
        NativeNeeds(
            "gdal",
            (*_C, "g++", "libgdal-dev"),
            ("libgdal32",),
            "no wheels: the GDAL bindings compile against the system GDAL",
        ),
        NativeNeeds(
            "weasyprint",
            (),
            ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"),
            "loads Pango and HarfBuzz at run time",
        ),
        NativeNeeds(
            "pycurl",
            (*_C, "libcurl4-openssl-dev", "libssl-dev"),
            ("libcurl4",),
            "compiled against libcurl (older releases have no wheels)",
        ),
        NativeNeeds("python-magic", (), ("libmagic1",), "loads libmagic at run time"),
        NativeNeeds(
            "pylibmc",
            (*_C, "libmemcached-dev", "zlib1g-dev"),
            ("libmemcached11",),
            "no wheels: compiled against libmemcached",
        ),
    )
}

# Packages whose presence means a NATIVE_PACKAGES entry needs nothing after all.
SATISFIED_BY: Mapping[str, tuple[str, ...]] = {"psycopg": ("psycopg-binary", "psycopg-c")}

# GeoDjango (django.contrib.gis in INSTALLED_APPS) loads GDAL, GEOS and PROJ through ctypes.
GEODJANGO = NativeNeeds(
    "django.contrib.gis",
    (),
    ("gdal-bin", "libgdal32", "libgeos-c1v5", "libproj25"),
    "GeoDjango loads GDAL, GEOS and PROJ at run time",
)


def native_needs(packages: Iterable[str]) -> tuple[NativeNeeds, ...]:
    """The table's entries for ``packages`` (normalised names), in the order given."""
    present = set(packages)
    return tuple(
        NATIVE_PACKAGES[name]
        for name in packages
        if name in NATIVE_PACKAGES and not present.intersection(SATISFIED_BY.get(name, ()))
    )
