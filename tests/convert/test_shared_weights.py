"""Static ONNX buckets store their weights once: every bucket graph of a precision reads one external-data file that the
manifest lists and hashes, and ONNX Runtime loads each bucket from it."""

from __future__ import annotations

import shutil

import onnx
import pytest

from npuport.core.errors import IntegrityError
from npuport.runtime import load

GRAPH_BYTES = 100_000  # a tiny bucket graph without its weights (nodes + inferred shapes) is ~67 kB
TEXTS = ["I am so happy today!", "This is the worst day of my life, and it keeps getting worse."]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_static_buckets_share_one_weights_file(converted, precision):  # type: ignore[no-untyped-def]
    result = converted("bert")
    static, dynamic = result.manifest.variant(f"onnx-{precision}-static"), result.manifest.variant(f"onnx-{precision}-dynamic")
    assert static.weights is not None and static.weights.path == f"onnx/{precision}-static.onnx.data"
    assert static.weights in result.manifest.all_files([static])  # hashed by load, package and verify
    layouts = []
    for record in static.files:
        graph = onnx.load(str(result.root / record.path), load_external_data=False)
        external = [(t.name, {e.key: e.value for e in t.external_data}) for t in graph.graph.initializer if t.external_data]
        assert external and {info["location"] for _, info in external} == {f"{precision}-static.onnx.data"}
        layouts.append(external)
    assert all(layout == layouts[0] for layout in layouts)  # same tensors at the same offsets: one file serves all
    on_disk = sum((result.root / r.path).stat().st_size for r in static.records)
    assert on_disk == static.load_bytes
    assert static.weights.bytes <= 1.1 * dynamic.load_bytes
    assert on_disk <= 1.1 * dynamic.load_bytes + len(static.files) * GRAPH_BYTES  # was one full copy per bucket


def test_each_bucket_loads_from_the_shared_weights_and_a_changed_weights_file_is_refused(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = converted("bert").root
    with load(root, "onnx-fp32-dynamic") as dynamic, load(root, "onnx-fp32-static") as static:
        for want, got in zip(dynamic.predict(TEXTS), static.predict(TEXTS)):
            assert got.scores == pytest.approx(want.scores, abs=1e-4)
    copy = tmp_path / "bert"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("reports", "torchscript"))
    weights = copy / "onnx" / "fp32-static.onnx.data"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="onnx/fp32-static.onnx.data does not match the manifest"):
        load(copy, "onnx-fp32-static")
