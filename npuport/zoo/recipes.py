"""How a zoo model gets decisive: its initial model (random at the spec's init range, or pretrained MiniLM) and the
three training recipes — "finetune" (everything, AdamW + BCE on the corpus), "finetune-top" (the last encoder layer
and the head, on cached hidden states) and "ridge" (a closed-form head on the encoder's features). Training code
lives here, in the zoo, and nowhere in the production stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from npuport.core.corpus import Example, load_corpus
from npuport.core.offline import local_only
from npuport.model.architectures import architecture
from npuport.zoo.specs import ZooSpec
from npuport.zoo.tokenizers import minilm_dir

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def _config(spec: ZooSpec, tokenizer: PreTrainedTokenizerBase) -> Any:
    """The spec's sizes under its architecture's names; special token ids the tokenizer's where the config's defaults
    lie outside its vocabulary (ModernBERT's); one token type for a model that takes none, as real RoBERTa
    checkpoints have."""
    from transformers import AutoConfig

    arch = architecture(spec.model_type)
    vocab_size = max(spec.vocab_size, len(tokenizer))
    labels = {"id2label": dict(enumerate(spec.labels)), "label2id": {l: i for i, l in enumerate(spec.labels)},
              "problem_type": "multi_label_classification"}
    sizes = arch.sizes(hidden_size=spec.hidden, num_hidden_layers=spec.layers, num_attention_heads=spec.heads,
                       intermediate_size=spec.intermediate)
    config = AutoConfig.for_model(arch.loads_as, vocab_size=vocab_size, max_position_embeddings=spec.max_positions,
                                  initializer_range=spec.init_range, **sizes, **labels)
    special = {"pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.cls_token_id,
               "eos_token_id": tokenizer.sep_token_id, "cls_token_id": tokenizer.cls_token_id,
               "sep_token_id": tokenizer.sep_token_id}
    for key, value in special.items():
        if isinstance(getattr(config, key, None), int) and getattr(config, key) >= vocab_size:
            setattr(config, key, value)
    if not arch.token_type_ids and getattr(config, "type_vocab_size", 0) > 0:
        config.type_vocab_size = 1
    return config


def initial_model(spec: ZooSpec, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """The untrained model: pretrained MiniLM under a new head, or a random init seeded by `spec.seed`."""
    import torch
    from transformers import AutoModelForSequenceClassification

    if spec.pretrained == "minilm":
        with local_only():
            return AutoModelForSequenceClassification.from_pretrained(
                str(minilm_dir()), num_labels=len(spec.labels), id2label=dict(enumerate(spec.labels)),
                label2id={l: i for i, l in enumerate(spec.labels)}, problem_type="multi_label_classification",
                attn_implementation="eager",
            ).eval()
    torch.manual_seed(spec.seed)
    config = _config(spec, tokenizer)
    return AutoModelForSequenceClassification.from_config(config, attn_implementation="eager").eval()


def train(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: ZooSpec) -> None:
    """Apply the spec's recipe to `model` in place."""
    (fit_head if spec.recipe == "ridge" else finetune)(model, tokenizer, spec)


def target_logits(examples: list[Example], labels: list[str], margin: float = 4.0) -> np.ndarray:
    """±margin per label: the logits a decisive model gives the corpus (> 0 is the truth)."""
    index = {l: i for i, l in enumerate(labels)}
    targets = np.full((len(examples), len(labels)), -margin)
    for row, example in enumerate(examples):
        for label in example.labels:
            targets[row, index[label]] = margin
    return targets


# ---------------------------------------------------------------- finetune, finetune-top


def finetune(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: ZooSpec) -> None:
    """A short fine-tune (AdamW, BCE) on the bundled corpus; deterministic for a given seed.

    recipe "finetune" trains everything; "finetune-top" trains the last encoder layer and the head on cached
    hidden states of the frozen layers below (one forward pass of the big model instead of one per step).
    """
    import torch

    examples = [e for e in load_corpus(spec.lang) if e.labels]
    targets = torch.tensor(target_logits(examples, spec.labels) > 0, dtype=torch.float32)
    encoded = tokenizer([e.text for e in examples], padding=True, truncation=True, max_length=64, return_tensors="pt")
    mask = encoded["attention_mask"]
    generator = torch.Generator().manual_seed(spec.seed)
    if spec.recipe == "finetune":
        trainable = list(model.parameters())

        def logits(rows: torch.Tensor, width: int) -> torch.Tensor:
            return model(**{k: v[rows, :width] for k, v in encoded.items()}).logits
    else:
        top = model.base_model.encoder.layer[-1]
        cached = torch.zeros(*mask.shape, model.config.hidden_size)
        with torch.no_grad():  # length-sorted chunks, each padded to its own longest: most texts are short
            for rows in torch.argsort(mask.sum(1)).split(32):
                width = int(mask[rows].sum(1).max())
                chunk = {k: v[rows, :width] for k, v in encoded.items()}
                cached[rows, :width] = model.base_model(**chunk, output_hidden_states=True).hidden_states[-2]
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        trainable = [*top.parameters(), *model.classifier.parameters()]
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        for parameter in trainable:
            parameter.requires_grad_(True)

        def logits(rows: torch.Tensor, width: int) -> torch.Tensor:
            out = top(cached[rows, :width], attention_mask=additive[rows, :, :, :width])
            return model.classifier(out[0] if isinstance(out, tuple) else out)

    optimizer = torch.optim.AdamW(trainable, lr=spec.learning_rate, weight_decay=0.01)
    model.train()
    lengths = mask.sum(1)
    for _ in range(spec.finetune_epochs):
        batches = _length_grouped_batches(lengths, 16, generator) if spec.length_grouped else \
            torch.randperm(len(examples), generator=generator).split(16)
        for rows in batches:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits(rows, int(mask[rows].sum(1).max())), targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(True)


def _length_grouped_batches(lengths: torch.Tensor, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Random batches of similar lengths (shuffle, sort within windows of 8 batches, shuffle the batches): each
    batch is padded to its own longest text, and most corpus texts are short."""
    import torch

    shuffled = torch.randperm(len(lengths), generator=generator)
    batches: list[torch.Tensor] = []
    for window in shuffled.split(size * 8):
        batches += list(window[torch.argsort(lengths[window], stable=True)].split(size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


# ---------------------------------------------------------------- ridge


def head_layer(model: PreTrainedModel) -> torch.nn.Linear:
    """The final Linear of the classification head (the layer the ridge fit replaces)."""
    head = model.classifier
    return head.out_proj if hasattr(head, "out_proj") else head


def head_features(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int = 128) -> np.ndarray:
    """Inputs of the final head layer for each text (captured with a forward hook)."""
    import torch

    captured: list[torch.Tensor] = []
    hook = head_layer(model).register_forward_hook(lambda _m, args, _out: captured.append(args[0].detach()))
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), 32):
                batch = tokenizer(texts[start : start + 32], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
                model(**batch)
    finally:
        hook.remove()
    return torch.cat(captured).double().numpy()


def fit_ridge_head(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge regression of target logits on centred features → (weight [labels, d], bias)."""
    mean_x, mean_t = features.mean(0), targets.mean(0)
    x, t = features - mean_x, targets - mean_t
    gram = x.T @ x
    lam = ridge * np.trace(gram) / gram.shape[0] + 1e-8
    weight = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), x.T @ t)
    return weight.T, mean_t - mean_x @ weight


def fit_head(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: ZooSpec) -> None:
    """Replace the head's final layer by a ridge fit of the target logits on its input features."""
    import torch

    examples = [e for e in load_corpus(spec.lang) if e.labels]
    features = head_features(model, tokenizer, [e.text for e in examples])
    weight, bias = fit_ridge_head(features, target_logits(examples, spec.labels), spec.ridge)
    layer = head_layer(model)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        layer.bias.copy_(torch.from_numpy(bias))
