"""Label smoothing in the loss: its gradient against central differences, a value by hand, the fast
loss equal to the plain one, and the network the config builds trains with it."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError
from kagglekit.fast.layers import FastSoftmaxCrossEntropy, accelerate
from kagglekit.nn.losses import SoftmaxCrossEntropy
from kagglekit.nn.network import build_network
from test_nn_layers import numeric_grad


def test_smoothed_loss_gradient():
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((5, 10)), rng.integers(0, 10, 5)
    ce = SoftmaxCrossEntropy(0.1)
    ce.forward(logits, labels)
    analytic = ce.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: ce.forward(logits, labels), logits),
                               rtol=1e-6, atol=1e-9)
    assert np.abs(analytic.sum(axis=1)).max() < 1e-15  # targets sum to 1, like the probabilities


def test_smoothed_loss_value_by_hand():
    # logits [0, ln 3] -> p = [1/4, 3/4]; label 1, ε = 0.2 -> targets [0.1, 0.9]:
    # loss = -(0.1·ln(1/4) + 0.9·ln(3/4)).
    ce = SoftmaxCrossEntropy(0.2)
    assert ce.forward(np.array([[0.0, np.log(3.0)]]), np.array([1])) == pytest.approx(
        -(0.1 * np.log(0.25) + 0.9 * np.log(0.75)), rel=1e-12)
    np.testing.assert_allclose(ce.backward(), [[0.25 - 0.1, 0.75 - 0.9]], rtol=1e-12)


def test_fast_smoothed_loss_equals_the_plain_one():
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((200, 10)), rng.integers(0, 10, 200)
    plain, fast = SoftmaxCrossEntropy(0.1), FastSoftmaxCrossEntropy(smoothing=0.1)
    assert fast.forward(logits, labels) == pytest.approx(plain.forward(logits, labels), rel=1e-12)
    np.testing.assert_allclose(fast.backward(), plain.backward(), rtol=1e-12, atol=1e-15)
    part = FastSoftmaxCrossEntropy(n_total=600, smoothing=0.1)
    part.forward(logits, labels)
    np.testing.assert_allclose(part.backward(), plain.backward() / 3, rtol=1e-12, atol=1e-15)
    assert fast.correct() == int((logits.argmax(axis=1) == labels).sum())  # counts are not smoothed


def test_the_config_builds_the_smoothed_loss_and_the_fast_network_keeps_it():
    net = build_network(TrainConfig(hidden=(4,), label_smoothing=0.25), np.random.default_rng(0))
    assert net.loss.smoothing == 0.25 and accelerate(net).loss.smoothing == 0.25
    assert build_network(TrainConfig(hidden=(4,)), np.random.default_rng(0)).loss.smoothing == 0.0
    with pytest.raises(ConfigError) as e:
        TrainConfig().override(label_smoothing=1.0)
    assert str(e.value) == "label_smoothing must be in [0, 1), got 1.0"
