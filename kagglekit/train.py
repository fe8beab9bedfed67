"""Training: `fit` runs minibatch epochs with an optimizer and returns the per-epoch History;
`train_model` is the one recipe (split, init, fit) that the CLI and the kernel script both use."""
import time
from dataclasses import dataclass, field

import numpy as np

from .augment import random_shift
from .data import minibatches, stratified_split
from .errors import TrainingError
from .network import build_network
from .optim import make_optimizer

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


@dataclass
class History:
    """One row per epoch; val_* are NaN when there is no validation set."""
    rows: list = field(default_factory=list)

    def column(self, name):
        return [row[name] for row in self.rows]

    @property
    def last(self):
        return self.rows[-1] if self.rows else {}


def evaluate_loss_acc(net, x, y, batch_size=4096):
    """(mean cross-entropy, accuracy) of net on x, y without touching training state."""
    total, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size])
        total += net.loss.forward(logits, y[i:i + batch_size]) * len(logits)
        correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    return total / len(x), correct / len(x)


def fit(net, x, y, config, rng, x_val=None, y_val=None, callback=None):
    """Train net in place on x (n, 784) float32 and labels y (n,) as `config` says.

    `callback(row)` is called after every epoch with that epoch's History row (the CLI shows
    progress with it). Raises TrainingError if the weights stop being finite.
    """
    optimizer = make_optimizer(config.optimizer, config.lr, config.momentum)
    history = History()
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        loss_sum, correct = 0.0, 0
        for idx in minibatches(len(x), config.batch_size, rng):
            xb, yb = x[idx], y[idx]
            if config.augment_shift:
                xb = random_shift(xb, config.augment_shift, rng)
            loss, logits = net.train_step(xb, yb)
            if config.weight_decay:
                net.add_weight_decay(config.weight_decay)
            optimizer.step(net.pairs())
            loss_sum += loss * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
        if not (np.isfinite(loss_sum) and net.weights_finite()):
            raise TrainingError(f"training diverged at epoch {epoch} (loss {loss_sum / len(x):.4g}, weights "
                                f"not finite); lower the learning rate (now {optimizer.lr:g}) and retry")
        row = {"epoch": epoch, "train_loss": loss_sum / len(x), "train_acc": correct / len(x),
               "val_loss": float("nan"), "val_acc": float("nan")}
        if x_val is not None and len(x_val):
            row["val_loss"], row["val_acc"] = evaluate_loss_acc(net, x_val, y_val)
        row["seconds"] = time.perf_counter() - start
        history.rows.append(row)
        optimizer.lr *= config.lr_decay
        if callback is not None:
            callback(row)
    return history


def holdout(y, config):
    """The (train, val) index split a config implies; the first draw of the run's generator."""
    rng = np.random.default_rng(config.seed)
    return stratified_split(y, config.val_size, rng), rng


def train_model(x, y, config, callback=None):
    """Split off config.val_size rows, build the network and fit it: (net, history, (train_idx, val_idx))."""
    (train_idx, val_idx), rng = holdout(y, config)
    net = build_network(config, rng, n_in=x.shape[1])
    history = fit(net, x[train_idx], y[train_idx], config, rng, x[val_idx], y[val_idx], callback)
    return net, history, (train_idx, val_idx)
