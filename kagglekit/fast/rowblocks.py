"""Packed rows for full-batch descent: a constant input (the training set, the validation rows) kept
once without the pixel columns that are blank across each block of similar digits, as one-byte pixel
codes, so that the products with it do under half the dense arithmetic and a quarter of its memory
traffic."""
import numpy as np

SIDE = 28


def sparsity_order(x):
    """All rows of x (n, width) sorted by last, then first nonzero column, so that neighbours tend to
    share their all-zero columns (for images, bounding_box_order does better)."""
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


def bounding_box_order(x):
    """Row order of x (n, 784) that sorts the digits by bounding box (bottom, top, right, left edge):
    neighbours in this order leave the same border pixels blank, which RowBlocks skips."""
    lit = (x != 0).reshape(len(x), SIDE, SIDE)
    rows, cols = lit.any(axis=2), lit.any(axis=1)
    top, bottom = rows.argmax(axis=1), rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), cols[:, ::-1].argmax(axis=1)
    return np.lexsort((left, -right, top, -bottom))


def packing_order(x):
    """The row order in which RowBlocks drops the most columns: digits by bounding box, else by sparsity."""
    return bounding_box_order(x) if x.shape[1] == SIDE * SIDE else sparsity_order(x)


def packed(x, y):
    """(x as RowBlocks, y in the same row order), for rows that every epoch evaluates unchanged."""
    order = packing_order(x)
    return RowBlocks(x, order), y[order]
