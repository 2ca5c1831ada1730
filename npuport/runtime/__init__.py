"""Load converted artifacts and run them on cpu, cuda or npu (torch) and in ONNX Runtime."""

from npuport.core.texts import read_texts
from npuport.runtime.classifier import Classifier, Prediction
from npuport.runtime.loader import load

__all__ = ["Classifier", "Prediction", "load", "read_texts"]
