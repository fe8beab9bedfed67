"""Ensembles: a config with members K trains K runs of their own (TrainConfig.member: seed + i, the
ensemble's holdout, the archs in turn) into one ensemble folder runs/<name>/, which holds ensemble.json
(the config, the data, the member folders) and members/<i>/ (each a plain run folder); once all are
trained, metrics.json holds the ensemble's own validation report: the members' averaged probabilities on
their shared holdout. Members train as joblib tasks (parallel.py); those that finished are kept, and
resume_ensemble trains only the missing ones. Several runs, or ensemble folders, also predict together."""
import json
import shutil
import time
from pathlib import Path

from . import pipeline
from .config import TrainConfig
from .data import check_competition_folder, load_train
from .errors import DataError, ModelError
from .files import write_text
from .metrics import accuracy, classification_report
from .parallel import Failed, run_tasks
from .recipe import average_proba, holdout, predict_test

ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"


def is_ensemble(path):
    return path is not None and (Path(path) / ENSEMBLE_FILE).is_file()


def train_member(data_folder, config, folder):
    """The task: train one member's config into run folder `folder` (continuing it from its checkpoint when
    an interrupted member left one there); returns (folder, metrics). A pure function of its arguments."""
    folder = Path(folder)
    if folder.is_dir():
        try:
            run_dir, checkpoint = pipeline.unfinished_run(folder)
        except ModelError:  # no checkpoint that fits (killed before its first epoch ended): start again
            shutil.rmtree(folder)
        else:
            return str(run_dir), pipeline.resume_run(run_dir, checkpoint, data_folder)[1]
    run_dir, metrics = pipeline.train_run(data_folder, config, folder.name, runs=folder.parent)
    return str(run_dir), metrics


def _write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def train_ensemble(data_folder, config, name=None, runs=pipeline.RUNS, **parallel):
    """Train config.members members into a new ensemble folder; returns (folder, metrics). parallel:
    jobs, backend, scheduler, on_member (see finish)."""
    check_data(data_folder, config)  # before the folder is made: bad data leaves nothing behind
    run_dir = pipeline.new_run_dir(name, runs)
    members = [{"folder": f"{MEMBERS_DIR}/{i}", "seed": config.member(i).seed, "arch": config.member(i).architecture}
               for i in range(config.members)]
    _write_json(run_dir / ENSEMBLE_FILE, {"config": config.to_dict(), "data": pipeline.data_record(data_folder),
                                          "members": members})
    return run_dir, finish(run_dir, data_folder, **parallel)


def check_data(data_folder, config):
    """Check and cache train.csv once, before the tasks read it, and the holdout all members share: data
    that cannot train a member fails once, not once per member."""
    _, y = load_train(Path(data_folder) / "train.csv")
    holdout(y, config.member(0))


def read_ensemble(folder):
    """(config, ensemble.json's dict) of an ensemble folder; ModelError, one line, for what is not one."""
    path = Path(folder) / ENSEMBLE_FILE
    if not path.is_file():
        raise ModelError(f"{folder} is not an ensemble folder (no {ENSEMBLE_FILE}); train one with "
                         f"`kagglekit train --members K`")
    try:
        record = json.loads(path.read_text())
        return TrainConfig.from_dict(record["config"]), record
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{path} is corrupt ({type(e).__name__}); train the ensemble again") from None


def trained_on(folder, path=None):
    """The data folder to finish an ensemble with: path, or the one it recorded; DataError unless its
    train.csv is the ensemble's (the members must hold out the same rows)."""
    _, record = read_ensemble(folder)
    data = Path(path or record["data"]["folder"])
    check_competition_folder(data)
    if pipeline.train_fingerprint(data) != record["data"]["train_csv"]:
        raise DataError(f"{data}/train.csv is not the train.csv the ensemble {folder} was trained on "
                        f"({record['data']['folder']}/train.csv): its members would hold out other rows; "
                        f"pass -p FOLDER holding that file")
    return data


def missing_members(folder):
    """Indices of the members of an ensemble folder that have not finished training."""
    config, record = read_ensemble(folder)
    return [i for i, m in enumerate(record["members"]) if not (Path(folder) / m["folder"] / "metrics.json").is_file()]


def finish(run_dir, data_folder, jobs=1, backend="loky", scheduler=None, on_member=None):
    """Train the ensemble's missing members as parallel tasks, then write its metrics.json; returns the
    metrics. on_member(i, metrics or why) as each member ends. ModelError naming each member that failed
    (those that finished are kept, and calling this again trains only the others)."""
    run_dir = Path(run_dir)
    config, record = read_ensemble(run_dir)
    pending = missing_members(run_dir)
    check_data(data_folder, config)
    start = time.perf_counter()
    tasks = [(str(Path(data_folder).resolve()), config.member(i), str((run_dir / record["members"][i]["folder"])
                                                                        .resolve())) for i in pending]
    results = run_tasks(train_member, tasks, jobs, backend, scheduler,
                        on_done=on_member and (lambda k, r: on_member(
                            pending[k], r.why if isinstance(r, Failed) else r[1])))
    failed = [(pending[k], r.why) for k, r in enumerate(results) if isinstance(r, Failed)]
    if failed:
        done = len(record["members"]) - len(failed)
        lines = "; ".join(f"member {i} (seed {config.member(i).seed}) failed: {why}" for i, why in failed)
        raise ModelError(f"{lines}. The {done} member(s) that finished are kept in {run_dir}; "
                         f"`kagglekit train --resume {run_dir}` trains the missing ones")
    metrics = ensemble_metrics(run_dir, data_folder, time.perf_counter() - start)
    _write_json(run_dir / "metrics.json", metrics)
    return metrics


def member_folders(folder):
    """The member run folders of an ensemble folder, each checked to hold its model."""
    _, record = read_ensemble(folder)
    folders = [Path(folder) / m["folder"] for m in record["members"]]
    for f in folders:
        if not (f / pipeline.MODEL_FILE).is_file():
            raise ModelError(f"member {f} of the ensemble {folder} is missing (no {pipeline.MODEL_FILE}); "
                             f"`kagglekit train --resume {folder}` trains it again")
    return folders


def ensemble_metrics(run_dir, data_folder, seconds):
    nets, config = load_runs([run_dir], same_holdout=True)
    x, y = load_train(Path(data_folder) / "train.csv")
    (_, val_idx), _ = holdout(y, config)
    report = classification_report(y[val_idx], average_proba(nets, x[val_idx]).argmax(axis=1))
    members = [json.loads((f / "metrics.json").read_text()) for f in member_folders(run_dir)]
    return {"validation": report, "members": len(nets),
            "member_accuracy": [m["validation"]["accuracy"] for m in members],
            "member_train_seconds": [m["train_seconds"] for m in members],
            "train_seconds": round(seconds, 3), "n_train": int(len(y) - len(val_idx)),
            "data": pipeline.data_record(data_folder),
            "warning": "; ".join(f"member {i}: {m['warning']}" for i, m in enumerate(members) if m["warning"])}


def newest(runs=pipeline.RUNS):
    """The newest finished run folder under runs/, an ensemble or a single run; None if there is none."""
    done = [*Path(runs).glob(f"*/{pipeline.MODEL_FILE}"),
            *(p.with_name("metrics.json") for p in Path(runs).glob(f"*/{ENSEMBLE_FILE}"))]
    done = [p for p in done if p.is_file()]
    return max(done, key=lambda p: p.stat().st_mtime).parent if done else None


def expand(paths):
    """The run folders (or model files) that paths name: an ensemble folder stands for its members."""
    runs = []
    for path in paths:
        if is_ensemble(path):
            runs += member_folders(path)
        elif path is not None and not Path(path).exists() and is_ensemble(pipeline.RUNS / path):
            runs += member_folders(pipeline.RUNS / path)
        else:
            runs.append(pipeline.resolve_model(path))
    return runs


def load_runs(paths, same_holdout=False):
    """([Network], the first run's TrainConfig) of the runs paths name (see expand); ModelError, one line,
    for models that cannot be averaged: other inputs, or with same_holdout (evaluate) other holdout rows."""
    loaded = [(pipeline.resolve_model(run), *pipeline.load_model(run)) for run in expand(paths)]
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


def _holdout_of(net, config):
    data = net.meta.get("data")
    return (config.seed if config.holdout_seed is None else config.holdout_seed, config.val_size,
            data.get("train_csv") if isinstance(data, dict) else None)


def evaluate(paths, data_folder):
    """The averaged probabilities of the runs paths name, reported on their shared holdout; also each
    member's own accuracy there."""
    nets, config = load_runs(paths, same_holdout=True)
    x, y = load_train(Path(data_folder) / "train.csv")
    for net in nets:
        pipeline._check_fits(net, x, "train.csv")
    (_, val_idx), _ = holdout(y, config)
    report = classification_report(y[val_idx], average_proba(nets, x[val_idx]).argmax(axis=1))
    report["members"] = [accuracy(y[val_idx], net.predict(x[val_idx])) for net in nets]
    return report


def default_output(paths):
    """Where predict writes without -o: the one run or ensemble folder named; several need -o."""
    if len(paths) > 1:
        raise ModelError("predicting with several runs needs -o FILE: which run folder would hold the submission?")
    path = paths[0]
    if is_ensemble(path) or is_ensemble(pipeline.RUNS / path):
        return (Path(path) if is_ensemble(path) else pipeline.RUNS / path) / "submission.csv"
    return pipeline.resolve_model(path).parent / "submission.csv"


def predict(paths, data_folder, output=None):
    """Predict test.csv with the averaged probabilities of the runs paths name; write and check the
    submission (default: in the one folder named)."""
    nets, _ = load_runs(paths)
    output = default_output(paths) if output is None else output

    def checked(x):
        for net in nets:
            pipeline._check_fits(net, x, "test.csv")
        return average_proba(nets, x).argmax(axis=1)
    return predict_test(checked, data_folder, output)[0]


def first_model(paths):
    """The model file of the first run paths name: whose recorded data the command uses."""
    return pipeline.resolve_model(expand(paths[:1])[0])

