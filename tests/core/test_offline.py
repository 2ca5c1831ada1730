"""Importing npuport leaves the caller's environment alone; npuport's own loads are offline, and restore it after."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from npuport.core.offline import SETTINGS

PROBE = """
import os, json
import npuport, npuport.runtime, npuport.model.tokenizer
from npuport.core.offline import local_only
before = {k: os.environ.get(k) for k in %(names)r}
with local_only():
    inside = {k: os.environ.get(k) for k in %(names)r}
after = {k: os.environ.get(k) for k in %(names)r}
print(json.dumps([before, inside, after]))
"""


def test_import_sets_nothing_and_a_load_restores_what_it_set():
    names = list(SETTINGS)
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS} | {"TRANSFORMERS_VERBOSITY": "info"}
    done = subprocess.run([sys.executable, "-c", PROBE % {"names": names}], env=env, capture_output=True, text=True,
                          check=True)
    before, inside, after = json.loads(done.stdout)
    assert before == after == {name: "info" if name == "TRANSFORMERS_VERBOSITY" else None for name in names}
    assert inside == SETTINGS | {"TRANSFORMERS_VERBOSITY": "info"}  # the caller's own setting wins
