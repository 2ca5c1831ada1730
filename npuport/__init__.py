"""npuport: export text classifiers, run them on NPU/CUDA/CPU, prove parity, ship what passed."""

__version__ = "0.1.0"

# npuport never talks to a model hub; where it loads a model it says so for that call only (npuport.core.offline).
