"""A loaded variant that turns texts into decisions: labels over threshold, every label's score, the top k.

Build one with `npuport.runtime.load`. `predict` may be called from several threads at once: tokenization is
serialised, ONNX Runtime sessions and TorchScript modules under inference_mode run concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import numpy as np

from npuport.core.buckets import BucketPolicy, length_batches, length_groups, pad_to_bucket
from npuport.core.decisions import Threshold, decide, resolve_thresholds, to_probabilities
from npuport.core.devices import Device, cpu_class
from npuport.core.errors import InputError
from npuport.core.manifest import Bucket, Manifest, Platform, Variant
from npuport.core.progress import Progress, done, reporter, total
from npuport.core.texts import check_texts
from npuport.model.tokenizer import TextEncoder
from npuport.runtime.execute import run_chunks
from npuport.runtime.om_runner import OM_PRECISION_MODE, OmRunner, installed_version
from npuport.runtime.openvino_runner import OpenVinoRunner
from npuport.runtime.ort_runner import OrtRunner
from npuport.runtime.runner import Runner


@dataclass(frozen=True)
class Prediction:
    """One text's outcome as plain data (JSON-ready through to_dict), detached from the classifier."""

    text: str
    labels: list[str]  # multi-label: every label at or over its threshold, best first; single-label: the argmax
    scores: dict[str, float]  # every label's probability, in label order
    top: list[tuple[str, float]]  # the top_k labels by probability, best first
    tokens: int  # tokens the model saw, special tokens included
    truncated: bool
    original_tokens: int  # tokens before truncation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Classifier:
    def __init__(
        self,
        manifest: Manifest,
        variant: Variant,
        device: Device,
        runners: dict[Bucket | None, Runner],
        encoder: TextEncoder,
        chosen_because: str,
    ) -> None:
        self.manifest = manifest
        self.variant = variant
        self.device = device
        self.encoder = encoder
        self.chosen_because = chosen_because
        self.labels = manifest.source.labels
        self._runners = runners
        self._policy = BucketPolicy(variant.buckets if variant.shape == "static" else None)
        self._closed = False

    @property
    def variant_id(self) -> str:
        return self.variant.id

    @property
    def max_length(self) -> int:
        """Tokens per text the variant accepts; longer texts are truncated (and counted)."""
        return self.encoder.max_length

    @property
    def engine(self) -> str:
        """What runs: ONNX Runtime with the providers its sessions registered (where an accelerator session's nodes
        really ran is `platform.placement`), OpenVINO with its inference precision (asked and reported), or torch on a
        device."""
        runners = list(dict.fromkeys(self._runners.values()))
        if isinstance(runners[0], OpenVinoRunner):
            return runners[0].engine
        if isinstance(runners[0], OmRunner):
            return f"ACL via ais_bench ({'; '.join(r.compiled for r in runners)})"  # type: ignore[attr-defined]
        sessions = self._sessions
        if sessions:
            return f"onnxruntime ({', '.join(dict.fromkeys(p for r in sessions for p in r.providers))})"
        return f"torch ({self.device})"

    @property
    def _sessions(self) -> list[OrtRunner]:
        return [r for r in dict.fromkeys(self._runners.values()) if isinstance(r, OrtRunner)]

    @property
    def platform(self) -> Platform:
        """This machine as far as the outputs depend on it: CPU class, engine, the versions that computed them, and on
        an accelerator its compiler's precision setting and where each session's nodes ran."""
        import sys

        cpu = cpu_class()
        if isinstance(next(iter(self._runners.values())), OmRunner):
            return Platform(cpu_class=cpu.name, cpu_features=list(cpu.features), engine=self.engine,
                            versions={"ais_bench": installed_version("ais_bench")}, precision_mode=OM_PRECISION_MODE)
        libraries = (self.variant.engine or "onnxruntime",) if self.variant.format == "onnx" else ("torch", "torch_npu")
        versions = {name: str(getattr(sys.modules[name], "__version__", "unknown")) for name in libraries if name in sys.modules}
        sessions = self._sessions
        return Platform(cpu_class=cpu.name, cpu_features=list(cpu.features), engine=self.engine, versions=versions,
                        precision_mode=next((r.precision_mode for r in sessions if r.precision_mode), None),
                        placement=[r.placement for r in sessions if r.placement is not None])

    def describe(self) -> str:
        return f"{self.variant_id} on {self.device} via {self.engine}; {self.chosen_because}"

    def predict(
        self,
        texts: Sequence[str],
        threshold: Threshold | np.ndarray | None = None,
        top_k: int | None = None,
        batch_size: int = 16,
        progress: Progress | None = None,
    ) -> list[Prediction]:
        """One Prediction per text, in input order. `progress` hears the number of texts, then each batch's
        texts as done steps.

        Texts are batched by token length, so a short text is not padded up to a long one; with dynamic shapes
        a batch of very mixed lengths is run as a few calls (see `buckets.length_groups`), batch_size is the most
        texts per call.
        """
        if self._closed:
            raise RuntimeError(f"classifier {self.variant_id} is closed")
        texts = check_texts(texts)
        thresholds = self._thresholds(threshold)
        if top_k is not None and top_k < 1:
            raise InputError(f"top_k must be at least 1, got {top_k}")
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        notify = reporter(progress)
        notify(total(len(texts)))
        encoded = self.encoder.encode(texts)
        probabilities = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        lengths = encoded.lengths
        for batch in length_batches(lengths, batch_size):
            # Dynamic shapes: a batch of mixed lengths runs as a few calls, each padded to its own longest text.
            groups = [(0, len(batch))] if self._policy.static else length_groups([lengths[i] for i in batch])
            for first, stop in groups:
                index = batch[first:stop]
                logits = run_chunks(self._runners.__getitem__, self.encoder.feed(encoded, index), self._policy,
                                    self.encoder.pad_token_id)
                probabilities[index] = to_probabilities(logits, self.manifest.source.activation)
            notify(done(steps=len(batch)))
        return [
            self._decide(text, probs, thresholds, top_k, tokens, original)
            for text, probs, tokens, original in zip(texts, probabilities, encoded.lengths, encoded.original)
        ]

    def logits(self, feed: dict[str, np.ndarray], bucket: Bucket | None = None) -> np.ndarray:
        """Logits of token rows (validation's entry): padded up to `bucket` and run by its file when one is
        named, else planned over the variant's buckets like `predict`."""
        if bucket is None:
            return run_chunks(self._runners.__getitem__, feed, self._policy, self.encoder.pad_token_id)
        rows = next(iter(feed.values())).shape[0]
        return self._runners[bucket].infer(pad_to_bucket(feed, bucket, self.encoder.pad_token_id))[:rows]

    def _thresholds(self, threshold: Threshold | np.ndarray | None) -> np.ndarray:
        return resolve_thresholds(threshold, self.labels, self.manifest.source.threshold)

    def _decide(
        self, text: str, probs: np.ndarray, thresholds: np.ndarray, top_k: int | None, tokens: int, original: int
    ) -> Prediction:
        ranked = sorted(range(len(self.labels)), key=lambda i: -probs[i])  # stable: ties keep label order
        chosen = decide(probs, thresholds, self.manifest.source.activation)[0]
        labels = [self.labels[i] for i in ranked if chosen[i]]
        return Prediction(
            text=text,
            labels=labels,
            scores={label: float(p) for label, p in zip(self.labels, probs)},
            top=[(self.labels[i], float(probs[i])) for i in ranked[:top_k]],
            tokens=tokens,
            truncated=original > tokens,
            original_tokens=original,
        )

    def redecide(self, prediction: Prediction, thresholds: np.ndarray, top_k: int | None) -> Prediction:
        """`prediction`'s scores decided under other thresholds (from `resolve_thresholds`) and top_k — what
        `predict` with those would have returned; a server runs one batch for requests that differ in both."""
        probs = np.array([prediction.scores[label] for label in self.labels], dtype=np.float32)
        return self._decide(prediction.text, probs, thresholds, top_k, prediction.tokens, prediction.original_tokens)

    def close(self) -> None:
        """Release every session / module; predict afterwards is an error."""
        self._closed = True
        for runner in dict.fromkeys(self._runners.values()):
            runner.deactivate()

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Classifier({self.variant_id!r}, device={str(self.device)!r}, labels={len(self.labels)})"
