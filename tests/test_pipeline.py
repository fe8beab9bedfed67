"""pipeline.train_run: a run folder is either complete or gone, whatever stops the training."""
import json

import pytest

from kagglekit import pipeline
from kagglekit.config import preset
from kagglekit.errors import TrainingError

QUICK = preset("quick").override(epochs=1, val_size=20)


def test_train_run_writes_a_complete_run_folder(tiny_competition, tmp_path):
    run_dir, metrics = pipeline.train_run(tiny_competition, QUICK, "r", runs=tmp_path / "runs")
    assert run_dir == tmp_path / "runs" / "r"
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "history.csv", "metrics.json", "model.npz"]
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics


@pytest.mark.parametrize("error, said", [(KeyboardInterrupt("Ctrl-C"), r"nothing was kept \(the run folder .*/runs/r was removed\)"),
                                         (TrainingError("diverged"), "diverged")])
def test_train_run_removes_its_folder_on_any_failure(tiny_competition, tmp_path, monkeypatch, error, said):
    def stopped(*args):
        raise error
    monkeypatch.setattr(pipeline, "train_model", stopped)
    with pytest.raises(type(error), match=said):  # Ctrl-C comes back as Interrupted, saying what was kept
        pipeline.train_run(tiny_competition, QUICK, "r", runs=tmp_path / "runs")
    assert list((tmp_path / "runs").iterdir()) == []
