"""The one recipe that `kagglekit train`, cross-validation and the Kaggle kernel all follow: hold out
stratified validation rows, build and fit the network, and predict test.csv into a checked submission."""
from pathlib import Path

import numpy as np

from .data import load_test, stratified_split
from .errors import DataError
from .fast.train import fast_optimizer, fit
from .nn.network import build_network
from .submission import check_submission, read_ids, write_submission


def holdout(y, config):
    """(The (train, val) index split a config implies, the run's generator). The split is the generator's
    first draw, or with a holdout_seed (ensemble members) the first of that seed's own generator."""
    rng = np.random.default_rng(config.seed)
    split_rng = rng if config.holdout_seed is None else np.random.default_rng(config.holdout_seed)
    return stratified_split(y, config.val_size, split_rng), rng


def average_proba(nets, x):
    """The ensemble's class probabilities (n, classes): the mean of each network's predict_proba."""
    return np.mean([net.predict_proba(x) for net in nets], axis=0)


def train_model(x, y, config, callback=None, checkpoint=None, resume=None, on_batch=None):
    """Split off config.val_size rows, build the network and fit it: (net, history, (train_idx, val_idx)).
    `checkpoint(net, optimizer, rng, history)` is called after each best validation epoch (see
    nn.train.fit); `resume(net, optimizer, rng)` gives the fresh ones a checkpoint's state and returns its
    History, which training continues. `on_batch` is nn.train.fit's per-step hook."""
    (train_idx, val_idx), rng = holdout(y, config)
    net = build_network(config, rng, n_in=x.shape[1])
    optimizer = fast_optimizer(config)
    history = resume(net, optimizer, rng) if resume is not None else None
    hook = None if checkpoint is None else lambda h: checkpoint(net, optimizer, rng, h)
    history = fit(net, x[train_idx], y[train_idx], config, rng, x[val_idx], y[val_idx], callback, optimizer,
                  hook, history, on_batch)
    return net, history, (train_idx, val_idx)


def predict_test(predict, folder, output):
    """Label folder/test.csv with predict (x (n, 784) -> labels), write them in sample_submission's id order
    to output, and validate the file; returns (path, rows). Used by `kagglekit predict` and the kernel."""
    folder = Path(folder)
    x = load_test(folder / "test.csv")
    ids = read_ids(folder / "sample_submission.csv")
    if len(ids) != len(x):
        raise DataError(f"{folder}: test.csv has {len(x)} rows but sample_submission.csv has {len(ids)}; "
                        "download the competition files again")
    path = write_submission(output, predict(x), ids)
    return path, check_submission(path, folder / "sample_submission.csv").rows
