"""A Network is a sequence of layers ending in softmax cross-entropy: forward, backward, predict, and
save/load as one .npz holding the weights, the layers' buffers (e.g. batch norm's running statistics)
and the JSON architecture (read back without pickle)."""
import json
from pathlib import Path

import numpy as np

from ..errors import DamagedFileError, KagglekitError, ModelError
from ..files import atomic_write
from ..npz import read_npz
from .layers import Dense
from .losses import SoftmaxCrossEntropy, softmax
from .registry import build_layer, lookup
from .shape import Reshape
from .spec import build_layers

FORMAT = "kagglekit-model-1"
CLASSES = 10  # the digits: a model file with any other output is not a Digit Recognizer model
NON_NEGATIVE = ("buffers.running_var",)  # batch norm's variance: sqrt(var + eps) of a negative one is NaN


class Network:
    """Layers applied in order to x (batch, n_in); the last layer's output is the class logits."""

    def __init__(self, layers, meta=None, loss=None):
        self.layers = list(layers)
        for layer in self.layers:  # nothing needs dLoss/dx below the first layer with parameters
            layer.input_grad = False
            if layer.params:
                break
        self.loss = loss or SoftmaxCrossEntropy()
        self.meta = dict(meta or {})  # JSON-able facts saved with the weights (e.g. the config)

    @property
    def n_in(self):
        """Input features per sample: those of the first Dense or Reshape (a CNN reshapes pixel rows)."""
        return next(layer.n_in for layer in self.layers if isinstance(layer, (Dense, Reshape)))

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad):
        """Backpropagate dLoss/dlogits through every layer, filling their grads."""
        for layer in reversed(self.layers):
            if grad is None:  # the first layer with parameters is done: no layer below it needs dLoss/dx
                break
            grad = layer.backward(grad)

    def train_step(self, x, labels):
        """Forward and backward on one batch: (loss, logits), with every layer's grads filled."""
        logits = self.forward(x, training=True)
        loss = self.loss.forward(logits, labels)
        self.backward(self.loss.backward())
        return loss, logits

    def add_weight_decay(self, rate):
        """Add the gradient of (rate/2)·Σ W² to the decayed params' grads."""
        for layer in self.layers:
            for name in layer.decay:
                layer.grads[name] += rate * layer.params[name]

    def pairs(self):
        """(param, grad) pairs in a fixed order, for the optimizer."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in sorted(layer.params)]

    def predict_proba(self, x, batch_size=256):
        """Class probabilities (n, classes), computed in chunks to bound memory: a conv layer's columns
        for 4,096 digits are gigabytes, and smaller chunks stay in cache (3x faster at 256)."""
        chunks = [softmax(self.forward(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.layers[-1].n_out), np.float32)

    def predict(self, x, batch_size=256):
        """Predicted labels (n,) int64."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def weights_finite(self):
        return all(np.all(np.isfinite(p)) for p, _ in self.pairs())

    def save(self, path):
        """Write the model to `path` atomically (temporary file, then rename)."""
        arrays = {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}
        # Buffers under their own prefix: a model without any reads exactly as before.
        arrays.update({f"{i}.buffers.{k}": v for i, layer in enumerate(self.layers)
                       for k, v in layer.buffers.items()})
        header = {"format": FORMAT, "layers": [layer.spec() for layer in self.layers], "meta": self.meta}
        arrays["__header__"] = np.array(json.dumps(header))
        with atomic_write(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path):
        """Read a model saved by save(); ModelError, one line naming the file and the fix, for a missing,
        corrupt or inconsistent one. Its header is checked before any layer is built (every array the
        layers hold stored with the shape they declare, finite), then the model: layers that chain from the
        input to the CLASSES digits."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"model file {path} not found; train one with `kagglekit train`")
        fix = "retrain it with `kagglekit train`"
        try:
            saved = read_npz(path)
            header = _header(saved, path)
        except DamagedFileError as e:
            raise ModelError(f"{path} is corrupt or not a kagglekit model ({e.why}); {fix}") from None
        if header.get("format") != FORMAT:
            raise ModelError(f"{path} is not a kagglekit model (format {header.get('format')!r}); {fix}")
        try:
            net = cls([_layer(i, spec, saved) for i, spec in enumerate(_listed(header))], _meta(header))
            _check_model(net)
        except _Unfit as e:
            raise ModelError(f"{path}: {e}; the file was altered or is damaged, {fix}") from None
        return net


class _Unfit(Exception):
    """What is wrong with a model file's contents, worded to follow its name."""


def _header(saved, path):
    """The model file's JSON header, a dict; DamagedFileError where there is none."""
    raw = saved.get("__header__")
    if raw is None or raw.dtype.kind != "U" or raw.ndim != 0:
        raise DamagedFileError(path, "it holds no kagglekit header")
    try:
        header = json.loads(str(raw))
    except (ValueError, RecursionError) as e:
        raise DamagedFileError(path, f"its header is not JSON: {type(e).__name__}") from None
    if not isinstance(header, dict):
        raise DamagedFileError(path, f"its header is a JSON {type(header).__name__}, not an object")
    return header


def _listed(header):
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _Unfit("its header lists no layers")
    return layers


def _meta(header):
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise _Unfit(f"its meta is a JSON {type(meta).__name__}, not an object")
    return meta


def _layer(i, spec, saved):
    """Layer i built from its spec, its arrays loaded: each array must be stored with the shape its spec
    declares (so that a spec asking for gigabytes allocates nothing) and be finite floats."""
    if not isinstance(spec, dict):
        raise _Unfit(f"layer {i} is a JSON {type(spec).__name__}, not an object")
    kind = spec.get("type")
    try:
        declared = lookup("layer", kind if isinstance(kind, str) else repr(kind)).shapes(
            **{k: v for k, v in spec.items() if k != "type"})
    except KagglekitError as e:
        raise _Unfit(f"layer {i}: {e}") from None
    except TypeError:
        raise _Unfit(f"layer {i} ({kind}) lacks a field its kind needs") from None
    arrays = {}
    for name, shape in declared.items():
        stored = saved.get(f"{i}.{name}")
        if stored is None:
            raise _Unfit(f"layer {i} {name} is missing")
        if not all(type(n) is int and n >= 0 for n in shape) or stored.shape != tuple(shape):
            raise _Unfit(f"layer {i} {name} has shape {stored.shape}, its architecture says {tuple(shape)}")
        if stored.dtype.kind != "f":
            raise _Unfit(f"layer {i} {name} holds {stored.dtype} values, not floating point")
        if not np.isfinite(stored).all():
            raise _Unfit(f"layer {i} {name} holds NaN or infinite values")
        if name in NON_NEGATIVE and (stored < 0).any():
            raise _Unfit(f"layer {i} {name} holds negative values")
        arrays[name] = stored
    try:
        layer = build_layer(spec)
    except KagglekitError as e:
        raise _Unfit(f"layer {i}: {e}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise _Unfit(f"layer {i} ({kind}) cannot be built: {type(e).__name__}") from None
    for name, stored in arrays.items():
        held = layer.buffers if name.startswith("buffers.") else layer.params
        key = name.removeprefix("buffers.")
        held[key] = stored.astype(held[key].dtype)
    return layer


def _check_model(net):
    """The shapes chain from the first layer's input to CLASSES outputs."""
    try:
        shape = (net.n_in,)
    except StopIteration:
        raise _Unfit("it has no dense or reshape layer to take the pixels") from None
    for i, layer in enumerate(net.layers):
        try:
            shape = tuple(layer.output_shape(shape))
        except (KagglekitError, TypeError, ValueError) as e:
            raise _Unfit(f"its layers do not chain: layer {i} ({layer.kind}): {e}") from None
    if shape != (CLASSES,):
        raise _Unfit(f"its last layer gives {shape} outputs, not one per digit ({CLASSES})")


def build_network(config, rng, n_in=784, n_out=CLASSES, dtype=np.float32):
    """The network a TrainConfig's architecture spec describes (see nn.spec), weights drawn from rng,
    with the loss the config's label smoothing asks for."""
    layers = build_layers(config.architecture, n_in, n_out, config.activation, config.init, rng, dtype)
    return Network(layers, {"config": config.to_dict()}, SoftmaxCrossEntropy(config.label_smoothing))
