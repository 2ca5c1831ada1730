"""A static ONNX variant's graph as ONE self-contained file for ATC: its weights read back from the external-data file
the bucket graphs share, its input and output dims the variant's symbolic ones, no intermediate shapes.

Why not onnx.save: the package stage runs in the base install, which has no `onnx` (pyproject's import contracts). An
ONNX file is a protobuf message (onnx.proto3), so this edits it at the wire level, touching only what it must:
ModelProto.graph (7) → GraphProto.initializer (5): TensorProto.external_data (13, location/offset/length entries) and
data_location (14, EXTERNAL = 1) become raw_data (9); GraphProto.input (11) / output (12): ValueInfoProto.type (2) →
TypeProto.tensor_type (1) → shape (2) → dim (1): dim_value (1) | dim_param (2); GraphProto.value_info (13) is dropped
(a bucket's static intermediate shapes would contradict the shapes ATC is told). Every other field is copied byte
for byte. The weights are streamed from their file, never held in memory whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from npuport.core.errors import ManifestError
from npuport.core.files import atomic_path
from npuport.core.manifest import TensorSpec

LIMIT = 2**31 - 1  # protobuf's largest message: beyond it the weights cannot live inside the file
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class _Slice:
    """Bytes of the weights file, copied when the output is written."""

    offset: int
    length: int


_Chunk = bytes | _Slice


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of one message: bytes for length-delimited and fixed fields, int for varints."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            yield number, wire, buf[pos:pos + size]
            pos += size
        elif wire == _BYTES:
            size, pos = _read_varint(buf, pos)
            yield number, wire, buf[pos:pos + size]
            pos += size
        else:
            raise ManifestError(f"not an ONNX file: protobuf wire type {wire} (groups are not used by onnx.proto)")


def _field(number: int, wire: int, value: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if isinstance(value, int):
        return key + _varint(value)
    return key + (_varint(len(value)) if wire == _BYTES else b"") + value


def _message(number: int, chunks: list[_Chunk]) -> list[_Chunk]:
    """A length-delimited field whose content is `chunks`."""
    size = sum(c.length if isinstance(c, _Slice) else len(c) for c in chunks)
    return [_varint(number << 3 | _BYTES) + _varint(size), *chunks]


def _tensor(buf: bytes, weights: Path, size: int) -> list[_Chunk]:
    """An initializer with its external data inline; one without external data as it is."""
    kept, entries, external = [], {}, False
    for number, wire, value in _fields(buf):
        if number == 13:  # StringStringEntryProto: key (1), value (2)
            entry = {n: v for n, _, v in _fields(value)}  # type: ignore[arg-type]
            entries[bytes(entry.get(1, b"")).decode()] = bytes(entry.get(2, b"")).decode()
        elif number == 14:
            external = value == 1
        else:
            kept.append(_field(number, wire, value))
    if not external:
        return [bytes(buf)]
    if (weights.parent / entries.get("location", "")).resolve() != weights.resolve():
        raise ManifestError(f"an initializer's weights are in {entries.get('location')!r}, not in {weights.name}")
    offset = int(entries.get("offset", 0))
    length = int(entries.get("length", size - offset))
    if offset < 0 or length < 0 or offset + length > size:
        raise ManifestError(f"an initializer reads bytes {offset}..{offset + length} of {weights.name}, which has {size}")
    return [b"".join(kept), *_message(9, [_Slice(offset, length)])]


def _dims(value_info: bytes, specs: dict[str, TensorSpec]) -> bytes:
    """A graph input/output with the dims of its spec (symbolic names as dim_param); one without a spec as it is."""
    parts = dict((n, v) for n, _, v in _fields(value_info) if n == 1)
    spec = specs.get(bytes(parts.get(1, b"")).decode())  # type: ignore[arg-type]
    if spec is None:
        return value_info
    dims = b"".join(_field(1, _BYTES, _field(2, _BYTES, d.encode()) if isinstance(d, str) else _field(1, _VARINT, d))
                    for d in spec.shape)
    out = []
    for number, wire, value in _fields(value_info):
        if number == 2:  # TypeProto → tensor_type (1) → shape (2)
            typed = b""
            for n, w, v in _fields(value):  # type: ignore[arg-type]
                if n == 1:
                    v = b"".join(_field(m, x, y) for m, x, y in _fields(v) if m != 2) + _field(2, _BYTES, dims)  # type: ignore[arg-type]
                typed += _field(n, w, v)
            value = typed
        out.append(_field(number, wire, value))
    return b"".join(out)


def write_self_contained(graph: Path, weights: Path | None, inputs: list[TensorSpec], outputs: list[TensorSpec],
                         target: Path) -> int:
    """Write `graph` (external data in `weights`) to `target` as one file with `inputs`/`outputs` dims; its size."""
    size = weights.stat().st_size if weights is not None else 0
    specs = {spec.name: spec for spec in [*inputs, *outputs]}
    model: list[_Chunk] = []
    for number, wire, value in _fields(graph.read_bytes()):
        if number != 7:
            model.append(_field(number, wire, value))
            continue
        body: list[_Chunk] = []
        for n, w, v in _fields(value):  # type: ignore[arg-type]
            if n == 5 and weights is not None:
                body += _message(5, _tensor(v, weights, size))  # type: ignore[arg-type]
            elif n in (11, 12):
                body.append(_field(n, w, _dims(v, specs)))  # type: ignore[arg-type]
            elif n != 13:
                body.append(_field(n, w, v))
        model += _message(7, body)
    total = sum(c.length if isinstance(c, _Slice) else len(c) for c in model)
    if total > LIMIT:
        raise ManifestError(f"{graph.name} with its weights is {total} bytes: more than one protobuf file can hold")
    with atomic_path(target) as tmp, open(tmp, "wb") as out, (open(weights, "rb") if weights else open(os.devnull, "rb")) as data:
        for chunk in model:
            if isinstance(chunk, _Slice):
                data.seek(chunk.offset)
                _copy(data, out, chunk.length)
            else:
                out.write(chunk)
    return total


def _copy(source, target, length: int) -> None:  # type: ignore[no-untyped-def]
    while length:
        block = source.read(min(length, 1 << 24))
        if not block:
            raise ManifestError("the weights file ended early")
        target.write(block)
        length -= len(block)
