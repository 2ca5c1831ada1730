"""Load converted artifacts and run them on cpu, cuda or npu (torch) and in ONNX Runtime."""
