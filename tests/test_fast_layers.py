"""The fast layers, loss and Adam compute what the plain ones compute, and `accelerate` trains the
network it was made from."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.fast.layers import FastDense, FastReLU, FastSoftmaxCrossEntropy, accelerate
from kagglekit.fast.optim import BLOCK, BlockedAdam
from kagglekit.fast.rowblocks import packed
from kagglekit.nn.layers import Dense
from kagglekit.nn.losses import SoftmaxCrossEntropy
from kagglekit.nn.network import build_network
from kagglekit.nn.optim import Adam
from kagglekit.nn.train import evaluate
from test_fast_rowblocks import pixel_digits


@pytest.mark.parametrize("n", [40, 5000])  # 5000 rows: the batched weight gradient
def test_fast_dense_equals_dense(n):
    rng = np.random.default_rng(0)
    plain = Dense(30, 7, "he", rng, np.float64)
    fast = FastDense(30, 7, dtype=np.float64)
    fast.params = {k: v.copy() for k, v in plain.params.items()}
    x, grad = rng.standard_normal((n, 30)), rng.standard_normal((n, 7))
    np.testing.assert_allclose(fast.forward(x), plain.forward(x), rtol=1e-12)
    np.testing.assert_allclose(fast.backward(grad), plain.backward(grad), rtol=1e-12)
    for k in plain.grads:
        np.testing.assert_allclose(fast.grads[k], plain.grads[k], rtol=1e-10, atol=1e-12)


def test_fast_dense_on_packed_rows_equals_dense_on_the_array():
    x, y = pixel_digits(dtype=np.float64)
    blocks, _ = packed(x, y)
    rng = np.random.default_rng(1)
    plain = Dense(784, 5, "he", rng, np.float64)
    fast = FastDense(784, 5, dtype=np.float64)
    fast.params, fast.input_grad = plain.params, False
    grad = rng.standard_normal((len(x), 5))
    np.testing.assert_allclose(fast.forward(blocks), plain.forward(x[blocks.order]), rtol=1e-10, atol=1e-12)
    assert fast.backward(grad) is None
    plain.backward(grad)
    np.testing.assert_allclose(fast.grads["W"], plain.grads["W"], rtol=1e-10, atol=1e-12)


def test_fast_loss_equals_the_plain_loss_and_counts_like_argmax_even_with_ties():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((200, 10))
    logits[:50] = 0.0  # every class tied: argmax picks class 0
    labels = rng.integers(0, 10, 200)
    plain, fast = SoftmaxCrossEntropy(), FastSoftmaxCrossEntropy()
    assert fast.forward(logits, labels) == pytest.approx(plain.forward(logits, labels), rel=1e-12)
    np.testing.assert_allclose(fast.backward(), plain.backward(), rtol=1e-12, atol=1e-15)
    assert fast.correct() == int((logits.argmax(axis=1) == labels).sum())
    fast.forward(logits[50:], labels[50:])  # no ties: the shortcut
    assert fast.correct() == int((logits[50:].argmax(axis=1) == labels[50:]).sum())


def test_fast_loss_scales_a_part_of_a_batch_by_the_whole_batch():
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((30, 10)), rng.integers(0, 10, 30)
    plain = SoftmaxCrossEntropy()
    plain.forward(logits, labels)
    part = FastSoftmaxCrossEntropy(n_total=90)
    part.forward(logits, labels)
    np.testing.assert_allclose(part.backward(), plain.backward() / 3, rtol=1e-12)


@pytest.mark.parametrize("size", [100, 3 * BLOCK + 5])  # one piece, and blocks with a remainder
def test_blocked_adam_equals_adam(size):
    rng = np.random.default_rng(6)
    p = rng.standard_normal(size)
    plain_p, blocked_p = p.copy(), p.copy()
    plain, blocked = Adam(0.01), BlockedAdam(0.01)
    for _ in range(5):
        g = rng.standard_normal(size)
        plain.step([(plain_p, g)])
        blocked.step([(blocked_p, g)])
    np.testing.assert_allclose(blocked_p, plain_p, rtol=1e-12, atol=1e-12)
    assert np.abs(blocked_p - p).max() > 0.04  # five steps of ~0.01 happened


def test_accelerated_network_trains_the_original_and_predicts_the_same():
    x, y = pixel_digits()
    net = build_network(TrainConfig(hidden=(8,)), np.random.default_rng(2))
    fast = accelerate(net)
    assert fast.layers[0].params is net.layers[0].params and type(fast.layers[0]) is FastDense
    assert [type(layer) for layer in fast.layers[1:]] == [FastReLU, FastDense]
    fast.train_step(x, y)
    np.testing.assert_array_equal(fast.layers[1].mask, net.layers[1].forward(net.layers[0].forward(x)) > 0)
    for (_, g), (_, h) in zip(net.pairs(), fast.pairs()):
        assert g is h  # the optimizer stepping net.pairs() sees the fast gradients
    np.testing.assert_allclose(fast.predict_proba(x), net.predict_proba(x), rtol=1e-5, atol=1e-7)
    twin = accelerate(net, own_grads=True)
    twin.train_step(x[:10], y[:10])
    assert not np.array_equal(twin.pairs()[0][1], net.pairs()[0][1])


def test_each_fast_layer_is_made_from_its_plain_twin_sharing_its_arrays():
    from kagglekit.fast.conv import FastConv2D
    from kagglekit.fast.norm import FastBatchNorm
    from kagglekit.fast.pool import FastMaxPool2D
    from kagglekit.nn.conv import Conv2D
    from kagglekit.nn.norm import BatchNorm
    from kagglekit.nn.pool import MaxPool2D
    rng = np.random.default_rng(3)
    for plain, cls, cache in [(Dense(5, 3, init="uniform", rng=rng), FastDense, "x"),
                              (Conv2D(4, 2, 3, padding=1, stride=2, rng=rng), FastConv2D, "x_shape"),
                              (BatchNorm(4, momentum=0.2, eps=1e-3), FastBatchNorm, "xhat"),
                              (MaxPool2D(3), FastMaxPool2D, "winner")]:
        plain.input_grad = False  # as a network's first layer
        plain.forward(rng.random((2, 5) if cls is FastDense else (2, 4, 6, 6), dtype=np.float32), training=True)
        fast = plain.twin(cls)
        assert type(fast) is cls and fast.spec() == plain.spec() and fast.input_grad is False
        assert fast.params is plain.params and fast.grads is plain.grads and fast.buffers is plain.buffers
        assert hasattr(plain, cache) and not hasattr(fast, cache)  # what forward keeps is each one's own
    with pytest.raises(TypeError, match="FastDense is no version of Conv2D"):
        Conv2D(1, 2, 3).twin(FastDense)


def test_validation_on_packed_rows_equals_validation_on_the_array():
    x, y = pixel_digits()
    net = build_network(TrainConfig(hidden=(10,), init="uniform"), np.random.default_rng(5))
    fast = accelerate(net)
    blocks, labels = packed(x, y)
    loss = fast.loss.forward(fast.forward(blocks), labels)
    expected_loss, expected_acc = evaluate(net, x, y, batch_size=128)
    assert loss == pytest.approx(expected_loss, rel=1e-5) and fast.loss.correct() / len(y) == expected_acc
