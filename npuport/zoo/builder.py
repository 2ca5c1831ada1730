"""Building a zoo model directory and caching it: tokenizer → initial model → recipe → decisiveness → layout, staged
beside the final directory and renamed into place, with a `.zoo.json` build record whose fingerprint makes a later
`build` of the same spec and corpus a no-op. (Named builder, not build, so that `zoo.build` stays the function.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from npuport.core.errors import ModelLoadError
from npuport.core.files import staged_directory, write_text_atomic
from npuport.zoo.layout import save_model
from npuport.zoo.metrics import decisiveness
from npuport.zoo.recipes import initial_model, train
from npuport.zoo.specs import ZOO, ZooSpec
from npuport.zoo.tokenizers import SCRATCH_DIRS, build_tokenizer

DEFAULT_ROOT = Path("artifacts/zoo")
RECORD = ".zoo.json"


def build_model_dir(spec: ZooSpec, out: Path) -> Path:
    """Build tokenizer + decisive model for `spec` into `out` (replaced atomically as a directory)."""
    import torch

    torch.manual_seed(spec.seed)
    with staged_directory(out) as staging:
        tokenizer = build_tokenizer(spec, staging)
        model = initial_model(spec, tokenizer)
        record: dict[str, Any] = {"name": spec.name, "fingerprint": spec.fingerprint(),
                                  "parameters": sum(p.numel() for p in model.parameters())}
        if spec.recipe != "none":  # an untrained model is not decisive: nothing to measure
            train(model, tokenizer, spec)
            report = decisiveness(model, tokenizer, spec.lang, spec.labels)
            record |= {"decisive": report.decisive} | asdict(report)
        save_model(spec, model, tokenizer, staging)
        for scratch in SCRATCH_DIRS:
            shutil.rmtree(staging / scratch, ignore_errors=True)
        write_text_atomic(staging / RECORD, json.dumps(record, ensure_ascii=False, indent=2))
    return out


def build(name: str, root: Path = DEFAULT_ROOT, force: bool = False) -> tuple[Path, bool]:
    """Build one zoo model (cached by spec + corpus fingerprint). Returns (dir, built_now)."""
    if name not in ZOO:
        raise ModelLoadError(f"unknown zoo model {name!r}; available: {', '.join(ZOO)}")
    spec = ZOO[name]
    out = root / name
    stamp = out / RECORD
    if not force and stamp.exists():
        try:
            if json.loads(stamp.read_text())["fingerprint"] == spec.fingerprint():
                return out, False
        except (ValueError, KeyError):
            pass
    return build_model_dir(spec, out), True


def build_record(path: Path) -> dict[str, Any]:
    """The build record (`.zoo.json`) of a zoo model: fingerprint, parameters and its decisiveness measurements."""
    try:
        return json.loads((path / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not a built zoo model: {exc}") from exc
