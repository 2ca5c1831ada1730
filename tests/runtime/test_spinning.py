"""Good manners on a shared CPU: idle ONNX Runtime and torch threads do not spin unless asked (--spin / NPUPORT_SPIN=1);
torch's wait policy is set before torch loads, never over the user's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from npuport.core.manifest import Manifest
from npuport.runtime.backends import ORT_SPINNING
from npuport.runtime.loader import runner_for


def _session_spinning(root: Path) -> dict[str, str | None]:
    variant = Manifest.load(root).variant("onnx-fp32-dynamic")
    with runner_for(root / variant.files[0].path, "onnx", variant.inputs, variant.outputs) as runner:
        options = runner._session.get_session_options()  # type: ignore[attr-defined]
        entries = {}
        for key in ORT_SPINNING:
            try:
                entries[key] = options.get_session_config_entry(key)
            except Exception:  # ONNX Runtime raises for a key never set: its default, spinning
                entries[key] = None
        return entries


def test_cpu_sessions_do_not_spin_unless_asked(structbert_artifacts, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NPUPORT_SPIN", raising=False)
    assert _session_spinning(Path(structbert_artifacts)) == dict.fromkeys(ORT_SPINNING, "0")
    monkeypatch.setenv("NPUPORT_SPIN", "1")
    assert _session_spinning(Path(structbert_artifacts)) == dict.fromkeys(ORT_SPINNING, None)


CHECK_POLICY = """
import os, sys
from npuport.runtime.backends import set_spinning, torch_wait_policy
os.environ.pop("OMP_WAIT_POLICY", None)
os.environ.pop("NPUPORT_SPIN", None)
print(torch_wait_policy())
os.environ["OMP_WAIT_POLICY"] = "ACTIVE"
print(torch_wait_policy())
os.environ.pop("OMP_WAIT_POLICY")
print(set_spinning(True), os.environ["NPUPORT_SPIN"])
os.environ.pop("NPUPORT_SPIN")
sys.modules["torch"] = sys  # torch loaded already: libgomp has read its policy, setting one now would be a lie
print(torch_wait_policy())
"""


def test_torch_waits_passively_unless_asked_and_only_before_it_loads():
    run = subprocess.run([sys.executable, "-c", CHECK_POLICY], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.splitlines() == ["PASSIVE", "ACTIVE", "default 1", "default"]
