"""A small YAML reader for the subset that heroku.yml and render.yaml use, without PyYAML.

Supported:

* block mappings (``key: value``; keys plain or quoted) and block sequences (``- item``,
  including ``- key: value`` items that open a mapping, and a sequence at the same indent
  as its parent key);
* plain scalars (``null``/``~``/empty -> None, ``true``/``false`` -> bool, decimal integers
  -> int, anything else a string; a plain scalar may continue on more-indented lines,
  which are folded with single spaces), single-quoted (``''`` is a quote) and
  double-quoted scalars (JSON escapes) on one line;
* flow sequences and flow mappings (``[a, "b"]``, ``{name: db, property: host}``), nested,
  possibly spread over several lines;
* literal (``|``) and folded (``>``) block scalars with ``-``/``+`` chomping;
* ``#`` comments (at the start of a line or after whitespace), one document (an opening
  ``---`` is allowed).

Anything else (anchors ``&``, aliases ``*``, tags ``!``, several documents, multi-line
quoted scalars, complex ``?`` keys, tabs in indentation) raises :class:`YamlError` with the
line number, rather than being misread.
"""

from __future__ import annotations

import json
import re
from typing import Any

_INTEGER = re.compile(r"[-+]?[0-9]+")
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)([1-9]?)([-+]?)")


class YamlError(ValueError):
    """Text outside the subset, or not YAML at all; the message names the line."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")


def load_yaml(text: str) -> Any:
    """The value of the one YAML document in ``text`` (None for an empty document)."""
    return _Parser(text).document()


def _strip_comment(text: str) -> str:
    """``text`` without a trailing ``# comment`` (a ``#`` inside quotes is content)."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'" and (index == 0 or text[index - 1] in " \t[{,:-"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def _split_key(text: str) -> tuple[str, str] | None:
    """``(key, rest)`` when ``text`` is ``key: rest`` or ``key:`` (outside quotes)."""
    if text[:1] in "\"'":
        end = text.find(text[0], 1)
        while text[0] == "'" and end != -1 and text[end + 1 : end + 2] == "'":
            end = text.find("'", end + 2)
        if end == -1:
            return None
        after = text[end + 1 :]
        if after == ":" or after.startswith(": "):
            return text[: end + 1], after[1:].strip()
        return None
    match = re.search(r":(?:\s|$)", text)
    if match is None or text[:1] in "[{":
        return None
    return text[: match.start()].rstrip(), text[match.end() :].strip()


class _Parser:
    def __init__(self, text: str) -> None:
        self.raw = text.splitlines()
        # Lines rewritten while parsing: a sequence item's content becomes its own line.
        self.virtual: dict[int, tuple[int, str]] = {}

    # ------------------------------------------------------------------ lines

    def line(self, index: int) -> tuple[int, str] | None:
        """(indent, content without comment) of a significant line, None for blank/comment."""
        if index in self.virtual:
            return self.virtual[index]
        raw = self.raw[index]
        body = raw.lstrip(" ")
        if body.startswith("\t"):
            raise YamlError(index + 1, "tabs are not allowed in indentation")
        content = _strip_comment(body)
        if not content:
            return None
        return len(raw) - len(body), content

    def next_significant(self, index: int) -> int:
        while index < len(self.raw) and self.line(index) is None:
            index += 1
        return index

    # ------------------------------------------------------------------ structure

    def document(self) -> Any:
        index = self.next_significant(0)
        if index < len(self.raw) and self.line(index) == (0, "---"):
            index = self.next_significant(index + 1)
        if index >= len(self.raw):
            return None
        first = self.line(index)
        assert first is not None
        value, index = self.block(index, first[0])
        index = self.next_significant(index)
        if index < len(self.raw):
            found = self.line(index)
            assert found is not None
            if found[1] in ("---", "..."):
                raise YamlError(index + 1, "only one YAML document is supported")
            raise YamlError(index + 1, "unexpected indentation or content")
        return value

    def block(self, index: int, indent: int) -> tuple[Any, int]:
        found = self.line(index)
        assert found is not None
        if found[1] == "?" or found[1].startswith("? "):
            raise YamlError(index + 1, "complex keys are not supported")
        if found[1] == "-" or found[1].startswith("- "):
            return self.sequence(index, indent)
        if _split_key(found[1]) is not None:
            return self.mapping(index, indent)
        value, index = self.inline_value(index, found[1], indent)
        return value, index

    def sequence(self, index: int, indent: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        while True:
            index = self.next_significant(index)
            if index >= len(self.raw):
                return items, index
            found = self.line(index)
            assert found is not None
            here, content = found
            if here == 0 and content in ("---", "..."):
                return items, index
            if here < indent or not (content == "-" or content.startswith("- ")):
                if here > indent:
                    raise YamlError(index + 1, "unexpected indentation")
                return items, index
            if here > indent:
                raise YamlError(index + 1, "unexpected indentation")
            rest = content[1:].lstrip(" ")
            if not rest:
                following = self.next_significant(index + 1)
                nested = self.line(following) if following < len(self.raw) else None
                if nested is not None and nested[0] > indent:
                    value, index = self.block(following, nested[0])
                else:
                    value, index = None, index + 1
            else:
                column = here + len(content) - len(rest)
                self.virtual[index] = (column, rest)
                value, index = self.block(index, column)
            items.append(value)

    def mapping(self, index: int, indent: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        while True:
            index = self.next_significant(index)
            if index >= len(self.raw):
                return result, index
            found = self.line(index)
            assert found is not None
            here, content = found
            if here < indent or (here == 0 and content in ("---", "...")):
                return result, index
            if here > indent:
                raise YamlError(index + 1, "unexpected indentation")
            if content == "-" or content.startswith("- "):
                return result, index
            if content.startswith("?"):
                raise YamlError(index + 1, "complex keys are not supported")
            pair = _split_key(content)
            if pair is None:
                raise YamlError(index + 1, "expected 'key: value'")
            raw_key, rest = pair
            key = self.scalar(raw_key, index) if raw_key[:1] in "\"'" else raw_key
            if not isinstance(key, str):
                raise YamlError(index + 1, "keys must be strings")
            if key in result:
                raise YamlError(index + 1, f"duplicate key {key!r}")
            if rest:
                result[key], index = self.inline_value(index, rest, here)
                continue
            following = self.next_significant(index + 1)
            nested = self.line(following) if following < len(self.raw) else None
            if nested is not None and (
                nested[0] > here
                or (nested[0] == here and (nested[1] == "-" or nested[1].startswith("- ")))
            ):
                result[key], index = self.block(following, nested[0])
            else:
                result[key], index = None, index + 1

    def inline_value(self, index: int, text: str, indent: int) -> tuple[Any, int]:
        """The value written after ``key:`` or ``-`` on line ``index``; returns the next line."""
        if _BLOCK_HEADER.fullmatch(text):
            return self.block_scalar(index, text, indent)
        if text[0] in "[{":
            joined, index = self.balanced(index, text)
            return _Flow(joined, index).whole(), index + 1
        if text[0] in "&*!|>%@`":
            raise YamlError(index + 1, f"{text[0]!r} (anchors, aliases, tags) is not supported")
        value = self.scalar(text, index)
        following = self.next_significant(index + 1)
        if text[0] not in "\"'" and following < len(self.raw):
            parts = [text]
            while following < len(self.raw):
                nested = self.line(following)
                assert nested is not None
                if nested[0] <= indent:
                    break
                if _split_key(nested[1]) is not None or nested[1].startswith("- "):
                    raise YamlError(following + 1, "unexpected indentation")
                parts.append(nested[1])
                following = self.next_significant(following + 1)
            if len(parts) > 1:
                return " ".join(parts), following
        return value, index + 1

    def balanced(self, index: int, text: str) -> tuple[str, int]:
        """A flow collection's text, joined over lines until its brackets close."""
        parts = [text]
        while _depth(" ".join(parts)) > 0:
            index = self.next_significant(index + 1)
            if index >= len(self.raw):
                raise YamlError(index, "unclosed flow collection")
            found = self.line(index)
            assert found is not None
            parts.append(found[1])
        return " ".join(parts), index

    def block_scalar(self, index: int, header: str, indent: int) -> tuple[str, int]:
        match = _BLOCK_HEADER.fullmatch(header)
        assert match is not None
        style, chomp = match.group(1), match.group(2) or match.group(4)
        lines: list[str] = []
        block_indent: int | None = None
        index += 1
        while index < len(self.raw):
            raw = self.raw[index]
            body = raw.lstrip(" ")
            if body:
                here = len(raw) - len(body)
                if here <= indent:
                    break
                if block_indent is None:
                    block_indent = here
                lines.append(raw[block_indent:] if here >= block_indent else body)
            else:
                lines.append("")
            index += 1
        while lines and not lines[-1] and chomp != "+":
            lines.pop()
        if style == "|":
            text = "\n".join(lines)
        else:
            text = re.sub(r"(?<!\n)\n(?!\n)", " ", "\n".join(lines))
        if chomp != "-" and text:
            text += "\n"
        return text, index

    def scalar(self, text: str, index: int) -> Any:
        if text[0] == '"':
            if len(text) < 2 or not text.endswith('"'):
                raise YamlError(
                    index + 1, "multi-line or unclosed quoted scalars are not supported"
                )
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise YamlError(index + 1, "bad double-quoted scalar") from None
        if text[0] == "'":
            if len(text) < 2 or not text.endswith("'"):
                raise YamlError(
                    index + 1, "multi-line or unclosed quoted scalars are not supported"
                )
            return text[1:-1].replace("''", "'")
        return _plain(text)


def _plain(text: str) -> Any:
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INTEGER.fullmatch(text):
        return int(text)
    return text


def _depth(text: str) -> int:
    depth, quote = 0, ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth


class _Flow:
    """A flow collection (``[...]`` / ``{...}``) read character by character."""

    def __init__(self, text: str, index: int) -> None:
        self.text = text
        self.pos = 0
        self.index = index

    def error(self, reason: str) -> YamlError:
        return YamlError(self.index + 1, reason)

    def whole(self) -> Any:
        value = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise self.error("unexpected text after a flow collection")
        return value

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def value(self, stop: str = "") -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.error("unexpected end of flow collection")
        char = self.text[self.pos]
        if char == "[":
            return self.collection("]")
        if char == "{":
            return self.collection("}")
        if char in "\"'":
            end = self.pos + 1
            while True:
                end = self.text.find(char, end)
                if end == -1:
                    raise self.error("unclosed quoted scalar")
                if char == "'" and self.text[end + 1 : end + 2] == "'":
                    end += 2
                    continue
                if char == '"' and self.text[end - 1] == "\\":
                    end += 1
                    continue
                break
            token = self.text[self.pos : end + 1]
            self.pos = end + 1
            return _Parser("").scalar(token, self.index)
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",]}" + stop:
            self.pos += 1
        return _plain(self.text[start : self.pos].strip())

    def collection(self, closing: str) -> Any:
        self.pos += 1
        items: list[Any] = []
        mapping: dict[str, Any] = {}
        while True:
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == closing:
                self.pos += 1
                break
            if closing == "]":
                items.append(self.value())
            else:
                key = self.value(stop=":")
                self.skip()
                if self.text[self.pos : self.pos + 1] != ":":
                    raise self.error("expected ':' in flow mapping")
                self.pos += 1
                if not isinstance(key, str):
                    key = str(key)
                mapping[key] = self.value()
            self.skip()
            if self.pos >= len(self.text):
                raise self.error("unclosed flow collection")
            if self.text[self.pos] == ",":
                self.pos += 1
            elif self.text[self.pos] != closing:
                raise self.error(f"expected ',' or {closing!r}")
        return items if closing == "]" else mapping
