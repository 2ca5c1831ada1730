"""The option names npuport passes to the CANN execution provider are the ones the real provider reads.

The library is `libonnxruntime_providers_cann.so` from the onnxruntime-cann 1.24.4 wheel, which `make install` fetches
(pip download --no-deps) into the venv; nothing of it runs here (it needs Ascend's CANN). Its option names cannot be
read with `strings` alone: `precision_mode` has no string of its own (the linker merged it into the tail of GE's
"ge.exec.precision_mode"), so `strings` would also "find" a `precision_mode_v2` the provider does not read. What is
read instead is exactly what `CANNExecutionProviderInfo::FromProviderOptions` hands its option parser: every C string
the function loads by a RIP-relative `lea` (x86-64), from the library's own symbol table and sections.
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

import pytest

from npuport.core.devices import Device
from npuport.runtime import cann
from npuport.runtime.ort_runner import plan_session

LIBRARY = Path(sys.prefix) / "vendor" / "onnxruntime-cann-1.24.4" / "libonnxruntime_providers_cann.so"
LEA_RIP = re.compile(rb"[\x48\x4c]\x8d[\x05\x0d\x15\x1d\x25\x2d\x35\x3d]")  # lea disp32(%rip), %r64


def strings_loaded_by(library: bytes, function: bytes, pattern: bytes = rb"[a-z][a-z0-9_]{2,40}") -> set[str]:
    """The C strings matching `pattern` that the ELF64 function(s) whose symbol contains `function` load with
    `lea …(%rip)`: directly, or as an array of pointers to them (a table the dynamic linker fills, R_X86_64_RELATIVE)."""
    shoff, = struct.unpack_from("<Q", library, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", library, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", library, shoff + i * shentsize) for i in range(shnum)]

    def offset_of(address: int) -> int | None:
        for _, kind, _, start, offset, size, *_ in sections:
            if kind != 8 and start and start <= address < start + size:  # 8: NOBITS (.bss)
                return offset + address - start
        return None

    def string_at(address: int) -> str | None:
        at = offset_of(address)
        text = library[at:library.find(b"\0", at, at + 64)] if at is not None else b""
        return text.decode() if re.fullmatch(pattern, text) else None

    relative = {}  # address → the address the dynamic linker writes there
    for _, kind, _, _, offset, size, *_ in sections:
        if kind == 4:  # RELA
            for at in range(offset, offset + size, 24):
                where, info, addend = struct.unpack_from("<QQq", library, at)
                if info & 0xFFFFFFFF == 8:  # R_X86_64_RELATIVE
                    relative[where] = addend
    found: set[str] = set()
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind not in (2, 11):  # SYMTAB, DYNSYM
            continue
        names = sections[link][4]
        for at in range(offset, offset + size, entsize):
            name, info, _, _, value, length = struct.unpack_from("<IBBHQQ", library, at)
            symbol = library[names + name:library.index(b"\0", names + name)]
            start = offset_of(value)
            if function not in symbol or info & 0xF != 2 or not length or start is None:  # 2: FUNC
                continue
            code = library[start:start + length]
            for match in LEA_RIP.finditer(code):
                displacement, = struct.unpack_from("<i", code, match.end())
                target = value + match.end() + 4 + displacement
                found.update(filter(None, [string_at(target)]))
                while target in relative and (text := string_at(relative[target])):
                    found.add(text)
                    target += 8
    return found


@pytest.fixture(scope="module")
def library() -> bytes:
    if not LIBRARY.is_file():
        pytest.skip(f"{LIBRARY} is missing: `make install` fetches it from the onnxruntime-cann 1.24.4 wheel")
    return LIBRARY.read_bytes()


def test_every_option_npuport_passes_is_one_the_1_24_4_provider_reads(library):
    names = strings_loaded_by(library, b"CANNExecutionProviderInfo19FromProviderOptions")
    assert names == {"device_id", "npu_mem_limit", "arena_extend_strategy", "enable_cann_graph", "enable_cann_subgraph",
                     "dump_graphs", "dump_om_model", "precision_mode", "op_select_impl_mode", "optypelist_for_implmode"}
    plan = plan_session(Device("npu"), "fp32", "ab" * 32, ["CANNExecutionProvider", "CPUExecutionProvider"], "1.24.4")
    provider, options = plan.providers[0]
    assert provider == cann.PROVIDER and set(options) <= names, sorted(set(options) - names)
    for precision in cann.PRECISIONS:
        assert cann.provider_options(Device("npu"), precision, (1, 24, 4)).keys() <= names


def test_the_provider_graph_mode_takes_no_layernorm_but_what_an_opset_16_export_writes_for_it(library, converted):
    """SupportONNXModel's op list (cann_graph.cc; what `enable_cann_graph` partitions by) has no LayerNormalization, so
    npuport's opset-17 static graphs split at every LayerNorm and at nothing else; the ops torch's exporter writes for
    LayerNorm at opset 16 are all in it."""
    import io

    import onnx
    import torch

    ops = strings_loaded_by(library, b"SupportONNXModel", rb"[A-Z][A-Za-z0-9]{1,40}")
    assert len(ops) > 100 and "LayerNormalization" not in ops
    result = converted("bert")
    static = onnx.load(str(result.root / result.manifest.variant("onnx-fp32-static").files[0].path), load_external_data=False)
    graph_ops = {node.op_type for node in static.graph.node}
    assert graph_ops - ops == {"LayerNormalization"}
    exported = io.BytesIO()
    torch.onnx.export(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8)), (torch.randn(2, 8),), exported,
                      dynamo=False, opset_version=16)
    decomposed = {node.op_type for node in onnx.load_from_string(exported.getvalue()).graph.node}
    assert "LayerNormalization" not in decomposed and decomposed <= ops, sorted(decomposed - ops)
