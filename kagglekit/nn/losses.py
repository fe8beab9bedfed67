"""Softmax fused with cross-entropy: stable (subtracts the row max) and with the simple gradient p - y."""
import numpy as np


def row_max(a):
    """Max over the columns of a (n, k) as (n, 1). For narrow k, k-1 elementwise maxima over columns beat
    a.max(axis=1), whose per-row reduction of only k values runs ~8x slower."""
    if a.shape[1] > 32:
        return a.max(axis=1, keepdims=True)
    out = a[:, :1].copy()
    for j in range(1, a.shape[1]):
        np.maximum(out, a[:, j:j + 1], out=out)
    return out


def row_sums(a):
    """Sum over the columns of a (n, k) as (n, 1), by a ones-vector product (a.sum(axis=1) is slow for narrow k)."""
    return (a @ np.ones(a.shape[1], a.dtype))[:, None]


def softmax(logits):
    """Row-wise softmax of (batch, classes) logits; subtracting the row max keeps exp() finite."""
    e = np.exp(logits - row_max(logits))
    e /= row_sums(e)
    return e


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels; backward() gives dLoss/dlogits."""

    def forward(self, logits, labels):
        self.z = z = logits - row_max(logits)  # 0 exactly where a row's largest logit is
        self.p = np.exp(z)
        sums = row_sums(self.p)
        self.p /= sums
        self.labels = labels
        # -log p[label] = log(sum exp z) - z[label], averaged without forming log p for every class.
        self.picked = z[np.arange(len(labels)), labels]
        return float((np.log(sums).sum() - self.picked.sum()) / len(labels))

    def correct(self):
        """How many rows of the last forward() have their label as argmax of the logits. Where no row
        has two largest logits (every row one exact 0 in z), that is where z[label] == 0: two cheap
        passes instead of argmax, whose per-row loop over ten values is slow."""
        if np.count_nonzero(self.z == 0) == len(self.z):
            return int(np.count_nonzero(self.picked == 0))
        return int(np.count_nonzero(self.z.argmax(axis=1) == self.labels))  # ties: the first index wins

    def backward(self, n_total=None):
        """dLoss/dlogits = (p - onehot) / n, n being the batch's rows or, when a batch is processed in
        chunks whose gradients are added up, n_total (the rows of the whole batch)."""
        n = len(self.labels)
        scale = 1.0 / (n_total or n)  # a Python float keeps float32 arrays float32
        grad = self.p * scale
        grad[np.arange(n), self.labels] -= scale
        return grad
