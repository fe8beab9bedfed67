"""FastMaxPool2D computes what MaxPool2D computes, ties and odd sizes included, whatever the memory order
of its input and gradient; accelerate's swap of relu,pool gives the plain order's values and gradients."""
import numpy as np
import pytest

from kagglekit.fast import pool
from kagglekit.fast.layers import FastReLU, accelerate
from kagglekit.fast.pool import FastMaxPool2D, pool_before_relu
from kagglekit.nn.layers import Dense, ReLU
from kagglekit.nn.network import Network
from kagglekit.nn.pool import MaxPool2D
from kagglekit.nn.shape import Flatten, Reshape


def in_memory_order(a, order):
    """a (n, c, h, w) with the same values, laid out in memory as `order` says."""
    axes = {"nchw": (0, 1, 2, 3), "cm": (1, 0, 2, 3), "nhwc": (0, 2, 3, 1)}[order]
    return np.ascontiguousarray(a.transpose(axes)).transpose(np.argsort(axes))


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("order, grad_order", [("cm", "cm"), ("nhwc", "nhwc"), ("nhwc", "nchw"), ("nchw", "cm")])
@pytest.mark.parametrize("chunk_bytes", [None, 500])  # all images at once; chunks of 1-2 images
def test_fast_pool_equals_pool_with_ties_and_odd_sizes(size, order, grad_order, chunk_bytes, monkeypatch):
    if chunk_bytes:
        monkeypatch.setattr(pool, "WHOLE_BYTES", 0)
        monkeypatch.setattr(pool, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(3)
    x = in_memory_order(rng.integers(0, 3, (3, 2, 7, 9)).astype(np.float64), order)  # many ties
    plain, fast = MaxPool2D(size), FastMaxPool2D(size)
    out = fast.forward(x)
    np.testing.assert_array_equal(out, plain.forward(x))
    grad = in_memory_order(rng.standard_normal(out.shape), grad_order)
    np.testing.assert_array_equal(fast.backward(grad), plain.backward(grad))


def test_relu_moves_after_the_pool_and_gives_the_same_values_and_gradients():
    rng = np.random.default_rng(7)
    layers = [Reshape([1, 6, 6]), ReLU(), MaxPool2D(2), Flatten(), Dense(9, 10, rng=rng, dtype=np.float64)]
    net = Network(layers)
    assert [type(x) for x in pool_before_relu(layers)][1:3] == [MaxPool2D, ReLU]
    fast = accelerate(net)
    assert [type(x) for x in fast.layers][1:3] == [FastMaxPool2D, FastReLU]
    # Windows all <= 0, ties at 0 and between positives, and mixed signs.
    x = rng.integers(-2, 3, (5, 36)).astype(np.float64)
    x[0] = -1.0
    labels = rng.integers(0, 10, 5)
    for layer in net.layers + fast.layers:  # the pair sits below the first weights: ask for its dx anyway
        layer.input_grad = True
    for grad_of in (net, fast):
        grad_of.train_step(x, labels)
    np.testing.assert_allclose(fast.layers[-1].grads["W"], net.layers[-1].grads["W"], rtol=1e-12)
    grad = rng.standard_normal((5, 1, 3, 3))
    for grad_of in (net, fast):
        grad_of.forward(x, training=True)
    plain_dx = net.layers[1].backward(net.layers[2].backward(grad))  # relu(pool), or pool(relu) when swapped
    fast_dx = fast.layers[1].backward(fast.layers[2].backward(grad))
    np.testing.assert_array_equal(fast_dx, plain_dx)
    np.testing.assert_allclose(fast.forward(x), net.forward(x), rtol=1e-12)
