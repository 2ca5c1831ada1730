"""Where ONNX Runtime ran an accelerator session's nodes, from the session's own record of its graph partitioning.

`InferenceSession.get_providers()` lists the providers registered for a session, not where its nodes went: a CANN
session whose every node fell to the CPU lists CANNExecutionProvider first all the same. ONNX Runtime 1.24 records the
assignment when asked (session config `session.record_ep_graph_assignment_info`, read back with
`get_provider_graph_assignment_info()`; microsoft/onnxruntime#26781): one entry per subgraph a provider took, with
its nodes. A compiling provider (CANN in graph mode) takes partitions; a kernel provider (CPU, CUDA) node by node.
Known gap: nodes that ORT's InsertCastTransformer moves to the CPU after partitioning (fp16 ops no provider claimed)
are missing from the record before microsoft/onnxruntime#28268, so a count of CPU ops on an fp16 graph is a floor.

Recording is asked for accelerator sessions only: CPU sessions are built as before. The same reading works on any
session, which is how it is tested here (on the CPU provider; there is no CANN here).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from npuport.core.manifest import Placement

RECORD = "session.record_ep_graph_assignment_info"


def placement_of(session: Any, file: str, provider: str) -> Placement | None:
    """How many nodes and partitions `provider` took in `session` and which ops stayed elsewhere (the CPU); None where
    this onnxruntime keeps no record (before 1.24, or recording was not asked for)."""
    read = getattr(session, "get_provider_graph_assignment_info", None)
    try:
        subgraphs = read() if read is not None else []
    except Exception:  # recording was not asked for: ORT refuses ('… must be set to "1" …')
        return None
    if not subgraphs:
        return None
    took = [subgraph for subgraph in subgraphs if subgraph.ep_name == provider]
    elsewhere = Counter(node.op_type for subgraph in subgraphs if subgraph.ep_name != provider for node in subgraph.get_nodes())
    return Placement(file=file, provider=provider, nodes=sum(len(subgraph.get_nodes()) for subgraph in took),
                     partitions=len(took), cpu_ops=dict(elsewhere))
