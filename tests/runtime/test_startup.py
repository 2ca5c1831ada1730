"""Running an ONNX variant needs neither transformers nor torch (that the saved tokenizer, read with `tokenizers`
alone, gives the ids transformers gives: tests/model/test_tokenizer.py)."""

from __future__ import annotations

import subprocess
import sys


def test_predict_verify_validate_and_serve_of_onnx_never_import_torch_transformers_or_grpc(bert_copy, tmp_path):  # type: ignore[no-untyped-def]
    root = bert_copy  # a copy: validate records its verdicts in the manifest
    # the commands run inside one `python -c` process (not cli_runner's npuport()): what they import is seen there
    script = f"""
import sys
from npuport.cli import app
for args in (["predict", {str(root)!r}, "--text", "I am happy", "--variant", "onnx-int8-dynamic"],
             ["validate", {str(root)!r}, "--variants", "onnx-fp32-dynamic,onnx-int8-dynamic", "--report", {str(tmp_path)!r}]):
    try:
        app(args, standalone_mode=False)
    except SystemExit:
        pass
from npuport.runtime import load
from npuport.serve.app import create_app
from npuport.serve.config import ServeConfig
create_app(load({str(root)!r}, "onnx-fp32-dynamic"), ServeConfig())
heavy = [m for m in ("torch", "transformers", "grpc") if m in sys.modules]  # grpc: only with --grpc-port
assert not heavy, heavy
print("light")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "light" in done.stdout, done.stderr[-2000:]
