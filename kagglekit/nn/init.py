"""Weight initialisations. Each draws a layer's weights and biases from the run's generator: by default
a dense layer's W (n_in, n_out) and b (n_out,); a convolution passes its own `shape` (out, in, k, k) and
`bias` count, with n_in and n_out its fan-in (in·k·k) and fan-out (out·k·k). The defaults draw exactly
what they always drew, so existing seeds give the same weights bit for bit."""
import numpy as np


def he(n_in, n_out, rng, shape=None, bias=None):
    """W ~ N(0, 2/n_in), b = 0: keeps the variance of ReLU activations steady from layer to layer."""
    w = rng.standard_normal(shape or (n_in, n_out)) * np.sqrt(2.0 / n_in)
    return w, np.zeros(n_out if bias is None else bias)


def glorot(n_in, n_out, rng, shape=None, bias=None):
    """W ~ U(-l, l) with l = sqrt(6 / (n_in + n_out)), b = 0: for tanh and sigmoid."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, shape or (n_in, n_out)), np.zeros(n_out if bias is None else bias)


def uniform(n_in, n_out, rng, shape=None, bias=None):
    """W and b ~ U(-0.5, 0.5): the seed notebook's init, biases included."""
    w = rng.random(shape or (n_in, n_out)) - 0.5
    return w, rng.random(n_out if bias is None else bias) - 0.5


INITS = {"he": he, "glorot": glorot, "uniform": uniform}
