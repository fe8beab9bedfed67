"""files.py: a write or folder swap either completes or leaves the target as it was, with no temporary
file or folder behind."""
import os

import pytest

from kagglekit.files import atomic_write, swapped_dir, write_text


class Boom(Exception):
    pass


def test_write_text_replaces_the_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    write_text(tmp_path / "a.txt", "new")
    assert (tmp_path / "a.txt").read_text() == "new" and os.listdir(tmp_path) == ["a.txt"]


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(Boom, match="half way"):
        with atomic_write(tmp_path / "a.txt") as f:
            f.write("half")
            raise Boom("half way")
    assert (tmp_path / "a.txt").read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_swapped_dir_replaces_the_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.csv").write_text("old")
    with swapped_dir(tmp_path / "data") as new:
        (new / "new.csv").write_text("new")
    assert os.listdir(tmp_path / "data") == ["new.csv"] and os.listdir(tmp_path) == ["data"]


def test_a_failed_swap_leaves_the_folder_and_no_temporary_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.csv").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with swapped_dir(tmp_path / "data") as new:
            (new / "new.csv").write_text("new")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path / "data") == ["old.csv"] and os.listdir(tmp_path) == ["data"]
