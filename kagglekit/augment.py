"""Data augmentation for 28x28 digits: random translations, which teach the network that a digit
moved by a pixel or two is the same digit."""
import numpy as np

SIDE = 28


def random_shift(x, max_shift, rng):
    """A copy of x (n, 784) with each image moved by its own random (dy, dx) in [-max_shift, max_shift],
    the uncovered border filled with 0 (background)."""
    n = len(x)
    pad = max_shift
    images = np.zeros((n, SIDE + 2 * pad, SIDE + 2 * pad), dtype=x.dtype)
    images[:, pad:pad + SIDE, pad:pad + SIDE] = x.reshape(n, SIDE, SIDE)
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, n))
    # Gather each output pixel from its shifted source row/column in the padded image.
    rows = (np.arange(SIDE) + pad)[None, :] - dy[:, None]          # (n, 28)
    cols = (np.arange(SIDE) + pad)[None, :] - dx[:, None]          # (n, 28)
    out = images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.reshape(n, SIDE * SIDE)
