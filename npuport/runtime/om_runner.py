"""What `--target ascend` ships, run as it ships: the `.om` files ATC compiled from a package's `atc/` scripts, on the
NPU through Ascend's runtime (runtime.acl), one runner per compiled model.

Which files: in the folder given (`--om DIR`, where the scripts wrote them), the variant's gears model
(`<precision>-static-gears.om`, every bucket in one model) if present, else one `.om` per bucket; names from
core.atc, the home the scripts take them from too. The classifier already pads each batch up to the smallest bucket
that holds it; the runner refuses any shape that is not exactly one of its compiled gears (ACL would). Only the
scripts' own route (`must_keep_origin_dtype`, what was validated) is run here: a `.mixed` model computes what the fp16
tuned variant validated, so it is compared with msit (`atc/<variant>.compare.sh`), not replayed under the fp32 profile.

NOT run on Ascend hardware; see runtime.acl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.atc import MIN_GEARS, om_stem
from npuport.core.devices import Device
from npuport.core.errors import InputError
from npuport.core.files import sha256_file
from npuport.core.manifest import Bucket, Manifest, TensorSpec, Variant
from npuport.runtime import acl
from npuport.runtime.runner import Runner

OM_PRECISION_MODE = "atc --precision_mode=must_keep_origin_dtype"  # how every .om run here was compiled (package.atc)


class OmRunner(Runner):
    def __init__(self, path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec], device: Device,
                 gears: tuple[Bucket, ...]) -> None:
        super().__init__(f"om:{path.name}@{device}", inputs, outputs)
        self.path, self.device, self.gears = path, device, gears
        self.digest = sha256_file(path)
        self._session: Any = None

    @property
    def compiled(self) -> str:
        """Which compiled model this is, for the verdict's platform: its name and digest."""
        return f"{self.path.name} sha256 {self.digest[:12]}"

    def _activate_impl(self) -> None:
        self._session = acl.open_session(self.path, self.device.index)

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        batch, seq = feed[self.inputs[0].name].shape
        if Bucket(batch=batch, seq=seq) not in self.gears:
            raise InputError(f"{self.path.name} was compiled for {', '.join(map(str, self.gears))}, not {batch}x{seq}")
        return acl.run(self._session, [feed[spec.name] for spec in self.inputs], len(self.gears) > 1)

    def _deactivate_impl(self) -> None:
        acl.close(self._session)
        self._session = None


def installed_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def om_default(manifest: Manifest, om_dir: Path) -> tuple[Variant, str]:
    """With `--om` and no variant named: the static ONNX variant whose `.om` files are in `om_dir`, fp16 first (what
    `--target ascend` prefers)."""
    for precision in ("fp16", "fp32"):
        for variant in manifest.variants:
            if (variant.format, variant.precision, variant.shape) == ("onnx", precision, "static") and \
                    _om_files(om_dir, variant)[1] == []:
                return variant, f"its .om files are in {om_dir}"
    raise InputError(f"--om {om_dir}: no static ONNX variant of these artifacts has its .om files there; run the "
                     "package's atc/ scripts with this folder")


def _om_files(om_dir: Path, variant: Variant) -> tuple[dict[Bucket, Path], list[str]]:
    """Per bucket, the .om that computes it (the gears model if there, else the bucket's own), and the missing names."""
    gears = om_dir / f"{om_stem(variant, None)}.om"
    if gears.is_file() and len(variant.buckets) >= MIN_GEARS:
        return dict.fromkeys(variant.buckets, gears), []
    per_bucket = {bucket: om_dir / f"{om_stem(variant, bucket)}.om" for bucket in variant.buckets}
    return per_bucket, [path.name for path in per_bucket.values() if not path.is_file()]


def om_runners(om_dir: Path, variant: Variant, device: Device) -> dict[Bucket | None, Runner]:
    """Per bucket of `variant`, the runner of the `.om` that computes it (not activated)."""
    if device.type != "npu":
        raise InputError(f"--om runs Ascend offline models on an NPU: give --device npu, not {device}")
    if variant.format != "onnx" or variant.shape != "static":
        raise InputError(f"{variant.id} has no .om: ATC compiles the static ONNX variants (atc/ in a package)")
    if not om_dir.is_dir():
        raise InputError(f"--om {om_dir}: not a folder (the one the package's atc/ scripts wrote the .om files to)")
    files, missing = _om_files(om_dir, variant)
    if missing:
        raise InputError(f"--om {om_dir} holds neither {om_stem(variant, None)}.om nor every bucket's .om "
                         f"({', '.join(missing)} missing): run the package's atc/{variant.id}.gears.sh or "
                         f"atc/{variant.id}.sh with this folder")
    if len(set(files.values())) == 1 and len(variant.buckets) > 1:
        runner = OmRunner(next(iter(files.values())), variant.inputs, variant.outputs, device, tuple(variant.buckets))
        return dict.fromkeys(variant.buckets, runner)
    return {bucket: OmRunner(path, *variant.specs_at(bucket), device, (bucket,)) for bucket, path in files.items()}
