"""Presets and setting checks."""
import dataclasses

import pytest

from kagglekit.config import DEFAULT_PRESET, PRESETS, TrainConfig, parse_sizes, preset
from kagglekit.errors import ConfigError


def test_seed_preset_is_the_notebook():
    seed = preset("seed")
    assert (seed.hidden, seed.activation, seed.init, seed.optimizer) == ((10,), "relu", "uniform", "gd")
    assert (seed.lr, seed.epochs, seed.batch_size, seed.val_size) == (0.1, 500, 0, 1000)


def test_presets_are_frozen_and_valid():
    for config in PRESETS.values():
        assert config.check() is config
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'lr'"):
        PRESETS["mlp"].lr = 1.0


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'big'; choose one of"):
        preset("big")


@pytest.mark.parametrize("field, value, message", [
    ("hidden", (0,), "hidden must be one or more positive sizes"),
    ("hidden", (), "hidden must be one or more positive sizes"),
    ("lr", 0.0, "lr must be > 0, got 0.0"),
    ("epochs", 0, "epochs must be > 0, got 0"),
    ("batch_size", -1, "batch_size must be >= 0"),
    ("dropout", 1.0, "dropout must be in [0, 1)"),
    ("activation", "gelu", "activation must be one of relu, tanh, sigmoid"),
    ("val_size", 0, "val_size must be > 0"),
    ("ema", 1.0, "ema must be in [0, 1) (0: off), e.g. 0.999, got 1.0"),
    ("ema", -0.5, "ema must be in [0, 1) (0: off), e.g. 0.999, got -0.5"),
    ("tta", 0, "tta must be between 1 (no test-time augmentation) and 9, got 0"),
    ("tta", 10, "tta must be between 1 (no test-time augmentation) and 9, got 10"),
])
def test_bad_values_quoted(field, value, message):
    with pytest.raises(ConfigError) as e:
        preset("mlp").override(**{field: value})
    assert message in str(e.value)


def test_round_trip_and_unknown_fields():
    config = preset("mlp").override(hidden=(32, 16), seed=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown config fields"):
        TrainConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_override_ignores_none():
    assert preset("seed").override(lr=None, epochs=3).epochs == 3


def test_every_field_says_what_it_is_for_and_names_come_from_the_registry():
    from kagglekit.nn.registry import ACTIVATIONS, OPTIMIZERS
    meta = {f.name: f.metadata for f in dataclasses.fields(TrainConfig)}
    assert all(m["help"].endswith(".") for m in meta.values())
    assert meta["activation"]["choices"] == tuple(ACTIVATIONS) and meta["optimizer"]["choices"] == tuple(OPTIMIZERS)


def test_parse_sizes():
    assert parse_sizes("128,64") == (128, 64)
    with pytest.raises(ConfigError, match=r"expected sizes separated by commas, e.g. 128,64; got '128,x'"):
        parse_sizes("128,x")


def test_presets_are_specs_the_mlps_spelled_by_hidden():
    assert {name: c.architecture for name, c in PRESETS.items()} == {
        "seed": "dense10", "mlp": "dense800", "quick": "dense64",
        "lenet": "conv6k5p2,pool,conv16k5,pool,dense120,dense84",
        "cnn": "conv32k3,pool,conv64k3,pool,dense128,dropout0.3",
        "best": "conv32k3p1,bn,conv32k3p1,bn,pool,conv64k3,bn,conv64k3,bn,pool,dense128,bn,dropout0.4"}
    assert [name for name, c in PRESETS.items() if c.arch is None] == ["seed", "mlp", "quick"]
    assert all(c.check() is c for c in PRESETS.values()) and DEFAULT_PRESET in PRESETS
    assert preset("mlp").override(dropout=0.5).architecture == "dense800,dropout0.5"


def test_arch_is_recorded_and_read_back():
    config = preset("quick").override(arch="dense32,dropout0.2,dense16")
    assert config.to_dict()["arch"] == "dense32,dropout0.2,dense16"
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert preset("mlp").to_dict()["arch"] == "dense800"  # config.json says what was built
    assert TrainConfig.from_dict(preset("mlp").to_dict()) == preset("mlp")
    old = {k: v for k, v in preset("mlp").to_dict().items() if k != "arch"}  # a config.json from before arch
    assert TrainConfig.from_dict(old) == preset("mlp")
    assert TrainConfig(hidden=(64,), arch="dense64") == TrainConfig(hidden=(64,))  # one config, one form


def test_hidden_replaces_the_starting_arch_and_does_not_mix_with_it():
    cnn_like = preset("quick").override(arch="dense32")
    assert cnn_like.override(hidden=(16, 8)).architecture == "dense16,dense8"
    with pytest.raises(ConfigError, match=r"^--arch and --hidden both describe the network; give one of them$"):
        preset("quick").override(arch="dense32", hidden=(16,))
    with pytest.raises(ConfigError) as e:
        cnn_like.override(dropout=0.3)
    assert str(e.value) == ("dropout goes with --hidden; in --arch write dropoutR tokens where you want them, "
                            "got 0.3")


def test_a_bad_arch_fails_the_check():
    with pytest.raises(ConfigError, match=r"^bad --arch token 'conv32x3': expected convNkK"):
        preset("mlp").override(arch="conv32x3")
    with pytest.raises(ConfigError, match=r"^--arch is empty; expected"):
        preset("mlp").override(arch="")


def test_ema_and_tta_are_off_by_default_but_in_best_and_ema_needs_minibatches():
    assert all(c.ema == 0 and c.tta == 1 for name, c in PRESETS.items() if name != "best")
    assert PRESETS["best"].tta == 5  # measured: five views help (bench/tta_ema.py)
    assert preset("lenet").override(ema=0.999, tta=9).ema == 0.999
    with pytest.raises(ConfigError, match=r"ema goes with minibatches \(--batch-size > 0\), not full-batch "
                                          r"descent, got 0.999"):
        preset("seed").override(ema=0.999)
    old = preset("lenet").to_dict()
    del old["ema"], old["tta"]  # a config.json written before the fields existed reads back as off
    assert TrainConfig.from_dict(old) == preset("lenet")
