"""The passing candidate published: its file, for fp16 the ATC keep-list, and the variant `onnx-<precision>-tuned`
with its recipe in the manifest (file first, manifest last)."""

from __future__ import annotations

import shutil
from pathlib import Path

from npuport.convert.check import TOLERANCE
from npuport.core.files import atomic_path, write_text_atomic
from npuport.core.int8 import SCHEMES, Int8Choice
from npuport.core.manifest import ExportCheck, FileRecord, Manifest, Quantization, Tuning, TuningStep, Variant, VariantFile
from npuport.tune.candidates import floating_nodes


def publish(root: Path, precision: str, base: Variant, candidate: Path, recipe: Tuning, last: TuningStep,
            choice: Int8Choice) -> tuple[str, Path | None]:
    """The passing candidate as variant onnx-<precision>-tuned (file first, manifest last), with its keep-list."""
    variant_id = f"onnx-{precision}-tuned"
    target = root / "onnx" / f"{precision}-tuned.onnx"
    with atomic_path(target) as tmp:
        shutil.copyfile(candidate, tmp)
    keep_list = None
    if precision == "fp16":
        keep_list = root / "tune" / f"{variant_id}.keep_dtype.cfg"
        write_text_atomic(keep_list, "".join(f"{name}\n" for name in floating_nodes(candidate, recipe.kept_fp32)))
        recipe = recipe.model_copy(update={"keep_list": FileRecord.of(root, keep_list)})
    quantization = None
    if precision == "int8":
        scheme = SCHEMES[choice.scheme]
        quantization = Quantization(
            method="static-qdq" if recipe.method == "static-qdq" else "dynamic", weights=scheme.weights,  # type: ignore[arg-type]
            activations="uint8", granularity="per-channel", reduce_range=scheme.reduce_range,
            kept_fp32=f"{len(recipe.kept_fp32)} nodes chosen by npuport tune", fp32_nodes=recipe.kept_fp32,
            chosen_for=choice.chosen_for, exact_on=list(scheme.exact_on) if scheme.exact_on else None,
            why=f"{choice.why}; {scheme.why}; {recipe.method}, the nodes doctor found most sensitive kept in fp32")
    manifest = Manifest.load(root)  # re-read: nothing another command recorded is lost
    variant = base.model_copy(update={
        "id": variant_id, "precision": precision,
        "files": [VariantFile(**FileRecord.of(root, target).model_dump())],
        "transforms": [f"npuport-tune:{recipe.method}", f"kept-fp32:{len(recipe.kept_fp32)}"],
        "quantization": quantization, "tuning": recipe,
        "export_check": ExportCheck(texts=manifest.golden.texts, max_abs_prob_error=last.max_abs_error,
                                    tolerance=TOLERANCE[precision], top1_agreement=last.top1_agreement),
    })
    variants = [v for v in manifest.variants if v.id != variant_id] + [variant]
    validations = [v for v in manifest.validations if v.variant != variant_id]
    manifest.model_copy(update={"variants": variants, "validations": validations}).save(root)
    return variant_id, keep_list
