"""A Network is a sequence of layers ending in softmax cross-entropy: forward, backward, predict, and
save/load as one .npz holding the weights, the layers' buffers (e.g. batch norm's running statistics)
and the JSON architecture (read back without pickle)."""
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import KagglekitError, ModelError
from ..files import atomic_write
from .layers import Dense
from .losses import SoftmaxCrossEntropy, softmax
from .registry import build_layer
from .shape import Reshape
from .spec import build_layers

FORMAT = "kagglekit-model-1"


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
        """Read a model saved by save(); ModelError for a missing, corrupt or inconsistent file."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"model file {path} not found; train one with `kagglekit train`")
        fix = "retrain it with `kagglekit train`"
        try:
            with np.load(path, allow_pickle=False) as saved:
                header = json.loads(str(saved["__header__"]))
                if header.get("format") != FORMAT:
                    raise ModelError(f"{path} is not a kagglekit model (format {header.get('format')!r}); {fix}")
                layers = [build_layer(spec) for spec in header["layers"]]
                for i, layer in enumerate(layers):
                    for arrays, prefix in ((layer.params, f"{i}."), (layer.buffers, f"{i}.buffers.")):
                        for k, v in arrays.items():
                            stored = saved[prefix + k]
                            if stored.shape != v.shape:
                                raise ModelError(f"{path}: layer {i} {k} has shape {stored.shape}, its "
                                                 f"architecture says {v.shape}; the file was altered, {fix}")
                            arrays[k] = stored.astype(v.dtype)
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, KagglekitError) as e:
            raise ModelError(f"{path} is corrupt or not a kagglekit model ({type(e).__name__}); {fix}") from None
        return cls(layers, header.get("meta"))


def build_network(config, rng, n_in=784, n_out=10, dtype=np.float32):
    """The network a TrainConfig's architecture spec describes (see nn.spec), weights drawn from rng,
    with the loss the config's label smoothing asks for."""
    layers = build_layers(config.architecture, n_in, n_out, config.activation, config.init, rng, dtype)
    return Network(layers, {"config": config.to_dict()}, SoftmaxCrossEntropy(config.label_smoothing))
