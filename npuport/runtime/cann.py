"""ONNX Runtime's CANN execution provider as npuport runs it: the compiler keeps the variant's dtypes, compiles live in
a directory keyed by the variant's digest, and the option names are the ones the installed provider reads.

Why each setting (onnxruntime-cann 1.24.4, the newest release; read from its wheel, not run):
- `precision_mode`: the provider hands it to Ascend's graph compiler (GE, `ge.exec.precision_mode`), whose documented
  default is `force_fp16` (ATC `--precision_mode`, https://www.hiascend.com/document/detail/en/canncommercial/800/
  devaids/atc/atlasatcparam_16_0068.html): left unset, an "fp32" verdict would be an fp16 computation. Every variant's
  precision is already in its graph (fp16: a float16 graph with int64 inputs and fp32 logits; bf16: bfloat16 tensors;
  int8: quantize/dequantize ops), so the compiler is told to keep it: `must_keep_origin_dtype` (v2 name `origin`).
  On a 310P, fp32 ops without an fp32 AI Core kernel then run on the AI CPU (slow) or fail to compile: a clear failure,
  not a silent fp16. One setting for all precisions also matters because 1.24.4 initialises GE once per process
  (`std::call_once` around `aclgrphBuildInitialize` in `BuildONNXModel`, cann_graph.cc): the first session's mode
  holds for every later one in that process.
- The option's name: 1.24.4 reads `precision_mode` (its `ToProviderOptions` builds that 14-byte key; see
  tests/runtime/test_cann_options.py, which reads the names from the wheel's provider library). Upstream renames it
  `precision_mode_v2`, taking ATC's `--precision_mode_v2` values (microsoft/onnxruntime#27970, "Upgrade precision_mode
  to precision_mode_v2", in no release up to 1.24.4). A provider newer than 1.24.4 is asked with the v2 name first
  and, if it calls that option unknown, with the old one; the Platform records which was used.
- `enable_cann_graph=1` (the default, set so the placement report means one thing): the whole graph goes to GE as
  partitions, split at every node outside the provider's graph op list (`SupportONNXModel`), and those run on the CPU.
- The compile cache: at the first run of each input shape the provider compiles a partition to an `.om`, names it
  `<graph>_<hash of the model path>_<id>_<hash of the shape>`, writes it to the process's working directory
  (`dump_om_model`, default on) and before compiling loads any file there whose name contains that name (`MatchFile`
  in cann_utils.cc scans `current_path()`): a model re-converted at the same path would run the stale compile. So
  npuport runs every compile inside a directory of its own cache, one per variant digest and option set
  (`compiling_in`), under a process-wide lock: the provider's cache is reused only for the bytes it was built from.

What has run: none of this on Ascend hardware. The option names were read from the onnxruntime-cann 1.24.4 wheel;
the sessions in the tests are a stand-in at the `onnxruntime.InferenceSession` boundary (there is no CANN here).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from npuport.core.devices import Device
from npuport.core.errors import InputError

PROVIDER = "CANNExecutionProvider"
CHECKED = (1, 24, 4)  # the newest onnxruntime-cann whose provider library npuport read the option names from
# The compiler keeps the graph's dtypes, under the option's name before and after the upstream rename.
KEEP_DTYPES = {"precision_mode": "must_keep_origin_dtype", "precision_mode_v2": "origin"}
PRECISIONS = ("fp32", "fp16", "bf16", "int8")  # every one is carried by the graph itself: see the docstring
CACHE_ENV = "NPUPORT_CACHE"
_WORKDIR = threading.RLock()  # the working directory is the process's: one compile at a time moves it


def provider_version(text: str) -> tuple[int, ...]:
    """'1.24.4' → (1, 24, 4); a suffix ('1.25.0.dev20260501', '1.24.4+cann') is ignored."""
    numbers = []
    for part in text.split("+")[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def precision_key(version: tuple[int, ...]) -> str:
    return "precision_mode" if version <= CHECKED else "precision_mode_v2"


def provider_options(device: Device, precision: str, version: tuple[int, ...]) -> dict[str, str]:
    """The CANN provider's options for a variant of `precision` on `device` (names: onnxruntime's
    cann_execution_provider_info.cc; CANN Execution Provider docs, onnxruntime.ai/docs/execution-providers/
    community-maintained/CANN-ExecutionProvider.html)."""
    if precision not in PRECISIONS:
        raise InputError(f"no CANN precision setting for a {precision!r} variant; known: {', '.join(PRECISIONS)}")
    key = precision_key(version)
    return {"device_id": str(device.index), "enable_cann_graph": "1", "dump_om_model": "1", key: KEEP_DTYPES[key]}


def older_precision_name(options: dict[str, str], error: BaseException) -> dict[str, str] | None:
    """The same options under the pre-rename name, when a provider newer than the checked one refused the v2 name
    (ProviderOptionsParser: 'Unknown provider option: "precision_mode_v2".'); else None."""
    if "precision_mode_v2" not in options or "Unknown provider option" not in str(error):
        return None
    kept = {key: value for key, value in options.items() if key != "precision_mode_v2"}
    return kept | {"precision_mode": KEEP_DTYPES["precision_mode"]}


def precision_setting(options: dict[str, str]) -> str:
    """'precision_mode=must_keep_origin_dtype': what the Platform records."""
    key = next(k for k in options if k in KEEP_DTYPES)
    return f"{key}={options[key]}"


def cache_root() -> Path:
    """$NPUPORT_CACHE, else $XDG_CACHE_HOME/npuport, else ~/.cache/npuport."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "npuport"


def compile_dir(digest: str, options: dict[str, str], version: str) -> Path:
    """Where the compiles of one variant live: keyed by its digest and by what else shapes a compile (the provider's
    version and options; not the device index, which does not change the compiled model)."""
    shaping = {key: value for key, value in options.items() if key != "device_id"}
    setting = hashlib.sha256(json.dumps([version, sorted(shaping.items())]).encode()).hexdigest()
    return cache_root() / "cann" / f"{digest[:24]}-{setting[:12]}"


@contextlib.contextmanager
def compiling_in(directory: Path) -> Iterator[None]:
    """Run the block with the process's working directory in `directory` (created), one block at a time: the provider
    reads and writes its compiles there. Threads that meanwhile open files by relative path would look there too, so
    npuport compiles every static shape while loading (OrtRunner), before a server takes requests."""
    with _WORKDIR:
        directory.mkdir(parents=True, exist_ok=True)
        before = os.getcwd()
        os.chdir(directory)
        try:
            yield
        finally:
            os.chdir(before)
