"""What GET /metadata says about the served model: labels, variant, device, batching, limits, timeouts, parity verdict,
and the warm-up run before the server reports ready."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from npuport import __version__

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier
    from npuport.serve.config import Batching, ServeConfig


def metadata(classifier: Classifier, config: ServeConfig, batching: Batching) -> dict[str, Any]:
    source = classifier.manifest.source
    variant = classifier.variant
    return {
        "model": {
            "architecture": source.architecture, "model_type": source.model_type, "problem_type": source.problem_type,
            "activation": source.activation, "labels": classifier.labels, "threshold": source.threshold,
            "max_length": classifier.max_length,
        },
        "variant": {
            "id": variant.id, "format": variant.format, "precision": variant.precision, "shape": variant.shape,
            "buckets": [str(b) for b in variant.buckets], "sha256": variant.digest,
            "chosen_because": classifier.chosen_because,
        },
        "device": str(classifier.device),
        "engine": classifier.engine,
        "parity": classifier.manifest.parity(variant, str(classifier.device)).model_dump(),
        "batching": asdict(batching) | {"max_queue_texts": config.max_queue},
        "limits": {"max_texts_per_request": config.limits.max_texts, "max_chars_per_text": config.limits.max_chars,
                   "max_body_bytes": config.limits.max_body_bytes},
        "timeouts": {"head_timeout_s": config.timeouts.head_s, "body_timeout_s": config.timeouts.body_s,
                     "drain_timeout_s": config.timeouts.drain_s},
        "npuport_version": __version__,
    }


def warm_up(classifier: Classifier, max_batch_size: int) -> None:
    """Run each shape class twice before taking traffic: the first run of a session or module allocates and
    (TorchScript's profiling executor) optimises per shape, which would otherwise land on the first users.
    Short ×1, short × a full batch and one text at max_length cover every bucket of a static variant."""
    short, long = "warm-up", "warm up " * classifier.max_length
    for texts in ([short], [short] * max_batch_size, [long]):
        for _ in range(2):
            classifier.predict(texts, batch_size=max_batch_size)
