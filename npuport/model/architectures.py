"""Which encoder classifiers npuport knows, declared once: one `ArchitectureSpec` per config.json `model_type`.

Everything that differs between architectures is a field here — what the model is built as, its inputs, the ONNX
Runtime fusion that fits its graph, its tokenizer files, its position-id quirk, its known sensitivities (the
feed-forward blocks int8 keeps in fp32 first, the nodes fp16 must keep in fp32) — and the loader, convert and the zoo
look it up instead of naming architectures. A model type without a spec still converts when transformers has a
sequence classifier for it: `architecture` gives it the defaults (unfused; model.source reads its inputs from its
tokenizer and forward signature), and its coverage line says so.

Fusion: onnxruntime.transformers' "bert" optimizer fuses the self-attention of BERT, RoBERTa, DistilBERT, ALBERT,
ELECTRA and ERNIE graphs (measured on tiny exports with ORT 1.32); it finds no attention block in DeBERTa-v2's
disentangled attention, MPNet's relative position bias or ModernBERT's rotary attention, so those export unfused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

GENERIC_NOTE = "generic path, no fusion"
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")  # the order every exporter traces
BERT_TOKENIZER = ("tokenizer.json", "vocab.txt")
BPE_TOKENIZER = ("tokenizer.json", "vocab.json")
SENTENCEPIECE_TOKENIZER = ("tokenizer.json", "sentencepiece.bpe.model", "spm.model", "spiece.model")
# Any tokenizer transformers can load: what a model type without a spec may carry.
ANY_TOKENIZER = tuple(dict.fromkeys(BERT_TOKENIZER + BPE_TOKENIZER + SENTENCEPIECE_TOKENIZER + ("tokenizer.model",)))


@dataclass(frozen=True)
class ArchitectureSpec:
    model_type: str  # as config.json names it
    loads_as: str  # the transformers model_type it is built as (ModelScope's structbert is BERT)
    token_type_ids: bool  # a model input (single-segment texts: all zero, as the model was trained)
    fusion: str | None  # onnxruntime.transformers.optimizer model_type; None: exported unfused
    tokenizer_files: tuple[str, ...] = BERT_TOKENIZER  # any one of them makes a loadable tokenizer
    positions_after_padding: bool = False  # RoBERTa family: position ids start after pad_token_id
    tokenizer_class: str | None = None  # a transformers class to load the tokenizer with instead of AutoTokenizer
    shared_layers: bool = False  # ALBERT: num_hidden_groups layers of weights serve num_hidden_layers layers
    # Module scopes (regular expressions) of the feed-forward MatMuls in the exported graph, whose node names keep
    # them: the known int8 sensitivity (activation outliers), the layers the int8 ladder keeps in fp32 first
    # (convert.quantize). An attention block's output projection is excluded by name.
    ffn_input: str = "/intermediate/dense/"
    ffn_output: str = "/output/dense/"
    # Pattern of node names ONNX fp16 keeps in fp32: the known fp16 sensitivity, measured on a ridge-fitted tiny model.
    fp16_keep_fp32: str = ""
    size_names: Mapping[str, str] = field(default_factory=dict)  # config.json's own names for BERT's size fields
    registered: bool = True  # False: the generic path (no spec for this model_type)

    def input_names(self, candidates: tuple[str, ...] | None = None) -> list[str]:
        """The model inputs in export order; `candidates` (generic path) are the ones its tokenizer and forward take."""
        if candidates is not None:
            return [n for n in INPUT_ORDER if n in candidates]
        return [n for n in INPUT_ORDER if self.token_type_ids or n != "token_type_ids"]

    def sizes(self, **bert_names: int) -> dict[str, int]:
        """Size fields under this architecture's config.json names (given under BERT's)."""
        return {self.size_names.get(name, name): value for name, value in bert_names.items()}

    @property
    def coverage(self) -> str:
        """One line for the manifest and the CLI: registered, and how it is fused."""
        if not self.registered:
            return GENERIC_NOTE
        return f"registered, ORT fusion {self.fusion}" if self.fusion else "registered, no ORT fusion for it"


REGISTRY: dict[str, ArchitectureSpec] = {
    spec.model_type: spec
    for spec in (
        ArchitectureSpec("bert", "bert", True, "bert"),
        # ModelScope StructBERT: a model_type transformers does not know, built as BERT after its weight keys are
        # mapped (model.source); its tokenizer_config names the slow class
        ArchitectureSpec("structbert", "bert", True, "bert", tokenizer_class="BertTokenizerFast"),
        ArchitectureSpec("roberta", "roberta", False, "bert", BPE_TOKENIZER, positions_after_padding=True),
        ArchitectureSpec("xlm-roberta", "xlm-roberta", False, "bert", SENTENCEPIECE_TOKENIZER + BPE_TOKENIZER,
                         positions_after_padding=True),
        ArchitectureSpec("camembert", "camembert", False, "bert", SENTENCEPIECE_TOKENIZER + BPE_TOKENIZER,
                         positions_after_padding=True),
        ArchitectureSpec("distilbert", "distilbert", False, "bert", ffn_input="/ffn/lin1/", ffn_output="/ffn/lin2/",
                         size_names={"hidden_size": "dim", "num_hidden_layers": "n_layers",
                                     "num_attention_heads": "n_heads", "intermediate_size": "hidden_dim"}),
        ArchitectureSpec("albert", "albert", True, "bert", SENTENCEPIECE_TOKENIZER + BERT_TOKENIZER, shared_layers=True,
                         ffn_input=r"/ffn(_\d+)?/MatMul", ffn_output=r"/ffn_output(_\d+)?/MatMul"),  # _1: layer reused
        ArchitectureSpec("electra", "electra", True, "bert"),
        ArchitectureSpec("ernie", "ernie", True, "bert"),
        # disentangled attention: ORT's bert fusion finds no attention block; no token types (type_vocab_size 0)
        ArchitectureSpec("deberta-v2", "deberta-v2", False, None, SENTENCEPIECE_TOKENIZER + BERT_TOKENIZER),
        # relative position bias: ORT's bert fusion finds no attention block. Its buckets (a log of distances cast to
        # an index) shift in fp16: min cosine 0.99928 (profile >= 0.9999); kept fp32: 0.999998, max |dp| 0.0057 -> 0.0007
        ArchitectureSpec("mpnet", "mpnet", False, None, positions_after_padding=True, fp16_keep_fp32=r"/encoder/(?!layer\.)"),
        # rotary attention: ORT's bert fusion finds no attention block
        ArchitectureSpec("modernbert", "modernbert", False, None, ANY_TOKENIZER, ffn_input="/mlp/Wi/", ffn_output="/mlp/Wo/"),
    )
}


def architecture(model_type: str) -> ArchitectureSpec:
    """The spec of `model_type`, or the generic one (unfused, BERT module names) for a type without a spec."""
    spec = REGISTRY.get(model_type)
    return spec if spec is not None else ArchitectureSpec(model_type, model_type, True, None, ANY_TOKENIZER,
                                                         registered=False)


def ffn_scopes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Every declared feed-forward scope, (input, output), as one pattern each: module names are distinctive enough
    to match them all at once (a graph does not say its architecture)."""
    specs = REGISTRY.values()
    return (re.compile("|".join(dict.fromkeys(spec.ffn_input for spec in specs))),
            re.compile("|".join(dict.fromkeys(spec.ffn_output for spec in specs))))
