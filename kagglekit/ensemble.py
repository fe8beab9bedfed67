"""Runs of one or more networks, the unit every command takes. A config with members 1 trains one run
folder (pipeline.py); with members K it trains an ensemble folder runs/<name>/ holding ensemble.json (the
config, the data, the member folders), config.json, and members/<i>/, each a plain run folder
(TrainConfig.member: seed + i, the ensemble's holdout, the archs in turn). Once all are trained,
metrics.json holds the ensemble's own validation report: the members' averaged probabilities on their
shared holdout. With --full (and --folds K), K more members then train on every row, in full/<i>, for
the epochs the folds kept: they predict, and the estimate stays the folds' (nothing is left to score
them on). Members train as joblib tasks (parallel.py); those that finished are kept, and `resume` trains
only the missing ones, the folds' first. Predicting averages the probabilities of whatever runs are named."""
import shutil
import time
from pathlib import Path

from . import pipeline, rundir
from .config import TrainConfig
from .data import check_competition_folder, load_train
from .errors import ConfigError, DataError, Interrupted, ModelError
from .evaluation import check_fits, evaluate, load_runs
from .fast.workers import cores
from .parallel import Failed, check_backend, run_tasks, task_cores
from .provenance import data_record, train_fingerprint
from .recipe import holdout, predict_test, tta_proba


def train(data_folder, config, name=None, runs=rundir.RUNS, callback=None, on_batch=None, on_member=None,
          jobs=1, backend="loky", scheduler=None, threads=None):
    """Train config into a new run folder: one run (members 1; callback and on_batch report its epochs
    and steps) or an ensemble (on_member reports each member), on `threads` cores (None: all this process
    may use; see parallel.task_cores). Returns (folder, metrics)."""
    if config.full and config.fold is not None:
        raise ConfigError(f"--full with --fold {config.fold} would train one network on every row, with no rows left "
                          f"to estimate it on; leave --fold out to train the whole ensemble")
    if config.members == 1:
        return pipeline.train_run(data_folder, config, name, callback, runs, on_batch, task_cores(threads))
    return train_ensemble(data_folder, config, name, runs, jobs=jobs, backend=backend, scheduler=scheduler,
                          on_member=on_member, threads=threads)


def train_member(data_folder, config, folder, workers=1):
    """The task: train one member's config into run folder `folder` (continuing it from its checkpoint when
    an interrupted member left one there), each step in `workers` processes or threads; returns (folder,
    metrics). A pure function of its arguments."""
    folder = Path(folder)
    if folder.is_dir():
        try:
            run_dir, checkpoint = pipeline.unfinished_run(folder)
        except ModelError:  # no checkpoint that fits (killed before its first epoch ended): start again
            shutil.rmtree(folder)
        else:
            return str(run_dir), pipeline.resume_run(run_dir, checkpoint, data_folder, workers=workers)[1]
    run_dir, metrics = pipeline.train_run(data_folder, config, folder.name, runs=folder.parent, workers=workers)
    return str(run_dir), metrics


def train_ensemble(data_folder, config, name=None, runs=rundir.RUNS, **parallel):
    """Train config.members members into a new ensemble folder; returns (folder, metrics). parallel:
    jobs, backend, scheduler, threads, on_member (see finish). A start that fails before any member has
    trained (a cluster that cannot be reached, a backend not installed) leaves no folder behind."""
    check_backend(parallel.get("backend", "loky"), parallel.get("jobs", 1))
    check_data(data_folder, config)  # before the folder is made: bad data leaves nothing behind
    run_dir = rundir.new(name, runs)
    members = [{"folder": f"{rundir.MEMBERS}/{i}", "seed": config.member(i).seed,
                "arch": config.member(i).architecture} for i in range(config.members)]
    full = [{**m, "folder": f"{rundir.FULL}/{i}"} for i, m in enumerate(members)] if config.full else None
    try:
        rundir.write_json(run_dir / rundir.ENSEMBLE, {"config": config.to_dict(), "data": data_record(data_folder),
                                                      "members": members, **({rundir.FULL: full} if full else {})})
        rundir.write_json(run_dir / rundir.CONFIG, config.to_dict())
        return run_dir, finish(run_dir, data_folder, **parallel)
    except BaseException:
        if not _started(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _started(run_dir):
    """Whether any member of the ensemble folder has trained an epoch (then the folder is worth resuming)."""
    try:
        return any(rundir.kind(m) for m in rundir.members(run_dir) + rundir.full_members(run_dir))
    except ModelError:
        return False


def check_data(data_folder, config):
    """Check and cache train.csv once, before the tasks read it, and the holdout (or first fold) the members
    share: data that cannot train a member fails once, not once per member."""
    _, y = load_train(Path(data_folder) / "train.csv")
    holdout(y, config.member(0))


def read_ensemble(folder):
    """(config, ensemble.json's dict) of an ensemble folder; ModelError, one line, for what is not one."""
    path = Path(folder) / rundir.ENSEMBLE
    if not path.is_file():
        raise ModelError(f"{folder} is not an ensemble folder (no {rundir.ENSEMBLE}); train one with "
                         f"`kagglekit train --members K`")
    record = rundir.read_json(path)
    rundir.members(folder)  # checked: a list of folders inside this one
    try:
        config = TrainConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path} is damaged ({type(e).__name__}); train the ensemble again") from None
    if len(rundir.full_members(folder)) != (config.members if config.full else 0):
        raise ModelError(f"{path} is damaged (its full members do not match its config); train the ensemble again")
    return config, record


def trained_on(folder, path=None):
    """The data folder to finish an ensemble with: path, or the one it recorded; DataError unless its
    train.csv is the ensemble's (the members must hold out the same rows)."""
    _, record = read_ensemble(folder)
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    if path is None and not isinstance(data.get("folder"), str):
        raise ModelError(f"{Path(folder) / rundir.ENSEMBLE} is damaged (no data folder); pass -p FOLDER")
    data_folder = Path(path or data["folder"])
    check_competition_folder(data_folder)
    if train_fingerprint(data_folder) != data.get("train_csv"):
        raise DataError(f"{data_folder}/train.csv is not the train.csv the ensemble {folder} was trained on "
                        f"({data.get('folder')}/train.csv): its members would hold out other rows; "
                        f"pass -p FOLDER holding that file")
    return data_folder


def missing_members(folder, full=False):
    """Indices of the members of an ensemble folder that have not finished training (full: of those
    retrained on every row)."""
    listed = rundir.full_members(folder) if full else rundir.members(folder)
    return [i for i, m in enumerate(listed) if rundir.kind(m) != rundir.RUN]


def finish(run_dir, data_folder, jobs=1, backend="loky", scheduler=None, on_member=None, threads=None):
    """Train the ensemble's missing members as parallel tasks (sharing `threads` cores, see
    parallel.task_cores), then (--full) those retrained on every row, for full_epochs; then write its
    metrics.json and return the metrics. on_member(i, metrics or why) as each member ends, with full=True
    for the full ones. ModelError naming each member that failed (those that finished are kept, and
    calling this again trains only the others)."""
    run_dir = Path(run_dir)
    config, _ = read_ensemble(run_dir)
    check_data(data_folder, config)
    start, parallel = time.perf_counter(), (jobs, backend, scheduler)
    _train_missing(run_dir, data_folder, config.member, parallel, on_member, threads=threads)
    if config.full:  # only now are the epochs known: the fold members chose them
        epochs = full_epochs(run_dir, config)
        _train_missing(run_dir, data_folder, lambda i: config.full_member(i, epochs), parallel,
                       on_member and (lambda i, r: on_member(i, r, full=True)), full=True, threads=threads)
    metrics = ensemble_metrics(run_dir, data_folder, time.perf_counter() - start)
    rundir.write_json(run_dir / rundir.METRICS, metrics)
    return metrics


def _train_missing(run_dir, data_folder, member_config, parallel, on_member, full=False, threads=None):
    """Train the members missing_members(run_dir, full) names, member i from member_config(i), the tasks
    sharing `threads` cores (parallel.task_cores)."""
    folders = rundir.full_members(run_dir) if full else rundir.members(run_dir)
    pending = missing_members(run_dir, full)
    workers = task_cores(threads, parallel[0], len(pending))
    tasks = [(str(Path(data_folder).resolve()), member_config(i), str(folders[i].resolve()), workers)
             for i in pending]
    results = run_tasks(train_member, tasks, *parallel,
                        on_done=on_member and (lambda k, r: on_member(
                            pending[k], r.why if isinstance(r, Failed) else r[1])))
    failed = [(pending[k], r.why) for k, r in enumerate(results) if isinstance(r, Failed)]
    if failed:
        what = "full member" if full else "member"
        done = len(folders) - len(failed)
        lines = "; ".join(f"{what} {i} (seed {member_config(i).seed}) failed: {why}" for i, why in failed)
        raise ModelError(f"{lines}. The {done} {what}(s) that finished are kept in {run_dir}; "
                         f"`kagglekit train --resume {run_dir}` trains the missing ones")


def full_epochs(run_dir, config):
    """The epochs an ensemble's full members train: TrainConfig.full_epochs of the epochs its fold
    members kept, read from their metrics.json."""
    kept = []
    for member in rundir.members(run_dir):
        epoch = rundir.read_json(member / rundir.METRICS).get("best_epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
            raise ModelError(f"{member / rundir.METRICS} is damaged (no kept epoch); train the ensemble again")
        kept.append(epoch)
    return config.full_epochs(kept)


def member_metrics(run_dir, folder):
    """A finished member's metrics.json, checked to hold what ensemble_metrics reads; ModelError naming
    the file, and how to train that member again, when it does not."""
    path = folder / rundir.METRICS
    m = rundir.read_json(path)
    validation = m.get("validation")
    if not (all(rundir.is_number(m.get(k)) for k in ("train_seconds", "n_train", "epochs"))
            and isinstance(m.get("warning"), str)
            and (validation is None or isinstance(validation, dict) and rundir.is_number(validation.get("accuracy")))):
        raise ModelError(f"{path} is damaged (it does not hold a member's metrics); delete {folder} and train "
                         f"it again: `kagglekit train --resume {run_dir}`")
    return m


def ensemble_metrics(run_dir, data_folder, seconds):
    """The ensemble's metrics.json: the estimate of the members that held rows out (out of fold, or on
    their shared holdout), and with --full what its full members, which predict, trained on."""
    folders = rundir.members(run_dir)
    report = evaluate(rundir.model_files(run_dir), data_folder)
    members = [member_metrics(run_dir, f) for f in folders]
    full = [member_metrics(run_dir, f) for f in rundir.full_members(run_dir)]
    warnings = [f"member {i}: {m['warning']}" for i, m in enumerate(members) if m["warning"]]
    warnings += [f"full member {i}: {m['warning']}" for i, m in enumerate(full) if m["warning"]]
    return {"validation": {k: v for k, v in report.items() if k not in ("members", "estimate")},
            "estimate": report["estimate"], "members": len(folders),
            "member_accuracy": report.get("members", [m["validation"]["accuracy"] for m in members]),
            "member_train_seconds": [m["train_seconds"] for m in members],
            "train_seconds": round(seconds, 3), "n_train": members[0]["n_train"],
            **({"full": {"members": len(full), "epochs": full[0]["epochs"], "n_train": full[0]["n_train"],
                         "member_train_seconds": [m["train_seconds"] for m in full]}} if full else {}),
            "data": data_record(data_folder), "warning": "; ".join(warnings)}


def resume(run, data_folder, epochs=None, callback=None, on_batch=None, on_member=None, **parallel):
    """Continue an unfinished run (from its checkpoint: see pipeline.resume_run) or ensemble (training the
    members it misses); returns (folder, metrics)."""
    folder = rundir.find(run)
    if rundir.is_ensemble(folder):
        if (folder / rundir.METRICS).is_file():
            raise ModelError(f"the ensemble {folder} finished training; train a new one, or use it with "
                             f"`kagglekit evaluate` or `kagglekit predict`")
        return folder, finish(folder, data_folder, on_member=on_member, **parallel)
    run_dir, checkpoint = pipeline.unfinished_run(folder)
    if checkpoint.config.full:  # its epochs and rows are its ensemble's to decide
        raise ModelError(f"{run_dir} is a member of an ensemble retrained on every row (--full); resume the "
                         f"ensemble: `kagglekit train --resume {run_dir.parent.parent}`")
    return pipeline.resume_run(run_dir, checkpoint, data_folder, epochs, callback, on_batch,
                               task_cores(parallel.get("threads")))


def default_output(folders):
    """Where predict writes without -o: submission.csv in the one run folder named; several need -o."""
    if len(folders) > 1:
        raise ModelError("predicting with several runs needs -o FILE: which run folder would hold the submission?")
    return folders[0] / rundir.SUBMISSION


def predict(paths, data_folder, output=None, tta=None):
    """Predict test.csv with the averaged probabilities of the runs paths name (see rundir.resolve: a run,
    an ensemble, with --full its members retrained on every row, several, model files), over tta views
    (recipe.tta_proba; default: the first run's config.tta); write and check the submission (default: in
    the one folder named)."""
    files, folders = rundir.resolve(paths, predicting=True)
    nets, configs = load_runs(files)
    tta = configs[0].tta if tta is None else tta
    output = default_output(folders) if output is None else output

    def checked(x):
        for net in nets:
            check_fits(net, x, "test.csv")
        return tta_proba(nets, x, tta, cores()).argmax(axis=1)
    try:
        return predict_test(checked, data_folder, output)[0]
    except KeyboardInterrupt:
        raise Interrupted(f"{output} was not written") from None


def submission(run=None):
    """The submission.csv of a finished run or ensemble (a folder, a name or "newest"); ModelError when it
    was not written."""
    folder = rundir.finished(run)
    path = folder / rundir.SUBMISSION
    if not path.is_file():
        raise ModelError(f"{folder} has no {rundir.SUBMISSION}: write it with `kagglekit predict {folder}`, or pass "
                         f"another --run")
    return path
