"""competition.py at library level, against the fake Kaggle server: values back, progress to callbacks,
nothing printed, and a downloaded zip never left behind."""
import os

import pytest

from kagglekit.competition import install, send_submission
from kagglekit.errors import SubmissionError


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_install_downloads_unpacks_and_deletes_the_zip(fake_kaggle, cwd, capsys):
    notes = []
    target, installed = install(quiet=True, on_note=notes.append)
    assert (str(target), installed) == (os.path.join("data", "digit-recognizer"), True)
    assert os.listdir("data") == ["digit-recognizer"] and notes == []
    assert install(on_note=notes.append) == (target, False)  # already there: Kaggle is not asked
    assert [name for name, _ in fake_kaggle.calls] == ["DownloadDataFiles", "zip"]
    assert capsys.readouterr().out == ""


def test_send_submission_reports_through_callbacks(fake_kaggle, cwd, capsys):
    install(quiet=True)
    (cwd / "sub.csv").write_text(fake_kaggle.submission_csv(correct=3))
    fake_kaggle.pending_polls = 2
    sent, polls = [], []
    result = send_submission("sub.csv", "m", wait=True, on_sent=sent.append, on_poll=lambda: polls.append(1))
    assert (result.rows, result.ref, result.public) == (5, 1000, "1.00000")
    assert sent[0].public is None and len(polls) == 2
    assert capsys.readouterr().out == ""


def test_send_submission_names_the_source_of_an_invalid_file(fake_kaggle, cwd):
    (cwd / "bad.csv").write_text("ImageId,Label\n1,3\n")
    with pytest.raises(SubmissionError, match=r"^not submitted: the kernel's output is invalid: bad.csv: 1 rows"):
        send_submission("bad.csv", "m", source="the kernel's output")
    with pytest.raises(SubmissionError, match="a submission needs a message saying what it is"):
        send_submission("bad.csv", " ")
    assert fake_kaggle.uploads == []


def test_retries_go_to_the_on_retry_given_and_are_silent_without_one(fake_kaggle, cwd, capsys):
    retries = []
    fake_kaggle.fail("DownloadDataFiles", 503)
    install(quiet=True, on_retry=retries.append)
    (cwd / "sub.csv").write_text(fake_kaggle.submission_csv(correct=3))
    fake_kaggle.fail("CreateSubmission", 429)
    fake_kaggle.fail("GetSubmission", 429)
    send_submission("sub.csv", "m", wait=True, on_retry=retries.append)
    assert retries == ["Kaggle answered HTTP 503; retrying in 0.01 s (2/4)",
                       "Kaggle answered HTTP 429; retrying in 0.01 s (2/4)",
                       "Kaggle answered HTTP 429; retrying in 0.01 s (2/4)"]
    fake_kaggle.fail("CreateSubmission", 429)
    send_submission("sub.csv", "m")  # retried all the same, told to no one
    assert len(fake_kaggle.called("CreateSubmission")) == 4 and len(retries) == 3
    assert capsys.readouterr() == ("", "")
