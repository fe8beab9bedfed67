"""What is known of each finished run or ensemble beyond its training: record.json holds the submissions
made from it (ref, message, time, and Kaggle's scores once known) and its k-fold result, if one was
run; `submit` sends a run's submission and records it there; `table` lists every finished run and
ensemble under runs/ with the numbers worth comparing, best first."""
import dataclasses
import time
from pathlib import Path

from . import rundir
from .rundir import is_number
from .competition import send_submission
from .config import PRESETS, TrainConfig
from .errors import ConfigError, ModelError
from .metrics import estimate_of

RUNS, RECORD, METRICS = rundir.RUNS, rundir.RECORD, rundir.METRICS


def is_run(folder):
    """Whether `folder` is a finished run or ensemble folder."""
    return rundir.is_finished(folder)


def read_record(run_dir):
    """The run's record: {"submissions": [...], "kfold": {...} or absent}; empty when missing or damaged."""
    record = rundir.read_json_or(Path(run_dir) / RECORD, {})
    if not isinstance(record.get("submissions"), list) or not all(isinstance(s, dict) for s in record["submissions"]):
        record["submissions"] = []
    kfold = record.get("kfold")
    if not (isinstance(kfold, dict) and isinstance(kfold.get("folds"), list)
            and all(isinstance(kfold.get(k), (int, float)) for k in ("mean", "std"))):
        record.pop("kfold", None)
    return record


def _write_record(run_dir, record):
    rundir.write_json(Path(run_dir) / RECORD, record)


def run_of(file):
    """The finished run or ensemble folder a submission file was written into (runs/x/submission.csv), or None."""
    folder = Path(file).resolve().parent
    return folder if is_run(folder) else None


def record_submission(run_dir, ref, message, competition, file, public=None):
    """Add a submission sent to Kaggle from this run to its record; `public` when already scored."""
    record = read_record(run_dir)
    record["submissions"].append({"ref": ref, "message": message, "competition": competition,
                                  "file": Path(file).name, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                                  "status": "complete" if public else "pending",
                                  "public": public or "", "private": ""})
    _write_record(run_dir, record)


def record_public(run_dir, ref, public):
    """Note the public score Kaggle gave the run's submission `ref` (after waiting for it)."""
    record = read_record(run_dir)
    for entry in record["submissions"]:
        if entry.get("ref") == ref:
            entry.update(status="complete", public=public or "")
    _write_record(run_dir, record)


def record_scores(submissions, runs=RUNS):
    """Copy Kaggle's status and scores (kaggle_api.Submission values) onto the submissions that run
    folders under `runs` recorded, matched by ref; returns the run folders whose record changed."""
    by_ref = {s.ref: s for s in submissions}
    changed = []
    for run_dir in run_folders(runs):
        record = read_record(run_dir)
        updated = False
        for entry in record["submissions"]:
            s = by_ref.get(entry.get("ref"))
            if s is None:
                continue
            new = {"status": s.status, "public": s.public, "private": s.private}
            if any(entry.get(k) != v for k, v in new.items()):
                entry.update(new)
                updated = True
        if updated:
            _write_record(run_dir, record)
            changed.append(run_dir)
    return changed


def record_kfold(run_dir, result):
    """Keep a k-fold cross-validation result ({"folds", "mean", "std"}) in the run's record."""
    record = read_record(run_dir)
    record["kfold"] = result
    _write_record(run_dir, record)


def submit(file, message, competition, wait=False, sample=None, source=None, on_recorded=None, **callbacks):
    """competition.send_submission, recording the submission (and its public score, when waited for) in the
    run or ensemble folder the file was written into; on_recorded(run folder) after each record, e.g. to
    rewrite its report. callbacks: on_note, on_sent, on_poll, quiet. Returns the Sent."""
    run_dir, on_sent = run_of(file), callbacks.pop("on_sent", None)

    def sent(s):
        if run_dir is not None:
            record_submission(run_dir, s.ref, message, s.competition, s.file)
            on_recorded and on_recorded(run_dir)
        on_sent and on_sent(s)

    result = send_submission(file, message, competition, wait, sample, source, on_sent=sent, **callbacks)
    if wait and run_dir is not None:
        record_public(run_dir, result.ref, result.public)
        on_recorded and on_recorded(run_dir)
    return result


def run_folders(runs=RUNS):
    """The finished run and ensemble folders under `runs`, by name."""
    return rundir.folders(runs)


def nearest_preset(config):
    """(name, {field: value}) of the preset from which config differs in the fewest fields, and those
    fields: how a command line would spell config most briefly."""
    def changes(name):
        start = PRESETS[name]
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)
                if getattr(config, f.name) != getattr(start, f.name)}
    name = min(PRESETS, key=lambda n: len(changes(n)))
    return name, changes(name)


def best_public(record):
    """The best public score among the run's scored submissions, as Kaggle printed it, or ""."""
    def score(s):
        try:
            return float(s.get("public"))
        except (TypeError, ValueError):
            return None
    scores = [s["public"] for s in record["submissions"] if score(s) is not None]
    return max(scores, key=float) if scores else ""


def run_config(run_dir):
    """The TrainConfig a finished run or ensemble was trained with (an ensemble's: with its members)."""
    run_dir = Path(run_dir)
    path = run_dir / rundir.CONFIG
    if not path.is_file() and rundir.is_ensemble(run_dir):  # ensembles before config.json
        path = run_dir / rundir.ENSEMBLE
    saved = rundir.read_json(path)
    try:
        return TrainConfig.from_dict(saved.get("config") if path.name == rundir.ENSEMBLE else saved)
    except ConfigError as e:
        raise ModelError(f"{path} is damaged ({e}); train the run again") from None


def read_metrics(run_dir):
    """A finished run's or ensemble's metrics.json, checked to hold what the table and the report read;
    ModelError, one line naming the file, when it does not."""
    path = Path(run_dir) / METRICS
    metrics = rundir.read_json(path)
    if metrics.get("trained_on") == "every row":
        raise ModelError(f"{run_dir} was retrained on every row (--full): it has no held-out rows to report on; "
                         f"its ensemble's report covers it: `kagglekit report {Path(run_dir).parent.parent}`")
    validation, full = metrics.get("validation"), metrics.get("full")
    ok = (isinstance(validation, dict) and is_number(validation.get("accuracy")) and is_number(validation.get("n"))
          and isinstance(validation.get("per_class"), list) and isinstance(validation.get("confusion"), list)
          and all(is_number(metrics.get(k)) for k in ("train_seconds", "n_train"))
          and all(metrics.get(k) is None or is_number(metrics[k]) for k in ("epochs_run", "best_epoch", "epochs"))
          and isinstance(metrics.get("data", {}), dict) and isinstance(metrics.get("warning", ""), str)
          and (metrics.get("estimate") is None or (isinstance(metrics["estimate"], dict) and all(
              is_number(metrics["estimate"].get(k)) for k in ("accuracy", "low", "high", "n"))))
          and (full is None or isinstance(full, dict) and all(is_number(full.get(k)) for k in ("members", "epochs",
                                                                                             "n_train"))))
    if not ok:
        raise ModelError(f"{path} is damaged (it does not hold a run's metrics); train the run again")
    return metrics


def summary(run_dir):
    """One row of the runs table, from the files in a finished run or ensemble folder; ModelError or
    ConfigError, one line naming the file, when one of them is damaged."""
    run_dir = Path(run_dir)
    metrics, record = read_metrics(run_dir), read_record(run_dir)
    config = run_config(run_dir)
    validation = metrics["validation"]
    preset, changed = nearest_preset(config)
    return {"name": run_dir.name, "path": str(run_dir), "kind": rundir.kind(run_dir),
            "members": config.members, "preset": preset, "changed": changed,
            "architecture": config.architecture, "optimizer": config.optimizer, "lr": config.lr,
            "schedule": config.schedule, "batch_size": config.batch_size, "epochs": config.epochs,
            "epochs_run": metrics.get("epochs_run"), "best_epoch": metrics.get("best_epoch"),
            "val_accuracy": validation["accuracy"], "val_rows": validation["n"], "estimate": estimate_of(metrics),
            "train_seconds": metrics.get("train_seconds"), "kfold": record.get("kfold", {}).get("mean"),
            "full": {k: metrics["full"][k] for k in ("members", "epochs", "n_train")} if "full" in metrics else None,
            "public": best_public(record), "submissions": len(record["submissions"])}


def table(runs=RUNS):
    """(rows, unreadable): summary() of every finished run under `runs`, the best validation accuracy
    first, and the folders whose config.json or metrics.json cannot be read."""
    rows, unreadable = [], []
    for run_dir in run_folders(runs):
        try:
            rows.append(summary(run_dir))
        except (ConfigError, ModelError):
            unreadable.append(run_dir)
    rows.sort(key=lambda r: (-r["val_accuracy"], r["train_seconds"] or 0, r["name"]))
    return rows, unreadable
