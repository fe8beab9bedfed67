"""Judging trained runs: load the networks a run or ensemble is made of, check that they fit the data,
report their averaged predictions on the holdout rows they share, and cross-validate a config. One run
is an ensemble of one here: every function takes the model files that rundir.resolve gives."""
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .data import N_CLASSES, load_train, stratified_kfold
from .errors import KagglekitError, ModelError
from .fast.train import fit
from .fast.workers import cores
from .metrics import accuracy, classification_report, estimate
from .nn.network import Network, build_network
from .parallel import Failed, run_tasks, task_cores
from .recipe import holdout, tta_proba


def load_model(model_file):
    """(Network, the TrainConfig it was trained with) of a model file."""
    net = Network.load(model_file)
    if "config" not in net.meta:
        raise ModelError(f"{model_file} carries no training config; retrain it with `kagglekit train`")
    try:
        return net, TrainConfig.from_dict(net.meta["config"])
    except KagglekitError as e:  # a meta altered by hand
        raise ModelError(f"{model_file} carries a training config that does not read back ({e}); retrain it "
                         "with `kagglekit train`") from None


def check_fits(net, x, what):
    """ModelError, one line, unless net takes x's pixels (what: the file they come from)."""
    if net.n_in != x.shape[1]:
        raise ModelError(f"the model takes {net.n_in} inputs but {what} has {x.shape[1]} pixels; "
                         "use a model trained on this competition's data")


def _holdout_of(net, config):
    """What decides a network's holdout rows, but its fold: members of one ensemble agree on all of it."""
    data = net.meta.get("data")
    return (config.seed if config.holdout_seed is None else config.holdout_seed,
            config.folds if config.fold is not None else config.val_size,
            data.get("train_csv") if isinstance(data, dict) else None)


def load_runs(files, same_holdout=False):
    """([Network], [TrainConfig]) of model files; ModelError, one line, for models that cannot be
    averaged: other inputs, or with same_holdout (evaluate) other holdout rows (or folds)."""
    loaded = [(Path(f), *load_model(f)) for f in files]
    first_path, first, first_config = loaded[0]
    for path, net, config in loaded[1:]:
        if net.n_in != first.n_in:
            raise ModelError(f"{first_path.parent} takes {first.n_in} inputs but {path.parent} takes {net.n_in}: "
                             f"their probabilities cannot be averaged; pass models trained on the same data")
        if same_holdout and (_holdout_of(net, config) != _holdout_of(first, first_config)
                             or (config.fold is None) != (first_config.fold is None)):
            raise ModelError(f"{first_path.parent} and {path.parent} hold out different rows: their ensemble has "
                             f"no common holdout to be evaluated on; train members with the same --holdout-seed, "
                             f"--val-size and data, or only predict with them")
    return [net for _, net, _ in loaded], [config for _, _, config in loaded]


def proba(nets, x, tta=1, what="the data"):
    """The averaged class probabilities (n, 10) of nets on x (over tta views, see recipe.tta_proba, on
    every core this process may use), each network checked to fit it."""
    for net in nets:
        check_fits(net, x, what)
    return tta_proba(nets, x, tta, cores())


def holdout_proba(files, data_folder, tta=None):
    """(y, rows, probabilities on those rows (len(rows), 10), nets, configs, x, method): what evaluate and the
    report's wrong digits start from. rows are the holdout the networks share, averaged over them; for
    the members of an out-of-fold ensemble every row of train.csv, each predicted by the member that
    held it out. tta: the views to average (default: the first network's config)."""
    nets, configs = load_runs(files, same_holdout=True)
    for path, config in zip(files, configs):
        if config.full:
            raise ModelError(f"{Path(path).parent} was retrained on every row of train.csv (--full): no row is left "
                             f"to score it on; evaluate its ensemble, whose estimate is its fold members' out of fold")
    tta = configs[0].tta if tta is None else tta
    x, y = load_train(Path(data_folder) / "train.csv")
    check_fits(nets[0], x, "train.csv")
    if configs[0].fold is None or len(nets) == 1:  # one member of an out-of-fold ensemble: its fold
        (_, val_idx), _ = holdout(y, configs[0])
        method = "holdout" if configs[0].fold is None else f"fold {configs[0].fold + 1} of {configs[0].folds}"
        return y, val_idx, proba(nets, x[val_idx], tta, "train.csv"), nets, configs, x, method
    missing = sorted(set(range(configs[0].folds)) - {config.fold for config in configs})
    if missing:
        raise ModelError(f"the out-of-fold members cover folds {sorted(c.fold for c in configs)} of "
                         f"{configs[0].folds}, not {missing}: pass every member, or the ensemble folder")
    p = np.zeros((len(y), N_CLASSES))
    for net, config in zip(nets, configs):  # the folds partition the rows: each row is predicted once
        (_, val_idx), _ = holdout(y, config)
        p[val_idx] += proba([net], x[val_idx], tta, "train.csv")
    return y, np.arange(len(y)), p, nets, configs, x, "out-of-fold"


def evaluate(files, data_folder, tta=None):
    """The runs' averaged probabilities reported on their shared holdout, or an out-of-fold ensemble's on
    every row (see holdout_proba): metrics.classification_report plus "estimate" (accuracy, 95% Wilson
    interval, n, method); with several networks also "members": each one's own accuracy on its rows."""
    y, rows, p, nets, configs, x, method = holdout_proba(files, data_folder, tta)
    predicted = p.argmax(axis=1)
    report = classification_report(y[rows], predicted)
    report["estimate"] = estimate(y[rows], predicted, method)
    if len(nets) > 1:
        own = [holdout(y, config)[0][1] for config in configs]  # each member's own holdout or fold
        tta = configs[0].tta if tta is None else tta
        report["members"] = [accuracy(y[idx], proba([net], x[idx], tta).argmax(axis=1)) for net, idx in zip(nets, own)]
    return report


def cross_validate(data_folder, config, folds, callback=None, jobs=1, backend="loky", scheduler=None,
                   threads=None):
    """Stratified k-fold: a fresh network per fold (keeping its last epoch: nothing is chosen on the fold),
    the folds run as parallel tasks (see parallel.py) sharing `threads` cores (parallel.task_cores);
    returns per-fold accuracies, their mean and std, and "estimate": the out-of-fold accuracy over every
    row with its 95% interval. callback(fold number, accuracy) as each fold ends."""
    _, y = load_train(Path(data_folder) / "train.csv")  # checked and cached once, before the tasks read it
    stratified_kfold(y, folds, np.random.default_rng(config.seed))  # a bad K: one error, not one per fold
    workers = task_cores(threads, jobs, folds)
    tasks = [(str(Path(data_folder).resolve()), config, folds, i, workers) for i in range(folds)]
    results = run_tasks(fold_predictions, tasks, jobs, backend, scheduler,
                        on_done=callback and (lambda i, r: isinstance(r, Failed) or callback(
                            i + 1, accuracy(y[r[0]], r[1]))))
    failed = [(i, r.why) for i, r in enumerate(results) if isinstance(r, Failed)]
    if failed:
        raise ModelError("; ".join(f"fold {i + 1}/{folds} failed: {why}" for i, why in failed))
    scores = [accuracy(y[idx], predicted) for idx, predicted in results]
    rows = np.concatenate([idx for idx, _ in results])
    pooled = estimate(y[rows], np.concatenate([predicted for _, predicted in results]), "out-of-fold")
    return {"folds": scores, "mean": float(np.mean(scores)), "std": float(np.std(scores)), "estimate": pooled}


def fold_predictions(data_folder, config, folds, i, workers=1):
    """The task of fold i (from 0): (its rows, their predicted labels), each step in `workers` parts. The
    folds are the first draw of config.seed's generator; the fold's network is drawn and trained from a
    generator of its own, seed + i, so folds need not run in order."""
    x, y = load_train(Path(data_folder) / "train.csv")
    train_idx, val_idx = stratified_kfold(y, folds, np.random.default_rng(config.seed))[i]
    rng = np.random.default_rng(config.seed + i)
    net = build_network(config, rng, n_in=x.shape[1])
    fit(net, x[train_idx], y[train_idx], config, rng, workers=workers)
    return val_idx, tta_proba([net], x[val_idx], config.tta, workers).argmax(axis=1)
