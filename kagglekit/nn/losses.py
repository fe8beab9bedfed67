"""Softmax and the cross-entropy loss fused with it, whose gradient with respect to the logits is
simply (probabilities - one-hot labels) / batch size."""
import numpy as np


def softmax(logits):
    """Row-wise softmax of (batch, classes) logits; subtracting each row's max keeps exp() finite."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels; backward() gives dLoss/dlogits."""

    def forward(self, logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        sums = e.sum(axis=1)
        self.p, self.labels = e / sums[:, None], labels
        # -log p[label] = log(sum exp z) - z[label]: finite even where p[label] underflows to 0.
        return float(np.mean(np.log(sums) - z[np.arange(len(labels)), labels]))

    def backward(self):
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        return grad / len(self.labels)
