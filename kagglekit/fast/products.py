"""Matrix products and reductions shaped for the hot path: results equal to the plain NumPy expression
they replace, computed in fewer or faster passes for the tall, narrow arrays of a small network."""
import numpy as np

WIDE = 8192  # values in a row of the views that per-feature steps run on (see PerFeature)
_ONES = {}  # dtype -> the longest ones-vector asked for so far, sliced by column_sums
_ZEROS = {}  # dtype -> WIDE zeros, for relu


def column_sums(a, out=None):
    """a.sum(axis=0) for a (n, k) as a ones-vector product, ~8x faster for narrow k."""
    ones = _ONES.get(a.dtype)
    if ones is None or len(ones) < len(a):
        ones = _ONES[a.dtype] = np.ones(len(a), a.dtype)
    return np.matmul(ones[:len(a)], a, out=out)


def relu(x):
    """np.maximum(x, 0) in a new array of x's memory order. NumPy 2.4 runs maximum against a scalar ~1.5x
    slower than against an array (0.90 vs 0.60 ms on 3.2M float32): where x's memory is one contiguous
    run (in any axis order), it is seen as rows of WIDE values against one row of zeros."""
    out = np.empty_like(x)
    flat_x, flat_out = flat(x), flat(out)
    if flat_x is None or flat_out is None or x.size < WIDE:
        return np.maximum(x, 0, out=out)
    zeros = _ZEROS.get(x.dtype)
    if zeros is None:
        zeros = _ZEROS[x.dtype] = np.zeros(WIDE, x.dtype)
    n = x.size - x.size % WIDE
    np.maximum(flat_x[:n].reshape(-1, WIDE), zeros, out=flat_out[:n].reshape(-1, WIDE))
    np.maximum(flat_x[n:], 0, out=flat_out[n:])
    return out


def flat(a):
    """A 1-D view of a's elements in memory order, where a is one contiguous run with its axes in any
    order (a transposed view of C-ordered memory, say); else None."""
    by_stride = a.transpose(np.argsort(a.strides, kind="stable")[::-1])
    return by_stride.reshape(-1) if by_stride.flags.c_contiguous else None


def row_max(a):
    """a.max(axis=1, keepdims=True) for a (n, k). For narrow k, k-1 elementwise maxima over columns beat
    the per-row reduction of only k values, which runs ~8x slower."""
    if a.shape[1] > 32:
        return a.max(axis=1, keepdims=True)
    out = a[:, :1].copy()
    for j in range(1, a.shape[1]):
        np.maximum(out, a[:, j:j + 1], out=out)
    return out


def row_sums(a):
    """a.sum(axis=1, keepdims=True) for a (n, k), by a ones-vector product (slow for narrow k otherwise)."""
    return (a @ np.ones(a.shape[1], a.dtype))[:, None]


def matmul_f(a, b):
    """a @ b as a column-major array: each unit's values contiguous, so that adding the biases and the
    softmax's row max and sums run down long columns, not across rows of ten, and every product stays
    one BLAS call."""
    out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b), order="F")
    np.matmul(b.T, a.T, out=out.T)
    return out


def t_matmul(x, g, out, rows=256):
    """x.T @ g into out. For a tall, narrow pair (thousands of rows, a few columns each: the seed
    preset's hidden layer) as one batched product of 256-row slices, summed: OpenBLAS runs the single
    (k, n) @ (n, m) product with a huge n ~3x slower."""
    n = len(x) - len(x) % rows
    if n < 16 * rows or x.shape[1] * g.shape[1] > 1024:
        return np.matmul(x.T, g, out=out)
    slices = np.matmul(x.T[:, :n].reshape(x.shape[1], -1, rows).transpose(1, 0, 2),
                       g.T[:, :n].reshape(g.shape[1], -1, rows).transpose(1, 2, 0))
    np.sum(slices, axis=0, out=out)
    out += x[n:].T @ g[n:]
    return out


class PerFeature:
    """Elementwise steps between blocks of a (samples, features) matrix and per-feature vectors, with
    NumPy's inner loop running WIDE values, not `features`: it broadcasts a (features,) vector over a
    C-ordered block a row at a time, so with 32 channels one such step over 100,352 x 32 float32 takes
    0.74 ms, where a step between two arrays of that size takes 0.25 ms. A block of C-ordered rows, k
    of them dividing its length, is seen as (rows/k, k·features) and the vector tiled k times: 0.34 ms,
    the same values op for op. Column-major blocks need none of it (the loop runs down a column)."""

    def __init__(self, m, k=None):
        """For blocks of m's memory order; k, where given, instead of WIDE // features."""
        self.k = (k or max(1, WIDE // m.shape[1])) if m.flags.c_contiguous else 1
        self.tiled = {}  # id(vector) -> (vector, tiled k times), for this one pass of the layer

    def __call__(self, ufunc, a, v, out):
        """ufunc(a, v, out=out) for blocks a and out (rows, features) and v (features,)."""
        k, n = self.k, a.shape[1]
        if k > 1 and len(a) % k == 0 and a.flags.c_contiguous and out.flags.c_contiguous:
            kept = self.tiled.get(id(v))
            if kept is None:
                kept = self.tiled[id(v)] = (v, np.tile(v, k))  # v kept, so that its id stays its own
            ufunc(a.reshape(-1, k * n), kept[1], out=out.reshape(-1, k * n))
        else:
            ufunc(a, v, out=out)
