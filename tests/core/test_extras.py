"""A library one of our extras brings, missing, is one line naming `pip install 'npuport[EXTRA]'`; any other missing
module, or a missing part of an installed one, stays what it is (a bug, not an install step).
The CLI side: tests/cli/test_base_install.py."""

from __future__ import annotations

import importlib
import sys

import pytest

from npuport.core.errors import BackendUnavailableError
from npuport.core.extras import needs_extra


def test_a_missing_extra_library_names_its_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendUnavailableError) as info, needs_extra("TorchScript"):
        import torch  # noqa: F401
    assert str(info.value) == "TorchScript needs torch, not installed here: pip install 'npuport[convert]'"
    assert info.value.exit_code == 6


@pytest.mark.parametrize("module", ["npuport_nowhere", "onnx.no_such_submodule"])
def test_any_other_missing_module_is_not_an_install_step(module):
    with pytest.raises(ModuleNotFoundError, match=module), needs_extra("TorchScript"):
        importlib.import_module(module)
