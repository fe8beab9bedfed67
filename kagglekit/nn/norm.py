"""Batch normalisation with PyTorch's semantics (BatchNorm1d/2d): per feature of (n, features) inputs,
per channel of (n, c, h, w) ones. Training normalises by the batch's statistics and moves the running
ones towards them; prediction uses the running ones, which are saved with the model as buffers."""
import numpy as np

from ..errors import ConfigError
from .layers import Layer


class BatchNorm(Layer):
    """y = gamma·(x - mean)/sqrt(var + eps) + beta, with running mean/var updated as
    r = (1 - momentum)·r + momentum·batch (the variance unbiased there, biased in the normalisation)."""
    kind = "batchnorm"

    def __init__(self, features, momentum=0.1, eps=1e-5):
        super().__init__()
        if not isinstance(features, (int, np.integer)) or features < 1:
            raise ConfigError(f"batchnorm features must be an integer >= 1, got {features!r}")
        # A model file can hold anything: a negative eps or a text one would make every prediction NaN.
        if not (_is_number(momentum) and 0 <= momentum <= 1):
            raise ConfigError(f"batchnorm momentum must be a number in [0, 1], got {momentum!r}")
        if not (_is_number(eps) and 0 < eps < 1):
            raise ConfigError(f"batchnorm eps must be a number in (0, 1), got {eps!r}")
        self.features, self.momentum, self.eps = features, momentum, eps
        self.params = {"gamma": np.ones(features, np.float32), "beta": np.zeros(features, np.float32)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(features, np.float32),
                        "running_var": np.ones(features, np.float32)}

    @staticmethod
    def _axes(x):
        """The axes a feature's statistics run over: the batch, and for images each channel's pixels."""
        return (0,) if x.ndim == 2 else (0, 2, 3)

    def _per_feature(self, v, x):
        """v (features,) shaped to broadcast against x."""
        return v if x.ndim == 2 else v[:, None, None]

    def update_running(self, mean, var, m):
        """Move the running statistics towards a batch's (mean, var over m values per feature), as
        PyTorch does: the running variance is the unbiased estimate."""
        momentum = float(self.momentum)  # a Python float keeps the float32 buffers float32
        self.buffers["running_mean"] *= 1 - momentum
        self.buffers["running_mean"] += momentum * mean
        self.buffers["running_var"] *= 1 - momentum
        self.buffers["running_var"] += (momentum * m / max(m - 1, 1)) * var

    def forward(self, x, training=False):
        axes, self.training = self._axes(x), training
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            self.update_running(mean, var, x.size // self.features)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.inv_std = 1 / np.sqrt(var + np.asarray(self.eps, var.dtype))
        self.xhat = (x - self._per_feature(mean, x)) * self._per_feature(self.inv_std, x)
        return self._per_feature(self.params["gamma"], x) * self.xhat + self._per_feature(self.params["beta"], x)

    def backward(self, grad):
        axes = self._axes(grad)
        self.grads["gamma"] = (grad * self.xhat).sum(axis=axes)
        self.grads["beta"] = grad.sum(axis=axes)
        if not self.input_grad:
            return None
        scale = self._per_feature(self.params["gamma"] * self.inv_std, grad)
        if not self.training:  # the running statistics are constants
            return scale * grad
        # The batch's mean and variance depend on x too: dx = scale·(g - mean(g) - xhat·mean(g·xhat)).
        m = grad.size // self.features
        mean_g = self._per_feature(self.grads["beta"] / m, grad)
        mean_gx = self._per_feature(self.grads["gamma"] / m, grad)
        return scale * (grad - mean_g - self.xhat * mean_gx)

    def output_shape(self, input_shape):
        if len(input_shape) not in (1, 3) or input_shape[0] != self.features:
            raise ConfigError(f"batchnorm expects {self.features} features or channels, got shape "
                              f"{tuple(input_shape)}")
        return tuple(input_shape)

    @staticmethod
    def shapes(features, **_):
        return {name: (features,) for name in ("gamma", "beta", "buffers.running_mean", "buffers.running_var")}

    def spec(self):
        return {"type": self.kind, "features": self.features, "momentum": self.momentum, "eps": self.eps}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
