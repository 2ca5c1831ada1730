"""What Ascend's ATC accepts and where its outputs are, in one place: convert (the opset `--target ascend` exports at),
package (the scripts that compile a static ONNX variant to `.om`) and runtime (which `.om` runs which bucket) share it.

Documented limits (CANN ATC reference, "ATC Offline Model Builder" > parameters):
- `--dynamic_dims`: 2 to 100 gears ("the profile range is (1, 100]"), each with one value per `-1` in `--input_shape`
  (https://www.hiascend.com/document/detail/en/canncommercial/850/devaids/atctool/atlasatcparam_16_0020.html).
- ONNX: ATC's parser lists each operator with the opsets it reads, v18 at the newest (for example LayerNormalization,
  "ONNX Opset Support: Opset v17/v18",
  https://www.hiascend.com/document/detail/en/canncommercial/850/API/aolapi/atlasoxol_09_0076.html).
"""

from __future__ import annotations

from npuport.core.manifest import Bucket, Variant

ATC_DIR = "atc"  # in a package: the scripts, the self-contained models they compile, the msit comparison
ATC_MAX_OPSET = 18
MIN_GEARS, MAX_GEARS = 2, 100
MIXED = "mixed"  # the route of an fp32 graph compiled with force_fp16 and tune's keep-list


def atc_model(variant: Variant) -> str:
    """The package-relative path of the self-contained ONNX (weights inside) that ATC compiles for `variant`: whether
    ATC reads external-data weights is documented nowhere, so it is never handed a graph whose weights lie beside it."""
    return f"{ATC_DIR}/{variant.id}.onnx"


def om_stem(variant: Variant, bucket: Bucket | None, route: str = "") -> str:
    """The name (without `.om`) ATC writes for `variant`: one per bucket, or `…-gears` for the one model whose gears are
    every bucket (`bucket` None)."""
    precision = f"{variant.precision}-{route}" if route else variant.precision
    return f"{precision}-{variant.shape}-{bucket.label if bucket is not None else 'gears'}"
