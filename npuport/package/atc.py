"""Ascend ATC command lines that turn static ONNX variants into offline models (.om), beside each variant's
self-contained ATC model (`atc/<id>.onnx`, weights inside: ATC's reading of external weights is undocumented):
`atc/<id>.sh`, one static `--input_shape` command per bucket, and, for two buckets or more, `atc/<id>.gears.sh`, ONE
command whose `--dynamic_dims` gears are the buckets (ATC wants 2 to 100 gears; core.atc).

Precision (ATC `--precision_mode`, https://www.hiascend.com/document/detail/en/canncommercial/800/devaids/atc/
atlasatcparam_16_0068.html; its default for inference is `force_fp16`, which would silently compute an fp32 graph in
fp16): every script compiles what was validated, `must_keep_origin_dtype` (each op keeps the graph's dtype: fp32 stays
fp32, an fp16 graph's fp32 nodes stay fp32). Where `npuport tune` wrote an fp16 keep-list, the fp32 variant also gets
`atc/<id>.mixed[.gears].sh`: the fp32 graph with `force_fp16` and `--keep_dtype` (https://www.hiascend.com/document/
detail/en/canncommercial/850/devaids/atctool/atlasatcparam_16_0074.html), so the nodes tune kept run in fp32 and the rest
in fp16 — the keep-list only means something on a graph where those nodes are fp32, and ATC ignores it under
`must_keep_origin_dtype`.

The .om files go outside the package (`OM_DIR`, default `<package>-om` beside it): the package holds exactly what its
SHA256SUMS lists, so `npuport verify` keeps passing after the scripts ran. These scripts are generated here and run
against a stand-in `atc` that enforces ATC's documented grammar (tests/package/fake_atc.py), NOT with ATC: there is no
CANN toolkit on these machines.
"""

from __future__ import annotations

import shlex
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

from npuport.core.atc import ATC_DIR, ATC_MAX_OPSET, MAX_GEARS, MIN_GEARS, MIXED, atc_model, om_stem
from npuport.core.buckets import DEFAULT_MAX_BUCKETS
from npuport.core.errors import ManifestError
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Bucket, FileRecord, Manifest, Variant
from npuport.model.tokenizer import TextEncoder, saved_tokenizer
from npuport.package.compare import compare_script, write_inputs
from npuport.package.selfcontained import write_self_contained

EXACT_MODE = "must_keep_origin_dtype"
_AI_CPU = ("an op without an AI Core kernel for its dtype runs on the AI CPU (slow) or, without an AI CPU kernel too, "
           "fails to compile: on a 310P, whose Cube units compute fp16 and int8, fp32 ops (MatMul, LayerNorm…) may do either")


@dataclass(frozen=True)
class Route:
    """One way to compile a variant: the script suffix, the precision mode, why, and the keep-list it passes."""

    name: str  # "" (what was validated) or MIXED
    mode: str
    why: str
    keep: str | None = None

    def script(self, variant: Variant, kind: str = "") -> str:
        """`kind`: "" (one command per bucket), "gears" or "compare" (package.compare)."""
        return ".".join(part for part in (variant.id, self.name, kind, "sh") if part)


def atc_readable(variant: Variant) -> bool:
    """Static ONNX in standard ops at an opset ATC's parser lists (fused ORT contrib ops, com.microsoft, and int8
    QOperator ops it does not read)."""
    return (variant.format == "onnx" and variant.shape == "static" and variant.precision in ("fp32", "fp16")
            and (variant.opset or 0) <= ATC_MAX_OPSET and not any(t.startswith("ort-fusion") for t in variant.transforms))


def atc_variants(manifest: Manifest) -> list[Variant]:
    return [v for v in manifest.variants if atc_readable(v)]


def keep_list(manifest: Manifest) -> FileRecord | None:
    """The fp16 keep-list `npuport tune` wrote (`tune/<variant>.keep_dtype.cfg`), if the manifest records one."""
    return next((v.tuning.keep_list for v in manifest.variants
                 if v.precision == "fp16" and v.tuning is not None and v.tuning.keep_list is not None), None)


def routes(variant: Variant, keep: str | None) -> list[Route]:
    exact = Route("", EXACT_MODE, f"each op keeps the graph's dtype, as validated ({variant.precision}); {_AI_CPU}")
    if variant.precision != "fp32" or keep is None:
        return [exact]
    return [exact, Route(MIXED, "force_fp16", f"ops with an fp16 kernel run in fp16 except the nodes listed in {keep}, "
                                              "which npuport tune kept in fp32 (the fp16 computation it validated; this "
                                              ".om itself is not validated)", keep)]


_PREAMBLE = [
    "set -eu",
    'SOC_VERSION="${SOC_VERSION:?set SOC_VERSION, e.g. Ascend910B3 or Ascend310P3 (see npu-smi info)}"',
    'PACKAGE="$(cd "$(dirname "$0")/.." && pwd)"',
    'OM_DIR="${1:-${OM_DIR:-$PACKAGE/../$(basename "$PACKAGE")-om}}"',
    'mkdir -p "$OM_DIR"',
    'OM_DIR="$(cd "$OM_DIR" && pwd)"',
    'case "$OM_DIR/" in "$PACKAGE"/*) rmdir "$OM_DIR" 2>/dev/null || true',
    '  echo "OM_DIR $OM_DIR lies inside the package; choose a folder outside it" >&2; exit 2;; esac',
    'cd "$PACKAGE"',
]


def _header(variant: Variant, route: Route, script: str, what: str) -> list[str]:
    return [
        "#!/bin/sh",
        f"# {variant.id} → Ascend offline model(s) (.om): {what}. Run from anywhere:",
        f"#   SOC_VERSION=Ascend310P3 sh {ATC_DIR}/{script} [OM_DIR]",
        "# The .om files go to OM_DIR (argument, else $OM_DIR, else <package>-om beside the package), never into the",
        "# package: it must hold exactly what SHA256SUMS lists for `npuport verify` to pass.",
        f"# Model: {atc_model(variant)}, the variant's graph with its weights inside (ATC's reading of external weights",
        "# is undocumented).",
        *textwrap.wrap(f"Precision: --precision_mode={route.mode}: {route.why}. ATC's own default (force_fp16) would "
                       "silently compute an fp32 graph in fp16.", 116, initial_indent="# ", subsequent_indent="# "),
        "# Generated by npuport, not run by it (no CANN toolkit there). Set SOC_VERSION to your chip (npu-smi info).",
    ]


def _command(variant: Variant, route: Route, output: str, shape: str, extra: tuple[str, ...] = ()) -> str:
    args = ["atc", f"--model={atc_model(variant)}", "--framework=5", "--input_format=ND", f"--input_shape={shape}", *extra,
            f"--precision_mode={route.mode}", *([f"--keep_dtype={route.keep}"] if route.keep else [])]
    return " ".join(shlex.quote(a) for a in args) + f' --output="$OM_DIR"/{shlex.quote(output)} --soc_version="$SOC_VERSION"'


def atc_script(variant: Variant, route: Route) -> str:
    """One `atc` command per bucket, each compiling the graph at that bucket's fixed shape."""
    lines = _header(variant, route, route.script(variant), "one per shape bucket") + _PREAMBLE
    for bucket in variant.buckets:
        inputs, _ = variant.specs_at(bucket)
        shape = ";".join(f"{s.name}:{','.join(str(d) for d in s.shape)}" for s in inputs)
        lines.append(_command(variant, route, om_stem(variant, bucket, route.name), shape))
    return "\n".join(lines) + "\n"


def gear_script(variant: Variant, route: Route) -> str | None:
    """ONE `atc` command: inputs declared with -1 dims, `--dynamic_dims` listing each bucket as a gear (its batch and
    sequence for every input, in input order). None for one bucket (the per-bucket script compiles it with a static
    shape) and above ATC's limit."""
    buckets = variant.buckets
    if len(buckets) < MIN_GEARS:
        return None
    if len(buckets) > MAX_GEARS:
        warnings.warn(f"{variant.id}: {len(buckets)} buckets exceed ATC's limit of {MAX_GEARS} gears; "
                      "no gear script, only the per-bucket one", stacklevel=2)
        return None
    if len(buckets) > DEFAULT_MAX_BUCKETS:
        warnings.warn(f"{variant.id}: {len(buckets)} ATC gears; ATC compiles one graph per gear, so more than "
                      f"{DEFAULT_MAX_BUCKETS} cost build time and device memory", stacklevel=2)
    shape = ";".join(f"{s.name}:{','.join('-1' if isinstance(d, str) else str(d) for d in s.shape)}" for s in variant.inputs)
    dims = ";".join(_gear(variant, bucket) for bucket in buckets)
    what = f"ONE model with {len(buckets)} shape gears ({', '.join(map(str, buckets))})"
    lines = _header(variant, route, route.script(variant, "gears"), what) + _PREAMBLE
    lines.append(_command(variant, route, om_stem(variant, None, route.name), shape, (f"--dynamic_dims={dims}",)))
    return "\n".join(lines) + "\n"


def _gear(variant: Variant, bucket: Bucket) -> str:
    fixed = {"batch": bucket.batch, "sequence": bucket.seq}
    return ",".join(str(fixed[d]) for spec in variant.inputs for d in spec.shape if isinstance(d, str))


def write_atc(package: Path, manifest: Manifest, keep: str | None = None) -> list[Path]:
    """Per ATC-readable variant of the package at `package`: its self-contained ATC model, its scripts, the msit
    comparison of each route and the golden token ids it reads (package.compare). `keep`: the package-relative path of
    tune's keep-list, if it ships one. A variant too large for one protobuf file gets none (warned): ATC would have to
    read its external weights."""
    golden = GoldenInputs.load(package / manifest.golden.inputs.path)
    pad_token_id = TextEncoder(saved_tokenizer(package, manifest), manifest.source.input_names,
                               manifest.source.max_length).pad_token_id
    written = []
    for variant in atc_variants(manifest):
        weights = package / variant.weights.path if variant.weights is not None else None
        try:
            write_self_contained(package / variant.files[0].path, weights, variant.inputs, variant.outputs,
                                 package / atc_model(variant))
        except ManifestError as exc:
            warnings.warn(f"{variant.id}: no ATC model or scripts: {exc}", stacklevel=2)
            continue
        written += [package / atc_model(variant), *write_inputs(package, variant, golden, pad_token_id)]
        for route in routes(variant, keep):
            texts = {"": atc_script(variant, route), "gears": gear_script(variant, route),
                     "compare": compare_script(variant, route.name, _PREAMBLE)}
            for kind, text in texts.items():
                if text is None:
                    continue
                path = package / ATC_DIR / route.script(variant, kind)
                path.write_text(text, encoding="utf-8")
                path.chmod(0o755)
                written.append(path)
    return sorted(set(written))
