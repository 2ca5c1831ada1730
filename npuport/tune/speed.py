"""How much faster a candidate runs than the shipped fp32 file: both timed on the golden texts, alternating, in the
same run, so the ratio holds on a busy machine."""

from __future__ import annotations

import time
from pathlib import Path

from npuport.core.buckets import length_batches
from npuport.core.devices import Device
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Variant
from npuport.runtime.loader import runner_for
from npuport.runtime.runner import Runner

SPEED_ROUNDS = 3


class SpeedRatio:
    """The fp32 side of every comparison of one tuning run: its session loaded on first use, kept until `close`."""

    def __init__(self, fp32: Path, base: Variant, golden: GoldenInputs, threads: int | None) -> None:
        self.fp32, self.base, self.golden, self.threads = fp32, base, golden, threads
        self._fp32: Runner | None = None

    def __call__(self, candidate: Path) -> float:
        """The shipped fp32 file's time over the candidate's on the golden texts (length-sorted batches of 16),
        alternating, same run."""
        golden = self.golden
        feeds = [golden.rows(batch) for batch in length_batches(golden.lengths, 16)]
        if self._fp32 is None:
            self._fp32 = runner_for(self.fp32, "onnx", self.base.inputs, self.base.outputs, Device("cpu"), self.threads)
            self._fp32.activate()
            self._fp32.infer(feeds[-1])  # warm-up: the first call allocates
        runner = runner_for(candidate, "onnx", self.base.inputs, self.base.outputs, Device("cpu"), self.threads)
        seconds = [0.0, 0.0]
        with runner:
            runner.infer(feeds[-1])
            for _ in range(SPEED_ROUNDS):
                for index, timed in enumerate((self._fp32, runner)):
                    started = time.perf_counter()
                    for feed in feeds:
                        timed.infer(feed)
                    seconds[index] += time.perf_counter() - started
        return seconds[0] / seconds[1]

    def close(self) -> None:
        if self._fp32 is not None:
            self._fp32.deactivate()
