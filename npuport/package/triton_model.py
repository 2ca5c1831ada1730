"""The Triton Python-backend model `npuport package --triton` writes as triton/<model>/1/model.py (a copy of this
file; npuport itself never imports it): texts in, scores and decided labels out, through npuport's runtime on the
package beside it (triton/<model>/1/<model>/, inside the model's own folder, so the repository can be moved or
served from an object store), tokenisation included. Its tensors are those of `npuport serve`'s v2 endpoints:
TEXT (BYTES [n, 1]) in; SCORES (FP32 [n, labels], every label's probability in label order) and LABELS (BYTES
[n, 1], each text's decided labels as a JSON array) out. The config's parameters name the variant (empty:
npuport's default for the device) and the device.

Triton runs it in its Python stub, whose interpreter must import npuport and the variant's engine (onnxruntime
or torch): put the environment's bin/ first on PATH when starting tritonserver, or pack the environment and
name it in EXECUTION_ENV_PATH (see the package README).
"""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

from npuport.core.errors import InputError
from npuport.core.texts import check_texts
from npuport.runtime import load


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        parameters = {key: value.get("string_value", "") for key, value in config.get("parameters", {}).items()}
        # args: https://github.com/triton-inference-server/python_backend#initialize (model_repository: the model's folder)
        package = Path(args["model_repository"]) / args["model_version"] / args["model_name"]
        self.classifier = load(package, parameters.get("variant") or None, parameters.get("device") or "cpu")
        self.batch_size = max(config.get("max_batch_size", 0), 1)

    def execute(self, requests: list) -> list:
        """One predict for every valid text of the requests Triton batched; a request with an invalid text gets
        its own error."""
        texts: list[list[str] | InputError] = []
        for request in requests:
            tensor = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            try:
                texts.append(check_texts([t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in tensor]))
            except (InputError, UnicodeDecodeError) as exc:
                texts.append(InputError(f"TEXT: {exc}"))
        valid = [text for mine in texts if isinstance(mine, list) for text in mine]
        predictions = iter(self.classifier.predict(valid, batch_size=self.batch_size) if valid else [])
        responses = []
        for mine in texts:
            if isinstance(mine, InputError):
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(mine))))
                continue
            batch = [next(predictions) for _ in mine]
            scores = np.array([list(p.scores.values()) for p in batch], dtype=np.float32)
            labels = np.array([[json.dumps(p.labels, ensure_ascii=False).encode()] for p in batch], dtype=np.object_)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("SCORES", scores),
                                                         pb_utils.Tensor("LABELS", labels)]))
        return responses

    def finalize(self) -> None:
        self.classifier.close()
