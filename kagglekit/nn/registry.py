"""The one table of names a config or the command line may use: activations, weight inits, optimizers
and layer kinds. `lookup` turns a name into its class or function, or raises a ConfigError that lists
the known names."""
from ..errors import ConfigError
from .layers import Dense, Dropout, ReLU, Sigmoid, Tanh, glorot, he, uniform
from .optim import SGD, Adam

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
INITS = {"he": he, "glorot": glorot, "uniform": uniform}
OPTIMIZERS = {"gd": SGD, "sgd": SGD, "adam": Adam}  # gd is SGD with its momentum forced to 0
LAYERS = {"dense": Dense, "dropout": Dropout, **ACTIVATIONS}
TABLES = {"activation": ACTIVATIONS, "init": INITS, "optimizer": OPTIMIZERS, "layer": LAYERS}


def lookup(kind, name):
    """The entry called `name` in the table of `kind` ('activation', 'init', 'optimizer', 'layer')."""
    table = TABLES[kind]
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(table)}")
    return table[name]
