"""A stand-in for Ascend's `atc` (ONNX → .om) that enforces the grammar ATC documents, so a script npuport writes is
refused here for the mistakes that would make real ATC refuse it (or quietly compile something else). It imports
nothing from npuport: its rules are read from the CANN documents, not from the code under test.

Rules and their sources (CANN "ATC Offline Model Builder", parameter pages; canncommercial 8.0/8.5, English):
- --framework=5 is ONNX; --model, --output, --soc_version are required.
- --input_shape "name:d1,d2;…": names are the model's inputs; -1 marks a dim whose values come from the gears.
- --dynamic_dims "g1;g2;…": "the profile range is (1, 100]" (at least 2, at most 100 gears), each gear with as many
  values as there are -1 dims in --input_shape, in order (…/atctool/atlasatcparam_16_0020.html). A -1 without
  --dynamic_dims would be a dynamic-shape compile, which npuport's scripts never intend: refused here.
- --precision_mode: force_fp32 | cube_fp16in_fp32out | force_fp16 | allow_fp32_to_fp16 | must_keep_origin_dtype |
  allow_mix_precision | allow_mix_precision_fp16 | allow_mix_precision_bf16 | allow_fp32_to_bf16
  (…/atc/atlasatcparam_16_0068.html); not together with --precision_mode_v2.
- --keep_dtype FILE: one op name (or OpType::Type) per line; "does not take effect when --precision_mode is set to
  must_keep_origin_dtype" (…/atctool/atlasatcparam_16_0074.html). It keeps an op's ORIGINAL dtype, so a name must be an
  op of --model that is fp32 there (on an fp16 graph it would keep fp16).
- ONNX: ATC's parser lists operators up to opset 18 (…/aolapi/atlasoxol_09_0076.html: "Opset v17/v18") and only
  ONNX-domain ops (no com.microsoft contrib ops). How ATC reads external-data weights is documented nowhere: a model
  whose initializers live in another file is refused.

On success it writes `<--output>.om`: not a real offline model but a JSON record of what was compiled (the model's
path and sha256, the shapes of each gear, the precision mode, the keep-list), which tests/runtime's stand-in ACL
reads to run the same model with ONNX Runtime at exactly those shapes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import onnx

MAGIC = "npuport-stand-in-om"
KNOWN = {"model", "framework", "input_format", "input_shape", "dynamic_dims", "precision_mode", "precision_mode_v2",
         "keep_dtype", "output", "soc_version", "log"}
PRECISION_MODES = {"force_fp32", "cube_fp16in_fp32out", "force_fp16", "allow_fp32_to_fp16", "must_keep_origin_dtype",
                   "allow_mix_precision", "allow_mix_precision_fp16", "allow_mix_precision_bf16", "allow_fp32_to_bf16"}
PRECISION_MODES_V2 = {"fp16", "origin", "cube_fp16in_fp32out", "mixed_float16", "mixed_bfloat16"}
MAX_OPSET, MIN_GEARS, MAX_GEARS = 18, 2, 100
FLOATS = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.BFLOAT16: "bfloat16",
          onnx.TensorProto.DOUBLE: "float64"}


class AtcError(Exception):
    pass


def parse_args(argv: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not key.startswith("--") or not sep:
            raise AtcError(f"expected --option=value, got {arg!r}")
        if key[2:] not in KNOWN:
            raise AtcError(f"unknown option {key}")
        args[key[2:]] = value
    for required in ("model", "framework", "output", "soc_version"):
        if not args.get(required):
            raise AtcError(f"--{required} is required")
    if args["framework"] != "5":
        raise AtcError(f"--framework={args['framework']}: an ONNX model needs --framework=5")
    if not args["soc_version"].startswith("Ascend"):
        raise AtcError(f"--soc_version={args['soc_version']}: not an Ascend SoC name")
    return args


def load_model(path: Path) -> onnx.ModelProto:
    if not path.is_file():
        raise AtcError(f"--model={path}: no such file")
    model = onnx.load(str(path), load_external_data=False)
    external = [t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise AtcError(f"--model={path}: {len(external)} initializers ({external[0]}, …) are in an external-data file; "
                       "ATC's reading of external weights is undocumented: give a self-contained model")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset > MAX_OPSET:
        raise AtcError(f"--model={path}: opset {opset}; ATC's ONNX parser reads operators up to opset {MAX_OPSET}")
    foreign = sorted({f"{n.domain}:{n.op_type}" for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    if foreign:
        raise AtcError(f"--model={path}: operators outside the ONNX domain ({', '.join(foreign)}); ATC parses ONNX ops only")
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise AtcError(f"--model={path}: not a valid ONNX model: {str(exc).splitlines()[0]}") from None
    return model


def parse_shapes(model: onnx.ModelProto, text: str) -> dict[str, list[int]]:
    initializers = {t.name for t in model.graph.initializer}
    ranks = {i.name: len(i.type.tensor_type.shape.dim) for i in model.graph.input if i.name not in initializers}
    shapes: dict[str, list[int]] = {}
    for part in text.split(";") if text else []:
        name, sep, dims = part.rpartition(":")
        if not sep or name not in ranks:
            raise AtcError(f"--input_shape: {name or part!r} is not an input of the model (inputs: {', '.join(ranks)})")
        try:
            values = [int(d) for d in dims.split(",")]
        except ValueError:
            raise AtcError(f"--input_shape: {part!r}: dims must be integers") from None
        if len(values) != ranks[name] or any(v == 0 or v < -1 for v in values):
            raise AtcError(f"--input_shape: {part!r}: {ranks[name]} dims expected, each positive or -1")
        shapes[name] = values
    symbolic = [i.name for i in model.graph.input if i.name in ranks and i.name not in shapes
                and any(not d.HasField("dim_value") for d in i.type.tensor_type.shape.dim)]
    if symbolic:
        raise AtcError(f"--input_shape: no shape for {', '.join(symbolic)}, whose dims the model leaves open")
    return shapes


def gears(shapes: dict[str, list[int]], text: str | None) -> list[dict[str, list[int]]]:
    """Every input's shape at each gear (one entry for a static compile)."""
    unknown = sum(d == -1 for dims in shapes.values() for d in dims)
    if text is None:
        if unknown:
            raise AtcError(f"--input_shape has {unknown} -1 dims but no --dynamic_dims gives their values")
        return [shapes]
    if not unknown:
        raise AtcError("--dynamic_dims needs -1 dims in --input_shape")
    profiles = text.split(";")
    if not MIN_GEARS <= len(profiles) <= MAX_GEARS:
        raise AtcError(f"--dynamic_dims: {len(profiles)} gears; ATC takes {MIN_GEARS} to {MAX_GEARS}")
    result = []
    for profile in profiles:
        try:
            values = [int(v) for v in profile.split(",")]
        except ValueError:
            raise AtcError(f"--dynamic_dims: gear {profile!r} is not a list of integers") from None
        if len(values) != unknown or any(v <= 0 for v in values):
            raise AtcError(f"--dynamic_dims: gear {profile!r} has {len(values)} values; --input_shape has {unknown} -1 dims")
        it = iter(values)
        result.append({name: [next(it) if d == -1 else d for d in dims] for name, dims in shapes.items()})
    return result


def check_precision(args: dict[str, str]) -> str:
    if "precision_mode" in args and "precision_mode_v2" in args:
        raise AtcError("--precision_mode and --precision_mode_v2 cannot be used together")
    if "precision_mode_v2" in args:
        if args["precision_mode_v2"] not in PRECISION_MODES_V2:
            raise AtcError(f"--precision_mode_v2={args['precision_mode_v2']}: one of {', '.join(sorted(PRECISION_MODES_V2))}")
        return args["precision_mode_v2"]
    mode = args.get("precision_mode", "force_fp16")  # ATC's documented default for inference
    if mode not in PRECISION_MODES:
        raise AtcError(f"--precision_mode={mode}: one of {', '.join(sorted(PRECISION_MODES))}")
    return mode


def check_keep_dtype(model: onnx.ModelProto, path: Path, mode: str) -> list[str]:
    if mode in ("must_keep_origin_dtype", "origin"):
        raise AtcError(f"--keep_dtype does not take effect with precision mode {mode}")
    if not path.is_file():
        raise AtcError(f"--keep_dtype={path}: no such file")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *inferred.graph.input,
                                                            *inferred.graph.output]}
    types |= {t.name: t.data_type for t in inferred.graph.initializer}
    nodes = {node.name: node for node in inferred.graph.node}
    for name in names:
        if name.startswith("OpType::"):
            continue
        if name not in nodes:
            raise AtcError(f"--keep_dtype: {name!r} is not an op of --model")
        floats = {FLOATS[types[t]] for t in [*nodes[name].input, *nodes[name].output] if types.get(t) in FLOATS}
        if floats != {"float32"}:
            raise AtcError(f"--keep_dtype: {name!r} computes in {', '.join(sorted(floats)) or 'no floating-point type'} "
                           "in --model; keeping its original dtype keeps that, not fp32")
    return names


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        if args.get("input_format", "ND") != "ND" and "dynamic_dims" in args:
            raise AtcError("--dynamic_dims needs --input_format=ND")
        model_path = Path(args["model"])
        model = load_model(model_path)
        shapes = parse_shapes(model, args.get("input_shape", ""))
        profiles = gears(shapes, args.get("dynamic_dims"))
        mode = check_precision(args)
        keep = check_keep_dtype(model, Path(args["keep_dtype"]), mode) if "keep_dtype" in args else []
        output = Path(args["output"] + ".om")
        if not output.parent.is_dir():
            raise AtcError(f"--output: {output.parent} is not a directory")
    except AtcError as exc:
        print(f"ATC stand-in: E10001: {exc}", file=sys.stderr)
        return 1
    record = {"format": MAGIC, "model": str(model_path.resolve()),
              "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(), "gears": profiles,
              "precision_mode": mode, "keep_dtype": keep, "soc_version": args["soc_version"]}
    output.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"ATC run success, welcome to the next use. (stand-in: {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
