"""Export a source classifier to TorchScript and ONNX variants described by a manifest."""
