"""The one recipe: a seed gives bit-identical models run after run; the seed preset runs in float32
through the full-batch path; test-time augmentation averages the documented views."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig, preset
from kagglekit.errors import ConfigError
from kagglekit.nn.layers import Dense
from kagglekit.nn.network import Network
from kagglekit.recipe import average_proba, train_model, tta_proba
from test_nn_train import blobs, digits


def test_train_model_is_deterministic_and_seed_dependent():
    x, y = blobs(200)
    config = TrainConfig(hidden=(8,), epochs=3, val_size=20, dropout=0.2)
    a, ha, (ta, va) = train_model(x, y, config)
    b, hb, (tb, vb) = train_model(x, y, config)
    np.testing.assert_array_equal(va, vb)
    assert ha.rows[-1]["train_loss"] == hb.rows[-1]["train_loss"]
    for (p, _), (q, _) in zip(a.pairs(), b.pairs()):
        np.testing.assert_array_equal(p, q)
    c, _, (_, vc) = train_model(x, y, config.override(seed=1))
    assert not np.array_equal(va, vc)
    assert len(va) == 20 and len(np.intersect1d(ta, va)) == 0


def test_seed_preset_trains_in_float32_full_batch_and_repeats_bit_for_bit():
    x, y = blobs(120)
    config = preset("seed").override(epochs=3, val_size=20)
    (a, history, _), (b, _, _) = train_model(x, y, config), train_model(x, y, config)
    assert all(p.dtype == np.float32 for p, _ in a.pairs())
    assert len(history.rows) == 3 and not np.isnan(history.last["val_acc"])
    for (p, _), (q, _) in zip(a.pairs(), b.pairs()):
        np.testing.assert_array_equal(p, q)


def test_uint8_pixels_train_the_weights_of_their_float_copy():
    # pipeline passes uint8 pixels so the float rows exist once (split, then converted), not twice
    from kagglekit.data import to_float
    raw = np.random.default_rng(0).integers(0, 256, (120, 784), dtype=np.uint8)
    y = np.arange(120) % 10
    config = TrainConfig(hidden=(8,), epochs=2, val_size=20)
    (a, ha, _), (b, hb, _) = train_model(to_float(raw), y, config), train_model(raw, y, config)
    assert ha.rows == hb.rows or all(r["train_loss"] == s["train_loss"] for r, s in zip(ha.rows, hb.rows))
    for (p, _), (q, _) in zip(a.pairs(), b.pairs()):
        np.testing.assert_array_equal(p, q)


# --- test-time augmentation ---------------------------------------------------------------------
def pixel(row, col):
    return row * 28 + col


class Probe:
    """A stand-in network whose "probabilities" are ten watched pixels: the centre (10, 10), then right,
    left, below, above it, the four diagonals, and one far away; averaging them shows which views came."""
    WATCH = [pixel(10 + dy, 10 + dx) for dy, dx in
             [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (15, 15)]]

    def predict_proba(self, x):
        return x[:, self.WATCH]


def test_tta_views_are_the_documented_shifts_in_order():
    x = np.zeros((1, 784), np.float32)
    x[0, pixel(10, 10)] = 1.0  # one lit pixel; a view moving it by (dy, dx) lights (10 + dy, 10 + dx)
    np.testing.assert_array_equal(tta_proba([Probe()], x, 1), [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(tta_proba([Probe()], x, 5), [[0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(tta_proba([Probe()], x, 9), [[1 / 9] * 9 + [0]])


def test_tta_of_one_view_is_the_plain_average():
    x, y = digits(40)
    config = TrainConfig(arch="conv4k3,pool", epochs=1, batch_size=10, val_size=5)
    nets = [train_model(x, y, config.override(seed=s))[0] for s in (0, 1)]
    np.testing.assert_array_equal(tta_proba(nets, x, 1), average_proba(nets, x))
    assert not np.allclose(tta_proba(nets, x, 5), average_proba(nets, x))
    with pytest.raises(ConfigError, match="tta must be between 1 .* and 9, got 10"):
        tta_proba(nets, x, 10)


def test_a_digit_one_pixel_off_its_template_is_recognised_with_tta_and_not_without():
    # A template matcher: class 0 scores 1 per lit pixel of a bar in column 10, rows 5-22; class 3 has a
    # small bias and wins when nothing matches. The digit is that bar one pixel to the right (column 11).
    dense = Dense(784, 10)
    dense.params["W"][[pixel(r, 10) for r in range(5, 23)], 0] = 1.0
    dense.params["b"][3] = 0.2
    net = Network([dense])
    bar = np.zeros((2, 784), np.float32)
    bar[0, [pixel(r, 11) for r in range(5, 23)]] = 1.0
    bar[1, [pixel(r, 10) for r in range(5, 23)]] = 1.0  # the template itself
    assert list(net.predict(bar)) == [3, 0]
    # With 5 views the left-shifted one matches (p0 ~ 1): mean p0 ~ (1 + 4·0.098)/5 = 0.28 > p3 ~ 0.096.
    assert list(tta_proba([net], bar, 5).argmax(axis=1)) == [0, 0]
    assert list(tta_proba([net], bar, 2).argmax(axis=1)) == [3, 0]  # the image and its right shift: no match


CNN = dict(schedule="onecycle", epochs=2, batch_size=16, augment_shift=1, augment_rotate=5, label_smoothing=0.1,
           val_size=20)


@pytest.mark.parametrize("config", [
    # few channels (by image rows), then 16 (channel-last); a ReLU before each pool (swapped), dropout
    TrainConfig(arch="conv4k5p2,pool,conv16k3,pool,dense24,dropout0.25", optimizer="adam", lr=3e-3, **CNN),
    # batch norm with SGD, not Adam: a conv bias before batch norm has a true gradient of 0, and Adam turns
    # its rounding noise (different in the two paths) into full-size steps of either sign
    TrainConfig(arch="conv4k5p2,pool,conv16k3,bn,pool,dense24", optimizer="sgd", lr=0.01, **CNN),
], ids=["adam", "sgd-batchnorm"])
def test_a_small_cnn_trains_to_the_same_weights_with_nn_alone_and_with_fast(monkeypatch, config):
    from kagglekit.fast import train as fast_train
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 256, (80, 784), dtype=np.uint8), np.arange(80) % 10
    x[np.arange(80), y * 78] = 255  # something to learn: each digit lights a pixel of its own
    accelerated = []
    real_accelerate = fast_train.accelerate
    monkeypatch.setattr(fast_train, "accelerate", lambda net: accelerated.append(1) or real_accelerate(net))
    fast, fast_history, _ = train_model(x, y, config)
    assert accelerated

    def no_fast(*args, **kwargs):
        raise AssertionError("fast=False used fast/")
    monkeypatch.setattr(fast_train, "fit", no_fast)
    monkeypatch.setattr(fast_train, "fast_optimizer", no_fast)
    plain, plain_history, _ = train_model(x, y, config, fast=False)
    assert [layer.spec() for layer in plain.layers] == [layer.spec() for layer in fast.layers]
    for a, b in zip(plain.layers, fast.layers):
        for name in a.params:
            assert a.params[name].dtype == b.params[name].dtype == np.float32
            np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-4, atol=1e-4)
        for name in a.buffers:
            np.testing.assert_allclose(b.buffers[name], a.buffers[name], rtol=1e-4, atol=1e-4)
    assert plain_history.column("val_acc") == fast_history.column("val_acc")
