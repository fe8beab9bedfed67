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
