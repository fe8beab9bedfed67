"""fit(): a tiny network learns a separable problem; history, divergence and determinism."""
import warnings

import numpy as np
import pytest

from kagglekit.nn.augment import random_shift
from kagglekit.config import TrainConfig, preset
from kagglekit.errors import TrainingError
from kagglekit.nn.network import build_network
from kagglekit.nn.train import HISTORY_COLUMNS, fit, minibatches
from kagglekit.recipe import train_model


def blobs(n=300, seed=0):
    """Three well separated Gaussian clusters in 5 dimensions."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.eye(3, 5, dtype=np.float32) * 4
    return (centres[y] + rng.standard_normal((n, 5)).astype(np.float32)), y


@pytest.mark.parametrize("optimizer, lr, batch", [("gd", 0.5, 0), ("sgd", 0.05, 16), ("adam", 0.01, 32)])
def test_learns_separable_problem(optimizer, lr, batch):
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer=optimizer, lr=lr, batch_size=batch, epochs=30)
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_in=5, n_out=3)
    history = fit(net, x[:240], y[:240], config, rng, x[240:], y[240:])
    assert len(history.rows) == 30 and set(history.rows[0]) == set(HISTORY_COLUMNS)
    assert history.rows[-1]["train_loss"] < history.rows[0]["train_loss"]
    assert history.last["val_acc"] > 0.95
    assert np.mean(net.predict(x[240:]) == y[240:]) == history.last["val_acc"]


def test_full_batch_validation_of_each_epoch_is_that_of_its_weights():
    # Full-batch runs evaluate an epoch's validation during the next step: it must still be that epoch's.
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer="gd", lr=0.5, batch_size=0, epochs=6)
    long = fit(build_network(config, np.random.default_rng(0), n_in=5, n_out=3), x[:240], y[:240],
               config, None, x[240:], y[240:])
    for k in (1, 3):
        short = config.override(epochs=k)
        history = fit(build_network(short, np.random.default_rng(0), n_in=5, n_out=3), x[:240], y[:240],
                      short, None, x[240:], y[240:])
        assert long.rows[k - 1]["val_loss"] == history.last["val_loss"]
    assert [row["epoch"] for row in long.rows] == list(range(1, 7))


def test_divergence_is_a_clear_error():
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer="gd", lr=1e30, batch_size=0, epochs=5)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the one-line error only, no NumPy overflow warnings before it
        with pytest.raises(TrainingError, match="diverged at epoch .* lower the learning rate"):
            fit(build_network(config, rng, n_in=5, n_out=3), x, y, config, rng)


def test_callback_and_lr_decay():
    x, y = blobs(60)
    seen = []
    config = TrainConfig(hidden=(4,), epochs=3, lr=0.01, lr_decay=0.5)
    rng = np.random.default_rng(0)
    history = fit(build_network(config, rng, n_in=5, n_out=3), x, y, config, rng, callback=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2, 3] and seen == history.rows
    assert np.isnan(history.last["val_acc"])


def test_train_model_is_deterministic_and_seed_dependent():
    x, y = blobs(200)
    config = TrainConfig(hidden=(8,), epochs=3, val_size=20, augment_shift=0)
    a, ha, (ta, va) = train_model(x, y, config)
    b, hb, (tb, vb) = train_model(x, y, config)
    np.testing.assert_array_equal(va, vb)
    assert ha.rows[-1]["train_loss"] == hb.rows[-1]["train_loss"]
    for (p, _), (q, _) in zip(a.pairs(), b.pairs()):
        np.testing.assert_array_equal(p, q)
    c, _, (_, vc) = train_model(x, y, config.override(seed=1))
    assert not np.array_equal(va, vc)
    assert len(va) == 20 and len(np.intersect1d(ta, va)) == 0


def test_seed_preset_trains_in_float32_full_batch():
    x, y = blobs(120)
    config = preset("seed").override(epochs=2, val_size=20)
    net, history, _ = train_model(x, y, config)
    assert all(p.dtype == np.float32 for p, _ in net.pairs())
    assert len(history.rows) == 2


def test_random_shift_moves_images_within_bounds():
    rng = np.random.default_rng(0)
    image = np.zeros((1, 784), np.float32)
    image[0, 14 * 28 + 14] = 1.0  # one lit pixel in the middle
    shifted = random_shift(np.repeat(image, 200, axis=0), 2, rng)
    assert shifted.shape == (200, 784) and shifted.dtype == np.float32
    positions = shifted.argmax(axis=1)
    dy, dx = positions // 28 - 14, positions % 28 - 14
    assert np.all(shifted.sum(axis=1) == 1)
    assert set(dy) == set(dx) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(random_shift(image, 0, rng), image)


def test_minibatches_cover_all_rows():
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert list(minibatches(10, 0, np.random.default_rng(0))) == [slice(None)]
