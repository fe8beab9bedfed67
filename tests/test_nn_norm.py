"""BatchNorm: training against hand-computed statistics, the running estimates (PyTorch's momentum and
unbiased variance), prediction from them, and gradients in both modes for (n, f) and (n, c, h, w)."""
import numpy as np
import pytest

from kagglekit.errors import ConfigError
from kagglekit.nn.norm import BatchNorm
from test_nn_layers import check_layer


class Training:
    """A BatchNorm seen by check_layer as if every forward were a training one."""

    def __init__(self, layer):
        self.layer, self.params, self.grads = layer, layer.params, layer.grads

    def forward(self, x, training=False):
        return self.layer.forward(x, training=True)

    def backward(self, grad):
        return self.layer.backward(grad)


def test_training_normalises_by_the_batch_and_updates_the_running_statistics():
    x = np.array([[1, 10], [2, 10], [3, 10], [6, 10]], np.float32)
    layer = BatchNorm(2)
    layer.params["gamma"][:] = [2, 1]
    layer.params["beta"][:] = [0.5, 0]
    out = layer.forward(x, training=True)
    # feature 0: mean 3, biased var (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3; feature 1: mean 10, var 0
    np.testing.assert_allclose(out[:, 0], 2 * (x[:, 0] - 3) / np.sqrt(3.5 + 1e-5) + 0.5, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], 0, atol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.1 * 3, 0.1 * 10], rtol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_var"], [0.9 + 0.1 * 14 / 3, 0.9], rtol=1e-6)
    assert layer.buffers["running_var"].dtype == out.dtype == np.float32


def test_prediction_uses_the_running_statistics_and_leaves_them_alone():
    layer = BatchNorm(2, momentum=0.5)
    layer.forward(np.array([[0, 4], [2, 8]], np.float32), training=True)  # mean [1, 6], unbiased var [2, 8]
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.5, 3])
    np.testing.assert_allclose(layer.buffers["running_var"], [1.5, 4.5])
    out = layer.forward(np.array([[0.5, 3]], np.float32), training=False)
    np.testing.assert_allclose(out, 0, atol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.5, 3])


def test_per_channel_statistics_for_images():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 3, 5, 5)) * np.array([1, 2, 3])[:, None, None] + 7).astype(np.float32)
    out = BatchNorm(3).forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 3, 2)])
def test_gradients_in_training_and_prediction(shape):
    rng = np.random.default_rng(1)
    layer = BatchNorm(4)
    layer.params = {"gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)}
    layer.buffers = {"running_mean": rng.standard_normal(4), "running_var": rng.random(4) + 0.5}
    layer.grads = {}
    x = rng.standard_normal(shape)
    check_layer(Training(layer), x, rng)
    check_layer(layer, x, rng)


def test_feature_count_must_match():
    with pytest.raises(ConfigError, match=r"batchnorm expects 6 features or channels, got shape \(16, 5, 5\)"):
        BatchNorm(6).output_shape((16, 5, 5))


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_running_statistics_over_two_batches_and_prediction_by_default():
    layer = BatchNorm(1, momentum=0.5)
    layer.forward(np.array([[0], [2]], np.float32), training=True)  # mean 1, unbiased var 2
    layer.forward(np.array([[4], [8]], np.float32), training=True)  # mean 6, unbiased var 8
    # mean: 0.5·(0.5·0 + 0.5·1) + 0.5·6 = 3.25; var: 0.5·(0.5·1 + 0.5·2) + 0.5·8 = 4.75
    np.testing.assert_allclose(layer.buffers["running_mean"], [3.25])
    np.testing.assert_allclose(layer.buffers["running_var"], [4.75])
    out = layer.forward(np.array([[5.0]], np.float32))  # training=False unless said: running statistics
    np.testing.assert_allclose(out, [[1.75 / np.sqrt(4.75 + 1e-5)]], rtol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_mean"], [3.25])


@pytest.mark.parametrize("features", [0, 2.0])
def test_bad_feature_counts_are_quoted(features):
    with pytest.raises(ConfigError) as e:
        BatchNorm(features)
    assert str(e.value) == f"batchnorm features must be an integer >= 1, got {features!r}"


def test_one_feature_is_allowed_and_grads_match_params():
    layer = BatchNorm(1)
    assert {k: (g.shape, g.dtype) for k, g in layer.grads.items()} == {
        "gamma": ((1,), np.float32), "beta": ((1,), np.float32)}
