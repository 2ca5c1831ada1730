"""A POST /predict body → a checked PredictRequest, or a RequestError carrying its HTTP status and the broken limit.

Malformed JSON is 400 (NaN and Infinity too: JSON has no such numbers), a request over a limit 413 (the error names
the limit and its value), a well-formed request with wrong contents 422: an integer of over 19 digits (Python would
not even read one of over 4,300), a text with a lone surrogate (JSON's \\uXXXX escapes can spell one; the
tokenizer would raise on it for the whole batch), refused by `check_texts` for this request only. The body shape
is seed 003's `{"texts": [...]}` plus optional `threshold` (one number, or {label: number}) and `top_k`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from npuport.core.decisions import resolve_thresholds
from npuport.core.errors import InputError
from npuport.core.texts import check_texts
from npuport.serve.config import Limits

FIELDS = ("texts", "threshold", "top_k")
MAX_INT_DIGITS = 19  # int64: what a v2 shape holds; no field of a request needs more


class RequestError(Exception):
    """A request the server refuses; `body` is the JSON error it answers with."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": message, "code": code, **extra}
        self.headers = headers


def over_limit(what: str, limit: str, value: int) -> RequestError:
    return RequestError(413, "limit_exceeded", f"{what}: the limit {limit} is {value}", limit=limit, max=value)


@dataclass(frozen=True)
class PredictRequest:
    texts: list[str]
    thresholds: np.ndarray  # one per label, in label order
    top_k: int | None


def parse_predict(body: bytes, labels: Sequence[str], default_threshold: float, limits: Limits) -> PredictRequest:
    data = json_object(body, limits, 'a JSON object like {"texts": ["…"]}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise _invalid(f"unknown field(s) {', '.join(map(repr, unknown))}; expected {', '.join(FIELDS)}")
    texts = data.get("texts")
    if not isinstance(texts, list):
        raise _invalid('"texts" must be a list of strings')
    texts = checked_texts(texts, limits)
    try:
        thresholds = resolve_thresholds(data.get("threshold"), list(labels), default_threshold)
    except InputError as exc:
        raise _invalid(str(exc)) from None
    return PredictRequest(texts, thresholds, _top_k(data.get("top_k")))


def json_object(body: bytes, limits: Limits, expected: str, invalid_status: int = 422) -> dict[str, Any]:
    """The body as a JSON object: 413 over max_body_bytes, 400 when not UTF-8 JSON or not `expected` (an object),
    `invalid_status` for an integer of more than MAX_INT_DIGITS digits (Python refuses to read one of over 4,300)."""
    if len(body) > limits.max_body_bytes:
        raise over_limit(f"the body has {len(body)} bytes", "max_body_bytes", limits.max_body_bytes)
    try:
        # JSON over HTTP is UTF-8 (RFC 8259); json.loads would guess UTF-16/32
        data = json.loads(body.decode("utf-8-sig"), parse_int=_bounded_int, parse_constant=_not_a_number)
    except _LongInteger as exc:
        raise RequestError(invalid_status, "invalid_request", f"the body holds an integer of {exc} digits: integers "
                           f"here have at most {MAX_INT_DIGITS} (64 bits)") from None
    except _NotANumber as exc:
        raise RequestError(400, "malformed_json", f"the body is not valid JSON: {exc} is not a JSON number") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        detail = {UnicodeDecodeError: "not UTF-8", RecursionError: "nested too deeply"}.get(type(exc)) or str(exc)
        raise RequestError(400, "malformed_json", f"the body is not valid JSON: {detail}") from None
    if not isinstance(data, dict):
        raise RequestError(400, "malformed_json", f"the body must be {expected}")
    return data


class _LongInteger(Exception):
    """An integer of more digits than any field takes (the count is the message)."""


class _NotANumber(Exception):
    """NaN, Infinity or -Infinity: json.loads reads them, RFC 8259 has no such numbers."""


def _bounded_int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_INT_DIGITS:
        raise _LongInteger(count)
    return int(digits)


def _not_a_number(constant: str) -> Any:
    raise _NotANumber(constant)


def checked_texts(texts: list[Any], limits: Limits, invalid_status: int = 422) -> list[str]:
    """`texts` within max_texts_per_request and max_chars_per_text (413), each a string the tokenizer takes
    (else `invalid_status`)."""
    if len(texts) > limits.max_texts:
        raise over_limit(f"{len(texts)} texts in one request", "max_texts_per_request", limits.max_texts)
    try:
        texts = check_texts(texts)
    except InputError as exc:
        raise RequestError(invalid_status, "invalid_request", str(exc)) from None
    for index, text in enumerate(texts):
        if len(text) > limits.max_chars:
            raise over_limit(f"text {index} has {len(text)} characters", "max_chars_per_text", limits.max_chars)
    return texts


def _top_k(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(f'"top_k" must be a whole number of at least 1, got {value!r}')
    return value


def _invalid(message: str) -> RequestError:
    return RequestError(422, "invalid_request", message)
