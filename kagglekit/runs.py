"""What is known of each finished run folder beyond its training: record.json holds the submissions
made from it (ref, message, time, and Kaggle's scores once known) and its k-fold result, if one was
run; `table` lists every run under runs/ with the numbers worth comparing, best first."""
import dataclasses
import json
import time
from pathlib import Path

from .config import PRESETS, TrainConfig
from .errors import ConfigError
from .files import write_text
from .pipeline import RUNS

RECORD = "record.json"
METRICS = "metrics.json"


def is_run(folder):
    """Whether `folder` is a finished run folder (it has metrics.json)."""
    return (Path(folder) / METRICS).is_file()


def read_json(path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def read_record(run_dir):
    """The run's record: {"submissions": [...], "kfold": {...} or absent}."""
    record = read_json(Path(run_dir) / RECORD, {})
    record = record if isinstance(record, dict) else {}
    record.setdefault("submissions", [])
    return record


def _write_record(run_dir, record):
    write_text(Path(run_dir) / RECORD, json.dumps(record, indent=2) + "\n")


def run_of(file):
    """The finished run folder a submission file was written into (runs/x/submission.csv), or None."""
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


def record_members(run_dir, members):
    """The hook for ensembles: name the run folders an ensemble run was built from, so that its report
    links their reports."""
    record = read_record(run_dir)
    record["members"] = [str(Path(m)) for m in members]
    _write_record(run_dir, record)


def run_folders(runs=RUNS):
    """The finished run folders under `runs`, by name."""
    root = Path(runs)
    return sorted(p for p in root.iterdir() if is_run(p)) if root.is_dir() else []


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
    scores = [s["public"] for s in record["submissions"] if s.get("public")]
    return max(scores, key=float) if scores else ""


def summary(run_dir):
    """One row of the runs table, from the files in a finished run folder."""
    run_dir = Path(run_dir)
    metrics, record = read_json(run_dir / METRICS, {}), read_record(run_dir)
    config = TrainConfig.from_dict(read_json(run_dir / "config.json"))
    preset, changed = nearest_preset(config)
    return {"name": run_dir.name, "path": str(run_dir), "preset": preset, "changed": changed,
            "architecture": config.architecture, "optimizer": config.optimizer, "lr": config.lr,
            "schedule": config.schedule, "batch_size": config.batch_size, "epochs": config.epochs,
            "epochs_run": metrics.get("epochs_run"), "best_epoch": metrics.get("best_epoch"),
            "val_accuracy": metrics["validation"]["accuracy"], "val_rows": metrics["validation"]["n"],
            "train_seconds": metrics.get("train_seconds"), "kfold": record.get("kfold", {}).get("mean"),
            "public": best_public(record), "submissions": len(record["submissions"])}


def table(runs=RUNS):
    """(rows, unreadable): summary() of every finished run under `runs`, the best validation accuracy
    first, and the folders whose config.json or metrics.json cannot be read."""
    rows, unreadable = [], []
    for run_dir in run_folders(runs):
        try:
            rows.append(summary(run_dir))
        except (ConfigError, KeyError, TypeError, ValueError):
            unreadable.append(run_dir)
    rows.sort(key=lambda r: (-r["val_accuracy"], r["train_seconds"] or 0, r["name"]))
    return rows, unreadable
