"""SIGTERM (what `timeout`, schedulers, `docker stop` and Kaggle's own limits send) ends a command exactly as
Ctrl-C does: exit 130, the same one `Interrupted:` line, nothing half-written, what is whole kept. Each
case runs the real CLI in a subprocess, paused at one moment (pause_at.py) while the signal is sent."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from competition import write_competition
from kagglekit import checkpoint, pipeline
from kagglekit.config import preset

TESTS = Path(__file__).parent
TRAIN = ("train", "-p", "d", "--preset", "quick", "--epochs", "2", "--val-size", "10", "-q")
SIGNALS = pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])


def run_paused(root, target, match, signum, *args):
    """Run `kagglekit ARGS` in root, send signum once `target` is called with `match` in its arguments,
    and return (exit status, stdout, stderr)."""
    ready, go = root / ".ready", root / ".go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    proc = subprocess.Popen([sys.executable, str(TESTS / "pause_at.py"), target, match, ready, go, *args],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signum)
        go.touch()  # after the signal: a deferred one must wait for the paused write to end
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    for flag in (ready, go):
        flag.unlink()
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def leftovers(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*") if "tmp" in p.name or "-new-" in p.name)


@pytest.fixture
def root(tmp_path):
    write_competition(tmp_path / "d")
    return tmp_path


@SIGNALS
def test_before_the_first_epoch_nothing_is_left(root, signum):
    code, out, err = run_paused(root, "kagglekit.pipeline:train_pixels", "", signum, *TRAIN, "--name", "r")
    assert code == 130 and out == ""
    assert err.splitlines()[-1] == "Interrupted: nothing was kept (the run folder runs/r was removed)"
    assert not (root / "runs" / "r").exists() and leftovers(root) == []


@SIGNALS
def test_during_a_checkpoint_write_its_three_files_stay_one_epochs(root, signum):
    # paused between checkpoint.npz and model.npz, the first model.npz written (the checkpoint's)
    code, out, err = run_paused(root, "kagglekit.nn.network:Network.save", "model.npz", signum, *TRAIN,
                                "--name", "r")
    assert code == 130
    assert err.splitlines()[-1].startswith("Interrupted: kept the best model so far (epoch 1, ")
    assert err.splitlines()[-1].endswith("continue with `kagglekit train --resume runs/r`")
    saved = checkpoint.load(root / "runs" / "r")  # checks the epoch the three files give agree
    assert saved.epoch == json.loads((root / "runs" / "r" / "checkpoint.json").read_text())["epoch"] == 1
    assert sorted(p.name for p in (root / "runs" / "r").iterdir()) == ["checkpoint.json", "checkpoint.npz",
                                                                      "model.npz"]
    assert leftovers(root) == []


@SIGNALS
def test_during_the_finished_runs_writes_the_run_is_kept_whole(root, signum):
    code, _, err = run_paused(root, "kagglekit.pipeline:_write_history", "", signum, *TRAIN, "--name", "r")
    assert code == 130
    assert err.splitlines()[-1] == ("Interrupted: the run had finished and is kept in runs/r; write its report "
                                    "with `kagglekit report runs/r`")
    run_dir = root / "runs" / "r"
    assert {p.name for p in run_dir.iterdir()} == {"model.npz", "config.json", "history.csv", "metrics.json"}
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == 2 and leftovers(root) == []


@SIGNALS
def test_during_predict_no_parse_cache_is_left_half_written(root, signum):
    pipeline.train_run(root / "d", preset("quick").override(epochs=1, val_size=10), "m", runs=root / "runs")
    (root / "d" / ".test.csv.kkcache.npz").unlink(missing_ok=True)
    before = {p.name: p.read_bytes() for p in (root / "d").iterdir()}
    code, _, err = run_paused(root, "numpy:savez", "kkcache", signum, "predict", "runs/m", "-p", "d", "-o", "sub.csv")
    assert code == 130 and err.splitlines()[-1] == "Interrupted: sub.csv was not written"
    assert {p.name: p.read_bytes() for p in (root / "d").iterdir()} == before  # no cache, whole or half
    assert not (root / "sub.csv").exists() and leftovers(root) == []


def test_sigterm_outside_a_command_still_terminates():
    """Only the CLI turns SIGTERM into Ctrl-C, and only while a command runs: library code, and what
    runs after, keep the default (the process ends at once)."""
    code = ("import signal; from click.testing import CliRunner; from kagglekit.cli import main; "
            "CliRunner().invoke(main, ['--version']); "
            "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL; "
            "from kagglekit.checkpoint import interrupts_deferred\n"
            "with interrupts_deferred(): signal.raise_signal(signal.SIGTERM)\n"
            "print('not reached')")
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM and "not reached" not in done.stdout, done.stderr


def test_sigterm_to_the_process_group_ends_full_batch_training_as_ctrl_c(root):
    """`kill -TERM -PGID` (as a scheduler stops a job) reaches full-batch training's forked worker
    processes too: they leave it to the parent, as they do Ctrl-C, and the parent keeps its checkpoint."""
    args = ("train", "-p", "d", "--preset", "seed", "--epochs", "3", "--val-size", "10", "-q", "--name", "fb")
    ready, go = root / ".ready", root / ".go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    proc = subprocess.Popen([sys.executable, str(TESTS / "pause_at.py"), "kagglekit.nn.network:Network.save",
                             "model.npz", ready, go, *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGTERM)
        go.touch()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.splitlines()[-1].startswith("Interrupted: kept the best model so far (epoch 1, ")
    assert checkpoint.load(root / "runs" / "fb").epoch == 1 and leftovers(root) == []
