"""Layers that only change how a sample's numbers are arranged: Flatten ((n, c, h, w) -> (n, c·h·w))
before the dense layers, and Reshape, e.g. the 784 pixels of a CSV row into a (1, 28, 28) image."""
import math

from ..errors import ConfigError
from .layers import Layer


class Flatten(Layer):
    """(n, c, h, w) -> (n, c·h·w), features in C order (channel, row, column) as PyTorch's flatten."""
    kind = "flatten"

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad):
        return grad.reshape(self.x_shape) if self.input_grad else None

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)


class Reshape(Layer):
    """(n, ...) -> (n, *shape), e.g. shape [1, 28, 28] makes (n, 784) pixel rows into NCHW images."""
    kind = "reshape"

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or min(self.shape) < 1:
            raise ConfigError(f"reshape shape must be positive sizes, got {list(shape)!r}")
        self.n_in = math.prod(self.shape)  # the input features a network starting with it takes

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.reshape((len(x),) + self.shape)

    def backward(self, grad):
        return grad.reshape(self.x_shape) if self.input_grad else None

    def output_shape(self, input_shape):
        if math.prod(input_shape) != self.n_in:
            raise ConfigError(f"reshape to {list(self.shape)} needs {self.n_in} values per sample, "
                              f"got shape {tuple(input_shape)}")
        return self.shape

    def spec(self):
        return {"type": self.kind, "shape": list(self.shape)}
