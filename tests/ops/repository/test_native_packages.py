"""The table of packages that need a compiler or system libraries in a slim bookworm image."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from django_aws_settings.ops.repository.native_packages import (
    GEODJANGO,
    NATIVE_PACKAGES,
    native_needs,
)


def test_lookups() -> None:
    needs = native_needs(["django", "psycopg2", "pillow", "cryptography", "uwsgi", "python-magic"])
    assert [(need.package, need.build, need.runtime) for need in needs] == [
        ("psycopg2", ("gcc", "libc6-dev", "libpq-dev"), ("libpq5",)),
        ("uwsgi", ("gcc", "libc6-dev"), ()),
        ("python-magic", (), ("libmagic1",)),
    ]


@pytest.mark.parametrize("wheel_only", ["pillow", "cryptography", "lxml", "psycopg2-binary"])
def test_packages_with_wheels_need_nothing(wheel_only: str) -> None:
    assert native_needs([wheel_only]) == ()


def test_psycopg_needs_libpq_unless_a_binary_or_c_build_is_installed() -> None:
    assert [need.package for need in native_needs(["psycopg"])] == ["psycopg"]
    assert native_needs(["psycopg", "psycopg-binary"]) == ()
    assert [need.package for need in native_needs(["psycopg", "psycopg-c"])] == ["psycopg-c"]


def test_every_key_is_a_normalised_name() -> None:
    assert all(
        name == need.package and name == name.lower() for name, need in NATIVE_PACKAGES.items()
    )


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs Debian's apt-cache")
def test_every_debian_package_exists_in_this_debian() -> None:
    """The machine is Debian 12 (bookworm), as python:<version>-slim-bookworm is."""
    names = sorted(
        {
            name
            for need in (*NATIVE_PACKAGES.values(), GEODJANGO)
            for name in (*need.build, *need.runtime)
        }
    )
    shown = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", *names],
        capture_output=True,
        text=True,
        check=False,
    )
    found = {
        line.split(": ", 1)[1] for line in shown.stdout.splitlines() if line.startswith("Package: ")
    }
    assert sorted(set(names) - found) == []
