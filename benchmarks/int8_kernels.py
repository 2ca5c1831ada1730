"""Which ONNX Runtime int8 kernel each weights' scheme runs on this CPU class, how fast, and whether it is exact.

    python benchmarks/int8_kernels.py [--m 2048 --k 768 --n 3072] [--rounds 15] [--threads 2] [--exact-only]
    qemu-x86_64 -cpu EPYC-Rome .venv/bin/python benchmarks/int8_kernels.py --exact-only   # an AVX2-only CPU model

Speed: one RoBERTa-base feed-forward matmul (16 texts x 128 tokens = 2048 rows, 768 → 3072) as fp32 `MatMul` and as
npuport's own dynamic quantization of it in each scheme (`convert.quantize.quantize_dynamic_int8`, the path convert
and tune run), median of `--rounds` calls, all in one process, interleaved. Exactness: `MatMulInteger` on the
worst-case operands of each scheme (activations 255, weights at the scheme's extremes) and on random ones, against
numpy's int64 product: a non-zero difference is VPMADDUBSW's 16-bit pair sums saturating. The kernel column is the
MLAS dispatch this class gets (core.int8's table, read from onnxruntime/core/mlas/lib/platform.cpp); MLAS chooses it
from CPUID alone, so the AVX2 rows come from QEMU's EPYC-Rome model (exactness only: emulated speed means nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from rich.console import Console
from rich.table import Table

from npuport.convert.quantize import quantize_dynamic_int8
from npuport.core.devices import cpu_class
from npuport.core.int8 import SCHEMES, VNNI_CLASSES

KERNELS = {  # (class kind, weights dtype) → MLAS kernel (platform.cpp)
    ("vnni", "uint8"): "MlasGemmU8U8KernelAvx512Core (vpmovzxbw + vpmaddwd)",
    ("vnni", "int8"): "MlasGemmU8S8KernelAvx512Vnni (vpdpbusds)",
    ("amx", "uint8"): "MlasGemmU8U8KernelAvx512Core (vpmovzxbw + vpmaddwd)",
    ("amx", "int8"): "MlasGemmU8S8DispatchAmx (tdpbusd)",
    ("avx512", "uint8"): "MlasGemmU8U8KernelAvx512Core",
    ("avx512", "int8"): "MlasGemmU8S8KernelAvx512Core (vpmaddubsw: 16-bit pair sums)",
    ("avx2", "uint8"): "MlasGemmU8U8KernelAvx2 (vpmovzxbw + vpmaddwd)",
    ("avx2", "int8"): "MlasGemmU8S8KernelAvx2 (vpmaddubsw: 16-bit pair sums)",
}


def kind_of(name: str) -> str:
    if name == "x86-64-amx":
        return "amx"
    if name in VNNI_CLASSES:
        return "vnni"
    return "avx512" if name == "x86-64-avx512" else "avx2"


def matmul_model(path: Path, k: int, n: int, rng: np.random.Generator) -> None:
    weight = numpy_helper.from_array((rng.standard_normal((k, n)) * 0.05).astype(np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="ffn/MatMul")], "ffn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def integer_model(weights_dtype: int) -> bytes:
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "mmi",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, ["m", "k"]),
                               helper.make_tensor_value_info("b", weights_dtype, ["k", "n"])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, ["m", "n"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def exactness(scheme: str, rng: np.random.Generator) -> tuple[int, int]:
    """Max |ORT - exact| of MatMulInteger on worst-case and on random operands of the scheme."""
    spec = SCHEMES[scheme]
    if spec.weights == "uint8":
        low, high, dtype, proto = 0, 255, np.uint8, TensorProto.UINT8
    else:
        (low, high), dtype, proto = (-64, 63) if spec.reduce_range else (-128, 127), np.int8, TensorProto.INT8
    sess = ort.InferenceSession(integer_model(proto), providers=["CPUExecutionProvider"])
    errors = []
    for a, b in (
        (np.full((64, 256), 255, np.uint8), np.full((256, 64), high, dtype)),
        (np.full((64, 256), 255, np.uint8), np.full((256, 64), low, dtype)),
        (rng.integers(0, 256, (256, 768), dtype=np.uint8), rng.integers(low, high + 1, (768, 256)).astype(dtype)),
    ):
        got = sess.run(None, {"a": a, "b": b})[0].astype(np.int64)
        errors.append(int(np.abs(got - a.astype(np.int64) @ b.astype(np.int64)).max()))
    return max(errors[:2]), errors[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=2048)
    parser.add_argument("--k", type=int, default=768)
    parser.add_argument("--n", type=int, default=3072)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--exact-only", action="store_true", help="skip the timing (for emulated CPU models)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    name = cpu_class().name
    timings: dict[str, list[float]] = {}
    if not args.exact_only:
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            matmul_model(fp32, args.k, args.n, rng)
            sessions = {"fp32": session(fp32, args.threads)}
            for scheme in SCHEMES:
                quantize_dynamic_int8(fp32, Path(tmp) / f"{scheme}.onnx", [], scheme)
                sessions[scheme] = session(Path(tmp) / f"{scheme}.onnx", args.threads)
            x = rng.standard_normal((args.m, args.k)).astype(np.float32)
            for sess in sessions.values():
                sess.run(None, {"x": x})
            for _ in range(args.rounds):  # interleaved: every scheme sees the same machine load
                for label, sess in sessions.items():
                    started = time.perf_counter()
                    sess.run(None, {"x": x})
                    timings.setdefault(label, []).append(time.perf_counter() - started)
    table = Table(title=f"ONNX Runtime {ort.__version__} int8 kernels on {name} ({args.threads} threads; "
                        f"{args.m}x{args.k} @ {args.k}x{args.n}; load {os.getloadavg()[0]:.2f})")
    for column in ("weights scheme", "ORT op", "MLAS kernel on this class", "ms (median)", "× fp32 MatMul",
                   "max |Δ| worst case", "max |Δ| random", "exact here"):
        table.add_column(column)
    base = statistics.median(timings["fp32"]) if timings else None
    if base is not None:
        table.add_row("fp32 (no quantization)", "MatMul", "MlasGemmFloatKernel", f"{base * 1e3:.2f}", "1.00", "-", "-", "-")
    for scheme, spec in SCHEMES.items():
        worst, random = exactness(scheme, rng)
        median = statistics.median(timings[scheme]) if timings else None
        table.add_row(f"{scheme} ({'U8U8' if spec.weights == 'uint8' else 'U8S8'}"
                      f"{', 7-bit' if spec.reduce_range else ''})", "DynamicQuantizeLinear + MatMulInteger",
                      KERNELS[(kind_of(name), spec.weights)],
                      "-" if median is None else f"{median * 1e3:.2f}",
                      "-" if median is None or base is None else f"{base / median:.2f}",
                      str(worst), str(random), "yes" if worst == random == 0 else "NO")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
