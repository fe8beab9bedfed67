"""The fault suite, checkpoints: an interrupted run whose checkpoint.npz or checkpoint.json was damaged
(cut short, garbage bytes, wrong types, missing keys) is refused at `train --resume` with one `Error:`
line naming the file and the fix, no traceback, and the run folder byte for byte as it was."""
import io
import json
import shutil

import numpy as np
import pytest

from cli_helpers import error_line, run
from competition import write_competition
from kagglekit import pipeline
from kagglekit.config import preset
from kagglekit.errors import Interrupted

FIX = "train a new run"


@pytest.fixture(scope="session")
def interrupted(tmp_path_factory):
    """A run of `quick` (Adam: the blocked kind) stopped after its second epoch, with its checkpoint."""
    root = tmp_path_factory.mktemp("interrupted")
    data = write_competition(root / "d")

    def stop(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        pipeline.train_run(data, preset("quick").override(epochs=4, val_size=10, patience=0), "cut", stop,
                           runs=root / "runs")
    return root


def _npz(change):
    """A damage that rewrites checkpoint.npz through change({name: array}) -> {name: array}."""
    def damage(run_dir):
        with np.load(run_dir / "checkpoint.npz") as saved:
            arrays = change({k: saved[k] for k in saved.files})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        (run_dir / "checkpoint.npz").write_bytes(buffer.getvalue())
    return damage


def _json(change):
    """A damage that rewrites checkpoint.json through change(record), which edits it in place."""
    def damage(run_dir):
        record = json.loads((run_dir / "checkpoint.json").read_text())
        change(record)
        (run_dir / "checkpoint.json").write_text(json.dumps(record))
    return damage


def _bytes(name, content):
    def damage(run_dir):
        path = run_dir / name
        path.write_bytes(content(path.read_bytes()) if callable(content) else content)
    return damage


def _without(*names):
    return lambda arrays: {k: a for k, a in arrays.items() if k not in names}


def _no_moments(arrays):
    return {k: a for k, a in arrays.items() if k == "epoch"}


def _spoilt_row(record):
    record["history"][0]["val_acc"] = "high"


def _npy(run_dir):
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    (run_dir / "checkpoint.npz").write_bytes(buffer.getvalue())


NPZ, JSON = "runs/cut/checkpoint.npz", "runs/cut/checkpoint.json"
STATE = "runs/cut: checkpoint.json and checkpoint.npz make no optimizer state"
CASES = {
    # checkpoint.npz: the optimizer's arrays
    "npz-cut-short": (_bytes("checkpoint.npz", lambda b: b[:len(b) // 2]), NPZ, "File is not a zip file"),
    "npz-cut-to-a-few-bytes": (_bytes("checkpoint.npz", lambda b: b[:30]), NPZ, "damaged"),
    "npz-garbage": (_bytes("checkpoint.npz", bytes(range(256)) * 8), NPZ, "damaged"),
    "npz-empty": (_bytes("checkpoint.npz", b""), NPZ, "damaged"),
    "npz-missing": (lambda run_dir: (run_dir / "checkpoint.npz").unlink(), NPZ, "it is missing"),
    "npz-an-npy": (_npy, NPZ, "it is no .npz archive"),
    "npz-no-epoch": (_npz(_without("epoch")), NPZ, "it has no epoch"),
    "npz-text-epoch": (_npz(lambda a: {**a, "epoch": np.array("2")}), NPZ, "it has no epoch"),
    "npz-text-moments": (_npz(lambda a: {**a, "m.0": np.array(["x"] * 3)}), NPZ, "m.0 holds <U1, not floats"),
    "npz-moments-of-one-parameter-lost": (_npz(_without("m.1")), NPZ, "it holds m for some parameters only"),
    "npz-all-moments-lost": (_npz(_no_moments), STATE, "has no moments m and v)"),
    "npz-moment-of-another-shape": (_npz(lambda a: {**a, "m.0": np.zeros(7, np.float32)}),
                                    "runs/cut: the checkpoint does not fit the run", "m.0 (7,) fits no parameter"),
    # checkpoint.json: the epoch, config, optimizer numbers, generator and history
    "json-cut-short": (_bytes("checkpoint.json", lambda b: b[:len(b) // 2]), JSON, "damaged"),
    "json-garbage": (_bytes("checkpoint.json", bytes(range(128, 256))), JSON, "damaged"),
    "json-empty": (_bytes("checkpoint.json", b""), JSON, "Expecting value"),
    "json-a-list": (_bytes("checkpoint.json", b"[1, 2]"), JSON, "it holds a list, not an object"),
    "json-no-optimizer": (_json(lambda r: r.pop("optimizer")), JSON, "it has no optimizer"),
    "json-no-history": (_json(lambda r: r.pop("history")), JSON, "it has no history"),
    "json-epoch-as-text": (_json(lambda r: r.update(epoch="2")), JSON, "epoch '2'"),
    "json-history-row-as-text": (_json(_spoilt_row), JSON, "history row 1 is not the row of epoch 1"),
    "json-history-not-a-list": (_json(lambda r: r.update(history={"1": 2})), JSON, "its history does not end"),
    "json-optimizer-step-as-text": (_json(lambda r: r["optimizer"].update(t="3")), JSON,
                                    "its optimizer is not a class name and numbers"),
    "json-optimizer-step-negative": (_json(lambda r: r["optimizer"].update(t=-3)), STATE,
                                     "t is -3, not a whole number >= 0"),
    "json-optimizer-unknown-number": (_json(lambda r: r["optimizer"].update(momentum=0.9)), STATE,
                                      "unknown entries ['momentum']"),
    "json-optimizer-number-lost": (_json(lambda r: r["optimizer"].pop("beta2")), STATE,
                                   "lacks ['beta2']"),
    "json-generator-garbage": (_json(lambda r: r.update(rng={"bit_generator": "PCG64", "state": 7})), JSON,
                               "its generator state is not one"),
    "json-config-epochs-fractional": (_json(lambda r: r["config"].update(epochs=4.5)), JSON,
                                      "epochs must be a whole number, got 4.5"),
    "json-config-not-an-object": (_json(lambda r: r.update(config="quick")), JSON, "a config must be an object"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_damaged_checkpoint_is_refused_in_one_line(name, interrupted, tmp_path, monkeypatch):
    damage, where, why = CASES[name]
    monkeypatch.chdir(tmp_path)
    shutil.copytree(interrupted / "d", tmp_path / "d")
    run_dir = shutil.copytree(interrupted / "runs" / "cut", tmp_path / "runs" / "cut")
    damage(run_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    line = error_line(run("train", "--resume", "runs/cut", "-p", "d", "-q"))
    assert line.startswith(f"Error: {where}") and why in line and line.endswith(f"; {FIX}"), line
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_the_undamaged_copy_resumes(interrupted, tmp_path, monkeypatch):
    """The cases' starting point is sound: it is the damage each makes that is refused."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(interrupted / "d", tmp_path / "d")
    shutil.copytree(interrupted / "runs" / "cut", tmp_path / "runs" / "cut")
    result = run("train", "--resume", "runs/cut", "-p", "d", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "cut" / "metrics.json").is_file()
