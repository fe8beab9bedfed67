"""The training loop: a tiny network learns a separable problem; every training option changes training
exactly as a step-by-step reference says (so a test fails when an option is ignored), in the plain loop
and in the fast one; history, divergence, minibatches and shifts."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import TrainingError
from kagglekit.fast import train as fast_train
from kagglekit.fast.optim import BlockedAdam
from kagglekit.nn.augment import random_affine, random_shift, warp
from kagglekit.nn.layers import Dense, Dropout, ReLU
from kagglekit.nn.losses import SoftmaxCrossEntropy
from kagglekit.nn.network import Network, build_network
from kagglekit.nn.optim import SGD, Adam
from kagglekit.nn import train as train_module
from kagglekit.nn.train import HISTORY_COLUMNS, evaluate, fit, minibatches

FITS = {"plain": fit, "fast": fast_train.fit}


def blobs(n=300, seed=0):
    """Three well separated Gaussian clusters in 5 dimensions."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.eye(3, 5, dtype=np.float32) * 4
    return (centres[y] + rng.standard_normal((n, 5)).astype(np.float32)), y


def digits(n=90, seed=0):
    """Random 28x28 'digits': a lit rectangle of pixel values each, so shifts and packing have work."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28))
    for img in x:
        top, left = rng.integers(4, 14, 2)
        img[top:top + rng.integers(5, 12), left:left + rng.integers(5, 12)] = rng.integers(1, 256) / 255
    return x.reshape(n, 784), np.arange(n) % 3


@pytest.mark.parametrize("how", FITS)
@pytest.mark.parametrize("optimizer, lr, batch", [("gd", 0.5, 0), ("sgd", 0.05, 16), ("adam", 0.01, 32)])
def test_learns_separable_problem(optimizer, lr, batch, how):
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer=optimizer, lr=lr, batch_size=batch, epochs=30)
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_in=5, n_out=3)
    history = FITS[how](net, x[:240], y[:240], config, rng, x[240:], y[240:])
    assert len(history.rows) == 30 and set(history.rows[0]) == set(HISTORY_COLUMNS)
    assert history.rows[-1]["train_loss"] < history.rows[0]["train_loss"]
    assert history.last["val_acc"] > 0.95
    best = history.rows[history.best_epoch - 1]  # the weights kept are the best validation epoch's
    assert best["val_acc"] == max(history.column("val_acc"))
    assert np.mean(net.predict(x[240:]) == y[240:]) == best["val_acc"]


# --- every option, against a reference that spells training out step by step ---------------------
def reference_fit(config, x, y, n_out=3):
    """What a config means, written out with the plain pieces and none of the code under test
    (build_network, fit, make_optimizer): returns the trained network."""
    rng = np.random.default_rng(config.seed)
    layers, width = [], x.shape[1]
    for size in config.hidden:
        layers += [Dense(width, size, config.init, rng, np.float64), ReLU()]
        if config.dropout:
            layers.append(Dropout(config.dropout, rng))
        width = size
    net = Network(layers + [Dense(width, n_out, config.init, rng, np.float64)],
                  loss=SoftmaxCrossEntropy(config.label_smoothing))
    momentum = config.momentum if config.optimizer == "sgd" else 0.0
    optimizer = Adam(config.lr) if config.optimizer == "adam" else SGD(config.lr, momentum)
    per_epoch = len(x) // config.batch_size if config.batch_size else 1  # the tests' rows divide evenly
    total, step = config.epochs * per_epoch, 0
    average = [p.copy() for p, _ in net.pairs()]  # the EMA of the weights (no batch norm here)
    for _ in range(config.epochs):
        for idx in minibatches(len(x), config.batch_size, rng):
            warm = round(config.warmup * per_epoch)
            if config.schedule == "cosine":  # linear warm-up, then half a cosine wave down
                optimizer.lr = (config.lr * (step + 1) / warm if step < warm else
                                config.lr * (1 + np.cos(np.pi * (step - warm) / (total - warm))) / 2)
            elif config.schedule == "onecycle":  # lr/25 up to lr over 30% of the steps, down to lr/25e4
                peak = 0.3 * total - 1
                start, end, t = ((config.lr / 25, config.lr, step / peak) if step <= peak else
                                 (config.lr, config.lr / 25e4, (step - peak) / (total - 1 - peak)))
                optimizer.lr = end + (start - end) * (1 + np.cos(np.pi * t)) / 2
            step += 1
            xb = x[idx]
            if config.augment_rotate or config.augment_zoom or config.augment_shear:  # one warp, shift in it
                xb = warp(xb, random_affine(len(xb), config.augment_rotate, config.augment_zoom,
                                            config.augment_shear, config.augment_shift, rng))
            elif config.augment_shift:
                xb = random_shift(xb, config.augment_shift, rng)
            net.train_step(xb, y[idx])
            for layer in net.layers:  # L2 weight decay: the gradient of (rate/2)·ΣW², weights only
                if isinstance(layer, Dense):
                    layer.grads["W"] += config.weight_decay * layer.params["W"]
            optimizer.step(net.pairs())
            decay = min(config.ema, (1 + step) / (10 + step))  # update number `step`, from 1
            average = [decay * a + (1 - decay) * p for a, (p, _) in zip(average, net.pairs())]
        if config.schedule == "none":
            optimizer.lr *= config.lr_decay
    if config.ema:  # without validation rows the last epoch is kept: its averages
        for (p, _), a in zip(net.pairs(), average):
            p[...] = a
    return net


def fitted(how, config, x, y):
    rng = np.random.default_rng(config.seed)
    net = build_network(config, rng, n_in=x.shape[1], n_out=3, dtype=np.float64)
    FITS[how](net, x, y, config, rng)
    return net


def weights(net):
    return [p.copy() for p, _ in net.pairs()]


BASE = TrainConfig(hidden=(16,), optimizer="gd", lr=0.3, epochs=3, batch_size=30, val_size=10)
OPTIONS = {  # each option, switched on, for minibatch (30 rows) and full-batch (0) descent
    "dropout": dict(dropout=0.5),
    "weight_decay": dict(weight_decay=0.2),
    "augment_shift": dict(augment_shift=2),
    "augment_rotate": dict(augment_rotate=20),
    "augment_zoom": dict(augment_zoom=0.2),
    "augment_shear": dict(augment_shear=20),
    "lr_decay": dict(lr_decay=0.3),
    "momentum": dict(optimizer="sgd", momentum=0.8),
    "adam": dict(optimizer="adam", lr=0.01),
    "cosine": dict(schedule="cosine", warmup=1),
    "onecycle": dict(schedule="onecycle"),
    "label_smoothing": dict(label_smoothing=0.3),
    "ema": dict(ema=0.5),  # 9 steps: decay (1+n)/(10+n) for n = 1..7, then capped at 0.5
}


@pytest.mark.parametrize("how", FITS)
@pytest.mark.parametrize("batch", [30, 0], ids=["minibatch", "fullbatch"])
@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_trains_as_the_reference_says(option, batch, how):
    if option == "ema" and batch == 0:
        pytest.skip("ema goes with minibatches; TrainConfig.check refuses it for full-batch descent")
    x, y = digits()
    config = BASE.override(batch_size=batch, **OPTIONS[option])
    off = BASE.override(batch_size=batch, **{k: v for k, v in OPTIONS[option].items() if k == "optimizer"})
    expected = weights(reference_fit(config, x, y))
    # The option matters: switched off, the reference trains other weights.
    assert max(np.abs(a - b).max() for a, b in zip(expected, weights(reference_fit(off, x, y)))) > 1e-3
    got = weights(fitted(how, config, x, y))
    if how == "fast" and batch == 0 and option == "dropout":
        # Full-batch parts run in parallel, each with its own dropout masks: other draws, same option.
        assert max(np.abs(a - b).max() for a, b in zip(got, weights(fitted(how, off, x, y)))) > 1e-3
        return
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("how", FITS)
def test_lr_decay_multiplies_the_rate_after_each_epoch(how):
    x, y = blobs(60)
    config = TrainConfig(hidden=(4,), optimizer="gd", epochs=2, lr=0.1, lr_decay=0.5, batch_size=0)
    rng = np.random.default_rng(0)
    decayed = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    FITS[how](decayed, x, y, config, rng)
    # The same by hand: one epoch at 0.1, then one at 0.05.
    rng = np.random.default_rng(0)
    by_hand = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    for lr in (0.1, 0.05):
        one = config.override(epochs=1, lr=lr, lr_decay=1.0)
        FITS[how](by_hand, x, y, one, rng)
    for a, b in zip(weights(decayed), weights(by_hand)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# --- history, validation, divergence ------------------------------------------------------------
@pytest.mark.parametrize("how", FITS)
def test_callback_gets_each_row_and_no_validation_is_nan(how):
    x, y = blobs(60)
    seen = []
    config = TrainConfig(hidden=(4,), epochs=3, lr=0.01)
    rng = np.random.default_rng(0)
    history = FITS[how](build_network(config, rng, n_in=5, n_out=3), x, y, config, rng, callback=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2, 3] and seen == history.rows
    assert np.isnan(history.last["val_acc"]) and 0 < history.last["train_acc"] <= 1


def test_fast_full_batch_validation_of_each_epoch_is_that_of_its_weights():
    # Full-batch runs evaluate an epoch's validation during the next step: it must still be that epoch's.
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer="gd", lr=0.5, batch_size=0, epochs=6)
    long = fast_train.fit(build_network(config, np.random.default_rng(0), n_in=5, n_out=3), x[:240], y[:240],
                          config, None, x[240:], y[240:])
    for k in (1, 3):
        short = config.override(epochs=k)
        history = fast_train.fit(build_network(short, np.random.default_rng(0), n_in=5, n_out=3), x[:240],
                                 y[:240], short, None, x[240:], y[240:])
        assert long.rows[k - 1]["val_loss"] == history.last["val_loss"]
    assert [row["epoch"] for row in long.rows] == list(range(1, 7))


@pytest.mark.parametrize("how", FITS)
@pytest.mark.parametrize("batch", [0, 16])
def test_divergence_is_a_clear_error(how, batch):
    x, y = blobs()
    config = TrainConfig(hidden=(16,), optimizer="gd", lr=1e30, batch_size=batch, epochs=5)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the one-line error only, no NumPy overflow warnings before it
        with pytest.raises(TrainingError, match=r"diverged at epoch \d+ .* lower the learning rate \(now 1e\+30\)"):
            FITS[how](build_network(config, rng, n_in=5, n_out=3), x, y, config, rng)


# --- the pieces ---------------------------------------------------------------------------------
def test_minibatches_cover_all_rows():
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert list(minibatches(10, 0, np.random.default_rng(0))) == [slice(None)]


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


def test_a_full_batch_conv_net_trains_through_the_plain_loop():
    # Packed pixel rows feed a first dense layer only; a CNN takes all rows per step unpacked.
    x, y = digits(40)
    config = TrainConfig(arch="conv4k3,pool", optimizer="gd", lr=0.1, batch_size=0, epochs=2)
    assert not fast_train.is_full_batch(config) and fast_train.is_full_batch(config.override(arch="dense8"))
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_out=3)
    history = fast_train.fit(net, x, y, config, rng)
    assert len(history.rows) == 2 and history.last["train_loss"] < history.rows[0]["train_loss"] + 1


# --- found by mutation testing: details the tests above let change ---------------------------------
class StandStill:
    """An optimizer that never moves the weights, so that an epoch's totals can be checked afterwards."""
    lr = 0.1

    def step(self, pairs):
        pass


def test_an_epochs_loss_and_accuracy_are_means_over_all_its_rows():
    x, y = blobs(20)
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=6)  # batches of 6, 6, 6 and 2 rows
    net = build_network(config, np.random.default_rng(1), n_in=5, n_out=3)  # 7 of 20 right, in 3 batches
    history = fit(net, x, y, config, np.random.default_rng(1), optimizer=StandStill())
    loss, acc = evaluate(net, x, y)  # the same weights throughout, so the same numbers in one batch
    np.testing.assert_allclose(history.last["train_loss"], loss, rtol=1e-6)
    assert history.last["train_acc"] == acc


def test_minibatches_of_one_row_and_of_all_rows():
    rng = np.random.default_rng(0)
    ones = list(minibatches(3, 1, rng))
    assert [len(b) for b in ones] == [1, 1, 1] and sorted(np.concatenate(ones)) == [0, 1, 2]
    rng, twin = np.random.default_rng(1), np.random.default_rng(1)
    assert list(minibatches(4, 4, rng)) == [slice(None)]  # batch_size n: one batch, nothing drawn
    assert rng.random() == twin.random()


def test_end_epoch_row_and_divergence_message(monkeypatch):
    monkeypatch.setattr(train_module, "time", SimpleNamespace(perf_counter=lambda: 12.5))
    net, opt = Network([Dense(2, 2, rng=np.random.default_rng(0))]), SGD(0.1)
    row = train_module.end_epoch(net, opt, 2, loss_sum=3.0, correct=3, n=4, start=10.0)
    assert {k: row[k] for k in ("epoch", "train_loss", "train_acc", "seconds")} == {
        "epoch": 2, "train_loss": 0.75, "train_acc": 0.75, "seconds": 2.5}
    assert np.isnan(row["val_loss"]) and np.isnan(row["val_acc"])
    net.layers[0].params["W"][0, 0] = np.nan  # weights gone, loss still finite: diverged all the same
    with pytest.raises(TrainingError) as weights:
        train_module.end_epoch(net, opt, 3, loss_sum=2.0, correct=0, n=4, start=10.0)
    assert str(weights.value) == ("training diverged at epoch 3 (loss 0.5, weights not finite); "
                                  "lower the learning rate (now 0.1) and retry")
    net.layers[0].params["W"][0, 0] = 0.0
    with pytest.raises(TrainingError, match=r"epoch 4 \(loss inf,"):
        train_module.end_epoch(net, opt, 4, loss_sum=np.inf, correct=0, n=4, start=10.0)


def test_fast_fit_picks_blocked_adam_and_the_full_batch_path_only_where_they_apply():
    blocked = fast_train.fast_optimizer(TrainConfig(optimizer="adam", lr=0.01))
    assert type(blocked) is BlockedAdam and blocked.lr == 0.01
    sgd = fast_train.fast_optimizer(TrainConfig(optimizer="sgd", lr=0.01, momentum=0.8))
    assert type(sgd) is SGD and sgd.momentum == 0.8
    assert fast_train.is_full_batch(TrainConfig(batch_size=0))
    assert not fast_train.is_full_batch(TrainConfig(batch_size=1))
    assert not fast_train.is_full_batch(TrainConfig(batch_size=0, augment_shift=1))


def test_fast_full_batch_fit_calls_back_after_each_epoch():
    x, y = blobs(60)
    seen = []
    config = TrainConfig(hidden=(4,), optimizer="gd", lr=0.1, batch_size=0, epochs=3)
    net = build_network(config, np.random.default_rng(0), n_in=5, n_out=3)
    history = fast_train.fit(net, x, y, config, None, callback=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2, 3] and seen == history.rows


def test_fast_minibatch_fit_steps_with_the_fast_optimizer(monkeypatch):
    monkeypatch.setattr(fast_train, "fast_optimizer", lambda config: StandStill())
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=6)
    net = build_network(config, np.random.default_rng(0), n_in=5, n_out=3)
    before = [p.copy() for p, _ in net.pairs()]
    fast_train.fit(net, *blobs(20), config, np.random.default_rng(1))
    for a, (b, _) in zip(before, net.pairs()):
        np.testing.assert_array_equal(a, b)
