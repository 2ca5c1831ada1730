"""The manifest: the typed, versioned contract between convert, runtime, validate and package.

No torch import here: reading a manifest must stay cheap.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from npuport import __version__
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.files import sha256_file, write_text_atomic
from npuport.core.records import utc_now

SCHEMA_VERSION = "1.1"  # 1.1: Variant.quantization, Validation.platform
MANIFEST_NAME = "manifest.json"

Format = Literal["torchscript", "onnx"]
Precision = Literal["fp32", "fp16", "bf16", "int8"]
ShapeMode = Literal["dynamic", "static"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bucket(_Model):
    """One static shape: batch × sequence."""

    batch: int = Field(gt=0)
    seq: int = Field(gt=0)

    @property
    def label(self) -> str:
        return f"b{self.batch}s{self.seq}"

    def __str__(self) -> str:
        return f"{self.batch}x{self.seq}"


class TensorSpec(_Model):
    name: str
    dtype: str
    shape: list[int | str]


class FileRecord(_Model):
    path: str  # relative to the artifacts root, POSIX separators
    sha256: str
    bytes: int

    @classmethod
    def of(cls, root: Path, path: Path) -> FileRecord:
        return cls(path=path.relative_to(root).as_posix(), sha256=sha256_file(path), bytes=path.stat().st_size)

    def verify(self, root: Path) -> Path:
        """Return the absolute path after checking that the file exists and matches its sha256."""
        full = root / self.path
        if not full.is_file():
            raise IntegrityError(f"{self.path} is missing from {root}")
        actual = sha256_file(full)
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

    @property
    def label(self) -> str:
        """ONNX Runtime's name for the kernel pair (activations, weights), e.g. U8U8-per-channel, and what stayed fp32."""
        kind = "".join("U8" if dtype == "uint8" else "S8" for dtype in (self.activations, self.weights))
        return f"{kind}-{self.granularity}" + ("-reduce-range" if self.reduce_range else "") + \
            ("" if self.kept_fp32 == "none" else f", fp32: {self.kept_fp32}")


class Variant(_Model):
    id: str
    format: Format
    precision: Precision
    shape: ShapeMode
    buckets: list[Bucket] = []
    files: list[VariantFile]
    opset: int | None = None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    transforms: list[str] = []
    quantization: Quantization | None = None  # int8 variants: the scheme
    export_check: ExportCheck

    @property
    def digest(self) -> str:
        """The variant's identity for validation records: its file's sha256, or for several files
        (static buckets) the sha256 of their "path sha256" lines — any changed file changes it."""
        if len(self.files) == 1:
            return self.files[0].sha256
        lines = sorted(f"{record.path} {record.sha256}" for record in self.files)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def load_bytes(self) -> int:
        """Bytes of the distinct files it loads: what a deployment of this variant ships."""
        return sum({record.path: record.bytes for record in self.files}.values())

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
    num_labels: int
    id2label: dict[int, str]
    problem_type: Literal["multi_label_classification", "single_label_classification"]
    threshold: float
    max_length: int
    parameters: int
    weights_sha256: str
    input_names: list[str]

    @property
    def activation(self) -> Literal["sigmoid", "softmax"]:
        return "sigmoid" if self.problem_type == "multi_label_classification" else "softmax"

    @property
    def labels(self) -> list[str]:
        return [self.id2label[i] for i in range(self.num_labels)]


class TokenizerInfo(_Model):
    class_name: str
    files: list[FileRecord]

    @property
    def directory(self) -> str:
        return str(Path(self.files[0].path).parent) if self.files else "tokenizer"


class GoldenInfo(_Model):
    """Golden inputs (token ids of bundled corpus texts) and the fp32 eager CPU reference logits on them."""

    inputs: FileRecord
    reference: FileRecord
    texts: int
    seq_len: int


class Platform(_Model):
    """Where a verdict was reached. Kernels differ between machines (ORT's int8 on AVX2 is not the arithmetic of
    AVX-512 VNNI), so a verdict holds for this CPU class, engine and library versions: `verify` replays elsewhere."""

    cpu_class: str
    cpu_features: list[str]
    engine: str  # what really ran, e.g. "onnxruntime (CPUExecutionProvider)" or "torch (cpu)"
    versions: dict[str, str]  # the runtime libraries that computed the outputs

    def describe(self) -> str:
        versions = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        return f"{self.cpu_class}, {self.engine}" + (f", {versions}" if versions else "")


class Validation(_Model):
    report: str
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


class PackageInfo(_Model):
    """Set in a package's manifest: what it was built for and the profile limits its variants passed."""

    device: str
    created: str
    source_artifacts: str
    profiles: dict[str, dict[str, float | int | str | None]]


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

    def owned_bytes(self, variant: Variant) -> int:
        """Bytes of the files `variant` is the first to list (0 when it only shares another variant's files)."""
        owner: dict[str, str] = {}
        for v in self.variants:
            for record in v.files:
                owner.setdefault(record.path, v.id)
        return sum({r.path: r.bytes for r in variant.files if owner[r.path] == variant.id}.values())

    def all_files(self, variants: list[Variant] | None = None) -> list[FileRecord]:
        """Every file the manifest vouches for — tokenizer, golden data and the files of `variants` (default: all) —
        each once."""
        records: dict[str, FileRecord] = {}
        for record in [*self.tokenizer.files, self.golden.inputs, self.golden.reference]:
            records[record.path] = record
        for variant in self.variants if variants is None else variants:
            for record in variant.files:
                records.setdefault(record.path, record)
        return list(records.values())

    def verify_files(self, root: Path, variants: list[Variant] | None = None) -> int:
        """Check the sha256 of every file `all_files(variants)` lists before anything uses them; returns the count."""
        records = self.all_files(variants)
        for record in records:
            record.verify(root)
        return len(records)

    def save(self, root: Path) -> Path:
        path = root / MANIFEST_NAME
        write_text_atomic(path, self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def load(cls, root: Path) -> Manifest:
        path = root / MANIFEST_NAME
        if not root.is_dir():
            raise ManifestError(f"{root} is not a directory of converted artifacts")
        if not path.is_file():
            raise ManifestError(f"no {MANIFEST_NAME} in {root}: run `npuport convert` first")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ManifestError(f"{path} does not hold a manifest object")
        major = str(raw.get("schema_version", "")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise ManifestError(
                f"{path} has schema_version {raw.get('schema_version')!r}; this npuport reads {SCHEMA_VERSION}"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ManifestError(f"{path} is malformed at {where}: {first['msg']}") from exc
