"""What the command modules share: options declared once (the TrainConfig ones derived from its fields),
printing notes to stderr, and the lines that report a submission sent to Kaggle."""
import dataclasses
import functools
import sys
from pathlib import Path

import click

from .. import plots, rundir, runs
from ..config import DEFAULT_PRESET, PRESETS, TrainConfig, preset
from ..competition import check_credentials  # noqa: F401 (for run)
from ..data import COMPETITION
from ..errors import ConfigError, ScoreUnavailable
from ..parallel import BACKENDS, check_backend
from ..report import REPORT, make_plots, write_report
from . import progress


def note(message, quiet=False):
    """A note or warning for the user, on stderr so that stdout keeps only results."""
    if not quiet:
        click.echo(message, err=True)


def path_option(help, default=None, dest="path"):
    """-p/--path: a folder, whose meaning (and default) each command gives."""
    return click.option("-p", "--path", dest, type=click.Path(file_okay=False, path_type=Path), default=default,
                        show_default=default is not None, help=help)


def quiet_option(help="Print only the results."):
    return click.option("-q", "--quiet", is_flag=True, help=help)


def message_option(help="Description shown on Kaggle's submissions page.", required=True):
    def not_blank(ctx, param, value):
        if value is not None and not value.strip():
            raise click.BadParameter("must say what this submission is")
        return value
    return click.option("-m", "--message", required=required, callback=not_blank, help=help)


def preset_option(help):
    return click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default=DEFAULT_PRESET,
                        show_default=True, help=help)


competition_option = click.option("-c", "--competition", default=COMPETITION, show_default=True,
                                  help="Competition slug, as in kaggle.com/competitions/<slug>.")
wait_option = click.option("--wait", is_flag=True, help="Wait until Kaggle has scored it and print the public score.")


def _config_option(field):
    """The option of a TrainConfig field: --field-name, typed by its choices, parser or type."""
    meta = field.metadata
    kwargs = {"help": meta["help"], "metavar": meta.get("metavar")}
    name = "--" + field.name.replace("_", "-")
    if field.type is bool:  # --x/--no-x, None when not given: the preset's value stands
        return click.option(f"{name}/--no-{name[2:]}", field.name, default=None, help=meta["help"])
    if "choices" in meta:
        kwargs["type"] = click.Choice(meta["choices"])
    elif "parse" in meta:
        kwargs["callback"] = functools.partial(_parsed, meta["parse"])
    else:
        kwargs["type"] = field.type
    return click.option(name, field.name, **kwargs)


def _parsed(parse, ctx, param, value):
    try:
        return None if value is None else parse(value)
    except ConfigError as e:
        raise click.BadParameter(str(e)) from None


def config_options(f):
    """--preset and one option per TrainConfig field; the command gets the overridden preset as `config`."""
    settable = dataclasses.fields(TrainConfig)
    names = [field.name for field in settable]

    @functools.wraps(f)
    def wrapper(preset_name, **kwargs):
        changes = {name: kwargs.pop(name) for name in names}
        return f(config=preset(preset_name).override(**changes), **kwargs)

    for option in reversed([preset_option("Starting configuration; the options below override it."),
                            *map(_config_option, settable)]):
        wrapper = option(wrapper)
    return wrapper


def print_table(headers, rows):
    """Rows under headers, each column as wide as its widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def send_submission(file, message, competition, wait, sample=None, source=None, quiet=True):
    """Send a submission through runs.submit (which records it in the run folder it comes from, whose
    report.md is then rewritten), printing what Kaggle says as it comes."""
    waiting = []

    def sent(s):
        click.echo(f"Submitted {s.file} ({s.rows} rows) to {s.competition}: ref {s.ref}")
        if s.remaining is not None:
            click.echo(f"{s.remaining} submissions remaining today.")
        if wait:
            click.echo("Waiting for the score", nl=False, err=True)
            waiting.append(True)

    def retrying(line):  # on a line of its own, not after "Waiting for the score..."
        if waiting:
            click.echo("", err=True)
        note(line)

    try:
        result = runs.submit(file, message, competition, wait, sample, source, on_recorded=write_report,
                             on_note=note, on_sent=sent, on_poll=lambda: click.echo(".", nl=False, err=True),
                             on_retry=retrying,
                             quiet=quiet or not progress.is_terminal(sys.stderr))  # no bar drawn into a log
    except ScoreUnavailable as e:  # the submission exists: not a failure, and no invitation to resubmit
        click.echo("", err=True)
        waiting.clear()
        note(f"Warning: {e}")
        return
    finally:
        if waiting:
            click.echo("", err=True)
    if wait:
        click.echo(f"Public score: {result.public or '(not published)'}")


def parallel_options(f):
    """-j/--jobs, --backend and --scheduler; the command gets them as one dict `parallel`."""
    @functools.wraps(f)
    def wrapper(jobs, backend, scheduler, **kwargs):
        check_backend(backend, jobs)
        return f(parallel={"jobs": jobs, "backend": backend, "scheduler": scheduler}, **kwargs)

    options = [
        click.option("-j", "--jobs", type=int, default=-1, show_default=True,
                     help="Ensemble members (or folds) trained at once, each a process with one BLAS thread; "
                          "-1: one per core this process may use (or per cluster worker)."),
        click.option("--backend", default="loky", show_default=True, metavar="|".join(BACKENDS),
                     help="Where they train: loky (processes here), or an existing Dask or Ray cluster."),
        click.option("--scheduler", metavar="ADDRESS",
                     help="The cluster's address for --backend dask or ray (default: DASK_SCHEDULER_ADDRESS "
                          "or RAY_ADDRESS). Its workers must see the data and runs/ folders at the same paths."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def threads_option(f):
    """-t/--threads, put into the command's `parallel` dict (so it goes below parallel_options)."""
    def at_least_one(ctx, param, value):
        if value is not None and value < 1:
            raise click.BadParameter(f"must be at least 1 (1: one core, no parallel parts), got {value}")
        return value

    @functools.wraps(f)
    def wrapper(threads, parallel, **kwargs):
        return f(parallel={**parallel, "threads": threads}, **kwargs)

    return click.option("-t", "--threads", type=int, callback=at_least_one, metavar="N",
                        help="Cores to train on: each step's batch is cut into parts run in parallel, which "
                             "changes results by float32 round-off only; 1 turns it off. Default: every core "
                             "this process may use, shared by the members trained at once (-j).")(wrapper)


NO_PLOTS = f"No plots: {plots.INSTALL_HINT} for the loss, accuracy, learning-rate, confusion and wrong-digit PNGs"


def report_files(run_dir, data_folder=None, quiet=False):
    """Write the plots (when matplotlib is there) and report.md of a run, or of an ensemble and each of its
    members, and say where they are (stderr)."""
    folders = (rundir.members(run_dir) if rundir.is_ensemble(run_dir) else []) + [Path(run_dir)]
    made = [make_plots(folder, data_folder) for folder in folders] if plots.available() else None
    if made is not None:
        note(f"Report: {Path(run_dir) / REPORT} ({len(made[-1])} plots in {Path(run_dir) / 'plots'})", quiet)
    else:
        note(f"Report: {Path(run_dir) / REPORT}. {NO_PLOTS} (then `kagglekit report {run_dir}`).", quiet)
    return [write_report(folder) for folder in folders][-1]
