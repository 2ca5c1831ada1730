"""Probe points: the layer outputs doctor compares, named by the source model's own modules, and where each one is in
an exported ONNX graph.

Every LayerNorm of a transformer encoder closes a block — the embeddings, each layer's attention, each layer's
feed-forward (the layer's output) — so LayerNorm outputs are the layer boundaries of BERT, RoBERTa, StructBERT,
XLM-R and DistilBERT alike; the pooler's activation and the logits follow. The ONNX exporter keeps module scopes in
node names (`/model/bert/encoder/layer.3/output/LayerNorm/LayerNormalization`), through ORT fusion, fp16 conversion
and quantization; the embeddings LayerNorm that ORT fuses into EmbedLayerNormalization is found by that op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LOGITS = "logits"
_LAYER = re.compile(r"\.(?:layer|layers)\.(\d+)\.")
_EMBED_OPS = ("EmbedLayerNormalization", "QEmbedLayerNormalization")
# Nodes that only re-encode a tensor (quantize it for the next MatMul, cast it): never the block's own output.
_RE_ENCODING = ("DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "Cast")
ADAPTER_SCOPE = "model"  # the LogitsOnly adapter's attribute that holds the source model, the first scope of every node


@dataclass(frozen=True)
class Probe:
    module: str  # the source model's module name, or "logits"
    role: str  # embeddings | attention | feed-forward | pooler | logits
    layer: int | None  # encoder layer index, None outside the layers

    @property
    def label(self) -> str:
        if self.module == LOGITS:
            return "output (probabilities)"
        return self.role if self.layer is None else f"layer {self.layer} {self.role}"


def _role(module: str) -> tuple[str, int | None]:
    found = _LAYER.search(module)
    layer = int(found.group(1)) if found else None
    if "embeddings" in module:
        return "embeddings", None
    if "pooler" in module:
        return "pooler", None
    if layer is not None and ("attention" in module or "sa_layer_norm" in module):
        return "attention", layer
    if layer is not None:
        return "feed-forward", layer
    return "layer-norm", None


def probes(model: Any) -> list[Probe]:
    """The probe points of a source model in forward order: every LayerNorm, the pooler's activation, the logits."""
    import torch

    found = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm) or (name.endswith("pooler.activation")):
            found.append(Probe(name, *_role(name)))
    return [*found, Probe(LOGITS, LOGITS, None)]


def onnx_scope(module: str) -> str:
    """The node-name prefix the ONNX exporter gives `module`'s nodes: attribute names joined by '/', a ModuleList
    index kept with its list (`layer.3`), under the adapter's scope."""
    parts: list[str] = []
    for part in module.split("."):
        if part.isdigit() and parts:
            parts[-1] += f".{part}"
        else:
            parts.append(part)
    return "/" + "/".join([ADAPTER_SCOPE, *parts]) + "/"


def onnx_tensors(graph: Any, wanted: list[Probe]) -> dict[str, str]:
    """Probe module → the name of the tensor that holds its output in `graph` (probes not found are left out)."""
    outputs = {output.name for output in graph.output}
    found: dict[str, str] = {}
    for probe in wanted:
        if probe.module == LOGITS:
            found[probe.module] = next(iter(outputs))
            continue
        scope = onnx_scope(probe.module)
        inside = [node for node in graph.node if node.name.startswith(scope) and node.op_type not in _RE_ENCODING]
        if inside:
            found[probe.module] = inside[-1].output[0]
        elif probe.role == "embeddings":
            fused = [node for node in graph.node if node.op_type in _EMBED_OPS]
            if fused:
                found[probe.module] = fused[0].output[0]
    return found


# Ops that compute (not reshape, cast or re-scale): where precision is lost, and what a keep-in-fp32 list names.
COMPUTE_OPS = ("MatMul", "MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul", "Gemm", "QGemm", "Gather", "Attention", "QAttention", "MultiHeadAttention",
               "LayerNormalization", "SkipLayerNormalization", "Softmax", "Gelu", "BiasGelu", "FastGelu", "Erf", "Tanh",
               "Pow", "ReduceMean", "Sqrt", "Div", "EmbedLayerNormalization", "QEmbedLayerNormalization")
_BLOCK_SCOPES = {"attention": ("attention/",), "feed-forward": ("intermediate/", "output/", "ffn/", "output_layer_norm/")}


def nodes_in(graph: Any, probe: Probe) -> list[tuple[str, str]]:
    """(op type, node name) of the computing nodes of the block `probe` closes — a layer's attention or its
    feed-forward, else the module's own scope: the suspects when it is the first block past the budget."""
    if probe.module == LOGITS:  # the classification head (RoBERTa's has its own dense layer, DistilBERT a pre-classifier)
        scopes: tuple[str, ...] = (onnx_scope("classifier"), onnx_scope("pre_classifier"))
    elif probe.layer is None:
        scopes = (onnx_scope(probe.module).rsplit("/", 2)[0] + "/",)
    else:
        layer = onnx_scope(probe.module.split(f".{probe.layer}.")[0] + f".{probe.layer}")
        scopes = tuple(layer + part for part in _BLOCK_SCOPES.get(probe.role, ("",)))
    return [(node.op_type, node.name) for node in graph.node
            if node.name.startswith(scopes) and node.op_type in COMPUTE_OPS]
