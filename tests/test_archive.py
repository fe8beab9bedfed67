"""Unpacking a competition zip: a wrapping folder is unwrapped, the folder gets normal permissions,
and a bad zip leaves the old data as it was."""
import os
import stat
import zipfile

import pytest

from fake_kaggle import make_competition_zip
from kagglekit.archive import install_competition
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
    assert sorted(os.listdir(target)) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert os.listdir(tmp_path / "data") == ["digit-recognizer"]  # no temporary folder left
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_umask()


def test_a_bad_zip_leaves_the_old_data(tmp_path):
    (tmp_path / "good.zip").write_bytes(make_competition_zip()[0])
    target = install_competition(tmp_path / "good.zip", tmp_path / "data" / "digit-recognizer")
    before = (target / "train.csv").read_bytes()
    bad = _zip(tmp_path / "bad.zip", {"train.csv": b"label\n1\n"})
    with pytest.raises(DataError, match="bad.zip has no test.csv, sample_submission.csv"):
        install_competition(bad, target, force=True)
    assert (target / "train.csv").read_bytes() == before
    assert os.listdir(tmp_path / "data") == ["digit-recognizer"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
