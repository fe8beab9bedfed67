"""Each optimizer's first steps derived by hand."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.fast.optim import BLOCK, BlockedAdam
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


OPTIMIZERS = {"sgd": lambda: SGD(0.1, momentum=0.9), "gd": lambda: SGD(0.1), "adam": lambda: Adam(0.01),
              "blocked-adam": lambda: BlockedAdam(0.01)}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_state_dict_loaded_into_a_fresh_optimizer_continues_bit_for_bit(name):
    make, rng = OPTIMIZERS[name], np.random.default_rng(4)
    start = [rng.standard_normal(BLOCK + 3).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)]
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in start] for _ in range(6)]
    whole, cut = [p.copy() for p in start], [p.copy() for p in start]
    uninterrupted, first = make(), make()
    for g in grads:
        uninterrupted.step(list(zip(whole, g)))
    for g in grads[:3]:
        first.step(list(zip(cut, g)))
    state = first.state_dict()
    second = make()
    second.load_state_dict(state)
    for g in grads[3:]:
        second.step(list(zip(cut, g)))
    for a, b, p in zip(cut, whole, start):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, p)  # the steps moved it
    for name, arrays in state.items():  # loaded as copies: the first optimizer's state is not moved on
        if isinstance(arrays, dict):
            assert all(arrays[i] is not a for i, a in getattr(second, name).items())


def test_state_dicts_hold_the_state_and_no_scratch_buffers():
    blocked = BlockedAdam(0.01)
    blocked.step([(np.zeros(4), np.ones(4))])
    assert set(blocked.state_dict()) == set(Adam().state_dict()) == {"lr", "beta1", "beta2", "eps", "t", "m", "v"}
    assert blocked.scratch and blocked.state_dict()["t"] == 1 and list(blocked.state_dict()["m"]) == [0]
    assert set(SGD(0.1, momentum=0.5).state_dict()) == {"lr", "momentum", "velocity"}


@pytest.mark.parametrize("change, why", [
    (lambda s: s.pop("t"), "Adam state lacks ['t']"),
    (lambda s: s.update(scratch={}), "Adam state has unknown entries ['scratch']"),
    (lambda s: s.update(t=1.5), "t is 1.5, not a whole number >= 0"),
    (lambda s: s.update(lr="0.1"), "lr is '0.1', not a number >= 0"),
    (lambda s: s.update(lr=float("nan")), "lr is nan, not a number >= 0"),
    (lambda s: s.update(m=[np.zeros(2)]), "m is not a {position: array} dict"),
    (lambda s: s.update(m={}, v={}), "Adam state at step 1 has no moments m and v"),
])
def test_load_state_dict_refuses_a_state_it_cannot_continue_and_changes_nothing(change, why):
    done = Adam(0.01)
    done.step([(np.zeros(2), np.ones(2))])
    state = done.state_dict()
    change(state)
    fresh = Adam(0.5)
    with pytest.raises(ValueError) as e:
        fresh.load_state_dict(state)
    assert str(e.value) == why
    assert fresh.lr == 0.5 and fresh.t == 0 and fresh.m == {}
