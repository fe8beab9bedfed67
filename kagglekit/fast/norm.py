"""Fast BatchNorm: the plain layer's maths on the (positions, channels) matrix of an image batch (a view
of NHWC or channel-major memory, see fast/conv.py) or on the (n, features) batch itself, with the
per-channel sums as ones-vector products (products.column_sums: one pass, not NumPy's reductions over
strided axes) and the normalisation folded into one multiply-add per value."""
import numpy as np

from ..nn.norm import BatchNorm
from .conv import by_position
from .products import column_sums


def as_matrix(x):
    """x as a (samples, features) matrix: (n, f) itself, an image batch's (n·h·w, c) view."""
    return x if x.ndim == 2 else by_position(x)


def like_input(m, x):
    """The (samples, features) matrix m, made with np.empty_like(as_matrix(x)), in x's shape."""
    if x.ndim == 2:
        return m
    n, c, h, w = x.shape
    if m.flags.c_contiguous:  # NHWC
        return m.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return m.T.reshape(c, n, h, w).transpose(1, 0, 2, 3)  # channel-major


class FastBatchNorm(BatchNorm):
    """BatchNorm (same results) in fewer passes; see the module docstring."""
    # For one part of a batch split across workers (fast/parallel.py): reduce(sums, rows) returns the
    # whole batch's column sums and rows, so that every part normalises by the whole batch's statistics.
    reduce = None

    def _sums(self, a):
        """(column sums of a (rows, features), rows): a's own, or the whole batch's with reduce."""
        sums = column_sums(a)
        return (sums, len(a)) if self.reduce is None else self.reduce(sums, len(a))

    @classmethod
    def from_plain(cls, layer):
        """The fast twin of a plain BatchNorm (see Layer.twin): its settings, its very parameter arrays."""
        return layer.twin(cls)

    def forward(self, x, training=False):
        xm, self.training = as_matrix(x), training
        dtype = xm.dtype.type
        if training:
            sums, m = self._sums(xm)
            mean = sums / dtype(m)
            centred = xm - mean
            var = self._sums(np.square(centred, out=np.empty_like(centred)))[0] / dtype(m)
            self.update_running(mean, var, m)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
            centred = xm - mean
        self.inv_std = 1 / np.sqrt(var + np.asarray(self.eps, var.dtype))
        self.xhat = centred
        self.xhat *= self.inv_std
        y = self.xhat * self.params["gamma"]
        y += self.params["beta"]
        return like_input(y, x)

    def backward(self, grad):
        g = as_matrix(grad)
        for name in ("gamma", "beta"):  # written in place, in the params' dtype
            if self.grads[name].shape != self.params[name].shape or self.grads[name].dtype != self.params[name].dtype:
                self.grads[name] = np.empty_like(self.params[name])
        column_sums(g, out=self.grads["beta"])
        gx = g * self.xhat
        column_sums(gx, out=self.grads["gamma"])
        if not self.input_grad:
            return None
        scale = self.params["gamma"] * self.inv_std
        if not self.training:
            return like_input(np.multiply(g, scale, out=gx), grad)
        # dx = scale·(g - mean(g) - xhat·mean(g·xhat)), as in the plain layer
        sum_gx, sum_g, m = self.grads["gamma"], self.grads["beta"], len(g)
        if self.reduce is not None:  # the whole batch's sums; the grads stay this part's, added up later
            both, m = self.reduce(np.concatenate([sum_gx, sum_g]), m)
            sum_gx, sum_g = np.split(both, 2)
        m = g.dtype.type(m)
        dx = np.multiply(self.xhat, scale * sum_gx / m, out=gx)
        np.subtract(g * scale, dx, out=dx)
        dx -= scale * sum_g / m
        return like_input(dx, grad)
