"""Layers. Each holds `params` and `grads` dicts; `forward(x)` keeps what `backward(grad)` needs, and
`backward` fills `grads` with dLoss/dparams and returns dLoss/dinput. Shapes are (batch, features).

`spec()` is the JSON-able description from which `registry.build_layer` makes the same layer again:
that is how models are saved, with the `params` and any `buffers` (state that is not trained by
gradients, e.g. batch norm's running statistics). `output_shape(input_shape)` gives the shape a layer
makes of one sample's shape (no batch dimension), so that a builder can check sizes before training.
"""
import numpy as np

from ..errors import ConfigError
from .init import INITS


class Layer:
    """A layer with no parameters; subclasses override forward and backward."""
    kind = "layer"
    decay = ()  # names of params that L2 weight decay applies to
    input_grad = True  # the network turns it off for its first layer: nothing needs dLoss/dx there

    def __init__(self):
        self.params, self.grads, self.buffers = {}, {}, {}

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def output_shape(self, input_shape):
        """The shape of one sample's output for one sample's input shape; elementwise layers keep it."""
        return tuple(input_shape)

    @staticmethod
    def shapes(**spec):
        """{name: shape} of the params, and of the buffers (as "buffers.NAME"), that a layer built from
        these spec() fields holds, found without allocating them: a model file's header is checked
        against its arrays before any layer is built."""
        return {}

    def spec(self):
        return {"type": self.kind}

    def twin(self, cls=None):
        """A new layer of class cls (default: this layer's own; a fast version of it, see fast/layers.py)
        with this layer's settings (its spec) and its very params, grads and buffers dicts, so that
        training one trains the other; what forward keeps for backward is the twin's own."""
        cls = cls or type(self)
        if not issubclass(cls, type(self)):
            raise TypeError(f"{cls.__name__} is no version of {type(self).__name__}")
        twin = cls(**{k: v for k, v in self.spec().items() if k != "type"})  # zero weights, replaced here:
        twin.params, twin.grads, twin.buffers = self.params, self.grads, self.buffers
        twin.input_grad = self.input_grad
        return twin


class Dense(Layer):
    """y = x @ W + b, with W (n_in, n_out) and one bias per output unit."""
    kind = "dense"
    decay = ("W",)

    def __init__(self, n_in, n_out, init="he", rng=None, dtype=np.float32):
        """Weights drawn by the named init from rng; with no rng, zeros (to be loaded from a file)."""
        super().__init__()
        self.n_in, self.n_out, self.init = n_in, n_out, init
        w, b = INITS[init](n_in, n_out, rng) if rng is not None else (np.zeros((n_in, n_out)), np.zeros(n_out))
        self.params = {"W": w.astype(dtype), "b": b.astype(dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad):
        self.grads["W"] = self.x.T @ grad
        self.grads["b"] = grad.sum(axis=0)  # one gradient per unit
        return grad @ self.params["W"].T if self.input_grad else None

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.n_in,):
            raise ConfigError(f"dense expects {self.n_in} input features, got shape {tuple(input_shape)}"
                              + ("; flatten first" if len(input_shape) > 1 else ""))
        return (self.n_out,)

    @staticmethod
    def shapes(n_in, n_out, **_):
        return {"W": (n_in, n_out), "b": (n_out,)}

    def spec(self):
        return {"type": self.kind, "n_in": self.n_in, "n_out": self.n_out, "init": self.init}


class ReLU(Layer):
    kind = "relu"

    def forward(self, x, training=False):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        return grad * self.mask


class Tanh(Layer):
    kind = "tanh"

    def forward(self, x, training=False):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad):
        return grad * (1 - self.y * self.y)


class Sigmoid(Layer):
    kind = "sigmoid"

    def forward(self, x, training=False):
        self.y = 0.5 * (1 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow for large |x|
        return self.y

    def backward(self, grad):
        return grad * self.y * (1 - self.y)


class Dropout(Layer):
    """Zeroes a fraction `rate` of units while training and scales the rest by 1/(1 - rate), so that
    nothing changes at prediction time (inverted dropout)."""
    kind = "dropout"

    def __init__(self, rate, rng=None):
        super().__init__()
        self.rate, self.rng = rate, rng

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1 - self.rate
        self.mask = (self.rng.random(x.shape, dtype=np.float32) < keep) / np.float32(keep)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask

    def twin(self, cls=None):
        twin = super().twin(cls)
        twin.rng = self.rng  # the same stream: the twin drops the units this layer would have dropped
        return twin

    def spec(self):
        return {"type": self.kind, "rate": self.rate}
