"""nn.train.fit with the speed-ups that pay for a config swapped in: one BLAS thread, fast layers and
loss, blocked Adam, every step cut into parts run in parallel by `workers` processes or threads (for
minibatches fast/parallel.py, for full-batch descent the packed FullBatch parts). Same maths as the plain
loop (tests hold the two equal); a seed still gives bit-identical weights run after run with the same
number of workers."""
import numpy as np

from ..nn import train
from ..nn.augment import is_augmented
from ..nn.optim import Adam
from ..nn.registry import make_optimizer
from ..nn.spec import parse
from .blas import THREADS, blas_threads
from .layers import accelerate
from .optim import BlockedAdam
from .parallel import DataParallel


def fast_optimizer(config):
    """The optimizer the config names, Adam in its blocked in-place form."""
    optimizer = make_optimizer(config)
    return BlockedAdam(optimizer.lr) if type(optimizer) is Adam else optimizer


def is_full_batch(config):
    """Whether every step sees all the rows unchanged (batch_size 0, no augmentation) by a network of
    dense layers alone, which packed pixel rows feed: the parallel FullBatch path. Batch norm and
    dropout take the minibatch path's parts (fast/parallel.py), whose whole-batch statistics and masks
    keep results independent of the part count; FullBatch's shards would each use their own. The
    kernel generator carries fast/fullbatch.py only for such configs."""
    if config.batch_size > 0 or is_augmented(config):
        return False  # decided without parsing: a network built by hand may have no spec (hidden=())
    return all(kind == "dense" for kind, _, _ in parse(config.architecture))  # none: only the output layer


def fit(net, x, y, config, rng, x_val=None, y_val=None, callback=None, optimizer=None, checkpoint=None,
        history=None, on_batch=None, choose=True, workers=1):
    """Train net in place exactly as nn.train.fit does (same arguments, same History), faster, each step
    cut into `workers` parts run in parallel (1: none); the optimizer, if not given, is
    fast_optimizer(config)."""
    optimizer = optimizer or fast_optimizer(config)
    with blas_threads(THREADS), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if is_full_batch(config):
            from .fullbatch import fit_full_batch  # only full-batch runs need its packed rows
            return fit_full_batch(net, x, y, config, x_val, y_val, callback, optimizer, checkpoint, history,
                                  on_batch, choose, shards=workers)
        if workers <= 1:
            return train.fit(accelerate(net), x, y, config, rng, x_val, y_val, callback, optimizer, checkpoint,
                             history, on_batch, choose)
        with DataParallel(net, x, y, config, rng, workers, optimizer=optimizer) as parallel:
            return train.fit(parallel.net, x, y, config, rng, x_val, y_val, callback, optimizer, checkpoint,
                             history, on_batch, choose, parallel.step, parallel.updates)
