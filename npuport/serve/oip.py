"""The Open Inference Protocol v2 (KServe v2, Triton's API) for the served classifier, whatever carries it (REST:
`v2_http`, gRPC: `v2_grpc`): what its model metadata says, which model name and version it answers to, an input
tensor (the texts as one BYTES tensor) → the PredictRequest the micro-batcher takes, and predictions → the output
tensors.

The tensors: input `TEXT` BYTES [-1] (any shape holding the texts, e.g. tritonclient's [n] or Triton's batched
[n, 1]); outputs `SCORES` FP32 [-1, num_labels] (every label's probability, in label order) and `LABELS` BYTES of
TEXT's shape (each text's decided labels as a JSON array where the text was: multi-label models can decide none or
several), so a batched [n, 1] request is answered as by the Python-backend model `package --triton` writes. A
request the protocol calls invalid is a 400 RequestError (the transports turn statuses into their own: v2's
{"error": message} over REST, a gRPC status code over gRPC).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from npuport.core.decisions import resolve_thresholds
from npuport.runtime.classifier import Prediction
from npuport.serve.config import Limits
from npuport.serve.request import PredictRequest, RequestError, checked_texts

INPUT = "TEXT"
SCORES, LABELS = "SCORES", "LABELS"
OUTPUTS = (SCORES, LABELS)
VERSION = "1"  # the one version a served model has


@dataclass(frozen=True)
class InferRequest:
    request: PredictRequest
    outputs: tuple[str, ...]  # the outputs asked for by name, in that order; all when none were named
    id: str | None
    shape: tuple[int, ...]  # TEXT's, which LABELS takes


@dataclass(frozen=True)
class OutputTensor:
    name: str
    datatype: str  # FP32 or BYTES
    shape: list[int]
    data: list[Any]  # flat, row-major: floats (FP32) or strings (BYTES)


def model_metadata(name: str, num_labels: int) -> dict[str, Any]:
    return {"name": name, "versions": [VERSION], "platform": "npuport",
            "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [{"name": SCORES, "datatype": "FP32", "shape": [-1, num_labels]},
                        {"name": LABELS, "datatype": "BYTES", "shape": [-1]}]}


def check_model(name: str, version: str | None, served: str) -> None:
    """404 unless `name` is the served model and `version` (None or empty: any) is its one version."""
    if name != served:
        raise RequestError(404, "unknown_model", f"unknown model {name!r}: this server serves {served!r}")
    if version not in (None, "", VERSION):
        raise RequestError(404, "unknown_version", f"model {name!r} has no version {version!r}: this server serves "
                           f"version {VERSION}")


def check_input(name: object, datatype: object) -> None:
    """The one input is TEXT, BYTES (checked before its data is read as texts)."""
    if name != INPUT or datatype != "BYTES":
        raise invalid(f"the input must be {INPUT} with datatype BYTES, got {shown(name)} {shown(datatype)}")


def infer_request(shape: object, texts: list[Any], outputs: Sequence[object] | None, request_id: object,
                  labels: Sequence[str], default_threshold: float, limits: Limits) -> InferRequest:
    """The checked request: TEXT's `shape` holds its `texts`, within the limits; `outputs` the names asked for
    (None: all)."""
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape) or math.prod(shape) != len(texts):
        raise invalid(f"{INPUT}'s shape {shown(shape)} does not hold its {len(texts)} element(s)")
    texts = checked_texts(texts, limits, invalid_status=400)
    thresholds = resolve_thresholds(None, list(labels), default_threshold)
    if request_id is not None and not isinstance(request_id, str):
        raise invalid(f'"id" must be a string, got {shown(request_id)}')
    return InferRequest(PredictRequest(texts, thresholds, None), _outputs(outputs), request_id, tuple(shape))


def output_tensors(infer: InferRequest, predictions: list[Prediction]) -> list[OutputTensor]:
    """The outputs the request asked for, in its order."""
    tensors = {
        SCORES: OutputTensor(SCORES, "FP32", [len(predictions), len(predictions[0].scores)],
                             [score for p in predictions for score in p.scores.values()]),
        LABELS: OutputTensor(LABELS, "BYTES", list(infer.shape),
                             [json.dumps(p.labels, ensure_ascii=False) for p in predictions]),
    }
    return [tensors[name] for name in infer.outputs]


def unpack_bytes(binary: bytes) -> list[str]:
    """A BYTES tensor's binary form: each element as a 4-byte little-endian length, then its bytes (UTF-8 here)."""
    texts, offset = [], 0
    while offset < len(binary):
        if offset + 4 > len(binary):
            raise invalid(f"{INPUT}'s binary data ends inside an element's length")
        (length,) = struct.unpack_from("<I", binary, offset)
        element = binary[offset + 4 : offset + 4 + length]
        if len(element) != length:
            raise invalid(f"{INPUT}'s binary data ends inside element {len(texts)}")
        texts.append(utf8(element, len(texts)))
        offset += 4 + length
    return texts


def pack_bytes(elements: list[str]) -> bytes:
    """`unpack_bytes`'s inverse."""
    return b"".join(struct.pack("<I", len(raw)) + raw for raw in (element.encode("utf-8") for element in elements))


def utf8(element: bytes, index: int) -> str:
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid(f"element {index} of {INPUT} is not UTF-8 text") from None


def invalid(message: str) -> RequestError:
    return RequestError(400, "invalid_request", message)


def _outputs(names: Sequence[object] | None) -> tuple[str, ...]:
    if names is None:
        return OUTPUTS
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown:
        raise invalid(f"unknown output(s) {', '.join(map(shown, unknown))}: this model has {', '.join(OUTPUTS)}")
    return tuple(dict.fromkeys(names))  # type: ignore[arg-type]  # every name is one of OUTPUTS


def shown(value: object) -> str:
    """A client's value in a message: its repr, cut short (a body may hold megabytes in one value)."""
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python converts to text
        return f"a {type(value).__name__} too long to show"
    return text if len(text) <= 80 else f"{text[:77]}..."
