"""The one boundary to Ascend's own runtime: an offline model (.om, compiled by ATC from a package's `atc/` scripts) is
loaded and run through ais_bench's `InferSession` (msit's benchmark component over aclruntime, which calls pyACL's
aclmdl* API), and nothing else in npuport touches ACL.

API (ais_bench 0.0.2, as `msit install benchmark` of msit 8.2.0 installs it, msit_benchmark/install.sh; source:
Ascend's tools repository, ais-bench_workload/tool/ais_bench/ais_bench/infer/interface.py):
`InferSession(device_id, model_path)` loads the model on that device; `infer(feeds, mode)` takes one array per model
input in input order and returns one array per output — `mode="static"` for a model of one shape, `"dymdims"` for a
model with `--dynamic_dims` gears, where the feeds' shapes choose the gear (`set_dynamic_dims("name:1,64;…")`) and
must be exactly one of them; `free_resource()` unloads it.

NOT run on Ascend hardware: there is none here. The tests replace the `ais_bench` module (tests/runtime/fake_ais_bench:
it runs the ONNX model the stand-in `atc` recorded with ONNX Runtime, at exactly the compiled gears), so everything
above this module runs for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.errors import BackendUnavailableError

INSTALL = "pip install msit && msit install benchmark (it builds ais_bench and aclruntime against the CANN toolkit)"


def open_session(path: Path, device_index: int) -> Any:
    """The loaded .om on NPU `device_index`, or BackendUnavailableError naming what is missing (never a CPU fallback)."""
    try:
        from ais_bench.infer.interface import InferSession
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in ("ais_bench", "aclruntime"):
            raise
        raise BackendUnavailableError(f"--om runs Ascend offline models through {missing}, which is not installed: "
                                      f"{INSTALL}") from None
    except ImportError as exc:  # aclruntime found, libascendcl.so not: CANN's environment is not set
        raise BackendUnavailableError("--om: ais_bench is installed but Ascend's CANN libraries are not loaded: run "
                                      "`source set_env.sh` from the CANN installation path (default "
                                      f"/usr/local/Ascend/ascend-toolkit/set_env.sh); it said: {exc}") from None
    try:
        return InferSession(device_index, str(path))
    except Exception as exc:
        raise BackendUnavailableError(f"--om: ACL cannot load {path.name} on npu:{device_index}: "
                                      f"{' '.join(str(exc).split())[:300]}") from None


def run(session: Any, arrays: list[np.ndarray], gears: bool) -> np.ndarray:
    """The first output of one call: `arrays` in the model's input order, shaped exactly as a compiled gear."""
    return np.asarray(session.infer(arrays, mode="dymdims" if gears else "static")[0])


def close(session: Any) -> None:
    session.free_resource()
