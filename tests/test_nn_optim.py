"""Each optimizer's first steps derived by hand."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.nn.optim import SGD, Adam
from kagglekit.nn.registry import make_optimizer


def test_plain_gradient_descent_step():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    SGD(0.1).step([(p, g)])
    # p - lr * g = [1 - 0.05, -2 - 0.025]
    np.testing.assert_allclose(p, [0.95, -2.025])


def test_momentum_two_steps():
    p, g = np.array([1.0]), np.array([1.0])
    opt = SGD(0.1, momentum=0.9)
    opt.step([(p, g)])  # v = -0.1, p = 0.9
    np.testing.assert_allclose(p, [0.9])
    opt.step([(p, g)])  # v = 0.9 * -0.1 - 0.1 = -0.19, p = 0.71
    np.testing.assert_allclose(p, [0.71])


def test_adam_first_two_steps():
    p, g = np.array([1.0, 1.0]), np.array([0.5, -2.0])
    opt = Adam(lr=0.01)
    opt.step([(p, g)])
    # t=1: m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2 -> step = lr * g/|g| = ±0.01
    np.testing.assert_allclose(p, [0.99, 1.01], atol=1e-7)
    opt.step([(p, g)])
    # t=2, same g: m_hat = g, v_hat = g^2 again -> another ±0.01
    np.testing.assert_allclose(p, [0.98, 1.02], atol=1e-7)


def test_adam_keeps_float32():
    p, g = np.ones(3, np.float32), np.full(3, 0.1, np.float32)
    Adam().step([(p, g)])
    assert p.dtype == np.float32


def test_state_is_per_parameter_and_not_shared_between_instances():
    a, b = np.zeros(1), np.zeros(1)
    opt = SGD(1.0, momentum=0.5)
    opt.step([(a, np.ones(1)), (b, -np.ones(1))])
    np.testing.assert_allclose([a[0], b[0]], [-1.0, 1.0])
    fresh = make_optimizer(TrainConfig(optimizer="sgd", lr=1.0, momentum=0.5))
    assert fresh.velocity == {}


@pytest.mark.parametrize("name, cls", [("gd", SGD), ("sgd", SGD), ("adam", Adam)])
def test_make_optimizer(name, cls):
    opt = make_optimizer(TrainConfig(optimizer=name, lr=0.1, momentum=0.9))
    assert type(opt) is cls and opt.lr == 0.1
    if cls is SGD:
        assert opt.momentum == (0 if name == "gd" else 0.9)


def test_sgd_without_momentum_is_plain_descent_every_step_and_keeps_no_velocity():
    p, g = np.array([1.0]), np.array([1.0])
    opt = SGD(0.1)  # momentum 0 by default
    opt.step([(p, g)])
    opt.step([(p, g)])  # 1 - 0.1 - 0.1; momentum would have carried the first step into the second
    np.testing.assert_allclose(p, [0.8])
    assert opt.velocity == {}  # no model-sized velocity copies for plain gradient descent


def test_adam_defaults_to_the_papers_learning_rate():
    p, g = np.zeros(2), np.array([3.0, -0.5])
    Adam().step([(p, g)])
    # first step: lr · m_hat / (sqrt(v_hat) + eps) = 1e-3 · g/|g| (eps 1e-8 is negligible here)
    np.testing.assert_allclose(p, [-1e-3, 1e-3], rtol=1e-6)
