"""The `kagglekit` command line: thin Click commands, each one call into the library.
Every KagglekitError becomes a one-line "Error: ..." and exit code 1; results go to stdout,
notes and progress to stderr. Command modules (pipeline, kaggle, kernel, runs, show) import only the
shared ones (options, progress), never each other."""
import errno
import signal
import threading
from contextlib import contextmanager

import click

from ..errors import Interrupted, KagglekitError
from . import kaggle, kernel, pipeline, runs, show


class Group(click.Group):
    """A Click group that turns library errors into one clean line instead of a traceback."""

    def invoke(self, ctx):
        with sigterm_as_ctrl_c():
            return self._invoke(ctx)

    def _invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KagglekitError as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:  # a full disk, a read-only folder: one line naming the file, not a traceback
            raise click.ClickException(os_error(e)) from None
        except KeyboardInterrupt as e:  # Ctrl-C: the shell's 130, and what was kept instead of "Aborted!"
            kept = str(e) if isinstance(e, Interrupted) else "stopped before finishing"
            click.echo(f"\nInterrupted: {kept}", err=True)
            ctx.exit(130)


@contextmanager
def sigterm_as_ctrl_c():
    """While the block runs, SIGTERM (what `timeout`, schedulers and `docker stop` send) raises
    KeyboardInterrupt as Ctrl-C does, so that it ends a command as Ctrl-C would: what is half-written
    removed, what is whole kept, exit 130. Only the main thread can set a signal handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def os_error(e):
    """One line for an OSError the library let through, naming the file and what to do. The fix names
    no option: which one chooses where a file goes differs from command to command (-p is where
    `download` writes, but where `train` reads)."""
    where = f" ({e.filename})" if e.filename else ""
    fixes = {errno.ENOSPC: "free some space on its disk, then run the command again",
             errno.EDQUOT: "free some space within your disk quota, then run the command again",
             errno.EACCES: "check its permissions and its folder's, then run the command again",
             errno.EPERM: "check its permissions and its folder's, then run the command again",
             errno.EROFS: "that disk is mounted read-only: run the command in a folder you can write to"}
    fix = fixes.get(e.errno, "check the path and try again")
    return f"{e.strerror or e}{where}: {fix}"


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kagglekit")
def main():
    """kagglekit: Digit Recognizer from data to scored Kaggle submission, with a NumPy network.

    \b
    Start with:  kagglekit run            (train, evaluate, predict, validate)
    Full data:   kagglekit download && kagglekit run -p data/digit-recognizer
    """

for module in (pipeline, kaggle, kernel, runs, show):
    for command in module.COMMANDS:
        main.add_command(command)
