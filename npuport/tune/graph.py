"""Which nodes of a candidate compute in the target precision, what their weights weigh, and which block doctor's
layer errors say to keep in fp32 next: the ONNX graph reading of the search."""

from __future__ import annotations

import numpy as np

from npuport.doctor.diagnosis import LayerError
from npuport.doctor.probes import LOGITS

KEEPABLE = {"int8": ("MatMul", "Gemm", "Gather"),
            "fp16": ("MatMul", "Gemm", "Gather", "Attention", "MultiHeadAttention", "LayerNormalization", "SkipLayerNormalization",
                     "Softmax", "Gelu", "BiasGelu", "FastGelu", "Erf", "Tanh", "Pow", "ReduceMean", "Sqrt", "Div",
                     "EmbedLayerNormalization")}


def next_block(layers: list[LayerError], side: object, precision: str, kept: list[str]) -> tuple[str, list[str]] | None:
    """The nodes to keep in fp32 next: those of the first block past the budget that are still in `precision`, else of
    the block that adds the most relative error to what it receives; None when nothing is left to keep. A node whose
    weights are more than HEAVY of the model's (the word embeddings of a small encoder: half of MiniLM) waits until no
    lighter node is left: keeping it in fp32 would undo most of what the precision saves."""
    graph = side.graph  # type: ignore[attr-defined]
    lowered = _lowered(graph, precision)
    weight_bytes = _weight_bytes(graph)
    limit = HEAVY * (sum(weight_bytes.values()) or 1)
    added = {layer.probe.module: layer.max_rel_error - (before.max_rel_error if before else 0.0)
             for before, layer in zip([None, *layers[:-1]], layers)}

    def fresh(layer: LayerError, light: bool) -> list[str]:
        names = (_base_name(name) for op, name in side.suspects(layer.probe))  # type: ignore[attr-defined]
        return list(dict.fromkeys(name for name in names if name in lowered and name not in kept
                                  and (not light or weight_bytes.get(name, 0) <= limit)))

    for light in (True, False):
        candidates = [layer for layer in layers if layer.past_budget and fresh(layer, light) and layer.probe.module != LOGITS]
        if not candidates:
            candidates = sorted((layer for layer in layers if fresh(layer, light)), key=lambda layer: -added[layer.probe.module])
        if candidates:
            return candidates[0].probe.label, fresh(candidates[0], light)
    return None


HEAVY = 0.25  # share of the model's weight bytes above which a block is kept in fp32 only when nothing lighter is left


def _weight_bytes(graph: object) -> dict[str, int]:
    """Bytes of the constant inputs of each node (by its name in the fp32 graph)."""
    sizes = {init.name: len(init.raw_data) or 4 * int(np.prod(init.dims))
             for init in graph.initializer}  # type: ignore[attr-defined]
    producers = {output: node for node in graph.node for output in node.output}  # type: ignore[attr-defined]

    def constant(name: str) -> int:  # a weight, or a weight behind its DequantizeLinear
        if name in sizes:
            return sizes[name]
        node = producers.get(name)
        return sizes.get(node.input[0], 0) if node is not None and node.op_type == "DequantizeLinear" else 0

    return {_base_name(node.name): sum(constant(i) for i in node.input) for node in graph.node}  # type: ignore[attr-defined]


INTEGER_OPS = ("MatMulInteger", "DynamicQuantizeMatMul", "QLinearMatMul", "QGemm", "QAttention", "QEmbedLayerNormalization")
QUANT_SUFFIX = "_quant"  # ONNX Runtime's dynamic quantizer names a quantized node after the one it replaces


def _base_name(name: str) -> str:
    return name.removesuffix(QUANT_SUFFIX)


def _lowered(graph: object, precision: str) -> set[str]:
    """Names (as in the fp32 graph) of the nodes that compute in `precision` in this candidate: for int8 the quantized
    ones (an integer kernel, or a weighted op fed by DequantizeLinear / integer weights), for fp16 every weighted or
    normalising op that is there."""
    nodes = graph.node  # type: ignore[attr-defined]
    if precision != "int8":
        return {node.name for node in nodes if node.op_type in KEEPABLE[precision]}
    producers = {output: node.op_type for node in nodes for output in node.output}
    integer = {init.name for init in graph.initializer if init.data_type in (2, 3)}  # type: ignore[attr-defined]  # uint8, int8
    return {_base_name(node.name) for node in nodes
            if node.op_type in INTEGER_OPS or (node.op_type in KEEPABLE["int8"] and any(
                producers.get(i) == "DequantizeLinear" or i in integer for i in node.input))}


def weighted_nodes(side: object, precision: str) -> int:
    """How many nodes of the candidate still compute in `precision`: tune stops before it would keep them all."""
    return len(_lowered(side.graph, precision))  # type: ignore[attr-defined]
