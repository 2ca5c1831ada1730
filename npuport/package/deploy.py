"""`package --deploy`: the files users deploy a package with, in `deploy/`: a Dockerfile that runs `npuport serve`
on it with the base install (`dockerfile.py`) and a KServe InferenceService for that image (`kserve.py`). Part of the
package (listed in SHA256SUMS), so the image's copy of the package still verifies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.devices import Device
from npuport.core.manifest import Manifest, Variant
from npuport.package.dockerfile import DEPLOY_DIR, DOCKERFILE, PORT, check_name, deploy_variant, dockerfile
from npuport.package.kserve import INFERENCE_SERVICE, manifest_text, service_name


@dataclass(frozen=True)
class Deployment:
    name: str  # the package's, and the served v2 model's
    variant: Variant  # what the image serves
    image: str  # what the InferenceService pulls


def plan_deployment(manifest: Manifest, variants: list[Variant], device: Device, name: str, image: str | None) -> Deployment:
    """Checked before anything is written: a CPU package with an ONNX variant, a name fit for images and Kubernetes."""
    served = deploy_variant(manifest.model_copy(update={"variants": variants}), device)
    return Deployment(check_name(name), served, image or f"{service_name(name)}:latest")


def write_deployment(package: Path, deployment: Deployment) -> list[Path]:
    folder = package / DEPLOY_DIR
    folder.mkdir()
    (folder / DOCKERFILE).write_text(dockerfile(deployment.name, deployment.variant), encoding="utf-8")
    (folder / INFERENCE_SERVICE).write_text(manifest_text(deployment.name, deployment.image), encoding="utf-8")
    return [folder / DOCKERFILE, folder / INFERENCE_SERVICE]


def readme_lines(deployment: Deployment) -> list[str]:
    """The package README's section: build and run the image, then hand it to KServe."""
    name = deployment.name
    return ["", "## Deploy: Docker and KServe", "",
            f"`{DEPLOY_DIR}/{DOCKERFILE}` builds an image that runs `npuport serve` on this package ({deployment.variant.id},",
            "the base install: ONNX Runtime on the CPU, no torch); "
            f"`{DEPLOY_DIR}/{INFERENCE_SERVICE}` is a KServe InferenceService for",
            f"it (v2 protocol on port {PORT}). Build from this folder, push, apply:", "", "```bash",
            f"docker build -f {DEPLOY_DIR}/{DOCKERFILE} -t {deployment.image} .",
            f"docker run --rm -p {PORT}:{PORT} {deployment.image}   # POST localhost:{PORT}/v2/models/{name}/infer",
            f"docker push {deployment.image}",
            f"kubectl apply -f {DEPLOY_DIR}/{INFERENCE_SERVICE}",
            "```"]
