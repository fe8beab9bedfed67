"""--full (issue 18): after the K fold members, K more train on every row for the epochs the folds kept;
they predict, the estimate stays the folds' out of fold, and an interrupted ensemble resumes where it
stopped. Tiny shapes: the quick preset for a few epochs on a 60-row competition."""
import json
import shlex

import numpy as np
import pytest

from cli_helpers import error_line, run
from kagglekit import ensemble, evaluation, pipeline, rundir
from kagglekit.cli.pipeline import train
from kagglekit.config import TrainConfig, preset
from kagglekit.data import load_test, load_train
from kagglekit.errors import ConfigError, Interrupted, ModelError
from kagglekit.recipe import average_proba, holdout
from kagglekit.report import reproduce_command
from test_ensemble import assert_same_members, weights

# Select rows (and patience) make the fold members keep epochs of their own, whose median the full ones train.
OOF = preset("quick").override(epochs=4, folds=3, select_size=8, patience=1, lr=0.05)
FULL = OOF.override(full=True)


@pytest.fixture
def trained(tiny_competition, tmp_path):
    """(the --full ensemble's folder, its metrics, the plain --folds ensemble's folder)."""
    runs = tmp_path / "runs"
    folder, metrics = ensemble.train_ensemble(tiny_competition, FULL, "full", runs=runs)
    plain, _ = ensemble.train_ensemble(tiny_competition, OOF, "plain", runs=runs)
    return folder, metrics, plain


def kept_epochs(folder):
    return [json.loads((m / "metrics.json").read_text())["best_epoch"] for m in rundir.members(folder)]


def test_the_epochs_are_the_median_the_folds_kept_halves_up():
    assert [OOF.full_epochs(kept) for kept in ([2, 3, 5], [2, 3, 4, 5], [1, 2], [4, 1, 4])] == [3, 4, 2, 4]
    assert preset("quick").override(folds=3).full_epochs([1, 1, 1]) == 5  # no select rows: each kept its last
    warm = OOF.override(schedule="cosine", warmup=2.5)
    assert warm.full_epochs([1, 1, 2]) == 3  # past the warm-up, which must end before training does


def test_full_members_train_on_every_row_for_the_epochs_the_folds_chose(trained, tiny_competition):
    folder, metrics, _ = trained
    _, y = load_train(tiny_competition / "train.csv")
    epochs = OOF.full_epochs(kept_epochs(folder))
    assert [metrics["full"][k] for k in ("members", "epochs", "n_train")] == [3, epochs, len(y)]
    assert [p.relative_to(folder).as_posix() for p in rundir.full_members(folder)] == ["full/0", "full/1", "full/2"]
    for i, member in enumerate(rundir.full_members(folder)):
        recorded = json.loads((member / "metrics.json").read_text())
        assert (recorded["n_train"], recorded["epochs_run"], recorded["trained_on"]) == (len(y), epochs, "every row")
        assert recorded["estimate"] is None and recorded["validation"] is None
        config = TrainConfig.from_dict(json.loads((member / "config.json").read_text()))
        assert config == FULL.full_member(i, epochs)
        assert (config.seed, config.select_size, config.patience, config.full) == (i, 0, 0, True)
        (train_idx, val_idx), _ = holdout(y, config)
        assert np.array_equal(train_idx, np.arange(len(y))) and len(val_idx) == 0


def test_predict_uses_the_full_members_and_the_estimate_stays_the_folds(trained, tiny_competition):
    folder, metrics, plain = trained
    assert_same_members(folder, plain, 3)  # the fold members are a plain --folds ensemble's, bit for bit
    assert metrics["estimate"] == json.loads((plain / "metrics.json").read_text())["estimate"]
    assert metrics["estimate"]["method"] == "out-of-fold"
    full = [m / "model.npz" for m in rundir.full_members(folder)]
    assert rundir.model_files(folder, predicting=True) == full
    assert rundir.model_files(folder) == [m / "model.npz" for m in rundir.members(folder)]
    written = ensemble.predict([folder], tiny_competition)
    nets, _ = evaluation.load_runs(full)
    expected = average_proba(nets, load_test(tiny_competition / "test.csv")).argmax(axis=1)
    assert np.array_equal(np.loadtxt(written, delimiter=",", skiprows=1, dtype=int)[:, 1], expected)
    with pytest.raises(ModelError, match="full/0 was retrained on every row of train.csv"):
        evaluation.evaluate(full, tiny_competition)


def test_the_cli_says_what_predicts_and_why_evaluate_reports_the_folds(tiny_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    words = ["--preset", "quick", "--epochs", "2", "--folds", "3", "--full", "-p", tiny_competition, "--name", "e"]
    result = run("run", *words, "-j", "1")
    assert result.exit_code == 0, result.output
    assert ("The submission comes from 3 networks retrained on all 60 rows for 2 epochs (--full)"
            in result.stdout)
    assert "full member 3/3: trained on all 60 rows for 2 epochs" in result.stderr
    evaluated = run("evaluate", "runs/e", "-q")
    assert evaluated.exit_code == 0, evaluated.output
    assert evaluated.stderr == ("Note: runs/e predicts with 3 networks retrained on every row (--full); they saw "
                                "every row, so none can score them: this is the out-of-fold estimate of its 3 fold "
                                "members\n")
    assert "Ensemble out-of-fold accuracy: " in evaluated.stdout
    predicted = run("predict", "runs/e", "-q")
    assert "the average of 3 models" in predicted.output
    table = run("runs")
    assert "3 + 3 full (2 epochs)" in table.stdout
    assert json.loads(run("runs", "--json").stdout)[0]["full"] == {"members": 3, "epochs": 2, "n_train": 60}
    assert "- submission: from 3 networks retrained on all 60 rows for 2 epochs" in (
        tmp_path / "runs" / "e" / "report.md").read_text()
    command = reproduce_command(tmp_path / "runs" / "e")
    assert "--folds 3 --full" in command
    params = train.make_context("train", shlex.split(command)[2:]).params
    assert preset("quick").override(**{k: params[k] for k in TrainConfig.__dataclass_fields__}).full is True
    # A full member named alone: one line each, saying why and what to use instead.
    assert error_line(run("evaluate", "runs/e/full/0", "-q")) == (
        "Error: runs/e/full/0 was retrained on every row of train.csv (--full): no row is left to score it on; "
        "evaluate its ensemble, whose estimate is its fold members' out of fold")
    assert error_line(run("report", "runs/e/full/0", "-q")) == (
        "Error: runs/e/full/0 was retrained on every row (--full): it has no held-out rows to report on; its "
        "ensemble's report covers it: `kagglekit report runs/e`")
    (tmp_path / "runs" / "e" / "full" / "1" / "model.npz").unlink()
    assert error_line(run("predict", "runs/e", "-q")) == (
        "Error: member runs/e/full/1 of the ensemble runs/e is missing (no model.npz); "
        "`kagglekit train --resume runs/e` trains it again")
    assert run("evaluate", "runs/e", "-q").exit_code == 0  # the folds' estimate needs no full member
    path = tmp_path / "runs" / "e" / "ensemble.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "full": 5}))
    assert error_line(run("predict", "runs/e", "-q")) == (
        "Error: runs/e/ensemble.json is damaged (its full members are not a list of folders); train the ensemble "
        "again")


def test_an_ensemble_interrupted_between_the_phases_resumes_with_the_full_members(
        tiny_competition, tmp_path, monkeypatch):
    real = ensemble.train_member

    def full_ones_fail(data, config, folder, workers=1):
        if config.full and config.seed > 0:
            raise MemoryError("out of memory")
        return real(data, config, folder, workers)
    monkeypatch.setattr(ensemble, "train_member", full_ones_fail)
    with pytest.raises(ModelError) as failed:
        ensemble.train_ensemble(tiny_competition, FULL, "e", runs=tmp_path / "runs")
    run_dir = tmp_path / "runs" / "e"
    assert str(failed.value) == (
        f"full member 1 (seed 1) failed: MemoryError: out of memory; full member 2 (seed 2) failed: MemoryError: "
        f"out of memory. The 1 full member(s) that finished are kept in {run_dir}; `kagglekit train --resume "
        f"{run_dir}` trains the missing ones")
    assert rundir.kind(run_dir) == rundir.UNFINISHED_ENSEMBLE
    assert ensemble.missing_members(run_dir) == [] and ensemble.missing_members(run_dir, full=True) == [1, 2]
    kept = {m: (m / "model.npz").stat().st_mtime_ns for m in [*rundir.members(run_dir), rundir.full_members(run_dir)[0]]}

    monkeypatch.setattr(ensemble, "train_member", real)
    monkeypatch.chdir(tmp_path)
    result = run("train", "--resume", "runs/e", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "Resuming runs/e: 0 of 3 members to train, then 2 of 3 retrained on every row" in result.stderr
    assert kept == {m: (m / "model.npz").stat().st_mtime_ns for m in kept}
    whole, metrics = ensemble.train_ensemble(tiny_competition, FULL, "whole", runs=tmp_path / "runs")
    assert_same_members(run_dir, whole, 3)
    for i in range(3):  # the full members too, bit for bit
        a, b = weights(run_dir / "full" / str(i)), weights(whole / "full" / str(i))
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    resumed = json.loads((run_dir / "metrics.json").read_text())["full"]
    assert [resumed[k] for k in ("members", "epochs", "n_train")] == [metrics["full"][k] for k in
                                                                      ("members", "epochs", "n_train")]


def test_a_full_member_interrupted_alone_is_resumed_by_its_ensemble(tiny_competition, tmp_path):
    steps = []

    def second_epoch_interrupted(i, n, loss, acc, lr):
        steps.append(i)
        if len(steps) > n:  # Ctrl-C in its second epoch: the first is checkpointed
            raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        pipeline.train_run(tiny_competition, FULL.full_member(0, 3), "0", runs=tmp_path / "e" / "full",
                           on_batch=second_epoch_interrupted)
    with pytest.raises(ModelError) as refused:
        ensemble.resume(tmp_path / "e" / "full" / "0", tiny_competition)
    assert str(refused.value) == (f"{tmp_path}/e/full/0 is a member of an ensemble retrained on every row (--full); "
                                  f"resume the ensemble: `kagglekit train --resume {tmp_path}/e`")


def test_full_without_folds_is_refused_naming_the_fix(tiny_competition, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="full needs --folds K, e.g. --folds 4 --full"):
        TrainConfig(full=True).check()
    with pytest.raises(ConfigError, match="full must be true or false, got 1"):
        TrainConfig.from_dict({**FULL.to_dict(), "full": 1})  # a config.json that lies
    with pytest.raises(ConfigError, match="folds must be a whole number, got True"):
        TrainConfig.from_dict({**FULL.to_dict(), "folds": True})
    monkeypatch.chdir(tmp_path)
    args = ["--preset", "quick", "--epochs", "1", "-p", tiny_competition, "-q"]
    assert error_line(run("train", *args, "--full")) == (
        "Error: full needs --folds K, e.g. --folds 4 --full: the K fold members give the estimate and the epochs for "
        "the K networks retrained on every row, got True")
    assert error_line(run("train", *args, "--folds", "3", "--fold", "1", "--full")) == (
        "Error: --full with --fold 1 would train one network on every row, with no rows left to estimate it on; "
        "leave --fold out to train the whole ensemble")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("member, damage", [("full/0", {"warning": None}), ("full/1", {"epochs": "3"}),
                                            ("members/0", {"validation": {"n": 3}}), ("members/2", {"n_train": []})])
def test_a_damaged_member_metrics_file_is_named_not_a_traceback(trained, tiny_competition, member, damage):
    folder = trained[0]
    path = folder / member / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **damage}))
    with pytest.raises(ModelError) as e:
        ensemble.ensemble_metrics(folder, tiny_competition, 1.0)
    assert str(e.value) == (f"{path} is damaged (it does not hold a member's metrics); delete {folder / member} "
                            f"and train it again: `kagglekit train --resume {folder}`")
