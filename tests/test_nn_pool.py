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
