"""Data augmentation for 28x28 digits, drawn per image from the run's generator: whole-pixel shifts,
and a random affine warp (rotation, zoom, shear and sub-pixel shift) with bilinear sampling. Both teach
the network that a digit moved, turned or slanted a little is the same digit. `augment` is the one
entry point the training loop calls (augment_draws and augmented are its two halves); `shift` and
TTA_SHIFTS give prediction its fixed views."""
from dataclasses import fields

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SIDE = 28
CENTRE = (SIDE - 1) / 2  # 13.5: a quarter turn about it maps the pixel grid onto itself
PAD = 2  # zero border that every clipped source's four neighbours fall in (see warp)
PADDED = SIDE + 2 * PAD
# Each output pixel's (row, col, 1), fixed for every batch: warp turns it into source coordinates with
# one (2, 3) @ (3, 784) product per image.
GRID = np.stack([*np.divmod(np.arange(SIDE * SIDE), SIDE), np.ones(SIDE * SIDE)]).astype(np.float32)

# Test-time augmentation's views of an image, as (dy, dx) whole-pixel shifts (see shift): the image
# itself, then one pixel right, left, down, up, then the four diagonals. The first N are used (config
# tta), so N = 1, 3, 5 and 9 are symmetric about the image.
TTA_SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))


def is_augmented(config):
    """Whether any augment_* setting of the config is on; a pure function of the config."""
    return any(getattr(config, f.name) for f in fields(config) if f.name.startswith("augment_"))


def augment(x, config, rng):
    """x (n, 784) as the config's augment_* settings say: an affine warp if rotate, zoom or shear is on
    (the shift folded into it), else whole-pixel shifts (the draws the `mlp` preset has always made),
    else x itself."""
    return augmented(x, augment_draws(len(x), config, rng))


def augment_draws(n, config, rng):
    """The random parameters `augment` draws for n images, a row each: (n, 2, 3) affine inverses (see
    warp), or (n, 2) whole-pixel shifts (dy, dx), or None where nothing is augmented. A part of a
    batch then applies its rows of them (augmented), as data-parallel training does."""
    if config.augment_rotate or config.augment_zoom or config.augment_shear:
        return random_affine(n, config.augment_rotate, config.augment_zoom, config.augment_shear,
                             config.augment_shift, rng)
    if config.augment_shift:
        return random_shifts(n, config.augment_shift, rng)
    return None


def augmented(x, draws):
    """x (n, 784) transformed by draws (augment_draws for these n images); x itself for None."""
    if draws is None:
        return x
    return warp(x, draws) if draws.ndim == 3 else shift(x, draws[:, 0], draws[:, 1])


def random_shifts(n, max_shift, rng):
    """(n, 2) whole-pixel moves (dy, dx), each in [-max_shift, max_shift]: the draws the `mlp` preset has
    always made (all dy, then all dx)."""
    return rng.integers(-max_shift, max_shift + 1, size=(2, n)).T


def random_shift(x, max_shift, rng):
    """A copy of x (n, 784) with each image moved by its own random (dy, dx) in [-max_shift, max_shift],
    the uncovered border filled with 0 (background)."""
    return augmented(x, random_shifts(len(x), max_shift, rng))


def shift(x, dy, dx):
    """A copy of x (n, 784) with image i moved down dy[i] and right dx[i] whole pixels (ints move every
    image alike), the uncovered border filled with 0 (background)."""
    n = len(x)
    dy, dx = np.broadcast_to(dy, (n,)), np.broadcast_to(dx, (n,))
    pad = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.zeros((n, SIDE + 2 * pad, SIDE + 2 * pad), dtype=x.dtype)
    padded[:, pad:pad + SIDE, pad:pad + SIDE] = x.reshape(n, SIDE, SIDE)
    # windows[i, a, b] is the 28x28 view of image i starting at (a, b): one gather copies every image's
    # own window.
    windows = sliding_window_view(padded, (SIDE, SIDE), axis=(1, 2))
    return windows[np.arange(n), pad - dy, pad - dx].reshape(n, SIDE * SIDE)


def affine_inverse(angle, scale, shear, dy, dx):
    """(n, 2, 3) maps from output (row, col, 1) to source (row, col) for n forward transforms about the
    centre: shear the columns by tan(shear) per row, rotate by angle (both radians; a quarter turn is
    np.rot90), scale, then shift by (dy, dx) pixels. All arguments are (n,) arrays."""
    cos, sin, slant = np.cos(angle), np.sin(angle), np.tan(shear)
    # The forward matrix is scale·R(angle)·[[1, 0], [slant, 1]]; its inverse, written out, needs no solve.
    linear = np.stack([np.stack([cos, sin], -1), np.stack([-slant * cos - sin, cos - slant * sin], -1)], 1)
    linear /= scale[:, None, None]
    # source = centre + linear @ (output - centre - shift)
    offset = CENTRE - linear @ np.stack([CENTRE + dy, CENTRE + dx], -1)[..., None]
    return np.concatenate([linear, offset], axis=2)


def random_affine(n, rotate, zoom, shear, shift, rng):
    """affine_inverse for n images, each with its own uniform draws: rotation in ±rotate degrees, scale
    in 1±zoom, shear in ±shear degrees and a (sub-pixel) shift in ±shift pixels along each axis."""
    angle, slant = np.radians(rng.uniform(-1, 1, size=(2, n)) * [[rotate], [shear]])
    scale = 1 + zoom * rng.uniform(-1, 1, size=n)
    dy, dx = shift * rng.uniform(-1, 1, size=(2, n))
    return affine_inverse(angle, scale, slant, dy, dx)


def warp(x, inverse):
    """x (n, 784) with image i resampled bilinearly at inverse[i] @ (row, col, 1) for every output pixel
    (inverse (n, 2, 3), e.g. from affine_inverse); sources outside the image read 0. Same dtype as x."""
    n = len(x)
    padded = np.zeros((n, PADDED, PADDED), dtype=x.dtype)
    padded[:, PAD:PAD + SIDE, PAD:PAD + SIDE] = x.reshape(n, SIDE, SIDE)
    # A source more than a pixel outside reads 0 all the same: clipping it to [-1, SIDE] keeps its four
    # neighbours inside the zero border, so the gathers below need no bounds mask.
    frac = np.clip(inverse.astype(np.float32) @ GRID, -1, SIDE)  # (n, 2, 784) source (row, col)
    corner = np.floor(frac)
    frac -= corner  # in place, as below: fresh multi-megabyte temporaries cost more than the arithmetic
    fy, fx = frac.swapaxes(0, 1)
    corner = corner.astype(np.intp)
    top_left = corner[:, 0] * PADDED
    top_left += corner[:, 1] + (np.arange(n)[:, None] * PADDED + PAD) * PADDED + PAD
    # The other three neighbours are the same indices into the pixels seen 1, PADDED and PADDED + 1
    # further on: views, so no index arrays are added up.
    pixels = padded.reshape(-1)
    top, top_right, bottom, bottom_right = (pixels[k:][top_left] for k in (0, 1, PADDED, PADDED + 1))
    # Written as a + f·(b - a) so that a source on a grid point returns that pixel exactly.
    top += fx * (top_right - top)
    bottom += fx * (bottom_right - bottom)
    return (top + fy * (bottom - top)).astype(x.dtype, copy=False)
