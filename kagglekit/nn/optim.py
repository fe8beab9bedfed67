"""Optimizers update (param, grad) pairs in place. They never see the network, only the pairs, keyed
by their position in the sequence, which the network keeps in a fixed order."""
import numpy as np


class SGD:
    """Gradient descent with optional momentum: v = momentum·v - lr·g; p += v (momentum 0: p -= lr·g)."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.velocity = {}

    def step(self, pairs):
        lr = float(self.lr)  # a Python float keeps float32 arithmetic float32 (NumPy 2 promotion)
        for i, (param, grad) in enumerate(pairs):
            if self.momentum == 0:
                param -= lr * grad
                continue
            v = self.velocity.setdefault(i, np.zeros_like(param))
            v *= self.momentum
            v -= lr * grad
            param += v


class Adam:
    """Adam (Kingma & Ba 2015): steps scaled by running averages of the gradient (m) and of its square
    (v), both corrected for starting at zero."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m, self.v = {}, {}

    def step_size(self):
        """lr with both bias corrections folded in, as the paper's efficient form does."""
        return float(self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t))

    def step(self, pairs):
        self.t += 1
        b1, b2, step = float(self.beta1), float(self.beta2), self.step_size()
        for i, (param, grad) in enumerate(pairs):
            m = self.m.setdefault(i, np.zeros_like(param))
            v = self.v.setdefault(i, np.zeros_like(param))
            m[...] = b1 * m + (1 - b1) * grad
            v[...] = b2 * v + (1 - b2) * grad * grad
            param -= step * m / (np.sqrt(v) + self.eps)
