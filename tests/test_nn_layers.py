"""Central-difference gradient checks (float64, tiny shapes) for every layer and the whole network;
the inits' scales; layer specs round-trip through the registry."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError
from kagglekit.nn.init import INITS
from kagglekit.nn.layers import Dense, Dropout, ReLU, Sigmoid, Tanh
from kagglekit.nn.network import build_network
from kagglekit.nn.registry import build_layer

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
    he, he_b = INITS["he"](1000, 200, rng)
    assert he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.05) and not he_b.any()
    glorot, glorot_b = INITS["glorot"](1000, 200, rng)
    assert np.abs(glorot).max() <= np.sqrt(6 / 1200) and glorot.std() > 0.5 * np.sqrt(2 / 1200)
    assert not glorot_b.any()
    uniform, uniform_b = INITS["uniform"](1000, 200, rng)
    assert uniform.min() >= -0.5 and uniform.max() < 0.5 and uniform.std() == pytest.approx(0.2887, rel=0.05)
    assert uniform_b.min() >= -0.5 and uniform_b.max() < 0.5 and uniform_b.std() > 0.2  # biases too


def test_dense_draws_float32_weights_and_zeros_without_a_generator():
    layer = Dense(30, 20, "he", np.random.default_rng(0))
    assert layer.params["W"].dtype == layer.params["b"].dtype == np.float32 and layer.params["W"].std() > 0.1
    empty = Dense(30, 20)
    assert not empty.params["W"].any() and empty.params["W"].shape == (30, 20)


def test_first_layer_computes_no_input_gradient():
    net = build_network(TrainConfig(hidden=(4,)), np.random.default_rng(0), n_in=3, n_out=2)
    assert net.layers[0].input_grad is False and all(layer.input_grad for layer in net.layers[1:])
    net.layers[0].forward(np.ones((2, 3), np.float32))
    assert net.layers[0].backward(np.ones((2, 4), np.float32)) is None


def test_layer_specs_round_trip():
    rng = np.random.default_rng(9)
    for layer in (Dense(3, 2, "glorot", rng), ReLU(), Tanh(), Sigmoid(), Dropout(0.25)):
        rebuilt = build_layer(layer.spec())
        assert type(rebuilt) is type(layer) and rebuilt.spec() == layer.spec()


def test_output_shapes_of_dense_activations_and_dropout():
    from kagglekit.errors import ConfigError
    assert Dense(400, 120).output_shape((400,)) == (120,)
    assert ReLU().output_shape((6, 28, 28)) == (6, 28, 28) and Dropout(0.5).output_shape((84,)) == (84,)
    with pytest.raises(ConfigError, match=r"^dense expects 400 input features, got shape \(16, 5, 5\); flatten first$"):
        Dense(400, 120).output_shape((16, 5, 5))


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_dense_shape_errors_say_flatten_only_for_image_inputs():
    layer = Dense(4, 2)
    with pytest.raises(ConfigError) as flat:
        layer.output_shape((3,))
    assert str(flat.value) == "dense expects 4 input features, got shape (3,)"
    with pytest.raises(ConfigError) as image:
        layer.output_shape((2, 2))
    assert str(image.value) == "dense expects 4 input features, got shape (2, 2); flatten first"


def test_relu_gradient_at_zero_is_zero():
    # PyTorch's choice of subgradient at the kink: a unit at exactly 0 passes no gradient back.
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]), training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_dropout_defaults_to_inference_and_passes_the_gradient_through_there():
    layer = Dropout(0.5, np.random.default_rng(0))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(x), x)  # training=False unless said
    grad = np.full((2, 3), 3.0)
    np.testing.assert_array_equal(layer.backward(grad), grad)


def test_dropout_mask_is_a_float32_draw_scaled_by_one_over_keep():
    layer = Dropout(0.25, np.random.default_rng(7))
    x = np.ones((4, 5), np.float32)
    out = layer.forward(x, training=True)
    # the draw the seed has always made (float32: half the random bits of float64), kept units scaled up
    kept = np.random.default_rng(7).random((4, 5), dtype=np.float32) < 0.75
    np.testing.assert_array_equal(out, np.where(kept, np.float32(1 / 0.75), 0))
    assert out.dtype == np.float32 and set(np.unique(out)) == {0, np.float32(1 / 0.75)}


def test_dropout_of_rate_zero_draws_nothing():
    # A dropout0 token must not move the generator, or it would change every later shuffle and draw.
    rng = np.random.default_rng(1)
    x = np.ones((3, 4))
    np.testing.assert_array_equal(Dropout(0.0, rng).forward(x, training=True), x)
    assert rng.random() == np.random.default_rng(1).random()
