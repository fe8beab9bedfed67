"""Fast versions of the plain layers and loss, and `accelerate`, which runs a network through them.

FastDense returns column-major outputs (products.matmul_f), which every layer and the loss accept like
any other array, takes packed RowBlocks as input, and writes its gradients in place. FastReLU takes the
maximum against a row of zeros (products.relu). The fast loss reduces rows with products.row_max/row_sums,
counts correct rows without an argmax, and can scale its gradient for a batch that is one part of a
larger one. accelerate makes each layer's fast twin with Layer.twin(the FAST class).
"""
import numpy as np

from ..nn.conv import Conv2D
from ..nn.layers import Dense, Dropout, ReLU
from ..nn.losses import SoftmaxCrossEntropy
from ..nn.network import Network
from ..nn.norm import BatchNorm
from ..nn.pool import MaxPool2D
from .conv import FastConv2D
from .norm import FastBatchNorm
from .pool import FastMaxPool2D, pool_before_relu
from .products import column_sums, matmul_f, relu, row_max, row_sums, t_matmul
from .rowblocks import RowBlocks


class FastDense(Dense):
    """Dense: y = x @ W + b, with x an array or RowBlocks and y column-major."""

    def forward(self, x, training=False):
        self.x = x
        out = x @ self.params["W"] if isinstance(x, RowBlocks) else matmul_f(x, self.params["W"])
        out += self.params["b"]  # in place: one pass and no second (batch, n_out) array
        return out

    def backward(self, grad):
        if isinstance(self.x, RowBlocks):
            self.x.t_matmul(grad, out=self.grads["W"])
        else:
            t_matmul(self.x, grad, out=self.grads["W"])
        column_sums(grad, out=self.grads["b"])
        return matmul_f(grad, self.params["W"].T) if self.input_grad else None


class FastReLU(ReLU):
    """ReLU (same values and mask), its maximum taken by products.relu."""

    def forward(self, x, training=False):
        self.mask = x > 0
        return relu(x)


class FastSoftmaxCrossEntropy(SoftmaxCrossEntropy):
    """The plain loss, with its gradient divided by n_total (the rows of the whole batch, when this
    batch is one part of it whose gradients get added up) instead of this batch's rows."""

    def __init__(self, n_total=None, smoothing=0.0):
        super().__init__(smoothing)
        self.n_total = n_total

    def forward(self, logits, labels):
        self.z = z = logits - row_max(logits)  # 0 exactly where a row's largest logit is
        self.p = np.exp(z)
        sums = row_sums(self.p)
        self.p /= sums
        self.labels = labels
        self.picked = z[np.arange(len(labels)), labels]
        picked = self.picked.sum()
        if self.smoothing:  # as the plain loss: ε/K of every logit, 1-ε of the label's
            picked = (1 - self.smoothing) * picked + self.smoothing * row_sums(z).sum() / z.shape[1]
        return float((np.log(sums).sum() - picked) / len(labels))

    def correct(self):
        """How many rows of the last forward() have their label as argmax of the logits. Where no row
        has two largest logits (every row one exact 0 in z), that is where z[label] == 0: two cheap
        passes instead of argmax, whose per-row loop over ten values is slow."""
        if np.count_nonzero(self.z == 0) == len(self.z):
            return int(np.count_nonzero(self.picked == 0))
        return int(np.count_nonzero(self.z.argmax(axis=1) == self.labels))  # ties: the first index wins

    def backward(self):
        n = len(self.labels)
        scale = 1.0 / (self.n_total or n)  # a Python float keeps float32 arrays float32
        grad = self.p * scale
        grad[np.arange(n), self.labels] -= (1 - self.smoothing) * scale
        if self.smoothing:
            grad -= self.smoothing / grad.shape[1] * scale
        return grad


FAST = {Dense: FastDense, Conv2D: FastConv2D, MaxPool2D: FastMaxPool2D, BatchNorm: FastBatchNorm,
        ReLU: FastReLU}


def accelerate(net, own_grads=False, n_total=None):
    """A network running net's layers through their fast versions, sharing net's parameters, so that
    training it trains net; what forward keeps for backward is its own. With own_grads it also has
    gradients and dropout generators of its own, so that another thread or worker process can run it on
    other rows at the same time."""
    layers = []
    for layer in net.layers:  # each twin shares the params (and grads) dicts, and keeps caches of its own
        fast = layer.twin(FAST.get(type(layer)))
        if own_grads:
            fast.grads = {k: np.zeros_like(g) for k, g in layer.grads.items()}
            if isinstance(layer, Dropout) and layer.rng is not None:
                fast.rng = np.random.default_rng(layer.rng.integers(2 ** 63))
        layers.append(fast)
    return Network(pool_before_relu(layers), net.meta, loss=FastSoftmaxCrossEntropy(n_total, net.loss.smoothing))
