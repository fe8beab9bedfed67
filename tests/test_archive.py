"""Unpacking a competition zip: a wrapping folder is unwrapped, the folder gets normal permissions,
and a bad zip leaves the old data as it was."""
import os
import stat
import zipfile

import pytest

from fake_kaggle import make_competition_zip
from kagglekit.archive import install_competition, installed_problem
from kagglekit.errors import DataError


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def _members(raw):
    with zipfile.ZipFile(raw) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_unpacks_a_wrapped_zip_with_normal_permissions(tmp_path):
    (tmp_path / "flat.zip").write_bytes(make_competition_zip()[0])
    files = _members(tmp_path / "flat.zip")
    wrapped = _zip(tmp_path / "wrapped.zip", {f"digit-recognizer/{n}": b for n, b in files.items()})
    target = install_competition(wrapped, tmp_path / "data" / "digit-recognizer")
    assert sorted(os.listdir(target)) == [".kagglekit-unpacked.json", ".test.csv.kkcache.npz", ".train.csv.kkcache.npz",
                                          "sample_submission.csv", "test.csv", "train.csv"]  # rows checked, parse cached
    assert os.listdir(tmp_path / "data") == ["digit-recognizer"]  # no temporary folder left
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_umask()


def test_a_bad_zip_leaves_the_old_data(tmp_path):
    (tmp_path / "good.zip").write_bytes(make_competition_zip()[0])
    target = install_competition(tmp_path / "good.zip", tmp_path / "data" / "digit-recognizer")
    before = (target / "train.csv").read_bytes()
    bad = _zip(tmp_path / "bad.zip", {"train.csv": b"label\n1\n"})
    with pytest.raises(DataError) as e:
        install_competition(bad, target, force=True)
    assert str(e.value) == ("kagglekit supports Digit Recognizer ('digit-recognizer'); bad.zip's files (train.csv) "
                            "are not its files: use 'digit-recognizer'.")
    assert (target / "train.csv").read_bytes() == before
    assert os.listdir(tmp_path / "data") == ["digit-recognizer"]


def test_a_file_cut_short_after_unpacking_is_not_installed_data(tmp_path):
    (tmp_path / "good.zip").write_bytes(make_competition_zip()[0])
    target = install_competition(tmp_path / "good.zip", tmp_path / "digit-recognizer")
    assert installed_problem(target) == ""
    train = target / "train.csv"
    size = train.stat().st_size
    train.write_text("\n".join(train.read_text().splitlines()[:3]) + "\n")  # cut at a line: still parses
    assert installed_problem(target) == (f"{train} is {train.stat().st_size:,} bytes but {size:,} were unpacked "
                                         f"(cut short or changed)")


def test_files_put_there_by_hand_are_read_in_full(tmp_path):
    (tmp_path / "good.zip").write_bytes(make_competition_zip()[0])
    target = install_competition(tmp_path / "good.zip", tmp_path / "digit-recognizer")
    (target / ".kagglekit-unpacked.json").unlink()
    assert installed_problem(target) == ""
    test = target / "test.csv"
    test.write_text("\n".join(test.read_text().splitlines()[:3]) + "\n")
    assert installed_problem(target) == f"{target}: test.csv has 2 rows but sample_submission.csv has 5"
    train = target / "train.csv"
    train.write_text(train.read_text()[:-40])  # cut inside the last row
    assert installed_problem(target).startswith(f"{train} line 9 column ")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
