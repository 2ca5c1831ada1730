"""Which optional extra brings which library, so that work needing one that is not installed fails with one line
naming the install command. The base install runs ONNX variants and packages (onnxruntime, tokenizers, numpy);
converting, TorchScript and the eager reference need the `convert` extra (pyproject.toml)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from npuport.core.errors import BackendUnavailableError

EXTRA_OF = {"torch": "convert", "transformers": "convert", "onnx": "convert", "safetensors": "convert",
            "torch_npu": "npu", "matplotlib": "report", "starlette": "serve", "uvicorn": "serve", "prometheus_client": "serve",
            "ray": "ray", "pyarrow": "ray"}


def missing_extra(exc: ModuleNotFoundError, what: str) -> BackendUnavailableError | None:
    """The error for `what` failing on a library one of our extras brings; None when the missing module is another, or
    a submodule of an installed library (a version mismatch, not an install step)."""
    module = exc.name or ""
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return BackendUnavailableError(f"{what} needs {module}, not installed here: pip install 'npuport[{extra}]'")


@contextlib.contextmanager
def needs_extra(what: str) -> Iterator[None]:
    """Inside this block, an extra's missing library is missing_extra's one-line error."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, what)
        if error is None:
            raise
        raise error from None
