"""Fast 2x2 max pooling in its input's memory order, and the swap that lets a ReLU before a pool run
after it instead, on a quarter of the values: relu(max(x)) = max(relu(x)), and the gradient reaches
the same pixel (see pool_before_relu)."""
import numpy as np

from ..nn.layers import ReLU
from ..nn.pool import MaxPool2D


class FastMaxPool2D(MaxPool2D):
    """MaxPool2D; for 2x2 windows in two steps of elementwise maxima, in the input's memory order:
    across each pair of columns, then across each pair of rows of the result, half the size. With
    NHWC memory the first reads runs of `channels` floats and the second runs of whole rows. On a tie
    the left pixel, then the top row wins: the first pixel in row-major order, as in the plain layer."""

    def forward(self, x, training=False):
        if self.size != 2:
            return super().forward(x, training)
        oh, ow = x.shape[2] // 2, x.shape[3] // 2
        self.x = x
        x = x[:, :, :2 * oh, :2 * ow]
        left, right = x[:, :, :, 0::2], x[:, :, :, 1::2]
        self.left_wins = np.greater_equal(left, right)  # (n, c, 2·oh, ow), in x's memory order
        pairs = np.maximum(left, right)
        top, bottom = pairs[:, :, 0::2], pairs[:, :, 1::2]
        self.top_wins = np.greater_equal(top, bottom)
        return np.maximum(top, bottom)

    def backward(self, grad):
        if self.size != 2:
            return super().backward(grad)
        if not self.input_grad:
            return None
        if not same_order(grad, self.top_wins):  # e.g. from a flatten: one copy instead of slow mixed passes
            grad, given = np.empty_like(self.top_wins, grad.dtype), grad
            grad[...] = given
        # g·mask and g - g·mask are exactly g and 0 (or 0 and g): each window's gradient reaches one pixel.
        pairs = np.empty_like(self.left_wins, grad.dtype)
        top = np.multiply(grad, self.top_wins, out=pairs[:, :, 0::2])
        np.subtract(grad, top, out=pairs[:, :, 1::2])
        dx = np.empty_like(self.x, grad.dtype)
        (oh2, ow), w = pairs.shape[2:], dx.shape[3]
        dx[:, :, oh2:] = 0  # the row and column that no window covers (odd sizes)
        dx[:, :, :, 2 * ow:] = 0
        left = np.multiply(pairs, self.left_wins, out=dx[:, :, :oh2, 0:2 * ow:2])
        np.subtract(pairs, left, out=dx[:, :, :oh2, 1:2 * ow:2])
        return dx


def same_order(a, b):
    """Whether a and b (same shape) lay out their axes in the same memory order."""
    return [i for i in np.argsort(a.strides, kind="stable") if a.shape[i] > 1] == \
        [i for i in np.argsort(b.strides, kind="stable") if b.shape[i] > 1]


def pool_before_relu(layers):
    """layers with each ReLU that comes right before a MaxPool2D moved after it. The forward values are
    the same (max and ReLU commute). So are the gradients: where a window's maximum is > 0, both route
    it to the first pixel holding that maximum; where it is <= 0, the plain order's ReLU mask is 0 for
    every pixel of the window and the swapped order's for the pooled value, so nothing flows."""
    layers = list(layers)
    for i in range(len(layers) - 1):
        if type(layers[i]) is ReLU and isinstance(layers[i + 1], MaxPool2D):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return layers
