"""Submission CSVs (`ImageId,Label`): writing them atomically from a model's predictions of test.csv, checking them the way Kaggle would
before an upload, and scoring them against a solution file (categorization accuracy)."""
from pathlib import Path

import numpy as np
import pandas as pd

from .data import N_CLASSES
from .errors import SubmissionError
from .files import atomic_write

HEADER = ["ImageId", "Label"]
DEFAULT_ROWS = 28000


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


def _read(path, what):
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{what} {path} not found; check the path")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise SubmissionError(f"{what} {path} is empty; it needs the header {','.join(HEADER)} and one row "
                              "per test image") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise SubmissionError(f"{what} {path} is not a readable CSV ({str(e).splitlines()[0]}); "
                              "write it with `kagglekit predict`") from None
    return frame


def _integers(frame, column, path, low, high):
    """The column as int64, or SubmissionError counting the bad values and quoting the first."""
    raw = frame[column].str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    empty = raw == ""
    bad = values.isna() | (values != values.round()) | (values < low) | (values > high)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        n_empty = int(empty.sum())
        if n_empty:
            kind = f"{n_empty} empty values" if n_empty > 1 else "1 empty value"
            first = int(np.flatnonzero(empty.to_numpy())[0])
            raise SubmissionError(f"{path}: {column} has {kind}, first at row {first + 1}; "
                                  f"every row needs a {column}")
        kind = f"{len(rows)} values" if len(rows) > 1 else "1 value"
        raise SubmissionError(f"{path}: {column} has {kind} outside {low}..{high} or not integers, "
                              f"first at row {rows[0] + 1}: {raw.iloc[rows[0]]}")
    return values.to_numpy(dtype=np.int64)


def read_ids(sample_path):
    """The ImageIds of sample_submission.csv, in its order."""
    frame = _read(sample_path, "sample submission")
    if list(frame.columns) != HEADER:
        raise SubmissionError(f"sample submission {sample_path} header is {','.join(frame.columns)}, expected "
                              f"{','.join(HEADER)}; download the competition files again")
    return _integers(frame, "ImageId", sample_path, 1, np.iinfo(np.int64).max)


def _read_submission(path):
    """(ImageIds, Labels) of a submission whose header is right and whose cells are valid integers."""
    frame = _read(path, "submission")
    if list(frame.columns) != HEADER:
        raise SubmissionError(f"{path}: header is {','.join(map(str, frame.columns))!r}, expected "
                              f"{','.join(HEADER)!r}; fix the first line")
    return (_integers(frame, "ImageId", path, 1, np.iinfo(np.int64).max),
            _integers(frame, "Label", path, 0, N_CLASSES - 1))


def validate_submission(path, sample_path=None):
    """Check a submission against the sample (or 1..28000): header, row count, ids, labels. Returns the row count."""
    ids = read_ids(sample_path) if sample_path is not None else np.arange(1, DEFAULT_ROWS + 1)
    got, _ = _read_submission(path)
    if len(got) != len(ids):
        raise SubmissionError(f"{path}: {len(got)} rows, expected {len(ids)} (one per test image); "
                              "predict the whole test.csv")
    seen, first = np.unique(got, return_index=True)
    if len(seen) != len(got):
        dup_row = np.setdiff1d(np.arange(len(got)), first)[0]
        raise SubmissionError(f"{path}: ImageId {got[dup_row]} appears more than once (row {dup_row + 1}); "
                              "each id must appear exactly once")
    missing = np.setdiff1d(ids, got)
    if len(missing):
        raise SubmissionError(f"{path}: {len(missing)} ImageIds missing, first {missing[0]}; ids must be "
                              f"exactly those of the sample submission ({ids.min()}..{ids.max()})")
    return len(got)


def score_submission(path, solution_path):
    """Accuracy of a submission against a solution CSV `ImageId,Label[,Usage]`.

    Returns {"accuracy": a, "n": rows} plus "public"/"private" accuracies when a Usage column is given.
    """
    solution = _read(solution_path, "solution")
    if list(solution.columns[:2]) != HEADER:
        raise SubmissionError(f"solution {solution_path} must start with the columns ImageId,Label "
                              "(then optionally Usage)")
    sol_ids = _integers(solution, "ImageId", solution_path, 1, np.iinfo(np.int64).max)
    sol_labels = _integers(solution, "Label", solution_path, 0, N_CLASSES - 1)
    sub_ids, sub_labels = _read_submission(path)
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
