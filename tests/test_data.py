"""Reading, checking and caching the competition CSVs; stratified splits."""
import os

import numpy as np
import pytest

from kagglekit import data
from kagglekit.errors import DataError


def test_load_train_and_test_shapes_and_scaling(tiny_competition):
    x, y = data.load_train(tiny_competition / "train.csv")
    assert x.shape == (60, 784) and x.dtype == np.float32 and x.flags.c_contiguous  # rows contiguous
    assert 0 <= x.min() and x.max() <= 1
    assert y.dtype == np.int64 and list(y[:3]) == [0, 1, 2]
    t = data.load_test(tiny_competition / "test.csv")
    assert t.shape == (20, 784) and t.dtype == np.float32 and t.flags.c_contiguous


def test_cache_is_used_and_invalidated_when_csv_changes(tiny_competition):
    path = tiny_competition / "train.csv"
    assert not data.is_cached(path)
    x1, _ = data.load_train(path)
    cache = tiny_competition / ".train.csv.kkcache.npz"
    assert cache.exists() and data.is_cached(path)
    with np.load(cache) as saved:  # the cache holds the raw uint8 values
        assert saved["values"].dtype == np.uint8
    # Rewrite the CSV with one different label; the cache must not hide it.
    lines = path.read_text().splitlines()
    lines[1] = "9" + lines[1][1:]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, ns=(cache.stat().st_mtime_ns + 10**9,) * 2)
    assert not data.is_cached(path)
    _, y2 = data.load_train(path)
    assert y2[0] == 9
    np.testing.assert_array_equal(x1, data.load_train(path)[0])


def test_cache_skipped_in_read_only_folder(tiny_competition, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")
    monkeypatch.setattr(data.np, "savez", refuse)
    x, _ = data.load_train(tiny_competition / "train.csv")
    assert x.shape == (60, 784)
    assert not (tiny_competition / ".train.csv.kkcache.npz").exists()


def _rewrite(path, row, col, value):
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("value, shown", [("300", "300"), ("-1", "-1"), ("abc", "'abc'"), ("", "empty"),
                                          ("1.5", "1.5")])
def test_bad_pixel_named_by_file_row_and_column(tiny_competition, value, shown):
    path = tiny_competition / "train.csv"
    _rewrite(path, 4, 11, value)  # data row 4 (line 5 of the file), column pixel10
    with pytest.raises(DataError) as e:
        data.load_train(path)
    message = str(e.value)
    assert f"train.csv line 5 column 'pixel10': {shown} is not an integer in 0..255" in message


def test_bad_label(tiny_competition):
    path = tiny_competition / "train.csv"
    _rewrite(path, 2, 0, "12")
    with pytest.raises(DataError, match=r"line 3 column 'label': 12 is not an integer in 0\.\.9"):
        data.load_train(path)


def test_line_numbers_count_the_header_and_blank_lines_as_an_editor_does(tiny_competition):
    path = tiny_competition / "train.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",", ",x", 1)  # the second data row, line 3
    path.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n")  # a blank line pushes it to line 4
    with pytest.raises(DataError) as e:
        data.load_train(path)
    assert str(e.value).startswith(f"{path} line 4 column 'pixel0': 'x")


def test_test_csv_given_as_train(tiny_competition):
    with pytest.raises(DataError, match="looks like test.csv"):
        data.load_train(tiny_competition / "test.csv")
    with pytest.raises(DataError, match="looks like train.csv"):
        data.load_test(tiny_competition / "train.csv")


def test_header_off_by_one_column(tiny_competition):
    path = tiny_competition / "test.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="has 783 columns, expected 784"):
        data.load_test(path)


def test_renamed_column(tiny_competition):
    path = tiny_competition / "test.csv"
    path.write_text(path.read_text().replace("pixel5,", "pixel_5,", 1))
    with pytest.raises(DataError, match="header column 6 is 'pixel_5', expected 'pixel5'"):
        data.load_test(path)


def test_empty_and_header_only_files(tiny_competition):
    path = tiny_competition / "train.csv"
    header = path.read_text().splitlines()[0]
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        data.load_train(path)
    path.write_text(header + "\n")
    with pytest.raises(DataError, match="no rows"):
        data.load_train(path)


def test_missing_file_and_folder(tmp_path, tiny_competition):
    with pytest.raises(DataError, match="not found"):
        data.load_train(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="data folder .* not found"):
        data.check_competition_folder(tmp_path / "nothing")
    (tiny_competition / "test.csv").unlink()
    with pytest.raises(DataError, match="missing test.csv"):
        data.check_competition_folder(tiny_competition)


def test_check_competition_folder_accepts_valid(tiny_competition):
    data.check_competition_folder(tiny_competition)


def test_stratified_split_is_proportional_and_reproducible():
    y = np.repeat(np.arange(10), [100, 200, 50, 50, 100, 100, 100, 100, 100, 100])
    train, val = data.stratified_split(y, 100, np.random.default_rng(0))
    assert len(val) == 100 and len(train) == len(y) - 100
    assert len(np.intersect1d(train, val)) == 0
    counts = np.bincount(y[val], minlength=10)
    assert abs(counts[1] - 20) <= 1 and abs(counts[2] - 5) <= 1
    again = data.stratified_split(y, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(val, again[1])
    other = data.stratified_split(y, 100, np.random.default_rng(1))
    assert not np.array_equal(val, other[1])


def test_split_size_checked():
    with pytest.raises(DataError, match="validation size must be between 1 and 9"):
        data.stratified_split(np.zeros(10, int), 10, np.random.default_rng(0))


def test_kfold_covers_every_row_once_with_balanced_classes():
    y = np.repeat(np.arange(10), 30)
    folds = data.stratified_kfold(y, 3, np.random.default_rng(0))
    val = np.concatenate([v for _, v in folds])
    assert sorted(val) == list(range(300))
    for train, v in folds:
        assert list(np.bincount(y[v])) == [10] * 10
        assert len(np.intersect1d(train, v)) == 0
    with pytest.raises(DataError, match="--folds must be between 2"):
        data.stratified_kfold(y, 1, np.random.default_rng(0))
