"""The one table of names: lookups, errors that list the known names, and the config reading it."""
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError
from kagglekit.nn import registry
from kagglekit.nn.layers import Dense, ReLU


def test_lookup_finds_each_kind():
    assert registry.lookup("activation", "relu") is ReLU
    assert registry.lookup("layer", "dense") is Dense
    assert callable(registry.lookup("init", "glorot"))


@pytest.mark.parametrize("kind, table", [("activation", "relu, tanh, sigmoid"), ("init", "he, glorot, uniform"),
                                         ("optimizer", "gd, sgd, adam"),
                                         ("layer", "dense, dropout, relu, tanh, sigmoid, conv2d, maxpool2d, "
                                                   "batchnorm, flatten, reshape")])
def test_an_unknown_name_lists_the_known_ones(kind, table):
    with pytest.raises(ConfigError) as caught:
        registry.lookup(kind, "nope")
    assert str(caught.value) == f"unknown {kind} 'nope'; known: {table}"


def test_an_unknown_optimizer_is_an_error_not_adam():
    with pytest.raises(ConfigError, match="unknown optimizer 'rmsprop'; known: gd, sgd, adam"):
        registry.make_optimizer(TrainConfig(optimizer="rmsprop"))


def test_build_layer_from_a_spec_of_unknown_type():
    with pytest.raises(ConfigError, match="unknown layer 'conv'"):
        registry.build_layer({"type": "conv"})
