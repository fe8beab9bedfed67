"""Network predictions and saving/loading models, including corrupt and mismatched files."""
import json

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ModelError
from kagglekit.nn.network import Network, build_network


def small_net(seed=0, **kw):
    return build_network(TrainConfig(**{"hidden": (8,), **kw}), np.random.default_rng(seed), n_in=12, n_out=10)


def test_predict_proba_rows_sum_to_one_in_chunks():
    net = small_net()
    x = np.random.default_rng(1).random((25, 12), dtype=np.float32)
    p = net.predict_proba(x, batch_size=7)
    assert p.shape == (25, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(x), p.argmax(axis=1))
    np.testing.assert_allclose(p, net.predict_proba(x, batch_size=1000), rtol=1e-6)


def test_save_load_round_trip_is_exact(tmp_path):
    net = small_net(hidden=(8, 6), activation="tanh", dropout=0.2)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = Network.load(path)
    assert [layer.spec() for layer in loaded.layers] == [layer.spec() for layer in net.layers]
    for (a, _), (b, _) in zip(net.pairs(), loaded.pairs()):
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.float32
    x = np.random.default_rng(2).random((5, 12), dtype=np.float32)
    np.testing.assert_array_equal(net.predict_proba(x), loaded.predict_proba(x))
    assert loaded.meta["config"]["activation"] == "tanh"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_model_file_has_no_pickles(tmp_path):
    small_net().save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as saved:
        assert all(saved[k].dtype != object for k in saved.files)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelError, match="not found; train one with `kagglekit train`"):
        Network.load(tmp_path / "none.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match="corrupt or not a kagglekit model"):
        Network.load(garbage)
    small_net().save(tmp_path / "m.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((tmp_path / "m.npz").read_bytes()[:300])
    with pytest.raises(ModelError, match="corrupt"):
        Network.load(truncated)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ModelError, match="corrupt or not a kagglekit model"):
        Network.load(tmp_path / "other.npz")


def test_weights_from_another_architecture(tmp_path):
    net = small_net()
    path = tmp_path / "m.npz"
    net.save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    header = json.loads(str(arrays["__header__"]))
    header["layers"][0]["n_out"] = 9  # the architecture no longer matches the stored weights
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match=r"layer 0 W has shape \(12, 8\), its architecture says \(12, 9\)"):
        Network.load(path)


def small_cnn(rng, dtype=np.float32):
    """A LeNet-like net on 8x8 images with batch norm: every new layer kind once."""
    from kagglekit.nn.conv import Conv2D
    from kagglekit.nn.layers import Dense, ReLU
    from kagglekit.nn.norm import BatchNorm
    from kagglekit.nn.pool import MaxPool2D
    from kagglekit.nn.shape import Flatten, Reshape
    return Network([Reshape([1, 8, 8]), Conv2D(1, 4, 3, padding=1, rng=rng, dtype=dtype), BatchNorm(4), ReLU(),
                    MaxPool2D(2), Conv2D(4, 6, 3, rng=rng, dtype=dtype), ReLU(), Flatten(),
                    Dense(24, 10, rng=rng, dtype=dtype), BatchNorm(10)])


def test_cnn_shapes_chain_and_n_in_comes_from_the_reshape():
    net = small_cnn(np.random.default_rng(0))
    shape = (net.n_in,)
    for layer in net.layers:
        shape = layer.output_shape(shape)
    assert net.n_in == 64 and shape == (10,)


def test_cnn_with_batch_norm_saves_and_loads_its_running_statistics(tmp_path):
    rng = np.random.default_rng(1)
    net = small_cnn(rng)
    x, y = rng.random((16, 64), dtype=np.float32), rng.integers(0, 10, 16)
    for _ in range(3):
        net.train_step(x, y)  # moves the running statistics away from (0, 1)
    assert net.layers[2].buffers["running_mean"].any()
    net.save(tmp_path / "cnn.npz")
    loaded = Network.load(tmp_path / "cnn.npz")
    for a, b in zip(net.layers, loaded.layers):
        assert a.buffers.keys() == b.buffers.keys()
        for k in a.buffers:
            np.testing.assert_array_equal(a.buffers[k], b.buffers[k])
            assert b.buffers[k].dtype == np.float32
    np.testing.assert_array_equal(net.predict_proba(x), loaded.predict_proba(x))


def test_a_file_without_buffers_still_loads(tmp_path):
    """Models saved before buffers existed: the same keys as an MLP's file has now."""
    net = small_net()
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as saved:
        assert not [k for k in saved.files if ".buffers." in k]
    assert Network.load(tmp_path / "m.npz").layers[0].buffers == {}


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_predict_proba_of_no_rows_is_an_empty_float32_table_of_the_classes():
    p = small_net().predict_proba(np.zeros((0, 12), np.float32))
    assert p.shape == (0, 10) and p.dtype == np.float32
    assert small_net().predict(np.zeros((0, 12), np.float32)).shape == (0,)


def test_predict_forwards_at_most_batch_size_rows_at_a_time():
    net, sizes = small_net(), []
    forward = net.forward
    net.forward = lambda x, training=False: sizes.append(len(x)) or forward(x, training)
    labels = net.predict(np.zeros((5, 12), np.float32), batch_size=2)
    assert sizes == [2, 2, 1] and labels.shape == (5,)


def test_load_errors_quote_the_format_and_the_failure_and_say_how_to_fix(tmp_path):
    path = tmp_path / "m.npz"
    small_net().save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    header = json.loads(str(arrays["__header__"]))
    header["format"] = "other-2"
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    with pytest.raises(ModelError) as wrong:
        Network.load(path)
    assert str(wrong.value) == (f"{path} is not a kagglekit model (format 'other-2'); "
                                "retrain it with `kagglekit train`")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ModelError) as other:
        Network.load(tmp_path / "other.npz")
    assert str(other.value) == (f"{tmp_path / 'other.npz'} is corrupt or not a kagglekit model (it holds no "
                                "kagglekit header); retrain it with `kagglekit train`")
