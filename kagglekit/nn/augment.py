"""Data augmentation for 28x28 digits: random translations, which teach the network that a digit
moved by a pixel or two is the same digit."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SIDE = 28


def random_shift(x, max_shift, rng):
    """A copy of x (n, 784) with each image moved by its own random (dy, dx) in [-max_shift, max_shift],
    the uncovered border filled with 0 (background)."""
    n, pad = len(x), max_shift
    padded = np.zeros((n, SIDE + 2 * pad, SIDE + 2 * pad), dtype=x.dtype)
    padded[:, pad:pad + SIDE, pad:pad + SIDE] = x.reshape(n, SIDE, SIDE)
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, n))
    # windows[i, a, b] is the 28x28 view of image i starting at (a, b): one gather copies every image's
    # own window.
    windows = sliding_window_view(padded, (SIDE, SIDE), axis=(1, 2))
    return windows[np.arange(n), pad - dy, pad - dx].reshape(n, SIDE * SIDE)
