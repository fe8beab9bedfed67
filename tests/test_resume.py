"""Checkpoints and --resume: Ctrl-C keeps the best model so far and a checkpoint, a resumed run ends
with the very weights and history an uninterrupted one has, and every bad --resume is one line, exit 1,
with the run folder left as it was."""
import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from cli_helpers import error_line
from kagglekit import checkpoint, pipeline
from kagglekit.cli import main
from kagglekit.config import preset
from kagglekit.errors import Interrupted, ModelError
from kagglekit.metrics import format_estimate
from kagglekit.nn.network import Network

CONFIG = preset("quick").override(epochs=6, val_size=20, batch_size=8, dropout=0.2, augment_shift=1,
                                  schedule="onecycle")
FINISHED = {"model.npz", "config.json", "metrics.json", "history.csv"}
UNFINISHED = {"model.npz", "checkpoint.json", "checkpoint.npz"}


def stop_at(epoch):
    def callback(row):
        if row["epoch"] == epoch:
            raise KeyboardInterrupt
    return callback


def files(folder):
    """{name: bytes} of a folder: what a refused command must leave as it was."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def history_rows(run_dir):
    with open(run_dir / "history.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.mark.parametrize("config, optimizer, arrays", [
    (CONFIG, "BlockedAdam", {"epoch", "m", "v"}),
    (CONFIG.override(hidden=(96,)), "BlockedAdam", {"epoch", "m", "v"}),  # 784x96 weights: updated block by block
    (preset("seed").override(epochs=8, val_size=20, lr=0.5), "SGD", {"epoch"}),  # gd keeps no velocity
    (CONFIG.override(schedule="none", lr_decay=0.7, optimizer="sgd"), "SGD", {"epoch", "velocity"}),
    (CONFIG.override(arch="dense16,bn", dropout=0.0, ema=0.9), "BlockedAdam", {"epoch", "m", "v", "live"})],
    ids=["adam-minibatch", "blocked-adam", "gd-fullbatch", "sgd", "ema-batchnorm"])
def test_an_interrupted_run_resumed_ends_as_the_uninterrupted_one(tiny_competition, tmp_path, config, optimizer,
                                                                   arrays):
    runs = tmp_path / "runs"
    whole, metrics = pipeline.train_run(tiny_competition, config, "whole", runs=runs)
    with pytest.raises(Interrupted) as e:
        pipeline.train_run(tiny_competition, config, "cut", callback=stop_at(4), runs=runs)
    cut = runs / "cut"
    epoch, acc = checkpoint.summary(cut)
    assert str(e.value) == (f"kept the best model so far (epoch {epoch}, validation accuracy {acc:.4f}) in {cut}; "
                            f"continue with `kagglekit train --resume {cut}`")
    assert {p.name for p in cut.iterdir()} == UNFINISHED and 1 <= epoch <= 4
    # The optimizer's state_dict and nothing else: no scratch buffers
    assert json.loads((cut / "checkpoint.json").read_text())["optimizer"]["class"] == optimizer
    with np.load(cut / "checkpoint.npz") as saved:
        assert {name.split(".")[0] for name in saved.files} == arrays
    run_dir, checkpoint_ = pipeline.unfinished_run(cut)
    assert checkpoint_.epoch == epoch and checkpoint_.config == config
    _, resumed = pipeline.resume_run(run_dir, checkpoint_, tiny_competition)
    assert {p.name for p in cut.iterdir()} == FINISHED
    assert history_rows(cut) == history_rows(whole)
    for a, b in zip(Network.load(cut / "model.npz").layers, Network.load(whole / "model.npz").layers):
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
        for k in a.buffers:
            np.testing.assert_array_equal(a.buffers[k], b.buffers[k])
    assert resumed["best_epoch"] == metrics["best_epoch"] and resumed["validation"] == metrics["validation"]


def test_resuming_may_extend_the_epochs_and_patience_stops_early(tiny_competition, tmp_path):
    runs = tmp_path / "runs"
    config = CONFIG.override(schedule="none")
    with pytest.raises(Interrupted):
        pipeline.train_run(tiny_competition, config, "r", callback=stop_at(2), runs=runs)
    _, metrics = pipeline.resume_run(*pipeline.unfinished_run(runs / "r"), tiny_competition, epochs=9)
    assert metrics["epochs"] == metrics["epochs_run"] == 9
    assert json.loads((runs / "r" / "config.json").read_text())["epochs"] == 9
    _, stopped = pipeline.train_run(tiny_competition, config.override(epochs=60, patience=2, select_size=10), "p",
                                       runs=runs)
    assert stopped["epochs_run"] == stopped["best_epoch"] + 2 < 60


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args])


ARGS = ["--preset", "quick", "--epochs", "6", "--val-size", "20", "--batch-size", "8"]


def interrupted_run(cli, tiny_competition, monkeypatch, name="r", at=3):
    """Train runs/<name> through the CLI and Ctrl-C it at epoch `at`; returns the result."""
    fit = pipeline.train_model

    def stopping(x, y, config, callback=None, *args):
        return fit(x, y, config, stop_at(at), *args)
    monkeypatch.setattr(pipeline, "train_model", stopping)
    result = cli("train", *ARGS, "-p", tiny_competition, "--name", name)
    monkeypatch.setattr(pipeline, "train_model", fit)
    return result


def test_ctrl_c_keeps_the_run_and_train_resume_finishes_it(cli, tiny_competition, tmp_path, monkeypatch):
    result = interrupted_run(cli, tiny_competition, monkeypatch)
    epoch, acc = checkpoint.summary(tmp_path / "runs" / "r")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (f"Interrupted: kept the best model so far (epoch {epoch}, validation "
                                              f"accuracy {acc:.4f}) in runs/r; continue with `kagglekit train "
                                              f"--resume runs/r`")
    assert {p.name for p in (tmp_path / "runs" / "r").iterdir()} == UNFINISHED
    result = cli("train", "--resume", "runs/r", "--epochs", "8", "-q")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "runs" / "r" / "metrics.json").read_text())
    assert result.stdout.splitlines() == [
        f"Trained in {metrics['train_seconds']:.1f} s: validation accuracy {format_estimate(metrics['estimate'])} "
        f"(epoch 8 of 8), run saved in runs/r"]
    assert {p.name for p in (tmp_path / "runs" / "r").iterdir()} == FINISHED | {"report.md"}  # the CLI adds the report


def test_bad_resumes_are_one_line_and_change_nothing(cli, tiny_competition, tmp_path, monkeypatch):
    interrupted_run(cli, tiny_competition, monkeypatch, "cut")
    assert cli("train", *ARGS, "-p", tiny_competition, "--name", "done", "-q").exit_code == 0
    assert cli("train", *ARGS, "-p", tiny_competition, "--name", "wide", "--hidden", "32", "-q").exit_code == 0
    runs = tmp_path / "runs"
    (runs / "empty").mkdir()
    for name in ("odd", "corrupt", "stranger"):
        shutil.copytree(runs / "cut", runs / name)
    shutil.copy(runs / "wide" / "model.npz", runs / "odd" / "model.npz")  # another architecture's weights
    (runs / "corrupt" / "checkpoint.json").write_text("{not json")
    record = json.loads((runs / "stranger" / "checkpoint.json").read_text())
    record["config"]["lr"] = 0.5
    (runs / "stranger" / "checkpoint.json").write_text(json.dumps(record))
    before = {p.name: files(p) for p in runs.iterdir()}
    epoch = checkpoint.summary(runs / "cut")[0]
    cases = [
        (["runs/gone"], "run runs/gone not found; pass the run folder that Ctrl-C said it kept"),
        (["runs/done"], "runs/done finished training (metrics.json is there); train a new run, or use this one with "
                        "`kagglekit evaluate` or `kagglekit predict`"),
        (["runs/empty"], "runs/empty has no checkpoint to resume from (checkpoint.json is missing: it stopped before "
                         "its first epoch ended, or is no run folder); train a new run"),
        (["runs/odd"], "runs/odd: the checkpoint does not fit the run (model.npz is dense32, checkpoint.json says "
                       "dense64); train a new run"),
        (["runs/corrupt"], "runs/corrupt/checkpoint.json is damaged or not a kagglekit checkpoint (Expecting property "
                           "name enclosed in double quotes: line 1 column 2 (char 1)); train a new run"),
        (["runs/stranger"], "runs/stranger: the checkpoint does not fit the run (model.npz was trained with another "
                            "config than checkpoint.json holds); train a new run"),
        (["runs/cut", "--lr", "0.1"], "--resume continues a run with the config it started with; only --epochs may "
                                      "be given with it, not --lr"),
        (["runs/cut", "--preset", "mlp"], "--resume continues a run with the config it started with; only --epochs "
                                          "may be given with it, not --preset"),
        (["runs/cut", "--epochs", str(epoch)], f"--epochs {epoch} leaves nothing to do: runs/cut's checkpoint is "
                                               f"from epoch {epoch}; give more epochs, or leave --epochs out"),
    ]
    for args, message in cases:
        assert error_line(cli("train", "--resume", *args)) == "Error: " + message, args
    assert {p.name: files(p) for p in runs.iterdir()} == before


def test_a_checkpoints_files_must_be_of_one_epoch(tiny_competition, tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(Interrupted):
        pipeline.train_run(tiny_competition, CONFIG, "r", callback=stop_at(3), runs=runs)
    record = json.loads((runs / "r" / "checkpoint.json").read_text())
    record["epoch"] += 1
    record["history"].append({**record["history"][-1], "epoch": record["epoch"]})
    (runs / "r" / "checkpoint.json").write_text(json.dumps(record))
    with pytest.raises(ModelError) as e:
        pipeline.unfinished_run(runs / "r")
    assert str(e.value) == (f"{runs / 'r'}: checkpoint.npz is not from epoch {record['epoch']} as checkpoint.json "
                            f"says; train a new run")


def test_an_ema_checkpoint_without_its_live_weights_is_refused_in_one_line(tiny_competition, tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(Interrupted):
        pipeline.train_run(tiny_competition, CONFIG.override(ema=0.9), "r", callback=stop_at(3), runs=runs)
    with np.load(runs / "r" / "checkpoint.npz") as saved:
        arrays = {k: saved[k] for k in saved.files}
    assert {k for k in arrays if k.startswith("live.")} == {"live.0", "live.1", "live.2", "live.3"}
    np.savez(runs / "r" / "checkpoint.npz", **{k: a for k, a in arrays.items() if k != "live.3"})
    _, cut = pipeline.unfinished_run(runs / "r")
    with pytest.raises(ModelError) as e:
        pipeline.resume_run(runs / "r", cut, tiny_competition)
    assert str(e.value) == (f"{runs / 'r'}: the checkpoint does not fit the run (its live weights (--ema) are "
                            f"missing or do not fit the network); train a new run")
