"""Load a classifier from a local model directory (Hugging Face or ModelScope layout).

What differs between architectures is declared in `architectures` and looked up here. ModelScope StructBERT
downloads carry `model_type: structbert` (unknown to transformers), a `configuration.json` beside `config.json`, and
weight keys with extra prefixes (`encoder.`, `plm.`, `bert.`): its spec builds it as BERT after the keys are mapped.
A model type without a spec loads when transformers has a sequence classifier for it (the generic path).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.decisions import unaddressable
from npuport.core.errors import ModelLoadError
from npuport.core.files import sha256_file
from npuport.core.manifest import SourceInfo
from npuport.core.offline import local_only
from npuport.model.architectures import INPUT_ORDER, REGISTRY, architecture

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
KNOWN_KEY_PREFIXES = ("plm.", "encoder.", "model.", "structbert.", "bert.")
IGNORED_MISSING = ("position_ids", "token_type_ids")  # buffers some checkpoints omit
DEFAULT_THRESHOLD = 0.5
# Size fields of config.json (BERT names and DistilBERT's) → the largest value a real encoder has, with headroom. A
# value past it is a typo or a corrupt file, refused before anything is allocated (max_position_embeddings 1e12 asked
# for a petabyte).
SIZE_LIMITS: dict[str, int] = {
    "vocab_size": 4_000_000, "hidden_size": 32_768, "dim": 32_768, "intermediate_size": 131_072, "hidden_dim": 131_072,
    "num_hidden_layers": 512, "n_layers": 512, "num_attention_heads": 1024, "n_heads": 1024,
    "max_position_embeddings": 131_072, "type_vocab_size": 1024,
}


@dataclass
class SourceModel:
    """A loaded classifier: fp32, eval mode, eager attention (what export and the reference need)."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    info: SourceInfo


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
    if model_type not in REGISTRY and _classifier_class(model_type) is None:
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
    problem = config.get("problem_type") or "single_label_classification"
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


def find_weights(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelLoadError(f"{model_dir} has no weights ({' or '.join(WEIGHT_FILES)})")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Safetensors when present; a pickled .bin only through torch.load(weights_only=True)."""
    import torch

    if path.stat().st_size == 0:
        raise ModelLoadError(f"weights {path.name} is empty (0 bytes): an interrupted download or copy?")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt files raise many different types
        raise ModelLoadError(f"cannot read weights {path.name}: {first_line(exc)}") from exc
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

    hf_type = architecture(config["model_type"]).loads_as
    fields = {k: v for k, v in config.items() if k not in ("model_type", "architectures", "auto_map")}
    try:
        hf_config = AutoConfig.for_model(hf_type, **fields)
        hf_config._attn_implementation = "eager"  # SDPA blocks ORT's attention fusion; eager traces cleanly
        return AutoModelForSequenceClassification.from_config(hf_config, attn_implementation="eager")
    except Exception as exc:  # transformers and torch check a config with asserts, TypeError, ValueError, RuntimeError
        raise ModelLoadError(f"config.json is inconsistent: {first_line(exc)}") from exc


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


def _check_weights_size(config: dict[str, Any], weights: Path) -> None:
    """Refuse a config describing far more parameters than the weights file can hold before building the model, which
    allocates them all (a mistyped size would ask for gigabytes, then fail on the first shape)."""
    implied, size = implied_parameters(config), weights.stat().st_size
    if implied > size:
        raise ModelLoadError(f"config.json describes at least {implied:,} parameters but {weights.name} holds {size:,} bytes: "
                             "the config does not belong to these weights")


def load_model(model_dir: Path, config: dict[str, Any]) -> tuple[PreTrainedModel, Path]:
    import torch

    weights = find_weights(model_dir)
    state = read_state_dict(weights)
    _check_weights_size(config, weights)
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
    """The model's tokenizer; refused when its files are missing (transformers would otherwise build one that knows only
    the special tokens, turning every character into [UNK]) or its vocabulary is a fraction of the model's."""
    import transformers

    spec = architecture(config["model_type"])
    needed = spec.tokenizer_files
    if not any((model_dir / name).is_file() for name in needed):
        raise ModelLoadError(f"{model_dir} has no tokenizer: {' or '.join(needed)} is missing")
    try:
        with local_only():
            tokenizer = getattr(transformers, spec.tokenizer_class or "AutoTokenizer").from_pretrained(str(model_dir))
    except Exception as exc:
        raise ModelLoadError(f"cannot load the tokenizer from {model_dir}: {first_line(exc)}") from exc
    vocab_size = config.get("vocab_size")
    if isinstance(vocab_size, int) and len(tokenizer) < vocab_size // 4:
        raise ModelLoadError(f"the tokenizer in {model_dir} knows {len(tokenizer):,} tokens but the model has {vocab_size:,}: "
                             f"its vocabulary ({' or '.join(needed)}) is missing or truncated")
    return tokenizer


def model_max_length(config: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> int:
    positions = int(config.get("max_position_embeddings", 512))
    if architecture(config["model_type"]).positions_after_padding:
        pad = config.get("pad_token_id")
        positions -= (1 if pad is None else int(pad)) + 1  # positions start after padding_idx
    if positions < 2:
        raise ModelLoadError(f"config.json: max_position_embeddings {config.get('max_position_embeddings', 512)} leaves room "
                             f"for {positions} tokens (pad_token_id {config.get('pad_token_id')}): too few for a text")
    limit = getattr(tokenizer, "model_max_length", positions) or positions
    return min(positions, int(limit)) if 2 <= limit < 1_000_000 else positions


def _classifier_class(model_type: str) -> type | None:
    """transformers' sequence-classifier class for `model_type` (what AutoModelForSequenceClassification builds), if any."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    name = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES.get(model_type)
    return getattr(transformers, name, None) if isinstance(name, str) else None


def model_inputs(config: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The model's inputs in export order: its spec's, or on the generic path those both its tokenizer gives and its
    forward takes."""
    spec = architecture(config["model_type"])
    if spec.registered:
        return spec.input_names()
    forward = inspect.signature(_classifier_class(spec.loads_as).forward).parameters  # type: ignore[union-attr]
    given = tuple(getattr(tokenizer, "model_input_names", INPUT_ORDER))
    return spec.input_names(tuple(n for n in given if n in forward))


def problem_type(config: dict[str, Any]) -> str:
    """The config's problem type, single-label when it names none (read_config checked it)."""
    return config.get("problem_type") or "single_label_classification"


def decision_threshold(config: dict[str, Any]) -> float:
    """The multi-label decision threshold the config gives, else DEFAULT_THRESHOLD."""
    return float(config.get("threshold", DEFAULT_THRESHOLD))


def load_source(model_dir: Path) -> SourceModel:
    """Load model, tokenizer and label spec; any problem is a one-line ModelLoadError."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    tokenizer = load_tokenizer(model_dir, config)
    model, weights = load_model(model_dir, config)
    info = source_info(model_dir, config, tokenizer, weights, type(model).__name__, sum(p.numel() for p in model.parameters()))
    return SourceModel(model=model, tokenizer=tokenizer, info=info)


def source_info(model_dir: Path, config: dict[str, Any], tokenizer: PreTrainedTokenizerBase, weights: Path,
                model_class: str, parameters: int) -> SourceInfo:
    """What the manifest records of a source model, built once for `load_source` and for convert (whose workers
    load the model and report its class and size)."""
    return SourceInfo(
        path=str(Path(model_dir).resolve()),
        architecture=model_class,
        model_type=config["model_type"],
        num_labels=len(config["id2label"]),
        id2label=config["id2label"],
        problem_type=problem_type(config),
        threshold=decision_threshold(config),
        max_length=model_max_length(config, tokenizer),
        parameters=parameters,
        weights_sha256=sha256_file(weights),
        input_names=model_inputs(config, tokenizer),
        coverage=architecture(config["model_type"]).coverage,
    )
