"""Training: `fit` runs minibatch epochs with an optimizer and returns the per-epoch History;
`train_model` is the one recipe (split, init, fit) that the CLI and the kernel script both use.
Full-batch descent packs its rows once and runs each step as two row shards in parallel (FullBatch):
in a forked worker process on Linux, on a thread elsewhere. The BLAS gets one thread while fitting
(blas_threads)."""
import contextvars
import ctypes
import mmap
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .augment import SIDE, bounding_box_order, random_shift
from .data import minibatches, stratified_split
from .errors import TrainingError
from .layers import RowBlocks, sparsity_order
from .network import build_network
from .optim import make_optimizer

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
# BLAS threads while fitting. Our products are small or narrow and come thousands of times per epoch; on
# a shared 2-core machine every multi-threaded call then waits for a second core to be free (measured:
# an mlp epoch 2.5 s with one thread, 10 s with two while other work ran). One thread also makes the
# result independent of the machine's core count. None leaves the BLAS's own setting alone.
BLAS_THREADS = 1
# Full-batch steps (the seed preset: the same 41,000 rows every step) run as this many row shards in
# parallel, each shard through its own twin of the network. The split and the order in which the
# shards' gradients are added are fixed, so results do not depend on timing or on the core count.
SHARDS = 2
# Where the other shards run: forked processes (Linux) share nothing but the parameters and gradients,
# and no interpreter lock; measured ~10% faster steps than threads. Elsewhere fork is missing (Windows)
# or unsafe with the system libraries (macOS), and threads are used; so they are when other threads run
# in this process (a child forked then can deadlock on a lock one of them held).
FORK = sys.platform.startswith("linux")


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
        # the cost of that evaluation.
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
                loss_sum, correct = full.step(meanwhile=pending and (lambda row=pending: finish(row)))
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


def packing_order(x):
    """The row order in which RowBlocks drops the most columns: digits by bounding box, else by sparsity."""
    return bounding_box_order(x) if x.shape[1] == SIDE * SIDE else sparsity_order(x)


def packed(x, y):
    """(x as RowBlocks, y in the same row order), for rows that every epoch evaluates unchanged."""
    order = packing_order(x)
    return RowBlocks(x, order), y[order]


class FullBatch:
    """Full-batch descent's rows, packed once without their zero columns (RowBlocks) and cut into SHARDS
    parts; `step()` runs every part through its own twin of the network in parallel (part 0 in the
    caller, the others in worker processes or threads), adds the parts' gradients into net's in part
    order and returns (summed loss, correct predictions). Call close() when done."""

    def __init__(self, net, x, y, shards=SHARDS, fork=None, lighter=0):
        shards = max(1, min(shards, len(x)))
        order = packing_order(x)
        # Part 0 (the caller's) gets `lighter` rows fewer than an even share, the others split them.
        lighter = min(lighter, len(x) // (2 * shards))
        cuts = [0] + [(len(x) + lighter) * i // shards - lighter for i in range(1, shards)] + [len(x)]
        self.parts = [(RowBlocks(x, order[a:b]), y[order[a:b]]) for a, b in zip(cuts, cuts[1:])]
        self.nets = [net] + [net.twin() for _ in range(shards - 1)]
        self.n = len(x)
        self.pool = self.workers = None
        if shards > 1:
            if (FORK and threading.active_count() == 1) if fork is None else fork:
                self.workers = Workers(self)
            else:
                self.pool = ThreadPoolExecutor(shards - 1)

    def _run(self, i):
        (xs, ys), net = self.parts[i], self.nets[i]
        loss, _ = net.train_step(xs, ys, n_total=self.n)
        return loss * len(ys), net.loss.correct()

    def step(self, meanwhile=None):
        """One step; `meanwhile()`, if given, runs here once the other parts are under way (it must not
        change the parameters)."""
        others = range(1, len(self.parts))
        if self.workers is not None:
            self.workers.start()
        elif self.pool is not None:
            # Each thread runs in a copy of the caller's context, so np.errstate etc. apply there too.
            futures = [self.pool.submit(contextvars.copy_context().run, self._run, i) for i in others]
        if meanwhile is not None:
            meanwhile()
        results = [self._run(0)]
        if self.workers is not None:
            results += self.workers.results()
        elif self.pool is not None:
            results += [future.result() for future in futures]
        for twin in self.nets[1:]:
            for (_, grad), (_, part) in zip(self.nets[0].pairs(), twin.pairs()):
                grad += part
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
        if self.workers is not None:
            self.workers.close()


def shared_copies(arrays):
    """Copies of arrays in one anonymous shared mapping, which forked processes see and write too."""
    sizes = [-(-a.nbytes // 64) * 64 for a in arrays]  # each copy 64-byte aligned
    memory = mmap.mmap(-1, max(1, sum(sizes)))
    copies, offset = [], 0
    for a, size in zip(arrays, sizes):
        copy = np.frombuffer(memory, a.dtype, a.size, offset).reshape(a.shape)
        copy[...] = a
        copies.append(copy)
        offset += size
    return copies


class Workers:
    """FullBatch parts 1.. in forked processes. The parameters move into shared memory (the caller's
    in-place updates reach the workers) and so do the twins' gradients and the workers' (loss, correct);
    one byte through a pipe starts a step, one byte back says it is done."""

    def __init__(self, full):
        self.full = full
        main = full.nets[0]
        names = [(layer, k) for layer in main.layers for k in sorted(layer.params)]
        for (layer, k), copy in zip(names, shared_copies([layer.params[k] for layer, k in names])):
            layer.params[k] = copy  # twins share their layers' params dicts with net, so them too
        grads = [(layer, k) for twin in full.nets[1:] for layer in twin.layers for k in sorted(layer.grads)]
        for (layer, k), copy in zip(grads, shared_copies([layer.grads[k] for layer, k in grads])):
            layer.grads[k] = copy
        (self.totals,) = shared_copies([np.zeros((len(full.parts), 2))])
        self.pipes = []  # (pid, start, done)
        for i in range(1, len(full.parts)):
            start_r, start_w = os.pipe()
            done_r, done_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: serve steps until told to stop, never return into the caller's code
                try:
                    os.close(start_w)
                    os.close(done_r)
                    self._serve(i, start_r, done_w)
                finally:
                    os._exit(0)
            os.close(start_r)
            os.close(done_w)
            self.pipes.append((pid, start_w, done_r))

    def _serve(self, i, start, done):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle; it stops us
        while os.read(start, 1) == b"g":
            try:
                self.totals[i] = self.full._run(i)
                reply = b"d"
            except BaseException as e:  # reported to the caller, which raises it as a TrainingError
                reply = b"e" + f"{type(e).__name__}: {e}".encode()[:1000]
            os.write(done, reply)

    def start(self):
        for _, start, _ in self.pipes:
            os.write(start, b"g")

    def results(self):
        """Each worker's (summed loss, correct) once it is done; TrainingError if one failed or died."""
        out = []
        for i, (pid, _, done) in enumerate(self.pipes, 1):
            reply = os.read(done, 4096)
            if reply != b"d":
                self.close()
                why = reply[1:].decode(errors="replace") if reply else "it was killed or ran out of memory"
                raise TrainingError(f"training worker process {pid} failed ({why}); rerun the command")
            out.append((float(self.totals[i, 0]), int(self.totals[i, 1])))
        return out

    def close(self):
        """Stop the workers and give the network private copies of its parameters again."""
        for pid, start, done in self.pipes:
            try:
                os.write(start, b"q")
            except OSError:  # already gone
                pass
            os.close(start)
            os.close(done)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already
                pass
        self.pipes = []
        for layer in self.full.nets[0].layers:
            for k in layer.params:
                layer.params[k] = np.array(layer.params[k])


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
