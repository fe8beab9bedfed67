"""The `kagglekit kernel` commands: build the self-contained Kaggle kernel from this package, push it,
follow its run, fetch its output and submit it."""
from pathlib import Path

import click

from .. import kernel as script
from ..competition import PUSHES, fetch_kernel_output, kernel_run, kernel_state, push_kernel
from ..data import COMPETITION
from .options import message_option, note, path_option, preset_option, send_submission, wait_option

OUTPUT = Path("runs") / "kernel-output"

folder_option = path_option("The kernel folder: the script and kernel-metadata.json.",
                            default=script.DEFAULT_FOLDER, dest="folder")
dest_option = path_option("Folder that receives the kernel's output.", default=OUTPUT, dest="dest")
id_option = click.option("--id", "kernel_id", metavar="USER/SLUG",
                         help=f"The kernel (default: the last one `kagglekit kernel push` pushed from here, as "
                              f"recorded in {PUSHES}), at the version pushed from here.")


@click.group()
def kernel():
    """Run kagglekit on Kaggle: a self-contained script generated from this package.

    \b
    Example: kagglekit kernel build && kagglekit kernel push && kagglekit kernel status
    """


@kernel.command()
@preset_option("The training configuration the script embeds.")
@folder_option
@click.option("--id", "kernel_id", metavar="USER/SLUG", default=script.DEFAULT_ID, show_default=True,
              help=f"The id written into kernel-metadata.json; push replaces the owner "
                   f"{script.PLACEHOLDER_OWNER!r} with your Kaggle username.")
def build(preset_name, folder, kernel_id):
    """Generate the kernel script from the package's own modules, and its kernel-metadata.json.
    Needs no credentials: the same build for everyone.

    \b
    Example: kagglekit kernel build --preset mlp
    """
    path = script.build(folder, preset_name, kernel_id)
    click.echo(f"Built {path} ({path.stat().st_size / 1024:.0f} KiB, preset {preset_name}); "
               f"push it with `{script.command('push', folder)}`")


@kernel.command()
@folder_option
@click.option("--id", "kernel_id", metavar="USER/SLUG",
              help=f"Push as this kernel (default: the folder's id, with your Kaggle username in place of "
                   f"{script.PLACEHOLDER_OWNER!r}).")
def push(folder, kernel_id):
    """Check kernel-metadata.json locally, then upload the kernel; Kaggle starts running it. The folder
    is not changed: the id pushed goes into a temporary copy.

    \b
    Example: kagglekit kernel push --id you/kagglekit-digit-recognizer
    """
    kernel_id, url, version = push_kernel(folder, kernel_id, on_note=note, on_retry=note)
    click.echo(f"Pushed {kernel_run(kernel_id, version)}: {url}")
    click.echo("Follow it with `kagglekit kernel status`, then `kagglekit kernel submit -m MESSAGE`.")


@kernel.command()
@id_option
def status(kernel_id):
    """Print the state of the kernel's pushed run: queued, running, complete or error (exit 1).

    \b
    Example: kagglekit kernel status
    """
    kernel_id, version, state = kernel_state(kernel_id, on_note=note, on_retry=note)
    click.echo(f"{kernel_run(kernel_id, version)}: {state}")


@kernel.command()
@dest_option
@id_option
def output(dest, kernel_id):
    """Fetch the kernel's submission.csv and log from its pushed run.

    \b
    Example: kagglekit kernel output -p runs/kernel-output
    """
    kernel_id, version, path = fetch_kernel_output(kernel_id, dest, on_note=note, on_retry=note)
    click.echo(f"Output of {kernel_run(kernel_id, version)} in {dest}: check it with `kagglekit validate {path}`")


@kernel.command()
@message_option()
@dest_option
@id_option
@wait_option
def submit(message, dest, kernel_id, wait):
    """Once the kernel's pushed run is complete, fetch its submission.csv, check it as `kagglekit validate`
    does, and submit it. A run queued, running, failed or cancelled is refused: its output would be stale.

    \b
    Example: kagglekit kernel submit -m "kernel, mlp preset" --wait
    """
    kernel_id, version, path = fetch_kernel_output(kernel_id, dest, complete=True, on_note=note,
                                                   on_retry=note)
    click.echo(f"Fetched the output of kernel {kernel_run(kernel_id, version)}")
    send_submission(path, message, COMPETITION, wait, source="the kernel's output")


COMMANDS = [kernel]
