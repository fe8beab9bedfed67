"""Digits in the terminal: the half-block drawing, row selection, and `kagglekit show train/test/wrong`."""
import re

import numpy as np
import pytest
from click.testing import CliRunner

from kagglekit.cli import main
from kagglekit.errors import DataError
from kagglekit.show import digit_lines, parse_rows, render


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_half_blocks_pair_pixel_rows():
    image = np.zeros((28, 28), np.float32)
    image[0, 0] = image[1, 1] = 1  # top of cell 0, bottom of cell 1
    image[0, 2] = image[1, 2] = 0.9  # both halves of cell 2
    lines = digit_lines(image.ravel())
    assert len(lines) == 14 and {len(line) for line in lines} == {28}
    assert lines[0][:4] == "▀▄█ " and lines[1:] == [" " * 28] * 13


def test_colour_uses_grey_levels_for_both_halves():
    image = np.zeros(784, np.float32)
    image[0], image[28] = 1.0, 0.5  # upper pixel white, lower one mid grey
    assert digit_lines(image, color=True)[0].startswith("\x1b[38;5;255;48;5;244m▀\x1b[38;5;232;48;5;232m▀")


def test_render_puts_digits_side_by_side_under_captions():
    images = np.ones((3, 784), np.float32)
    text = render(images, ["a", "b", "c"], width=60)  # two digits of 28 with a gap of 2 fit in 60
    blocks = text.split("\n\n")
    assert blocks[0].splitlines() == ["a" + " " * 29 + "b"] + ["█" * 28 + "  " + "█" * 28] * 14
    assert blocks[1].splitlines() == ["c"] + ["█" * 28] * 14


def test_parse_rows():
    assert parse_rows("0-3,7", 10) == [0, 1, 2, 3, 7]
    with pytest.raises(DataError, match=r"^rows must be between 0 and 9 \(the file has 10 rows\), got '8-12'$"):
        parse_rows("8-12", 10)
    with pytest.raises(DataError, match=r"^rows must be numbers or ranges such as 0-7 or 3,10,12-14, got 'x'$"):
        parse_rows("x", 10)


def test_show_train_prints_rows_with_their_labels(sample_competition):
    import pandas as pd
    labels = pd.read_csv(sample_competition / "train.csv", usecols=["label"])["label"]
    result = cli("show", "train", "-p", sample_competition, "--rows", "2,5", "--no-color")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("  ")[0] == f"row 2: {labels[2]}"
    assert lines[0].split()[-2:] == ["5:", str(labels[5])]
    assert len(lines) == 15 and any(c in "▀▄█" for c in "".join(lines[1:]))


def test_show_test_with_a_submissions_predictions(sample_competition, tmp_path):
    submission = tmp_path / "s.csv"
    submission.write_text("ImageId,Label\n1,7\n2,3\n")
    result = cli("show", "test", "-p", sample_competition, "--rows", "0-1", "--submission", submission,
                 "--no-color")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "ImageId 1: 7" + " " * 18 + "ImageId 2: 3"


def test_show_rows_out_of_range_is_one_error_line(sample_competition):
    result = cli("show", "train", "-p", sample_competition, "--rows", "4999-5000")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: rows must be between 0 and 4999 (the file has 5000 rows), got '4999-5000'"]


def test_show_wrong_draws_a_runs_misclassified_digits(sample_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")  # three digits a row
    assert cli("train", "--preset", "quick", "--epochs", "1", "-p", sample_competition, "--name", "r",
               "-q").exit_code == 0
    result = cli("show", "wrong", "r", "-n", "3", "--no-color")
    assert result.exit_code == 0, result.output
    captions = result.stdout.splitlines()[0].split("  ")
    captions = [c.strip() for c in captions if c.strip()]
    assert len(captions) == 3
    for caption in captions:
        _, true, predicted, _ = re.match(r"row (\d+): (\d)→(\d) \((\d\.\d\d)\)", caption).groups()
        assert true != predicted
    probabilities = [float(c.split("(")[1][:-1]) for c in captions]
    assert probabilities == sorted(probabilities, reverse=True)
