"""Load a classifier from a local model directory (Hugging Face or ModelScope layout).

ModelScope StructBERT downloads carry `model_type: structbert` (unknown to transformers), a
`configuration.json` beside `config.json`, and weight keys with extra prefixes (`encoder.`, `plm.`,
`bert.`). StructBERT is BERT-compatible, so it is loaded as BERT after the keys are mapped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.errors import ModelLoadError
from npuport.core.files import sha256_file
from npuport.core.manifest import SourceInfo

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# model_type → (transformers model_type it loads as, model inputs in export order)
ARCHITECTURES: dict[str, tuple[str, list[str]]] = {
    "bert": ("bert", ["input_ids", "attention_mask", "token_type_ids"]),
    "structbert": ("bert", ["input_ids", "attention_mask", "token_type_ids"]),
    "roberta": ("roberta", ["input_ids", "attention_mask"]),
    "xlm-roberta": ("xlm-roberta", ["input_ids", "attention_mask"]),
    "distilbert": ("distilbert", ["input_ids", "attention_mask"]),
}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
KNOWN_KEY_PREFIXES = ("plm.", "encoder.", "model.", "structbert.", "bert.")
IGNORED_MISSING = ("position_ids", "token_type_ids")  # buffers some checkpoints omit
DEFAULT_THRESHOLD = 0.5


@dataclass
class SourceModel:
    """A loaded classifier: fp32, eval mode, eager attention (what export and the reference need)."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    info: SourceInfo


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return data


def read_config(model_dir: Path) -> dict[str, Any]:
    """config.json as a dict, with ModelScope quirks folded in; raises ModelLoadError on anything unusable."""
    if not model_dir.exists():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    if not model_dir.is_dir():
        raise ModelLoadError(f"{model_dir} is not a directory")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{model_dir} has no config.json: not a Hugging Face or ModelScope model directory")
    config = _read_json(config_path)
    modelscope = model_dir / "configuration.json"
    extra = _read_json(modelscope) if modelscope.is_file() else {}
    model_type = str(config.get("model_type") or extra.get("model", {}).get("type") or "").lower()
    if model_type not in ARCHITECTURES:
        supported = ", ".join(sorted(ARCHITECTURES))
        raise ModelLoadError(f"unsupported architecture {model_type or '(none)'!r}; supported: {supported}")
    config["model_type"] = model_type
    if "id2label" not in config and isinstance(extra.get("id2label"), dict):
        config["id2label"] = extra["id2label"]
    _check_labels(config, config_path)
    return config


def _check_labels(config: dict[str, Any], where: Path) -> None:
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise ModelLoadError(f"{where} has no id2label: a classifier needs its label names")
    try:
        ids = sorted(int(k) for k in id2label)
    except ValueError as exc:
        raise ModelLoadError(f"{where}: id2label keys must be integers, got {list(id2label)[:3]}") from exc
    if ids != list(range(len(ids))):
        raise ModelLoadError(f"{where}: id2label ids must be 0..{len(ids) - 1}, got {ids}")
    names = [str(id2label[str(i)] if str(i) in id2label else id2label[i]) for i in ids]
    if len(set(names)) != len(names):
        raise ModelLoadError(f"{where}: id2label has duplicate label names")
    num_labels = config.get("num_labels")
    if num_labels is not None and int(num_labels) != len(ids):
        raise ModelLoadError(f"{where}: num_labels is {num_labels} but id2label has {len(ids)} labels")
    label2id = config.get("label2id")
    if isinstance(label2id, dict) and label2id:
        if {str(k): int(v) for k, v in label2id.items()} != {n: i for i, n in enumerate(names)}:
            raise ModelLoadError(f"{where}: label2id does not mirror id2label")
    config["id2label"] = {i: n for i, n in enumerate(names)}
    config["label2id"] = {n: i for i, n in enumerate(names)}


def find_weights(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelLoadError(f"{model_dir} has no weights ({' or '.join(WEIGHT_FILES)})")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Safetensors when present; a pickled .bin only through torch.load(weights_only=True)."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt files raise many different types
        raise ModelLoadError(f"cannot read weights {path.name}: {str(exc).splitlines()[0][:200]}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path.name} does not hold a state dict of tensors")
    return state


def map_checkpoint_keys(state: dict[str, Any], expected: set[str], base_prefix: str) -> dict[str, Any]:
    """Map checkpoint keys onto the model's keys, tolerating ModelScope/wrapper prefixes."""
    mapped: dict[str, Any] = {}
    for key, tensor in state.items():
        candidates = [key, f"{base_prefix}.{key}"]
        for prefix in KNOWN_KEY_PREFIXES:
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                candidates += [rest, f"{base_prefix}.{rest}"]
        for candidate in candidates:
            if candidate in expected and candidate not in mapped:
                mapped[candidate] = tensor
                break
    return mapped


def _build_model(config: dict[str, Any]) -> PreTrainedModel:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    hf_type, _ = ARCHITECTURES[config["model_type"]]
    fields = {k: v for k, v in config.items() if k not in ("model_type", "architectures", "auto_map")}
    try:
        hf_config = AutoConfig.for_model(hf_type, **fields)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"config.json is inconsistent: {exc}") from exc
    hf_config._attn_implementation = "eager"  # SDPA blocks ORT's attention fusion; eager traces cleanly
    return AutoModelForSequenceClassification.from_config(hf_config, attn_implementation="eager")


def load_model(model_dir: Path, config: dict[str, Any]) -> tuple[PreTrainedModel, Path]:
    import torch

    weights = find_weights(model_dir)
    state = read_state_dict(weights)
    model = _build_model(config)
    expected = model.state_dict()
    mapped = map_checkpoint_keys(state, set(expected), model.base_model_prefix)
    for key, tensor in mapped.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ModelLoadError(
                f"weight {key} has shape {tuple(tensor.shape)} but the config implies {tuple(expected[key].shape)}"
                + (" (num_labels / id2label mismatch?)" if "classifier" in key or "out_proj" in key else "")
            )
    missing = [k for k in expected if k not in mapped and not k.endswith(IGNORED_MISSING)]
    head_missing = [k for k in missing if not k.startswith(model.base_model_prefix + ".")]
    if head_missing:
        raise ModelLoadError(
            f"{weights.name} has no classification head ({', '.join(head_missing[:3])}): "
            "a base encoder, not a fine-tuned classifier"
        )
    if missing:
        raise ModelLoadError(f"{weights.name} lacks {len(missing)} encoder weights, e.g. {missing[0]}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in mapped.items()}, strict=False)
    return model.float().eval(), weights


def load_tokenizer(model_dir: Path, config: dict[str, Any]) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer, BertTokenizerFast

    try:
        if config["model_type"] == "structbert":
            return BertTokenizerFast.from_pretrained(str(model_dir))
        return AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as exc:
        raise ModelLoadError(f"cannot load the tokenizer from {model_dir}: {str(exc).splitlines()[0][:200]}") from exc


def model_max_length(config: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> int:
    positions = int(config.get("max_position_embeddings", 512))
    if config["model_type"] in ("roberta", "xlm-roberta"):
        positions -= int(config.get("pad_token_id", 1)) + 1  # positions start after padding_idx
    limit = getattr(tokenizer, "model_max_length", positions) or positions
    return min(positions, int(limit)) if limit < 1_000_000 else positions


def load_source(model_dir: Path) -> SourceModel:
    """Load model, tokenizer and label spec; any problem is a one-line ModelLoadError."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    tokenizer = load_tokenizer(model_dir, config)
    model, weights = load_model(model_dir, config)
    problem = config.get("problem_type") or "single_label_classification"
    if problem not in ("multi_label_classification", "single_label_classification"):
        raise ModelLoadError(f"problem_type {problem!r} is not a classification problem npuport supports")
    info = SourceInfo(
        path=str(model_dir.resolve()),
        architecture=type(model).__name__,
        model_type=config["model_type"],
        num_labels=len(config["id2label"]),
        id2label=config["id2label"],
        problem_type=problem,
        threshold=float(config.get("threshold", DEFAULT_THRESHOLD)),
        max_length=model_max_length(config, tokenizer),
        parameters=sum(p.numel() for p in model.parameters()),
        weights_sha256=sha256_file(weights),
        input_names=ARCHITECTURES[config["model_type"]][1],
    )
    return SourceModel(model=model, tokenizer=tokenizer, info=info)
