"""FastBatchNorm computes what BatchNorm computes: outputs, running statistics, gradients of gamma, beta
and the input, in training and prediction, for (n, features) batches and image batches in any memory
order."""
import numpy as np
import pytest

from kagglekit.fast import norm
from kagglekit.fast.norm import FastBatchNorm
from kagglekit.nn.norm import BatchNorm
from test_fast_pool import in_memory_order


def batches(shape, order, rng):
    x = rng.standard_normal(shape) * 3 + 1
    if len(shape) == 2:
        return np.asfortranarray(x) if order == "F" else x
    if order == "padded":  # the unpadded part of a padded NHWC buffer, as a padded conv's dx
        n, c, h, w = shape
        padded = np.zeros((n, h + 2, w + 2, c))
        padded[:, 1:-1, 1:-1] = x.transpose(0, 2, 3, 1)
        return padded[:, 1:-1, 1:-1].transpose(0, 3, 1, 2)
    return in_memory_order(x, order)


@pytest.mark.parametrize("shape, order, grad_order", [((6, 4), "C", "C"), ((6, 4), "F", "C"),
                                                      ((3, 4, 5, 2), "nhwc", "nhwc"), ((3, 4, 5, 2), "cm", "cm"),
                                                      ((3, 4, 5, 2), "nchw", "nhwc"), ((3, 4, 5, 2), "nhwc", "padded")])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("block_bytes", [2 ** 18, 130])  # one block; blocks of 4 rows, the last one shorter
def test_fast_batchnorm_equals_batchnorm(shape, order, grad_order, training, block_bytes, monkeypatch):
    monkeypatch.setattr(norm, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(0)
    plain, fast = BatchNorm(shape[1]), FastBatchNorm(shape[1])
    for layer in (plain, fast):  # float64 params and buffers, so that the comparison is tight
        layer.params = {"gamma": np.linspace(0.5, 2, shape[1]), "beta": np.linspace(-1, 1, shape[1])}
        layer.buffers = {"running_mean": np.full(shape[1], 0.3), "running_var": np.full(shape[1], 1.5)}
    for _ in range(2):  # twice: the running statistics move, and prediction uses them
        x = batches(shape, order, rng)
        np.testing.assert_allclose(fast.forward(x, training), plain.forward(x, training), rtol=1e-12, atol=1e-12)
        grad = batches(shape, grad_order, rng)
        np.testing.assert_allclose(fast.backward(grad), plain.backward(grad), rtol=1e-10, atol=1e-12)
        for name in ("gamma", "beta"):
            np.testing.assert_allclose(fast.grads[name], plain.grads[name], rtol=1e-10, atol=1e-12)
        for name in plain.buffers:
            np.testing.assert_allclose(fast.buffers[name], plain.buffers[name], rtol=1e-12)


def test_fast_batchnorm_stays_float32():
    layer = FastBatchNorm(3)
    x = in_memory_order(np.random.default_rng(1).random((4, 3, 2, 2), dtype=np.float32), "nhwc")
    out = layer.forward(x, training=True)
    assert out.dtype == layer.backward(out).dtype == layer.grads["gamma"].dtype == np.float32
    assert layer.buffers["running_var"].dtype == np.float32
