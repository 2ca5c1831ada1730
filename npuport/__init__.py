"""npuport: export text classifiers, run them on NPU/CUDA/CPU, prove parity, ship what passed."""

import os

__version__ = "0.1.0"

# npuport never talks to a model hub: every model it touches is a local directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
