"""`kagglekit show`: digits in the terminal (show.py) — rows of train.csv with their labels, rows of
test.csv with a submission's predictions, or a run's misclassified validation digits."""
import os
import shutil
import sys
from pathlib import Path

import click
import pandas as pd

from .. import provenance, rundir
from ..data import load_test, load_train
from ..errors import SubmissionError
from ..report import confidently_wrong
from ..show import parse_rows, render
from .options import path_option

rows_option = click.option("--rows", default="0-7", show_default=True,
                           help="Rows to show (0-based, as in the file), e.g. 0-7 or 3,10,12-14.")
color_option = click.option("--color/--no-color", default=None,
                            help="Grey levels in ANSI colours, or plain ▀▄█ (default: colour on a terminal).")
data_option = path_option("Competition data folder. Default: data/digit-recognizer, else the bundled sample.")


def _draw(images, captions, color):
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    click.echo(render(images, captions, color, shutil.get_terminal_size().columns))


@click.group()
def show():
    """Draw digits in the terminal, two pixel rows a character.

    \b
    Example: kagglekit show train --rows 0-5
             kagglekit show test --submission runs/mlp-1/submission.csv
             kagglekit show wrong runs/mlp-1
    """


@show.command("train")
@data_option
@rows_option
@color_option
def show_train(path, rows, color):
    """Rows of train.csv, each under its label."""
    folder, _ = provenance.find_data(path)
    x, y = load_train(folder / "train.csv")
    chosen = parse_rows(rows, len(x))
    _draw(x[chosen], [f"row {r}: {y[r]}" for r in chosen], color)


@show.command("test")
@data_option
@rows_option
@click.option("--submission", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A submission CSV whose predicted labels to show under the digits.")
@color_option
def show_test(path, rows, submission, color):
    """Rows of test.csv (ImageId = row + 1), with a submission's predictions."""
    folder, _ = provenance.find_data(path)
    x = load_test(folder / "test.csv")
    chosen = parse_rows(rows, len(x))
    labels = {}
    if submission is not None:
        frame = pd.read_csv(submission)
        if list(frame.columns[:2]) != ["ImageId", "Label"]:
            raise SubmissionError(f"{submission} has columns {list(frame.columns)}; expected ImageId,Label")
        labels = dict(zip(frame["ImageId"], frame["Label"]))
    _draw(x[chosen], [f"ImageId {r + 1}" + (f": {labels[r + 1]}" if r + 1 in labels else "") for r in chosen],
          color)


@show.command("wrong")
@click.argument("run", required=False, type=click.Path(path_type=Path))
@click.option("-n", "limit", default=8, show_default=True, help="How many digits, most confidently wrong first.")
@path_option("Competition data folder. Default: the data the run was trained on.")
@color_option
def show_wrong(run, limit, path, color):
    """A run's misclassified validation digits: true → predicted (probability). RUN defaults to the newest."""
    wrong = confidently_wrong(rundir.finished(run), path, limit)
    if not len(wrong["rows"]):
        click.echo("No misclassified validation digits.")
        return
    _draw(wrong["images"], [f"row {r}: {t}→{p} ({q:.2f})" for r, t, p, q in
                            zip(wrong["rows"], wrong["true"], wrong["predicted"], wrong["probability"])], color)


COMMANDS = [show]
