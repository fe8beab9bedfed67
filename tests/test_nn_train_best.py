"""The loop keeps the best validation epoch's weights, checkpoints after each best epoch, stops after
`patience` epochs without improvement, and continues a checkpoint's History to the very weights an
uninterrupted run ends with."""
import copy

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.fast import train as fast_train
from kagglekit.nn.network import build_network
from kagglekit.nn.train import History, fit
from test_nn_train import blobs, weights

FITS = {"plain": fit, "fast": fast_train.fit}
BATCHES = {"minibatch": 32, "fullbatch": 0}


def noisy_blobs():
    """Overlapping clusters, so validation accuracy goes up and down from epoch to epoch."""
    x, y = blobs(300, seed=1)
    return x * 0.35, y


def strip(rows):
    """History rows without their times."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def train(how, config, history=None, net=None, rng=None, optimizer=None, **hooks):
    x, y = noisy_blobs()
    if net is None:
        rng = np.random.default_rng(config.seed)
        net = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    args = (net, x[:200], y[:200], config, rng, x[200:], y[200:])
    return net, FITS[how](*args, history=history, optimizer=optimizer, **hooks)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("how", FITS)
def test_the_best_epoch_is_kept_and_checkpointed_when_it_comes(how, batch):
    config = TrainConfig(hidden=(8,), optimizer="sgd", lr=0.3, epochs=12, batch_size=BATCHES[batch])
    net, seen = build_network(config, np.random.default_rng(0), n_in=5, n_out=3, dtype=np.float64), {}
    _, history = train(how, config, net=net, rng=np.random.default_rng(0),
                       checkpoint=lambda history: seen.update({history.last["epoch"]: weights(net)}))
    accs = history.column("val_acc")
    improving = [i + 1 for i, a in enumerate(accs) if a > max(accs[:i], default=-1)]
    assert list(seen) == improving and len(improving) < len(accs)  # some epochs did worse
    assert history.best_epoch == improving[-1] and accs[history.best_epoch - 1] == max(accs)
    for a, b in zip(weights(net), seen[history.best_epoch]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("how", FITS)
def test_patience_stops_after_that_many_epochs_without_improvement(how, batch):
    config = TrainConfig(hidden=(8,), optimizer="sgd", lr=0.3, epochs=40, batch_size=BATCHES[batch], patience=3)
    _, history = train(how, config)
    assert len(history.rows) == history.best_epoch + 3 < 40
    accs = history.column("val_acc")
    assert max(accs[-3:]) <= accs[history.best_epoch - 1]
    _, longer = train(how, config.override(patience=0))
    assert len(longer.rows) == 40 and strip(longer.rows[:len(history.rows)]) == strip(history.rows)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("how", FITS)
def test_without_validation_each_epoch_counts_and_patience_never_stops(how, batch):
    x, y = noisy_blobs()
    config = TrainConfig(hidden=(8,), optimizer="sgd", lr=0.3, epochs=5, batch_size=BATCHES[batch], patience=1)
    rng = np.random.default_rng(0)
    calls = []
    history = FITS[how](build_network(config, rng, n_in=5, n_out=3), x, y, config, rng,
                        checkpoint=lambda h: calls.append(h.last["epoch"]))
    assert calls == [1, 2, 3, 4, 5] and history.best_epoch == 5


@pytest.mark.parametrize("schedule", [dict(), dict(schedule="onecycle"), dict(dropout=0.3, lr_decay=0.8)])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("how", FITS)
def test_a_checkpoints_history_continues_to_the_uninterrupted_weights(how, batch, schedule):
    if how == "fast" and batch == "fullbatch" and "dropout" in schedule:
        pytest.skip("full-batch parts draw their dropout masks from generators made when training starts")
    config = TrainConfig(hidden=(8,), optimizer="adam", lr=0.05, epochs=10, batch_size=BATCHES[batch], **schedule)
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    optimizer = fast_train.fast_optimizer(config)
    saved = []
    def checkpoint(history):  # what the workflow writes to disk: weights, optimizer, generator, history
        if history.last["epoch"] <= 6:
            saved[:] = [weights(net), copy.deepcopy(optimizer), copy.deepcopy(rng.bit_generator.state),
                        copy.deepcopy(history.rows)]
    _, whole = train(how, config, net=net, rng=rng, optimizer=optimizer, checkpoint=checkpoint)
    params, optimizer, state, rows = saved
    assert 1 <= len(rows) <= 6
    rng = np.random.default_rng(config.seed)
    resumed = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)  # the dropout layers take rng
    rng.bit_generator.state = state
    for (p, _), q in zip(resumed.pairs(), params):
        p[...] = q
    _, history = train(how, config, History(rows), net=resumed, rng=rng, optimizer=optimizer)
    assert strip(history.rows) == strip(whole.rows)
    for a, b in zip(weights(resumed), weights(net)):
        np.testing.assert_array_equal(a, b)


def test_history_best_is_the_row_of_the_best_epoch():
    history = History([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.9}, {"epoch": 3, "val_acc": 0.9}])
    assert history.best_epoch == 2 and history.best == {"epoch": 2, "val_acc": 0.9}
    assert History().best == {}
