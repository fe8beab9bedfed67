"""FastConv2D computes what the plain layer computes, whatever the memory order of
their input and however the batch size changes between calls; an accelerated CNN trains like the plain
one and predicts the same."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.fast import conv, rowconv
from kagglekit.fast.conv import FastConv2D
from kagglekit.fast.layers import accelerate
from kagglekit.fast.train import fit
from kagglekit.nn.conv import Conv2D
from kagglekit.nn.layers import Dense, ReLU
from kagglekit.nn.network import Network
from kagglekit.nn.pool import MaxPool2D
from kagglekit.nn.shape import Flatten, Reshape
from kagglekit.nn.train import fit as plain_fit
from test_nn_network import small_cnn


def twins(cls, fast_cls, *args, **kwargs):
    plain = cls(*args, **kwargs)
    fast = fast_cls(*args, **{k: v for k, v in kwargs.items() if k != "rng"})
    fast.params = {k: v.copy() for k, v in plain.params.items()}
    return plain, fast


@pytest.mark.parametrize("by_rows", [True, False])  # rows where stride 1 and few channels allow, or never
@pytest.mark.parametrize("nhwc_channels", [1, 4, 100])  # NHWC columns; channel-major columns, NHWC out; neither
@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (2, 1), (1, 2)])  # (1, 1): "same", see _same_input_grad
def test_fast_conv_equals_conv_across_batch_sizes(padding, stride, nhwc_channels, by_rows, monkeypatch):
    monkeypatch.setattr(conv, "NHWC_CHANNELS", nhwc_channels)
    monkeypatch.setattr(rowconv, "MAX_EXTRA_WORK", 100 if by_rows else 0)
    for name in ("CHUNK_BYTES", "CM_CHUNK_BYTES"):  # several chunks of images, the last one shorter
        monkeypatch.setattr(conv, name, 2000)
    rng = np.random.default_rng(0)
    plain, fast = twins(Conv2D, FastConv2D, 3, 4, 3, padding, stride, rng=rng, dtype=np.float64)
    plain.params["b"] = fast.params["b"] = rng.standard_normal(4)
    for n in (5, 2, 5):  # a smaller batch reuses the buffers in another shape, then the first shape again
        x = rng.standard_normal((n, 3, 7, 6))
        if n == 2:
            x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # channel-major memory
        if n == 5 and stride == 2:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # NHWC memory
        out = fast.forward(x, training=True)
        np.testing.assert_allclose(out, plain.forward(x), rtol=1e-12, atol=1e-12)
        grad = rng.standard_normal(out.shape)
        if n == 2:  # a gradient in another memory order than the output's
            grad = np.ascontiguousarray(grad.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(fast.backward(grad), plain.backward(grad), rtol=1e-12, atol=1e-12)
        for k in plain.grads:
            np.testing.assert_allclose(fast.grads[k], plain.grads[k], rtol=1e-12, atol=1e-12)


def test_fast_conv_predicts_in_chunks():
    rng = np.random.default_rng(1)
    plain, fast = twins(Conv2D, FastConv2D, 1, 2, 3, 1, rng=rng, dtype=np.float64)
    x = rng.standard_normal((300, 1, 5, 5))
    np.testing.assert_allclose(fast.forward(x), plain.forward(x), rtol=1e-12, atol=1e-12)


def test_first_fast_conv_skips_its_input_gradient():
    rng = np.random.default_rng(2)
    plain, fast = twins(Conv2D, FastConv2D, 1, 2, 3, rng=rng)
    fast.input_grad = False
    out = fast.forward(rng.random((4, 1, 6, 6), dtype=np.float32), training=True)
    assert fast.backward(np.ones_like(out)) is None and fast.grads["W"].dtype == np.float32


def test_accelerated_cnn_trains_like_the_plain_one_and_predicts_the_same():
    rng = np.random.default_rng(4)
    x, y = rng.random((300, 64), dtype=np.float32), rng.integers(0, 10, 300)
    net, twin = small_cnn(np.random.default_rng(5)), small_cnn(np.random.default_rng(5))
    # SGD, not Adam: a conv bias before batch norm has a true gradient of 0, and Adam turns its rounding
    # noise (~1e-8, different in the two paths) into full-size steps of either sign.
    # arch names small_cnn's image layers: fit reads it to choose its path (not to build the net).
    config = TrainConfig(arch="conv4k3p1,bn,pool,conv6k3", epochs=2, batch_size=64, optimizer="sgd", lr=0.1)
    plain_fit(net, x, y, config, np.random.default_rng(6))
    fit(twin, x, y, config, np.random.default_rng(6))
    for (a, _), (b, _) in zip(net.pairs(), twin.pairs()):
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)
    for a, b in zip(net.layers, twin.layers):
        for k in a.buffers:
            np.testing.assert_allclose(b.buffers[k], a.buffers[k], rtol=2e-4, atol=2e-5)
    fast = accelerate(net)
    assert type(fast.layers[1]) is FastConv2D and fast.layers[1].input_grad is False
    np.testing.assert_allclose(fast.predict_proba(x), net.predict_proba(x), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make", [
    # 28 columns for a 3-wide kernel: channel-major columns, NHWC out; then NHWC columns with padding
    lambda rng: [Conv2D(1, 16, 3, rng=rng), ReLU(), MaxPool2D(2), Conv2D(16, 16, 3, padding=1, rng=rng), ReLU(),
                 MaxPool2D(2), Flatten(), Dense(16 * 6 * 6, 10, rng=rng)],
    # LeNet's shape: both convolutions by rows
    lambda rng: [Conv2D(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2D(2), Conv2D(6, 16, 5, rng=rng), ReLU(),
                 MaxPool2D(2), Flatten(), Dense(400, 10, rng=rng)],
])
def test_accelerated_step_gives_the_plain_gradients(make):
    rng = np.random.default_rng(8)
    x, labels = rng.random((8, 784), dtype=np.float32), rng.integers(0, 10, 8)
    net = Network([Reshape([1, 28, 28])] + make(np.random.default_rng(9)))
    twin = Network([Reshape([1, 28, 28])] + make(np.random.default_rng(9)))
    fast = accelerate(twin)
    loss, _ = net.train_step(x, labels)
    fast_loss, _ = fast.train_step(x, labels)
    assert fast_loss == pytest.approx(loss, rel=1e-5)
    for (_, plain_grad), (_, fast_grad) in zip(net.pairs(), fast.pairs()):
        np.testing.assert_allclose(fast_grad, plain_grad, rtol=1e-4, atol=1e-6)
