"""The Kaggle commands of the CLI: download, submit, submissions. Each is one or two calls into
kaggle_api (and archive); cli.py adds everything in COMMANDS to the `kagglekit` group, which turns
any KagglekitError into one "Error: ..." line."""
from pathlib import Path

import click

from . import archive, kaggle_api
from .data import COMPETITION
from .errors import DataError, KaggleError
from .submission import validate_submission

competition_option = click.option("-c", "--competition", default=COMPETITION, show_default=True,
                                  help="Competition slug, as in kaggle.com/competitions/<slug>.")


def _warn_about_credentials():
    for warning in kaggle_api.credential_warnings():
        click.echo(warning, err=True)


@click.command()
@competition_option
@click.option("-p", "--path", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="Folder that receives COMPETITION/.")
@click.option("-o", "--force", is_flag=True, help="Download and unpack again even if the data is there.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--from-file", "zip_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Unpack this zip (e.g. downloaded in the browser) instead of downloading.")
def download(competition, path, force, quiet, zip_file):
    """Download the competition files into PATH/COMPETITION/, unpack them safely and check them.

    \b
    Example: kagglekit download                 (into data/digit-recognizer/)
             kagglekit download --from-file ~/Downloads/digit-recognizer.zip
    """
    target = path / competition
    if not force and archive.is_installed(target):
        click.echo(f"{target} already holds the competition files (use --force to replace them).")
        return
    downloaded = zip_file is None
    if downloaded:
        _warn_about_credentials()
        if not quiet:
            click.echo(f"Downloading {competition} from Kaggle into {path}/", err=True)
        zip_file = kaggle_api.download_competition(competition, path, force=force, quiet=quiet)
    try:
        archive.install_competition(zip_file, target, force=True)
    except DataError:
        if downloaded:  # else the next run would find it "up to date" and fail the same way
            zip_file.unlink(missing_ok=True)
        raise
    if downloaded:
        zip_file.unlink()  # everything reads the unpacked folder; the zip only takes space
    click.echo(f"Competition files ready in {target}")


@click.command()
@click.option("-f", "--file", "file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The submission CSV (ImageId,Label).")
@click.option("-m", "--message", required=True, help="Description shown on Kaggle's submissions page.")
@competition_option
@click.option("--wait", is_flag=True, help="Wait until Kaggle has scored it and print the public score.")
def submit(file, message, competition, wait):
    """Check a submission CSV, upload it to Kaggle and, with --wait, print its score.

    \b
    Example: kagglekit submit -f runs/mlp-1/submission.csv -m "mlp, 20 epochs" --wait
    """
    sample = Path("data") / competition / "sample_submission.csv"  # else: the real test set's 28,000 ids
    send_submission(file, message, competition, wait, sample if sample.is_file() else None)


def send_submission(file, message, competition, wait, sample=None):
    """Validate a CSV, upload it and report (with `wait`, the score); shared by submit and run --submit."""
    if not message.strip():
        raise click.BadParameter("must say what this submission is", param_hint="'-m' / '--message'")
    rows = validate_submission(file, sample)
    _warn_about_credentials()
    ref, remaining = kaggle_api.submit(file, message, competition)
    click.echo(f"Submitted {file} ({rows} rows) to {competition}: ref {ref}")
    if remaining is not None:
        click.echo(f"{remaining} submissions remaining today.")
    if wait:
        if ref is None:
            raise KaggleError("Kaggle returned no submission ref to wait for: see `kagglekit submissions`.")
        click.echo("Waiting for the score", nl=False, err=True)
        try:
            result = kaggle_api.wait_for_score(ref, on_poll=lambda _: click.echo(".", nl=False, err=True))
        finally:
            click.echo("", err=True)
        click.echo(f"Public score: {result.public or '(not published)'}")


def _table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


@click.command()
@competition_option
def submissions(competition):
    """List your submissions to the competition, newest first.

    \b
    Example: kagglekit submissions -c digit-recognizer
    """
    _warn_about_credentials()
    found = kaggle_api.list_submissions(competition)
    if not found:
        click.echo(f"No submissions to {competition} yet.")
        return
    _table(["date (UTC)", "description", "status", "public", "private"],
           [[s.date.strftime("%Y-%m-%d %H:%M") if s.date else "", s.description[:40], s.status,
             s.public, s.private] for s in found])


COMMANDS = [download, submit, submissions]
