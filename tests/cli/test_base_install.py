"""Without the `convert` extra (torch, transformers hidden in the CLI's own process), asking for TorchScript or a
conversion is one `error: …` line naming `pip install 'npuport[convert]'`, exit 6. (That ONNX needs neither:
tests/runtime/test_startup.py; `make test-runtime` runs a package in a real venv without torch: .ci/base_install.py.)"""

from __future__ import annotations

import subprocess
import sys

from cli_runner import cli_env  # type: ignore[import-not-found]


def test_torchscript_and_convert_without_the_convert_extra_name_it(structbert_artifacts, tiny_model, tmp_path):
    # one process for both commands: torch and transformers are hidden inside it, so not npuport()
    commands = [["predict", structbert_artifacts, "--text", "你好", "--variant", "torchscript-fp32-dynamic"],
                ["convert", str(tiny_model("structbert")), "-o", str(tmp_path / "out")]]
    code = f"""
import sys
sys.modules.update(torch=None, transformers=None)
from npuport.cli import app
for args in {commands!r}:
    try:
        app(args, prog_name="npuport")
    except SystemExit as exc:
        print("exit", exc.code, flush=True)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env())
    assert result.stderr.splitlines() == [
        "error: torchscript:fp32-dynamic.pt@cpu needs torch, not installed here: pip install 'npuport[convert]'",
        "error: this command needs transformers, not installed here: pip install 'npuport[convert]'",
    ]
    assert result.stdout.splitlines() == ["exit 6", "exit 6"]
    assert not (tmp_path / "out").exists()
