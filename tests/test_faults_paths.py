"""Names that point elsewhere, in the kernel: every path taken from kernel-metadata.json stays inside the
kernel folder, and every kernel id (from the metadata, --id, the pushes record or the Kaggle username) is
owner/slug, or the command is refused in one line before anything is uploaded or written."""
import json
import os

import pytest

from cli_helpers import error_line, run
from kagglekit import kernel
from kagglekit.errors import KernelError
from kagglekit.kernel.metadata import ID_FORM

KERNEL_ID = "fakeuser/kagglekit-digit-recognizer"


@pytest.fixture
def built(fake_kaggle, tmp_path, monkeypatch):
    """A kernel folder built as a fresh clone has it, in tmp_path/kernels/digit-recognizer."""
    monkeypatch.chdir(tmp_path)
    assert run("kernel", "build", "--preset", "quick").exit_code == 0
    return tmp_path / kernel.DEFAULT_FOLDER


def set_metadata(folder, **changes):
    path = folder / kernel.METADATA_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def everything(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("code_file", ["../outside.py", "../../outside.py", "sub/../../outside.py",
                                       "ABSOLUTE", "link.py", "sub/../kagglekit_digit_recognizer.py"])
def test_a_code_file_leading_out_of_the_folder_is_refused_before_any_upload(fake_kaggle, built, code_file):
    root = built.parent.parent
    (root / "kernels" / "outside.py").write_text("print('not the kernel')\n")
    (root / "outside.py").write_text("print('not the kernel')\n")
    os.symlink(root / "outside.py", built / "link.py")
    code_file = str(root / "outside.py") if code_file == "ABSOLUTE" else code_file
    set_metadata(built, code_file=code_file)
    before = everything(root)
    line = error_line(run("kernel", "push"))
    assert f"code_file must be a path inside {kernel.DEFAULT_FOLDER}, got {code_file!r}" in line
    assert line.endswith(f"rebuild it with `kagglekit kernel build`") and "same file" not in line
    assert fake_kaggle.pushes == [] and everything(root) == before  # nothing uploaded, nothing written


def test_a_code_file_in_a_subfolder_stays_allowed(fake_kaggle, built):
    (built / "src").mkdir()
    (built / kernel.CODE_FILE).rename(built / "src" / kernel.CODE_FILE)
    set_metadata(built, code_file=f"src/{kernel.CODE_FILE}")
    assert kernel.check_metadata(built)["code_file"] == f"src/{kernel.CODE_FILE}"


@pytest.mark.parametrize("code_file", ["a\0b.py", "/", "", "."])
def test_odd_code_files_are_refused_in_one_line(tmp_path, code_file):
    (tmp_path / kernel.METADATA_FILE).write_text(json.dumps({**kernel.metadata(KERNEL_ID), "code_file": code_file}))
    with pytest.raises(KernelError, match="code_file must") as e:
        kernel.check_metadata(tmp_path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kernel_id", ["my user/kagglekit-digit-recognizer", "../kagglekit-digit-recognizer",
                                       "./kagglekit-digit-recognizer", "fake.user/kagglekit-digit-recognizer",
                                       "/kagglekit-digit-recognizer", "fakeuser/../kagglekit-digit-recognizer"])
def test_an_owner_that_is_no_kaggle_username_is_refused(fake_kaggle, tmp_path, monkeypatch, kernel_id):
    monkeypatch.chdir(tmp_path)
    line = error_line(run("kernel", "build", "--id", kernel_id))
    assert f"{ID_FORM}, got {kernel_id!r}" in line
    assert not (tmp_path / "kernels").exists() or not any((tmp_path / "kernels").rglob("*.json"))


def test_a_kaggle_username_with_a_space_pushes_nothing(fake_kaggle, built):
    fake_kaggle.kaggle_json.write_text(json.dumps({"username": "fake user", "key": "k"}))
    line = error_line(run("kernel", "push"))
    assert "cannot push as 'fake user/kagglekit-digit-recognizer'" in line and ID_FORM in line
    assert fake_kaggle.pushes == []


@pytest.mark.parametrize("command", [("status",), ("output",), ("submit", "-m", "m")])
@pytest.mark.parametrize("kernel_id", ["fakeuser/../../escaped", "fake user/kagglekit-digit-recognizer",
                                       "fakeuser/kagglekit-digit-recognizer/../../x"])
def test_kernel_commands_refuse_an_id_that_points_elsewhere(fake_kaggle, built, command, kernel_id):
    root = built.parent.parent
    before = everything(root)
    line = error_line(run("kernel", *command, "--id", kernel_id))
    assert f"{ID_FORM}, got {kernel_id!r}; pass --id USER/SLUG" in line
    assert fake_kaggle.calls == [] and everything(root) == before


def test_a_pushes_record_naming_another_place_is_refused(fake_kaggle, built):
    root = built.parent.parent
    (root / "runs").mkdir()
    (root / "runs" / "kernel-pushes.json").write_text(json.dumps({"fakeuser/../../../escaped": 1}))
    before = everything(root)
    line = error_line(run("kernel", "output"))
    assert "got 'fakeuser/../../../escaped'" in line and fake_kaggle.calls == [] and everything(root) == before


def test_a_valid_username_with_hyphens_and_underscores_builds(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("kernel", "build", "--id", "Fake_User-2/kagglekit-digit-recognizer").exit_code == 0
