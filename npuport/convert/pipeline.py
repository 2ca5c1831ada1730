"""`npuport convert`: build the variant matrix in child processes (see `worker`), check each file, then publish (see
`publish`).

One run per artifacts directory (its `.npuport.lock`); workers die with the run that started them; a killed run's
staging folder, publish leftovers and temporary job folder are reclaimed by the next run."""

from __future__ import annotations

import functools
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from npuport.convert.job import Job
from npuport.convert.peers import PEER_CONFIG
from npuport.convert.plan import SHAPES, ConvertOptions, VariantPlan, fused, plan_variants
from npuport.convert.publish import WORK_DIR, interrupted_publish, live_manifest, publish
from npuport.convert.worker import JOB_PREFIX, execute_job, run_in_child
from npuport.core.buckets import BucketPlan, check_buckets, golden_seq_len, plan_buckets
from npuport.core.corpus import golden_selection
from npuport.core.errors import ConversionError
from npuport.core.files import (
    ARTIFACTS_LOCK,
    artifacts_lock,
    fresh_directory,
    remove_orphaned_temporaries,
    remove_stale_temporaries,
    sha256_file,
)
from npuport.core.golden import INPUTS_FILE, REFERENCE_FILE, GoldenInputs, load_reference
from npuport.core.int8 import choose_int8
from npuport.core.manifest import MANIFEST_NAME, FileRecord, GoldenInfo, Manifest, TokenizerInfo, Variant, VariantFile
from npuport.core.progress import Progress, reporter, total
from npuport.core.reports.keep import still_current
from npuport.core.texts import read_texts
from npuport.model.architectures import architecture
from npuport.model.config import decision_threshold, problem_type, read_config
from npuport.model.source import find_weights, load_tokenizer, model_inputs, model_max_length, source_info
from npuport.model.tokenizer import TextEncoder, golden_inputs
from npuport.model.traffic import token_lengths
from npuport.runtime.openvino_runner import import_openvino

STEP_ORDER = ["torchscript-fp32", "torchscript-fp16", "torchscript-bf16", "torchexport-fp32", "torchexport-fp16",
              "onnx-export", "onnx-fuse", "onnx-fp16", "onnx-int8"]
STAGING_DIR = ".staging"
TOOLCHAIN_PACKAGES = ("torch", "transformers", "tokenizers", "onnx", "onnxruntime", "onnxruntime-gpu",
                      "onnxruntime-cann", "numpy", "torch_npu")


@dataclass
class StepStats:
    step: str
    seconds: float
    peak_rss_mb: float  # of the process that ran the step


@dataclass
class ConvertResult:
    manifest: Manifest
    root: Path
    seconds: float
    steps: list[StepStats] = field(default_factory=list)
    variant_seconds: dict[str, float] = field(default_factory=dict)  # export + check time per variant
    variant_step: dict[str, str] = field(default_factory=dict)  # which step built each variant
    bucket_plan: BucketPlan | None = None  # the buckets planned from the user's texts (ConvertOptions.bucket_texts)

    @property
    def peak_rss_mb(self) -> float:
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return max([parent, *(s.peak_rss_mb for s in self.steps)])


def toolchain() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for package in TOOLCHAIN_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _model_shape(config: dict[str, Any]) -> tuple[int, int]:
    heads = config.get("num_attention_heads", config.get("n_heads"))
    hidden = config.get("hidden_size", config.get("dim"))
    if not heads or not hidden:
        raise ConversionError("config.json lacks num_attention_heads/hidden_size")
    return int(heads), int(hidden)


def _jobs(model_dir: Path, staging: Path, options: ConvertOptions, plans: list[VariantPlan], base: dict[str, Any]) -> list[Job]:
    """Split the plan into steps, one process each, in dependency order.

    fp16/int8 ONNX derive from the fp32 ONNX of the same shape, which is therefore built (and checked) even
    when fp32 itself was not asked for; fused variants are exported raw first, then fused in their own step.
    """
    steps: dict[str, list[tuple[VariantPlan, bool]]] = {}
    selected = {(p.format, p.precision, p.shape): p for p in plans}
    raw_shapes: list[str] = []
    for plan in plans:
        if plan.format in ("torchscript", "torchexport"):
            steps.setdefault(f"{plan.format}-{plan.precision}", []).append((plan, True))
    for shape in SHAPES:
        if not any(p.format == "onnx" and p.shape == shape for p in plans):
            continue
        record = ("onnx", "fp32", shape) in selected
        plan = selected.get(("onnx", "fp32", shape)) or VariantPlan("onnx", "fp32", shape, options.buckets if shape == "static" else ())
        if fused(options.fuse, shape):
            raw_shapes.append(shape)
            steps.setdefault("onnx-fuse", []).append((plan, record))
        steps.setdefault("onnx-export", [])
        if not fused(options.fuse, shape):
            steps["onnx-export"].append((plan, record))
    for plan in plans:
        if plan.format == "onnx" and plan.precision != "fp32":
            steps.setdefault(f"onnx-{plan.precision}", []).append((plan, True))
    return [
        Job(
            model_dir=str(model_dir), staging=str(staging), step=step,
            plans=[{"format": p.format, "precision": p.precision, "shape": p.shape, "record": record,
                    "buckets": [b.model_dump() for b in p.buckets]} for p, record in steps[step]],
            buckets=[b.model_dump() for b in options.buckets],
            raw_shapes=raw_shapes if step == "onnx-export" else [],
            **base,
        )
        for step in STEP_ORDER
        if step in steps
    ]


def _steps_total(jobs: list[Job]) -> int:
    """Progress units: one per file written (raw exports included)."""
    per_plan = sum(len(p["buckets"]) if p["shape"] == "static" else 1 for job in jobs for p in job.plans)
    raw = sum(len(job.buckets) if shape == "static" else 1 for job in jobs for shape in job.raw_shapes)
    return per_plan + raw


def _dedupe(staging: Path, variants: list[dict[str, Any]]) -> list[Variant]:
    """Share identical files: a static variant whose bytes equal another file keeps one copy."""
    by_hash: dict[str, str] = {}
    out = []
    for raw in variants:
        files = []
        for entry in raw["files"]:
            path = staging / entry["path"]
            digest = sha256_file(path)
            shared = by_hash.setdefault(digest, entry["path"])
            if shared != entry["path"]:
                path.unlink()
            files.append(VariantFile(path=shared, sha256=digest, bytes=(staging / shared).stat().st_size,
                                     bucket=entry["bucket"]))
        weights = FileRecord.of(staging, staging / raw["weights"]) if raw["weights"] else None
        out.append(Variant.model_validate({**raw, "files": files, "weights": weights}))
    return out


def _check_output(out_dir: Path) -> None:
    """Refuse a directory that is not ours: one with files but neither a manifest nor the journal of an interrupted
    publish (a conversion killed while publishing its first manifest leaves that journal: the re-run takes over)."""
    if (out_dir / MANIFEST_NAME).exists() or interrupted_publish(out_dir):
        return
    ours = {STAGING_DIR, ARTIFACTS_LOCK, WORK_DIR}
    if any(p.name not in ours and not (p.name.startswith(".") and p.name.endswith(".tmp")) for p in out_dir.iterdir()):
        raise ConversionError(f"output {out_dir} is a non-empty directory without an npuport manifest; refusing to write into it")


def convert_model(
    model_dir: Path,
    out_dir: Path,
    options: ConvertOptions | None = None,
    progress: Progress | None = None,
    isolate: bool = True,
) -> ConvertResult:
    """Export `model_dir` into `out_dir`; returns the manifest written there.

    Holds `out_dir/.npuport.lock` from the first write to the last (a second run into the same directory is refused
    at once, naming this one's pid); builds in `out_dir/.staging`, then `publish` makes the result live."""
    started = time.perf_counter()
    options = options or ConvertOptions()
    progress = reporter(progress)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    config = read_config(model_dir)
    find_weights(model_dir)
    tokenizer = load_tokenizer(model_dir, config)
    max_length = model_max_length(config, tokenizer)
    bucket_plan = None
    if options.bucket_texts is not None:
        bucket_plan = plan_buckets(token_lengths(tokenizer, read_texts(options.bucket_texts), max_length), max_length)
        options = replace(options, buckets=tuple(bucket_plan.buckets))
    plans = plan_variants(options)
    if "openvino" in options.engines:
        import_openvino()  # before the slow work
    if any(p.shape == "static" for p in plans):
        check_buckets(list(options.buckets), max_length)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConversionError(f"output {out_dir} exists and is not a directory")
    remove_orphaned_temporaries(JOB_PREFIX)

    def build(staging: Path, lock_fd: int) -> ConvertResult:
        run = functools.partial(run_in_child, lock_fd=lock_fd) if isolate else execute_job
        return _build(model_dir, staging, config, tokenizer, max_length, options, plans, run, progress)

    built = build_and_publish(out_dir, build)
    return replace(built, seconds=time.perf_counter() - started, bucket_plan=bucket_plan)


def build_and_publish(out_dir: Path, build: Callable[[Path, int], ConvertResult]) -> ConvertResult:
    """Under the output lock, `build(staging, lock_fd)` the files and their manifest into `out_dir/.staging`, then
    `publish` them; validations of unchanged files are kept. Shared by convert and import."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with artifacts_lock(out_dir) as lock_fd:
        _check_output(out_dir)
        staging = fresh_directory(out_dir / STAGING_DIR)
        try:
            built = build(staging, lock_fd)
            previous = live_manifest(out_dir)  # read now: validations recorded while we built are kept too
            manifest = built.manifest.model_copy(update={
                "validations": still_current(previous.validations, built.manifest.variants) if previous else [],
            })  # unchanged files keep their verdicts
            publish(staging, out_dir, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        remove_stale_temporaries(out_dir)
    return replace(built, manifest=manifest, root=out_dir)


def stage_inputs(staging: Path, tokenizer: Any, input_names: list[str], seq_len: int) -> GoldenInputs:
    """The golden inputs (bundled corpus texts, tokenized) and the tokenizer, saved into `staging`."""
    examples = golden_selection()
    golden = golden_inputs(TextEncoder(tokenizer, input_names, seq_len), [e.id for e in examples], [e.text for e in examples])
    golden.save(staging / INPUTS_FILE)
    tokenizer.save_pretrained(str(staging / "tokenizer"))
    return golden


def _build(model_dir: Path, staging: Path, config: dict[str, Any], tokenizer: Any, max_length: int,
           options: ConvertOptions, plans: list[VariantPlan], run: Any, progress: Progress) -> ConvertResult:
    """Every file of the matrix into `staging`, each checked, and the manifest naming them (not yet saved)."""
    seq_len = golden_seq_len(max_length, options.buckets)
    input_names = model_inputs(config, tokenizer)
    golden = stage_inputs(staging, tokenizer, input_names, seq_len)
    spec = architecture(config["model_type"])
    if spec.fusion is None:  # nothing ORT's optimizer could fuse: every ONNX variant stays standard ops
        options = replace(options, fuse="none")
    heads, hidden = _model_shape(config) if spec.fusion else (0, 0)
    problem, threshold = problem_type(config), decision_threshold(config)
    base = {
        "opset": options.opset, "fuse": options.fuse, "pad_token_id": int(tokenizer.pad_token_id or 0),
        "activation": "sigmoid" if problem == "multi_label_classification" else "softmax",
        "input_names": input_names, "num_labels": len(config["id2label"]), "num_heads": heads, "hidden_size": hidden,
        "max_length": max_length, "threshold": threshold, **_int8_fields(options), "fusion_type": spec.fusion or "",
        "fp16_keep_fp32": spec.fp16_keep_fp32,
    }
    jobs = _jobs(model_dir, staging, options, plans, base)
    progress(total(_steps_total(jobs)))
    stats, raw_variants, facts = [], [], None
    variant_seconds: dict[str, float] = {}
    variant_step: dict[str, str] = {}
    for job in jobs:
        result = run(job, progress)
        for raw in result["variants"]:
            variant_seconds[raw["id"]] = raw.pop("seconds")
            variant_step[raw["id"]] = job.step
        raw_variants += result["variants"]
        facts = facts or result.get("source")
        stats.append(StepStats(job.step, result["seconds"], result["peak_rss_mb"]))
    assert facts is not None, "the first step always loads the model"
    variants = _dedupe(staging, raw_variants)
    if "openvino" in options.engines:
        from npuport.convert.engines import openvino_variants

        variants += openvino_variants(staging, variants, golden, load_reference(staging / REFERENCE_FILE),
                                      base["activation"], base["pad_token_id"])
    root_record = lambda rel: FileRecord.of(staging, staging / rel)  # noqa: E731
    tokenizer_files = sorted(p for p in (staging / "tokenizer").rglob("*") if p.is_file())
    source = source_info(model_dir, config, tokenizer, find_weights(model_dir), facts["architecture"], facts["parameters"])
    manifest = Manifest(
        source=source,
        tokenizer=TokenizerInfo(class_name=type(tokenizer).__name__, files=[FileRecord.of(staging, p) for p in tokenizer_files]),
        toolchain=toolchain(),
        variants=variants,
        golden=GoldenInfo(inputs=root_record(INPUTS_FILE), reference=root_record(REFERENCE_FILE),
                          texts=len(golden.ids), seq_len=seq_len),
        peer_config=root_record(PEER_CONFIG),
    )
    return ConvertResult(manifest=manifest, root=staging, seconds=0.0, steps=stats,
                         variant_seconds=variant_seconds, variant_step=variant_step)


def _int8_fields(options: ConvertOptions) -> dict[str, str]:
    """The int8 weights' scheme for the CPU class the artifacts are built for (core.int8), as the job carries it."""
    choice = choose_int8(options.int8_weights, options.cpu_class)
    return {"int8_weights": choice.scheme, "int8_chosen_for": choice.chosen_for, "int8_why": choice.why}
