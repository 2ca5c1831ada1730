"""The baseline every benchmark figure is divided by: the code a user writes by hand from the seeds.

Seeds 000 and 001 load the model directory with transformers (`AutoTokenizer`, `AutoModelForSequenceClassification`,
fp32, eval), tokenize with `tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=…)`
(padding to the longest text of the batch), run the model under `torch.no_grad()`, apply sigmoid (softmax for
single-label models) and keep the labels over the threshold (npuport's one decision rule, `core.decisions`). This module does exactly that — no npuport runtime
code in the timed path — with transformers' default attention (SDPA) so the baseline is not made slower than
what users get.

ModelScope StructBERT directories (`model_type: structbert`) are unknown to transformers' Auto classes; for them
the model is read through `npuport.model.source` (the same weights, BERT modules) and switched to transformers'
default attention, which is what the seed's ModelScope download gives `AutoModelForSequenceClassification`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from npuport.core.decisions import decide, to_probabilities
from npuport.core.devices import Device
from npuport.core.errors import ModelLoadError
from npuport.core.offline import local_only
from npuport.runtime.backends import torch_device

if TYPE_CHECKING:
    import torch

NAME = "transformers eager fp32"


class HandWrittenBaseline:
    def __init__(self, model_dir: Path, device: Device, max_length: int, activation: str, threshold: float,
                 labels: list[str]) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.max_length = max_length
        self.activation = activation
        self.threshold = threshold
        self.labels = labels
        self.loaded_by = ""
        self.attn_implementation = ""
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch_device: torch.device | None = None

    def load(self) -> None:
        """from_pretrained the way the seeds do; ModelScope layouts through npuport.model.source (see module doc)."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        if not self.model_dir.is_dir():
            raise ModelLoadError(f"baseline model directory {self.model_dir} does not exist (give --source DIR)")
        self._torch_device = torch_device(self.device)
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            with local_only():
                tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
                model = AutoModelForSequenceClassification.from_pretrained(str(self.model_dir), dtype=torch.float32)
            self.loaded_by = "AutoModelForSequenceClassification.from_pretrained"
        except (ValueError, KeyError, OSError):  # e.g. model_type 'structbert' (ModelScope) is unknown to transformers
            from npuport.model.source import load_source

            source = load_source(self.model_dir)
            tokenizer, model = source.tokenizer, source.model
            model.set_attn_implementation("sdpa")
            self.loaded_by = "npuport.model.source.load_source (ModelScope layout), default SDPA attention"
        self._model = model.to(self._torch_device).eval()
        self._tokenizer = tokenizer
        self.attn_implementation = str(getattr(model.config, "_attn_implementation", ""))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Tokenize (padding to the longest text), forward under no_grad, sigmoid/softmax: [texts, labels]."""
        import torch

        inputs = self._tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
        inputs = {k: v.to(self._torch_device) for k, v in inputs.items()}
        with torch.no_grad():
            logits = self._model(**inputs).logits
        return to_probabilities(logits.float().cpu().numpy(), self.activation)

    def to_bfloat16(self) -> None:
        """The same model in bfloat16 (`model.to(torch.bfloat16)`, what a user with an AVX512-BF16/AMX CPU writes)."""
        import torch

        self._model = self._model.to(torch.bfloat16)

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The seeds' tokenization (padding to the longest text of the batch) as int64 arrays: an engine-only feed."""
        encoded = self._tokenizer(texts, return_tensors="np", padding=True, truncation=True, max_length=self.max_length)
        return {name: np.asarray(array, dtype=np.int64) for name, array in encoded.items()}

    def logits(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The model alone on an encoded batch (no tokenization): what engine-only timings compare."""
        import torch

        inputs = {name: torch.from_numpy(array).to(self._torch_device) for name, array in feed.items()}
        with torch.no_grad():
            return self._model(**inputs).logits.float().cpu().numpy()

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text, the labels over the threshold with their probabilities (the seeds' output)."""
        probabilities = self.probabilities(texts)
        chosen = decide(probabilities, np.full(len(self.labels), self.threshold), self.activation)
        return [{self.labels[i]: float(p) for i, p in enumerate(row) if picked[i]} for row, picked in zip(probabilities, chosen)]

    def describe(self) -> dict[str, Any]:
        return {"name": NAME, "source": str(self.model_dir), "loaded_by": self.loaded_by,
                "attn_implementation": self.attn_implementation, "max_length": self.max_length,
                "padding": "longest in batch", "grad": "torch.no_grad"}

    def close(self) -> None:
        self._model = None
        self._tokenizer = None
