"""The one recipe that `kagglekit train`, cross-validation and the Kaggle kernel all follow: hold out
stratified validation rows, build and fit the network, and predict test.csv into a checked submission."""
import functools
import tempfile
from pathlib import Path

import numpy as np

from .data import stratified_kfold, stratified_split, test_pixels, to_float
from .errors import ConfigError, DataError
from .files import copy_out
from .fast import train as fast_train
from .fast.layers import accelerate
from .fast.predict import in_parts
from .nn import train as plain_train
from .nn.augment import TTA_SHIFTS, shift
from .nn.network import Network, build_network
from .nn.registry import make_optimizer
from .submission import check_submission, read_ids, write_submission

PREDICT_ROWS = 8192  # test rows predicted at a time


def holdout_size(n, val_size):
    """How many of n rows to hold out: val_size, unless that is more than half of them (a small data
    folder and the default 2,000), when a fifth of the rows (at least one) is held out instead."""
    return val_size if val_size <= n // 2 else max(1, n // 5)


def holdout(y, config):
    """(The (train, val) index split a config implies, the run's generator). The split is the generator's
    first draw, or with a holdout_seed (ensemble members) the first of that seed's own generator. A member
    retrained on every row (config.full) holds none out."""
    rng = np.random.default_rng(config.seed)
    split_rng = rng if config.holdout_seed is None else np.random.default_rng(config.holdout_seed)
    if config.fold is not None:  # a member of an out-of-fold ensemble: its fold of the ensemble's K
        split = stratified_kfold(y, config.folds, split_rng)[config.fold]
        # Retrained on every row (TrainConfig.full_member): drawn as above, so that rng is where its fold
        # member's was and the two start from the same weights.
        return ((np.arange(len(y)), np.arange(0)) if config.full else split), rng
    return stratified_split(y, holdout_size(len(y), config.val_size), split_rng), rng


def average_proba(nets, x):
    """The ensemble's class probabilities (n, classes): the mean of each network's predict_proba, run
    through its fast layers (fast.layers.accelerate: the same numbers within float32 round-off, several
    times faster for conv layers). One network's fast twin at a time: each keeps buffers for its chunks
    (~200 MB for best's net), freed before the next is made."""
    return np.mean([(accelerate(net) if isinstance(net, Network) else net).predict_proba(x)  # any predict_proba
                    for net in nets], axis=0)


def tta_proba(nets, x, n=1, parts=1):
    """Test-time augmentation: average_proba of x (n_rows, 784) in [0, 1] and of its n-1 other fixed
    views (nn.augment.TTA_SHIFTS: one-pixel shifts), averaged; n = 1 is average_proba(nets, x) itself.
    Deterministic: a prediction is the same every time, whatever `parts`, the number of parts of the rows
    computed in parallel (fast.predict.in_parts; each row's views are shifts of that row alone)."""
    if not 1 <= n <= len(TTA_SHIFTS):
        raise ConfigError(f"tta must be between 1 (no test-time augmentation) and {len(TTA_SHIFTS)}, got {n!r}")

    def views_proba(rows):
        return np.mean([average_proba(nets, rows if (dy, dx) == (0, 0) else shift(rows, dy, dx))
                        for dy, dx in TTA_SHIFTS[:n]], axis=0)
    return in_parts(views_proba, x, parts)


def train_model(x, y, config, callback=None, checkpoint=None, resume=None, on_batch=None, workers=1, fast=True):
    """Split off config.val_size rows (or the member's fold), and config.select_size more to choose the
    epoch on, build the network and fit it: (net, history, (train_idx, val_idx)). The validation rows
    only report: with select rows the best epoch on those is kept (and --patience judged there), without
    them the last epoch; the history's val_* columns are the select rows', else the validation rows'.
    x is float32 in [0, 1], or uint8 pixels (data.train_pixels), whose parts are converted as they are
    split, so that the float rows exist once, not twice (the whole and its training part).
    `checkpoint(net, optimizer, rng, history)` is called after each best validation epoch (see
    nn.train.fit); `resume(net, optimizer, rng)` gives the fresh ones a checkpoint's state and returns its
    History, which training continues. `on_batch` is nn.train.fit's per-step hook. Each step runs in
    `workers` processes or threads (fast.train.fit). fast=False trains with nn/ alone (plain layers and
    optimizer, nn.train.fit): the same maths, slower, to read or to check fast/ against."""
    (train_idx, val_idx), rng = holdout(y, config)
    fit_idx, select_idx = train_idx, val_idx  # without select rows: the holdout is watched, never chosen by
    if config.select_size:
        rest, chosen = stratified_split(y[train_idx], min(config.select_size, len(train_idx) // 2), rng)
        fit_idx, select_idx = train_idx[rest], train_idx[chosen]
    net = build_network(config, rng, n_in=x.shape[1])
    rows = (lambda idx: to_float(x, idx)) if x.dtype == np.uint8 else (lambda idx: x[idx])
    optimizer = fast_train.fast_optimizer(config) if fast else make_optimizer(config)
    history = resume(net, optimizer, rng) if resume is not None else None
    hook = None if checkpoint is None else lambda h: checkpoint(net, optimizer, rng, h)
    fit = functools.partial(fast_train.fit, workers=workers) if fast else plain_train.fit
    history = fit(net, rows(fit_idx), y[fit_idx], config, rng, rows(select_idx), y[select_idx], callback,
                  optimizer, hook, history, on_batch, choose=bool(config.select_size))
    return net, history, (fit_idx, val_idx)


def predict_test(predict, folder, output):
    """Label folder/test.csv with predict (x (n, 784) -> labels), PREDICT_ROWS rows at a time (a chunk's
    float copy, not the whole file's), write them in sample_submission's id order and validate the file
    before it reaches output ("-": standard output; a device or pipe is written in place); returns
    (output, rows). Used by `kagglekit predict` and the kernel."""
    folder = Path(folder)
    pixels = test_pixels(folder / "test.csv")
    sample = folder / "sample_submission.csv"
    ids = read_ids(sample)
    if len(ids) != len(pixels):
        raise DataError(f"{folder}: test.csv has {len(pixels)} rows but sample_submission.csv has {len(ids)}; "
                        "download the competition files again")
    labels = np.concatenate([predict(to_float(pixels[i:i + PREDICT_ROWS]))
                             for i in range(0, len(pixels), PREDICT_ROWS)])
    with tempfile.TemporaryDirectory(prefix="kagglekit-") as tmp:  # output is only touched once checked
        path = write_submission(Path(tmp) / "submission.csv", labels, ids)
        rows = check_submission(path, sample).rows
        copy_out(path, output)
    return Path(output), rows
