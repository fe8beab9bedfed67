"""Central-difference gradient checks (float64, tiny shapes) for every layer, the loss and the network."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.nn.layers import Dense, Dropout, ReLU, Sigmoid, Tanh, build_layer, init_weights
from kagglekit.nn.losses import SoftmaxCrossEntropy, softmax
from kagglekit.nn.network import build_network

EPS = 1e-5


def numeric_grad(f, x):
    """d f() / d x by central differences, perturbing x in place."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + EPS
        plus = f()
        x[i] = old - EPS
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * EPS)
    return grad


def check_layer(layer, x, rng):
    """Compare a layer's analytic input and parameter gradients for the scalar loss sum(out * r)."""
    r = rng.standard_normal(layer.forward(x).shape)
    loss = lambda: float(np.sum(layer.forward(x) * r))  # noqa: E731
    layer.forward(x)
    dx = layer.backward(r)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        layer.forward(x)
        layer.backward(r)
        analytic = layer.grads[name].copy()
        np.testing.assert_allclose(analytic, numeric_grad(loss, param), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("init", ["he", "glorot", "uniform"])
def test_dense_gradients(init):
    rng = np.random.default_rng(0)
    check_layer(Dense(10, 4, init, rng, np.float64), rng.standard_normal((5, 10)), rng)


@pytest.mark.parametrize("cls", [Tanh, Sigmoid])
def test_smooth_activation_gradients(cls):
    rng = np.random.default_rng(1)
    check_layer(cls(), rng.standard_normal((5, 10)), rng)


def test_relu_gradient_away_from_kink():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 10))
    x[np.abs(x) < 0.01] = 0.5  # central differences are undefined at 0
    check_layer(ReLU(), x, rng)


def test_dropout_gradient_uses_same_mask_and_is_identity_at_inference():
    rng = np.random.default_rng(3)
    layer = Dropout(0.5, rng)
    x = rng.standard_normal((50, 20))
    out = layer.forward(x, training=True)
    assert 0.3 < np.mean(out == 0) < 0.7
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), out / np.where(x == 0, 1, x))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_dense_bias_gradient_is_per_unit_not_scalar():
    rng = np.random.default_rng(4)
    layer = Dense(3, 4, "he", rng, np.float64)
    layer.forward(rng.standard_normal((6, 3)))
    grad = rng.standard_normal((6, 4))
    layer.backward(grad)
    np.testing.assert_allclose(layer.grads["b"], grad.sum(axis=0))
    assert layer.grads["b"].shape == (4,)


def test_loss_gradient_and_stability():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((5, 10))
    labels = rng.integers(0, 10, 5)
    ce = SoftmaxCrossEntropy()
    ce.forward(logits, labels)
    analytic = ce.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: ce.forward(logits, labels), logits),
                               rtol=1e-6, atol=1e-9)
    # The seed notebook's softmax overflows here; ours must stay finite and exact.
    huge = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    assert np.isfinite(ce.forward(huge, np.array([0])))
    assert ce.forward(huge, np.array([0])) == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(softmax(huge), [[1.0, 0.0, 0.0]], atol=1e-7)


def test_loss_value_by_hand():
    # logits [0, ln 3] -> p = [1/4, 3/4]; label 1 -> loss = -ln(3/4)
    ce = SoftmaxCrossEntropy()
    assert ce.forward(np.array([[0.0, np.log(3.0)]]), np.array([1])) == pytest.approx(-np.log(0.75))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_whole_network_gradient(activation):
    rng = np.random.default_rng(6)
    config = TrainConfig(hidden=(6, 5), activation=activation, init="glorot")
    net = build_network(config, rng, n_in=7, n_out=4, dtype=np.float64)
    x = rng.standard_normal((5, 7))
    y = rng.integers(0, 4, 5)
    loss = lambda: net.loss.forward(net.forward(x), y)  # noqa: E731
    net.train_step(x, y)
    analytic = [g.copy() for _, g in net.pairs()]
    for (param, _), a in zip(net.pairs(), analytic):
        np.testing.assert_allclose(a, numeric_grad(loss, param), rtol=1e-5, atol=1e-8)


def test_weight_decay_adds_l2_gradient():
    rng = np.random.default_rng(7)
    net = build_network(TrainConfig(hidden=(3,)), rng, n_in=4, n_out=2, dtype=np.float64)
    x, y = rng.standard_normal((3, 4)), np.array([0, 1, 1])
    net.train_step(x, y)
    before = [g.copy() for _, g in net.pairs()]
    net.add_weight_decay(0.1)
    for layer in net.layers:
        for name in layer.params:
            expected = 0.1 * layer.params[name] if name == "W" else 0
            idx = [id(p) for p, _ in net.pairs()].index(id(layer.params[name]))
            np.testing.assert_allclose(layer.grads[name] - before[idx], expected)


def test_init_schemes_have_their_scales():
    rng = np.random.default_rng(8)
    he = init_weights("he", 1000, 200, rng)
    assert he.dtype == np.float32 and he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.05)
    glorot = init_weights("glorot", 1000, 200, rng)
    assert np.abs(glorot).max() <= np.sqrt(6 / 1200)
    uniform = init_weights("uniform", 1000, 200, rng)
    assert uniform.min() >= -0.5 and uniform.max() < 0.5 and uniform.std() == pytest.approx(0.2887, rel=0.05)


def test_layer_specs_round_trip():
    rng = np.random.default_rng(9)
    for layer in (Dense(3, 2, "glorot", rng), ReLU(), Tanh(), Sigmoid(), Dropout(0.25)):
        rebuilt = build_layer(layer.spec())
        assert type(rebuilt) is type(layer) and rebuilt.spec() == layer.spec()
