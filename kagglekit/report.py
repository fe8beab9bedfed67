"""A run's report: report.md (the command that reproduces the run, its config, data, time,
accuracies, plots and Kaggle scores) and the PNGs under plots/ (see plots.py), written from the files
the run folder holds; only the gallery of wrong digits needs the data again. An ensemble's report also
lists its members, linked to their own reports, and draws their curves side by side."""
import csv
import shlex
from pathlib import Path

import numpy as np

from . import plots, rundir, runs
from .evaluation import holdout_proba
from .files import write_text
from .metrics import estimate_of, format_estimate
from .nn.train import learning_rate, steps_per_epoch
from .provenance import data_for_run

REPORT = "report.md"
PLOTS = "plots"
PICTURES = {"loss": "loss.png", "accuracy": "accuracy.png", "learning rate": "lr.png",
            "members": "members.png", "confusion matrix": "confusion.png", "most confidently wrong": "wrong.png"}
GALLERY = 16  # digits in the wrong-digits gallery


def read_history(run_dir):
    """history.csv as a list of {column: float} rows ([] when there is none)."""
    try:
        with open(Path(run_dir) / rundir.HISTORY, newline="") as f:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except (OSError, ValueError, TypeError, AttributeError, csv.Error):  # missing or damaged: no curves
        return []


def rate_per_step(config, n_train, epochs_run):
    """(epoch position of each optimizer step, its learning rate): the rates the run trained with,
    recomputed from its config (the schedule is a function of the step)."""
    per_epoch = steps_per_epoch(n_train, config.batch_size)
    rate = learning_rate(config, per_epoch)
    steps = np.arange(epochs_run * per_epoch)
    return steps / per_epoch, np.array([rate(int(s)) for s in steps])


def confidently_wrong(run, path=None, limit=GALLERY):
    """The misclassified validation digits of a finished run or ensemble (by its averaged probabilities),
    most confident first, at most `limit`: a dict of images (n, 784) in [0, 1], rows (their rows in
    train.csv), true, predicted and probability (n,). The data is the run's own (see
    provenance.data_for_run; path overrides it)."""
    files = rundir.model_files(run)
    folder, _ = data_for_run(run, files[0], path, same_train=True)
    y, val_idx, proba, _, _, x, _ = holdout_proba(files, folder)
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y[val_idx])
    wrong = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")][:limit]
    return {"images": x[val_idx[wrong]], "rows": val_idx[wrong], "true": y[val_idx[wrong]],
            "predicted": predicted[wrong], "probability": proba[wrong, predicted[wrong]]}


def make_plots(run_dir, path=None):
    """Write the run's PNGs into run_dir/plots/ (plots.available() must be true); returns their paths.
    The gallery of wrong digits is left out when the run's data cannot be found (DataError)."""
    from .errors import DataError
    run_dir, out = Path(run_dir), Path(run_dir) / PLOTS
    out.mkdir(exist_ok=True)
    history, metrics = read_history(run_dir), runs.read_metrics(run_dir)
    config = runs.run_config(run_dir)
    column = {k: np.array([row[k] for row in history]) for k in (history[0] if history else ())}
    written = []
    if rundir.is_ensemble(run_dir):
        curves = [(f"member {i}", *(np.array([row[k] for row in h]) for k in ("epoch", "val_loss", "val_acc")))
                  for i, h in enumerate(map(read_history, rundir.members(run_dir))) if h]
        written.append(plots.member_curves(out / PICTURES["members"], curves))
    elif history:
        written.append(plots.curves(out / PICTURES["loss"], column["epoch"], column["train_loss"],
                                    column["val_loss"], "cross-entropy", "Loss per epoch"))
        written.append(plots.curves(out / PICTURES["accuracy"], column["epoch"], column["train_acc"],
                                    column["val_acc"], "accuracy", "Accuracy per epoch"))
        written.append(plots.learning_rate(out / PICTURES["learning rate"],
                                           *rate_per_step(config, metrics["n_train"], len(history))))
    written.append(plots.confusion(out / PICTURES["confusion matrix"], metrics["validation"]["confusion"]))
    try:
        wrong = confidently_wrong(run_dir, path)
    except DataError:
        return written
    written.append(plots.gallery(out / PICTURES["most confidently wrong"], wrong["images"], wrong["true"],
                                 wrong["predicted"], wrong["probability"]))
    return written


def reproduce_command(run_dir):
    """The `kagglekit train` command line that trains this run again: the nearest preset, the settings
    that differ from it, the data folder the run recorded, and its name."""
    run_dir = Path(run_dir)
    config = runs.run_config(run_dir)
    name, changes = runs.nearest_preset(config)
    if "arch" in changes and changes["arch"] is None:  # from a conv preset to an MLP: --hidden says it
        del changes["arch"]
        changes["hidden"] = config.hidden
    words = ["kagglekit", "train", "--preset", name]
    for field, value in changes.items():
        option = "--" + field.replace("_", "-")
        if isinstance(value, bool):  # a flag: --full or --no-full
            words.append(option if value else "--no-" + option[2:])
            continue
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        words += [option, text]
    data = rundir.read_json_or(run_dir / rundir.METRICS, {}).get("data")
    if isinstance(data, dict) and isinstance(data.get("folder"), str):
        words += ["-p", data["folder"]]
    return shlex.join(words + ["--name", run_dir.name])


def _table(headers, rows):
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def _accuracy(value):
    return "-" if value is None else f"{value:.4f}"


def _training(metrics, run_dir):
    lines = ["## Training", "", f"- time: {metrics['train_seconds']:.1f} s"]
    if rundir.is_ensemble(run_dir):
        lines.append(f"- members: {metrics['members']}, trained as joblib tasks")
        if metrics.get("full"):
            lines.append(_full_line(metrics["full"]))
    else:
        lines.append(f"- epochs: {metrics['epochs_run']} run of {metrics['epochs']}, best epoch "
                     f"{metrics['best_epoch']} (its weights are kept)")
    return lines + ([f"- **warning**: {metrics['warning']}"] if metrics.get("warning") else [])


def _full_line(full):
    return (f"- submission: from {full['members']} networks retrained on all {full['n_train']:,} rows for "
            f"{full['epochs']} epochs (`--full`, in `{rundir.FULL}/`); no row is left to score them, so the "
            f"estimate is the fold members' out of fold")


def _members(run_dir, metrics):
    """The Members section of an ensemble's report: each member's holdout accuracy, linked to its report."""
    rows = []
    for i, (folder, acc) in enumerate(zip(rundir.members(run_dir), metrics.get("member_accuracy", []))):
        link = f"[{folder.relative_to(run_dir)}]({(folder.relative_to(run_dir) / REPORT).as_posix()})"
        rows.append([i, link, _accuracy(acc)])
    return ["## Members", "", *_table(["member", "run folder", "holdout accuracy"], rows), ""]


def write_report(run_dir):
    """Write run_dir/report.md from the files of a finished run or ensemble (and the PNGs already in
    plots/); returns its path. ModelError, one line naming the file, when metrics.json is damaged."""
    run_dir = Path(run_dir)
    metrics, record = runs.read_metrics(run_dir), runs.read_record(run_dir)
    config = runs.run_config(run_dir)
    validation, data = metrics.get("validation", {}), metrics.get("data", {})
    what = f"Ensemble {run_dir.name} ({config.members} members)" if rundir.is_ensemble(run_dir) else \
        f"Run {run_dir.name}"
    csv_info = data.get("train_csv", {})
    lines = [f"# {what}", "", "Reproduce it:", "", "```", reproduce_command(run_dir), "```", "",
             "## Config", "", *_table(["setting", "value"], config.to_dict().items()), "",
             "## Data", "", f"- folder: `{data.get('folder', '?')}`",
             f"- train.csv: {csv_info.get('size', '?')} bytes, sha256 {str(csv_info.get('sha256', '?'))[:12]}",
             f"- rows: {metrics['n_train']} trained on, {validation['n']} held out for validation", "",
             *_training(metrics, run_dir)]
    kfold, est = record.get("kfold"), estimate_of(metrics)
    lines += ["", "## Accuracy", "", "The estimate is measured on rows that neither trained the network nor chose "
              "its epoch (out-of-fold: every row, each by the member that held it out).", "", *_table(["measure", "accuracy"], [
        [f"estimate: {est['method']} ({est['n']:,} rows)", format_estimate(est)],
        *([["train (best epoch)", _accuracy(metrics.get("train_accuracy"))]] if "train_accuracy" in metrics else []),
        [f"{len(kfold['folds'])}-fold cross-validation", (format_estimate(kfold["estimate"]) + "; per fold "
                                                           if isinstance(kfold.get("estimate"), dict) else "")
         + f"{kfold['mean']:.4f} ± {kfold['std']:.4f}"]
        if kfold else ["k-fold cross-validation", f"not run (`kagglekit evaluate {run_dir} --folds 5`)"]]),
        "", "Per class (holdout):", "",
        *_table(["digit", *range(len(validation["per_class"]))],
                [["accuracy", *map(_accuracy, validation["per_class"])]]), ""]
    if rundir.is_ensemble(run_dir):
        lines += _members(run_dir, metrics)
    pictures = [(title, f"{PLOTS}/{name}") for title, name in PICTURES.items() if (run_dir / PLOTS / name).is_file()]
    lines += ["## Plots", ""]
    lines += [f"![{title}]({name})\n" for title, name in pictures] or [
        f"None yet: {plots.INSTALL_HINT}, then `kagglekit report {run_dir}`."]
    lines += ["", "## Kaggle submissions", ""]
    lines += _table(["ref", "date", "message", "status", "public", "private"],
                    [[s.get("ref"), s.get("date"), s.get("message"), s.get("status"), s.get("public") or "-",
                      s.get("private") or "-"] for s in record["submissions"]]) if record["submissions"] else [
        f"None yet: `kagglekit submit --run {run_dir} -m MESSAGE --wait`."]
    write_text(run_dir / REPORT, "\n".join(lines) + "\n")
    return run_dir / REPORT
