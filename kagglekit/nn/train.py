"""Training: `fit` runs minibatch epochs with an optimizer and returns the per-epoch History;
`train_model` is the one recipe (split, init, fit) that the CLI and the kernel script both use.
Full-batch descent runs through fullbatch.FullBatch; the BLAS gets one thread while fitting
(blas_threads)."""
import ctypes
import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .augment import random_shift
from ..errors import TrainingError
from .layers import RowBlocks
from .optim import make_optimizer

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
# BLAS threads while fitting. Our products are small or narrow and come thousands of times per epoch; on
# a shared 2-core machine every multi-threaded call then waits for a second core to be free (measured:
# an mlp epoch 2.5 s with one thread, 10 s with two while other work ran). One thread also makes the
# result independent of the machine's core count. None leaves the BLAS's own setting alone.
BLAS_THREADS = 1


def _openblas_thread_calls():
    """(get, set) of the thread count of the OpenBLAS that NumPy loaded, or None (other BLAS, not Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split(None, 5)[5].strip() for line in maps
                            if "openblas" in line.lower() and len(line.split(None, 5)) == 6})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@contextmanager
def blas_threads(n):
    """Run the block with the BLAS limited to n threads (where we can set it), then restore the count."""
    calls = _openblas_thread_calls() if n else None
    if calls is None:
        yield
        return
    get, put = calls
    before = get()
    put(n)
    try:
        yield
    finally:
        put(before)


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
    batches = [(x, y)] if isinstance(x, RowBlocks) else (
        (x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size))
    for xb, yb in batches:
        logits = net.forward(xb)
        total += net.loss.forward(logits, yb) * len(logits)
        correct += net.loss.correct()
    return total / len(x), correct / len(x)


def fit(net, x, y, config, rng, x_val=None, y_val=None, callback=None):
    """Train net in place on x (n, 784) float32 and labels y (n,) as `config` says.

    `callback(row)` is called after every epoch with that epoch's History row (the CLI shows
    progress with it). Raises TrainingError if the weights stop being finite.
    """
    # Overflow on the way to divergence is caught by the finiteness check with a one-line error, so
    # NumPy's floating-point warnings would only repeat it (as noise) first.
    with blas_threads(BLAS_THREADS), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _fit_epochs(net, x, y, config, rng, x_val, y_val, callback)


def _fit_epochs(net, x, y, config, rng, x_val, y_val, callback):
    optimizer = make_optimizer(config.optimizer, config.lr, config.momentum)
    history = History()
    start = time.perf_counter()
    validate = x_val is not None and len(x_val) > 0
    full = pending = None
    if (config.batch_size <= 0 or config.batch_size >= len(x)) and not config.augment_shift:
        # The same rows every step: packed once and run in parallel shards. The same validation rows
        # too, evaluated here while the other shards run the next step (the weights are those the
        # epoch ended with until that step's update), so this process's shard is lighter by about
        # the cost of that evaluation. Imported here, not at the top, so that the kernel script of a
        # minibatch preset can leave the worker machinery (fork, shared memory) out.
        from ..fast.fullbatch import FullBatch, packed
        if validate:
            x_val, y_val = packed(x_val, y_val)
        full = FullBatch(net, x, y, lighter=len(x_val) // 2 if validate else 0)

    def finish(row):
        if validate:
            row["val_loss"], row["val_acc"] = evaluate_loss_acc(net, x_val, y_val)
        history.rows.append(row)
        if callback is not None:
            callback(row)

    try:
        for epoch in range(1, config.epochs + 1):
            if full is not None:
                loss_sum, correct = full.step(meanwhile=pending and functools.partial(finish, pending))
                pending = None
                _update(net, optimizer, config)
            else:
                loss_sum, correct = _minibatch_epoch(net, optimizer, x, y, config, rng)
            if not (np.isfinite(loss_sum) and net.weights_finite()):
                raise TrainingError(f"training diverged at epoch {epoch} (loss {loss_sum / len(x):.4g}, weights "
                                    f"not finite); lower the learning rate (now {optimizer.lr:g}) and retry")
            row = {"epoch": epoch, "train_loss": loss_sum / len(x), "train_acc": correct / len(x),
                   "val_loss": float("nan"), "val_acc": float("nan"),
                   "seconds": time.perf_counter() - start}
            optimizer.lr *= config.lr_decay
            if full is not None:
                pending = row  # finished during the next step, or after the last
            else:
                finish(row)
        if pending is not None:
            finish(pending)
    finally:
        if full is not None:
            full.close()
    return history


def _minibatch_epoch(net, optimizer, x, y, config, rng):
    """One pass over shuffled (and, if the config says so, randomly shifted) minibatches:
    (summed loss, correct predictions)."""
    loss_sum, correct = 0.0, 0
    for idx in minibatches(len(x), config.batch_size, rng):
        xb, yb = x[idx], y[idx]
        if config.augment_shift:
            xb = random_shift(xb, config.augment_shift, rng)
        loss, _ = net.train_step(xb, yb)
        loss_sum += loss * len(yb)
        correct += net.loss.correct()
        _update(net, optimizer, config)
    return loss_sum, correct


def _update(net, optimizer, config):
    if config.weight_decay:
        net.add_weight_decay(config.weight_decay)
    optimizer.step(net.pairs())


def minibatches(n, batch_size, rng):
    """Yield index arrays covering range(n) in a random order; batch_size 0 or >= n is one full batch."""
    if batch_size <= 0 or batch_size >= n:
        yield slice(None)
        return
    perm = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield perm[start:start + batch_size]
