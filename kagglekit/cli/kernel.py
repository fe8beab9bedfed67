"""The `kagglekit kernel` commands: build the self-contained Kaggle kernel from this package, push it,
follow its run, fetch its output and submit it."""
from pathlib import Path

import click

from .. import kernel as script
from ..competition import fetch_kernel_output, kernel_id_for_build, kernel_state, push_kernel
from ..data import COMPETITION
from .options import message_option, note, path_option, preset_option, send_submission, wait_option

OUTPUT = Path("runs") / "kernel-output"

folder_option = path_option("The kernel folder: the script and kernel-metadata.json.",
                            default=script.DEFAULT_FOLDER, dest="folder")
dest_option = path_option("Folder that receives the kernel's output.", default=OUTPUT, dest="dest")
id_option = click.option("--id", "kernel_id", metavar="USER/SLUG",
                         help=f"The kernel (default: the id in {script.DEFAULT_FOLDER}/{script.METADATA_FILE}).")


@click.group()
def kernel():
    """Run kagglekit on Kaggle: a self-contained script generated from this package.

    \b
    Example: kagglekit kernel build && kagglekit kernel push && kagglekit kernel status
    """


@kernel.command()
@preset_option("The training configuration the script embeds.")
@folder_option
@click.option("--id", "kernel_id", metavar="USER/SLUG",
              help="The kernel's id on Kaggle (default: your username from kaggle.json + the folder's slug).")
def build(preset_name, folder, kernel_id):
    """Generate the kernel script from the package's own modules, and its kernel-metadata.json.

    \b
    Example: kagglekit kernel build --preset mlp --id you/kagglekit-digit-recognizer
    """
    kernel_id = kernel_id_for_build(folder, kernel_id)
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
    kernel_id, url, version = push_kernel(folder, on_note=note)
    click.echo(f"Pushed {kernel_id} version {version}: {url}")
    click.echo("Follow it with `kagglekit kernel status`, then `kagglekit kernel submit -m MESSAGE`.")


@kernel.command()
@folder_option
def status(folder):
    """Print the state of the kernel's latest run: queued, running, complete or error (exit 1).

    \b
    Example: kagglekit kernel status -p kernels/digit-recognizer
    """
    kernel_id, state = kernel_state(folder, on_note=note)
    click.echo(f"{kernel_id}: {state}")


@kernel.command()
@dest_option
@id_option
def output(dest, kernel_id):
    """Fetch the kernel's submission.csv and log from its latest run.

    \b
    Example: kagglekit kernel output -p runs/kernel-output
    """
    kernel_id, path = fetch_kernel_output(kernel_id, dest, on_note=note)
    click.echo(f"Output of {kernel_id} in {dest}: check it with `kagglekit validate {path}`")


@kernel.command()
@message_option()
@dest_option
@id_option
@wait_option
def submit(message, dest, kernel_id, wait):
    """Fetch the kernel's submission.csv, check it as `kagglekit validate` does, and submit it.

    \b
    Example: kagglekit kernel submit -m "kernel, mlp preset" --wait
    """
    kernel_id, path = fetch_kernel_output(kernel_id, dest, on_note=note)
    click.echo(f"Fetched the output of kernel {kernel_id}")
    send_submission(path, message, COMPETITION, wait, source="the kernel's output")


COMMANDS = [kernel]
