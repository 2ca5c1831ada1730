"""Optimum's int8, made the way its users make it, for benchmarks/cpu_speed.py to time beside npuport's variants.

    PYTHON benchmarks/optimum_int8.py MODEL_DIR OUT_DIR      # PYTHON: an environment with optimum-onnx installed

Exports MODEL_DIR with `ORTModelForSequenceClassification.from_pretrained(export=True)` and quantizes it with
`ORTQuantizer` and `AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=False)` — what
`optimum-cli onnxruntime quantize --avx512_vnni` runs (dynamic, uint8 activations × int8 weights, per tensor).
optimum-onnx 0.1.0 pins transformers < 5, which npuport's environment does not take, so it runs in its own
environment (the README's "Speed per CPU class" says how that one was made); the file it writes is plain ONNX.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    from optimum.onnxruntime import ORTModelForSequenceClassification, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    exported = out / "fp32"
    ORTModelForSequenceClassification.from_pretrained(str(model_dir), export=True).save_pretrained(str(exported))
    quantizer = ORTQuantizer.from_pretrained(str(exported))
    quantizer.quantize(save_dir=str(out / "int8"), quantization_config=AutoQuantizationConfig.avx512_vnni(is_static=False,
                                                                                                        per_channel=False))
    print(next((out / "int8").glob("*.onnx")))


if __name__ == "__main__":
    main()
