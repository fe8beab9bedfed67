"""Reading and checking the Digit Recognizer CSVs, caching them as .npz, and the random splits.

Pixels come back as float32 in [0, 1] with shape (n_samples, 784), labels as int64. Every check
names the file, line (header = line 1) and column at fault. All randomness comes from a caller's np.random.Generator.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DamagedFileError, DataError
from .files import atomic_write
from .npz import read_npz

COMPETITION = "digit-recognizer"
DATA_FILES = ("train.csv", "test.csv", "sample_submission.csv")
N_PIXELS = 784
N_CLASSES = 10
PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]
HEADERS = {
    "train.csv": ["label"] + PIXEL_COLUMNS,
    "test.csv": PIXEL_COLUMNS,
    "sample_submission.csv": ["ImageId", "Label"],
}
CACHE_VERSION = 1
HEADER_LIMIT = 64 * 1024  # bytes; the longest real header (train.csv) is under 9 KB
EXTRA = "\0extra"  # the name of the column that catches a field too many
CHUNK_ROWS = 4096  # rows parsed at a time: a chunk's int64 cells, not the whole file's, are held


def not_our_files(source, names):
    """The one sentence for competition files that are not Digit Recognizer's (the names found)."""
    return (f"kagglekit supports Digit Recognizer ('{COMPETITION}'); {source}'s files ({', '.join(names) or 'none'}) "
            f"are not its files: use '{COMPETITION}'.")


def read_header(path):
    """The first line of a CSV as a list of column names; DataError if missing, empty, binary or not UTF-8.
    A UTF-8 byte-order mark and CRLF line endings are fine."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; download the data with `kagglekit download` or pass -p FOLDER")
    with open(path, "rb") as f:
        raw = f.readline(HEADER_LIMIT)
    if not raw.strip():
        raise DataError(f"{path} is empty; download the competition files again (kagglekit download --force)")
    if b"\0" in raw:
        raise DataError(f"{path} is not a CSV (it holds binary data); download the competition files again "
                        "(kagglekit download --force)")
    if len(raw) == HEADER_LIMIT and not raw.endswith(b"\n"):
        raise DataError(f"{path} starts with a line over {HEADER_LIMIT:,} bytes, too long for a header: it is not "
                        "a competition CSV; download the competition files again (kagglekit download --force)")
    try:
        line = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None
    return [name.strip() for name in line.split(",")]


def not_utf8(path, error):
    """The DataError for a file that is not UTF-8 text (error: the UnicodeDecodeError)."""
    return DataError(f"{path} is not UTF-8 text (it holds the byte 0x{error.object[error.start]:02x}): it is not "
                     "a competition CSV; download the file again (kagglekit download --force)")


def check_header(path, expected):
    """Raise DataError naming the first difference between the file's header and `expected`."""
    header = read_header(path)
    if header == expected:
        return
    path = Path(path)
    if header == HEADERS["test.csv"] and expected == HEADERS["train.csv"]:
        raise DataError(f"{path} has no label column: it looks like test.csv; pass the training file")
    if header == HEADERS["train.csv"] and expected == HEADERS["test.csv"]:
        raise DataError(f"{path} has a label column: it looks like train.csv; pass the test file")
    if len(header) != len(expected):
        raise DataError(f"{path} has {len(header)} columns, expected {len(expected)} "
                        f"({expected[0]},...,{expected[-1]}); is this the right file?")
    col = next(i for i, (a, b) in enumerate(zip(header, expected)) if a != b)
    raise DataError(f"{path} header column {col + 1} is {header[col]!r}, expected {expected[col]!r}; "
                    "fix the header or download the file again")


def check_competition_folder(folder):
    """Raise DataError unless `folder` holds the three competition files with the right headers."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} not found; run `kagglekit download` or pass -p FOLDER")
    missing = [name for name in DATA_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} is missing {', '.join(missing)}; "
                        "run `kagglekit download --force` to fetch the competition files")
    for name in DATA_FILES:
        check_header(folder / name, HEADERS[name])


def _cache_path(path):
    return path.with_name(f".{path.name}.kkcache.npz")


def _fingerprint(path):
    st = path.stat()
    return np.array([CACHE_VERSION, st.st_size, st.st_mtime_ns], dtype=np.int64)


def _read_checked(path, expected):
    """Parse a pixel CSV into a uint8 array, chunk by chunk, raising DataError at the first bad cell."""
    check_header(path, expected)
    high = np.full(len(expected), 255)
    high[0] = N_CLASSES - 1 if expected[0] == "label" else 255
    parts, start = [], 0
    try:
        # One more name than columns: a row with an extra field shows in it, where pandas would otherwise
        # take the first column as an index, or drop the extra field, and read shifted or silent data.
        with pd.read_csv(path, chunksize=CHUNK_ROWS, encoding="utf-8", na_filter=False, header=None, skiprows=1,
                         names=[*expected, EXTRA]) as chunks:
            for frame in chunks:
                parts.append(_checked(frame, path, high, start))
                start += len(frame)
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as e:
        raise DataError(f"{path} is not a readable CSV ({_short(str(e).splitlines()[0], 120)}); "
                        "download the file again") from None
    if start == 0:
        raise DataError(f"{path} has a header but no rows; download the file again")
    return np.concatenate(parts)


def _checked(frame, path, high, start):
    """One chunk's cells as uint8, or DataError naming the first bad one (row numbers continue at `start`)."""
    extra = frame.pop(EXTRA)
    longer = extra.notna() & (extra.astype(str).str.strip() != "")
    if longer.any():
        row = int(np.argmax(longer.to_numpy()))
        raise DataError(f"{path} line {_line_of(path, start + row)} has more than {len(high)} fields, the header's "
                        f"count; fix the file or download it again")
    if all(kind in "iu" for kind in frame.dtypes.map(lambda d: d.kind)):
        values = frame.to_numpy()
        bad = (values < 0) | (values > high)
    else:  # some cell is not an integer: coerce to find the first one
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values > high)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = frame.iat[row, col]
        shown = ("empty" if (isinstance(value, str) and not value.strip()) or pd.isna(value)
                 else repr(_short(value, 20)) if isinstance(value, str) else str(value))
        raise DataError(f"{path} line {_line_of(path, start + row)} column {frame.columns[col]!r}: {shown} is "
                        f"not an integer in 0..{high[col]}; fix the file or download it again")
    return frame.to_numpy(dtype=np.uint8)


def _short(text, n):
    return text if len(text) <= n else text[:n] + "..."


def _line_of(path, row):
    """The file line number (header = line 1, as editors and Kaggle count) of data row `row` (0-based),
    skipping blank lines as pandas does; read only when reporting an error."""
    with open(path, newline="") as f:
        next(f, None)
        data_rows = (number for number, line in enumerate(f, start=2) if line.strip())
        return next((number for i, number in enumerate(data_rows) if i == row), row + 2)


def is_cached(path):
    """Whether the CSV at path has an up-to-date .npz cache (so loading it takes milliseconds)."""
    path = Path(path)
    try:
        return _fresh(read_npz(_cache_path(path), ("fingerprint",)), path)
    except (DamagedFileError, OSError):
        return False


def _fresh(saved, path):
    """Whether a cache's fingerprint is the CSV's (same cache version, size and mtime)."""
    fingerprint = _fingerprint(path)
    return saved["fingerprint"].dtype == fingerprint.dtype and np.array_equal(saved["fingerprint"], fingerprint)


def _cached(path, expected):
    """The cache's uint8 matrix if it is the CSV's and has the shape and values the CSV's would have, else
    None: a damaged, altered or stale cache is parsed again from the CSV, with no word to the user."""
    try:
        saved = read_npz(_cache_path(path), ("fingerprint", "values"))
    except DamagedFileError:
        return None
    values = saved["values"]
    if not _fresh(saved, path) or values.dtype != np.uint8 or values.ndim != 2 or not len(values) \
            or values.shape[1] != len(expected):
        return None
    if expected[0] == "label" and values[:, 0].max() >= N_CLASSES:  # pixels are 0..255 by their type
        return None
    return values


def _load_raw(path, expected):
    """The file's uint8 matrix, from the .npz cache when it matches the CSV's size and mtime."""
    path = Path(path)
    check_header(path, expected)
    cached = _cached(path, expected)
    if cached is not None:
        return cached
    fingerprint = _fingerprint(path)
    values = _read_checked(path, expected)
    try:  # a read-only folder (e.g. /kaggle/input) simply goes without a cache
        with atomic_write(_cache_path(path), "wb") as f:
            np.savez(f, values=values, fingerprint=fingerprint)
    except OSError:
        pass
    return values


def to_float(pixels, rows=None):
    """uint8 pixels (n, 784) -> float32 in [0, 1], row-major (pandas hands over a column-major array,
    whose rows, gathered for every batch and block, would each be 784 scattered values). With `rows`
    (indices), just those rows, gathered a block at a time: no uint8 copy of them all on the way."""
    if rows is None:
        x = pixels.astype(np.float32, order="C")
    else:
        x = np.empty((len(rows), pixels.shape[1]), dtype=np.float32)
        for i in range(0, len(rows), CHUNK_ROWS):
            x[i:i + CHUNK_ROWS] = pixels[rows[i:i + CHUNK_ROWS]]
    x /= np.float32(255)
    return x


def load_train(path):
    """train.csv -> (X float32 (n, 784) in [0, 1], y int64 (n,))."""
    raw = train_pixels(path)
    return to_float(raw[:, 1:]), raw[:, 0].astype(np.int64)


def train_pixels(path):
    """train.csv -> its uint8 matrix (n, 785): the label, then the pixels."""
    return _load_raw(path, HEADERS["train.csv"])


def load_test(path):
    """test.csv -> X float32 (n, 784) in [0, 1]."""
    return to_float(test_pixels(path))


def test_pixels(path):
    """test.csv -> its uint8 pixels (n, 784), a quarter of the float copy: to convert a chunk at a time."""
    return _load_raw(path, HEADERS["test.csv"])


def stratified_split(y, n_val, rng):
    """Indices (train, val) with `n_val` rows held out, each class in proportion to its share of y."""
    n = len(y)
    if n < 2:
        raise DataError(f"train.csv has {n} row; training needs at least 2, some held out for validation: use the "
                        "competition's train.csv (kagglekit download)")
    if not 0 < n_val < n:
        raise DataError(f"validation size must be between 1 and {n - 1} for {n} rows, got {n_val}; "
                        f"set --val-size to a number in that range")
    order = _class_sorted(y, rng)
    # Systematic sampling along the class-sorted order takes each class in proportion.
    ticks = (np.arange(1, n + 1) * n_val) // n - (np.arange(n) * n_val) // n
    val = np.sort(order[ticks == 1])
    train = np.sort(order[ticks == 0])
    _check_learnable(y, train, f"holding out {n_val} of its {n} rows for validation")
    return train, val


def stratified_kfold(y, k, rng):
    """A list of k (train, val) index pairs; every row is in exactly one val fold, classes balanced."""
    if not 2 <= k <= len(y):
        raise DataError(f"--folds must be between 2 and {len(y)}, got {k}")
    order = _class_sorted(y, rng)
    fold = np.arange(len(y)) % k
    folds = [(np.sort(order[fold != i]), np.sort(order[fold == i])) for i in range(k)]
    for i, (train, _) in enumerate(folds):
        _check_learnable(y, train, f"holding out fold {i + 1} of {k}")
    return folds


def _check_learnable(y, train, how):
    """DataError, naming the digits present, unless the rows `train` (indices into labels y) hold at least
    two digits: a classifier fitted to one digit predicts it everywhere, and its validation looks perfect.
    (Holding out half a digit's rows or less, a split leaves one to train on of any digit with two.)"""
    if len(np.unique(y[train])) >= 2:
        return
    digits, counts = np.unique(y, return_counts=True)
    if len(digits) < 2:
        raise DataError(f"train.csv holds only the digit {digits[0]} ({_rows(counts[0])}): a classifier needs rows "
                        "of at least 2 digits to tell apart; use the competition's train.csv (kagglekit download)")
    present = ", ".join(f"{d} ({_rows(c)})" for d, c in zip(digits, counts))
    raise DataError(f"train.csv holds the digits {present}: {how} leaves only the digit {y[train][0]} to train "
                    "on; add rows of the other digits, or use the competition's train.csv (kagglekit download)")


def _rows(n):
    return f"{n} row" if n == 1 else f"{n} rows"


def _class_sorted(y, rng):
    perm = rng.permutation(len(y))
    return perm[np.argsort(y[perm], kind="stable")]
