"""Scored rows on disk: one file per shard in OUTPUT.parts/, then one merge into OUTPUT.

Every shard file is written to a temporary name and renamed, so a shard file that exists is complete; a killed run
leaves finished shards and at most torn temporaries, which the next run removes. OUTPUT.parts/score.json holds the
fingerprint of the run (input bytes, model files, device, shard size, format): a run that finds other fingerprints
there refuses to mix its rows with theirs. The merge writes OUTPUT atomically, then removes OUTPUT.parts.

An output row is {"row": N, "id": …(when the input has ids), "labels": […], "scores": {label: p}, "truncated": bool};
in .parquet, "scores" is a struct of float32 columns in label order and "id" a string column (null where absent).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.errors import InputError
from npuport.core.files import atomic_path, fsync_directory, remove_stale_temporaries, write_text_atomic
from npuport.core.manifest import MANIFEST_NAME
from npuport.score.rows import Row

if TYPE_CHECKING:
    import pyarrow as pa

    from npuport.runtime import Prediction

OUTPUTS = (".jsonl", ".parquet")
FINGERPRINT = "score.json"


def check_output(path: Path) -> Path:
    """`path`, a .jsonl or .parquet file outside every package and artifacts directory: a file npuport did not list
    there fails `verify` (a package) or is one its manifest does not know (artifacts)."""
    path = Path(path)
    if path.suffix not in OUTPUTS:
        raise InputError(f"{path}: unsupported output type {path.suffix or '(none)'!r}; use .jsonl or .parquet")
    holder = next((folder for folder in path.absolute().parents if _holds_manifest(folder)), None)
    if holder is not None:
        raise InputError(f"{path} is inside {holder}, a package or artifacts directory (its {MANIFEST_NAME} lists every "
                         "file there): write the scores elsewhere")
    return path


def _holds_manifest(folder: Path) -> bool:
    """Whether `folder` holds an npuport manifest (a JSON object with variants), not just any manifest.json."""
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "variants" in data


def parts_directory(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def shard_name(index: int, suffix: str) -> str:
    return f"shard-{index:06d}{suffix}"


def open_parts(output: Path, fingerprint: dict[str, Any]) -> set[int]:
    """The indices of the shards already finished for this very run (same fingerprint) in OUTPUT.parts; the
    directory is created, and torn temporaries removed, on the way. Another run's parts are refused."""
    parts = parts_directory(output)
    recorded = parts / FINGERPRINT
    if recorded.is_file():
        try:
            previous = json.loads(recorded.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{recorded} is unreadable ({exc}); delete {parts} to start over") from None
        for key, value in fingerprint.items():
            if previous.get(key) != value:
                raise InputError(f"{parts} holds a run with another {key} ({_short(previous.get(key))}, now "
                                 f"{_short(value)}): delete it to start over, or choose another output")
    else:  # fresh, or killed before its fingerprint landed: nothing in it can be trusted
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir(parents=True)
        write_text_atomic(recorded, json.dumps(fingerprint, indent=2, ensure_ascii=False) + "\n")
    remove_stale_temporaries(parts)
    suffix = output.suffix
    return {int(path.name[len("shard-"):-len(suffix)]) for path in parts.glob(f"shard-*{suffix}")
            if path.name[len("shard-"):-len(suffix)].isdigit()}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def encode_shard(rows: Sequence[Row], predictions: Sequence[Prediction], labels: Sequence[str], suffix: str) -> bytes:
    """One shard's output file, as bytes (the same in every engine: a Ray worker returns them to the driver)."""
    records = [_record(row, prediction) for row, prediction in zip(rows, predictions, strict=True)]
    if suffix == ".jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    for record in records:
        if "id" in record:
            record["id"] = str(record["id"])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records, schema=_schema(labels)), buffer)
    return buffer.getvalue()


def _record(row: Row, prediction: Prediction) -> dict[str, Any]:
    record: dict[str, Any] = {"row": row.index}
    if row.id is not None:
        record["id"] = row.id
    record.update(labels=prediction.labels, scores=prediction.scores, truncated=prediction.truncated)
    return record


def _schema(labels: Sequence[str]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("row", pa.int64()), ("id", pa.string()), ("labels", pa.list_(pa.string())),
                      ("scores", pa.struct([(label, pa.float32()) for label in labels])), ("truncated", pa.bool_())])


def write_shard(output: Path, index: int, data: bytes) -> None:
    with atomic_path(parts_directory(output) / shard_name(index, output.suffix)) as tmp:
        tmp.write_bytes(data)


def merge(output: Path, shards: int) -> None:
    """Shards 0..shards-1, in order, into OUTPUT (atomically); then OUTPUT.parts goes."""
    parts = parts_directory(output)
    files = [parts / shard_name(index, output.suffix) for index in range(shards)]
    with atomic_path(output) as tmp:
        if output.suffix == ".jsonl":
            with open(tmp, "wb") as merged:
                for file in files:
                    with open(file, "rb") as shard:
                        shutil.copyfileobj(shard, merged, 1 << 20)
        else:
            import pyarrow.parquet as pq

            with pq.ParquetWriter(tmp, pq.read_schema(files[0])) as writer:
                for file in files:
                    writer.write_table(pq.read_table(file))
    fsync_directory(output.parent)
    shutil.rmtree(parts)
