"""Optimizers update (param, grad) pairs in place. They never see the network, only the pairs,
keyed by their position in the sequence, which the network keeps in a fixed order."""
import numpy as np


class SGD:
    """Gradient descent with optional momentum: v = m*v - lr*g; p += v (momentum 0 is plain GD)."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.velocity = {}

    def step(self, pairs):
        for i, (param, grad) in enumerate(pairs):
            if self.momentum == 0:
                param -= self.lr * grad
                continue
            v = self.velocity.setdefault(i, np.zeros_like(param))
            v *= self.momentum
            v -= self.lr * grad
            param += v


class Adam:
    """Adam (Kingma & Ba 2015) with bias-corrected first and second moment estimates."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m, self.v = {}, {}

    def step(self, pairs):
        self.t += 1
        # Fold both bias corrections into one step size, as the paper's efficient form does.
        step = float(self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t))
        for i, (param, grad) in enumerate(pairs):
            m = self.m.setdefault(i, np.zeros_like(param))
            v = self.v.setdefault(i, np.zeros_like(param))
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            param -= step * m / (np.sqrt(v) + self.eps)


def make_optimizer(name, lr, momentum=0.9):
    """'gd' = SGD without momentum, 'sgd' = with momentum, 'adam' = Adam."""
    if name == "gd":
        return SGD(lr, 0.0)
    if name == "sgd":
        return SGD(lr, momentum)
    return Adam(lr)
