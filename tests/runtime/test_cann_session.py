"""A CANN session gets its precision, fallback and compile-cache settings from the variant, and says where it ran.

There is no CANN here, so the Ascend side is a stand-in at the thinnest boundary, `onnxruntime.InferenceSession`: it
records what npuport asked ONNX Runtime for and computes with the real CPU provider; its placement record is the real
CPU session's, partitioned the way the CANN provider's graph mode partitions (cann_graph.cc, SupportONNXModel: a node
outside the ONNX domain or its op list, here LayerNormalization and the contrib ops of fused graphs, splits the graph and
runs on the CPU; test_cann_options reads that list from the real provider library). Nothing here ran on Ascend hardware.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError, InputError
from npuport.runtime import cann, load
from npuport.runtime.ort_runner import plan_session
from npuport.runtime.placement import RECORD, placement_of

REAL_SESSION = ort.InferenceSession
OUTSIDE_GRAPH_MODE = {"LayerNormalization"}
CANN_AND_CPU = ["CANNExecutionProvider", "CPUExecutionProvider"]


@dataclass
class Subgraph:
    ep_name: str
    nodes: list[Any]

    def get_nodes(self) -> list[Any]:
        return self.nodes


class StandInCannSession:
    """What onnxruntime-cann's InferenceSession would be on an NPU, as far as npuport can tell from outside."""

    made: list[StandInCannSession] = []
    refuse: str | None = None  # an error text the provider would raise for an option it does not know
    takes_nothing = False

    def __init__(self, source: str | bytes, sess_options: Any = None, providers: Any = None, **kwargs: Any) -> None:
        options = dict(providers[0][1])
        if self.refuse and self.refuse in options:
            raise RuntimeError(f'cann_execution_provider_info.cc: Unknown provider option: "{self.refuse}".')
        self.source, self.providers, self.kwargs, self.cwd = source, providers, kwargs, os.getcwd()
        self.recording = sess_options.get_session_config_entry(RECORD)
        disabled = kwargs.get("disabled_optimizers")
        self._real = REAL_SESSION(source, sess_options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled)
        self.runs: list[tuple[tuple[int, ...], str]] = []
        StandInCannSession.made.append(self)

    def get_providers(self) -> list[str]:
        return [name for name, _ in self.providers]

    def get_inputs(self) -> Any:
        return self._real.get_inputs()

    def get_outputs(self) -> Any:
        return self._real.get_outputs()

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> Any:
        self.runs.append((next(iter(feed.values())).shape, os.getcwd()))
        return self._real.run(names, feed)

    def get_provider_graph_assignment_info(self) -> list[Subgraph]:
        partitions: list[Subgraph] = []
        for subgraph in self._real.get_provider_graph_assignment_info():
            for node in subgraph.get_nodes():
                outside = self.takes_nothing or node.op_type in OUTSIDE_GRAPH_MODE or node.domain not in ("", "ai.onnx")
                if outside:
                    partitions.append(Subgraph("CPUExecutionProvider", [node]))
                elif partitions and partitions[-1].ep_name == cann.PROVIDER:
                    partitions[-1].nodes.append(node)
                else:
                    partitions.append(Subgraph(cann.PROVIDER, [node]))
        return partitions


@pytest.fixture
def bert(converted: Any) -> Any:
    return converted("bert")  # converted before the stand-in replaces ONNX Runtime's session


@pytest.fixture
def ascend(bert: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """onnxruntime-cann 1.24.4 as seen through the stand-in; the cache in tmp_path/cache, the process in tmp_path/work."""
    monkeypatch.setattr(StandInCannSession, "made", [])
    monkeypatch.setattr(ort, "InferenceSession", StandInCannSession)
    monkeypatch.setattr(ort, "get_available_providers", lambda: CANN_AND_CPU)
    monkeypatch.setattr(ort, "__version__", "1.24.4")
    monkeypatch.setenv(cann.CACHE_ENV, str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_a_cann_session_keeps_the_variants_dtypes_never_falls_back_and_compiles_in_its_own_cache(ascend, bert):
    result = bert
    variant = result.manifest.variant("onnx-fp32-static")
    with pytest.warns(UserWarning, match="on the CPU: LayerNormalization×.*npuport convert --opset 16"):
        classifier = load(result.root, variant.id, device="npu")
    sessions = StandInCannSession.made
    assert len(sessions) == len(variant.buckets)
    compile_dir = cann.compile_dir(variant.digest, sessions[0].providers[0][1], "1.24.4")
    assert compile_dir.parent == ascend.parent / "cache" / "cann" and compile_dir.name.startswith(variant.digest[:24])
    for session in sessions:
        assert session.providers[0] == (cann.PROVIDER, {"device_id": "0", "enable_cann_graph": "1", "dump_om_model": "1",
                                                        "precision_mode": "must_keep_origin_dtype"})
        assert session.kwargs["enable_fallback"] == 0 and session.recording == "1"
        assert session.cwd == str(compile_dir) and Path(session.source).is_absolute()
        assert [cwd for _, cwd in session.runs] == [str(compile_dir)]  # each bucket compiled while loading, in the cache
    assert os.getcwd() == str(ascend)

    platform = classifier.platform
    assert platform.precision_mode == "precision_mode=must_keep_origin_dtype"
    assert [p.file for p in platform.placement] == [Path(f.path).name for f in variant.files if f.bucket]
    graph = onnx.load(str(result.root / variant.files[0].path), load_external_data=False)
    layernorms = sum(node.op_type == "LayerNormalization" for node in graph.graph.node)
    for placed in platform.placement:
        assert placed.provider == cann.PROVIDER and placed.cpu_ops == {"LayerNormalization": layernorms}
        assert placed.partitions == layernorms + 1 and placed.nodes > 10 * layernorms
    assert "CANNExecutionProvider ran" in platform.describe() and "precision_mode=must_keep_origin_dtype" in platform.describe()

    classifier.predict(["一个测试", "another test"])  # a compiled shape: runs where the process is, not in the cache
    assert {cwd for session in sessions for _, cwd in session.runs[1:]} <= {str(ascend)}
    assert sum(len(session.runs) for session in sessions) > len(sessions)
    classifier.close()


def test_a_dynamic_variant_compiles_each_new_shape_in_the_cache_and_only_once(ascend, bert):
    result = bert
    with pytest.warns(UserWarning, match="on the CPU"):  # a fused graph: its contrib ops are outside graph mode
        classifier = load(result.root, "onnx-fp32-dynamic", device="npu")
    (session,) = StandInCannSession.made
    assert session.runs == []  # no shape is known before a call
    for texts in (["short"], ["short"], ["a longer text than the first", "two"]):
        classifier.predict(texts)
    compile_dir = str(cann.compile_dir(classifier.variant.digest, session.providers[0][1], "1.24.4"))
    seen: set[tuple[int, ...]] = set()
    for shape, cwd in session.runs:
        assert cwd == (str(ascend) if shape in seen else compile_dir), (shape, cwd)
        seen.add(shape)
    assert 1 < len(seen) < len(session.runs)
    classifier.close()


def test_a_cann_session_that_took_no_node_or_could_not_be_built_is_an_error_not_a_cpu_run(ascend, bert, monkeypatch):
    root = bert.root
    monkeypatch.setattr(StandInCannSession, "takes_nothing", True)
    with pytest.raises(BackendUnavailableError, match=r"CANNExecutionProvider took no node of .*refusing to call that a run on npu:0"):
        load(root, "onnx-fp32-static", device="npu")
    monkeypatch.setattr(StandInCannSession, "refuse", "device_id")
    with pytest.raises(BackendUnavailableError, match=r"could not build a CANNExecutionProvider session \(its CPU fallback is off\)"
                                                      r".*Unknown provider option"):
        load(root, "onnx-fp32-static", device="npu")
    assert os.getcwd() == str(ascend)


def test_a_provider_newer_than_1_24_4_is_asked_with_the_renamed_option_then_the_old_name(ascend, bert, monkeypatch):
    plan = plan_session(Device("npu", 1), "fp16", "cd" * 32, CANN_AND_CPU, "1.25.0")
    assert plan.providers[0][1] == {"device_id": "1", "enable_cann_graph": "1", "dump_om_model": "1", "precision_mode_v2": "origin"}
    monkeypatch.setattr(ort, "__version__", "1.25.0")
    monkeypatch.setattr(StandInCannSession, "refuse", "precision_mode_v2")
    with pytest.warns(UserWarning):
        classifier = load(bert.root, "onnx-fp16-static", device="npu")
    assert {s.providers[0][1].get("precision_mode") for s in StandInCannSession.made} == {"must_keep_origin_dtype"}
    assert classifier.platform.precision_mode == "precision_mode=must_keep_origin_dtype"
    classifier.close()


def test_plans_on_the_cpu_are_what_they_always_were_and_accelerators_keep_no_fallback():
    assert plan_session(Device("cpu"), "fp32", "", ["CPUExecutionProvider"], "1.24.4").__dict__ == {
        "providers": [("CPUExecutionProvider", {})], "config": {}, "kwargs": {}, "compile_dir": None, "precision_mode": None}
    cuda = plan_session(Device("cuda"), "fp16", "", ["CUDAExecutionProvider", "CPUExecutionProvider"], "1.24.4")
    assert cuda.kwargs == {"enable_fallback": 0} and cuda.config == {RECORD: "1"} and cuda.compile_dir is None
    first, other = (plan_session(Device("npu"), "fp32", digest, CANN_AND_CPU, "1.24.4") for digest in ("a" * 64, "b" * 64))
    assert first.compile_dir != other.compile_dir  # a re-converted model never finds the old compile
    assert {plan_session(Device("npu"), p, "a" * 64, CANN_AND_CPU, "1.24.4").precision_mode for p in cann.PRECISIONS} == {
        "precision_mode=must_keep_origin_dtype"}
    with pytest.raises(InputError, match="no CANN precision setting for a 'fp8' variant"):
        plan_session(Device("npu"), "fp8", "a" * 64, CANN_AND_CPU, "1.24.4")
    assert cann.provider_version("1.25.0.dev20260501") == (1, 25, 0) and cann.provider_version("1.24.4+cann") == (1, 24, 4)


def test_placement_is_read_from_the_sessions_own_record_here_on_the_cpu_provider(tmp_path):
    """The mechanism without any stand-in: ONNX Runtime's record of a real CPU session."""
    helper = onnx.helper
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("LayerNormalization", ["h", "scale", "bias"], ["y"], axis=-1)]
    weights = [onnx.numpy_helper.from_array(np.ones(shape, np.float32), name) for name, shape in
               (("w", (4, 4)), ("scale", (4,)), ("bias", (4,)))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 4])], weights)
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    options = ort.SessionOptions()
    assert placement_of(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), "g.onnx", "x") is None
    options.add_session_config_entry(RECORD, "1")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    on_cpu = placement_of(session, "g.onnx", "CPUExecutionProvider")
    assert on_cpu is not None and (on_cpu.nodes, on_cpu.partitions, on_cpu.cpu_ops) == (2, 2, {})
    seen_from_cann = placement_of(session, "g.onnx", cann.PROVIDER)
    assert seen_from_cann is not None and (seen_from_cann.nodes, seen_from_cann.partitions) == (0, 0)
    assert seen_from_cann.cpu_ops == {"MatMul": 1, "LayerNormalization": 1}
