"""Writing a built model to disk in the layout its seed model ships in: Hugging Face (config.json + safetensors) or
ModelScope (model_type structbert, configuration.json beside config.json, `encoder.`-prefixed keys in a .bin) —
so the zoo exercises the source loader's key mapping as the real ModelScope checkpoint would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from npuport.core.files import write_text_atomic
from npuport.zoo.specs import ZooSpec

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MODELSCOPE_CONFIGURATION = {"framework": "pytorch", "task": "text-classification", "model": {"type": "structbert"},
                            "pipeline": {"type": "text-classification"}}


def save_model(spec: ZooSpec, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out: Path) -> None:
    """Tokenizer and model into `out`, in `spec.layout`."""
    tokenizer.save_pretrained(str(out))
    if spec.layout == "hf":
        model.save_pretrained(str(out), safe_serialization=True)
        return
    _save_modelscope(model, out)


def _save_modelscope(model: PreTrainedModel, out: Path) -> None:
    import torch

    config = model.config.to_dict()
    config.update(model_type="structbert", architectures=["SbertForSequenceClassification"])
    for key in ("transformers_version", "_attn_implementation_autoset", "dtype", "torch_dtype"):
        config.pop(key, None)
    write_text_atomic(out / "config.json", json.dumps(config, ensure_ascii=False, indent=2))
    write_text_atomic(out / "configuration.json", json.dumps(MODELSCOPE_CONFIGURATION, indent=2))
    state = {("encoder." + k[len("bert."):] if k.startswith("bert.") else k): v.contiguous()
             for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    torch.save(state, out / "pytorch_model.bin")
    tokenizer_config = out / "tokenizer_config.json"  # ModelScope dirs carry vocab.txt and name the slow class
    if tokenizer_config.exists():
        data = json.loads(tokenizer_config.read_text(encoding="utf-8"))
        data["tokenizer_class"] = "BertTokenizer"
        write_text_atomic(tokenizer_config, json.dumps(data, ensure_ascii=False, indent=2))
