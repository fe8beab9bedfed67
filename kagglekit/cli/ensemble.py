"""Ensembles on the command line: the parallel options (-j, --backend, --scheduler) that train, evaluate
and run share, and what those commands do with an ensemble (--members K) or several runs."""
import functools
from pathlib import Path

import click

from .. import ensemble, pipeline
from ..parallel import BACKENDS, check_backend
from .options import note


def parallel_options(f):
    """-j/--jobs, --backend and --scheduler; the command gets them as one dict `parallel`."""
    @functools.wraps(f)
    def wrapper(jobs, backend, scheduler, **kwargs):
        check_backend(backend, jobs)
        return f(parallel={"jobs": jobs, "backend": backend, "scheduler": scheduler}, **kwargs)

    options = [
        click.option("-j", "--jobs", type=int, default=1, show_default=True,
                     help="Ensemble members (or folds) trained at once, each a process with one BLAS thread; "
                          "-1: one per core (or per cluster worker)."),
        click.option("--backend", default="loky", show_default=True, metavar="|".join(BACKENDS),
                     help="Where they train: loky (processes here), or an existing Dask or Ray cluster."),
        click.option("--scheduler", metavar="ADDRESS",
                     help="The cluster's address for --backend dask or ray (default: DASK_SCHEDULER_ADDRESS "
                          "or RAY_ADDRESS). Its workers must see the data and runs/ folders at the same paths."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _member_note(quiet, count):
    def said(i, result):
        if isinstance(result, str):
            note(f"member {i}: failed: {result}", quiet)
        else:
            note(f"member {i + 1}/{count}: validation accuracy {result['validation']['accuracy']:.4f} "
                 f"in {result['train_seconds']:.1f} s", quiet)
    return said


def report(run_dir, metrics):
    members = "  ".join(f"{a:.4f}" for a in metrics["member_accuracy"])
    click.echo(f"Trained {metrics['members']} members in {metrics['train_seconds']:.1f} s: ensemble validation "
               f"accuracy {metrics['validation']['accuracy']:.4f} (members {members}), saved in {run_dir}")
    if metrics["warning"]:
        note(f"Warning: {metrics['warning']}")


def train_and_report(folder, config, name, quiet, parallel):
    note(f"Training {config.members} members, {parallel['jobs']} at a time ({parallel['backend']})", quiet)
    run_dir, metrics = ensemble.train_ensemble(folder, config, name, on_member=_member_note(quiet, config.members),
                                               **parallel)
    report(run_dir, metrics)
    return run_dir, metrics


def resume_and_report(run_dir, folder, quiet, parallel):
    config, _ = ensemble.read_ensemble(run_dir)
    missing = ensemble.missing_members(run_dir)
    note(f"Resuming {run_dir}: {len(missing)} of {config.members} members to train", quiet)
    metrics = ensemble.finish(run_dir, folder, on_member=_member_note(quiet, config.members), **parallel)
    report(run_dir, metrics)


def wants(models):
    """Whether the command's MODEL arguments are for this module: several runs, or one ensemble (also
    the newest run when that is one)."""
    if len(models) > 1:
        return True
    if not models or str(models[0]) == pipeline.NEWEST:
        newest = ensemble.newest()
        return newest is not None and ensemble.is_ensemble(newest)
    return ensemble.is_ensemble(models[0]) or (not Path(models[0]).exists() and
                                                ensemble.is_ensemble(pipeline.RUNS / models[0]))


def named(models):
    if not models or str(models[0]) == pipeline.NEWEST:
        newest = ensemble.newest()
        click.echo(f"Using the newest run: {newest}")
        return [newest]
    return list(models)


def evaluate(models, path, folds, quiet, parallel, run_data, print_report):
    models = named(models)
    folder = run_data(ensemble.first_model(models), path, quiet, same_train=folds is None)
    if folds is not None:  # the first member's config: the networks the ensemble is made of
        _, config = pipeline.load_model(ensemble.first_model(models))
        result = pipeline.cross_validate(folder, config, folds, lambda i, acc: note(
            f"fold {i}/{folds}: accuracy {acc:.4f}", quiet), **parallel)
        click.echo(f"{folds}-fold accuracy: {result['mean']:.4f} ± {result['std']:.4f}")
        return
    report = ensemble.evaluate(models, folder)
    click.echo(f"Members: {len(report['members'])}, each alone: "
               + "  ".join(f"{a:.4f}" for a in report["members"]))
    print_report(report, "Ensemble validation")


def predict(models, path, output, quiet, run_data):
    models = named(models)
    written = ensemble.predict(models, run_data(ensemble.first_model(models), path, quiet), output)
    click.echo(f"Submission written to {written} (validated; the average of {len(ensemble.expand(models))} "
               f"models)")
