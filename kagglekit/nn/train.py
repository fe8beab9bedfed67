"""The training loop: `fit` runs epochs of shuffled minibatches (optionally augmented images) through a
network and an optimizer and returns the per-epoch History. `evaluate` scores a network on held-out rows."""
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import TrainingError
from .augment import augment
from .registry import make_optimizer

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


def minibatches(n, batch_size, rng):
    """Yield index arrays covering range(n) in a random order; batch_size 0 or >= n is one full batch."""
    if batch_size <= 0 or batch_size >= n:
        yield slice(None)
        return
    perm = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield perm[start:start + batch_size]


def evaluate(net, x, y, batch_size=4096):
    """(mean cross-entropy, accuracy) of net on x (n, features), y (n,), without training state."""
    total, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size])
        total += net.loss.forward(logits, y[i:i + batch_size]) * len(logits)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == y[i:i + batch_size]))
    return total / len(x), correct / len(x)


def update(net, optimizer, config):
    """One optimizer step on the gradients in net, plus the weight decay the config asks for."""
    if config.weight_decay:
        net.add_weight_decay(config.weight_decay)
    optimizer.step(net.pairs())


def end_epoch(net, optimizer, epoch, loss_sum, correct, n, start):
    """The epoch's History row (validation still NaN); TrainingError if training diverged."""
    if not (np.isfinite(loss_sum) and net.weights_finite()):
        raise TrainingError(f"training diverged at epoch {epoch} (loss {loss_sum / n:.4g}, weights "
                            f"not finite); lower the learning rate (now {optimizer.lr:g}) and retry")
    return {"epoch": epoch, "train_loss": loss_sum / n, "train_acc": correct / n,
            "val_loss": float("nan"), "val_acc": float("nan"), "seconds": time.perf_counter() - start}


def fit(net, x, y, config, rng, x_val=None, y_val=None, callback=None, optimizer=None):
    """Train net in place on x (n, features) float32 and labels y (n,) as `config` says, with the
    optimizer the config names unless one is given. `callback(row)` is called after every epoch with
    its History row. Raises TrainingError if the weights stop being finite."""
    optimizer = optimizer or make_optimizer(config)
    history, start = History(), time.perf_counter()
    # Overflow on the way to divergence ends in one clear TrainingError; NumPy's warnings before it
    # would only be noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, config.epochs + 1):
            loss_sum, correct = 0.0, 0
            for idx in minibatches(len(x), config.batch_size, rng):
                xb, yb = augment(x[idx], config, rng), y[idx]
                loss, logits = net.train_step(xb, yb)
                loss_sum += loss * len(yb)
                correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
                update(net, optimizer, config)
            row = end_epoch(net, optimizer, epoch, loss_sum, correct, len(x), start)
            optimizer.lr *= config.lr_decay
            if x_val is not None and len(x_val):
                row["val_loss"], row["val_acc"] = evaluate(net, x_val, y_val)
            history.rows.append(row)
            if callback is not None:
                callback(row)
    return history
