"""Training progress on stderr, fed by the training loop's callbacks. On a terminal a bar is redrawn as
the batches go by (loss, accuracy, learning rate, time left in the epoch and in the run) and each epoch
ends in a line with its validation accuracy; elsewhere (a log file, CI) only that line is printed, once
per epoch; with -q nothing."""
import shutil
import sys
import time

import click

REDRAW_SECONDS = 0.1  # a bar redrawn more often only costs time
BAR_WIDTH = 20


def is_terminal(stream):
    """Whether stream is a terminal that a redrawn line suits."""
    return bool(getattr(stream, "isatty", lambda: False)())


def clock(seconds):
    """Seconds as m:ss, or h:mm:ss from an hour."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def epoch_line(row, epochs, lr, seconds):
    """The line that ends an epoch: its training loss and accuracy, validation accuracy, rate and time."""
    val = "" if row["val_acc"] != row["val_acc"] else f" val_loss {row['val_loss']:.4f} val_acc {row['val_acc']:.4f}"
    rate = "" if lr is None else f" lr {lr:.3g}"
    return (f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}{val}{rate}"
            f" ({seconds:.1f} s)")


class TrainingProgress:
    """`on_batch` and `on_epoch` for pipeline.train_run; use it as a context manager so that a bar left
    half drawn (Ctrl-C, an error) ends its line. After a resume, `first` is the first epoch to run and
    `seconds` the training time its History already counts."""

    def __init__(self, epochs, quiet=False, first=1, seconds=0.0):
        self.stream = sys.stderr
        self.quiet, self.live = quiet, not quiet and is_terminal(self.stream)
        self.epochs, self.epoch, self.seconds = epochs, first, seconds
        self.durations, self.batch0, self.per_batch = [], 0.0, None
        self.drawn_at, self.drawing, self.lr, self.steps = 0.0, False, None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.drawing:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, text):
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r" + text[:width] + "\x1b[K")
        self.stream.flush()
        self.drawing = True

    def on_batch(self, i, n_batches, loss, acc, lr):
        self.lr, self.steps = lr, n_batches
        now = time.monotonic()
        if i == 0:  # the pace is measured from the end of the epoch's first step
            self.batch0 = now
        elif now > self.batch0:
            self.per_batch = (now - self.batch0) / i
        if not self.live or (i + 1 < n_batches and now - self.drawn_at < REDRAW_SECONDS):
            return
        self.drawn_at = now
        left = "?"
        if self.per_batch is not None:
            epoch_left = self.per_batch * (n_batches - i - 1)
            per_epoch = sum(self.durations) / len(self.durations) if self.durations else self.per_batch * n_batches
            left = f"epoch {clock(epoch_left)}, run {clock(epoch_left + per_epoch * (self.epochs - self.epoch))}"
        fill = BAR_WIDTH * (i + 1) // n_batches
        self._draw(f"epoch {self.epoch}/{self.epochs} {'█' * fill}{'·' * (BAR_WIDTH - fill)} {i + 1}/{n_batches} "
                   f"loss {loss:.4f} acc {acc:.4f} lr {lr:.3g} | left: {left}")

    def on_epoch(self, row):
        seconds, self.seconds, self.epoch = row["seconds"] - self.seconds, row["seconds"], row["epoch"] + 1
        self.durations.append(seconds)
        if self.quiet:
            return
        line = epoch_line(row, self.epochs, self.lr, seconds)
        if self.live:
            self._draw(line)
            if self.steps != 1:  # full-batch epochs are single steps: one line redrawn, not hundreds kept
                self.stream.write("\n")
                self.drawing = False
        else:
            click.echo(line, file=self.stream)
