"""The steps of one run's life: train a network into a run folder, keep what Ctrl-C leaves as a
checkpoint, resume it, and judge whether it learned anything. ensemble.py builds runs of several
networks from these steps, and is where the commands start.

A run folder `runs/<name>/` (rundir.py names its files) holds model.npz, config.json, metrics.json and
history.csv; while it trains, and after Ctrl-C, it holds the best model so far and a checkpoint instead
(see checkpoint.py), from which `resume_run` continues it."""
import csv
import math
import shutil
import time
from pathlib import Path

import numpy as np

from . import checkpoint as saved_state
from . import rundir
from .data import N_CLASSES, train_pixels, to_float
from .errors import ConfigError, Interrupted, ModelError
from .files import atomic_write
from .metrics import classification_report, estimate
from .nn.train import HISTORY_COLUMNS
from .provenance import data_record
from .recipe import train_model, tta_proba

CHANCE = 1 / N_CLASSES
MIN_JUDGED_ROWS = 50  # fewer rows are too few to judge: an accuracy "chance", a digit missing


def _write_history(path, history):
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        writer.writerows(history.rows)


def train_run(data_folder, config, name=None, callback=None, runs=rundir.RUNS, on_batch=None, workers=1):
    """Train `config` on data_folder/train.csv into a new run folder runs/<name>/ (see rundir.new);
    returns (run folder, metrics dict). Ctrl-C after the first epoch keeps the folder with the best
    model so far and its checkpoint, to resume; any other failure, or Ctrl-C before, removes it.
    callback(row) and on_batch(i, n_batches, loss, acc, lr) report progress (see nn.train.fit); each
    step runs in `workers` processes or threads (fast.train.fit)."""
    run_dir = rundir.new(name, runs)
    try:
        return run_dir, _train_into(run_dir, data_folder, config, callback, on_batch=on_batch, workers=workers)
    except BaseException as e:
        ctrl_c = isinstance(e, KeyboardInterrupt) and not isinstance(e, Interrupted)
        if ctrl_c and (saved_state.summary(run_dir) or (run_dir / "metrics.json").is_file()):
            raise _kept(run_dir) from None
        shutil.rmtree(run_dir, ignore_errors=True)
        if ctrl_c:
            raise Interrupted(f"nothing was kept (the run folder {run_dir} was removed)") from None
        raise


def _kept(run_dir):
    if (Path(run_dir) / "metrics.json").is_file():  # the signal came while the finished run's files were written
        return Interrupted(f"the run had finished and is kept in {run_dir}; write its report with "
                           f"`kagglekit report {run_dir}`")
    epoch, acc = saved_state.summary(run_dir)
    scored = "trained on every row" if math.isnan(acc) else f"validation accuracy {acc:.4f}"  # a --full member
    return Interrupted(f"kept the best model so far (epoch {epoch}, {scored}) in {run_dir}; "
                       f"continue with `kagglekit train --resume {run_dir}`")


def unfinished_run(run, runs=rundir.RUNS):
    """(folder, checkpoint) of an interrupted run (a folder or a name under runs/); ModelError, one line,
    for a run that is missing, finished, or has no checkpoint that fits it. Reads only."""
    path = rundir.find(run, runs)
    if (path / rundir.METRICS).is_file():
        raise ModelError(f"{path} finished training ({rundir.METRICS} is there); train a new run, or use this one "
                         f"with `kagglekit evaluate` or `kagglekit predict`")
    return path, saved_state.load(path)


def resume_run(run_dir, checkpoint, data_folder, epochs=None, callback=None, on_batch=None, workers=1):
    """Continue an interrupted run (see unfinished_run) from its checkpoint to the end, with its config
    (epochs changed if given); returns (run folder, metrics dict) as train_run does. The rows trained on
    must be the same: data_folder's train.csv must be the run's. A failure leaves the folder as the last
    checkpoint left it."""
    config = checkpoint.config if epochs is None else checkpoint.config.override(epochs=epochs)
    if config.epochs <= checkpoint.epoch:
        raise ConfigError(f"--epochs {config.epochs} leaves nothing to do: {run_dir}'s checkpoint is from epoch "
                          f"{checkpoint.epoch}; give more epochs, or leave --epochs out")
    try:
        return run_dir, _train_into(run_dir, data_folder, config, callback, checkpoint, on_batch, workers)
    except KeyboardInterrupt as e:
        if isinstance(e, Interrupted):
            raise
        raise _kept(run_dir) from None


def learning_warning(report, losses, lr, trained_on=None):
    """Why a finished run should not be trusted, or "": training labels (trained_on, at least
    MIN_JUDGED_ROWS of them) missing some of the 10 digits, which the model then never predicts;
    validation accuracy near chance (at most 1.5x 1/10); or a training loss that ended above the first
    epoch's. The last two can happen with finite weights (e.g. --lr 100), which the trainer's own
    divergence check does not catch. report None: no rows were held out (a --full member)."""
    missing = [] if trained_on is None or len(trained_on) < MIN_JUDGED_ROWS else \
        sorted(set(range(N_CLASSES)) - set(np.unique(trained_on).tolist()))
    if missing:
        return (f"the training rows hold no {', '.join(map(str, missing))}: the model never predicts "
                f"{'that digit' if len(missing) == 1 else 'those digits'}, which Kaggle's test has; "
                "use the competition's train.csv (kagglekit download)")
    if report is not None and report["n"] >= MIN_JUDGED_ROWS and report["accuracy"] <= 1.5 * CHANCE:
        return (f"validation accuracy {report['accuracy']:.4f} is no better than chance "
                f"({CHANCE:.2f} for {N_CLASSES} digits): "
                f"the model learned nothing; lower --lr (now {lr:g}) or check the data")
    if len(losses) > 1 and losses[-1] > losses[0]:
        return (f"the training loss rose from {losses[0]:.4f} (epoch 1) to {losses[-1]:.4f} (epoch {len(losses)}): "
                f"training diverged; lower --lr (now {lr:g})")
    return ""


def _train_into(run_dir, data_folder, config, callback, resume=None, on_batch=None, workers=1):
    raw = train_pixels(Path(data_folder) / "train.csv")  # uint8: train_model converts what it splits off
    x, y = raw[:, 1:], raw[:, 0].astype(np.int64)
    data = data_record(data_folder)

    def checkpoint(net, optimizer, rng, history):
        net.meta["data"] = data
        saved_state.save(run_dir, net, optimizer, rng, history, config)

    start = time.perf_counter() - (resume.record["history"][-1]["seconds"] if resume else 0)
    net, history, (train_idx, val_idx) = train_model(x, y, config, callback, checkpoint,
                                                     resume and resume.restore, on_batch, workers)
    seconds = time.perf_counter() - start
    net.meta["data"] = data
    best = history.rows[history.best_epoch - 1]
    report = est = None  # a member retrained on every row (--full) has no rows left to be scored on
    if len(val_idx):
        predicted = tta_proba([net], to_float(x, val_idx), config.tta, workers).argmax(axis=1)
        report = classification_report(y[val_idx], predicted)
        method = "holdout" if config.fold is None else f"fold {config.fold + 1} of {config.folds}"
        est = estimate(y[val_idx], predicted, method)
    metrics = {"validation": report, "estimate": est, **({"trained_on": "every row"} if config.full else {}),
               "chosen_on": "select rows" if config.select_size else "none (the last epoch)",
               "train_accuracy": best["train_acc"], "train_seconds": round(seconds, 3),
               "epochs": config.epochs, "epochs_run": len(history.rows), "best_epoch": history.best_epoch,
               "n_train": int(len(train_idx)), "data": data,
               "warning": learning_warning(report, history.column("train_loss"), config.lr, y[train_idx])}
    with saved_state.interrupts_deferred():  # the finished run's files, then no checkpoint: all or none
        net.save(run_dir / rundir.MODEL)
        rundir.write_json(run_dir / rundir.CONFIG, config.to_dict())
        _write_history(run_dir / rundir.HISTORY, history)
        rundir.write_json(run_dir / rundir.METRICS, metrics)
        saved_state.remove(run_dir)
    return metrics
