"""`deploy/inferenceservice.yaml` (`package --deploy`): a KServe InferenceService whose predictor is the image of
`deploy/Dockerfile`, speaking the Open Inference Protocol v2 over HTTP.

The schema is KServe's serving.kserve.io/v1beta1 (kserve/kserve pkg/apis/serving/v1beta1): a custom predictor is a
pod spec under `spec.predictor` whose container is named `kserve-container`; its protocol is the `PROTOCOL`
environment variable, "v1" or "v2" (predictor_custom.go, `CustomSpecProtocolEnvVarKey`); the HTTP port KServe routes
to is the container's port, 8080 by default (kserve/website docs/modelserving/v1beta1/custom/custom_model). The
probes are serve's v2 health routes on that port.
"""

from __future__ import annotations

import re
from typing import Any

from npuport.package.dockerfile import DEPLOY_DIR, PORT

INFERENCE_SERVICE = "inferenceservice.yaml"
CONTAINER = "kserve-container"  # constants.InferenceServiceContainerName


def service_name(name: str) -> str:
    """The InferenceService's name: a DNS-1035 label (lower case, '-', starting with a letter, at most 63), which
    KServe requires; the model's v2 name stays the package's."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).lstrip("-0123456789")[:63].rstrip("-")
    return label or "npuport"


def inference_service(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": service_name(name)},
        "spec": {"predictor": {"containers": [{
            "name": CONTAINER,
            "image": image,
            "env": [{"name": "PROTOCOL", "value": "v2"}],
            "ports": [{"containerPort": PORT, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5},
            "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": PORT}, "periodSeconds": 10},
        }]}},
    }


def manifest_text(name: str, image: str) -> str:
    import yaml

    return (f"# npuport package --deploy: KServe runs {image} (built from its Dockerfile); v2 model name {name!r}.\n"
            f"# kubectl apply -f {DEPLOY_DIR}/{INFERENCE_SERVICE}\n"
            + yaml.safe_dump(inference_service(name, image), sort_keys=False))
