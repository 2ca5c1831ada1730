"""Load a classifier from a local model directory (Hugging Face or ModelScope layout).

What differs between architectures is declared in `architectures` and looked up here. ModelScope StructBERT
downloads carry `model_type: structbert` (unknown to transformers), a `configuration.json` beside `config.json`, and
weight keys with extra prefixes (`encoder.`, `plm.`, `bert.`): its spec builds it as BERT after the keys are mapped.
A model type without a spec loads when transformers has a sequence classifier for it (the generic path). config.json
is read and checked, without torch, in `config`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.errors import ModelLoadError
from npuport.core.files import sha256_file
from npuport.core.manifest import SourceInfo
from npuport.core.offline import local_only
from npuport.model.architectures import INPUT_ORDER, architecture
from npuport.model.config import (
    classifier_class,
    decision_threshold,
    first_line,
    implied_parameters,
    problem_type,
    read_config,
)

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
KNOWN_KEY_PREFIXES = ("plm.", "encoder.", "model.", "structbert.", "bert.")
IGNORED_MISSING = ("position_ids", "token_type_ids")  # buffers some checkpoints omit


@dataclass
class SourceModel:
    """A loaded classifier: fp32, eval mode, eager attention (what export and the reference need)."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    info: SourceInfo


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


def model_inputs(config: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The model's inputs in export order: its spec's, or on the generic path those both its tokenizer gives and its
    forward takes."""
    spec = architecture(config["model_type"])
    if spec.registered:
        return spec.input_names()
    forward = inspect.signature(classifier_class(spec.loads_as).forward).parameters  # type: ignore[union-attr]
    given = tuple(getattr(tokenizer, "model_input_names", INPUT_ORDER))
    return spec.input_names(tuple(n for n in given if n in forward))


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
