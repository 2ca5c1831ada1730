"""Issue 22: every malformed request is refused with a 4xx RequestError and a one-line reason, never another
exception (which the app answers 500, logging a traceback). Bodies are the valid /predict and v2 infer requests with
one value replaced by a hostile one, written as raw JSON text (so it can hold what json.dumps cannot: integers of
5,000 digits, NaN), plus the v2 header lengths a client may send. No server: the parsers are the app's, and
test_serve_grpc.py sends a few of these to a real process to see its log stay free of tracebacks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from npuport.serve.config import Limits
from npuport.serve.request import RequestError, parse_predict
from npuport.serve.v2_http import parse_infer

LABELS = ["joy", "anger"]
LIMITS = Limits(max_texts=8, max_chars=200)
HOSTILE = ["9" * 5000, "-" + "9" * 5000, "1" * 5000 + ".5", "1e99999", "NaN", "Infinity", "-Infinity", "-1", "0", "2",
           "1.5", "true", "null", '""', '" "', '"x"', '"\\ud800"', '"' + "x" * 6000 + '"', "[]", "{}", '[1, "a"]',
           "[" * 3000 + "]" * 3000, '{"a": ' * 50 + "1" + "}" * 50, '{"name": "SCORES"}', '["a", ["b"]]']
PREDICT = ['{"texts": V}', '{"texts": [V]}', '{"texts": ["a"], "threshold": V}',
           '{"texts": ["a"], "threshold": {"joy": V}}', '{"texts": ["a"], "top_k": V}', '{"texts": ["a"], V: 1}']
INFER_TENSOR = '{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}'
INFER = ['{"inputs": V}', '{"inputs": [V]}', *(
    '{"inputs": [' + INFER_TENSOR.replace(part, replaced) + "]}" for part, replaced in (
        ('"TEXT"', "V"), ('"BYTES"', "V"), ("[1]", "V"), ("[1]", "[V]"), ('["a"]', "V"), ('["a"]', "[V]"),
        ('"data"', '"parameters": V, "data"'), ('"data"', '"parameters": {"binary_data_size": V}, "data"'))),
    '{"inputs": [' + INFER_TENSOR + '], "outputs": V}', '{"inputs": [' + INFER_TENSOR + '], "outputs": [V]}',
    '{"inputs": [' + INFER_TENSOR + '], "outputs": [{"name": V}]}', '{"inputs": [' + INFER_TENSOR + '], "id": V}']
HEADER_LENGTHS = ["", "-1", "\u00b2", "\uff11\uff12", "9" * 5000, "0", "1", "9" * 19]


def _refused_or_parsed(parse: Callable[[], object]) -> str:
    """'ok', or the status of a refusal whose reason is one line; anything else fails the test."""
    try:
        parse()
    except RequestError as exc:
        message = exc.body["error"]
        assert 400 <= exc.status < 500 and message.strip() and "\n" not in message, exc.body
        return str(exc.status)
    return "ok"


@pytest.mark.parametrize("template", PREDICT)
def test_predict_bodies(template: str) -> None:
    outcomes = [_refused_or_parsed(lambda: parse_predict(template.replace("V", value).encode(), LABELS, 0.5, LIMITS))
                for value in HOSTILE]
    assert set(outcomes) - {"ok"}, "nothing was refused: not a test of refusals"


@pytest.mark.parametrize("template", INFER)
def test_v2_infer_bodies(template: str) -> None:
    outcomes = [_refused_or_parsed(lambda: parse_infer(template.replace("V", value).encode(), None, LABELS, 0.5, LIMITS))
                for value in HOSTILE]
    assert set(outcomes) - {"ok"}, "nothing was refused: not a test of refusals"


def test_v2_header_lengths() -> None:
    body = ('{"inputs": [' + INFER_TENSOR + "]}").encode()
    outcomes = {length: _refused_or_parsed(lambda: parse_infer(body, length, LABELS, 0.5, LIMITS)) for length in
                [*HEADER_LENGTHS, str(len(body))]}
    assert outcomes[str(len(body))] == "ok" and set(outcomes.values()) == {"ok", "400"}
