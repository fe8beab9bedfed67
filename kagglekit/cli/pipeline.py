"""The pipeline commands: train, evaluate, predict, validate, score, and run (all of them in a row)."""
from pathlib import Path

import click
from click.core import ParameterSource

from .. import ensemble, evaluation, pipeline, provenance, rundir, runs
from ..data import COMPETITION, is_cached
from ..errors import ConfigError
from ..metrics import estimate_of, format_estimate
from ..report import write_report
from ..submission import check_submission, score_submission
from .options import (check_credentials, config_options, message_option, note, parallel_options, path_option,
                      quiet_option, report_files, send_submission, threads_option)
from .progress import TrainingProgress

data_option = path_option("Competition data folder (train.csv, test.csv, sample_submission.csv). "
                          "Default: data/digit-recognizer, else the bundled sample.")
run_data_option = path_option("Competition data folder (train.csv, test.csv, sample_submission.csv). "
                              "Default: the data the run was trained on, else data/digit-recognizer.")
models_argument = click.argument("models", nargs=-1, type=click.Path(path_type=Path))
name_option = click.option("--name", help="Run folder name under runs/ (default: a timestamp).")
output_option = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                             help="Where to write the submission CSV (default: submission.csv in the run folder; "
                                  "predict: - for standard output).")


def _check_cached(folder, quiet):
    if not all(is_cached(folder / name) for name in ("train.csv", "test.csv")):
        note(f"Reading and checking the CSVs in {folder} (first time only: a few seconds)...", quiet)


def data_folder(path, quiet):
    """(folder, is_sample): the data to use; says so in one line when it falls back to the bundled sample."""
    folder, is_sample = provenance.find_data(path)
    if is_sample:
        note(f"No competition data in {provenance.DEFAULT_DATA}: using the bundled sample of 5,000 real MNIST "
             f"digits in {folder} (get the full data with `kagglekit download`).", quiet)
    _check_cached(folder, quiet)
    return folder, is_sample


def named_runs(models, err=False, predicting=False):
    """(paths, model files, folders) of the MODELS arguments (rundir.resolve: runs, ensembles, model
    files, those that predict with predicting); none or "newest" is a guess, so the first line of output
    names it (on stderr with err, when stdout carries a file)."""
    guess = not models or (len(models) == 1 and str(models[0]) == rundir.NEWEST)
    paths = [rundir.newest()] if guess else list(models)
    files, folders = rundir.resolve(paths, predicting=predicting)
    if guess:
        click.echo(f"Using the newest run: {folders[0]}", err=err)
    return paths, files, folders


def run_data(run, model_file, path, quiet, same_train=False, err=False):
    """The data to use with a run (see provenance.data_for_run); other data than its own is said on stdout
    (stderr with err)."""
    folder, said = provenance.data_for_run(run, model_file, path, same_train)
    if said:
        click.echo(said, err=err)
    _check_cached(folder, quiet)
    return folder


def print_report(report, ensemble=False):
    """The estimate (validation, or out-of-fold), per-class accuracy and confusion matrix of a report."""
    rows = "out-of-fold" if report["estimate"]["method"] == "out-of-fold" else "validation"
    title = f"Ensemble {rows}" if ensemble else rows.capitalize()
    click.echo(f"{title} accuracy: {format_estimate(report['estimate'])}")
    click.echo("per class: " + "  ".join(f"{i}:{a:.3f}" if a is not None else f"{i}:-"
                                          for i, a in enumerate(report["per_class"])))
    click.echo("confusion matrix (rows = true label, columns = predicted):")
    click.echo("      " + "".join(f"{j:>6}" for j in range(len(report["confusion"]))))
    for i, row in enumerate(report["confusion"]):
        click.echo(f"{i:>6}" + "".join(f"{v:>6}" for v in row))


def _member_note(quiet, count):
    def said(i, result, full=False):
        if full:  # retrained on every row: nothing to score it on
            note(f"full member {i}: failed: {result}" if isinstance(result, str) else
                 f"full member {i + 1}/{count}: trained on all {result['n_train']:,} rows for {result['epochs']} "
                 f"epochs in {result['train_seconds']:.1f} s", quiet)
        elif isinstance(result, str):
            note(f"member {i}: failed: {result}", quiet)
        else:
            note(f"member {i + 1}/{count}: validation accuracy {result['validation']['accuracy']:.4f} "
                 f"in {result['train_seconds']:.1f} s", quiet)
    return said


def train_and_report(folder, config, name, quiet, parallel):
    """Train a run or an ensemble (ensemble.train), say how it went, and write its report."""
    if config.members > 1:
        at_once = "one per core" if parallel["jobs"] == -1 else f"{parallel['jobs']} at a time"
        then = f", then {config.members} more on every row (--full)" if config.full else ""
        note(f"Training {config.members} members{then}, {at_once} ({parallel['backend']})", quiet)
    with TrainingProgress(config.epochs, quiet or config.members > 1) as progress:  # an ensemble: a line a member
        run_dir, metrics = ensemble.train(folder, config, name, callback=progress.on_epoch,
                                          on_batch=progress.on_batch, on_member=_member_note(quiet, config.members),
                                          **parallel)
    n_val = metrics["validation"]["n"]
    if n_val != config.val_size and not config.folds:
        note(f"Note: held out {n_val} of train.csv's {n_val + metrics['n_train']} rows for validation, as "
             f"--val-size {config.val_size} would leave too few to train on; set --val-size to choose", quiet)
    report_run(run_dir, metrics)
    report_files(run_dir, folder, quiet)
    return run_dir, metrics


def full_line(full):
    """What predicts for an ensemble trained with --full, and why its estimate is the folds'."""
    return (f"The submission comes from {full['members']} networks retrained on all {full['n_train']:,} rows for "
            f"{full['epochs']} epochs (--full); no row is left to score them, so the estimate is the folds' out of "
            f"fold, one member's, which their average should beat")


def report_run(run_dir, metrics):
    est = estimate_of(metrics)
    what = "out-of-fold accuracy" if est["method"] == "out-of-fold" else "validation accuracy"
    if "members" in metrics:
        members = "  ".join(f"{a:.4f}" for a in metrics["member_accuracy"])
        click.echo(f"Trained {metrics['members']} members in {metrics['train_seconds']:.1f} s: ensemble {what} "
                   f"{format_estimate(est)} (members {members}), saved in {run_dir}")
        if metrics.get("full"):
            click.echo(full_line(metrics["full"]))
        elif est["method"] == "out-of-fold":
            note("Note: out of fold, each row is predicted by the one member that held it out: this estimates one "
                 "member, and the average of all of them, which predicts test.csv, scores higher")
    else:
        stopped = f", stopped early after {metrics['epochs_run']}" if metrics["epochs_run"] < metrics["epochs"] else ""
        kept = (f"best epoch {metrics['best_epoch']} of {metrics['epochs']} on the select rows{stopped}"
                if metrics.get("chosen_on") == "select rows" else f"epoch {metrics['best_epoch']} of {metrics['epochs']}")
        click.echo(f"Trained in {metrics['train_seconds']:.1f} s: {what} {format_estimate(est)} ({kept}), run saved "
                   f"in {run_dir}")
    if metrics["warning"]:
        note(f"Warning: {metrics['warning']}")  # even with -q: this run must not pass for a good one


@click.command()
@config_options
@data_option
@name_option
@click.option("--resume", type=click.Path(path_type=Path), metavar="RUN",
              help="Continue the run that Ctrl-C interrupted, with its own config (--epochs may change); "
                   "for an ensemble, train the members it misses.")
@parallel_options
@threads_option
@quiet_option()
def train(config, path, name, resume, quiet, parallel):
    """Train a network and save it as a run folder runs/<name>/.

    The run keeps its best validation epoch's weights. Ctrl-C after the first epoch keeps the best
    model so far in the run folder; --resume RUN continues it.

    \b
    With --members K, K networks (seeds --seed, --seed+1, ...) sharing one holdout, in one ensemble
    folder; -j trains several at once.

    \b
    Example: kagglekit train --preset mlp --epochs 10 -p data/digit-recognizer
    Example: kagglekit train --preset best -j 2
    """
    if resume is not None:
        resume_and_report(resume, config, path, name, quiet, parallel)
    else:
        train_and_report(data_folder(path, quiet)[0], config, name, quiet, parallel)


def given(name):
    """Whether the command line itself gave the option whose parameter is `name`."""
    return click.get_current_context().get_parameter_source(name) == ParameterSource.COMMANDLINE


def resume_and_report(resume, config, path, name, quiet, parallel):
    others = [f"--{n.replace('_', '-')}" for n in ("preset_name", *config.to_dict(), "name")
              if n != "epochs" and given(n)]
    if others:
        option = others[0].replace("--preset-name", "--preset")
        raise ConfigError(f"--resume continues a run with the config it started with; only --epochs may be given "
                          f"with it, not {option}")
    epochs = config.epochs if given("epochs") else None
    run_dir = rundir.find(resume, fix="pass the run folder that Ctrl-C said it kept")
    if rundir.is_ensemble(run_dir):
        folder = ensemble.trained_on(run_dir, path)
        config, _ = ensemble.read_ensemble(run_dir)
        full = (f", then {len(ensemble.missing_members(run_dir, full=True))} of {config.members} retrained on every "
                f"row" if config.full else "")
        note(f"Resuming {run_dir}: {len(ensemble.missing_members(run_dir))} of {config.members} members to train{full}",
             quiet)
        start, first, seconds = config.epochs, 1, 0
    else:
        run_dir, checkpoint = pipeline.unfinished_run(run_dir)
        folder = run_data(run_dir, run_dir / rundir.MODEL, path, quiet, same_train=True)
        note(f"Resuming {run_dir} after epoch {checkpoint.epoch}", quiet)
        config = checkpoint.config
        start, first, seconds = checkpoint.config.epochs, checkpoint.epoch + 1, checkpoint.record["history"][-1][
            "seconds"]
    with TrainingProgress(epochs or start, quiet or config.members > 1, first, seconds) as progress:
        run_dir, metrics = ensemble.resume(run_dir, folder, epochs, progress.on_epoch, progress.on_batch,
                                           _member_note(quiet, config.members), **parallel)
    report_run(run_dir, metrics)
    report_files(run_dir, folder, quiet)


@click.command()
@models_argument
@run_data_option
@click.option("--folds", type=int, callback=lambda ctx, param, k: _at_least_two(k), metavar="K",
              help="Run stratified K-fold cross-validation (K >= 2) of the model's config instead.")
@parallel_options
@threads_option
@quiet_option()
def evaluate(models, path, folds, quiet, parallel):
    """Report validation accuracy, per-class accuracy and the confusion matrix of a trained model.

    MODELS are run folders or model files (default: the newest run). It is scored on its own holdout
    rows, so the data's train.csv must be the one it was trained on. Several runs, or an ensemble
    folder, are scored by their averaged probabilities on their shared holdout.

    \b
    Example: kagglekit evaluate runs/mlp-1 --folds 5 -j 2
    """
    _, files, folders = named_runs(models)
    folder = run_data(folders[0], files[0], path, quiet, same_train=folds is None)
    if folds is not None:  # the first network's config: what the run or ensemble is made of
        _, config = evaluation.load_model(files[0])
        result = evaluation.cross_validate(folder, config, folds, lambda i, acc: note(
            f"fold {i}/{folds}: accuracy {acc:.4f}", quiet), **parallel)
        click.echo(f"{folds}-fold out-of-fold accuracy: {format_estimate(result['estimate'])}; per fold "
                   f"{result['mean']:.4f} ± {result['std']:.4f}")
        if len(folders) == 1 and runs.is_run(folders[0]):  # kept for `kagglekit runs` and the run's report
            runs.record_kfold(folders[0], result)
            write_report(folders[0])
        return
    report = evaluation.evaluate(files, folder)
    for named in folders:
        full = rundir.full_members(named) if rundir.is_ensemble(named) else []
        if full:
            note(f"Note: {named} predicts with {len(full)} networks retrained on every row (--full); they saw every "
                 f"row, so none can score them: this is the out-of-fold estimate of its {len(rundir.members(named))} "
                 f"fold members")
    if "members" in report:
        click.echo(f"Members: {len(report['members'])}, each alone: "
                   + "  ".join(f"{a:.4f}" for a in report["members"]))
    print_report(report, "members" in report)


def _at_least_two(folds):
    if folds is not None and folds < 2:
        raise click.BadParameter(f"K-fold cross-validation needs K >= 2, got {folds}")
    return folds


@click.command()
@models_argument
@run_data_option
@output_option
@click.option("--tta", type=int, metavar="N", help="Average the probabilities over the image and its first N-1 "
              "fixed one-pixel shifts (default: the run's own --tta setting; 1: the image alone).")
@quiet_option()
def predict(models, path, output, tta, quiet):
    """Predict test.csv and write a checked ImageId,Label submission CSV.

    MODELS are run folders or model files (default: the newest run); several runs, or an ensemble
    folder, predict with their averaged probabilities. With -o - the CSV goes to standard output and
    every other line to stderr.

    \b
    Example: kagglekit predict runs/mlp-1 -o submission.csv
    """
    to_stdout = str(output) == "-"
    paths, files, folders = named_runs(models, err=to_stdout, predicting=True)
    written = ensemble.predict(paths, run_data(folders[0], files[0], path, quiet, err=to_stdout), output, tta)
    average = f"; the average of {len(files)} models" if len(files) > 1 else ""
    click.echo(f"Submission written to {'standard output' if to_stdout else written} (validated{average})",
               err=to_stdout)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@data_option
@click.option("--sample", type=click.Path(dir_okay=False, path_type=Path),
              help="The sample_submission.csv to check against (default: the data folder's).")
def validate(file, path, sample):
    """Check a submission CSV the way Kaggle will: header, rows, ids, labels.

    \b
    Example: kagglekit validate runs/mlp-1/submission.csv -p data/digit-recognizer
    """
    if sample is None:
        folder = path if path is not None else provenance.DEFAULT_DATA
        candidate = Path(folder) / "sample_submission.csv"
        if path is not None or candidate.is_file():
            sample = candidate
    checked = check_submission(file, sample)
    if checked.note:
        note(f"Note: {checked.note}")
    click.echo(f"{file}: valid submission, {checked.rows} rows")


@click.command()
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--solution", required=True, type=click.Path(path_type=Path),
              help="CSV with ImageId,Label[,Usage] holding the true labels.")
def score(submission, solution):
    """Score a submission against a solution file, as Kaggle does (accuracy; Public/Private by Usage).

    \b
    Example: kagglekit score submission.csv --solution solution.csv
    """
    result = score_submission(submission, solution)
    click.echo(f"Accuracy: {result['accuracy']:.5f} on {result['n']} rows")
    for part in ("public", "private"):
        if part in result:
            click.echo(f"{part.capitalize()} score: {result[part]:.5f}")


@click.command()
@config_options
@data_option
@name_option
@output_option
@click.option("--submit", is_flag=True, help="Then upload the submission to Kaggle and wait for its score.")
@message_option("With --submit: the description shown on Kaggle.", required=False)
@click.option("--force", is_flag=True,
              help="With --submit: upload even a model no better than chance (or whose loss rose).")
@parallel_options
@threads_option
@quiet_option()
def run(config, path, name, output, submit, message, force, quiet, parallel):
    """The whole job: train, evaluate, predict test.csv, validate the submission (and --submit it).

    \b
    Example: kagglekit run -p data/digit-recognizer --submit -m "mlp preset"
    """
    if str(output) == "-":
        raise click.UsageError("run prints its report on standard output, so -o - would mix the two; write the "
                               "submission to a file, or use `kagglekit predict -o -`")
    if submit and not message:
        raise click.UsageError("--submit needs -m MESSAGE, the description Kaggle shows for the submission")
    folder, is_sample = data_folder(path, quiet)
    if submit and is_sample:
        raise click.UsageError("--submit needs the competition data: Kaggle cannot score predictions for the "
                               "bundled sample; run `kagglekit download` first")
    if submit:
        check_credentials(on_note=note)  # now, not after minutes of training
    run_dir, metrics = train_and_report(folder, config, name, quiet, parallel)
    if not quiet:
        print_report({**metrics["validation"], "estimate": estimate_of(metrics)}, "members" in metrics)
    written = ensemble.predict([run_dir], folder, output)
    sample = folder / "sample_submission.csv"
    if metrics["warning"]:
        click.echo(f"Submission written: {written} (validated against {sample}, but {metrics['warning']})")
        if submit and not force:
            raise click.ClickException(f"not submitted: {metrics['warning']}; pass --force to submit this "
                                       f"model anyway")
    else:
        click.echo(f"Submission ready: {written} (validated against {sample})")
    if submit:
        send_submission(written, message, COMPETITION, wait=True, sample=sample, quiet=quiet)


COMMANDS = [train, evaluate, predict, validate, score, run]
