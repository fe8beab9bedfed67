"""Full-batch descent (the seed preset: the same 41,000 rows every step): the rows packed once without
their blank columns (RowBlocks) and cut into parts that run in parallel, each through its own fast
twin of the network: part 0 in the caller, the others in forked worker processes on Linux (Workers,
sharing parameters and gradients through shared memory), on threads elsewhere. `fit_full_batch` is
nn.train.fit's loop for such runs."""
import contextvars
import functools
import mmap
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import TrainingError
from ..nn.train import BestWeights, History, close_epoch, end_epoch, learning_rate, should_stop, update
from .layers import accelerate
from .rowblocks import RowBlocks, packed, packing_order

# Full-batch steps (the seed preset: the same 41,000 rows every step) run as this many row shards in
# parallel, each shard through its own twin of the network. The split and the order in which the
# shards' gradients are added are fixed, so results do not depend on timing or on the core count.
SHARDS = 2
# Where the other shards run: forked processes (Linux) share nothing but the parameters and gradients,
# and no interpreter lock; measured ~10% faster steps than threads. Elsewhere fork is missing (Windows)
# or unsafe with the system libraries (macOS), and threads are used; so they are when other threads run
# in this process (a child forked then can deadlock on a lock one of them held).
FORK = sys.platform.startswith("linux")


class FullBatch:
    """Full-batch descent's rows, packed once without their zero columns (RowBlocks) and cut into SHARDS
    parts; `step()` runs every part through its own fast twin of the network in parallel (part 0 in the
    caller, the others in worker processes or threads), adds the parts' gradients into net's in part
    order and returns (summed loss, correct predictions). Call close() when done."""

    def __init__(self, net, x, y, shards=SHARDS, fork=None, lighter=0):
        shards = max(1, min(shards, len(x)))
        order = packing_order(x)
        # Part 0 (the caller's) gets `lighter` rows fewer than an even share, the others split them.
        lighter = min(lighter, len(x) // (2 * shards))
        cuts = [0] + [(len(x) + lighter) * i // shards - lighter for i in range(1, shards)] + [len(x)]
        self.parts = [(RowBlocks(x, order[a:b]), y[order[a:b]]) for a, b in zip(cuts, cuts[1:])]
        # Part 0 writes its gradients into net's own, the others into their own, added to net's after.
        self.nets = [accelerate(net, n_total=len(x))] + \
                    [accelerate(net, own_grads=True, n_total=len(x)) for _ in range(shards - 1)]
        self.pool = self.workers = None
        if shards > 1:
            if (FORK and threading.active_count() == 1) if fork is None else fork:
                self.workers = Workers(self)
            else:
                self.pool = ThreadPoolExecutor(shards - 1)

    def _run(self, i):
        (xs, ys), net = self.parts[i], self.nets[i]
        loss, _ = net.train_step(xs, ys)
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
        for signum in (signal.SIGINT, signal.SIGTERM):  # the caller's to handle, as Ctrl-C: it stops us
            signal.signal(signum, signal.SIG_IGN)
        while os.read(start, 1) == b"g":
            try:
                self.totals[i] = self.full._run(i)
                reply = b"d"
            except BaseException as e:  # reported to the caller, which raises it as a TrainingError
                reply = b"e" + f"{type(e).__name__}: {e}".encode()[:1000]
            os.write(done, reply)

    def start(self):
        for _, start, _ in self.pipes:
            try:
                os.write(start, b"g")
            except BrokenPipeError:  # the worker died; results() reports it
                pass

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


def fit_full_batch(net, x, y, config, x_val=None, y_val=None, callback=None, optimizer=None, checkpoint=None,
                   history=None, on_batch=None, choose=True):
    """nn.train.fit for a full-batch config without augmentation: the same rows every step, run as
    FullBatch parts. Each epoch's validation rows (packed once too) are evaluated while the other parts
    run the next step, with the weights the epoch ended with, so this process's part is lighter by
    about the cost of that evaluation; the epoch's checkpoint is written then too."""
    history = History() if history is None else history
    history.choose = choose
    rate, best = learning_rate(config, 1), BestWeights(net, history)
    start = time.perf_counter() - history.last.get("seconds", 0)
    validate = x_val is not None and len(x_val) > 0
    if validate:
        x_val, y_val = packed(x_val, y_val)
        evaluator = accelerate(net, own_grads=True)

    def finish(row):
        if validate:
            loss = evaluator.loss.forward(evaluator.forward(x_val), y_val)
            row["val_loss"], row["val_acc"] = loss, evaluator.loss.correct() / len(y_val)
        close_epoch(history, row, best, callback, checkpoint)

    full, pending = FullBatch(net, x, y, lighter=len(x_val) // 2 if validate else 0), None
    try:
        for epoch in range(len(history.rows) + 1, config.epochs + 1):
            loss_sum, correct = full.step(meanwhile=pending and functools.partial(finish, pending))
            if pending and should_stop(history, config.patience):  # this step's gradients go unused
                pending = None
                break
            optimizer.lr = rate(epoch - 1)
            update(net, optimizer, config)
            if on_batch is not None:  # an epoch is one step here
                on_batch(0, 1, loss_sum / len(x), correct / len(x), optimizer.lr)
            pending = end_epoch(net, optimizer, epoch, loss_sum, correct, len(x), start)
        if pending:
            finish(pending)
    finally:
        full.close()
    best.restore()
    return history
