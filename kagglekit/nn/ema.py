"""An exponential moving average (EMA) of a network's weights, as An et al. 2020 use it: after every
optimizer step each average moves a little towards its weight, and validation and the kept model use
the averages, which wander less than the weights of any one step. Batch norm's running statistics are
averaged like the parameters (as timm's ModelEma does), so that they describe the averaged network."""
from contextlib import contextmanager

import numpy as np


class EMA:
    """Averages of arrays (a network's parameters and buffers, in a fixed order), starting from their
    values now: after update number n (from 1) each is decay_n·average + (1 - decay_n)·array, with
    decay_n = min(decay, (1 + n)/(10 + n)) (TensorFlow's ExponentialMovingAverage with num_updates, and
    An et al.'s code), so that the starting weights are soon forgotten."""

    def __init__(self, decay, arrays):
        self.decay = decay
        self.average = [a.copy() for a in arrays]
        self.live = None  # within applied(): the values the arrays had

    def rate(self, step):
        """decay_n of the update after optimizer step `step` (from 0, as nn.train.fit counts them)."""
        n = step + 1
        return min(self.decay, (1 + n) / (10 + n))

    def update(self, arrays, step):
        """Move each average towards its array (the same order as at the start), after step `step`; a
        function of the step, so that a resumed run averages as the uninterrupted one did."""
        pull = float(1 - self.rate(step))  # a Python float keeps the float32 averages float32
        for average, array in zip(self.average, arrays):
            moved = np.subtract(array, average)
            moved *= pull
            average += moved

    @contextmanager
    def applied(self, arrays):
        """Within the block the arrays (in place) hold the averages, and self.live the values they had,
        which they get back at its end, however it ends."""
        self.live = [a.copy() for a in arrays]
        try:
            for array, average in zip(arrays, self.average):
                array[...] = average
            yield
        finally:
            for array, live in zip(arrays, self.live):
                array[...] = live
            self.live = None
