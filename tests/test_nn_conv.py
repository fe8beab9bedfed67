"""Conv2D against a loop-by-loop convolution, its gradients by central differences, im2col/col2im as
adjoints, the init's scale and the shape checks."""
import numpy as np
import pytest

from kagglekit.errors import ConfigError
from kagglekit.nn.conv import Conv2D, col2im, im2col, out_size
from kagglekit.nn.init import INITS
from kagglekit.nn.registry import build_layer
from test_nn_layers import check_layer


def naive_conv(x, w, b, padding, stride):
    """The definition, one output pixel at a time."""
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(n):
        for f in range(o):
            for r in range(oh):
                for c in range(ow):
                    window = xp[i, :, r * stride:r * stride + k, c * stride:c * stride + k]
                    out[i, f, r, c] = np.sum(window * w[f]) + b[f]
    return out


@pytest.mark.parametrize("padding, stride, size", [(0, 1, 6), (1, 1, 5), (2, 2, 7), (1, 3, 8)])
def test_conv_equals_the_loop_definition(padding, stride, size):
    rng = np.random.default_rng(0)
    layer = Conv2D(3, 4, 3, padding, stride, rng=rng, dtype=np.float64)
    layer.params["b"] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, size, size))
    out = layer.forward(x)
    np.testing.assert_allclose(out, naive_conv(x, layer.params["W"], layer.params["b"], padding, stride),
                               rtol=1e-12, atol=1e-12)
    assert out.shape[1:] == layer.output_shape((3, size, size))


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (2, 2)])
def test_conv_gradients(padding, stride):
    rng = np.random.default_rng(1)
    layer = Conv2D(2, 3, 3, padding, stride, rng=rng, dtype=np.float64)
    layer.params["b"] = rng.standard_normal(3)
    check_layer(layer, rng.standard_normal((2, 2, 5, 6)), rng)


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)> for every x and c: exactly what backpropagation needs."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    col = im2col(x, 3, padding=1, stride=2)
    c = rng.standard_normal(col.shape)
    assert np.sum(col * c) == pytest.approx(np.sum(x * col2im(c, 7, 6, padding=1, stride=2)), rel=1e-12)


def test_first_conv_skips_its_input_gradient():
    rng = np.random.default_rng(3)
    layer = Conv2D(1, 2, 3, rng=rng)
    layer.input_grad = False
    out = layer.forward(rng.standard_normal((2, 1, 5, 5)).astype(np.float32))
    assert layer.backward(np.ones_like(out)) is None and layer.grads["W"].shape == (2, 1, 3, 3)
    assert out.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32


def test_he_init_uses_the_fan_in_and_dense_draws_are_unchanged():
    rng = np.random.default_rng(4)
    w = Conv2D(16, 64, 3, rng=rng).params["W"]
    assert w.shape == (64, 16, 3, 3) and w.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.05)
    assert not Conv2D(1, 2, 3).params["W"].any()  # no generator: zeros, to be loaded
    drawn = np.random.default_rng(7)
    w, b = INITS["uniform"](5, 3, np.random.default_rng(7))  # the defaults draw what they always drew
    np.testing.assert_array_equal(w, drawn.random((5, 3)) - 0.5)
    np.testing.assert_array_equal(b, drawn.random(3) - 0.5)


def test_impossible_shapes_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"^conv2d kernel 5 is larger than its 3x3 input \(padding 0\)$"):
        Conv2D(1, 2, 5).output_shape((1, 3, 3))
    with pytest.raises(ConfigError, match="conv2d expects 3 input channels, got 1"):
        Conv2D(3, 2, 3).output_shape((1, 28, 28))
    with pytest.raises(ConfigError, match="conv2d kernel must be an integer >= 1, got 0"):
        Conv2D(1, 2, 0)
    assert Conv2D(1, 6, 5, padding=2).output_shape((1, 28, 28)) == (6, 28, 28)


def test_conv_spec_round_trips():
    layer = Conv2D(3, 8, 5, padding=2, stride=2, init="glorot", rng=np.random.default_rng(5))
    rebuilt = build_layer(layer.spec())
    assert type(rebuilt) is Conv2D and rebuilt.spec() == layer.spec()


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_helpers_default_to_no_padding_and_stride_one_and_keep_the_dtype():
    x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
    assert out_size(6, 3) == out_size(6, 3, 0, 1) == 4
    col = im2col(x, 3)
    np.testing.assert_array_equal(col, im2col(x, 3, 0, 1))
    back = col2im(col, 6, 6)
    np.testing.assert_array_equal(back, col2im(col, 6, 6, 0, 1))
    assert col.shape == (1, 1, 3, 3, 4, 4) and back.dtype == np.float32


@pytest.mark.parametrize("args, kwargs, line", [
    ((0, 2, 3), {}, "conv2d in_channels must be an integer >= 1, got 0"),
    ((1, 0, 3), {}, "conv2d out_channels must be an integer >= 1, got 0"),
    ((1, 2, 3), {"padding": -1}, "conv2d padding must be an integer >= 0, got -1"),
    ((1, 2, 3), {"stride": 0}, "conv2d stride must be an integer >= 1, got 0"),
])
def test_each_bad_argument_is_named(args, kwargs, line):
    with pytest.raises(ConfigError) as e:
        Conv2D(*args, **kwargs)
    assert str(e.value) == line


def test_one_filter_of_one_pixel_and_a_kernel_as_large_as_the_padded_input_are_allowed():
    assert Conv2D(1, 1, 1).output_shape((1, 2, 2)) == (1, 2, 2)
    assert Conv2D(1, 1, 3).output_shape((1, 3, 3)) == (1, 1, 1)
    assert Conv2D(1, 1, 5, padding=1).output_shape((1, 3, 3)) == (1, 1, 1)  # padding counts on both sides
    with pytest.raises(ConfigError, match=r"^conv2d kernel 6 is larger than its 3x3 input \(padding 1\)$"):
        Conv2D(1, 1, 6, padding=1).output_shape((1, 3, 3))
    with pytest.raises(ConfigError) as e:
        Conv2D(1, 1, 3).output_shape((9,))
    assert str(e.value) == "conv2d expects (channels, height, width) inputs, got shape (9,)"


@pytest.mark.parametrize("init", ["he", "glorot", "uniform"])
def test_every_init_gives_one_float32_bias_per_filter_and_matching_grads(init):
    layer = Conv2D(2, 3, 3, init=init, rng=np.random.default_rng(0))
    assert layer.params["W"].shape == (3, 2, 3, 3) and layer.params["b"].shape == (3,)
    assert layer.params["W"].dtype == layer.params["b"].dtype == np.float32
    assert {k: (g.shape, g.dtype) for k, g in layer.grads.items()} == {
        k: (p.shape, p.dtype) for k, p in layer.params.items()}


def test_glorot_conv_limit_uses_fan_in_and_fan_out_of_the_kernels():
    w = Conv2D(2, 3, 3, init="glorot", rng=np.random.default_rng(1)).params["W"]
    limit = np.sqrt(6 / (2 * 9 + 3 * 9))  # fan-in in·k·k, fan-out out·k·k
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
