"""The Open Inference Protocol v2 (KServe v2, Triton's HTTP API) for the served classifier: what its model
metadata says, an infer request (texts as one BYTES tensor) → the PredictRequest the micro-batcher takes, and its
predictions → the v2 response.

The tensors: input `TEXT` BYTES [-1] (any shape holding the texts, e.g. tritonclient's [n] or Triton's batched
[n, 1]); outputs `SCORES` FP32 [-1, num_labels] (every label's probability, in label order) and `LABELS` BYTES of
TEXT's shape (each text's decided labels as a JSON array where the text was: multi-label models can decide none or
several), so a batched [n, 1] request is answered as by the Python-backend model `package --triton` writes. Tensor
data is JSON; an input sent as binary tensor data (tritonclient's default, `binary_data=True`) is read too; outputs
are always JSON, which tritonclient reads alike.
Errors are v2's `{"error": message}`, with /predict's status codes except 400 for any request v2 calls invalid.
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
from npuport.serve.request import PredictRequest, RequestError, checked_texts, json_object

INPUT = "TEXT"
SCORES, LABELS = "SCORES", "LABELS"
OUTPUTS = (SCORES, LABELS)
HEADER_LENGTH = "inference-header-content-length"  # binary tensor data: the JSON part's length; the tensors follow


@dataclass(frozen=True)
class InferRequest:
    request: PredictRequest
    outputs: tuple[str, ...]  # the outputs asked for by name, in that order; all when none were named
    id: str | None
    shape: tuple[int, ...]  # TEXT's, which LABELS takes


def model_metadata(name: str, num_labels: int) -> dict[str, Any]:
    return {"name": name, "versions": ["1"], "platform": "npuport",
            "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [{"name": SCORES, "datatype": "FP32", "shape": [-1, num_labels]},
                        {"name": LABELS, "datatype": "BYTES", "shape": [-1]}]}


def error_body(body: dict[str, Any]) -> dict[str, Any]:
    """A /predict error body in v2's form (the reason stays in the metrics)."""
    return {"error": body["error"]}


def parse_infer(body: bytes, header_length: str | None, labels: Sequence[str], default_threshold: float,
                limits: Limits) -> InferRequest:
    """A v2 infer body (JSON, or a JSON header of `header_length` bytes followed by binary tensor data)."""
    head, binary = _split(body, header_length)
    data = json_object(head, limits, 'a v2 infer request like {"inputs": [{"name": "TEXT", …}]}')
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise _invalid(f'"inputs" must hold exactly one tensor, {INPUT} (BYTES)')
    tensor = inputs[0]
    if tensor.get("name") != INPUT or tensor.get("datatype") != "BYTES":
        raise _invalid(f"the input must be {INPUT} with datatype BYTES, got {tensor.get('name')!r} "
                       f"{tensor.get('datatype')!r}")
    texts = _texts(tensor, binary)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape) or math.prod(shape) != len(texts):
        raise _invalid(f"{INPUT}'s shape {shape!r} does not hold its {len(texts)} element(s)")
    texts = checked_texts(texts, limits, invalid_status=400)
    thresholds = resolve_thresholds(None, list(labels), default_threshold)
    return InferRequest(PredictRequest(texts, thresholds, None), _outputs(data.get("outputs")), _id(data.get("id")),
                        tuple(shape))


def infer_response(name: str, infer: InferRequest, predictions: list[Prediction]) -> dict[str, Any]:
    tensors = {
        SCORES: {"name": SCORES, "datatype": "FP32", "shape": [len(predictions), len(predictions[0].scores)],
                 "data": [score for p in predictions for score in p.scores.values()]},
        LABELS: {"name": LABELS, "datatype": "BYTES", "shape": list(infer.shape),
                 "data": [json.dumps(p.labels, ensure_ascii=False) for p in predictions]},
    }
    response: dict[str, Any] = {"model_name": name, "model_version": "1",
                                "outputs": [tensors[output] for output in infer.outputs]}
    if infer.id is not None:
        response["id"] = infer.id
    return response


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise _invalid(f"the {HEADER_LENGTH} header ({header_length!r}) does not fit the body of {len(body)} bytes")
    return body[: int(header_length)], body[int(header_length) :]


def _texts(tensor: dict[str, Any], binary: bytes) -> list[Any]:
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is None:
        if binary:
            raise _invalid(f"binary data follows the header but {INPUT} has no binary_data_size parameter")
        data = tensor.get("data")
        if not isinstance(data, list):
            raise _invalid(f"{INPUT} must carry its texts in \"data\" (a list of strings)")
        try:
            return _flat(data)
        except RecursionError:
            raise _invalid(f"{INPUT}'s data is nested too deeply") from None
    if type(size) is not int or size != len(binary):
        raise _invalid(f"{INPUT}'s binary_data_size {size!r} is not the {len(binary)} bytes after the header")
    return _unpack_bytes(binary)


def _flat(data: list[Any]) -> list[Any]:
    """v2 allows the tensor data nested by its shape or flat in row-major order."""
    return [item for element in data for item in (_flat(element) if isinstance(element, list) else [element])]


def _unpack_bytes(binary: bytes) -> list[str]:
    """A BYTES tensor's binary form: each element as a 4-byte little-endian length, then its bytes (UTF-8 here)."""
    texts, offset = [], 0
    while offset < len(binary):
        if offset + 4 > len(binary):
            raise _invalid(f"{INPUT}'s binary data ends inside an element's length")
        (length,) = struct.unpack_from("<I", binary, offset)
        element = binary[offset + 4 : offset + 4 + length]
        if len(element) != length:
            raise _invalid(f"{INPUT}'s binary data ends inside element {len(texts)}")
        try:
            texts.append(element.decode("utf-8"))
        except UnicodeDecodeError:
            raise _invalid(f"element {len(texts)} of {INPUT} is not UTF-8 text") from None
        offset += 4 + length
    return texts


def _outputs(requested: object) -> tuple[str, ...]:
    if requested is None:
        return OUTPUTS
    names = [o.get("name") if isinstance(o, dict) else None for o in requested] if isinstance(requested, list) else None
    if not names:
        raise _invalid(f'"outputs" must be a list like [{{"name": "{SCORES}"}}] naming {" and/or ".join(OUTPUTS)}')
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown:
        raise _invalid(f"unknown output(s) {', '.join(map(repr, unknown))}: this model has {', '.join(OUTPUTS)}")
    return tuple(dict.fromkeys(names))


def _id(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _invalid(f'"id" must be a string, got {value!r}')
    return value


def _invalid(message: str) -> RequestError:
    return RequestError(400, "invalid_request", message)
