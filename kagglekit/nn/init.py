"""Weight initialisations. Each draws a dense layer's weights W (n_in, n_out) and biases b (n_out,)
from the run's generator."""
import numpy as np


def he(n_in, n_out, rng):
    """W ~ N(0, 2/n_in), b = 0: keeps the variance of ReLU activations steady from layer to layer."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in), np.zeros(n_out)


def glorot(n_in, n_out, rng):
    """W ~ U(-l, l) with l = sqrt(6 / (n_in + n_out)), b = 0: for tanh and sigmoid."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)), np.zeros(n_out)


def uniform(n_in, n_out, rng):
    """W and b ~ U(-0.5, 0.5): the seed notebook's init, biases included."""
    w = rng.random((n_in, n_out)) - 0.5
    return w, rng.random(n_out) - 0.5


INITS = {"he": he, "glorot": glorot, "uniform": uniform}
