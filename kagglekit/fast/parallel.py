"""Data parallelism inside every minibatch step: the batch cut into W contiguous parts, part 0 run in the
caller and the others in forked worker processes (fast/workers.py) or on threads, each through its own
fast twin of the network; the parts' gradients are added in part order and one optimizer step
follows: with worker processes and BlockedAdam, each part adds up and updates its own range of the
parameters (the update is elementwise, so the ranges change nothing), else the caller the whole. Every
part computes what one network running the whole batch would for its rows: the
augmentation is drawn for the whole batch in the caller and each part warps its own rows, each dropout
mask is drawn for the whole batch from a copy of the generator, and batch norm uses the whole batch's
statistics (PartSums). So W changes results by float32 round-off only, and a seed gives the same weights
on every run with the same W."""
import contextvars
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..nn.augment import augment_draws, augmented
from ..nn.layers import Dropout
from .layers import accelerate
from .norm import FastBatchNorm
from .optim import BlockedAdam, pieces
from .workers import Workers, add_gradients, forks, private_weights, share, share_weights, shared_copies

FORK = None  # True: worker processes, False: threads, None: processes where workers.forks() says
# Fewer rows than this a part, and a part's fixed cost per NumPy call outweighs its arithmetic: a batch
# of 128 is cut into 8 parts at most (many cores), the last short batch of an epoch into fewer.
MIN_PART_ROWS = 16


class PartDropout(Dropout):
    """Dropout for rows [start, stop) of a batch of `total` rows: it draws the whole batch's mask, as the
    plain layer would, and uses its own rows of it, so that no mask depends on how the batch is cut."""
    rows = None  # (start, stop, total), set for each step

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        start, stop, total = self.rows
        keep = 1 - self.rate
        drawn = self.rng.random((total, *x.shape[1:]), dtype=np.float32)[start:stop]
        self.mask = (drawn < keep) / np.float32(keep)
        return x * self.mask


class PartSums:
    """FastBatchNorm.reduce for one part: it writes its column sums and rows into its own slot, meets the
    other parts, and adds every part's slot in part order, so that each part gets the same totals. Two
    sets of slots serve in turn: a part may write the next sums while a slower one reads these."""

    def __init__(self, part, slots, meet):
        self.part, self.slots, self.meet = part, slots, meet
        self.parts = self.turn = 0  # set for each step

    def __call__(self, sums, rows):
        k, slots = len(sums), self.slots[self.turn % 2]
        self.turn += 1
        slots[self.part, :k], slots[self.part, k] = sums, rows
        if self.parts > 1:
            self.meet()
        total = slots[0, :k + 1].copy()
        for other in slots[1:self.parts, :k + 1]:
            total += other
        return total[:k].astype(sums.dtype), int(total[k])


def part_twin(net, own):
    """A fast twin of net for one part, its dropout PartDropout; with own, its gradients, running
    statistics and dropout generators its own (part 0's are net's)."""
    twin = accelerate(net)  # shares net's parameters, gradients, buffers and dropout generators
    for k, layer in enumerate(twin.layers):
        if isinstance(layer, Dropout):
            twin.layers[k] = layer = layer.twin(PartDropout)
        if own:
            layer.grads = {name: np.zeros_like(g) for name, g in layer.grads.items()}
            layer.buffers = {name: b.copy() for name, b in layer.buffers.items()}
    return twin


def generator_copies(nets):
    """(The distinct dropout generators of nets[0], for each net the generators its dropout draws from):
    nets[0]'s are those themselves, the others' copies to be set to their state at each step."""
    sources = list({id(layer.rng): layer.rng for layer in nets[0].layers
                    if isinstance(layer, PartDropout) and layer.rng is not None}.values())
    rngs = [sources]
    for twin in nets[1:]:
        copies = {id(r): np.random.Generator(type(r.bit_generator)()) for r in sources}
        for layer in twin.layers:
            if isinstance(layer, PartDropout) and layer.rng is not None:
                layer.rng = copies[id(layer.rng)]
        rngs.append([copies[id(r)] for r in sources])
    return sources, rngs


class DataParallel:
    """Minibatch steps on rows of x (n, features), y, cut into `parts` parts run in parallel; `net` is the
    fast twin to give nn.train.fit, `step(idx)` its run_batch, which also takes the optimizer step where
    `updates` is True (see the module docstring). Use it as a context manager (or close())."""

    def __init__(self, net, x, y, config, rng, parts, fork=None, optimizer=None):
        self.x, self.y, self.config, self.rng = x, y, config, rng
        batch = len(x) if config.batch_size <= 0 else min(config.batch_size, len(x))
        self.parts = parts = max(1, min(parts, batch // MIN_PART_ROWS))
        self.nets = [part_twin(net, i > 0) for i in range(parts)]
        self.net = self.nets[0]
        self.sources, self.rngs = generator_copies(self.nets)
        probe = augment_draws(1, config, np.random.default_rng(0))
        features = max([layer.features for layer in self.net.layers if isinstance(layer, FastBatchNorm)], default=0)
        buffers = [np.zeros(batch, np.intp), np.zeros((2, parts, 2 * features + 1)), np.zeros((parts, 2)),
                   np.zeros((batch, *probe.shape[1:]), probe.dtype) if probe is not None else np.zeros(0)]
        self.fork = parts > 1 and forks(FORK if fork is None else fork)
        if self.fork:
            buffers = shared_copies(buffers)
        self.idx, slots, self.totals, self.draws = buffers
        self.augmented = probe is not None
        self.sums = [PartSums(i, slots, self._meet) for i in range(parts)]
        for twin, sums in zip(self.nets, self.sums):
            for layer in twin.layers:
                if isinstance(layer, FastBatchNorm):
                    layer.reduce = sums
        self.pool = self.workers = None
        self.barriers, self.active = {}, parts
        pairs = self.net.pairs()
        self.optimizer = optimizer if self.fork and type(optimizer) is BlockedAdam and all(
            a.flags.c_contiguous for pair in pairs for a in pair) else None
        self.updates = self.optimizer is not None
        self.shared = []  # (dict, key) of the arrays the parts' updates share besides the weights
        if self.updates:  # every part reads part 0's gradients, and updates the optimizer's moments
            self.shared = [(layer.grads, k) for layer in self.net.layers for k in sorted(layer.grads)]
            self.optimizer.moments(pairs)
            self.shared += [(state, i) for state in (self.optimizer.m, self.optimizer.v) for i in range(len(pairs))]
            self.decayed = [k in layer.decay for layer in self.net.layers for k in sorted(layer.params)]
        if self.fork:
            share_weights(self.net, self.nets[1:])
            share(self.shared)
            self.workers = Workers(parts)
            try:
                self.workers.fork(lambda i, message: self._run(i, pickle.loads(message)))
            except BaseException:  # e.g. out of memory: stop those forked already
                self.close()
                raise
        elif parts > 1:
            self.pool = ThreadPoolExecutor(parts - 1)

    def _meet(self):
        if self.workers is not None:
            self.workers.meet()
        else:
            self.barriers[self.active].wait()

    def _run(self, i, plan):
        """Part i of the step `plan` describes: its rows' forward and backward, (loss sum, correct) in totals."""
        n, whole, parts, states, step_size = plan
        start, stop = n * i // parts, n * (i + 1) // parts
        rows = slice(start, stop) if whole else self.idx[start:stop]
        net, sums = self.nets[i], self.sums[i]
        for generator, state in zip(self.rngs[i] if i else (), states):
            generator.bit_generator.state = state
        for layer in net.layers:
            if isinstance(layer, PartDropout):
                layer.rows = start, stop, n
        sums.parts, sums.turn = parts, 0
        net.loss.n_total = n
        x = augmented(self.x[rows], self.draws[start:stop] if self.augmented else None)
        loss, _ = net.train_step(x, self.y[rows])
        self.totals[i] = loss * (stop - start), net.loss.correct()
        if step_size is not None:
            if parts > 1:
                self._meet()  # every part's gradients are in
            self._update(i, parts, step_size)

    def _update(self, i, parts, step_size):
        """Part i's range of the optimizer step: its elements of the gradients added up in part order,
        weight decay, BlockedAdam's update; as workers.add_gradients, Network.add_weight_decay and
        BlockedAdam.step do for all of them, element for element."""
        pairs, rate = self.net.pairs(), self.config.weight_decay
        total = sum(param.size for param, _ in pairs)
        start, stop = total * i // parts, total * (i + 1) // parts
        others = [twin.pairs() for twin in self.nets[1:parts]]
        for k, lo, hi in pieces([param.size for param, _ in pairs], start, stop):
            param, grad = (a.reshape(-1)[lo:hi] for a in pairs[k])
            for other in others:
                grad += other[k][1].reshape(-1)[lo:hi]
            if rate and self.decayed[k]:
                grad += rate * param
        self.optimizer.update_range(pairs, step_size, start, stop)

    def _in_thread(self, i, plan):
        try:
            self._run(i, plan)
        except BaseException:
            self.barriers[self.active].abort()  # no part waits for this one at a barrier
            raise

    def step(self, idx):
        """Forward and backward on the rows idx of x (an index array, or slice(None): all of them) in
        parallel parts, the whole batch's gradient then in net's grads: (summed loss, correct, rows)."""
        whole = isinstance(idx, slice)
        n = len(self.x) if whole else len(idx)
        if not whole:
            self.idx[:n] = idx
        draws = augment_draws(n, self.config, self.rng)
        if draws is not None:
            self.draws[:n] = draws
        self.active = parts = max(1, min(self.parts, n // MIN_PART_ROWS))
        step_size = None
        if self.updates:  # as BlockedAdam.step, each part then updating its range
            self.optimizer.t += 1
            step_size = self.optimizer.step_size()
        plan = n, whole, parts, [r.bit_generator.state for r in self.sources], step_size
        futures = []
        if self.workers is not None:
            self.workers.start(pickle.dumps(plan), parts)
        elif parts > 1:
            if parts not in self.barriers:
                self.barriers[parts] = threading.Barrier(parts)
            self.barriers[parts].reset()
            # Each thread runs in a copy of the caller's context, so np.errstate etc. apply there too.
            futures = [self.pool.submit(contextvars.copy_context().run, self._in_thread, i, plan)
                       for i in range(1, parts)]
        try:
            self._run(0, plan)
        except BaseException:
            if futures:
                self.barriers[parts].abort()
                for future in futures:  # the part that failed first, rather than one it left at a barrier
                    if not isinstance(future.exception(), (threading.BrokenBarrierError, type(None))):
                        raise future.exception() from None
            raise
        if self.workers is not None:
            self.workers.wait()
        for future in futures:
            future.result()
        if not self.updates:
            add_gradients(self.net, self.nets[1:parts])
        return float(self.totals[:parts, 0].sum()), int(self.totals[:parts, 1].sum()), n

    def close(self):
        """Stop the workers or threads; net's parameters are private arrays again."""
        if self.pool is not None:
            self.pool.shutdown()
        if self.workers is not None:
            self.workers.close()
            private_weights(self.net, self.shared)
            self.workers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
