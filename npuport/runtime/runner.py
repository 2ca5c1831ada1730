"""Runner base class (Polygraphy-style): nothing touches a device until `activate`; the base owns input checks.

Backends implement `_activate_impl`, `_infer_impl` and `_deactivate_impl` only.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from npuport.core.errors import InputError
from npuport.core.manifest import TensorSpec


@functools.cache
def _dtype(name: str) -> np.dtype:
    """np.dtype of a spec's dtype name, built once (this check runs on every call)."""
    return np.dtype(name)


class Runner(ABC):
    def __init__(self, name: str, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> None:
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.is_active = False
        self._lock = threading.Lock()

    def __enter__(self) -> Runner:
        self.activate()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.deactivate()

    def activate(self) -> None:
        with self._lock:
            if not self.is_active:
                self._activate_impl()
                self.is_active = True

    def deactivate(self) -> None:
        with self._lock:
            if self.is_active:
                self._deactivate_impl()
                self.is_active = False

    def infer(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Logits as float32 [batch, num_labels]."""
        if not self.is_active:
            raise RuntimeError(f"runner {self.name} used before activate()")
        self.check_feed(feed)
        logits = np.asarray(self._infer_impl(feed), dtype=np.float32)
        batch = next(iter(feed.values())).shape[0]
        if logits.shape[0] != batch:
            raise InputError(f"{self.name} returned {logits.shape[0]} rows for a batch of {batch}")
        return logits

    def check_feed(self, feed: dict[str, np.ndarray]) -> None:
        expected = [spec.name for spec in self.inputs]
        if sorted(feed) != sorted(expected):
            raise InputError(f"{self.name} takes inputs {expected}, got {sorted(feed)}")
        bound: dict[str, int] = {}
        for spec in self.inputs:
            array = feed[spec.name]
            if array.dtype != _dtype(spec.dtype):
                raise InputError(f"input {spec.name}: dtype {array.dtype}, expected {spec.dtype}")
            if array.ndim != len(spec.shape):
                raise InputError(f"input {spec.name}: rank {array.ndim}, expected shape {spec.shape}")
            for axis, (actual, want) in enumerate(zip(array.shape, spec.shape)):
                if isinstance(want, int):
                    if actual != want:
                        raise InputError(
                            f"input {spec.name}: shape {list(array.shape)} does not match the static shape "
                            f"{spec.shape} of {self.name} (axis {axis})"
                        )
                elif bound.setdefault(want, actual) != actual:
                    raise InputError(f"input {spec.name}: dim {want}={actual} disagrees with another input ({bound[want]})")

    @abstractmethod
    def _activate_impl(self) -> None: ...

    @abstractmethod
    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray: ...

    def _deactivate_impl(self) -> None:
        """Release device resources; the default drops nothing."""
