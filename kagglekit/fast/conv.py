"""Fast Conv2D: the plain layer's maths in the memory order that suits its channel counts, with
buffers kept from batch to batch.

Few input channels on small images, stride 1 (LeNet's convolutions): by whole image rows, see
fast/rowconv.py. Otherwise by columns (im2col), made for a chunk of images at a time, one copy of a
strided window view of the padded input each: for few input channels, channel-major input and columns
(in, k, k, images, out_h, out_w), copied in runs of out_w pixels and kept for the backward products;
for NHWC_CHANNELS or more, NHWC input and columns (images, out_h, out_w, k, k, in), copied in runs of
k·in into a buffer that stays in the core's cache through the forward product and, made again, through
the backward ones, whose column gradients are added back to the pixels (col2im) while still in cache;
a stride-1 convolution whose output is as large as its input gets its input gradient as a convolution
of the output gradient instead, and its dW from that gradient's columns too (see _same_grads).

The output is an NCHW-shaped view of channel-major memory (out, n, h, w) for few output channels, of
NHWC memory (n, h, w, out) for many: pooling's every-other-pixel slices then read runs of `channels`
floats, and the next convolution's columns runs of k·channels. Elementwise layers, pooling and batch
norm (fast/pool.py, fast/norm.py) keep the memory order, so gradients come back in it, and the products
read them as they are (a transposed matrix is a BLAS flag, not a copy).
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..nn.conv import Conv2D, out_size
from . import rowconv
from .buffers import scratch
from .products import PerFeature, column_sums, t_matmul

NHWC_CHANNELS = 16  # from this many channels on, maps are kept as NHWC memory (see the module docstring)
CHUNK_BYTES = 2 ** 21  # many channels: one chunk's columns, which stay in a core's L2 cache (measured best)
CM_CHUNK_BYTES = 2 ** 17  # few channels: the forward product's chunk (see _chunks; 2**19: best's conv1 +8%)


def by_position(a):
    """a (n, c, h, w) as the matrix (n·h·w, c): a view when a's memory is NHWC or channel-major, else a
    copy, NHWC when channels are a's innermost axis (e.g. the unpadded part of a padded NHWC buffer)."""
    n, c = a.shape[:2]
    nhwc = a.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous or (c > 1 and a.strides[1] < min(a.strides[2:])):
        return np.ascontiguousarray(nhwc).reshape(-1, c)
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(c, -1).T


def inside(i, p, s, out, size):
    """(input slice, output slice) of the output positions y whose pixel y·s + i - p, for kernel offset i
    and padding p, lies inside the image of `size` pixels rather than in its padding."""
    first = max(0, -(-(p - i) // s))  # the least y with y·s + i - p >= 0
    last = min(out, (size - 1 - i + p) // s + 1)  # one past the largest y with y·s + i - p < size
    if last <= first:
        return slice(0, 0), slice(0, 0)
    return slice(first * s + i - p, (last - 1) * s + i - p + 1, s), slice(first, last)


class FastConv2D(Conv2D):
    """Conv2D (same results), chunk by chunk of images, memory order by channel count; see the module
    docstring."""

    def forward(self, x, training=False):
        w, (n, c, h, wd) = self.params["W"], x.shape
        k, p, s, o = self.kernel, self.padding, self.stride, len(w)
        oh, ow = out_size(h, k, p, s), out_size(wd, k, p, s)
        dtype = np.result_type(x.dtype, w.dtype)
        self.x_shape, self.out_hw, self.nhwc, self.kept = x.shape, (oh, ow), c >= NHWC_CHANNELS, None
        self.x = x if self._same() else None  # its backward takes dW from x and the gradient's columns
        self.by_rows = c < NHWC_CHANNELS and rowconv.suits(self, wd)
        if self.by_rows:
            return rowconv.forward(self, x, dtype)
        self.xs = self._padded(x, dtype)
        w_k = self._weights_as_columns()
        b = self.params["b"]
        if o >= NHWC_CHANNELS:
            out = np.empty((n, oh, ow, o), dtype)
            per = PerFeature(out.reshape(-1, o), k=oh * ow)  # chunks are whole images
            for start, stop, col in self._chunks(training):
                part = np.matmul(col, w_k.T, out=out.reshape(-1, o)[start:stop])
                per(np.add, part, b, part)  # while the chunk's outputs are in cache
            return out.transpose(0, 3, 1, 2)
        out = np.empty((o, n, oh, ow), dtype)
        for start, stop, col in self._chunks(training):
            part = np.matmul(w_k, col.T, out=out.reshape(o, -1)[:, start:stop])
            part += b[:, None]
        return out.transpose(1, 0, 2, 3)

    def backward(self, grad):
        """Fills dW and db; dLoss/dx as a view of a buffer that the next backward overwrites (the layer
        below uses it at once), or None if not wanted."""
        w, (n, c, h, wd) = self.params["W"], self.x_shape
        k, p, s, nhwc = self.kernel, self.padding, self.stride, self.nhwc
        oh, ow = self.out_hw
        for name in ("W", "b"):  # written in place; a grad some other code replaced gets its own array again
            if self.grads[name].shape != self.params[name].shape or not self.grads[name].flags.c_contiguous:
                self.grads[name] = np.empty_like(self.params[name])
        if self.by_rows:
            return rowconv.backward(self, grad)
        g = by_position(grad)  # (positions, out)
        column_sums(g, out=self.grads["b"])
        if self.input_grad and self._same():  # dW and dx both from the gradient's columns
            dx, dw_turned = self._same_grads(g)
            self.grads["W"][...] = dw_turned.reshape(k, k, len(w), c)[::-1, ::-1].transpose(2, 3, 0, 1)
            return dx.transpose(0, 3, 1, 2)
        w_k = self._weights_as_columns()
        dw_t, part = (scratch(self, name, w_k.T.shape, g.dtype) for name in ("dw_t", "dw_part"))
        dw_t.fill(0)
        dx = None
        if self.input_grad:  # NHWC: unpadded, so that the layer below gets contiguous memory
            dx = scratch(self, "dx", (n, h, wd, c) if nhwc else self.xs.shape, g.dtype, zero=True)
            w_taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(k * k, len(w), c)  # (k·k, out, in)
            row_ranges = [inside(i, p, s, oh, h) for i in range(k)]
            col_ranges = [inside(j, p, s, ow, wd) for j in range(k)]
        for start, stop, col in self._chunks():  # made again in cache, unless one chunk held the batch
            rows = g[start:stop]
            # (k·k·in, out): this order of the product runs faster; few channels' columns (one chunk, the
            # whole batch) as t_matmul's slices: 1.06 -> 0.50 ms for best's first conv
            dw_t += np.matmul(col.T, rows, out=part) if nhwc else t_matmul(col, rows, out=part)
            if dx is None:
                continue
            a, b = start // (oh * ow), stop // (oh * ow)
            if nhwc:  # one (positions, in) block per kernel offset: the adds run along whole image rows
                dcol = scratch(self, "dcol", (k * k, len(rows), c), g.dtype)
                np.matmul(rows, w_taps, out=dcol)
                dcol = dcol.reshape(k, k, b - a, oh, ow, c)
                for i, (rows_in, rows_out) in enumerate(row_ranges):
                    for j, (cols_in, cols_out) in enumerate(col_ranges):
                        dx[a:b, rows_in, cols_in] += dcol[i, j, :, rows_out, cols_out]
            else:
                dcol = scratch(self, "dcol", col.T.shape, g.dtype)
                np.matmul(w_k.T, rows.T, out=dcol)
                dcol = dcol.reshape(c, k, k, b - a, oh, ow)
                for i in range(k):
                    for j in range(k):
                        dx[:, a:b, i:i + s * oh:s, j:j + s * ow:s] += dcol[:, i, j]
        dw = dw_t.T.reshape(len(w), k, k, c).transpose(0, 3, 1, 2) if nhwc else dw_t.T.reshape(w.shape)
        self.grads["W"][...] = dw
        if dx is None:
            return None
        if nhwc:
            return dx.transpose(0, 3, 1, 2)
        return dx[:, :, p:p + h, p:p + wd].transpose(1, 0, 2, 3)

    def _same(self):
        """Whether this is a stride-1 NHWC convolution whose output is as large as its input (padding
        (k-1)/2): its backward is _same_grads'."""
        return self.x_shape[1] >= NHWC_CHANNELS and self.stride == 1 and 2 * self.padding == self.kernel - 1

    def _same_grads(self, g):
        """(dLoss/dx NHWC, dW turned (k·k·out, in)) of a _same() convolution, from g (positions, out) and
        the columns of g padded alike, a chunk of images at a time. dx is the same convolution of the
        gradient by the kernel turned half a turn with in and out swapped; its columns and products write
        dx directly, the arithmetic of col2im without its k·k scattered adds. dW, by the same columns:
        dW[o, c, i, j] = Σ x[q, c]·g_padded[q + (k-1-i, k-1-j), o] over the input positions q, so the
        input's own columns need not be made a second time for it (they cost as much as the gradient's)."""
        w, (n, c, h, wd), k, p = self.params["W"], self.x_shape, self.kernel, self.padding
        o = len(w)
        padded = scratch(self, "grad_padded", (n, h + 2 * p, wd + 2 * p, o), g.dtype)  # zero border kept
        padded[:, p:p + h, p:p + wd] = g.reshape(n, h, wd, o)
        turned = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(-1, c)  # (k·k·out, in)
        dx = scratch(self, "dx", (n, h, wd, c), g.dtype)
        x = by_position(self.x)  # (positions, in): a view of NHWC memory
        dw, part = (scratch(self, name, (k * k * o, c), g.dtype) for name in ("dw_turned", "dw_part"))
        dw.fill(0)
        step = max(1, CHUNK_BYTES // (h * wd * k * k * o * g.itemsize))
        sn, sh, sw, so = padded.strides
        views = as_strided(padded, (n, h, wd, k, k, o), (sn, sh, sw, sh, sw, so), writeable=False)
        cols = scratch(self, "grad_col", (min(n, step) * h * wd, k * k * o), g.dtype)
        for a in range(0, n, step):
            b = min(n, a + step)
            col = cols[:(b - a) * h * wd]
            np.copyto(col.reshape(views[a:b].shape), views[a:b])
            np.matmul(col, turned, out=dx[a:b].reshape(-1, c))
            dw += np.matmul(col.T, x[a * h * wd:b * h * wd], out=part)
        return dx, dw

    def _weights_as_columns(self):
        """W as (out, k·k·in), its columns in the order of the columns' (see _chunks)."""
        w = self.params["W"]
        if self.nhwc:
            return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(len(w), -1)
        return w.reshape(len(w), -1)

    def _padded(self, x, dtype):
        """x (n, c, h, w) padded, as NHWC memory (n, h + 2p, w + 2p, c) for NHWC_CHANNELS or more, else
        channel-major (c, n, h + 2p, w + 2p): a free view when x is in that order already and needs no
        padding, else copied into a buffer whose zero border is written once."""
        p, (n, c, h, w), nhwc = self.padding, x.shape, self.nhwc
        xt = x.transpose(0, 2, 3, 1) if nhwc else x.transpose(1, 0, 2, 3)
        if not p and xt.flags.c_contiguous and xt.dtype == dtype:
            return xt
        shape = (n, h + 2 * p, w + 2 * p, c) if nhwc else (c, n, h + 2 * p, w + 2 * p)
        padded = scratch(self, "padded", shape, dtype)
        if nhwc:
            padded[:, p:p + h, p:p + w] = xt
        else:
            padded[:, :, p:p + h, p:p + w] = xt
        return padded

    def _chunks(self, keep=True):
        """(first position, end position, columns (positions, k·k·in)) for chunks of whole images,
        positions counted over (image, out_h, out_w). NHWC columns (many channels) go in a buffer of
        CHUNK_BYTES that the next chunk overwrites, made again for the backward products unless one
        chunk held the batch. Channel-major ones (few channels) are made CM_CHUNK_BYTES at a time, each
        chunk's product reading them while still in cache, into a buffer for the whole batch when
        `keep` (training): the backward pass takes them as one chunk (its products in chunks measured
        slower)."""
        xs, k, s, c = self.xs, self.kernel, self.stride, self.x_shape[1]
        (oh, ow), nhwc, n = self.out_hw, self.nhwc, self.x_shape[0]
        if self.kept is not None:  # the backward pass: the columns the forward pass left
            yield 0, n * oh * ow, self.kept
            return
        step = max(1, (CHUNK_BYTES if nhwc else CM_CHUNK_BYTES) // (oh * ow * k * k * c * xs.itemsize))
        keep = keep and (step >= n or not nhwc)
        if nhwc:  # strided windows of the whole batch, sliced by chunk (one as_strided call, not one a chunk)
            sn, sh, sw, sc = xs.strides
            views = as_strided(xs, (n, oh, ow, k, k, c), (sn, s * sh, s * sw, sh, sw, sc), writeable=False)
        else:
            sc, sn, sh, sw = xs.strides
            views = as_strided(xs, (c, k, k, n, oh, ow), (sc, sh, sw, sn, s * sh, s * sw), writeable=False)
        size = (n if keep and not nhwc else min(n, step)) * oh * ow * k * k * c
        flat = scratch(self, "col", (size,), xs.dtype)  # each chunk's columns: its first elements
        if keep and not nhwc:
            whole = flat.reshape(c, k, k, n, oh, ow)
        for a in range(0, n, step):
            b = min(n, a + step)
            view = views[a:b] if nhwc else views[:, :, :, a:b]
            col = whole[:, :, :, a:b] if keep and not nhwc else flat[:view.size].reshape(view.shape)
            np.copyto(col, view)
            yield a * oh * ow, b * oh * ow, by_position_columns(col, nhwc)
        if keep:
            self.kept = by_position_columns(whole if not nhwc else col, nhwc)


def by_position_columns(col, nhwc):
    """Columns (images, oh, ow, k, k, in) or (in, k, k, images, oh, ow) as the (positions, k·k·in) matrix."""
    if nhwc:
        return col.reshape(-1, math.prod(col.shape[3:]))
    return col.reshape(math.prod(col.shape[:3]), -1).T
