"""Flatten and Reshape: shapes forward and back, gradients, and the sizes they check."""
import numpy as np
import pytest

from kagglekit.errors import ConfigError
from kagglekit.nn.shape import Flatten, Reshape
from test_nn_layers import check_layer


def test_flatten_is_c_order_and_its_gradient_is_the_reshape_back():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    layer = Flatten()
    np.testing.assert_array_equal(layer.forward(x)[1], np.arange(12, 24))
    check_layer(layer, np.random.default_rng(0).standard_normal((2, 3, 2, 2)), np.random.default_rng(1))
    assert layer.output_shape((16, 5, 5)) == (400,)


def test_reshape_makes_pixel_rows_images():
    layer = Reshape([1, 28, 28])
    x = np.random.default_rng(2).random((3, 784))
    out = layer.forward(x)
    assert out.shape == (3, 1, 28, 28) and out[1, 0, 2, 5] == x[1, 2 * 28 + 5]
    check_layer(Reshape([2, 3]), np.random.default_rng(3).standard_normal((4, 6)), np.random.default_rng(4))
    assert layer.output_shape((784,)) == (1, 28, 28) and layer.spec() == {"type": "reshape", "shape": [1, 28, 28]}
    with pytest.raises(ConfigError, match=r"reshape to \[1, 28, 28\] needs 784 values per sample, got shape \(700,\)"):
        layer.output_shape((700,))
    layer.input_grad = False
    assert layer.backward(np.ones((3, 1, 28, 28))) is None


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_a_first_flatten_returns_no_input_gradient():
    layer = Flatten()
    layer.input_grad = False
    layer.forward(np.ones((2, 1, 2, 2)), training=True)
    assert layer.backward(np.ones((2, 4))) is None


@pytest.mark.parametrize("shape", [[2, 0], []])
def test_reshape_refuses_empty_and_zero_sizes_quoting_them(shape):
    with pytest.raises(ConfigError) as e:
        Reshape(shape)
    assert str(e.value) == f"reshape shape must be positive sizes, got {shape!r}"
