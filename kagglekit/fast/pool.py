"""Fast 2x2 max pooling in its input's memory order, and the swap that lets a ReLU before a pool run
after it instead, on a quarter of the values: relu(max(x)) = max(relu(x)), and the gradient reaches
the same pixel (see pool_before_relu)."""
import numpy as np

from ..nn.layers import ReLU
from ..nn.pool import MaxPool2D

# Pooling runs chunk by chunk of images for maps larger than a core's L2 cache (2 MB here), so that the
# intermediate pairs stay in it: measured 3% off a c32c64 step (32x26x26 maps); 2% slower for LeNet's
# 6x28x28 maps, which stay whole.
CHUNK_BYTES = 2 ** 18
WHOLE_BYTES = 2 ** 22


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
        # Arrays in x's memory order (empty_like keeps a view's axis order): which of each pair of
        # columns won, (n, c, 2·oh, ow), and which of the pairs' rows, (n, c, oh, ow).
        self.left_wins = np.empty_like(x[:, :, :, 0::2], bool)
        self.top_wins, out = np.empty_like(x[:, :, 0::2, 0::2], bool), np.empty_like(x[:, :, 0::2, 0::2])
        for part in chunks(x):
            left, right = x[part, :, :, 0::2], x[part, :, :, 1::2]
            np.greater_equal(left, right, out=self.left_wins[part])
            pairs = np.maximum(left, right)
            top, bottom = pairs[:, :, 0::2], pairs[:, :, 1::2]
            np.greater_equal(top, bottom, out=self.top_wins[part])
            np.maximum(top, bottom, out=out[part])
        return out

    def backward(self, grad):
        if self.size != 2:
            return super().backward(grad)
        if not self.input_grad:
            return None
        if not same_order(grad, self.top_wins):  # e.g. from a flatten: one copy instead of slow mixed passes
            grad, given = np.empty_like(self.top_wins, grad.dtype), grad
            grad[...] = given
        dx = np.empty_like(self.x, grad.dtype)
        (oh, ow), w = grad.shape[2:], dx.shape[3]
        dx[:, :, 2 * oh:] = 0  # the row and column that no window covers (odd sizes)
        dx[:, :, :, 2 * ow:] = 0
        # g·mask and g - g·mask are exactly g and 0 (or 0 and g): each window's gradient reaches one pixel.
        for part in chunks(dx):
            g, left_wins = grad[part], self.left_wins[part]
            pairs = np.empty_like(left_wins, grad.dtype)
            top = np.multiply(g, self.top_wins[part], out=pairs[:, :, 0::2])
            np.subtract(g, top, out=pairs[:, :, 1::2])
            left = np.multiply(pairs, left_wins, out=dx[part, :, :2 * oh, 0:2 * ow:2])
            np.subtract(pairs, left, out=dx[part, :, :2 * oh, 1:2 * ow:2])
        return dx


def chunks(x):
    """Slices of x's first axis (images): one for all when x fits WHOLE_BYTES, else of about CHUNK_BYTES."""
    step = len(x) if x.nbytes <= WHOLE_BYTES else max(1, CHUNK_BYTES // max(1, x[:1].nbytes))
    return [slice(a, a + step) for a in range(0, len(x), step)]


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
        if isinstance(layers[i], ReLU) and isinstance(layers[i + 1], MaxPool2D):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return layers
