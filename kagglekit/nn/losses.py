"""Softmax and the cross-entropy loss fused with it, whose gradient with respect to the logits is
simply (probabilities - targets) / batch size, the targets one-hot labels, or with label smoothing
ε: (1-ε)·one-hot + ε/K for K classes."""
import numpy as np


def softmax(logits):
    """Row-wise softmax of (batch, classes) logits; subtracting each row's max keeps exp() finite."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels, smoothed by `smoothing` (ε in
    [0, 1)); backward() gives dLoss/dlogits."""

    def __init__(self, smoothing=0.0):
        self.smoothing = smoothing

    def forward(self, logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        sums = e.sum(axis=1)
        self.p, self.labels = e / sums[:, None], labels
        # -log p[label] = log(sum exp z) - z[label]: finite even where p[label] underflows to 0.
        picked = z[np.arange(len(labels)), labels]
        if self.smoothing:  # -Σ_k t_k·log p_k with t = (1-ε)·one-hot + ε/K: z[label] becomes a blend
            picked = (1 - self.smoothing) * picked + self.smoothing * z.mean(axis=1)
        return float(np.mean(np.log(sums) - picked))

    def backward(self):
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1 - self.smoothing
        if self.smoothing:
            grad -= self.smoothing / grad.shape[1]
        return grad / len(self.labels)
