"""Architecture specs: parsing each token, the one-line errors, the builder's layers and shapes, and the
MLPs built bit for bit as they were before specs (same layers, same order, same draws)."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError
from kagglekit.nn import registry
from kagglekit.nn.layers import Dense, Dropout, ReLU
from kagglekit.nn.network import Network, build_network
from kagglekit.nn.spec import GRAMMAR, build_layers, mlp_spec, parse
from layer_stand_ins import stand_ins  # noqa: F401 (a fixture)


def test_parse_each_token_kind():
    assert parse("conv32k3,conv8k5p2s2, pool,pool3,bn,dense128,dropout0.4,dropout0") == [
        ("conv", (32, 3, None, None), "conv32k3"), ("conv", (8, 5, 2, 2), "conv8k5p2s2"),
        ("pool", (None,), "pool"), ("pool", (3,), "pool3"), ("bn", (), "bn"), ("dense", (128,), "dense128"),
        ("dropout", (0.4,), "dropout0.4"), ("dropout", (0.0,), "dropout0")]
    assert parse("conv4k3p0")[0][1] == (4, 3, 0, None)  # padding 0 is a choice, not a mistake


@pytest.mark.parametrize("spec, line", [
    ("conv32x3", f"bad --arch token 'conv32x3': {GRAMMAR}"),
    ("dense64,maxpool", f"bad --arch token 'maxpool': {GRAMMAR}"),
    ("dense64,", f"bad --arch token '': {GRAMMAR}"),
    ("Dense64", f"bad --arch token 'Dense64': {GRAMMAR}"),
    ("dropout1.5", f"bad --arch token 'dropout1.5': dropoutR needs 0 <= R < 1; {GRAMMAR}"),
    ("dense0", f"bad --arch token 'dense0': filters, units, kernels and strides must be > 0; {GRAMMAR}"),
    ("conv8k3s0", f"bad --arch token 'conv8k3s0': filters, units, kernels and strides must be > 0; {GRAMMAR}"),
    ("", f"--arch is empty; {GRAMMAR}"),
    (" ", f"--arch is empty; {GRAMMAR}"),
])
def test_bad_tokens_are_quoted_with_the_grammar(spec, line):
    with pytest.raises(ConfigError) as e:
        build_layers(spec)
    assert str(e.value) == line


def test_mlp_spec_spells_hidden_and_dropout():
    assert mlp_spec((800,)) == "dense800"
    assert mlp_spec((16, 8), 0.3) == "dense16,dropout0.3,dense8,dropout0.3"
    assert parse(mlp_spec((8,), 1e-05))[1] == ("dropout", (1e-05,), "dropout1e-05")  # repr parses back


def _built_as_before(config, rng, n_in=784, n_out=10):
    """The MLP exactly as build_network made it before specs existed."""
    layers, width = [], n_in
    for size in config.hidden:
        layers += [Dense(width, size, config.init, rng), ReLU()]
        if config.dropout:
            layers.append(Dropout(config.dropout, rng))
        width = size
    return layers + [Dense(width, n_out, config.init, rng)]


@pytest.mark.parametrize("config", [TrainConfig(hidden=(800,)), TrainConfig(hidden=(10,), init="uniform"),
                                    TrainConfig(hidden=(16, 8), dropout=0.3)])
def test_mlps_are_bit_identical_to_the_layer_by_layer_build(config):
    rng_spec, rng_old = np.random.default_rng(7), np.random.default_rng(7)
    net, old = build_network(config, rng_spec), _built_as_before(config, rng_old)
    assert [layer.spec() for layer in net.layers] == [layer.spec() for layer in old]
    for new, before in zip(net.layers, old):
        assert new.params.keys() == before.params.keys()
        for k, value in new.params.items():
            assert value.dtype == before.params[k].dtype and value.tobytes() == before.params[k].tobytes()
        if isinstance(new, Dropout):
            assert new.rng is rng_spec  # dropout masks come from the run's generator, as before
    assert rng_spec.random() == rng_old.random()  # the same number of draws: shuffles downstream agree


def test_dense_only_specs_take_any_input_width():
    layers = build_layers("dense4", n_in=5, n_out=3, rng=np.random.default_rng(0))
    assert [layer.spec() for layer in layers] == [
        {"type": "dense", "n_in": 5, "n_out": 4, "init": "he"}, {"type": "relu"},
        {"type": "dense", "n_in": 4, "n_out": 3, "init": "he"}]


# ---- image layers, through stand-ins (tests/layer_stand_ins.py) whose messages the tests know

def kinds(layers):
    return [layer.kind for layer in layers]


def test_conv_spec_layers_shapes_and_arguments(stand_ins):
    rng = np.random.default_rng(0)
    layers = build_layers("conv8k3p1,bn,pool,conv16k3s1,pool,dense32,dropout0.25", init="glorot", rng=rng,
                          dtype=np.float64)
    assert kinds(layers) == ["reshape", "conv2d", "relu", "batchnorm", "maxpool2d", "conv2d", "relu",
                             "maxpool2d", "flatten", "dense", "relu", "dropout", "dense"]
    reshape, conv1, _, bn, pool, conv2 = layers[:6]
    assert reshape.args == ([1, 28, 28],)
    assert conv1.args == (1, 8, 3)
    assert conv1.kwargs == {"padding": 1, "stride": 1, "init": "glorot", "rng": rng, "dtype": np.float64}
    assert bn.args == (8,) and pool.args == (2,)
    assert (conv2.args, conv2.kwargs["padding"], conv2.kwargs["stride"]) == ((8, 16, 3), 0, 1)
    # 28 -(pad 1, k3)-> 28 -pool-> 14 -(k3)-> 12 -pool-> 6: 16·6·6 = 576 features reach dense32
    assert (layers[9].n_in, layers[9].n_out, layers[-1].n_in, layers[-1].n_out) == (576, 32, 32, 10)
    assert layers[9].params["W"].dtype == np.float64


def test_a_conv_spec_without_dense_flattens_into_the_classifier(stand_ins):
    layers = build_layers("conv8k3,bn", activation="tanh")
    assert kinds(layers) == ["reshape", "conv2d", "tanh", "batchnorm", "flatten", "dense"]
    assert layers[-1].n_in == 8 * 26 * 26


@pytest.mark.parametrize("spec, n_in, line", [
    ("conv8k5,pool,pool,pool,conv8k5", 784,
     "bad --arch token 'conv8k5' (#5) on input (8, 3, 3): kernel 5 is larger than its 3×3 input"),
    ("pool4,pool4,pool4", 784,
     "bad --arch token 'pool4' (#3) on input (1, 1, 1): leaves (1, 0, 0), nothing to classify"),
    ("dense32,conv8k3", 784, "bad --arch token 'conv8k3' (#2): conv and pool work on the image, so they come "
                             "first, before any dense, bn or dropout"),
    ("conv8k3", 12, "bad --arch token 'conv8k3' (#1): conv and pool need a square image, got 12 inputs"),
])
def test_specs_that_do_not_fit_name_the_token(stand_ins, spec, n_in, line):
    with pytest.raises(ConfigError) as e:
        build_layers(spec, n_in=n_in)
    assert str(e.value) == line


def test_config_check_infers_the_shapes_before_any_data(stand_ins):
    with pytest.raises(ConfigError, match=r"^bad --arch token 'conv8k5' \(#5\) on input \(8, 3, 3\)"):
        TrainConfig(arch="conv8k5,pool,pool,pool,conv8k5").check()
    assert TrainConfig(arch="conv8k3,pool,dense16").check().architecture == "conv8k3,pool,dense16"


@pytest.mark.skipif("conv2d" not in registry.LAYERS,
                    reason="the real Conv2D, MaxPool2D, BatchNorm, Flatten, Reshape are not in nn.registry yet")
def test_real_conv_network_predicts_and_reloads(tmp_path):
    config = TrainConfig(arch="conv4k3p1,bn,pool,dense16,dropout0.2")
    net = build_network(config, np.random.default_rng(0))
    x = np.random.default_rng(1).random((3, 784), dtype=np.float32)
    assert net.predict_proba(x).shape == (3, 10)
    net.save(tmp_path / "m.npz")
    loaded = Network.load(tmp_path / "m.npz")
    assert loaded.meta["config"]["arch"] == config.arch
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    with pytest.raises(ConfigError, match=r"^bad --arch token 'conv8k5' \(#5\) on input \(8, 3, 3\): "):
        build_layers("conv8k5,pool,pool,pool,conv8k5")


def test_dropout_of_one_is_refused():
    # dropout1 would zero every unit and divide by keep = 0
    with pytest.raises(ConfigError) as e:
        parse("dense8,dropout1")
    assert str(e.value) == f"bad --arch token 'dropout1': dropoutR needs 0 <= R < 1; {GRAMMAR}"
