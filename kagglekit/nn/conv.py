"""2-D convolution of NCHW batches (batch, channels, height, width), as PyTorch's Conv2d. im2col copies
every kernel-sized window into a column, so that the convolution is one matrix product (Chainer's
im2col_cpu); col2im, its exact adjoint, takes the columns' gradients back to the pixels."""
import numpy as np

from ..errors import ConfigError
from .init import INITS
from .layers import Layer


def out_size(size, kernel, padding=0, stride=1):
    """How many positions a kernel takes along an edge of `size` pixels."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, k, padding=0, stride=1, col=None):
    """x (n, c, h, w) -> col (n, c, k, k, out_h, out_w), where col[:, :, i, j] holds the pixels that the
    kernel's offset (i, j) meets at every output position: k·k strided slice copies, no loop over pixels.
    Written into `col` when given, so that a buffer is reused from batch to batch."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, k, padding, stride), out_size(w, k, padding, stride)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    if col is None or col.shape != (n, c, k, k, oh, ow):
        col = np.empty((n, c, k, k, oh, ow), x.dtype)
    for i in range(k):
        for j in range(k):
            col[:, :, i, j] = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return col


def col2im(col, h, w, padding=0, stride=1):
    """The adjoint of im2col: every column entry added (+=) to the pixel it was copied from; (n, c, h, w)."""
    n, c, k, _, oh, ow = col.shape
    x = np.zeros((n, c, h + 2 * padding, w + 2 * padding), col.dtype)
    for i in range(k):
        for j in range(k):
            x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += col[:, :, i, j]
    return x[:, :, padding:padding + h, padding:padding + w]


class Conv2D(Layer):
    """out[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] (cross-correlation, as in PyTorch), W (out, in, k, k)."""
    kind = "conv2d"
    decay = ("W",)

    def __init__(self, in_channels, out_channels, kernel, padding=0, stride=1, init="he", rng=None,
                 dtype=np.float32):
        """Weights drawn by the named init (fan-in in·k·k) from rng; with no rng, zeros (to be loaded)."""
        super().__init__()
        for name, value, least in (("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                                   ("kernel", kernel, 1), ("padding", padding, 0), ("stride", stride, 1)):
            if not isinstance(value, (int, np.integer)) or value < least:
                raise ConfigError(f"conv2d {name} must be an integer >= {least}, got {value!r}")
        self.in_channels, self.out_channels, self.kernel = in_channels, out_channels, kernel
        self.padding, self.stride, self.init = padding, stride, init
        shape, area = (out_channels, in_channels, kernel, kernel), kernel * kernel
        if rng is None:
            w, b = np.zeros(shape), np.zeros(out_channels)
        else:
            w, b = INITS[init](in_channels * area, out_channels * area, rng, shape=shape, bias=out_channels)
        self.params = {"W": w.astype(dtype), "b": b.astype(dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.col = None

    def forward(self, x, training=False):
        self.x_shape = x.shape
        self.col = im2col(x, self.kernel, self.padding, self.stride, self.col)
        y = np.tensordot(self.col, self.params["W"], ((1, 2, 3), (1, 2, 3)))  # (n, out_h, out_w, out)
        y += self.params["b"]
        return y.transpose(0, 3, 1, 2)

    def backward(self, grad):
        """grad (n, out, out_h, out_w): fills dW and db; dLoss/dx (n, in, h, w), or None if not wanted."""
        self.grads["W"] = np.tensordot(grad, self.col, ((0, 2, 3), (0, 4, 5)))  # (out, in, k, k)
        self.grads["b"] = grad.sum(axis=(0, 2, 3))
        if not self.input_grad:
            return None
        col = np.tensordot(self.params["W"], grad, (0, 1))  # (in, k, k, n, out_h, out_w)
        return col2im(np.moveaxis(col, 3, 0), *self.x_shape[2:], self.padding, self.stride)

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ConfigError(f"conv2d expects (channels, height, width) inputs, got shape {tuple(input_shape)}")
        c, h, w = input_shape
        if c != self.in_channels:
            raise ConfigError(f"conv2d expects {self.in_channels} input channels, got {c}")
        k, p = self.kernel, self.padding
        if k > min(h, w) + 2 * p:
            raise ConfigError(f"conv2d kernel {k} is larger than its {h}x{w} input (padding {p})")
        return self.out_channels, out_size(h, k, p, self.stride), out_size(w, k, p, self.stride)

    @staticmethod
    def shapes(in_channels, out_channels, kernel, **_):
        return {"W": (out_channels, in_channels, kernel, kernel), "b": (out_channels,)}

    def spec(self):
        return {"type": self.kind, "in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel": self.kernel, "padding": self.padding, "stride": self.stride, "init": self.init}
