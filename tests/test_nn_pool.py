"""MaxPool2D: window maxima, the gradient routed to one winner per window, odd sizes, gradients."""
import numpy as np
import pytest

from kagglekit.errors import ConfigError
from kagglekit.nn.pool import MaxPool2D
from test_nn_layers import check_layer


def test_pool_takes_window_maxima_and_routes_the_gradient_to_them():
    x = np.array([[1, 5, 2, 2, 9],
                  [3, 4, 2, 2, 9],
                  [0, 7, 8, 1, 9]], np.float32)[None, None]  # 3x5: the last row and column are dropped
    layer = MaxPool2D(2)
    np.testing.assert_array_equal(layer.forward(x), [[[[5, 2]]]])
    dx = layer.backward(np.array([[[[10, 20]]]], np.float32))
    # 5 wins its window; in the all-2 window the first in row-major order wins (as PyTorch picks)
    np.testing.assert_array_equal(dx[0, 0], [[0, 10, 20, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert layer.output_shape((1, 3, 5)) == (1, 1, 2)


def test_pool_gradient():
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) / 7.0  # distinct values: no ties
    check_layer(MaxPool2D(2), x, rng)
    check_layer(MaxPool2D(3), x, rng)


def test_pool_window_larger_than_input():
    with pytest.raises(ConfigError, match=r"^maxpool2d window 2 is larger than its 1x4 input$"):
        MaxPool2D(2).output_shape((8, 1, 4))


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_default_window_is_two_and_one_is_allowed():
    assert MaxPool2D().size == 2 and MaxPool2D().spec() == {"type": "maxpool2d", "size": 2}
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(MaxPool2D(1).forward(x), x)
    assert MaxPool2D(2).output_shape((3, 2, 2)) == (3, 1, 1)  # a window exactly the input's size fits


@pytest.mark.parametrize("size", [0, 2.5])
def test_bad_window_sizes_are_quoted(size):
    with pytest.raises(ConfigError) as e:
        MaxPool2D(size)
    assert str(e.value) == f"maxpool2d size must be an integer >= 1, got {size!r}"


def test_flat_input_is_refused_with_its_shape():
    with pytest.raises(ConfigError) as e:
        MaxPool2D().output_shape((16,))
    assert str(e.value) == "maxpool2d expects (channels, height, width) inputs, got shape (16,)"


def test_float32_gradient_stays_float32():
    layer = MaxPool2D()
    out = layer.forward(np.ones((1, 1, 4, 4), np.float32), training=True)
    assert layer.backward(np.ones_like(out)).dtype == np.float32
