"""The softmax cross-entropy: its gradient against central differences, its stability, a value by hand."""
import numpy as np
import pytest

from kagglekit.nn.losses import SoftmaxCrossEntropy, softmax
from test_nn_layers import numeric_grad


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


def test_softmax_and_loss_subtract_each_rows_own_max():
    # Rows of very different scales: subtracting one max for the whole batch would underflow the
    # second row's exponentials to 0 (0/0 and log 0).
    logits = np.array([[0.0, 0.0], [-1000.0, -999.0]])
    second = [1 / (1 + np.e), np.e / (1 + np.e)]  # softmax([0, 1])
    np.testing.assert_allclose(softmax(logits), [[0.5, 0.5], second], rtol=1e-12)
    loss = SoftmaxCrossEntropy().forward(logits, np.array([0, 1]))
    # mean of -log 0.5 and -log(e / (1 + e)) = log(1 + e) - 1
    np.testing.assert_allclose(loss, (np.log(2) + np.log(1 + np.e) - 1) / 2, rtol=1e-12)
