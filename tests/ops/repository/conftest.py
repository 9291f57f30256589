"""``make_repo(files)``: a repository of real files under the test's own tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """Write ``files`` (path -> text, dedented, or bytes) into a fresh folder; returns it."""
    count = 0

    def make(files: Mapping[str, str | bytes]) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"repo{count}"
        root.mkdir()
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"))
        return root

    return make
