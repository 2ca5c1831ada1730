import numpy as np
import pytest

from npuport.core.errors import InputError
from npuport.core.manifest import TensorSpec
from npuport.runtime.runner import Runner


class Echo(Runner):
    """A runner that sums the inputs: enough to exercise the base class's checks."""

    def _activate_impl(self) -> None:
        pass

    def _infer_impl(self, feed):  # type: ignore[no-untyped-def]
        return feed["input_ids"][:, :2].astype(np.float32)


SPECS = [TensorSpec(name="input_ids", dtype="int64", shape=["batch", "sequence"]),
         TensorSpec(name="attention_mask", dtype="int64", shape=["batch", "sequence"])]
OUT = [TensorSpec(name="logits", dtype="float32", shape=["batch", 2])]


def feed(**overrides):  # type: ignore[no-untyped-def]
    base = {"input_ids": np.ones((2, 5), np.int64), "attention_mask": np.ones((2, 5), np.int64)}
    return base | overrides


def test_must_be_activated():
    with pytest.raises(RuntimeError, match="before activate"):
        Echo("echo", SPECS, OUT).infer(feed())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"token_type_ids": np.ones((2, 5), np.int64)}, "takes inputs"),
        ({"input_ids": np.ones((2, 5), np.int32)}, "input input_ids: dtype int32, expected int64"),
        ({"input_ids": np.ones((2, 5, 1), np.int64)}, "input input_ids: rank 3"),
        ({"attention_mask": np.ones((2, 6), np.int64)}, "input attention_mask: dim sequence=6 disagrees"),
    ],
)
def test_input_checks_name_the_tensor(bad, message):
    with Echo("echo", SPECS, OUT) as runner, pytest.raises(InputError, match=message):
        runner.infer(feed(**bad))


def test_valid_feed_runs():
    with Echo("echo", SPECS, OUT) as runner:
        assert runner.infer(feed()).shape == (2, 2)
