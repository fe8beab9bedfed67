"""Architectures as data: a compact spec such as "conv32k3p1,bn,pool,dense128,dropout0.4", parsed into
tokens and built into layers by one builder, the MLPs included ("dense800" is 784-800-10).

Grammar: comma-separated tokens, each one of
  convNkK[pP][sS]  N filters of K×K, padding P (default 0, as PyTorch's Conv2d), stride S (default 1)
  pool[K]          K×K max pooling (default 2)
  bn               batch normalisation (over channels after a conv, units after a dense)
  denseN           N fully connected units
  dropoutR         drop a fraction R of the units while training, 0 <= R < 1
Each conv and dense is followed by the config's activation. A spec that starts with conv or pool sees
the input as one square image (1, 28, 28); a flatten comes before the first dense after the image
layers, and the classifier Dense(…, 10) at the end is implied.
"""
import math
import re

import numpy as np

from ..errors import ConfigError
from .layers import Dense, Dropout
from .registry import lookup

GRAMMAR = "expected convNkK[pP][sS], pool[K], bn, denseN, dropoutR (e.g. conv32k3,pool,dense128)"
TOKENS = {  # kind: pattern of the whole token; its groups are the numbers, None where left out
    "conv": r"conv(\d+)k(\d+)(?:p(\d+))?(?:s(\d+))?",
    "pool": r"pool(\d+)?",
    "bn": r"bn",
    "dense": r"dense(\d+)",
    "dropout": r"dropout(\d*\.?\d+(?:e-?\d+)?)",
}
IMAGE_KINDS = ("conv", "pool")


def bad_token(text, why=GRAMMAR):
    return ConfigError(f"bad --arch token {text!r}: {why}")


def parse_token(text):
    """(kind, numbers, text) of one token, its numbers int (float for dropout) and None where omitted."""
    for kind, pattern in TOKENS.items():
        match = re.fullmatch(pattern, text)
        if match:
            break
    else:
        raise bad_token(text)
    if kind == "dropout":
        rate = float(match.group(1))
        if not 0 <= rate < 1:
            raise bad_token(text, f"dropoutR needs 0 <= R < 1; {GRAMMAR}")
        return kind, (rate,), text
    numbers = tuple(None if g is None else int(g) for g in match.groups())
    counts = numbers[:2] + numbers[3:] if kind == "conv" else numbers  # all but a padding must be > 0
    if 0 in counts:
        raise bad_token(text, f"filters, units, kernels and strides must be > 0; {GRAMMAR}")
    return kind, numbers, text


def parse(spec):
    """The tokens of a spec string, in order; ConfigError quoting the first bad one."""
    if not spec.strip():
        raise ConfigError(f"--arch is empty; {GRAMMAR}")
    return [parse_token(text.strip()) for text in spec.split(",")]


def mlp_spec(hidden, dropout=0.0):
    """The spec of the MLP that `hidden` sizes describe, with dropout after each hidden layer:
    (16, 8), 0.3 -> 'dense16,dropout0.3,dense8,dropout0.3'."""
    return ",".join(f"dense{size}" + (f",dropout{float(dropout)!r}" if dropout else "") for size in hidden)


def build_layers(spec, n_in=784, n_out=10, activation="relu", init="he", rng=None, dtype=np.float32):
    """The layers of a spec for inputs of n_in pixels and n_out classes, weights drawn from rng in
    layer order (zeros with no rng: enough to check the shapes). ConfigError quotes a token that does
    not fit its input."""
    act = lookup("activation", activation)
    lookup("init", init)  # an unknown name fails here, listing the known ones, even with no rng to draw
    builder = _Builder(n_in, init, rng, dtype)
    for number, (kind, args, text) in enumerate(parse(spec), 1):
        builder.add(kind, args, f"bad --arch token {text!r} (#{number})", act)
    builder.dense(n_out, "the classifier")
    return builder.layers


class _Builder:
    """Appends layers while tracking the shape (without the batch) each one hands to the next."""

    def __init__(self, n_in, init, rng, dtype):
        self.shape, self.layers = (n_in,), []
        self.init, self.rng, self.dtype = init, rng, dtype

    def add(self, kind, args, where, act):
        if kind in IMAGE_KINDS and len(self.shape) == 1:
            self._to_image(where)
        if kind == "conv":
            filters, kernel, padding, stride = args
            self._ask(where, "conv2d", self.shape[0], filters, kernel, padding=padding or 0, stride=stride or 1,
                      init=self.init, rng=self.rng, dtype=self.dtype)
            self.layers.append(act())
        elif kind == "pool":
            self._ask(where, "maxpool2d", args[0] or 2)
        elif kind == "bn":
            self._ask(where, "batchnorm", self.shape[0])
        elif kind == "dense":
            self.dense(args[0], where)
            self.layers.append(act())
        else:
            self.layers.append(Dropout(args[0], self.rng))

    def dense(self, n, where):
        if len(self.shape) == 3:  # a dense after image layers (the classifier too) sees them flattened
            self._ask(where, "flatten")
        self.layers.append(Dense(self.shape[0], n, self.init, self.rng, self.dtype))
        self.shape = (n,)

    def _to_image(self, where):
        """Reshape the flat pixels into one square channel, before the first conv or pool."""
        if self.layers:
            raise ConfigError(f"{where}: conv and pool work on the image, so they come first, before "
                              "any dense, bn or dropout")
        side = math.isqrt(self.shape[0])
        if side * side != self.shape[0]:
            raise ConfigError(f"{where}: conv and pool need a square image, got {self.shape[0]} inputs")
        self._ask(where, "reshape", [1, side, side])

    def _ask(self, where, kind, *args, **kwargs):
        """Append the registry's layer `kind`, taking the output shape it computes for its input."""
        layer = lookup("layer", kind)(*args, **kwargs)
        try:
            shape = tuple(layer.output_shape(self.shape))
        except ConfigError as e:  # the layer says why; the user needs to know which token
            raise ConfigError(f"{where} on input {self.shape}: {e}") from None
        if min(shape) <= 0:
            raise ConfigError(f"{where} on input {self.shape}: leaves {shape}, nothing to classify")
        self.layers.append(layer)
        self.shape = shape
