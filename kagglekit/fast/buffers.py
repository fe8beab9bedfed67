"""Buffers that a fast layer keeps from batch to batch, so that a training step allocates none of them
after the first batch."""
import math

import numpy as np


def scratch(layer, name, shape, dtype, zero=False):
    """A buffer of `shape` kept on the layer under `name`, a view of one flat array that only grows
    (a smaller last batch reuses it too). Zero-filled when first made or when asked for in another
    shape than last time; `zero=True` clears it every time."""
    store = layer.__dict__.setdefault("scratch", {})
    size = math.prod(shape)  # not np.prod: a layer asks for buffers hundreds of times a step
    flat, last = store.get(name, (None, None))
    if flat is None or flat.size < size or flat.dtype != dtype:
        flat, last = np.zeros(size, dtype), shape
    view = flat[:size].reshape(shape)
    if zero or last != shape:
        view.fill(0)
    store[name] = flat, shape
    return view
