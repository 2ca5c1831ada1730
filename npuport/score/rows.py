"""The input corpus as numbered rows, read in shards: never the whole file at once.

A first pass (`plan_input`) reads the file once, front to back: it checks every row (so a bad row stops the run
before anything is scored, with its file and line or row), hashes the bytes (the fingerprint a resume is checked
against) and remembers where each shard starts. `read_shard` then reads one shard alone from there, so shards can be
read in any order and in any process (the Ray workers read their own).

Rows are numbered from 0 in file order; a .jsonl row is a non-blank line, and its "id" (a string or an integer),
when present, travels with it. .parquet (pyarrow) has a "text" string column and an optional "id" column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from npuport.core.errors import InputError
from npuport.core.files import sha256_file
from npuport.core.texts import json_record, record_text

if TYPE_CHECKING:
    import pyarrow.parquet as pq

INPUTS = (".txt", ".jsonl", ".parquet")
RowId = str | int


@dataclass(frozen=True)
class Row:
    index: int  # 0-based position among the input's rows
    id: RowId | None  # the .jsonl "id" / .parquet id column, when the input has one
    text: str


@dataclass(frozen=True)
class Shard:
    """Rows [first_row, first_row + rows) of the input; .txt/.jsonl: they start at byte `offset`, on line `line`."""

    index: int
    first_row: int
    rows: int
    offset: int = 0
    line: int = 1


@dataclass(frozen=True)
class InputPlan:
    path: Path
    sha256: str
    bytes: int
    rows: int
    shards: list[Shard]


def check_input(path: Path) -> Path:
    """`path` if it is a corpus file npuport reads (suffix, exists); else one InputError."""
    path = Path(path)
    if path.suffix not in INPUTS:
        raise InputError(f"{path}: unsupported input type {path.suffix or '(none)'!r}; use .txt, .jsonl or .parquet")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def plan_input(path: Path, shard_rows: int) -> InputPlan:
    """Check every row of `path`, hash it, and cut it into shards of `shard_rows` rows."""
    path = check_input(path)
    if shard_rows < 1:
        raise InputError(f"shard rows must be at least 1, got {shard_rows}")
    if path.suffix == ".parquet":
        rows, starts, digest = _plan_parquet(path), [], sha256_file(path)
    else:
        rows, starts, digest = _plan_lines(path, shard_rows)
    if rows == 0:
        raise InputError(f"{path} holds no texts")
    shards = [Shard(number, first, min(shard_rows, rows - first), *(starts[number] if starts else (0, 1)))
              for number, first in enumerate(range(0, rows, shard_rows))]
    return InputPlan(path, digest, path.stat().st_size, rows, shards)


def read_shard(path: Path, shard: Shard) -> list[Row]:
    """The shard's rows, read from where it starts."""
    if path.suffix == ".parquet":
        return list(_parquet_rows(path, shard.first_row, shard.rows))
    with open(path, "rb") as handle:
        handle.seek(shard.offset)
        rows = []
        for _, row in _line_rows(handle, path, shard.line):
            if row is not None:
                rows.append(Row(shard.first_row + len(rows), *row))
                if len(rows) == shard.rows:
                    break
        return rows


# --- .txt and .jsonl: one row per line --------------------------------------------------------------------------


def _plan_lines(path: Path, shard_rows: int) -> tuple[int, list[tuple[int, int]], str]:
    """(rows, (byte offset, line number) where each shard starts, sha256)."""
    digest = hashlib.sha256()
    rows, offset, starts = 0, 0, []
    with open(path, "rb") as handle:
        for number, (raw, row) in enumerate(_line_rows(handle, path, 1), start=1):
            digest.update(raw)
            if row is not None:
                if rows % shard_rows == 0:
                    starts.append((offset, number))
                rows += 1
            offset += len(raw)
    return rows, starts, digest.hexdigest()


def _line_rows(handle: BinaryIO, path: Path, line: int) -> Iterator[tuple[bytes, tuple[RowId | None, str] | None]]:
    """Each raw line from the handle's position (line number `line`) with its (id, text); None for a blank .jsonl
    line. Lines end at b"\\n" only, a trailing "\\r" is dropped (as `core.texts.split_lines`)."""
    for number, raw in enumerate(handle, start=line):
        where = f"{path}:{number}"
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not UTF-8 text (invalid byte at column {exc.start + 1})") from None
        if path.suffix == ".txt":
            if not text.strip():
                raise InputError(f"{where}: empty line (each line is one text)")
            yield raw, (None, text)
        elif not text.strip():
            yield raw, None
        else:
            record = json_record(text, where)
            yield raw, (_record_id(record, where), record_text(record, where))


def _record_id(record: object, where: str) -> RowId | None:
    value = record.get("id") if isinstance(record, dict) else None
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise InputError(f'{where}: "id" must be a string or an integer, not {type(value).__name__}')
    return value


# --- .parquet: a "text" column, an optional "id" column -----------------------------------------------------------


def _open_parquet(path: Path) -> tuple[pq.ParquetFile, list[str]]:
    """The file and the columns to read, after checking their types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())[:200]})") from None
    schema = parquet.schema_arrow
    strings = (pa.types.is_string, pa.types.is_large_string)
    if "text" not in schema.names or not any(is_kind(schema.field("text").type) for is_kind in strings):
        raise InputError(f'{path}: expected a "text" column of strings; columns: {", ".join(schema.names) or "none"}')
    columns = ["text"]
    if "id" in schema.names:
        kind = schema.field("id").type
        if not any(is_kind(kind) for is_kind in (*strings, pa.types.is_integer)):
            raise InputError(f'{path}: the "id" column must hold strings or integers, not {kind}')
        columns.append("id")
    return parquet, columns


def _plan_parquet(path: Path) -> int:
    """Rows in the file, after checking every text (null and blank texts are refused)."""
    rows = 0
    for row in _parquet_rows(path, 0, None):
        rows = row.index + 1
    return rows


def _parquet_rows(path: Path, first: int, count: int | None) -> Iterator[Row]:
    """`count` rows (None: all) from row `first`, reading only the row groups that hold them."""
    parquet, columns = _open_parquet(path)
    metadata = parquet.metadata
    groups, start = [], 0
    for group in range(metadata.num_row_groups):
        size = metadata.row_group(group).num_rows
        if start + size > first and (count is None or start < first + count):
            groups.append(group)
        elif not groups:
            start += size
    index = start
    stop = None if count is None else first + count
    for batch in parquet.iter_batches(batch_size=8192, row_groups=groups, columns=columns):
        texts = batch.column("text").to_pylist()
        ids = batch.column("id").to_pylist() if "id" in columns else [None] * len(texts)
        for text, row_id in zip(texts, ids):
            if index >= first:
                if stop is not None and index >= stop:
                    return
                if text is None or not text.strip():
                    raise InputError(f"{path}: row {index}: text is {'missing (null)' if text is None else 'empty'}")
                yield Row(index, row_id, text)
            index += 1
