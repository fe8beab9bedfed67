"""The one recipe: a seed gives bit-identical models run after run; the seed preset runs in float32
through the full-batch path."""
import numpy as np

from kagglekit.config import TrainConfig, preset
from kagglekit.recipe import train_model
from test_nn_train import blobs


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
