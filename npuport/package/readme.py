"""The README a package carries for the engineer who receives it: what is inside and how to check it there."""

from __future__ import annotations

from pathlib import Path

from npuport.core.manifest import Manifest
from npuport.package import deploy, triton


def render_readme(manifest: Manifest, model: str, with_triton: bool, atc: list[Path],
                  deployment: deploy.Deployment | None = None) -> str:
    info = manifest.package
    assert info is not None
    source = manifest.source
    lines = [
        f"# {model}: npuport package for {info.device}",
        "",
        f"{source.architecture} ({source.model_type}), {source.num_labels} labels, {source.problem_type} "
        f"({source.activation}, threshold {source.threshold}), up to {source.max_length} tokens per text.",
        f"Built {info.created} by npuport {manifest.npuport_version}. Every variant here passed its validation profile "
        f"on **{info.device}** against the source model in fp32, eager, on the CPU.",
        "",
        "| variant | format | precision | shapes | validated | report |",
        "|---|---|---|---|---|---|",
    ]
    for variant in manifest.variants:
        record = manifest.passing(variant, info.device)
        assert record is not None, f"{variant.id} is packaged without a passing verdict on {info.device}"
        shapes = ", ".join(str(b) for b in variant.buckets) if variant.shape == "static" else "dynamic"
        lines.append(f"| {variant.id} | {variant.format} | {variant.precision} | {shapes} | "
                     f"{record.profile} profile, {record.device}, {record.where}, {record.created} | {record.report} |")
    lines += [
        "",
        "## On the target machine",
        "",
        "```bash",
        "pip install npuport            # runs ONNX variants; TorchScript and .pt2 need torch: 'npuport[convert]'",
        "                               # + 'npuport[npu]' on Ascend (torch_npu), onnxruntime-gpu on CUDA",
        f"npuport verify . --device {info.device}   # every file's hash, then the golden inputs replayed against the stored reference",
        f"npuport predict . --device {info.device} --text \"…\"",
        "```",
        "",
        "`verify` exits 0 when every variant was replayed here and passed, 8 when one failed, and 9 when the ones it",
        "replayed passed but some could not run on this machine (each is named, with what it needs); every file is",
        "hashed in all cases.",
    ]
    base, other = ([v.id for v in manifest.variants if v.runs_on_base_install is wanted] for wanted in (True, False))
    if base and other:
        lines += [f"With `pip install npuport` alone, {', '.join(other)} cannot run: `npuport verify . --device "
                  f"{info.device} --variants {','.join(base)}` verifies what the base install runs."]
    lines += [
        "",
        "**Run `verify` on the machine you ship to.** A verdict holds for the CPU class, engine and library versions",
        "it was reached on (the table above): int8 and bf16 kernels compute differently on AVX2, AVX-512 VNNI, AMX and",
        "Arm CPUs. On a machine of another class `verify` says so in its first line, and its pass or fail is that",
        "machine's own replay.",
        "",
        "`verify` needs no source model: `golden/inputs.npz` holds the token ids of the bundled corpus texts and",
        "`golden/reference.npz` the fp32 eager CPU logits on them; it applies the same profile limits as the",
        "validation (recorded in `manifest.json` under `package.profiles`). `sha256sum -c SHA256SUMS` checks every file",
        "without npuport.",
        "",
        f"Labels: {', '.join(source.labels)}.",
    ]
    if atc:
        lines += ["", "## Ascend offline models (ATC)", "",
                  "Static ONNX variants come with the ATC command lines that compile them to `.om`, and the model they",
                  "compile: `atc/<variant>.onnx`, the variant's graph with its weights inside (ATC's reading of external",
                  "weights is undocumented). `<variant>.sh` compiles one model per shape bucket; `<variant>.gears.sh`",
                  "(two buckets or more) ONE model whose `--dynamic_dims` gears are the buckets. Both keep the graph's",
                  "dtypes (`--precision_mode=must_keep_origin_dtype`; ATC's default, `force_fp16`, would silently run an",
                  "fp32 graph in fp16): on a 310P, fp32 ops without an fp32 AI Core kernel then run on the AI CPU or fail",
                  "to compile. Where `npuport tune` kept fp16-sensitive nodes in fp32, `<fp32 variant>.mixed[.gears].sh`",
                  "compiles the fp32 graph with `force_fp16` and that `--keep_dtype` list. The `.om` files go to the",
                  "folder given as argument (else `$OM_DIR`, else `<package>-om` beside the package), never into the",
                  "package, so `npuport verify` keeps passing. Generated, not run, by npuport (no CANN toolkit here):", ""]
        compile_scripts = [path for path in atc if not path.name.endswith(".compare.sh")]
        lines += [f"- `SOC_VERSION=Ascend910B3 sh {path.as_posix()} [OM_DIR]`" for path in compile_scripts]
        lines += ["", "Then, on the NPU machine (ais_bench: `pip install msit && msit install benchmark`):", "",
                  "- `npuport verify . --device npu --om OM_DIR` replays the golden inputs through the compiled `.om`",
                  "  files (the gears model if there, else one per bucket; each batch padded to an exact gear) against",
                  "  the stored reference: what ships is what is verified.",
                  *[f"- `sh {path.as_posix()} [OM_DIR] [INPUT_DIR]`: `msit debug compare` of each `.om` with the ONNX "
                    "it was compiled from, op by op, on `atc/inputs/<bucket>/<input>.bin` (golden token ids, raw int64; "
                    "put your own texts' ids there)." for path in atc if path.name.endswith(".compare.sh")],
                  "", "Not run by npuport on Ascend hardware: checked against stand-ins of `atc`, ACL and msit."]
    if with_triton:
        lines += triton.readme_lines(manifest, model, info.device)
    if deployment is not None:
        lines += deploy.readme_lines(deployment)
    return "\n".join(lines) + "\n"
