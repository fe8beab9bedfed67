"""Optimizers update (param, grad) pairs in place. They never see the network, only the pairs, keyed
by their position in the sequence, which the network keeps in a fixed order. `state_dict()` is what
continuing needs (hyper-parameters, step count, per-parameter arrays); `load_state_dict` takes it back."""
import numpy as np


class Optimizer:
    """What every optimizer shares: its state as a dict of numbers and of {position: array} dicts."""
    NUMBERS, COUNTERS, ARRAYS = (), (), ()  # the attribute names that make up the state

    def state_dict(self):
        """{name: number} for the hyper-parameters and counters, {name: {position: array}} for the
        per-parameter arrays (the optimizer's own, not copies): nothing else, no scratch buffers."""
        return {**{name: getattr(self, name) for name in self.NUMBERS + self.COUNTERS},
                **{name: dict(getattr(self, name)) for name in self.ARRAYS}}

    def load_state_dict(self, state):
        """Continue from a state_dict() (the arrays are copied); ValueError naming what is missing,
        unknown or of the wrong type, with nothing changed."""
        missing, unknown = set(self.state_dict()) - set(state), set(state) - set(self.state_dict())
        if missing or unknown:
            raise ValueError(f"{type(self).__name__} state lacks {sorted(missing)}" if missing else
                             f"{type(self).__name__} state has unknown entries {sorted(unknown)}")
        for name in self.NUMBERS + self.COUNTERS:
            value, whole = state[name], name in self.COUNTERS
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                    or not 0 <= value < float("inf"):
                raise ValueError(f"{name} is {value!r}, not a {'whole ' if whole else ''}number >= 0")
        for name in self.ARRAYS:
            if not isinstance(state[name], dict) or not all(
                    isinstance(i, int) and isinstance(a, np.ndarray) for i, a in state[name].items()):
                raise ValueError(f"{name} is not a {{position: array}} dict")
        for name in self.NUMBERS + self.COUNTERS:
            setattr(self, name, state[name])
        for name in self.ARRAYS:
            setattr(self, name, {i: np.array(a) for i, a in state[name].items()})


class SGD(Optimizer):
    """Gradient descent with optional momentum: v = momentum·v - lr·g; p += v (momentum 0: p -= lr·g)."""
    NUMBERS, ARRAYS = ("lr", "momentum"), ("velocity",)

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


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): steps scaled by running averages of the gradient (m) and of its square
    (v), both corrected for starting at zero."""
    NUMBERS, COUNTERS, ARRAYS = ("lr", "beta1", "beta2", "eps"), ("t",), ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m, self.v = {}, {}

    def load_state_dict(self, state):
        """As Optimizer's, also refusing a state of some steps that lost its moments."""
        if state.get("t") and not (state.get("m") and state.get("v")):
            raise ValueError(f"{type(self).__name__} state at step {state['t']} has no moments m and v")
        super().load_state_dict(state)

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
