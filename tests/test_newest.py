""""newest" is one rule for every command: the newest finished run or ensemble (rundir.newest). Each case
drives the real commands (the real Kaggle client against the fake server for submit)."""
import json
import shutil

from cli_helpers import error_line, run
from test_cli_kaggle import cwd, downloaded  # noqa: F401 (fixtures: a fresh folder; the fake's data in it)
from kagglekit import checkpoint, pipeline, runs
from kagglekit.config import preset
from kagglekit.errors import Interrupted

QUICK = ["--preset", "quick", "--epochs", "1", "--val-size", "20", "-q"]


def train(*args):
    result = run("run", *QUICK, *args)
    assert result.exit_code == 0, result.output
    return result


def submitted_from(cwd, *names):
    """The run folders (by name) whose record holds a submission."""
    return [n for n in names if runs.read_record(cwd / "runs" / n)["submissions"]]


def test_an_ensemble_after_a_single_run_is_what_submit_newest_sends(downloaded, cwd, fake_kaggle):
    train("--name", "single")
    train("--members", "2", "--name", "ens")
    result = run("submit", "--run", "newest", "-m", "ensemble", "--wait")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Using the newest run: runs/ens"
    assert fake_kaggle.submissions[-1]["_content"] == (cwd / "runs" / "ens" / "submission.csv").read_bytes()
    assert submitted_from(cwd, "single", "ens") == ["ens"]
    public = result.stdout.splitlines()[-1].removeprefix("Public score: ")
    assert f"| complete | {public} | - |" in (cwd / "runs" / "ens" / "report.md").read_text()
    table = {r["name"]: r for r in json.loads(run("runs", "--json").stdout)}
    assert (table["ens"]["members"], table["ens"]["kind"], table["ens"]["public"]) == (2, "ensemble", public)
    assert table["single"]["members"] == 1
    assert run("predict", "-q").stdout.splitlines()[0] == "Using the newest run: runs/ens"
    assert run("evaluate", "-q").stdout.splitlines()[0] == "Using the newest run: runs/ens"


def test_a_single_run_after_an_ensemble_is_the_newest(downloaded, cwd, fake_kaggle):
    train("--members", "2", "--name", "ens")
    train("--name", "single")
    for command in (["predict", "-q"], ["evaluate", "-q"], ["show", "wrong", "--no-color"]):
        result = run(*command) if command[0] != "show" else run(*command)
        assert result.exit_code == 0, (command, result.output)
    assert run("predict", "-q").stdout.splitlines()[0] == "Using the newest run: runs/single"
    result = run("submit", "--run", "newest", "-m", "single")
    assert result.exit_code == 0, result.output
    assert submitted_from(cwd, "single", "ens") == ["single"]
    names = [r["name"] for r in json.loads(run("runs", "--json").stdout)]
    assert sorted(names) == ["ens", "single"]


def test_an_unfinished_run_is_never_the_newest(downloaded, cwd, fake_kaggle):
    train("--name", "done")

    def stop(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt
    config = preset("quick").override(epochs=3, val_size=20)
    try:
        pipeline.train_run(downloaded, config, "cut", callback=stop)
    except Interrupted:
        pass
    assert checkpoint.summary(cwd / "runs" / "cut") and (cwd / "runs" / "cut" / "model.npz").is_file()
    assert run("predict", "-q").stdout.splitlines()[0] == "Using the newest run: runs/done"
    result = run("submit", "--run", "newest", "-m", "done")
    assert result.exit_code == 0, result.output
    assert submitted_from(cwd, "done") == ["done"]
    assert error_line(run("predict", "cut", "-q")) == (
        "Error: runs/cut did not finish training; continue it with `kagglekit train --resume runs/cut`")
    assert [r["name"] for r in json.loads(run("runs", "--json").stdout)] == ["done"]


def test_an_ensemble_missing_a_member_is_named_not_passed_over(downloaded, cwd, fake_kaggle):
    train("--name", "single")
    train("--members", "2", "--name", "ens")
    shutil.rmtree(cwd / "runs" / "ens" / "members" / "1")
    message = ("Error: member runs/ens/members/1 of the ensemble runs/ens is missing (no model.npz); "
               "`kagglekit train --resume runs/ens` trains it again")
    assert error_line(run("predict", "-q")) == message
    assert error_line(run("evaluate", "-q")) == message
    submissions = len(fake_kaggle.submissions)
    result = run("submit", "--run", "newest", "-m", "ens")  # its submission.csv was written before
    assert result.exit_code == 0 and submitted_from(cwd, "single", "ens") == ["ens"], result.output
    assert len(fake_kaggle.submissions) == submissions + 1
