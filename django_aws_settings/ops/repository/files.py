"""Reading repository files: a missing file is ``None``, an unreadable one a RepositoryError."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import RepositoryError
from .yaml_subset import YamlError, load_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package supports 3.10, where TOML needs 3.11's tomllib
    tomllib = None


def relative(root: Path, path: Path) -> str:
    """``path`` as the repository names it: POSIX, relative to ``root`` when inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(root: Path, name: str) -> str | None:
    """The UTF-8 text of ``root/name``, or ``None`` when there is no such file."""
    path = root / name
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RepositoryError(relative(root, path), "is not UTF-8 text") from None
    except OSError as error:
        raise RepositoryError(relative(root, path), error.strerror or "cannot be read") from None


def read_toml(root: Path, name: str) -> dict[str, Any] | None:
    """The parsed TOML of ``root/name``, or ``None`` when there is no such file."""
    text = read_text(root, name)
    if text is None:
        return None
    if tomllib is None:  # pragma: no cover
        raise RepositoryError(name, "reading TOML needs Python 3.11 or later")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RepositoryError(name, f"is not valid TOML ({error})") from None


def read_json_object(root: Path, name: str) -> dict[str, Any] | None:
    """The parsed JSON object in ``root/name``, or ``None`` when there is no such file."""
    text = read_text(root, name)
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise RepositoryError(
            name, f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(loaded, dict):
        raise RepositoryError(name, "is not a JSON object")
    return loaded


def read_yaml_mapping(root: Path, name: str) -> dict[str, Any] | None:
    """The parsed YAML mapping in ``root/name`` (the subset yaml_subset reads), or ``None``."""
    text = read_text(root, name)
    if text is None:
        return None
    try:
        loaded = load_yaml(text)
    except YamlError as error:
        raise RepositoryError(name, f"is not YAML this reader understands ({error})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise RepositoryError(name, "is not a YAML mapping")
    return loaded
