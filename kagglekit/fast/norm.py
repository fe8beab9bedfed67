"""Fast BatchNorm: the plain layer's maths on the (positions, channels) matrix of an image batch (a view
of NHWC or channel-major memory, see fast/conv.py) or on the (n, features) batch itself, with the
per-channel sums as ones-vector products (products.column_sums: one pass, not NumPy's reductions over
strided axes, and the only places where sums over the batch happen), and the elementwise steps between
them run block by block of rows, so that a block's intermediate values stay in the core's cache: the
batch is read and written about half as often as by whole-array steps. The steps with a per-feature
vector see a block of NHWC rows as fewer, longer rows (products.PerFeature): NumPy's loop over 32
channels at a time made them ~2x slower than a step between two arrays."""
import numpy as np

from ..nn.norm import BatchNorm
from .buffers import scratch
from .conv import by_position
from .products import PerFeature, column_sums

BLOCK_BYTES = 2 ** 20  # one block of one (samples, features) matrix: measured best of 64 KiB to 4 MiB


def as_matrix(x):
    """x as a (samples, features) matrix: (n, f) itself, an image batch's (n·h·w, c) view."""
    return x if x.ndim == 2 else by_position(x)


def like_input(m, x):
    """The (samples, features) matrix m, made in the memory order of as_matrix(x), in x's shape."""
    if x.ndim == 2:
        return m
    n, c, h, w = x.shape
    if m.flags.c_contiguous:  # NHWC
        return m.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return m.T.reshape(c, n, h, w).transpose(1, 0, 2, 3)  # channel-major


def buffer(layer, name, like):
    """A scratch matrix of like's shape and dtype in like's memory order (C, or F as a transposed view)."""
    if like.flags.c_contiguous:
        return scratch(layer, name, like.shape, like.dtype)
    return scratch(layer, name, like.shape[::-1], like.dtype).T


def blocks(m, k=1):
    """Slices of the rows of the (samples, features) matrix m of about BLOCK_BYTES each, a multiple of k
    rows each but the last."""
    step = max(k, BLOCK_BYTES // (m.shape[1] * m.itemsize) // k * k)
    return [slice(a, a + step) for a in range(0, len(m), step)]


class FastBatchNorm(BatchNorm):
    """BatchNorm (same results) in fewer passes; see the module docstring. It keeps x - mean (not xhat)
    for the backward pass, the division by the standard deviation folded into per-feature factors."""
    # For one part of a batch split across workers (fast/parallel.py): reduce(sums, rows) returns the
    # whole batch's column sums and rows, so that every part normalises by the whole batch's statistics.
    reduce = None

    def _sums(self, a):
        """(column sums of a (rows, features), rows): a's own, or the whole batch's with reduce."""
        sums = column_sums(a)
        return (sums, len(a)) if self.reduce is None else self.reduce(sums, len(a))

    def forward(self, x, training=False):
        xm, self.training = as_matrix(x), training
        dtype = xm.dtype.type
        centred, y = buffer(self, "centred", xm), np.empty_like(xm)
        per = PerFeature(xm)
        parts = blocks(xm, per.k)
        if training:
            sums, m = self._sums(xm)
            mean = sums / dtype(m)
            for part in parts:
                per(np.subtract, xm[part], mean, centred[part])
                np.square(centred[part], out=y[part])
            var = self._sums(y)[0] / dtype(m)
            self.update_running(mean, var, m)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.inv_std = 1 / np.sqrt(var + np.asarray(self.eps, var.dtype))
        scale = self.params["gamma"] * self.inv_std
        for part in parts:  # y = gamma·xhat + beta
            if not training:
                per(np.subtract, xm[part], mean, centred[part])
            per(np.multiply, centred[part], scale, y[part])
            per(np.add, y[part], self.params["beta"], y[part])
        self.centred = centred
        return like_input(y, x)

    def backward(self, grad):
        """dLoss/dx in a buffer that the next backward overwrites (the layer below uses it at once)."""
        g = as_matrix(grad)
        for name in ("gamma", "beta"):  # written in place, in the params' dtype
            if self.grads[name].shape != self.params[name].shape or self.grads[name].dtype != self.params[name].dtype:
                self.grads[name] = np.empty_like(self.params[name])
        column_sums(g, out=self.grads["beta"])
        dx = buffer(self, "dx", g)
        column_sums(np.multiply(g, self.centred, out=dx), out=self.grads["gamma"])  # Σ g·(x - mean)
        self.grads["gamma"] *= self.inv_std  # Σ g·xhat
        if not self.input_grad:
            return None
        scale = self.params["gamma"] * self.inv_std
        if not self.training:
            per = PerFeature(g)
            for part in blocks(g, per.k):
                per(np.multiply, g[part], scale, dx[part])
            return like_input(dx, grad)
        # dx = scale·(g - mean(g) - xhat·mean(g·xhat)), as in the plain layer, with xhat = centred·inv_std
        sum_gx, sum_g, m = self.grads["gamma"], self.grads["beta"], len(g)
        if self.reduce is not None:  # the whole batch's sums; the grads stay this part's, added up later
            both, m = self.reduce(np.concatenate([sum_gx, sum_g]), m)
            sum_gx, sum_g = np.split(both, 2)
        m = g.dtype.type(m)
        per_centred = scale * self.inv_std * sum_gx / m
        shift = scale * sum_g / m
        per = PerFeature(g)
        parts = blocks(g, per.k)
        term = scratch(self, "term", (len(g[parts[0]]), g.shape[1]), g.dtype)
        for part in parts:
            t = term[:len(g[part])]
            per(np.multiply, self.centred[part], per_centred, t)
            per(np.add, t, shift, t)
            per(np.multiply, g[part], scale, dx[part])
            dx[part] -= t
        return like_input(dx, grad)
