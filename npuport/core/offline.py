"""npuport never talks to a model hub: every model it reads is a local directory. Where npuport itself loads one with
transformers it says so to transformers and huggingface_hub for that call only, and gives the caller's environment
back as it was: importing npuport changes nothing in the caller's process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

SETTINGS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


@contextmanager
def local_only() -> Iterator[None]:
    """Offline and quiet while the block runs; a setting the caller made is left as the caller made it. (The
    libraries read some of these when first imported: an import made inside the block keeps them for the process.)"""
    added = [name for name in SETTINGS if name not in os.environ]
    os.environ.update({name: SETTINGS[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
