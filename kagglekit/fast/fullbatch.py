"""Full-batch descent (the seed preset: the same 41,000 rows every step): the rows packed once without
their blank columns (RowBlocks) and cut into parts that run in parallel, each through its own fast
twin of the network: part 0 in the caller, the others in forked worker processes on Linux
(fast/workers.py, sharing parameters and gradients through shared memory), on threads elsewhere.
`fit_full_batch` is nn.train.fit's loop for such runs."""
import contextvars
import functools
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..nn.train import BestWeights, History, close_epoch, end_epoch, learning_rate, should_stop, update
from .layers import accelerate
from .rowblocks import RowBlocks, packed, packing_order
from .workers import Workers, add_gradients, forks, private_weights, share_weights, shared_copies

# Full-batch steps (the seed preset: the same 41,000 rows every step) run as this many row shards in
# parallel unless told otherwise (fit: one per worker), each shard through its own twin of the network.
# The split and the order in which the shards' gradients are added are fixed, so results do not depend
# on timing.
SHARDS = 2


class FullBatch:
    """Full-batch descent's rows, packed once without their zero columns (RowBlocks) and cut into `shards`
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
            if forks(fork):  # parts 1.. in worker processes (fast/workers.py), sharing the weights
                share_weights(self.nets[0], self.nets[1:])
                (self.totals,) = shared_copies([np.zeros((shards, 2))])
                self.workers = Workers(shards)
                try:
                    self.workers.fork(self._serve)
                except BaseException:  # e.g. out of memory, or Ctrl-C: stop those forked already
                    self.close()
                    raise
            else:
                self.pool = ThreadPoolExecutor(shards - 1)

    def _run(self, i):
        (xs, ys), net = self.parts[i], self.nets[i]
        loss, _ = net.train_step(xs, ys)
        return loss * len(ys), net.loss.correct()

    def _serve(self, i, message):
        self.totals[i] = self._run(i)

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
            self.workers.wait()
            results += [(float(loss), int(correct)) for loss, correct in self.totals[1:]]
        elif self.pool is not None:
            results += [future.result() for future in futures]
        add_gradients(self.nets[0], self.nets[1:])
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
        if self.workers is not None:
            self.workers.close()
            private_weights(self.nets[0])


def fit_full_batch(net, x, y, config, x_val=None, y_val=None, callback=None, optimizer=None, checkpoint=None,
                   history=None, on_batch=None, choose=True, shards=SHARDS):
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

    full, pending = FullBatch(net, x, y, shards, lighter=len(x_val) // 2 if validate else 0), None
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
