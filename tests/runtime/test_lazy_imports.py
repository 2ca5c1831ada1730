"""Every module on the ONNX path, and model.config, imports with torch, transformers, torch_npu and onnx blocked: the
import-linter contract ignores whole edges, so a top-level heavy import would pass it; this test does not."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "torch_npu", "onnx")
PACKAGES = ("npuport.runtime", "npuport.validate", "npuport.package", "npuport.serve", "npuport.score", "npuport.core")
MODULES = ("npuport.model.tokenizer", "npuport.model.config")  # config.json checked without torch

# One subprocess: the heavy libraries set to None in sys.modules (importing them raises ImportError), then every
# module imported in turn; each one a blocked library stops is reported with the line that imported it.
PROBE = """
import importlib, json, pkgutil, sys, traceback
for name in {heavy!r}:
    sys.modules[name] = None
failed = {{}}

def load(name):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in {heavy!r}:
            return None  # another optional library (Triton's backend utils): not what this test is about
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/npuport/" in f.filename]
        where = f"{{frames[-1].filename.split('/npuport/')[-1]}}:{{frames[-1].lineno}}" if frames else "?"
        failed[name] = f"{{exc}} at npuport/{{where}}"

names = list({modules!r})
for package in {packages!r}:
    names.append(package)
    module = load(package)
    if module is not None:
        names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    load(name)
print(json.dumps({{"imported": len(names), "failed": failed}}))
"""

def test_the_onnx_path_imports_no_heavy_library_at_top_level() -> None:
    code = PROBE.format(heavy=HEAVY, modules=MODULES, packages=PACKAGES)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["imported"] > 50
    assert not result["failed"], "imports torch/transformers/torch_npu/onnx at top level: " + "; ".join(
        f"{name} ({error})" for name, error in result["failed"].items())
