"""The Kaggle commands: download, submit, submissions. Each is one call into kagglekit.competition."""
from pathlib import Path

import click

from .. import rundir, runs
from ..competition import DATA, install, list_submissions
from ..ensemble import submission
from ..report import write_report
from .options import (competition_option, message_option, note, path_option, print_table, quiet_option, send_submission,
                      wait_option)


@click.command()
@competition_option
@path_option("Folder that receives COMPETITION/.", default=DATA)
@click.option("-o", "--force", is_flag=True, help="Download and unpack again even if the data is there.")
@quiet_option("No progress bar.")
@click.option("--from-file", "zip_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Unpack this zip (e.g. downloaded in the browser) instead of downloading.")
def download(competition, path, force, quiet, zip_file):
    """Download the competition files into PATH/COMPETITION/, unpack them safely and check them.

    \b
    Example: kagglekit download                 (into data/digit-recognizer/)
             kagglekit download --from-file ~/Downloads/digit-recognizer.zip
    """
    target, installed = install(competition, path, force, zip_file, quiet, on_note=note, on_retry=note)
    if installed:
        click.echo(f"Competition files ready in {target}")
    else:
        click.echo(f"{target} already holds the competition files, checked (use --force to replace them).")


@click.command()
@click.option("-f", "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The submission CSV (ImageId,Label).")
@click.option("--run", "run_name", metavar="RUN",
              help=f"Instead of -f: the submission.csv of run or ensemble RUN (a folder or name; '{rundir.NEWEST}': "
                   f"the newest finished one).")
@message_option()
@competition_option
@wait_option
@quiet_option("No upload progress bar.")
def submit(file, run_name, message, competition, wait, quiet):
    """Check a submission CSV, upload it to Kaggle and, with --wait, print its score.

    \b
    Example: kagglekit submit -f runs/mlp-1/submission.csv -m "mlp, 20 epochs" --wait
             kagglekit submit --run newest -m "mlp, 20 epochs"
    """
    if (file is None) == (run_name is None):
        raise click.UsageError("give the submission as -f FILE or --run RUN (e.g. --run newest), not both")
    if run_name is not None:
        if run_name == rundir.NEWEST:
            click.echo(f"Using the newest run: {rundir.newest()}")
        file = submission(run_name)
    send_submission(file, message, competition, wait, quiet=quiet)


@click.command()
@competition_option
def submissions(competition):
    """List your submissions to the competition, newest first, and record their scores in the run folders
    they were submitted from (see `kagglekit runs`).

    \b
    Example: kagglekit submissions -c digit-recognizer
    """
    found = list_submissions(competition, on_note=note, on_retry=note)
    for run_dir in runs.record_scores(found):  # the scores Kaggle has given since, into the runs' reports
        write_report(run_dir)
    if not found:
        click.echo(f"No submissions to {competition} yet.")
        return
    print_table(["ref", "date (UTC)", "file", "description", "status", "public", "private", "error"],
           [[s.ref, s.date.strftime("%Y-%m-%d %H:%M") if s.date else "", s.file_name, s.description[:40],
             s.status, s.public, s.private, s.error or ("(Kaggle gave no reason)" if s.status == "error" else "")]
            for s in found])


COMMANDS = [download, submit, submissions]
