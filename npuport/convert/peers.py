"""What peer tools need to open npuport's ONNX files: a Hugging Face `config.json` beside the manifest.

Optimum's `ORTModelForSequenceClassification.from_pretrained(ARTIFACTS, file_name="onnx/fp32-dynamic.onnx")` reads
the model type, labels and problem type from it (without it: "library name could not be automatically inferred"); the
tokenizer is already in `tokenizer/`. Written from the loaded model's own transformers config, so the model type is
the one transformers knows (ModelScope's `structbert` loads as `bert`) and any transformers version can read it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from npuport.core.files import write_text_atomic

if TYPE_CHECKING:
    from transformers import PreTrainedModel

PEER_CONFIG = "config.json"


def write_peer_config(model: PreTrainedModel, root: Path) -> Path:
    """`root/config.json`: the model's transformers config with its architecture, labels and problem type (the
    default npuport applies too when the source names none)."""
    config = copy.deepcopy(model.config)
    config.architectures = [type(model).__name__]
    config.problem_type = config.problem_type or "single_label_classification"
    config.label2id = {label: index for index, label in config.id2label.items()}
    path = root / PEER_CONFIG
    write_text_atomic(path, config.to_json_string(use_diff=False))
    return path
