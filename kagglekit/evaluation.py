"""Judging trained runs: load the networks a run or ensemble is made of, check that they fit the data,
report their averaged predictions on the holdout rows they share, and cross-validate a config. One run
is an ensemble of one here: every function takes the model files that rundir.resolve gives."""
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .data import load_train, stratified_kfold
from .errors import ModelError
from .fast.train import fit
from .metrics import accuracy, classification_report
from .nn.network import Network, build_network
from .parallel import Failed, run_tasks
from .recipe import average_proba, holdout


def load_model(model_file):
    """(Network, the TrainConfig it was trained with) of a model file."""
    net = Network.load(model_file)
    if "config" not in net.meta:
        raise ModelError(f"{model_file} carries no training config; retrain it with `kagglekit train`")
    return net, TrainConfig.from_dict(net.meta["config"])


def check_fits(net, x, what):
    """ModelError, one line, unless net takes x's pixels (what: the file they come from)."""
    if net.n_in != x.shape[1]:
        raise ModelError(f"the model takes {net.n_in} inputs but {what} has {x.shape[1]} pixels; "
                         "use a model trained on this competition's data")


def _holdout_of(net, config):
    data = net.meta.get("data")
    return (config.seed if config.holdout_seed is None else config.holdout_seed, config.val_size,
            data.get("train_csv") if isinstance(data, dict) else None)


def load_runs(files, same_holdout=False):
    """([Network], the first one's TrainConfig) of model files; ModelError, one line, for models that cannot
    be averaged: other inputs, or with same_holdout (evaluate) other holdout rows."""
    loaded = [(Path(f), *load_model(f)) for f in files]
    first_path, first, first_config = loaded[0]
    for path, net, config in loaded[1:]:
        if net.n_in != first.n_in:
            raise ModelError(f"{first_path.parent} takes {first.n_in} inputs but {path.parent} takes {net.n_in}: "
                             f"their probabilities cannot be averaged; pass models trained on the same data")
        if same_holdout and _holdout_of(net, config) != _holdout_of(first, first_config):
            raise ModelError(f"{first_path.parent} and {path.parent} hold out different rows: their ensemble has "
                             f"no common holdout to be evaluated on; train members with the same --holdout-seed, "
                             f"--val-size and data, or only predict with them")
    return [net for _, net, _ in loaded], first_config


def proba(nets, x, what="the data"):
    """The averaged class probabilities (n, 10) of nets on x, each checked to fit it."""
    for net in nets:
        check_fits(net, x, what)
    return average_proba(nets, x)


def holdout_proba(files, data_folder):
    """(y, val_idx, probabilities on the holdout rows, nets): what evaluate and the report's wrong digits
    start from."""
    nets, config = load_runs(files, same_holdout=True)
    x, y = load_train(Path(data_folder) / "train.csv")
    (_, val_idx), _ = holdout(y, config)
    return y, val_idx, proba(nets, x[val_idx], "train.csv"), nets, x


def evaluate(files, data_folder):
    """The runs' averaged probabilities reported on their shared holdout (see metrics.classification_report);
    with several networks also "members": each one's own accuracy there."""
    y, val_idx, p, nets, x = holdout_proba(files, data_folder)
    report = classification_report(y[val_idx], p.argmax(axis=1))
    if len(nets) > 1:
        report["members"] = [accuracy(y[val_idx], net.predict(x[val_idx])) for net in nets]
    return report


def cross_validate(data_folder, config, folds, callback=None, jobs=1, backend="loky", scheduler=None):
    """Stratified k-fold: a fresh network per fold, the folds run as parallel tasks (see parallel.py);
    returns per-fold accuracies, mean and std. callback(fold number, accuracy) as each fold ends."""
    _, y = load_train(Path(data_folder) / "train.csv")  # checked and cached once, before the tasks read it
    stratified_kfold(y, folds, np.random.default_rng(config.seed))  # a bad K: one error, not one per fold
    tasks = [(str(Path(data_folder).resolve()), config, folds, i) for i in range(folds)]
    results = run_tasks(fold_accuracy, tasks, jobs, backend, scheduler,
                        on_done=callback and (lambda i, r: isinstance(r, Failed) or callback(i + 1, r)))
    failed = [(i, r.why) for i, r in enumerate(results) if isinstance(r, Failed)]
    if failed:
        raise ModelError("; ".join(f"fold {i + 1}/{folds} failed: {why}" for i, why in failed))
    return {"folds": results, "mean": float(np.mean(results)), "std": float(np.std(results))}


def fold_accuracy(data_folder, config, folds, i):
    """The task of fold i (from 0): the folds are the first draw of config.seed's generator; the fold's
    network is drawn and trained from a generator of its own, seed + i, so folds need not run in order."""
    x, y = load_train(Path(data_folder) / "train.csv")
    train_idx, val_idx = stratified_kfold(y, folds, np.random.default_rng(config.seed))[i]
    rng = np.random.default_rng(config.seed + i)
    net = build_network(config, rng, n_in=x.shape[1])
    fit(net, x[train_idx], y[train_idx], config, rng)
    return accuracy(y[val_idx], net.predict(x[val_idx]))
