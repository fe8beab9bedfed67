"""The steps the CLI and the Makefile name: find the data, train a run folder, evaluate a model,
cross-validate a config, predict test.csv into a checked submission.

A run folder `runs/<name>/` holds model.npz, config.json, metrics.json and history.csv; while it
trains, and after Ctrl-C, it holds the best model so far and a checkpoint instead (see checkpoint.py),
from which `resume_run` continues it. Every step that needs a model takes a run folder or a model
file (default: the newest run). A run records the
data it was trained on (absolute folder, size and hash of train.csv), and the steps that act on a run
use that data unless told otherwise; the bundled sample is only ever a fallback for training.
"""
import csv
import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np

from . import checkpoint as saved_state
from .archive import install_competition
from .config import TrainConfig
from .data import N_CLASSES, check_competition_folder, load_train, stratified_kfold, to_float, train_pixels
from .errors import ConfigError, DataError, Interrupted, KagglekitError, ModelError
from .files import atomic_write, write_text
from .metrics import accuracy, classification_report
from .nn.network import Network, build_network
from .fast.train import fit
from .nn.train import HISTORY_COLUMNS
from .parallel import Failed, run_tasks
from .recipe import holdout, predict_test, train_model

DEFAULT_DATA = Path("data") / "digit-recognizer"
SAMPLE_ZIP = Path(__file__).parent / "sample" / "digit-recognizer-sample.zip"
SAMPLE_DIR = Path("data") / "digit-recognizer-sample"
RUNS = Path("runs")
MODEL_FILE = "model.npz"
NEWEST = "newest"  # what --run takes for the newest run
CHANCE = 1 / N_CLASSES
MIN_JUDGED_ROWS = 50  # fewer validation rows are too noisy to call an accuracy "chance"


def find_data(path=None):
    """(folder, is_sample): `path` if given (checked), else data/digit-recognizer, else the bundled sample."""
    if path is not None:
        check_competition_folder(path)
        return Path(path), False
    try:
        check_competition_folder(DEFAULT_DATA)
        return DEFAULT_DATA, False
    except DataError:
        return unpack_sample(), True


def train_fingerprint(folder):
    """{"size", "sha256"} of folder/train.csv: which rows a run was trained (and held out) on."""
    path = Path(folder) / "train.csv"
    with open(path, "rb") as f:
        return {"size": path.stat().st_size, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}


def data_record(folder):
    """What a run records of its data: the absolute folder and train.csv's fingerprint."""
    return {"folder": str(Path(folder).resolve()), "train_csv": train_fingerprint(folder)}


def _has_data(folder):
    try:
        check_competition_folder(folder)
        return True
    except DataError:
        return False


def data_for_run(model=None, path=None, same_train=False):
    """(folder, note) of the data to use with a run: `path` if given, else the data the run recorded,
    else data/digit-recognizer; never the bundled sample. note is "" when it is the run's own data,
    else one line saying which data is used instead and why. With same_train (evaluate: the holdout
    rows must be the run's own), data whose train.csv differs from the run's raises DataError."""
    model_path = resolve_model(model)
    run = model_path.parent
    recorded = Network.load(model_path).meta.get("data")
    if isinstance(recorded, str):  # runs made before the fingerprint: the folder as it was typed
        recorded = {"folder": recorded}
    if not isinstance(recorded, dict) or not isinstance(recorded.get("folder"), str):
        recorded = None  # an altered record says nothing: as a run that recorded none
    known = recorded.get("train_csv") if recorded else None
    trained_on = Path(recorded["folder"]) if recorded else None

    def same(folder):  # True, False, or None when the run recorded no fingerprint
        return None if known is None else train_fingerprint(folder) == known

    def other(folder, why):
        if known is None:
            return folder, (f"Using the data in {folder}: {why}, and {run} does not record which train.csv it "
                            f"was trained on (an older run), so it cannot be checked")
        if same(folder):
            return folder, f"Using the data in {folder}: {why}, but its train.csv is the one {run} was trained on"
        if same_train:
            raise DataError(f"{folder}/train.csv is not the train.csv {run} was trained on ({trained_on}/train.csv): "
                            f"its holdout rows would be other rows; pass -p FOLDER holding that file, or train a "
                            f"run on this data")
        return folder, f"Using other data than {run} was trained on: {folder} ({why})"

    if path is not None:
        check_competition_folder(path)
        if recorded is None or same(path) or (known is None and Path(path).resolve() == trained_on.resolve()):
            return Path(path), ""
        return other(Path(path), f"-p names it; {run} was trained on {trained_on}")
    if trained_on is not None and _has_data(trained_on):
        if same(trained_on) is not False:
            return trained_on, ""
        why = f"{trained_on}/train.csv has changed since {run} was trained on it"
    elif trained_on is not None:
        why = f"the data {run} was trained on ({trained_on}) is gone"
    else:
        why = f"{run} does not record its data"
    if not _has_data(DEFAULT_DATA) or (trained_on is not None and DEFAULT_DATA.resolve() == trained_on.resolve()):
        raise DataError(f"{why}, and there is no other competition data in {DEFAULT_DATA}: pass -p FOLDER, or run "
                        f"`kagglekit download`")
    return other(DEFAULT_DATA, why)


def unpack_sample(target=SAMPLE_DIR):
    """Unpack the bundled sample of real digits into `target` (once, checked) and return it."""
    return install_competition(SAMPLE_ZIP, target)


def new_run_dir(name=None, root=RUNS):
    """A fresh folder runs/<name> (default: a timestamp); a clash gets a numeric suffix."""
    root = Path(root)
    base = name or time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        candidate = root / (base if i == 0 else f"{base}-{i}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise ModelError(f"too many runs named {base!r} in {root}; pick another --name")


def _write_history(path, history):
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        writer.writerows(history.rows)


def _write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def train_run(data_folder, config, name=None, callback=None, runs=RUNS, on_batch=None):
    """Train `config` on data_folder/train.csv into a new run folder runs/<name>/ (see new_run_dir);
    returns (run folder, metrics dict). Ctrl-C after the first epoch keeps the folder with the best
    model so far and its checkpoint, to resume; any other failure, or Ctrl-C before, removes it.
    callback(row) and on_batch(i, n_batches, loss, acc, lr) report progress (see nn.train.fit)."""
    run_dir = new_run_dir(name, runs)
    try:
        return run_dir, _train_into(run_dir, data_folder, config, callback, on_batch=on_batch)
    except BaseException as e:
        ctrl_c = isinstance(e, KeyboardInterrupt) and not isinstance(e, Interrupted)
        if ctrl_c and saved_state.summary(run_dir):
            raise _kept(run_dir) from None
        shutil.rmtree(run_dir, ignore_errors=True)
        if ctrl_c:
            raise Interrupted(f"nothing was kept (the run folder {run_dir} was removed)") from None
        raise


def _kept(run_dir):
    epoch, acc = saved_state.summary(run_dir)
    return Interrupted(f"kept the best model so far (epoch {epoch}, validation accuracy {acc:.4f}) in {run_dir}; "
                       f"continue with `kagglekit train --resume {run_dir}`")


def unfinished_run(run, runs=RUNS):
    """(folder, checkpoint) of an interrupted run (a folder or a name under runs/); ModelError, one line,
    for a run that is missing, finished, or has no checkpoint that fits it. Reads only."""
    path = Path(run)
    if not path.is_dir() and (Path(runs) / path).is_dir():
        path = Path(runs) / path
    if not path.is_dir():
        raise ModelError(f"run {path} not found; pass the run folder that Ctrl-C said it kept")
    if (path / "metrics.json").is_file():
        raise ModelError(f"{path} finished training (metrics.json is there); train a new run, or use this one with "
                         f"`kagglekit evaluate` or `kagglekit predict`")
    return path, saved_state.load(path)


def resume_run(run_dir, checkpoint, data_folder, epochs=None, callback=None, on_batch=None):
    """Continue an interrupted run (see unfinished_run) from its checkpoint to the end, with its config
    (epochs changed if given); returns (run folder, metrics dict) as train_run does. The rows trained on
    must be the same: data_folder's train.csv must be the run's. A failure leaves the folder as the last
    checkpoint left it."""
    config = checkpoint.config if epochs is None else checkpoint.config.override(epochs=epochs)
    if config.epochs <= checkpoint.epoch:
        raise ConfigError(f"--epochs {config.epochs} leaves nothing to do: {run_dir}'s checkpoint is from epoch "
                          f"{checkpoint.epoch}; give more epochs, or leave --epochs out")
    try:
        return run_dir, _train_into(run_dir, data_folder, config, callback, checkpoint, on_batch)
    except KeyboardInterrupt as e:
        if isinstance(e, Interrupted):
            raise
        raise _kept(run_dir) from None


def learning_warning(report, losses, lr):
    """Why a finished run should not be trusted, or "": validation accuracy near chance (at most 1.5x
    1/10), or a training loss that ended above the first epoch's. Both can happen with finite weights
    (e.g. --lr 100), which the trainer's own divergence check does not catch."""
    acc = report["accuracy"]
    if report["n"] >= MIN_JUDGED_ROWS and acc <= 1.5 * CHANCE:
        return (f"validation accuracy {acc:.4f} is no better than chance ({CHANCE:.2f} for {N_CLASSES} digits): "
                f"the model learned nothing; lower --lr (now {lr:g}) or check the data")
    if len(losses) > 1 and losses[-1] > losses[0]:
        return (f"the training loss rose from {losses[0]:.4f} (epoch 1) to {losses[-1]:.4f} (epoch {len(losses)}): "
                f"training diverged; lower --lr (now {lr:g})")
    return ""


def _train_into(run_dir, data_folder, config, callback, resume=None, on_batch=None):
    raw = train_pixels(Path(data_folder) / "train.csv")  # uint8: train_model converts what it splits off
    x, y = raw[:, 1:], raw[:, 0].astype(np.int64)
    data = data_record(data_folder)

    def checkpoint(net, optimizer, rng, history):
        net.meta["data"] = data
        saved_state.save(run_dir, net, optimizer, rng, history, config)

    start = time.perf_counter() - (resume.record["history"][-1]["seconds"] if resume else 0)
    net, history, (_, val_idx) = train_model(x, y, config, callback, checkpoint, resume and resume.restore,
                                             on_batch)
    seconds = time.perf_counter() - start
    net.meta["data"] = data
    best = history.rows[history.best_epoch - 1]
    report = classification_report(y[val_idx], net.predict(to_float(x, val_idx)))
    metrics = {"validation": report,
               "train_accuracy": best["train_acc"], "train_seconds": round(seconds, 3),
               "epochs": config.epochs, "epochs_run": len(history.rows), "best_epoch": history.best_epoch,
               "n_train": int(len(y) - len(val_idx)), "data": data,
               "warning": learning_warning(report, history.column("train_loss"), config.lr)}
    with saved_state.interrupts_deferred():  # the finished run's files, then no checkpoint: all or none
        net.save(run_dir / MODEL_FILE)
        _write_json(run_dir / "config.json", config.to_dict())
        _write_history(run_dir / "history.csv", history)
        _write_json(run_dir / "metrics.json", metrics)
        saved_state.remove(run_dir)
    return metrics


def resolve_model(path=None, runs=RUNS):
    """A model file from a run folder, a run name, a .npz path, or (None or "newest") the newest run under
    runs/ (the CLI names it, as it is a guess)."""
    if path == NEWEST:
        path = None
    if path is None:
        models = sorted(Path(runs).glob(f"*/{MODEL_FILE}"), key=lambda p: p.stat().st_mtime)
        if not models:
            raise ModelError(f"no trained model found in {runs}/; run `kagglekit train` first or pass a model")
        return models[-1]
    path = Path(path)
    if not path.exists() and (Path(runs) / path).is_dir():  # a bare run name
        path = Path(runs) / path
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"model {path} not found; pass a run folder or model file from `kagglekit train`")
    return path


def run_submission(run):
    """runs/<run>/submission.csv (run: a folder, a name or "newest"); ModelError when it was not written."""
    folder = resolve_model(run).parent
    path = folder / "submission.csv"
    if not path.is_file():
        raise ModelError(f"{folder} has no submission.csv: write it with `kagglekit predict {folder}`, or pass "
                         f"another --run")
    return path


def load_model(path=None):
    """(Network, TrainConfig it was trained with) from a run folder or model file."""
    model_path = resolve_model(path)
    net = Network.load(model_path)
    if "config" not in net.meta:
        raise ModelError(f"{model_path} carries no training config; retrain it with `kagglekit train`")
    try:
        return net, TrainConfig.from_dict(net.meta["config"])
    except (KagglekitError, TypeError, ValueError, AttributeError) as e:  # a meta altered by hand
        why = str(e) if isinstance(e, KagglekitError) else type(e).__name__
        raise ModelError(f"{model_path} carries a training config that does not read back ({why}); retrain it "
                         "with `kagglekit train`") from None


def _check_fits(net, x, what):
    if net.n_in != x.shape[1]:
        raise ModelError(f"the model takes {net.n_in} inputs but {what} has {x.shape[1]} pixels; "
                         "use a model trained on this competition's data")


def evaluate(model=None, data_folder=None):
    """Re-create the model's validation holdout from train.csv and report on it."""
    net, config = load_model(model)
    x, y = load_train(Path(data_folder) / "train.csv")
    _check_fits(net, x, "train.csv")
    (_, val_idx), _ = holdout(y, config)
    return classification_report(y[val_idx], net.predict(x[val_idx]))


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


def predict(model=None, data_folder=None, output=None):
    """Predict test.csv with a model, write `ImageId,Label` in sample_submission's order, and validate it."""
    net, _ = load_model(model)
    if output is None:
        output = resolve_model(model).parent / "submission.csv"

    def checked_predict(x):
        _check_fits(net, x, "test.csv")
        return net.predict(x)

    try:
        path, _ = predict_test(checked_predict, data_folder, output)
    except KeyboardInterrupt:
        raise Interrupted(f"{output} was not written") from None
    return path
