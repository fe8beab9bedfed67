"""Fast Conv2D and MaxPool2D: the plain layers' maths with channel-major memory and buffers kept from
batch to batch.

FastConv2D lays its columns out as (in, k, k, n, out_h, out_w), so that the forward pass is one large
GEMM, W (out, in·k·k) @ col (in·k·k, n·out_h·out_w), whose result is already the output in (out, n, h, w)
memory order. It returns that as an NCHW-shaped view (no transposing copy); elementwise layers and
pooling keep the memory order (NumPy's order 'K'), so the gradient comes back in it and the two backward
GEMMs read it without a copy either. Padded input, columns and column gradients live in buffers that
only grow, so a training step allocates none of them after the first batch.
"""
import numpy as np

from ..nn.conv import Conv2D, out_size
from ..nn.pool import MaxPool2D
from .products import column_sums

EVAL_ROWS = 256  # prediction runs in chunks of this many rows, so its columns stay small


def scratch(layer, name, shape, dtype, zero=False):
    """A buffer of `shape` kept on the layer under `name`, a view of one flat array that only grows
    (a smaller last batch reuses it too). Zero-filled when first made or when asked for in another
    shape than last time; `zero=True` clears it every time."""
    store = layer.__dict__.setdefault("scratch", {})
    size = int(np.prod(shape))
    flat, last = store.get(name, (None, None))
    if flat is None or flat.size < size or flat.dtype != dtype:
        flat, last = np.zeros(size, dtype), shape
    view = flat[:size].reshape(shape)
    if zero or last != shape:
        view.fill(0)
    store[name] = flat, shape
    return view


class FastConv2D(Conv2D):
    """Conv2D (same results) with channel-major columns and buffers; see the module docstring."""

    def forward(self, x, training=False):
        if not training and len(x) > EVAL_ROWS:  # bounded memory: the columns of 4096 rows can be GBs
            parts = [self.forward(x[i:i + EVAL_ROWS]) for i in range(0, len(x), EVAL_ROWS)]
            return np.concatenate(parts)
        w, (n, c, h, wd) = self.params["W"], x.shape
        k, p, s = self.kernel, self.padding, self.stride
        oh, ow = out_size(h, k, p, s), out_size(wd, k, p, s)
        dtype = np.result_type(x.dtype, w.dtype)
        xc = x.transpose(1, 0, 2, 3)  # (c, n, h, w): a free view when x came from a FastConv2D
        if p:  # the border of the padded buffer is zeroed once and never written again
            padded = scratch(self, "padded", (c, n, h + 2 * p, wd + 2 * p), dtype)
            padded[:, :, p:p + h, p:p + wd] = xc
            xc = padded
        col = scratch(self, "col", (c, k, k, n, oh, ow), dtype)
        for i in range(k):
            for j in range(k):
                col[:, i, j] = xc[:, :, i:i + s * oh:s, j:j + s * ow:s]
        self.cols, self.x_shape = col, x.shape
        out = np.matmul(w.reshape(len(w), -1), col.reshape(c * k * k, -1))  # (out, n·oh·ow)
        out += self.params["b"][:, None]
        return out.reshape(len(w), n, oh, ow).transpose(1, 0, 2, 3)

    def backward(self, grad):
        w, col = self.params["W"], self.cols
        c, k = col.shape[:2]
        n, _, h, wd = self.x_shape
        g = grad.transpose(1, 0, 2, 3).reshape(len(w), -1)  # (out, n·oh·ow), no copy in channel-major order
        for name in ("W", "b"):  # written in place; a grad some other code replaced gets its own array again
            if self.grads[name].shape != self.params[name].shape or not self.grads[name].flags.c_contiguous:
                self.grads[name] = np.empty_like(self.params[name])
        np.matmul(g, col.reshape(c * k * k, -1).T, out=self.grads["W"].reshape(len(w), -1))
        column_sums(g.T, out=self.grads["b"])
        if not self.input_grad:
            return None
        p, s = self.padding, self.stride
        oh, ow = grad.shape[2:]
        dcol = scratch(self, "dcol", (c * k * k, n * oh * ow), g.dtype)
        np.matmul(w.reshape(len(w), -1).T, g, out=dcol)
        dcol = dcol.reshape(c, k, k, n, oh, ow)
        dx = scratch(self, "dx", (c, n, h + 2 * p, wd + 2 * p), g.dtype, zero=True)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + s * oh:s, j:j + s * ow:s] += dcol[:, i, j]
        # A view of a buffer that the next backward overwrites: the layer below uses it at once.
        return dx[:, :, p:p + h, p:p + wd].transpose(1, 0, 2, 3)


class FastMaxPool2D(MaxPool2D):
    """MaxPool2D; for 2x2 windows by four strided slices and three elementwise maxima instead of a
    transposed copy and an argmax, which keep the input's memory order. Ties go to the first pixel in
    row-major order, as in the plain layer."""

    def forward(self, x, training=False):
        if self.size != 2:
            return super().forward(x, training)
        oh, ow = x.shape[2] // 2, x.shape[3] // 2
        a, b = x[:, :, 0:2 * oh:2, 0:2 * ow:2], x[:, :, 0:2 * oh:2, 1:2 * ow:2]
        c, d = x[:, :, 1:2 * oh:2, 0:2 * ow:2], x[:, :, 1:2 * oh:2, 1:2 * ow:2]
        top, bottom = np.maximum(a, b), np.maximum(c, d)
        in_top, left_top, left_bottom = top >= bottom, a >= b, c >= d  # >=: the earlier pixel wins ties
        self.x, self.wins = x, (in_top & left_top, in_top > left_top, left_bottom > in_top,
                                ~(in_top | left_bottom))
        return np.maximum(top, bottom)

    def backward(self, grad):
        if self.size != 2:
            return super().backward(grad)
        if not self.input_grad:
            return None
        dx = np.zeros_like(self.x)  # in x's memory order; the rows and columns no window covers stay 0
        oh, ow = grad.shape[2:]
        for (r, q), win in zip(((0, 0), (0, 1), (1, 0), (1, 1)), self.wins):
            np.multiply(grad, win, out=dx[:, :, r:2 * oh:2, q:2 * ow:2])
        return dx
