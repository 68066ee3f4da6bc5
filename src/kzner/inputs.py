"""Documents to tag, from what users have: text files, folders, JSONL, stdin.

Text is decoded as strict UTF-8 and kept exactly as it is (``\\r\\n``, U+00A0,
a BOM), because entity offsets must index the text the user holds. A file
that cannot be read or decoded is an ``InputError`` naming it; the caller
decides whether that stops the run. Sharding is by a hash of each
document's id, so every machine agrees on the split without coordination and
without reading the other shards' files.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kzner.errors import KznerError

STDIN = "-"
TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl",)


@dataclass(frozen=True)
class Source:
    id: str  # the file's id (see plan), a JSONL record's id field, or id:line
    text: str


class InputError(KznerError):
    """One input that could not be read; ``where`` names the file (and line)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as users count
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        index, sep, count = spec.partition("/")
        if not (sep and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
            raise KznerError(f"--shard wants I/N with 1 <= I <= N, e.g. 2/8; got {spec!r}")
        return cls(int(index), int(count))

    def owns(self, doc_id: str) -> bool:
        return zlib.crc32(doc_id.encode("utf-8")) % self.count == self.index - 1


def is_jsonl(name: str) -> bool:
    return name.endswith(JSONL_SUFFIXES)


@dataclass(frozen=True)
class Planned:
    path: str  # what to open (as typed, or found under a typed folder)
    id: str  # the document's name: relative to the folder it was found in, or the file's name


def plan(inputs: Sequence[str], shard: Shard | None = None, output: str | None = None) -> list[Planned]:
    """Files to read, in a stable order: folders are searched recursively for
    .txt and .jsonl files; a named file is taken whatever its suffix.

    ``output``, the run's own output file, is never an input: written into the
    folder it reads, an earlier run's JSONL would otherwise be read back as
    documents (and fail, having no text field) on the next run.

    A file's id is its path relative to the input root (the folder given, or
    the file's own folder), so it is the same on every machine and however
    the path was typed: shards, outputs and Label Studio tasks agree, and no
    local path of the machine that ran kzner leaks into them. A text file of
    another shard is left out (JSONL files are sharded by record)."""
    written = Path(output).resolve() if output else None
    files: list[Planned] = []
    for item in inputs:
        path = Path(item)
        if item != STDIN and path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in TEXT_SUFFIXES + JSONL_SUFFIXES and p.resolve() != written
            )
            files.extend(Planned(str(p), p.relative_to(path).as_posix()) for p in found)
        elif item != STDIN and path.resolve() == written:
            raise KznerError(f"{item} is both an input and --output")
        else:
            files.append(Planned(item, item if item == STDIN else path.name))
    return [f for f in files if shard is None or is_jsonl(f.path) or shard.owns(f.id)]


def _decode(where: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(where, f"not UTF-8 (byte {err.start}: {raw[err.start : err.start + 1]!r})") from None


def _read_bytes(name: str) -> bytes:
    if name == STDIN:
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as err:
        raise InputError(name, f"cannot read: {err.strerror or err}") from None


def _lines(name: str) -> Iterator[bytes]:
    if name == STDIN:
        yield from sys.stdin.buffer
        return
    try:
        with Path(name).open("rb") as handle:
            yield from handle
    except OSError as err:
        raise InputError(name, f"cannot read: {err.strerror or err}") from None


def _jsonl(
    file: Planned, text_field: str, id_field: str, shard: Shard | None
) -> Iterator[Source | InputError]:
    """Records one line at a time: a JSONL corpus never sits in memory whole."""
    try:
        yield from _records(file, _lines(file.path), text_field, id_field, shard)
    except InputError as err:  # the file itself cannot be read
        yield err


def _records(
    file: Planned, lines: Iterator[bytes], text_field: str, id_field: str, shard: Shard | None
) -> Iterator[Source | InputError]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{file.path}:{lineno}"
        try:
            record = json.loads(_decode(where, line))
        except InputError as err:
            yield err
            continue
        except json.JSONDecodeError as err:
            yield InputError(where, f"not JSON: {err.msg} at column {err.colno}")
            continue
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            yield InputError(where, f"expected an object with a string field {text_field!r}")
            continue
        doc_id = str(record[id_field]) if id_field in record else f"{file.id}:{lineno}"
        if shard is None or shard.owns(doc_id):
            yield Source(doc_id, record[text_field])


def read_sources(
    files: Sequence[Planned],
    text_field: str = "text",
    id_field: str = "id",
    shard: Shard | None = None,
    stdin_jsonl: bool = False,
) -> Iterator[Source | InputError]:
    """Every document of the ``plan``ned files (JSONL records of ``shard``
    only), or an ``InputError`` in the place of one that cannot be read
    (naming the path, so the user can find it). Stdin is one text document,
    or with ``stdin_jsonl`` a stream of JSONL records (``cat *.jsonl | kzner
    predict -``), read one at a time like a JSONL file."""
    for file in files:
        if is_jsonl(file.path) or (stdin_jsonl and file.path == STDIN):
            yield from _jsonl(file, text_field, id_field, shard)
            continue
        try:
            yield Source(file.id, _decode(file.path, _read_bytes(file.path)))
        except InputError as err:
            yield err
