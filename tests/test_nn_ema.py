"""The moving average of the weights (--ema): one update worked by hand, the swap in and out, and in
training: batch norm's running statistics averaged too, validation and the kept model are the averages,
and a checkpoint's History continues to the uninterrupted weights and averages."""
import copy

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.fast import train as fast_train
from kagglekit.nn.ema import EMA
from kagglekit.nn.network import build_network
from kagglekit.nn.train import History, evaluate, fit, weight_arrays
from test_nn_train import blobs

FITS = {"plain": fit, "fast": fast_train.fit}


def test_the_decay_warms_up_then_holds():
    ema = EMA(0.999, [])
    # Update n (from 1) after step n-1: (1 + n)/(10 + n), i.e. 2/11, 3/12, ... until it reaches 0.999.
    assert [ema.rate(s) for s in (0, 1, 8)] == [2 / 11, 3 / 12, 10 / 19]
    assert ema.rate(8990) == 0.999 and ema.rate(10 ** 6) == 0.999
    assert EMA(0.5, []).rate(8) == 0.5  # 10/19 > 0.5: capped


def test_two_updates_by_hand():
    w = np.array([0.0, 10.0], np.float32)
    ema = EMA(0.5, [w])
    w[...] = [1.0, 0.0]
    ema.update([w], 0)  # decay 2/11: 2/11·(0, 10) + 9/11·(1, 0) = (9/11, 20/11)
    np.testing.assert_allclose(ema.average[0], [9 / 11, 20 / 11], rtol=1e-6)
    w[...] = [2.0, 2.0]
    ema.update([w], 1)  # decay 3/12: 1/4·(9/11, 20/11) + 3/4·(2, 2) = (75/44, 86/44)
    np.testing.assert_allclose(ema.average[0], [75 / 44, 86 / 44], rtol=1e-6)
    assert ema.average[0].dtype == np.float32 and ema.average[0] is not w


def test_applied_swaps_the_averages_in_and_the_live_weights_back_even_on_error():
    w = np.array([1.0, 2.0])
    ema = EMA(0.9, [w])
    ema.average[0][...] = [5.0, 6.0]
    with ema.applied([w]):
        np.testing.assert_array_equal(w, [5.0, 6.0])
        np.testing.assert_array_equal(ema.live[0], [1.0, 2.0])
    np.testing.assert_array_equal(w, [1.0, 2.0])
    assert ema.live is None
    with pytest.raises(KeyboardInterrupt):
        with ema.applied([w]):
            raise KeyboardInterrupt
    np.testing.assert_array_equal(w, [1.0, 2.0])


BN = TrainConfig(arch="dense8,bn", optimizer="adam", lr=0.05, epochs=2, batch_size=50, ema=0.9)


@pytest.mark.parametrize("how", FITS)
def test_batch_norm_running_statistics_are_averaged_like_the_parameters(how):
    x, y = blobs(200)
    rng = np.random.default_rng(0)
    net = build_network(BN, rng, n_in=5, n_out=3, dtype=np.float64)
    bn = next(layer for layer in net.layers if layer.buffers)
    average = [a.copy() for a in weight_arrays(net)]
    seen = []

    def after_step(i, n, loss, acc, lr):  # called after each step and its EMA update: track the reference
        step = len(seen)
        decay = min(BN.ema, (2 + step) / (11 + step))
        average[:] = [decay * a + (1 - decay) * w for a, w in zip(average, weight_arrays(net))]
        seen.append(bn.buffers["running_mean"].copy())

    FITS[how](net, x, y, BN, rng, on_batch=after_step)  # no validation: the last epoch's averages are kept
    assert len(seen) == 8 and not np.allclose(seen[-1], bn.buffers["running_mean"])  # not the live ones
    for got, expected in zip(weight_arrays(net), average):
        np.testing.assert_allclose(got, expected, rtol=1e-6 if got.dtype == np.float32 else 1e-9, atol=1e-12)


@pytest.mark.parametrize("how", FITS)
def test_validation_and_the_kept_model_are_the_averages_of_the_best_epoch(how):
    x, y = blobs(300, seed=1)
    x *= 0.35  # overlapping clusters: validation accuracy moves from epoch to epoch
    config = TrainConfig(hidden=(8,), optimizer="sgd", lr=0.3, epochs=8, batch_size=20, ema=0.9)
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    kept = {}

    def checkpoint(history):  # net holds what the run would keep if this epoch stays the best
        kept[history.last["epoch"]] = [a.copy() for a in weight_arrays(net)]
        assert evaluate(net, x[200:], y[200:])[1] == history.last["val_acc"]

    history = FITS[how](net, x[:200], y[:200], config, rng, x[200:], y[200:], checkpoint=checkpoint)
    assert evaluate(net, x[200:], y[200:])[1] == history.best["val_acc"] == max(history.column("val_acc"))
    for a, b in zip(weight_arrays(net), kept[history.best_epoch]):
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    plain = build_network(config.override(ema=0.0), rng, n_in=5, n_out=3, dtype=np.float64)
    FITS[how](plain, x[:200], y[:200], config.override(ema=0.0), rng, x[200:], y[200:])
    assert any(not np.allclose(a, b) for (a, _), (b, _) in zip(net.pairs(), plain.pairs()))  # ema mattered


@pytest.mark.parametrize("how", FITS)
def test_a_checkpoints_history_continues_to_the_uninterrupted_weights_and_averages(how):
    x, y = blobs(300, seed=1)
    x *= 0.35
    config = TrainConfig(arch="dense8,bn", optimizer="adam", lr=0.05, epochs=8, batch_size=32, ema=0.9,
                         schedule="onecycle")
    rng = np.random.default_rng(0)
    net = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    optimizer, saved = fast_train.fast_optimizer(config), []

    def checkpoint(history):  # what checkpoint.save writes: model (averages), live weights, optimizer, rng
        if history.last["epoch"] <= 5:
            saved[:] = [[a.copy() for a in weight_arrays(net)], copy.deepcopy(optimizer),
                        copy.deepcopy(rng.bit_generator.state), copy.deepcopy(history.rows)]

    whole = FITS[how](net, x[:200], y[:200], config, rng, x[200:], y[200:], optimizer=optimizer,
                      checkpoint=checkpoint)
    averages, optimizer, state, rows = saved
    live = optimizer.ema.live  # the checkpoint was taken with the averages swapped in
    assert 1 <= len(rows) <= 5 and live is not None
    rng = np.random.default_rng(config.seed)
    resumed = build_network(config, rng, n_in=5, n_out=3, dtype=np.float64)
    rng.bit_generator.state = state
    # As checkpoint.restore does: the EMA starts from the model's averages, net from the live weights.
    optimizer.ema = EMA(config.ema, averages)
    for w, a in zip(weight_arrays(resumed), live):
        w[...] = a
    history = FITS[how](resumed, x[:200], y[:200], config, rng, x[200:], y[200:], optimizer=optimizer,
                        history=History(rows))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(history.rows) == strip(whole.rows)
    for a, b in zip(weight_arrays(resumed), weight_arrays(net)):
        np.testing.assert_array_equal(a, b)
