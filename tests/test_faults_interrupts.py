"""Ctrl-C in the middle of each command that writes or sends something: exit 130, one line saying what
state things are in, no half-written file, and what was there before left as it was."""
from cli_helpers import run
from competition import write_competition
from kagglekit import archive, files, kaggle_api, pipeline
from kagglekit.config import preset


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _leftovers(root):
    return [p for p in root.rglob("*") if p.name.startswith(".") and ("tmp" in p.name or "-new-" in p.name)]


def test_ctrl_c_while_the_submission_is_copied_into_place_keeps_the_earlier_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_competition(tmp_path / "d")
    pipeline.train_run(data, preset("quick").override(epochs=1, val_size=10), "r")
    (tmp_path / "sub.csv").write_text("the earlier submission\n")

    def half_then_ctrl_c(src, dst, *args):
        dst.write(src.read(100))
        raise KeyboardInterrupt
    monkeypatch.setattr(files.shutil, "copyfileobj", half_then_ctrl_c)
    result = run("predict", "r", "-p", "d", "-o", "sub.csv")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Interrupted: sub.csv was not written"
    assert (tmp_path / "sub.csv").read_text() == "the earlier submission\n" and _leftovers(tmp_path) == []


def test_ctrl_c_while_unpacking_a_download_keeps_the_old_data(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("download", "-q").exit_code == 0
    folder = tmp_path / "data" / "digit-recognizer"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(archive, "rows_problem", _interrupt)  # after the zip is unpacked beside the folder
    result = run("download", "--force", "-q")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == f"Interrupted: {folder.relative_to(tmp_path)} was left as it was"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert _leftovers(tmp_path) == [] and sorted(p.name for p in folder.parent.iterdir()) == ["digit-recognizer"]


def test_ctrl_c_during_the_upload_says_kaggle_may_have_it(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("download", "-q").exit_code == 0  # its sample_submission.csv is what the file is checked against
    (tmp_path / "submission.csv").write_text(fake_kaggle.submission_csv())
    monkeypatch.setattr(kaggle_api, "submit", _interrupt)
    result = run("submit", "-f", "submission.csv", "-m", "m")
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines()[-1] == ("Interrupted: the upload of submission.csv was cut short: Kaggle may "
                                              "or may not have it; check `kagglekit submissions` before submitting "
                                              "it again")

