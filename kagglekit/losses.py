"""Softmax fused with cross-entropy: stable (subtracts the row max) and with the simple gradient p - y."""
import numpy as np


def softmax(logits):
    """Row-wise softmax of (batch, classes) logits; subtracting the row max keeps exp() finite."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels; backward() gives dLoss/dlogits."""

    def forward(self, logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1, keepdims=True))
        log_p = z - log_norm
        self.p = np.exp(log_p)
        self.labels = labels
        rows = np.arange(len(labels))
        return float(-log_p[rows, labels].mean())

    def backward(self):
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        grad /= len(self.labels)
        return grad
