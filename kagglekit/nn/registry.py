"""The one table of names that configs, model files and the command line use: activations, weight
inits, optimizers, learning-rate schedules and layer kinds. `lookup` turns a name into its class or function, or raises a
ConfigError that lists the known names."""
from ..errors import ConfigError
from .init import INITS
from .conv import Conv2D
from .layers import Dense, Dropout, ReLU, Sigmoid, Tanh
from .norm import BatchNorm
from .optim import SGD, Adam
from .pool import MaxPool2D
from .schedule import SCHEDULES
from .shape import Flatten, Reshape

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
OPTIMIZERS = {"gd": SGD, "sgd": SGD, "adam": Adam}  # gd: SGD without momentum
LAYERS = {"dense": Dense, "dropout": Dropout, **ACTIVATIONS, "conv2d": Conv2D, "maxpool2d": MaxPool2D,
          "batchnorm": BatchNorm, "flatten": Flatten, "reshape": Reshape}
TABLES = {"activation": ACTIVATIONS, "init": INITS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES,
          "layer": LAYERS}


def lookup(kind, name):
    """The entry called `name` in the table of `kind`: 'activation', 'init', 'optimizer', 'schedule' or
    'layer'."""
    table = TABLES[kind]
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(table)}")
    return table[name]


def build_layer(spec):
    """The layer a spec() describes, its parameters zero until loaded."""
    kind = spec.get("type")
    args = {k: v for k, v in spec.items() if k != "type"}
    return lookup("layer", kind)(**args)


def make_optimizer(config):
    """The optimizer a config names, at its learning rate."""
    cls = lookup("optimizer", config.optimizer)
    if cls is SGD:
        return SGD(config.lr, config.momentum if config.optimizer == "sgd" else 0.0)
    return cls(config.lr)
