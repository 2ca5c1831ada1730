"""`deploy/Dockerfile` (`package --deploy`): an image that runs `npuport serve` on the package with the base install
(`npuport[serve]`: ONNX Runtime, tokenizers, numpy and the HTTP stack; no torch), on the CPU.

Built from the package folder, which it copies whole to /models/<name> and checks with `sha256sum` while building
(the copy is the package, so `npuport verify` passes in the image too). The server's v2 model name is that folder's:
the package's name, which Triton's text model has as well. It serves the ONNX variant `npuport serve` would pick on
the CPU among those the package holds, named on the command line (a TorchScript default would need torch).
"""

from __future__ import annotations

import json
import re

from npuport import __version__
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest, Variant
from npuport.runtime.loader import choose_variant

DEPLOY_DIR = "deploy"
DOCKERFILE = "Dockerfile"
PORT = 8080  # KServe's HTTP port for a custom predictor (kserve/website docs/modelserving/v1beta1/custom/custom_model)
MODELS_DIR = "/models"
BASE_IMAGE = "python:3.11-slim"  # the oldest Python pyproject's requires-python allows
INSTALL = f"npuport[serve]=={__version__}"  # the base install and the HTTP server: no torch, no transformers
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def deploy_variant(manifest: Manifest, device: Device) -> Variant:
    """The variant the image serves, or why the package cannot have one."""
    if device.type != "cpu":
        raise InputError(f"--deploy builds a CPU image (the base install runs ONNX Runtime on the CPU); this package is "
                         f"for {device}: package with --device cpu")
    onnx = [v for v in manifest.variants if v.runs_on_base_install]
    if not onnx:
        raise InputError(f"--deploy serves an ONNX variant with the base install (no torch); none of "
                         f"{', '.join(v.id for v in manifest.variants)} is ONNX on ONNX Runtime")
    return choose_variant(manifest.model_copy(update={"variants": onnx}), None, CPU)[0]


def check_name(name: str) -> str:
    """A package name fit for an image path and a command line (and, lower-cased, for Kubernetes)."""
    if not _NAME.fullmatch(name):
        raise InputError(f"--deploy needs a package name of letters, digits, '.', '_' and '-', got {name!r}")
    return name


def serve_command(name: str, variant: Variant) -> list[str]:
    return ["npuport", "serve", f"{MODELS_DIR}/{name}", "--variant", variant.id, "--host", "0.0.0.0", "--port", str(PORT)]


def dockerfile(name: str, variant: Variant) -> str:
    home = f"{MODELS_DIR}/{name}"
    return "\n".join([
        f"# npuport package --deploy: `npuport serve` on {name} ({variant.id}) with the base install, on the CPU.",
        f"# Build it from the package folder:  docker build -f {DEPLOY_DIR}/{DOCKERFILE} -t IMAGE .",
        "# Another npuport build: --build-arg NPUPORT='npuport[serve] @ https://…/npuport-…-py3-none-any.whl'",
        f"FROM {BASE_IMAGE}",
        f'ARG NPUPORT="{INSTALL}"',
        "ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
        'RUN pip install "$NPUPORT"',
        f"COPY {json.dumps(['.', home])}",
        f"WORKDIR {home}",
        "RUN sha256sum --check --quiet SHA256SUMS",
        "USER 65534:65534",
        f"EXPOSE {PORT}",
        f"CMD {json.dumps(serve_command(name, variant))}",
    ]) + "\n"
