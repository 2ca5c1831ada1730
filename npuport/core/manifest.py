"""The manifest: the typed, versioned contract between convert, runtime, validate and package.

No torch import here: reading a manifest must stay cheap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from npuport import __version__
from npuport.core.clock import utc_now
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.files import sha256_file, write_text_atomic
from npuport.core.paths import opened_path, relative_path_problem, shown
from npuport.core.sums import SUMS_FILE

SCHEMA_VERSION = "1.6"  # 1.1: Variant.quantization, Validation.platform; 1.2: Variant.tuning; 1.3: Manifest.peer_config, Variant.weights;
# 1.4: Quantization.chosen_for/exact_on, Variant.engine; 1.5: Platform.precision_mode, Platform.placement;
# 1.6: PackageInfo.files
MANIFEST_NAME = "manifest.json"

Format = Literal["torchscript", "onnx", "torchexport"]
Engine = Literal["onnxruntime", "openvino"]  # who runs an ONNX variant's file
Precision = Literal["fp32", "fp16", "bf16", "int8"]
ShapeMode = Literal["dynamic", "static"]
Verdict = Literal["passed", "failed", "not validated"]  # the one spelling of a manifest verdict, wherever it is shown
# The largest static shape npuport builds or reads: a bucket beyond it is a typo, not a plan (16x128 is typical).
MAX_BATCH = 4096
MAX_SEQ = 65536


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bucket(_Model):
    """One static shape: batch × sequence."""

    batch: int = Field(gt=0, le=MAX_BATCH)
    seq: int = Field(gt=0, le=MAX_SEQ)

    @property
    def label(self) -> str:
        return f"b{self.batch}s{self.seq}"

    def __str__(self) -> str:
        return f"{self.batch}x{self.seq}"


class TensorSpec(_Model):
    name: str
    dtype: Literal["int64", "int32", "float32", "float16", "bfloat16"]
    shape: list[Annotated[int, Field(gt=0)] | str]  # str: a symbolic dimension ("batch", "sequence")


def _inside(path: str) -> str:
    """A path read from a manifest names a file inside its directory: relative, POSIX, no `..`."""
    problem = relative_path_problem(path)
    if problem:
        raise ValueError(f"{shown(repr(path), 100)}: {problem}")
    return path


class FileRecord(_Model):
    path: str  # relative to the artifacts root, POSIX separators, never outside it
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)

    _path_inside = field_validator("path")(_inside)

    @classmethod
    def of(cls, root: Path, path: Path) -> FileRecord:
        return cls(path=path.relative_to(root).as_posix(), sha256=sha256_file(path), bytes=path.stat().st_size)

    def verify(self, root: Path, listed: Mapping[str, str] | None = None) -> Path:
        """Return the absolute path after checking that the file exists and matches its sha256 — and, in a package
        (`listed`: its SHA256SUMS), that it is listed there with that digest too. Hashed once."""
        if listed is not None and self.path not in listed:
            raise IntegrityError(f"{self.path} is not listed in {SUMS_FILE}: the package was modified")
        full = opened_path(root, self.path)
        actual = sha256_file(full)
        if listed is not None and actual != listed[self.path]:
            raise IntegrityError(f"{self.path} does not match {SUMS_FILE}: the package was modified or truncated")
        if actual != self.sha256:
            raise IntegrityError(
                f"{self.path} does not match the manifest (sha256 {actual[:12]}… != {self.sha256[:12]}…): "
                "the file was modified or truncated"
            )
        return full


def specs_at(specs: list[TensorSpec], bucket: Bucket | None) -> list[TensorSpec]:
    if bucket is None:
        return specs
    fixed = {"batch": bucket.batch, "sequence": bucket.seq}
    return [s.model_copy(update={"shape": [fixed.get(d, d) if isinstance(d, str) else d for d in s.shape]}) for s in specs]


class VariantFile(FileRecord):
    bucket: Bucket | None = None  # None for a dynamic variant's single file


class ExportCheck(_Model):
    """The sanity check convert runs right after writing a variant (not the validation gate)."""

    texts: int
    max_abs_prob_error: float
    tolerance: float
    top1_agreement: float


class Quantization(_Model):
    """How an int8 variant was quantized: what decides whether its arithmetic is the same on another CPU."""

    method: Literal["dynamic", "static-qdq"]
    weights: Literal["uint8", "int8"]
    activations: Literal["uint8", "int8"]
    granularity: Literal["per-tensor", "per-channel"]
    reduce_range: bool
    kept_fp32: str  # which node roles stayed fp32 ("none", "ffn-output, embeddings", …)
    fp32_nodes: list[str]
    why: str
    chosen_for: str = "portable"  # the CPU class the scheme was chosen for (core.int8.scheme_for); portable: unknown
    exact_on: list[str] | None = None  # CPU classes whose int8 kernels compute it exactly; None: every CPU

    @property
    def label(self) -> str:
        """ONNX Runtime's name for the kernel pair (activations, weights), e.g. U8U8-per-channel, and what stayed fp32."""
        kind = "".join("U8" if dtype == "uint8" else "S8" for dtype in (self.activations, self.weights))
        return f"{kind}-{self.granularity}" + ("-reduce-range" if self.reduce_range else "") + \
            ("" if self.kept_fp32 == "none" else f", fp32: {self.kept_fp32}")


class TuningStep(_Model):
    """One candidate `npuport tune` built: how much it kept in fp32, what that bought, and its verdict."""

    method: str  # dynamic | static-qdq | fp16-keep-fp32
    kept: int  # nodes kept in fp32 in this candidate
    added: str  # the block whose nodes this step added to the kept ones
    bytes: int
    speed_vs_fp32: float  # fp32 ONNX time over this candidate's, same run, golden texts
    passed: bool
    failures: list[str]
    cosine_min: float
    max_abs_error: float
    top1_agreement: float
    real_flips: int | None


class Tuning(_Model):
    """How `npuport tune` built a variant: from which, calibrated on what, what it kept in fp32 and why (the steps)."""

    base: str  # the variant it was derived from (onnx-fp32-dynamic)
    method: Literal["dynamic", "static-qdq", "fp16-keep-fp32"]
    calibration: str | None  # minmax | entropy | percentile (int8)
    calibration_texts: str | None
    calibration_sha256: str | None
    smoothing: str | None = None  # int8: the SmoothQuant α applied before quantizing, and how it was chosen
    kept_fp32: list[str]  # node names of the base graph that compute in fp32
    steps: list[TuningStep]
    keep_list: FileRecord | None = None  # the same nodes as an ATC --keep_dtype file (fp16)


class Variant(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # names files (atc/ID.sh) and Triton models
    format: Format
    precision: Precision
    shape: ShapeMode
    buckets: list[Bucket] = []
    files: list[VariantFile]
    weights: FileRecord | None = None  # ONNX external data its graphs read: the buckets of a static variant share one
    opset: int | None = None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    transforms: list[str] = []
    quantization: Quantization | None = None  # int8 variants: the scheme
    tuning: Tuning | None = None  # variants `npuport tune` built: the recipe
    engine: Engine | None = None  # ONNX only: None runs on ONNX Runtime; openvino: OpenVINO at `precision` (its hint)
    export_check: ExportCheck

    @model_validator(mode="after")
    def _files_match_shape(self) -> Variant:
        """A dynamic variant: files without buckets; a static one: exactly one file per bucket it lists."""
        if not self.files:
            raise ValueError(f"variant {self.id} lists no files")
        buckets = [record.bucket for record in self.files]
        if self.shape == "dynamic" and (self.buckets or any(b is not None for b in buckets)):
            raise ValueError(f"dynamic variant {self.id} lists buckets")
        if self.shape == "static" and (not self.buckets or None in buckets or len(set(self.buckets)) != len(self.buckets)
                                       or sorted(map(str, buckets)) != sorted(map(str, self.buckets))):
            raise ValueError(f"static variant {self.id} must list one file per bucket")
        return self

    @property
    def digest(self) -> str:
        """The variant's identity for validation records: its file's sha256, or for several files
        (static buckets, shared weights) the sha256 of their "path sha256" lines — any changed file changes it."""
        records = self.records
        if len(records) == 1:
            return records[0].sha256
        lines = sorted(f"{record.path} {record.sha256}" for record in records)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def runs_on_base_install(self) -> bool:
        """ONNX on ONNX Runtime: what `pip install npuport` runs (TorchScript and .pt2 need torch, OpenVINO its own)."""
        return self.format == "onnx" and self.engine is None

    @property
    def records(self) -> list[FileRecord]:
        """Every file it loads: its graphs or programs, then the weights file they share (if any)."""
        return [*self.files, *([self.weights] if self.weights else [])]

    @property
    def load_bytes(self) -> int:
        """Bytes of the distinct files it loads: what a deployment of this variant ships."""
        return sum({record.path: record.bytes for record in self.records}.values())

    def specs_at(self, bucket: Bucket | None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        """Input and output specs with the symbolic dims fixed to `bucket` (unchanged for None)."""
        return specs_at(self.inputs, bucket), specs_at(self.outputs, bucket)

    def file_for(self, bucket: Bucket | None) -> VariantFile:
        for record in self.files:
            if record.bucket == bucket:
                return record
        raise ManifestError(f"variant {self.id} has no file for bucket {bucket}")


class SourceInfo(_Model):
    path: str
    architecture: str
    model_type: str
    num_labels: int = Field(gt=0, le=1_000_000)
    id2label: dict[int, str]
    problem_type: Literal["multi_label_classification", "single_label_classification"]
    threshold: float = Field(ge=0, le=1)
    max_length: int = Field(gt=0, le=MAX_SEQ)
    parameters: int
    weights_sha256: str
    input_names: list[str]
    coverage: str = ""  # how its model_type converts (model.architectures): "generic path, no fusion" without a spec

    @model_validator(mode="after")
    def _labels_match(self) -> SourceInfo:
        if len(self.id2label) != self.num_labels or sorted(self.id2label) != list(range(self.num_labels)):
            raise ValueError(f"id2label must have the ids 0..{self.num_labels - 1} (num_labels {self.num_labels})")
        return self

    @property
    def activation(self) -> Literal["sigmoid", "softmax"]:
        return "sigmoid" if self.problem_type == "multi_label_classification" else "softmax"

    @property
    def labels(self) -> list[str]:
        return [self.id2label[i] for i in range(self.num_labels)]


class TokenizerInfo(_Model):
    class_name: str
    files: list[FileRecord]

    @model_validator(mode="after")
    def _one_directory(self) -> TokenizerInfo:
        folders = {str(Path(record.path).parent) for record in self.files}
        if len(folders) > 1 or "." in folders:
            raise ValueError("the tokenizer's files must all lie in one folder below the root")
        return self

    @property
    def directory(self) -> str:
        return str(Path(self.files[0].path).parent) if self.files else "tokenizer"


class GoldenInfo(_Model):
    """Golden inputs (token ids of bundled corpus texts) and the fp32 eager CPU reference logits on them."""

    inputs: FileRecord
    reference: FileRecord
    texts: int
    seq_len: int


class Placement(_Model):
    """Where ONNX Runtime placed one accelerator session's nodes, from its own graph assignment record
    (`session.record_ep_graph_assignment_info`): the registered providers (`engine`) say what could run, not what did."""

    file: str  # the variant file the session ran
    provider: str  # the accelerator's execution provider, e.g. CANNExecutionProvider
    nodes: int  # graph nodes it took
    partitions: int  # subgraphs it took: a compiling provider (CANN) builds one per partition, split where it cannot go on
    cpu_ops: dict[str, int] = Field(default_factory=dict)  # op type → nodes that stayed on the CPU provider

    def describe(self) -> str:
        took = f"{self.provider} ran {self.nodes} nodes in {self.partitions} partition{'s' * (self.partitions != 1)}"
        if not self.cpu_ops:
            return took + ", none on the CPU"
        return took + "; on the CPU: " + ", ".join(f"{op}×{n}" for op, n in sorted(self.cpu_ops.items()))


class Platform(_Model):
    """Where a verdict was reached. Kernels differ between machines (ORT's int8 on AVX2 is not the arithmetic of
    AVX-512 VNNI), so a verdict holds for this CPU class, engine and library versions: `verify` replays elsewhere.
    On an accelerator it also holds for how its compiler was told to treat dtypes and where the nodes ran."""

    cpu_class: str
    cpu_features: list[str]
    engine: str  # the runtime and its registered providers, e.g. "onnxruntime (CPUExecutionProvider)" or "torch (cpu)"
    versions: dict[str, str]  # the runtime libraries that computed the outputs
    precision_mode: str | None = None  # the accelerator compiler's dtype setting, e.g. "precision_mode=must_keep_origin_dtype"
    placement: list[Placement] = Field(default_factory=list)  # per accelerator session; empty on the CPU and for torch

    def describe(self) -> str:
        versions = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        text = f"{self.cpu_class}, {self.engine}" + (f", {versions}" if versions else "")
        if self.precision_mode:
            text += f", {self.precision_mode}"
        placed = sorted({p.describe() for p in self.placement})  # static buckets: one session per file, usually alike
        if placed:
            files = "" if len(placed) == 1 and len(self.placement) == 1 else f" ({len(self.placement)} sessions)"
            text += f"; {' | '.join(placed)}{files}"
        return text


class Validation(_Model):
    report: str  # relative to the artifacts root, or absolute for a report written elsewhere

    @field_validator("report")
    @classmethod
    def _report_path(cls, report: str) -> str:
        """Relative: inside the artifacts directory, like a file record; absolute: still canonical (no `..`)."""
        if report.startswith("/") and relative_path_problem(report[1:]) is None:
            return report
        return _inside(report)

    variant: str
    sha256: str  # the variant's digest (Variant.digest): its file's sha256, or for several files the digest of their list
    device: str
    profile: str
    passed: bool
    created: str
    platform: Platform | None = None  # None in records written before npuport recorded it

    @property
    def where(self) -> str:
        return self.platform.describe() if self.platform else "an unrecorded machine"

    @property
    def word(self) -> Verdict:
        return "passed" if self.passed else "failed"


class Parity(_Model):
    """`Manifest.parity`: the verdict of one variant's current files on one device, as other records carry it."""

    verdict: Verdict
    variant: str
    sha256: str
    device: str
    profile: str | None = None
    report: str | None = None
    created: str | None = None
    where: str | None = None


class PackageInfo(_Model):
    """Set in a package's manifest: what it was built for and the profile limits its variants passed."""

    device: str
    created: str
    source_artifacts: str
    profiles: dict[str, dict[str, float | int | str | None]]
    files: list[FileRecord] = []  # every file it ships that the rest of the manifest does not record (core.contents)


class Manifest(_Model):
    schema_version: str = SCHEMA_VERSION
    npuport_version: str = __version__
    created: str = Field(default_factory=utc_now)
    source: SourceInfo
    tokenizer: TokenizerInfo
    toolchain: dict[str, str]
    variants: list[Variant]
    golden: GoldenInfo
    validations: list[Validation] = []
    package: PackageInfo | None = None
    peer_config: FileRecord | None = None  # config.json for peer tools (Optimum); None in artifacts from before 1.3

    @model_validator(mode="after")
    def _variants_fit_the_source(self) -> Manifest:
        """Every variant takes the inputs the source lists ([batch, sequence] int64 token ids, which the runtime feeds) and
        gives [batch, num_labels] logits; variant ids are unique. Else a damaged manifest would load and fail on predict."""
        names = sorted(self.source.input_names)
        seen: set[str] = set()
        for index, variant in enumerate(self.variants):
            where = f"variants.{index} ({variant.id})"
            if variant.id in seen:
                raise ValueError(f"{where}: the variant id is listed twice")
            seen.add(variant.id)
            if sorted(spec.name for spec in variant.inputs) != names:
                raise ValueError(f"{where}: inputs {[s.name for s in variant.inputs]} are not the model's {self.source.input_names}")
            if any(spec.shape != ["batch", "sequence"] or spec.dtype != "int64" for spec in variant.inputs):
                raise ValueError(f"{where}: every input must be int64 of shape [batch, sequence]")
            if not variant.outputs or variant.outputs[0].shape != ["batch", self.source.num_labels]:
                raise ValueError(f"{where}: the first output must have shape [batch, {self.source.num_labels}]")
        self._each_file_once()
        return self

    def _each_file_once(self) -> None:
        """One path, one digest; and variants that read one file store one format and precision (TorchScript's
        dynamic and static share a program; an OpenVINO variant reads the fp32 graph at its own precision hint): a
        variant pointed at another precision's file, re-hashed, is refused here, where only a replay could tell."""
        digests: dict[str, FileRecord] = {}
        readers: dict[str, Variant] = {}
        extras = [*self.tokenizer.files, self.golden.inputs, self.golden.reference, *([self.peer_config] if self.peer_config else [])]
        for variant in self.variants:
            for record in variant.records:
                first = readers.setdefault(record.path, variant) if variant.engine is None else variant
                if (first.format, first.precision) != (variant.format, variant.precision):
                    raise ValueError(f"{record.path} is read by both {first.id} and {variant.id}: one of them is not "
                                     "the variant it says it is")
            extras += variant.records
        for record in extras:
            first = digests.setdefault(record.path, record)
            if (first.sha256, first.bytes) != (record.sha256, record.bytes):
                raise ValueError(f"{record.path} is recorded twice with different digests or sizes")

    def variant(self, variant_id: str) -> Variant:
        for variant in self.variants:
            if variant.id == variant_id:
                return variant
        available = ", ".join(v.id for v in self.variants) or "none"
        raise ManifestError(f"unknown variant {variant_id!r}; available: {available}")

    def validations_of(self, variant: Variant, device: str) -> list[Validation]:
        """Records for exactly these files (the variant's digest) on exactly this device, oldest first. A record for
        other bytes, or for another device (cuda:1 for cuda:0: another card, another driver), says nothing about
        what runs here."""
        return [v for v in self.validations if v.variant == variant.id and v.device == device and v.sha256 == variant.digest]

    def verdict(self, variant: Variant, device: str) -> Validation | None:
        """The latest validation of `variant`'s current files on `device`; None: not validated there."""
        records = self.validations_of(variant, device)
        return records[-1] if records else None

    def passing(self, variant: Variant, device: str) -> Validation | None:
        """The verdict when it is a pass: only such a variant may be packaged, ranked or shipped for `device`."""
        record = self.verdict(variant, device)
        return record if record is not None and record.passed else None

    def why_not(self, variant: Variant, device: str) -> str | None:
        """Why `variant` has no passing verdict on `device`, in words; None when it has one."""
        records = [v for v in self.validations if v.variant == variant.id]
        here = [v for v in records if v.device == device]
        if not records:
            return "never validated"
        if not here:
            return f"validated only on {', '.join(sorted({v.device for v in records}))}, not on {device}"
        if here[-1].sha256 != variant.digest:
            return f"its files changed since the validation on {device}"
        return None if here[-1].passed else f"failed its {here[-1].profile} profile on {device}"

    def parity(self, variant: Variant, device: str) -> Parity:
        """The verdict as bench records and GET /metadata report it: one shape, the latest record's facts or None."""
        record = self.verdict(variant, device)
        if record is None:
            return Parity(verdict="not validated", variant=variant.id, sha256=variant.digest, device=device)
        return Parity(verdict=record.word, variant=variant.id, sha256=variant.digest, device=device,
                      profile=record.profile, report=record.report, created=record.created, where=record.where)

    def owned_bytes(self, variant: Variant) -> int:
        """Bytes of the files `variant` is the first to list (0 when it only shares another variant's files)."""
        owner: dict[str, str] = {}
        for v in self.variants:
            for record in v.records:
                owner.setdefault(record.path, v.id)
        return sum({r.path: r.bytes for r in variant.records if owner[r.path] == variant.id}.values())

    def all_files(self, variants: list[Variant] | None = None) -> list[FileRecord]:
        """Every file the manifest vouches for — tokenizer, golden data and the files of `variants` (default: all) —
        each once."""
        records: dict[str, FileRecord] = {}
        chosen = self.variants if variants is None else variants
        extras = [v.tuning.keep_list for v in chosen if v.tuning and v.tuning.keep_list]
        extras += [self.peer_config] if self.peer_config else []
        for record in [*self.tokenizer.files, self.golden.inputs, self.golden.reference, *extras]:
            records[record.path] = record
        for variant in chosen:
            for record in variant.records:
                records.setdefault(record.path, record)
        return list(records.values())

    def verify_files(self, root: Path, variants: list[Variant] | None = None, listed: Mapping[str, str] | None = None) -> int:
        """Check the sha256 of every file `all_files(variants)` lists before anything uses them (in a package, against
        its SHA256SUMS `listed` too), and that the tokenizer's folder holds nothing else; returns the count."""
        records = self.all_files(variants)
        for record in records:
            record.verify(root, listed)
        self.check_tokenizer_folder(root)
        return len(records)

    def check_tokenizer_folder(self, root: Path) -> None:
        """Refuse files beside the tokenizer's that the manifest does not list: tokenizer loaders read whatever the
        folder holds (an added_tokens.json changes how texts are split), so an unlisted file would change answers
        while every listed hash still matches."""
        folder = root / self.tokenizer.directory
        if not folder.is_dir():
            return
        listed = {record.path for record in self.tokenizer.files}
        extra = sorted(rel for rel in (p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())
                       if rel not in listed)
        if extra:
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            raise IntegrityError(f"{shown(extra[0])}{more} is in the tokenizer folder but not in the manifest: it would change "
                                 "how texts are tokenized; remove it, or re-run `npuport convert`")

    def save(self, root: Path) -> Path:
        path = root / MANIFEST_NAME
        write_text_atomic(path, self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def load(cls, root: Path) -> Manifest:
        path = root / MANIFEST_NAME
        if not root.is_dir():
            raise ManifestError(f"{root} is not a directory of converted artifacts")
        if not path.is_file() and any(root.glob("*.onnx")):
            raise ManifestError(f"{root} looks like an ONNX export without a {MANIFEST_NAME}: run "
                                f"`npuport import {root} --source MODEL_DIR -o ARTIFACTS` to adopt it")
        if not path.is_file():
            raise ManifestError(f"no {MANIFEST_NAME} in {root}: run `npuport convert` first")
        opened_path(root, MANIFEST_NAME)
        return cls.parse(path.read_bytes(), path)

    @classmethod
    def parse(cls, data: bytes, path: Path) -> Manifest:
        """The manifest in `data` (read from `path`, which messages name), checked like `load` checks one."""
        try:
            raw = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ManifestError(f"{path} is not valid JSON: not UTF-8 (invalid byte at offset {exc.start})") from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; so is a 5,000-digit number
            raise ManifestError(f"{path} is not valid JSON: {shown(str(exc), 200)}") from None
        if not isinstance(raw, dict):
            raise ManifestError(f"{path} does not hold a manifest object")
        version = raw.get("schema_version")
        if not isinstance(version, str) or version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ManifestError(f"{path} has schema_version {shown(repr(version), 40)}; this npuport reads {SCHEMA_VERSION}")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = shown(".".join(str(p) for p in first["loc"]), 100)
            message = shown(first["msg"].removeprefix("Value error, "), 200)
            raise ManifestError(f"{path} is malformed{f' at {where}' if where else ''}: {message}") from None
        except RecursionError:
            raise ManifestError(f"{path} is malformed: nested too deeply") from None
