"""The hot path's products and reductions equal the plain NumPy expressions they replace; BLAS threads."""
import sys

import numpy as np
import pytest

from kagglekit.fast.blas import blas_threads
from kagglekit.fast.products import PerFeature, column_sums, flat, matmul_f, relu, row_max, row_sums, t_matmul


@pytest.mark.parametrize("n, a, b, order", [(20500, 10, 10, "F"), (5000, 3, 7, "C"), (300, 784, 16, "C")])
def test_t_matmul_equals_the_plain_product(n, a, b, order):
    rng = np.random.default_rng(6)
    x = np.asarray(rng.standard_normal((n, a)), order=order)
    g = np.asarray(rng.standard_normal((n, b)), order=order)
    np.testing.assert_allclose(t_matmul(x, g, np.empty((a, b))), x.T @ g, rtol=1e-10, atol=1e-10)


def test_column_sums():
    a = np.random.default_rng(2).standard_normal((1000, 10))
    np.testing.assert_allclose(column_sums(a), a.sum(axis=0), rtol=1e-10)


def blas_thread_counts():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]


def test_blas_threads_limits_then_restores_the_count():
    before = blas_thread_counts()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS here")
    with blas_threads(1):
        assert blas_thread_counts() == [1] * len(before)
    assert blas_thread_counts() == before
    with blas_threads(None):  # None: the BLAS's own setting
        assert blas_thread_counts() == before


def test_blas_threads_without_threadpoolctl_leaves_the_count_alone(monkeypatch):
    before = blas_thread_counts()
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # what a kernel with only numpy and pandas has
    with blas_threads(1):
        assert np.ones((3, 3)) @ np.ones(3) @ np.ones(3) == 9
        monkeypatch.undo()
        assert blas_thread_counts() == before


@pytest.mark.parametrize("k", [3, 10, 40])
def test_row_reductions_and_column_major_product(k):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((50, 7)), rng.standard_normal((7, k))
    product = matmul_f(a, b)
    assert product.flags.f_contiguous
    np.testing.assert_allclose(product, a @ b, rtol=1e-12)
    np.testing.assert_array_equal(row_max(product), product.max(axis=1, keepdims=True))
    np.testing.assert_allclose(row_sums(product), product.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows", [512, 500])  # k = 256 divides 512 rows; 500 take NumPy's own broadcast
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply])
def test_per_feature_steps_equal_numpys_broadcast_value_for_value(rows, order, ufunc):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal((rows, 32), dtype=np.float32), order=order)
    v = rng.standard_normal(32, dtype=np.float32)
    per = PerFeature(a)
    assert per.k == (256 if order == "C" else 1)
    out = np.empty_like(a)
    per(ufunc, a, v, out)
    np.testing.assert_array_equal(out, ufunc(a, v))
    per(ufunc, out, v, out)  # in place, the tiled vector reused
    np.testing.assert_array_equal(out, ufunc(ufunc(a, v), v))
    per = PerFeature(a, k=rows)  # one view row per block of `rows` (whole images, as a conv's chunks)
    per(ufunc, a, v, out)
    np.testing.assert_array_equal(out, ufunc(a, v))


def layouts(rng):
    """(name, float32 array) in the memory orders the fast layers pass a ReLU, one not contiguous."""
    nhwc = rng.standard_normal((5, 9, 9, 32), dtype=np.float32)
    yield "C", rng.standard_normal((3, 8192 + 77), dtype=np.float32)
    yield "F", np.asfortranarray(rng.standard_normal((1000, 20), dtype=np.float32))
    yield "NHWC as NCHW", nhwc.transpose(0, 3, 1, 2)
    yield "channel-major as NCHW", rng.standard_normal((32, 5, 9, 9), dtype=np.float32).transpose(1, 0, 2, 3)
    yield "strided", nhwc.transpose(0, 3, 1, 2)[:, :, ::2, ::2]
    yield "small", rng.standard_normal((4, 7), dtype=np.float32)


def test_relu_equals_maximum_with_zero_in_the_same_memory_order():
    rng = np.random.default_rng(8)
    for name, x in layouts(rng):
        x.flat[:5] = [np.nan, -np.inf, np.inf, -0.0, 0.0]
        y = relu(x)
        np.testing.assert_array_equal(y, np.maximum(x, 0), err_msg=name)  # NaN where NaN, -inf to 0
        assert y.strides == np.empty_like(x).strides, name
        assert (flat(x) is None) == (name == "strided"), name


def test_flat_is_a_view_in_memory_order():
    a = np.arange(24.0).reshape(2, 3, 4)
    for view in (a, a.transpose(2, 0, 1), np.asfortranarray(a), np.asfortranarray(a).T):
        f = flat(view)
        assert f.ndim == 1 and np.shares_memory(f, view)
        np.testing.assert_array_equal(f, np.ravel(view, order="K"))
    assert flat(a[:, ::2]) is None
