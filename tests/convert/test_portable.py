"""Device-portable torch variants (issue 21 §1): every torch variant convert writes, for every registered architecture
(and the generic path), runs on a second device; a program that still names the CPU it was traced on is refused.

The second device is `meta`, which every torch build has. It is a faithful stand-in for cuda and npu on the point under
test, the device rule: an op that mixes a meta tensor with a CPU tensor raises ("Tensor on device cpu is not on the
expected device meta"), except a 0-dim CPU scalar, which cuda accepts too; and `.to("cpu")` of a meta tensor raises
("Cannot copy out of meta tensor"). So a mask built on the CPU next to scores on the device fails here as on cuda.
What meta does not check is the arithmetic (it has no data): convert's check runs the same rewritten file on the CPU
against the eager model. The tiny models are untrained random inits (recipe "none"): only the program matters here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from test_coverage import GENERIC

from npuport.convert.check import check_portable
from npuport.convert.pipeline import ConvertResult, convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.portable import fixed_devices, pinned_devices
from npuport.convert.torch_export import export_program
from npuport.core.buckets import parse_buckets
from npuport.core.errors import ConversionError
from npuport.core.golden import GoldenInputs
from npuport.model.adapter import LogitsOnly
from npuport.model.architectures import REGISTRY
from npuport.model.source import load_source

# fp32 and fp16 trace transformers' eager attention, bf16 its SDPA attention (convert.steps): each mask path once;
# torch.export builds fp32 and fp16 from the same trace, so fp32 stands for both.
PORTABLE = ConvertOptions(formats=("torchscript", "torchexport"), precisions=("fp32", "bf16"), shapes=("dynamic",),
                          buckets=tuple(parse_buckets("1x16")))
TORCH_VARIANTS = ["torchscript-fp32-dynamic", "torchscript-bf16-dynamic", "torchexport-fp32-dynamic"]


def run_on_meta(path: Path, fmt: str, feed: dict[str, np.ndarray]) -> torch.Tensor:
    """The file loaded as the runtime loads it for an accelerator, with `meta` as the accelerator.

    torch.export: the runtime's own move (runtime.export_runner). TorchScript: the runtime passes map_location; with
    "meta" torch.jit.load itself fails (its constant pooling compares tensors with aten::equal, which has no meta
    kernel), so the file is loaded on the CPU and its weights and buffers are moved, as map_location moves them.
    Tensor constants in the code stay on the CPU, which map_location would move: stricter than the real load."""
    if fmt == "torchexport":
        from torch.export.passes import move_to_device_pass

        module = move_to_device_pass(torch.export.load(str(path)), "meta").module()
    else:
        module = torch.jit.load(str(path), map_location="cpu")
        for sub in module.modules():
            for name, tensor in [*sub.named_parameters(recurse=False), *sub.named_buffers(recurse=False)]:
                sub._c.setattr(name, tensor.detach().to("meta"))
    with torch.no_grad():
        return module(*(torch.from_numpy(array).to("meta") for array in feed.values()))


@pytest.fixture(scope="session")
def torch_variants(untrained: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ConvertResult]:
    root = tmp_path_factory.mktemp("portable")
    results: dict[str, ConvertResult] = {}

    def get(model_type: str) -> ConvertResult:
        if model_type not in results:
            results[model_type] = convert_model(untrained(model_type), root / model_type, PORTABLE, isolate=False)
        return results[model_type]

    return get


def golden_feed(result: ConvertResult) -> dict[str, np.ndarray]:
    """Two golden texts of different lengths, as the program's inputs in their order."""
    golden = GoldenInputs.load(result.root / result.manifest.golden.inputs.path)
    order = np.argsort(golden.lengths)
    return golden.rows([order[0], order[-1]])


@pytest.mark.parametrize("model_type", [*REGISTRY, GENERIC])
def test_every_torch_variant_runs_on_a_second_device(torch_variants: Callable[[str], ConvertResult], model_type: str) -> None:
    result = torch_variants(model_type)
    assert sorted(v.id for v in result.manifest.variants) == sorted(TORCH_VARIANTS)
    feed = golden_feed(result)
    for variant in result.manifest.variants:
        [file] = variant.files
        logits = run_on_meta(result.root / file.path, variant.format, feed)
        assert logits.device.type == "meta", variant.id
        assert tuple(logits.shape) == (2, result.manifest.source.num_labels), variant.id


@pytest.fixture(scope="module")
def cpu_traced(untrained: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """A plain torch.jit.trace of the tiny bert, without convert's rewrite: the program issue 21 found."""
    source = load_source(untrained("bert"))
    names = source.info.input_names
    batch = source.tokenizer(["今天天气真好", "I am so happy today!"], padding=True, return_tensors="np")
    feed = {name: batch[name].astype(np.int64) for name in names}
    with torch.no_grad():
        traced = torch.jit.trace(LogitsOnly(source.model.eval(), names), tuple(torch.from_numpy(feed[n]) for n in names),
                                 check_trace=False, strict=False)
    path = tmp_path_factory.mktemp("baked") / "baked.pt"
    torch.jit.save(traced, str(path))
    return path, feed


def test_a_trace_that_names_the_cpu_fails_on_meta_and_is_refused(cpu_traced: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, feed = cpu_traced
    with pytest.raises(RuntimeError, match="meta"):  # the proxy sees the bug the rewrite fixes
        run_on_meta(path, "torchscript", feed)
    assert any(entry.endswith("aten::arange, aten::to, aten::zeros") and ": cpu for" in entry
               for entry in fixed_devices(path, "torchscript"))
    with pytest.raises(ConversionError, match=r"^baked\.pt names a fixed device, so it would fail on any other: ") as err:
        check_portable(path, "torchscript")
    assert "\n" not in str(err.value)


def test_an_exported_program_names_the_cpu_until_it_is_moved(untrained: Callable[[str], Path], tmp_path: Path) -> None:
    """torch.export records the CPU in its nodes (arange's device=); the move pass the runtime applies removes every one,
    and what the check reads is the moved program."""
    source = load_source(untrained("bert"))
    names = source.info.input_names
    example = {name: np.ones((2, 5), dtype=np.int64) for name in names}
    program = export_program(LogitsOnly(source.model.eval(), names), example, max_length=16)
    assert any(entry.endswith("cpu for aten.arange.start") or " cpu for " in entry for entry in pinned_devices(program))
    path = tmp_path / "bert.pt2"
    torch.export.save(program, str(path))
    assert fixed_devices(path, "torchexport") == []
