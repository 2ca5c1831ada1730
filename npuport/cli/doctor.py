"""`npuport doctor`: where parity breaks, layer by layer against the fp32 eager reference."""

from __future__ import annotations

from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, DeviceOpt, JsonOpt, ProfileOpt, TextsOpt, ThreadsOpt
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def doctor(
    artifacts: ArtifactsDir,
    variant: Annotated[str, typer.Option("--variant", help="The variant to examine (e.g. the one validate failed).")],
    device: DeviceOpt = CPU,
    texts: TextsOpt = None,
    profile: ProfileOpt = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where parity breaks: every layer of the variant against the fp32 eager reference (embeddings, each layer's
    attention and feed-forward, pooler, logits), the first layer past the budget and the nodes computing it.

    The precision's min_cosine (--profile changes it) is the budget at every layer. Needs the source model (the
    reference's layers); writes reports/doctor-VARIANT-DEVICE.json and .png."""
    from npuport.core.texts import read_texts
    from npuport.doctor.localise import diagnose
    from npuport.validate.profiles import resolve_profiles

    with ProgressBar("diagnosing", quiet=as_json) as progress:
        result = diagnose(artifacts, variant, device, read_texts(texts) if texts else None,
                          resolve_profiles(None, profile or []), threads, progress=progress)
    render.diagnosis(result, as_json)
