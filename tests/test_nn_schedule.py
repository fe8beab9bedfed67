"""Learning-rate schedules: the rate of every step against values worked out by hand, the rate the
training loop really uses at each step, and the settings that go with a schedule."""
import math

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError
from kagglekit.fast import train as fast_train
from kagglekit.nn.network import build_network
from kagglekit.nn.optim import SGD
from kagglekit.nn.registry import lookup
from kagglekit.nn.train import fit, learning_rate, steps_per_epoch
from test_nn_train import blobs


def rates(config, per_epoch):
    rate = learning_rate(config, per_epoch)
    return [rate(step) for step in range(config.epochs * per_epoch)]


def test_none_is_the_per_epoch_decay():
    config = TrainConfig(lr=0.1, lr_decay=0.5, epochs=3)
    assert rates(config, 2) == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_cosine_warms_up_linearly_then_falls_to_near_zero():
    config = TrainConfig(lr=0.1, schedule="cosine", warmup=1, epochs=4)
    # 2 steps an epoch: 2 warm-up steps (0.1·1/2, 0.1·2/2), then 0.1·(1 + cos(π·k/6))/2 for k = 0..5.
    expected = [0.05, 0.1, 0.1, 0.1 * (1 + math.sqrt(3) / 2) / 2, 0.075, 0.05, 0.025, 0.1 * (1 - math.sqrt(3) / 2) / 2]
    assert rates(config, 2) == pytest.approx(expected, rel=1e-12)
    # No warm-up, 1 step an epoch: 0.1·(1 + cos(π·k/4))/2 for k = 0..3.
    expected = [0.1, 0.1 * (1 + 1 / math.sqrt(2)) / 2, 0.05, 0.1 * (1 - 1 / math.sqrt(2)) / 2]
    assert rates(config.override(warmup=0), 1) == pytest.approx(expected, rel=1e-12)


def test_onecycle_is_pytorchs_one_cycle():
    config = TrainConfig(lr=1.0, schedule="onecycle", epochs=10)
    # OneCycleLR(max_lr=1, total_steps=10): from 1/25 up to 1 until step 0.3·10 - 1 = 2, then down to
    # 1/25/1e4 at step 9, both halves cosine: end + (start - end)·(cos(π·t) + 1)/2.
    up = [0.04, 1 - 0.96 * (math.cos(math.pi / 2) + 1) / 2, 1.0]
    down = [4e-6 + (1 - 4e-6) * (math.cos(math.pi * k / 7) + 1) / 2 for k in range(1, 8)]
    got = rates(config, 1)
    assert got == pytest.approx(up + down, rel=1e-12)
    assert got[1] == pytest.approx(0.52) and got[-1] == pytest.approx(4e-6) and max(got) == 1.0


class Recording(SGD):
    """SGD that remembers the rate of each step."""

    def __init__(self, lr):
        super().__init__(lr)
        self.seen = []

    def step(self, pairs):
        self.seen.append(self.lr)
        super().step(pairs)


@pytest.mark.parametrize("batch", [16, 0], ids=["minibatch", "fullbatch"])
@pytest.mark.parametrize("how", ["plain", "fast"])
@pytest.mark.parametrize("changes", [dict(lr_decay=0.5), dict(schedule="cosine", warmup=0.5),
                                     dict(schedule="onecycle")], ids=["none", "cosine", "onecycle"])
def test_the_loop_steps_the_schedule_every_batch(changes, how, batch):
    x, y = blobs(60)
    config = TrainConfig(hidden=(4,), optimizer="gd", lr=0.1, epochs=3, batch_size=batch, **changes)
    rng = np.random.default_rng(0)
    optimizer = Recording(config.lr)
    net = build_network(config, rng, n_in=5, n_out=3)
    if how == "plain":
        fit(net, x, y, config, rng, optimizer=optimizer)
    else:
        fast_train.fit(net, x, y, config, rng, optimizer=optimizer)
    per_epoch = steps_per_epoch(len(x), batch)
    assert per_epoch == (4 if batch else 1)  # 60 rows in batches of 16: 16, 16, 16, 12
    assert optimizer.seen == rates(config, per_epoch)


def test_schedule_names_are_in_the_registry_and_its_settings_are_checked():
    assert lookup("schedule", "onecycle")(TrainConfig(lr=1.0, schedule="onecycle", epochs=10), 0, 1) == pytest.approx(0.04)
    with pytest.raises(ConfigError, match=r"^unknown schedule 'step'; known: none, cosine, onecycle$"):
        lookup("schedule", "step")
    cases = [(dict(schedule="step"), "schedule must be one of none, cosine, onecycle, got 'step'"),
             (dict(schedule="cosine", lr_decay=0.9), "lr_decay goes with --schedule none; cosine sets the rate of "
                                                     "every batch itself, got 0.9"),
             (dict(schedule="cosine", warmup=10), "warmup must be in [0, epochs) (epochs is 10), got 10"),
             (dict(schedule="cosine", warmup=-1), "warmup must be in [0, epochs) (epochs is 10), got -1"),
             (dict(warmup=1), "warmup goes with --schedule cosine (onecycle warms up over its first 30% itself), "
                              "got 1")]
    for changes, message in cases:
        with pytest.raises(ConfigError) as e:
            TrainConfig(epochs=10).override(**changes)
        assert str(e.value) == message
