"""config.json read and checked without torch: ModelScope's quirks folded in, labels, sizes, problem type and
threshold refused early with one line, so inspect, convert and import fail before a model is built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from npuport.core.decisions import unaddressable
from npuport.core.errors import ModelLoadError
from npuport.model.architectures import REGISTRY, architecture

DEFAULT_THRESHOLD = 0.5
# Size fields of config.json (BERT names and DistilBERT's) → the largest value a real encoder has, with headroom. A
# value past it is a typo or a corrupt file, refused before anything is allocated (max_position_embeddings 1e12 asked
# for a petabyte).
SIZE_LIMITS: dict[str, int] = {
    "vocab_size": 4_000_000, "hidden_size": 32_768, "dim": 32_768, "intermediate_size": 131_072, "hidden_dim": 131_072,
    "num_hidden_layers": 512, "n_layers": 512, "num_attention_heads": 1024, "n_heads": 1024,
    "max_position_embeddings": 131_072, "type_vocab_size": 1024,
}


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message as one line (libraries raise multi-line and empty ones), cut to `limit` characters."""
    text = " ".join(str(exc).split())
    return (text[:limit] + "…" if len(text) > limit else text) or type(exc).__name__


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, bad UTF-8, a 5,000-digit number
        raise ModelLoadError(f"cannot read {path}: {first_line(exc)}") from None
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
    if model_type not in REGISTRY and classifier_class(model_type) is None:
        supported = ", ".join(sorted(REGISTRY))
        raise ModelLoadError(f"unsupported architecture {model_type or '(none)'!r}: no spec and no transformers sequence "
                             f"classifier for it; registered: {supported}")
    config["model_type"] = model_type
    if "id2label" not in config and isinstance(extra.get("id2label"), dict):
        config["id2label"] = extra["id2label"]
    _check_labels(config, config_path)
    _check_sizes(config, config_path)
    _check_decision(config, config_path)
    return config


def _check_sizes(config: dict[str, Any], where: Path) -> None:
    """Every size field present is an integer in a plausible range: what transformers would otherwise allocate."""
    for key, limit in SIZE_LIMITS.items():
        if key not in config:
            continue
        value = config[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN
        if number and value > limit:
            raise ModelLoadError(f"{where}: {key} is {_size(value)}, implausibly large (at most {limit:,}): "
                                 "a corrupt or mistyped config.json")
        lowest = 0 if key == "type_vocab_size" else 1
        if not number or not isinstance(value, int) or value < lowest:
            raise ModelLoadError(f"{where}: {key} must be {'a non-negative' if lowest == 0 else 'a positive'} integer, "
                                 f"got {_shown(value)}")
    pad = config.get("pad_token_id")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or pad < 0):
        raise ModelLoadError(f"{where}: pad_token_id must be a non-negative integer or null, got {_shown(pad)}")
    if pad is not None and pad >= config.get("vocab_size", pad + 1):
        raise ModelLoadError(f"{where}: pad_token_id {pad} is outside the vocabulary ({config['vocab_size']:,} tokens)")
    positions = config.get("max_position_embeddings")
    if architecture(config["model_type"]).positions_after_padding and positions is not None and (1 if pad is None else pad) + 3 > positions:
        raise ModelLoadError(f"{where}: max_position_embeddings {positions} leaves no room for a text after pad_token_id "
                             f"{pad} (RoBERTa's positions start after it)")


def _check_decision(config: dict[str, Any], where: Path) -> None:
    """problem_type is one npuport supports; threshold, when given, a number in [0, 1] (stored as a float)."""
    problem = problem_type(config)
    if problem not in ("multi_label_classification", "single_label_classification"):
        raise ModelLoadError(f"{where}: problem_type {_shown(problem)} is not a classification problem npuport supports")
    if "threshold" in config:
        threshold = config["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise ModelLoadError(f"{where}: threshold must be a number between 0 and 1, got {_shown(threshold)}")
        config["threshold"] = float(threshold)


def _size(value: float) -> str:
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"
    return text if len(text) <= 40 else f"{value:.3g}"


def _integer(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _check_labels(config: dict[str, Any], where: Path) -> None:
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise ModelLoadError(f"{where} has no id2label: a classifier needs its label names")
    try:
        ids = sorted(int(k) for k in id2label)
    except ValueError:
        raise ModelLoadError(f"{where}: id2label keys must be integers, got {_shown(list(id2label)[:3])}") from None
    if ids != list(range(len(ids))):
        raise ModelLoadError(f"{where}: id2label ids must be 0..{len(ids) - 1}, got {_shown(ids)}")
    names = [str(id2label[str(i)] if str(i) in id2label else id2label[i]) for i in ids]
    if len(set(names)) != len(names):
        raise ModelLoadError(f"{where}: id2label has duplicate label names")
    for name in names:
        if (why := unaddressable(name)) is not None:
            raise ModelLoadError(f"{where}: label {name!r} {why}, so --threshold LABEL=P could not name it: "
                                 "rename it in id2label and label2id")
    num_labels = config.get("num_labels")
    if num_labels is not None and num_labels != len(ids):
        raise ModelLoadError(f"{where}: num_labels is {_shown(num_labels)} but id2label has {len(ids)} labels")
    label2id = config.get("label2id")
    if isinstance(label2id, dict) and label2id:
        if {str(k): _integer(v) for k, v in label2id.items()} != {n: i for i, n in enumerate(names)}:
            raise ModelLoadError(f"{where}: label2id does not mirror id2label")
    config["id2label"] = {i: n for i, n in enumerate(names)}
    config["label2id"] = {n: i for i, n in enumerate(names)}


def classifier_class(model_type: str) -> type | None:
    """transformers' sequence-classifier class for `model_type` (what AutoModelForSequenceClassification builds), if any."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    name = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES.get(model_type)
    return getattr(transformers, name, None) if isinstance(name, str) else None


def problem_type(config: dict[str, Any]) -> str:
    """The config's problem type, single-label when it names none."""
    return config.get("problem_type") or "single_label_classification"


def decision_threshold(config: dict[str, Any]) -> float:
    """The multi-label decision threshold the config gives, else DEFAULT_THRESHOLD."""
    return float(config.get("threshold", DEFAULT_THRESHOLD))


def implied_parameters(config: dict[str, Any]) -> int:
    """A lower bound on the parameters config.json describes (the embeddings and the encoder's matrices; a size it
    leaves out counts as 0): each of them must be in the weights file, at one byte or more. Sizes as read_config
    checked them."""
    def size(*keys: str) -> int:
        return next((int(config[key]) for key in keys if isinstance(config.get(key), int)), 0)

    hidden, inner = size("hidden_size", "dim"), size("intermediate_size", "hidden_dim")
    embeddings = (size("vocab_size") + size("max_position_embeddings")) * size("embedding_size", "hidden_size", "dim")
    layers = 1 if architecture(config["model_type"]).shared_layers else size("num_hidden_layers", "n_layers")
    return embeddings + layers * (4 * hidden * hidden + 2 * hidden * inner)
