"""The fault suite, Kaggle half: the real kaggle client against the fake server, one fault per case
(401, 403, 404, 429, 500, connection refused, a reset mid-download, an upload refused, a submission
scored ERROR, a kernel that ended in ERROR). Each ends in one `Error:` line (or, where the work was done,
a clear warning), no traceback, no credentials anywhere, and the data folder as it was."""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import error_line, run
from fake_kaggle import KEY, TOKEN

SUBMIT = ("submit", "-f", "submission.csv", "-m", "fault")


@dataclass
class Case:
    name: str
    args: tuple
    says: tuple
    setup: object  # setup(fake, monkeypatch)
    warns: bool = False  # the work was done: exit 0 with a Warning: line instead


def _fail(method, status, times=10, message=None):
    return lambda fake, mp: fake.fail(method, status, times, message)


def _kernel_error(fake, mp):
    fake.pushes.append({"slug": "fakeuser/faulty"})
    fake.kernel_statuses, fake.kernel_failure = ["ERROR"], "MemoryError: Unable to allocate 3.2 GiB"


def _bad_key(fake, mp):
    fake.key = "the-key-kaggle-knows"


CASES = [
    Case("401-bad-key", ("submissions",), ("rejected the credentials", "(401)", "Create New Token"), _bad_key),
    Case("403-rules-not-accepted", ("download", "--force", "-q"), ("accept", "rules"),
         _fail("DownloadDataFiles", 403, message="You must accept this competition's rules before you'll be able to "
                                                 "download files")),
    Case("404-unknown-competition", ("download", "-c", "digit-recogniser", "-q"), ("no competition", "slug"),
         lambda fake, mp: None),
    Case("429-rate-limited", ("submissions",), ("rate-limiting", "wait a few minutes"), _fail("ListSubmissions", 429)),
    Case("500-server-error", ("download", "--force", "-q"), ("HTTP 500", "try again later"),
         _fail("DownloadDataFiles", 500)),
    Case("connection-refused", ("submissions",), ("Could not reach Kaggle", "internet connection"),
         lambda fake, mp: fake.go_offline(mp)),
    Case("reset-mid-download", ("download", "--force", "-q"), ("broke off in the middle", "run the command again"),
         lambda fake, mp: setattr(fake, "reset_zip_at", 2000)),
    Case("zip-download-404", ("download", "--force", "-q"), ("404",), _fail("zip", 404)),
    Case("upload-refused", SUBMIT, ("refused the upload", "nothing was submitted"), _fail("upload", 403, 1)),
    Case("create-submission-500", SUBMIT, ("HTTP 500", "may or may not have been saved", "check on kaggle.com"),
         _fail("CreateSubmission", 500)),
    Case("scored-error", (*SUBMIT, "--wait"), ("Kaggle could not score submission", "fix the file and submit again"),
         lambda fake, mp: fake.solution.__setitem__(6, 4)),  # Kaggle's test set has a row the sample lacks
    Case("score-unavailable", (*SUBMIT, "--wait"), ("Submitted as ref", "kagglekit submissions"),
         _fail("GetSubmission", 500), warns=True),
    Case("kernel-ended-in-error", ("kernel", "status", "--id", "fakeuser/faulty"),
         ("failed on Kaggle: MemoryError", "fix the cause and push again"), _kernel_error),
]


@pytest.fixture
def kaggle_workspace(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("download", "-q").exit_code == 0
    Path("submission.csv").write_text(fake_kaggle.submission_csv(correct=3))
    fake_kaggle.calls.clear()
    return tmp_path


def _data(root):
    folder = root / "data" / "digit-recognizer"
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kaggle_fault(case, fake_kaggle, kaggle_workspace, monkeypatch):
    before = _data(kaggle_workspace)
    case.setup(fake_kaggle, monkeypatch)
    result = run(*case.args)
    if case.warns:
        assert result.exit_code == 0 and "Traceback" not in result.output
        line = next(l for l in result.output.splitlines() if l.startswith("Warning:"))
    else:
        line = error_line(result)
    for fragment in case.says:
        assert fragment in line, line
    assert _data(kaggle_workspace) == before  # the data folder, byte for byte
    leftovers = [p for p in kaggle_workspace.rglob("*") if "-new-" in p.name or p.name.endswith((".tmp", ".part"))]
    assert leftovers == []


def test_no_credential_reaches_any_output_file_or_message(fake_kaggle, kaggle_workspace, monkeypatch):
    """Everything a session of commands produced, on screen and on disk, is free of the key and token."""
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    outputs = [run("run", "--preset", "quick", "--epochs", "1", "--val-size", "2", "--name", "r", "-p",
                   "data/digit-recognizer", "--submit", "-m", "all", "-q"),
               run(*SUBMIT, "--wait"), run("submissions"), run("download", "--force"), run("kernel", "build")]
    fake_kaggle.fail("ListSubmissions", 500, 10)
    outputs.append(run("submissions"))
    _bad_key(fake_kaggle, monkeypatch)
    outputs.append(run("submissions"))
    text = "".join(r.output for r in outputs)
    assert "Error:" in text  # the failures were reached
    for path in kaggle_workspace.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in (KEY, TOKEN):
                assert secret.encode() not in content, path
    for secret in (KEY, TOKEN):
        assert secret not in text


def test_kaggle_json_readable_by_others_draws_a_warning(fake_kaggle, kaggle_workspace):
    fake_kaggle.kaggle_json.chmod(0o644)
    result = run("submissions")
    assert result.exit_code == 0
    assert any(line.startswith("Warning:") and "readable by other users" in line and "chmod 600" in line
               for line in result.output.splitlines()), result.output


def test_a_second_run_with_the_same_name_gets_its_own_folder(tmp_path):
    """Two runs started at once with one --name: each gets a folder of its own (mkdir decides, atomically)."""
    from concurrent.futures import ThreadPoolExecutor

    from kagglekit.rundir import new as new_run_dir
    with ThreadPoolExecutor(8) as pool:
        folders = list(pool.map(lambda _: new_run_dir("same", tmp_path), range(16)))
    assert len(set(folders)) == 16 and all(f.is_dir() for f in folders)


def test_two_processes_training_the_same_name_write_two_folders(tmp_path):
    import subprocess
    import sys
    from competition import write_competition
    write_competition(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, "-m", "kagglekit", "train", "-p", "d", "--preset", "quick", "--epochs", "1",
               "--val-size", "10", "--name", "twin", "-q"]
    procs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["twin", "twin-1"]
    assert all((tmp_path / "runs" / n / "model.npz").is_file() for n in ("twin", "twin-1"))
