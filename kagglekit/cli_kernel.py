"""The `kagglekit kernel` commands: build the self-contained Kaggle kernel from this package, check and
push it, follow its run, fetch its output and submit it. cli.py adds COMMANDS to the `kagglekit` group,
which prints any KagglekitError as one "Error: ..." line."""
import json
from pathlib import Path

import click

from . import kaggle_api
from . import kernel as script
from .cli_kaggle import send_submission
from .config import PRESETS
from .data import COMPETITION
from .errors import KaggleError, KernelError, SubmissionError

OUTPUT = Path("runs") / "kernel-output"

folder_option = click.option("-p", "--path", "folder", type=click.Path(file_okay=False, path_type=Path),
                             default=script.DEFAULT_FOLDER, show_default=True,
                             help="The kernel folder: the script and kernel-metadata.json.")
dest_option = click.option("-p", "--path", "dest", type=click.Path(file_okay=False, path_type=Path),
                           default=OUTPUT, show_default=True, help="Folder that receives the kernel's output.")
id_option = click.option("--id", "kernel_id", metavar="USER/SLUG",
                         help=f"The kernel (default: the id in {script.DEFAULT_FOLDER}/{script.METADATA_FILE}).")


def _warn_about_credentials():
    for warning in kaggle_api.credential_warnings():
        click.echo(warning, err=True)


def _build_id(folder, given):
    """--id, else your Kaggle username with the folder's slug (or the default), else the folder's id."""
    if given:
        return given
    try:
        current = json.loads((folder / script.METADATA_FILE).read_text())["id"]
    except (OSError, ValueError, TypeError, KeyError):
        current = None
    try:
        return f"{kaggle_api.username()}/{current.split('/')[-1] if current else script.DEFAULT_SLUG}"
    except KaggleError:  # no credentials here: keep the id the folder already has
        if current:
            return current
    raise KernelError("no Kaggle username known; pass --id USER/slug or add kaggle.json")


def _fetch(kernel_id, dest):
    """Fetch the kernel's output into dest; the path of its submission.csv (KernelError if it made none)."""
    kernel_id = kernel_id or script.check_metadata(script.DEFAULT_FOLDER)["id"]
    _warn_about_credentials()
    paths = kaggle_api.kernel_output(kernel_id, dest)
    for path in paths:
        click.echo(f"Fetched {path}", err=True)
    if dest / "submission.csv" not in paths:
        got = ", ".join(p.name for p in paths) or "nothing"
        raise KernelError(f"kernel {kernel_id} has no submission.csv in its output (got {got}); check "
                          f"`kagglekit kernel status` and its log, fix the run and push again")
    return kernel_id, dest / "submission.csv"


@click.group()
def kernel():
    """Run kagglekit on Kaggle: a self-contained script generated from this package.

    \b
    Example: kagglekit kernel build && kagglekit kernel push && kagglekit kernel status
    """


@kernel.command()
@click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default="mlp", show_default=True,
              help="The training configuration the script embeds.")
@folder_option
@click.option("--id", "kernel_id", metavar="USER/SLUG",
              help="The kernel's id on Kaggle (default: your username from kaggle.json + the folder's slug).")
def build(preset_name, folder, kernel_id):
    """Generate the kernel script from the package's own modules, and its kernel-metadata.json.

    \b
    Example: kagglekit kernel build --preset mlp --id you/kagglekit-digit-recognizer
    """
    kernel_id = _build_id(folder, kernel_id)
    path = script.build(folder, preset_name, kernel_id)
    click.echo(f"Built {path} ({path.stat().st_size / 1024:.0f} KiB, preset {preset_name}) "
               f"as Kaggle kernel {kernel_id}; push it with `kagglekit kernel push`")


@kernel.command()
@folder_option
def push(folder):
    """Check kernel-metadata.json locally, then upload the kernel; Kaggle starts running it.

    \b
    Example: kagglekit kernel push -p kernels/digit-recognizer
    """
    kernel_id = script.check_metadata(folder)["id"]
    _warn_about_credentials()
    url, version = kaggle_api.push_kernel(folder)
    click.echo(f"Pushed {kernel_id} version {version}: {url}")
    click.echo("Follow it with `kagglekit kernel status`, then `kagglekit kernel submit -m MESSAGE`.")


@kernel.command()
@folder_option
def status(folder):
    """Print the state of the kernel's latest run: queued, running, complete or error (exit 1).

    \b
    Example: kagglekit kernel status -p kernels/digit-recognizer
    """
    kernel_id = script.check_metadata(folder)["id"]
    _warn_about_credentials()
    state, message = kaggle_api.kernel_status(kernel_id)
    if state == "error":
        raise KernelError(f"kernel {kernel_id} failed on Kaggle: {message or 'no message given'}; read its log "
                          f"(`kagglekit kernel output`), fix the cause and push again")
    if state.startswith("cancel"):
        raise KernelError(f"kernel {kernel_id} was cancelled ({state}); push it again to rerun it")
    click.echo(f"{kernel_id}: {state}")


@kernel.command()
@dest_option
@id_option
def output(dest, kernel_id):
    """Fetch the kernel's submission.csv and log from its latest run.

    \b
    Example: kagglekit kernel output -p runs/kernel-output
    """
    kernel_id, path = _fetch(kernel_id, dest)
    click.echo(f"Output of {kernel_id} in {dest}: check it with `kagglekit validate {path}`")


@kernel.command()
@click.option("-m", "--message", required=True, help="Description shown on Kaggle's submissions page.")
@dest_option
@id_option
@click.option("--wait", is_flag=True, help="Wait until Kaggle has scored it and print the public score.")
def submit(message, dest, kernel_id, wait):
    """Fetch the kernel's submission.csv, check it as `kagglekit validate` does, and submit it.

    \b
    Example: kagglekit kernel submit -m "kernel, mlp preset" --wait
    """
    kernel_id, path = _fetch(kernel_id, dest)
    click.echo(f"Fetched the output of kernel {kernel_id}")
    sample = Path("data") / COMPETITION / "sample_submission.csv"  # else: the real test set's 28,000 ids
    try:
        send_submission(path, message, COMPETITION, wait, sample if sample.is_file() else None)
    except SubmissionError as e:  # only the validation raises this: say whose output it was
        raise SubmissionError(f"not submitted: the kernel's output is invalid: {e}") from None


COMMANDS = [kernel]
