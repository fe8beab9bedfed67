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
layers, and the classifier Dense(…, 10) at the end is implied. A spec is refused before anything is
allocated when its weights or one layer's values per image pass the bounds below.
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
# Far beyond what trains on a CPU in a day, and still far below what exhausts its memory: the weights
# (float32, held 4 times over by training: themselves, gradients, Adam's m and v) and the values one
# layer holds per image (its output, or a conv's im2col columns; times the batch size in training).
MAX_WEIGHTS = 2 ** 25  # 128 MiB as float32
MAX_VALUES = 2 ** 22  # 16 MiB per image as float32
MAX_DIGITS = 15  # a longer number is over every bound anyway, and would only make a huge message


def bad_token(text, why=GRAMMAR):
    return ConfigError(f"bad --arch token {text if len(text) <= 40 else text[:37] + '...'!r}: {why}")


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
    if any(g is not None and len(g) > MAX_DIGITS for g in match.groups()):
        raise bad_token(text, f"a number of more than {MAX_DIGITS} digits is far too large; {GRAMMAR}")
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
    builder.dense(n_out, "the classifier", fewer="filters or units before it")
    return builder.layers


class _Builder:
    """Appends layers while tracking the shape (without the batch) each one hands to the next."""

    def __init__(self, n_in, init, rng, dtype):
        self.shape, self.layers, self.weights = (n_in,), [], 0
        self.init, self.rng, self.dtype = init, rng, dtype

    def add(self, kind, args, where, act):
        if kind in IMAGE_KINDS and len(self.shape) == 1:
            self._to_image(where)
        if kind == "conv":
            filters, kernel, padding, stride = args
            self._count(where, self.shape[0] * filters * kernel * kernel + filters, "filters or smaller kernels")
            self._ask(where, "conv2d", self.shape[0], filters, kernel, padding=padding or 0, stride=stride or 1,
                      init=self.init, rng=self.rng, dtype=self.dtype, columns=self.shape[0] * kernel * kernel)
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

    def dense(self, n, where, fewer="units"):
        images = len(self.shape) == 3
        if images:  # a dense after image layers (the classifier too) sees them flattened
            self._ask(where, "flatten")
        self._count(where, self.shape[0] * n + n, fewer + (", or pool the images before it" if images else ""))
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

    def _ask(self, where, kind, *args, columns=None, **kwargs):
        """Append the registry's layer `kind`, taking the output shape it computes for its input; a conv
        gives its `columns` per output pixel, whose im2col copy is bounded as its output is."""
        layer = lookup("layer", kind)(*args, **kwargs)
        try:
            shape = tuple(layer.output_shape(self.shape))
        except ConfigError as e:  # the layer says why; the user needs to know which token
            raise ConfigError(f"{where} on input {self.shape}: {e}") from None
        if min(shape) <= 0:
            raise ConfigError(f"{where} on input {self.shape}: leaves {shape}, nothing to classify")
        self._bound_values(where, math.prod(shape), "its output holds")
        if columns:
            self._bound_values(where, columns * math.prod(shape[1:]), "its im2col columns hold")
        self.layers.append(layer)
        self.shape = shape

    def _count(self, where, weights, fewer):
        """Add a layer's weights to the network's, refusing (before they are allocated) a total over
        MAX_WEIGHTS."""
        self.weights += weights
        if self.weights > MAX_WEIGHTS:
            raise ConfigError(f"{where}: the network would hold {self.weights:,} weights ({_size(self.weights)} "
                              f"as float32), more than the {MAX_WEIGHTS:,} ({_size(MAX_WEIGHTS)}) kagglekit "
                              f"trains; use fewer {fewer}")

    def _bound_values(self, where, values, what):
        if values > MAX_VALUES:
            raise ConfigError(f"{where} on input {self.shape}: {what} {values:,} values per image "
                              f"({_size(values)} as float32), more than the {MAX_VALUES:,} ({_size(MAX_VALUES)}) "
                              f"kagglekit allows; use fewer filters, smaller kernels, less padding or more pooling")


def _size(values):
    """The bytes of `values` float32 numbers, in the largest binary unit that keeps it >= 1."""
    size = 4.0 * values
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.3g} {unit}" if size < 100 else f"{size:.0f} {unit}"
        size /= 1024
