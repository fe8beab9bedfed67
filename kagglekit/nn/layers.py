"""Layers: each holds `params` and `grads` dicts; `forward(x)` caches what `backward(grad)` needs.

Shapes are (batch, features); Dense stores its outputs column-major (matmul_f), which every layer and
the loss accept like any other array. A layer's `spec()` is the JSON-able description
that `build_layer(spec)` turns back into an identical layer, which is how models are saved.
RowBlocks packs a constant input without its zero columns, which Dense multiplies as it is.
"""
import numpy as np

from ..errors import ConfigError


class Layer:
    """A layer with no parameters; subclasses override forward/backward."""
    kind = "layer"
    decay = ()  # names of params that L2 weight decay applies to

    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad, input_grad=True):
        """Set self.grads from dLoss/doutput and return dLoss/dinput (None if not input_grad)."""
        raise NotImplementedError

    def spec(self):
        return {"type": self.kind}


def he(n_in, n_out, rng):
    """N(0, 2/n_in): keeps the variance of ReLU activations steady from layer to layer."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def glorot(n_in, n_out, rng):
    """U(-l, l) with l = sqrt(6/(n_in+n_out)), for tanh and sigmoid."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out))


def uniform(n_in, n_out, rng):
    """U(-0.5, 0.5), the seed notebook's init."""
    return rng.random((n_in, n_out)) - 0.5


INITS = {"he": he, "glorot": glorot, "uniform": uniform}


def init_weights(scheme, n_in, n_out, rng, dtype=np.float32):
    """A (n_in, n_out) weight matrix drawn by the named scheme."""
    if scheme not in INITS:
        raise ConfigError(f"unknown init {scheme!r}; use one of {', '.join(INITS)}")
    return INITS[scheme](n_in, n_out, rng).astype(dtype)


_ONES = {}  # dtype -> the longest ones-vector asked for so far, sliced by column_sums


def column_sums(a, out=None):
    """Sum over the rows of a (n, k): a ones-vector product, ~8x faster than a.sum(axis=0) for narrow k."""
    ones = _ONES.get(a.dtype)
    if ones is None or len(ones) < len(a):
        ones = _ONES[a.dtype] = np.ones(len(a), a.dtype)
    return np.matmul(ones[:len(a)], a, out=out)


def matmul_f(a, b):
    """a @ b as a column-major array, as Dense returns its outputs: each unit's values contiguous, so
    adding the biases and the softmax's row max and sums run down long columns, not across rows of
    ten, and every product stays one BLAS call."""
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


def sparsity_order(x):
    """All rows of x (n, width) sorted by last, then first nonzero column, so that neighbours tend to
    share their all-zero columns (for images, augment.bounding_box_order does better)."""
    lit = x != 0
    first, last = lit.argmax(axis=1), lit[:, ::-1].argmax(axis=1)
    return np.lexsort((first, -last))


def pixel_codes(values):
    """values as uint8 codes when each one is code/255 exactly, as data.to_float makes pixels; else None."""
    codes = np.rint(values * 255)
    if not np.all((codes >= 0) & (codes <= 255)):  # also False for NaN
        return None
    codes = codes.astype(np.uint8)
    return codes if np.array_equal(codes.astype(values.dtype) / values.dtype.type(255), values) else None


class RowBlocks:
    """Rows of a constant input x (n, width), e.g. the training set of full-batch descent, packed into
    blocks that keep only their columns which are not all zero.

    `blocks @ W` and `blocks.t_matmul(g)` (= x.T @ g) do the dense products' arithmetic minus the
    zeros. With rows ordered so that neighbours share blank columns (digits sorted by bounding box),
    a block of 256 MNIST rows keeps ~340 of 784 columns: under half the work.
    Row i of the packed matrix is x[order[i]] (default: sparsity_order(x)).

    Pixels (every value a multiple of 1/255, as data.to_float makes them) are kept as their one-byte
    codes, a quarter of the memory traffic, and each block is widened to floats just before its product,
    into a buffer that stays in the core's cache; the 1/255 is applied to the small W or result instead.
    The buffer makes an instance unsafe to share between threads: give each thread its own.
    """

    def __init__(self, x, order=None, rows=256):
        if order is None:
            order = sparsity_order(x)
        self.order, self.shape, self.dtype = order, (len(order), x.shape[1]), x.dtype
        blocks = []  # (start, stop, kept columns, their values)
        for start in range(0, len(order), rows):
            part = x[order[start:start + rows]]
            cols = np.flatnonzero(part.any(axis=0))
            blocks.append((start, start + len(part), cols, np.ascontiguousarray(part[:, cols])))
        codes = [pixel_codes(values) for *_, values in blocks]
        self.scale = None  # 1/255 when the blocks hold pixel codes
        if all(c is not None for c in codes):
            blocks = [(*b[:3], c) for b, c in zip(blocks, codes)]
            self.scale = 1 / 255
            self.buffer = np.empty(max((c.size for c in codes), default=0), x.dtype)
        # Each block also kept transposed: both products then run as plain row-major GEMMs with no
        # transpose flag, which OpenBLAS hands to its copy-free kernel for these small shapes.
        self.blocks = [(*b, np.ascontiguousarray(b[3].T)) for b in blocks]
        # t_matmul writes each block's (kept columns, k) product into one stacked array, then adds the
        # rows that belong to the same column in one reduceat instead of a scatter-add per block.
        kept = np.concatenate([cols for _, _, cols, _ in blocks]) if blocks else np.zeros(0, np.intp)
        self.sorted = np.argsort(kept, kind="stable")
        kept = kept[self.sorted]
        self.runs = np.flatnonzero(np.diff(kept, prepend=-1))  # where each column's run of rows starts
        self.columns = kept[self.runs]
        self.offsets = np.cumsum([0] + [len(cols) for _, _, cols, _ in blocks])

    def __len__(self):
        return self.shape[0]

    def _values(self, stored):
        """A block's values as floats (the codes widened into the buffer, or the stored values)."""
        if self.scale is None:
            return stored
        values = self.buffer[:stored.size].reshape(stored.shape)
        np.copyto(values, stored)
        return values

    def __matmul__(self, w):
        """x @ w as a column-major (n, k) array (see matmul_f)."""
        dtype = np.result_type(self.dtype, w.dtype)
        out = np.empty((self.shape[0], w.shape[1]), dtype, order="F")
        w_t = np.ascontiguousarray(w.T if self.scale is None else w.T * dtype.type(self.scale))
        for start, stop, cols, _, stored_t in self.blocks:
            np.matmul(w_t.take(cols, axis=1), self._values(stored_t), out=out.T[:, start:stop])
        return out

    def t_matmul(self, g, out=None):
        """x.T @ g for g (n, k) in the blocks' row order: (width, k), written into out if given."""
        dtype = np.result_type(self.dtype, g.dtype)
        if out is None:
            out = np.empty((self.shape[1], g.shape[1]), dtype)
        g_t = np.ascontiguousarray(g.T)  # a view of a column-major g
        parts = np.empty((g.shape[1], self.offsets[-1]), dtype)
        for (start, stop, _, stored, _), a, b in zip(self.blocks, self.offsets, self.offsets[1:]):
            np.matmul(g_t[:, start:stop], self._values(stored), out=parts[:, a:b])
        out.fill(0)
        if len(self.columns):
            out.T[:, self.columns] = np.add.reduceat(parts[:, self.sorted], self.runs, axis=1)
        if self.scale is not None:
            out *= dtype.type(self.scale)
        return out


class Dense(Layer):
    """y = x @ W + b, with W (n_in, n_out) and one bias per output unit; x an array or a RowBlocks."""
    kind = "dense"
    decay = ("W",)

    def __init__(self, n_in, n_out, init="he", rng=None, dtype=np.float32):
        super().__init__()
        self.n_in, self.n_out, self.init = n_in, n_out, init
        if rng is None:
            self.params["W"] = np.zeros((n_in, n_out), dtype)
            self.params["b"] = np.zeros(n_out, dtype)
        else:
            self.params["W"] = init_weights(init, n_in, n_out, rng, dtype)
            # The seed notebook draws its biases from U(-0.5, 0.5) too; the others start at zero.
            b = rng.random(n_out) - 0.5 if init == "uniform" else np.zeros(n_out)
            self.params["b"] = b.astype(dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, training=False):
        self.x = x
        out = x @ self.params["W"] if isinstance(x, RowBlocks) else matmul_f(x, self.params["W"])
        out += self.params["b"]  # in place: one pass and no second (batch, n_out) array
        return out

    def backward(self, grad, input_grad=True):
        if isinstance(self.x, RowBlocks):
            self.x.t_matmul(grad, out=self.grads["W"])
        else:
            t_matmul(self.x, grad, out=self.grads["W"])
        column_sums(grad, out=self.grads["b"])  # one gradient per unit, not a scalar
        # The first layer's input gradient is never used and costs as much as the forward pass.
        return matmul_f(grad, self.params["W"].T) if input_grad else None

    def spec(self):
        return {"type": self.kind, "n_in": self.n_in, "n_out": self.n_out, "init": self.init}


class ReLU(Layer):
    kind = "relu"

    def forward(self, x, training=False):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, grad, input_grad=True):
        return grad * self.mask


class Tanh(Layer):
    kind = "tanh"

    def forward(self, x, training=False):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad, input_grad=True):
        return grad * (1 - self.y * self.y)


class Sigmoid(Layer):
    kind = "sigmoid"

    def forward(self, x, training=False):
        self.y = 0.5 * (1 + np.tanh(0.5 * x))  # tanh form: no overflow for large |x|
        return self.y

    def backward(self, grad, input_grad=True):
        return grad * self.y * (1 - self.y)


class Dropout(Layer):
    """Zeroes a fraction `rate` of units while training and rescales the rest (inverted dropout)."""
    kind = "dropout"

    def __init__(self, rate, rng=None):
        super().__init__()
        self.rate, self.rng = rate, rng

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1 - self.rate
        self.mask = (self.rng.random(x.shape, dtype=np.float32) < keep) / np.float32(keep)
        return x * self.mask

    def backward(self, grad, input_grad=True):
        return grad if self.mask is None else grad * self.mask

    def spec(self):
        return {"type": self.kind, "rate": self.rate}


ACTIVATIONS = {cls.kind: cls for cls in (ReLU, Tanh, Sigmoid)}
LAYERS = {cls.kind: cls for cls in (Dense, Dropout, *ACTIVATIONS.values())}


def build_layer(spec, rng=None):
    """The layer a spec() describes; parameters are initialised from rng or left at zero for loading."""
    kind = spec.get("type")
    if kind not in LAYERS:
        raise ConfigError(f"unknown layer type {kind!r}; known: {', '.join(LAYERS)}")
    args = {k: v for k, v in spec.items() if k != "type"}
    if kind in ("dense", "dropout"):
        args["rng"] = rng
    return LAYERS[kind](**args)
