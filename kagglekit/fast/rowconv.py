"""Convolution by whole image rows, for few channels and small images (LeNet's): each output row of an
image is one product of the k input rows it reads, k·in·w values that lie contiguous in NHCW memory
(n, h, in, w), with a banded (Toeplitz) matrix made from the weights, T (k·in·w, out·out_w):
T[(i, c, x + j), (o, x)] = W[o, c, i, j]. The rows' copies are k times the input (im2col's: k·k), and
the products are large enough for BLAS to run near its peak, though they do w/k times the arithmetic
(zeros of the band): for LeNet's two convolutions (6.4 and 2.8 times) measured faster than im2col's
memory-bound products. The output is NHCW memory (n, out_h, out, out_w), which pooling keeps."""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .buffers import scratch
from .products import column_sums

MAX_EXTRA_WORK = 7  # the widest padded input, in kernel widths, for which rows beat columns (measured)


def suits(layer, w):
    """Whether a convolution of images w pixels wide pays to run by rows (few channels are the caller's
    call)."""
    return layer.stride == 1 and w + 2 * layer.padding <= MAX_EXTRA_WORK * layer.kernel


def _band(k, wp):
    """Index arrays (j, x) that pick the band (x + j, x) of a (…, w_p, …, out_w) array: (k, out_w)."""
    j, x = np.arange(k)[:, None], np.arange(wp - k + 1)[None, :]
    return j + x, x


def toeplitz(w, wp, out):
    """W (out, in, k, k) as T (k·in·w_p, out·out_w) in `out`, whose entries off the band are 0 already."""
    o, c, k, _ = w.shape
    j, x = _band(k, wp)
    out.reshape(k, c, wp, o, wp - k + 1)[:, :, j, :, x] = w.transpose(3, 2, 1, 0)[:, None]  # (k_j, out_w, k_i, in, out)
    return out


def forward(layer, x, dtype):
    """x (n, c, h, w) -> NCHW-shaped view of NHCW memory; keeps the rows for backward()."""
    w, (n, c, h, wd), k, p = layer.params["W"], x.shape, layer.kernel, layer.padding
    o, hp, wp = len(w), h + 2 * p, wd + 2 * p
    oh, ow = hp - k + 1, wp - k + 1
    xt = x.transpose(0, 2, 1, 3)  # (n, h, c, w): a free view of NHCW memory, or of NCHW with one channel
    if p or not xt.flags.c_contiguous or xt.dtype != dtype:
        padded = scratch(layer, "padded", (n, hp, c, wp), dtype)  # its zero border is written once
        padded[:, p:p + h, :, p:p + wd] = xt
        xt = padded
    rows = scratch(layer, "rows", (n, oh, k * c * wp), dtype)
    np.copyto(rows, as_strided(xt, rows.shape, xt.strides[:2] + (xt.itemsize,), writeable=False))
    layer.rows, layer.row_shape = rows.reshape(n * oh, -1), (n, hp, c, wp)
    band = toeplitz(w, wp, scratch(layer, "band", (k * c * wp, o * ow), w.dtype))
    out = np.matmul(layer.rows, band).reshape(n, oh, o, ow)
    out += layer.params["b"][:, None]
    return out.transpose(0, 2, 1, 3)


def backward(layer, grad):
    """Fills dW and db from grad (n, out, out_h, out_w); dLoss/dx, or None if not wanted."""
    w, k, p, rows = layer.params["W"], layer.kernel, layer.padding, layer.rows
    (n, hp, c, wp), o = layer.row_shape, len(w)
    oh, ow = hp - k + 1, wp - k + 1
    g = np.ascontiguousarray(grad.transpose(0, 2, 1, 3)).reshape(n * oh, o * ow)  # a view when NHCW
    layer.grads["b"][...] = column_sums(g).reshape(o, ow).sum(axis=1)
    d_band = np.matmul(rows.T, g).reshape(k, c, wp, o, ow)
    j, x = _band(k, wp)
    layer.grads["W"][...] = d_band[:, :, j, :, x].sum(axis=1).transpose(3, 2, 1, 0)  # Σ over x of the band
    if not layer.input_grad:
        return None
    band = scratch(layer, "band", (k * c * wp, o * ow), w.dtype)  # as forward() left it
    d_rows = np.matmul(g, band.T).reshape(n, oh, k, c * wp)
    dx = scratch(layer, "dx", (n, hp, c * wp), g.dtype, zero=True)
    for i in range(k):
        dx[:, i:i + oh] += d_rows[:, :, i]
    h, wd = hp - 2 * p, wp - 2 * p
    return dx.reshape(n, hp, c, wp)[:, p:p + h, :, p:p + wd].transpose(0, 2, 1, 3)
