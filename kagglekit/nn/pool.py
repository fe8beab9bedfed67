"""Max pooling of NCHW batches over non-overlapping size×size windows (stride = size), as PyTorch's
MaxPool2d(size): rows and columns that do not fill a window are dropped."""
import numpy as np

from ..errors import ConfigError
from .layers import Layer


class MaxPool2D(Layer):
    """Each output pixel is its window's maximum; the gradient flows back to that one input pixel (on a
    tie, the first in row-major order, as PyTorch picks)."""
    kind = "maxpool2d"

    def __init__(self, size=2):
        super().__init__()
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ConfigError(f"maxpool2d size must be an integer >= 1, got {size!r}")
        self.size = size

    def forward(self, x, training=False):
        n, c, h, w = x.shape
        s, oh, ow = self.size, h // self.size, w // self.size
        self.x_shape = x.shape
        # (n, c, oh, ow, s·s): each window's pixels in row-major order along the last axis
        windows = x[:, :, :oh * s, :ow * s].reshape(n, c, oh, s, ow, s).transpose(0, 1, 2, 4, 3, 5)
        windows = windows.reshape(n, c, oh, ow, s * s)
        self.winner = windows.argmax(axis=4)[..., None]  # argmax: the first of equal maxima
        return np.take_along_axis(windows, self.winner, axis=4)[..., 0]

    def backward(self, grad):
        if not self.input_grad:
            return None
        n, c, h, w = self.x_shape
        s, (oh, ow) = self.size, grad.shape[2:]
        windows = np.zeros((n, c, oh, ow, s * s), grad.dtype)
        np.put_along_axis(windows, self.winner, grad[..., None], axis=4)
        dx = np.zeros(self.x_shape, grad.dtype)
        dx[:, :, :oh * s, :ow * s] = windows.reshape(n, c, oh, ow, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, oh * s, ow * s)
        return dx

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ConfigError(f"maxpool2d expects (channels, height, width) inputs, got shape {tuple(input_shape)}")
        c, h, w = input_shape
        if min(h, w) < self.size:
            raise ConfigError(f"maxpool2d window {self.size} is larger than its {h}x{w} input")
        return c, h // self.size, w // self.size

    def spec(self):
        return {"type": self.kind, "size": self.size}
