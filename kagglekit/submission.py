"""Submission CSVs (`ImageId,Label`): writing them atomically from a model's predictions of test.csv, checking them the way Kaggle would
before an upload, and scoring them against a solution file (categorization accuracy)."""
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import N_CLASSES
from .errors import SubmissionError
from .files import atomic_write

HEADER = ["ImageId", "Label"]
DEFAULT_ROWS = 28000
_INTEGER = re.compile(r"[0-9]+")
CHUNK = 1 << 20  # bytes counted at a time: a file over the expected rows is refused before it is parsed
ROW_BYTES = 512  # at most, on average, per row: "ImageId,Label" rows take about 8 (and pandas 10x the file)
_BLANK = b" \t\r,\""  # bytes a line may hold and still be a blank row, which _read skips


def write_submission(path, labels, ids=None):
    """Write `ImageId,Label` rows (ids default to 1..n) to path via a temporary file and a rename."""
    path = Path(path)
    ids = np.arange(1, len(labels) + 1) if ids is None else np.asarray(ids)
    if len(ids) != len(labels):
        raise SubmissionError(f"{len(labels)} predictions for {len(ids)} ImageIds; predict the whole test.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, newline="") as f:
        pd.DataFrame({"ImageId": ids, "Label": np.asarray(labels, dtype=np.int64)}).to_csv(f, index=False)
    return path


@dataclass(frozen=True)
class Checked:
    """What check_submission found: the row count, and a note worth showing ("" when none)."""
    rows: int
    note: str = ""


def _read(path, what):
    """The CSV as strings, indexed by each row's line number in the file (the header is line 1), the
    way Kaggle's messages count; blank lines are skipped, as before. A quoted cell spanning lines
    would shift the count, but such a cell is refused anyway."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{what} {path} not found; check the path")
    try:
        with warnings.catch_warnings():
            # index_col=False: a row with a field too many would otherwise turn the first column into an index
            # and shift the others under the wrong names; pandas warns instead, and the warning is refused.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                                skip_blank_lines=False, index_col=False)
    except pd.errors.ParserWarning:
        raise SubmissionError(f"{what} {path} has a row with more fields than its header; each row needs exactly "
                              "one value per column (ImageId,Label)") from None
    except pd.errors.EmptyDataError:
        raise SubmissionError(f"{what} {path} is empty; it needs the header {','.join(HEADER)} and one row "
                              "per test image") from None
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{what} {path} is not UTF-8 text (it holds the byte 0x{e.object[e.start]:02x}); write "
                              "it with `kagglekit predict`") from None
    except pd.errors.ParserError as e:
        raise SubmissionError(f"{what} {path} is not a readable CSV ({str(e).splitlines()[0]}); "
                              "write it with `kagglekit predict`") from None
    frame.index = np.arange(2, len(frame) + 2)
    return frame[(frame != "").any(axis=1)]


def _first(bad):
    """("N values" or "1 value", line of the first) for a boolean Series indexed by line."""
    n = int(bad.sum())
    return (f"{n} values" if n > 1 else "1 value"), int(bad.idxmax())


def _integers(frame, column, path, low, high):
    """The column as int64, or SubmissionError counting the bad values and quoting the first by line."""
    raw = frame[column].str.strip()
    empty = raw == ""
    if empty.any():
        kind, line = _first(empty)
        kind = kind.replace("value", "empty value")
        raise SubmissionError(f"{path}: {column} has {kind}, first at line {line}; every row needs a {column}")
    # Kaggle's scorer parses integers and refuses "8.0" or "1e0" ("could not parse '8.0' as an integer"),
    # so only ASCII digits pass. Leading zeros are kept: every integer parse reads "08" as 8. A sign
    # is refused: we never write one, and a scorer stricter than Python's int() would cost a submission.
    not_int = ~raw.str.fullmatch(_INTEGER)
    if not_int.any():
        kind, line = _first(not_int)
        name = "labels" if column == "Label" else "ids"
        raise SubmissionError(f"{path}: {column} has {kind} not written as an integer, first at line {line}: "
                              f"{_shown(raw[line], repr)}; write {name} as integers, e.g. df.{column}.astype(int)")
    # Python ints: an id too large for int64 is out of range, not an overflow. Over 20 digits (leading zeros
    # aside) it is out of range for sure, and int() would refuse one of over 4,300 digits.
    values = raw.str.lstrip("0").map(lambda digits: int(digits or "0") if len(digits) <= 20 else high + 1)
    outside = (values < low) | (values > high)
    if outside.any():
        kind, line = _first(outside)
        raise SubmissionError(f"{path}: {column} has {kind} outside {low}..{high}, first at line {line}: "
                              f"{_shown(raw[line])}")
    return values.to_numpy(dtype=np.int64)


def _shown(text, quote=str, n=40):
    """A cell as an error line shows it, through quote (str or repr): whole up to n characters, else its
    start and its length."""
    return quote(text) if len(text) <= n else f"{quote(text[:20])}... ({len(text):,} characters)"


def read_ids(sample_path):
    """The ImageIds of sample_submission.csv, in its order."""
    frame = _read(sample_path, "sample submission")
    if list(frame.columns) != HEADER:
        raise SubmissionError(f"sample submission {sample_path} header is {','.join(frame.columns)}, expected "
                              f"{','.join(HEADER)}; download the competition files again")
    return _integers(frame, "ImageId", sample_path, 1, np.iinfo(np.int64).max)


def _read_submission(path):
    """(ImageIds, Labels, line numbers, note) of a submission whose columns are ImageId and Label, in
    either order, and whose cells are valid integers. Kaggle's scorer matches columns by name, so
    another order is fine; the note says so, for the CLI to show."""
    frame = _read(path, "submission")
    columns = [str(c) for c in frame.columns]
    if sorted(columns) != sorted(HEADER):
        raise SubmissionError(f"{path}: header is {','.join(columns)!r}, expected "
                              f"{','.join(HEADER)!r}; fix the first line")
    note = "" if columns == HEADER else (f"{path}: columns are in the order {','.join(columns)}; Kaggle matches "
                                         f"them by name, so this is fine")
    return (_integers(frame, "ImageId", path, 1, np.iinfo(np.int64).max),
            _integers(frame, "Label", path, 0, N_CLASSES - 1), frame.index.to_numpy(), note)


def _check_size(path, expected):
    """Refuse a submission of more than `expected` rows, or of more blank lines than that, before it is
    parsed: pandas would hold every cell and blank line (gigabytes for a 100 MB file). The lines are
    counted CHUNK bytes at a time, stopping in the chunk where a count passes; a file no longer than a
    chunk costs little to parse and is left to the full checks, which give exact counts."""
    path = Path(path)
    if not path.is_file() or (size := path.stat().st_size) <= CHUNK:
        return
    rows = lines = 0  # complete lines counted, and those of them holding a value (the header included)
    open_row = False  # whether the line the counted bytes end in holds a value yet
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            parts = chunk.translate(None, _BLANK).split(b"\n")  # parts[0] goes on with the last chunk's line
            if len(parts) > 1:
                rows += (open_row or bool(parts[0])) + len(parts) - 2 - parts[1:-1].count(b"")
                lines += len(parts) - 1
                open_row = False
            open_row = open_row or bool(parts[-1])
            if rows - 1 > expected:
                raise SubmissionError(f"{path}: at least {rows - 1} rows, expected {expected} (one per test "
                                      "image); predict the whole test.csv")
            if lines - rows > expected:
                raise SubmissionError(f"{path}: at least {lines - rows} blank lines, more than the {expected} rows "
                                      "it should hold; remove them, or write the file with `kagglekit predict`")
    if size > (expected + 1) * ROW_BYTES:
        raise SubmissionError(f"{path}: {size:,} bytes is too much for {expected} rows of ImageId,Label (more "
                              f"than {ROW_BYTES:,} bytes a row); write it with `kagglekit predict`")


def check_submission(path, sample_path=None) -> Checked:
    """Check a submission against the sample (or 1..28000): header, row count, ids, labels."""
    ids = read_ids(sample_path) if sample_path is not None else np.arange(1, DEFAULT_ROWS + 1)
    _check_size(path, len(ids))
    got, _, lines, note = _read_submission(path)
    if len(got) != len(ids):
        raise SubmissionError(f"{path}: {len(got)} rows, expected {len(ids)} (one per test image); "
                              "predict the whole test.csv")
    seen, first = np.unique(got, return_index=True)
    if len(seen) != len(got):
        dup_row = np.setdiff1d(np.arange(len(got)), first)[0]
        raise SubmissionError(f"{path}: ImageId {got[dup_row]} appears more than once (again at line "
                              f"{lines[dup_row]}); each id must appear exactly once")
    missing = np.setdiff1d(ids, got)
    if len(missing):
        raise SubmissionError(f"{path}: {len(missing)} ImageIds missing, first {missing[0]}; ids must be "
                              f"exactly those of the sample submission ({ids.min()}..{ids.max()})")
    return Checked(len(got), note)


def score_submission(path, solution_path):
    """Accuracy of a submission against a solution CSV `ImageId,Label[,Usage]`.

    Returns {"accuracy": a, "n": rows} plus "public"/"private" accuracies when a Usage column is given.
    """
    solution = _read(solution_path, "solution")
    if not set(HEADER) <= set(solution.columns):
        raise SubmissionError(f"solution {solution_path} must have the columns ImageId and Label "
                              "(and optionally Usage)")
    sol_ids = _integers(solution, "ImageId", solution_path, 1, np.iinfo(np.int64).max)
    sol_labels = _integers(solution, "Label", solution_path, 0, N_CLASSES - 1)
    _check_size(path, len(sol_ids))
    sub_ids, sub_labels, _, _ = _read_submission(path)
    if len(np.unique(sub_ids)) != len(sub_ids) or not np.array_equal(np.sort(sub_ids), np.sort(sol_ids)):
        raise SubmissionError(f"{path}: its ImageIds do not match those of the solution {solution_path} "
                              f"({len(sub_ids)} vs {len(sol_ids)} rows); check both files")
    predicted = pd.Series(sub_labels, index=sub_ids).reindex(sol_ids).to_numpy()
    correct = predicted == sol_labels
    result = {"accuracy": float(correct.mean()), "n": int(len(correct))}
    if "Usage" in solution.columns:
        usage = solution["Usage"].str.strip().str.lower()
        for part in ("public", "private"):
            mask = (usage == part).to_numpy()
            if mask.any():
                result[part] = float(correct[mask].mean())
    return result
