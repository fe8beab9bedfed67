"""Stand-ins for the image layers (Conv2D, MaxPool2D, BatchNorm, Flatten, Reshape) with the agreed
constructors and output_shape, registered by the `stand_ins` fixture: the spec builder's arithmetic and
messages are tested whatever the real layers' own messages say, and before they exist."""
import numpy as np
import pytest

from kagglekit.errors import ConfigError
from kagglekit.nn import registry


class _Stand:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.params, self.grads = {}, {}


class Conv2D(_Stand):
    kind = "conv2d"

    def output_shape(self, shape):
        _, h, w = shape
        (_, out, k), padding, stride = self.args, self.kwargs["padding"], self.kwargs["stride"]
        if h + 2 * padding < k:
            raise ConfigError(f"kernel {k} is larger than its {h}×{w} input")
        side = (h + 2 * padding - k) // stride + 1
        return out, side, side


class MaxPool2D(_Stand):
    kind = "maxpool2d"

    def output_shape(self, shape):  # floors to 0 without complaint: the builder must catch that
        return shape[0], shape[1] // self.args[0], shape[2] // self.args[0]


class BatchNorm(_Stand):
    kind = "batchnorm"

    def output_shape(self, shape):
        return shape


class Flatten(_Stand):
    kind = "flatten"

    def output_shape(self, shape):
        return (int(np.prod(shape)),)


class Reshape(_Stand):
    kind = "reshape"

    def output_shape(self, shape):
        return tuple(self.args[0])


@pytest.fixture
def stand_ins(monkeypatch):
    for cls in (Conv2D, MaxPool2D, BatchNorm, Flatten, Reshape):
        monkeypatch.setitem(registry.LAYERS, cls.kind, cls)
