"""Packed rows: products equal to the dense ones, one-byte pixel codes, the packing orders."""
import numpy as np
import pytest

from kagglekit.data import to_float
from kagglekit.fast.rowblocks import RowBlocks, bounding_box_order, packed, pixel_codes


def sparse_digits(n=300, seed=0):
    """Images with a random lit rectangle each, so rows share blank borders as real digits do."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28))
    for img in x:
        top, left = rng.integers(0, 14, 2)
        img[top:top + rng.integers(5, 14), left:left + rng.integers(5, 14)] = rng.random()
    return x.reshape(n, 784), rng.integers(0, 10, n)


def pixel_digits(n=300, seed=0, dtype=np.float32):
    """sparse_digits as uint8 pixels scaled to [0, 1] the way data.to_float does, in dtype."""
    x, y = sparse_digits(n, seed)
    return np.rint(x * 255).astype(np.uint8).astype(dtype) / dtype(255), y


def test_row_blocks_products_equal_dense_ones():
    x, _ = sparse_digits()
    rng = np.random.default_rng(1)
    order = bounding_box_order(x)
    blocks = RowBlocks(x, order, rows=64)
    assert sum(len(cols) for _, _, cols, *_ in blocks.blocks) < 784 * len(blocks.blocks)  # columns were dropped
    w = rng.standard_normal((784, 10))
    np.testing.assert_allclose(blocks @ w, x[order] @ w, rtol=1e-10)
    g = rng.standard_normal((len(x), 10))
    np.testing.assert_allclose(blocks.t_matmul(g), x[order].T @ g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_of_pixels_keep_one_byte_codes_and_the_same_products(dtype):
    x, _ = pixel_digits(dtype=dtype)
    rng = np.random.default_rng(4)
    order = bounding_box_order(x)
    blocks = RowBlocks(x, order, rows=64)
    assert blocks.scale is not None and all(v.dtype == np.uint8 for *_, v, _ in blocks.blocks)
    w = rng.standard_normal((784, 10)).astype(dtype)
    g = rng.standard_normal((len(x), 10)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(blocks @ w, x[order] @ w, rtol=tol, atol=tol)
    np.testing.assert_allclose(blocks.t_matmul(g), x[order].T @ g, rtol=tol, atol=tol)


def test_pixel_codes_only_for_exact_multiples_of_one_255th():
    pixels = np.array([[0, 1, 128, 255]], np.uint8)
    np.testing.assert_array_equal(pixel_codes(to_float(pixels)), pixels)
    for bad in ([[0.5]], [[2.0]], [[-1 / 255]], [[np.nan]]):
        assert pixel_codes(np.array(bad, np.float32)) is None


def test_bounding_box_order_is_a_permutation():
    x, _ = sparse_digits(50)
    assert sorted(bounding_box_order(x)) == list(range(50))


def test_packed_rows_keep_their_labels():
    x, y = pixel_digits()
    blocks, labels = packed(x, y)
    np.testing.assert_array_equal(labels, y[blocks.order])
    w = np.eye(784, 3, dtype=np.float32)
    np.testing.assert_allclose(blocks @ w, x[blocks.order] @ w, rtol=1e-6)
