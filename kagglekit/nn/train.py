"""The training loop: `fit` runs epochs of shuffled minibatches (optionally augmented images) through a
network and an optimizer, each step at the rate the config's schedule gives it, and returns the
per-epoch History. It keeps the weights of the best validation epoch (with config.ema, the moving
average of the weights, nn.ema), can stop early, and can continue the History of a checkpoint.
`evaluate` scores a network on held-out rows."""
import contextlib
import functools
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import TrainingError
from .augment import augment
from .ema import EMA
from .registry import lookup, make_optimizer

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


@dataclass
class History:
    """One row per epoch; val_* are NaN when there is no validation set. With choose False the validation
    rows are only watched: the best epoch is the last one, whatever they say."""
    rows: list = field(default_factory=list)
    choose: bool = True

    def column(self, name):
        return [row[name] for row in self.rows]

    @property
    def last(self):
        return self.rows[-1] if self.rows else {}

    @property
    def best_epoch(self):
        """The epoch of the highest validation accuracy (the first of equals); without validation the
        last epoch, as nothing says an earlier one was better; 0 before the first epoch."""
        scored = [row for row in self.rows if not np.isnan(row["val_acc"])]
        if not scored or not self.choose:
            return self.last.get("epoch", 0)
        return max(scored, key=lambda row: row["val_acc"])["epoch"]

    @property
    def best(self):
        """The row of best_epoch, whose weights a trained network keeps."""
        return self.rows[self.best_epoch - 1] if self.rows else {}


def weight_arrays(net):
    """Every params and buffers array of net (e.g. batch norm's running statistics), in a fixed order.
    Look them up each time: the full-batch workers swap the parameter arrays for shared ones and back."""
    return [a for layer in net.layers for d in (layer.params, layer.buffers) for a in d.values()]


class BestWeights:
    """Copies of the weights (params and buffers) of the best epoch so far, put back into the network
    when training ends."""

    def __init__(self, net, history):
        self.net, self.saved = net, None
        if history.rows:  # a History being continued ends with the epoch whose weights net holds
            self.keep()

    def keep(self):
        self.saved = [a.copy() for a in weight_arrays(self.net)]

    def restore(self):
        for array, saved in zip(weight_arrays(self.net), self.saved or ()):
            array[...] = saved  # in place: optimizers and fast twins hold these very arrays


def weight_average(net, optimizer, config):
    """The EMA of net's weights that config.ema asks for (None for 0). It rides on the optimizer, as
    Keras's optimizers keep theirs (use_ema), so that a checkpoint of the optimizer carries it too; one
    there already (a resumed run's) is continued."""
    if not config.ema:
        return None
    if getattr(optimizer, "ema", None) is None:
        optimizer.ema = EMA(config.ema, weight_arrays(net))
    return optimizer.ema


def averaged(net, ema):
    """A context in which net holds the averaged weights of ema (none: its own), as validation, the kept
    best epoch and its checkpoint see them."""
    return contextlib.nullcontext() if ema is None else ema.applied(weight_arrays(net))


def close_epoch(history, row, best, callback=None, checkpoint=None):
    """Add the epoch's row to history; if it is the best epoch so far, keep its weights and call
    checkpoint(history) (the network, optimizer and generator are then as that epoch left them); then
    call callback(row)."""
    history.rows.append(row)
    if history.best_epoch == row["epoch"]:
        best.keep()
        if checkpoint is not None:
            checkpoint(history)
    if callback is not None:
        callback(row)


def should_stop(history, patience):
    """Whether `patience` epochs (0: never) have gone by without a better validation accuracy."""
    return patience > 0 and history.choose and history.last["epoch"] - history.best_epoch >= patience


def steps_per_epoch(n, batch_size):
    """How many batches minibatches() cuts n rows into."""
    return 1 if batch_size <= 0 or batch_size >= n else -(-n // batch_size)


def learning_rate(config, per_epoch):
    """The function step -> learning rate of config.schedule (see nn.schedule), steps counted from 0."""
    return functools.partial(lookup("schedule", config.schedule), config, steps_per_epoch=per_epoch)


def minibatches(n, batch_size, rng):
    """Yield index arrays covering range(n) in a random order; batch_size 0 or >= n is one full batch."""
    if batch_size <= 0 or batch_size >= n:
        yield slice(None)
        return
    perm = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield perm[start:start + batch_size]


def evaluate(net, x, y, batch_size=256):
    """(mean cross-entropy, accuracy) of net on x (n, features), y (n,), without training state."""
    total, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size])
        total += net.loss.forward(logits, y[i:i + batch_size]) * len(logits)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == y[i:i + batch_size]))
    return total / len(x), correct / len(x)


def train_batch(net, x, y, config, rng, idx):
    """Forward and backward on rows idx of x (n, features) and y, augmented as the config says, every
    layer's grads filled: (summed loss, correct rows, rows)."""
    xb, yb = augment(x[idx], config, rng), y[idx]
    loss, logits = net.train_step(xb, yb)
    return loss * len(yb), int(np.count_nonzero(logits.argmax(axis=1) == yb)), len(yb)


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


def fit(net, x, y, config, rng, x_val=None, y_val=None, callback=None, optimizer=None, checkpoint=None,
        history=None, on_batch=None, choose=True, run_batch=None, run_batch_updates=False):
    """Train net in place on x (n, features) float32 and labels y (n,) as `config` says, with the
    optimizer the config names unless one is given, and return the History. `callback(row)` is called
    after every epoch with its History row, and `checkpoint(history)` after every epoch that is the best
    so far (see close_epoch). Training stops after config.epochs, or config.patience epochs without a
    better validation accuracy; net then holds the best epoch's weights (without validation rows: the
    last epoch's, and patience does not apply). `history` continues a checkpoint's History: its epochs
    are not run again, and net, optimizer and rng must be as its last epoch left them. `on_batch(i,
    n_batches, loss, acc, lr)` is called after every step with the epoch's running mean loss and
    accuracy and the step's learning rate (for a progress bar). With config.ema, validation, the kept
    best epoch and its checkpoint have the averaged weights (see weight_average). With choose False the
    validation rows are only scored, for the history: net keeps the last epoch and patience does not
    apply. `run_batch(idx)` runs forward and backward on the batch of rows idx as train_batch does
    (fast/parallel.py's: in parts, in parallel); with run_batch_updates it also takes the step's update
    (weight decay and optimizer, optimizer.lr set for it), as update() would. Raises TrainingError if
    the weights stop being finite."""
    optimizer = optimizer or make_optimizer(config)
    run_batch = run_batch or functools.partial(train_batch, net, x, y, config, rng)
    history = History() if history is None else history
    history.choose = choose
    per_epoch = steps_per_epoch(len(x), config.batch_size)
    rate, ema = learning_rate(config, per_epoch), weight_average(net, optimizer, config)
    with averaged(net, ema):  # a History being continued: its best epoch's weights are the averages
        best = BestWeights(net, history)
    start = time.perf_counter() - history.last.get("seconds", 0)
    # Overflow on the way to divergence ends in one clear TrainingError; NumPy's warnings before it
    # would only be noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(len(history.rows) + 1, config.epochs + 1):
            loss_sum, correct, seen = 0.0, 0, 0
            for i, idx in enumerate(minibatches(len(x), config.batch_size, rng)):
                step = (epoch - 1) * per_epoch + i
                optimizer.lr = rate(step)
                batch_loss, batch_correct, rows = run_batch(idx)
                loss_sum += batch_loss
                correct += batch_correct
                if not run_batch_updates:
                    update(net, optimizer, config)
                if ema is not None:
                    ema.update(weight_arrays(net), step)
                if on_batch is not None:
                    seen += rows
                    on_batch(i, per_epoch, loss_sum / seen, correct / seen, optimizer.lr)
            row = end_epoch(net, optimizer, epoch, loss_sum, correct, len(x), start)
            with averaged(net, ema):
                if x_val is not None and len(x_val):
                    row["val_loss"], row["val_acc"] = evaluate(net, x_val, y_val)
                close_epoch(history, row, best, callback, checkpoint)
            if should_stop(history, config.patience):
                break
    best.restore()
    return history
