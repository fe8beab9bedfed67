"""Honest estimates (issue 18): the rows that report an accuracy never chose the epoch it comes from;
select rows choose it when asked; an out-of-fold ensemble reports on every row of train.csv."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from kagglekit import evaluation, pipeline, rundir
from kagglekit.cli import main
from kagglekit.config import TrainConfig, preset
from kagglekit.data import load_train
from kagglekit.errors import ConfigError
from kagglekit.metrics import format_estimate, wilson
from kagglekit.recipe import holdout, train_model
from kagglekit.report import read_history


def test_the_reported_figure_is_the_kept_epoch_not_the_best_of_the_reported_rows(sample_competition, tmp_path):
    # On these rows the accuracy rises to epoch 4 and falls after it: the best of them would read high.
    config = preset("quick").override(lr=0.03, epochs=6, val_size=300, seed=2)
    run_dir, metrics = pipeline.train_run(sample_competition, config, "r", runs=tmp_path)
    watched = [row["val_acc"] for row in read_history(run_dir)]
    assert max(watched) > watched[-1]  # the case this test is about
    assert metrics["estimate"]["accuracy"] == watched[-1] < max(watched)
    assert (metrics["best_epoch"], metrics["estimate"]["n"], metrics["estimate"]["method"]) == (6, 300, "holdout")
    low, high = wilson(round(watched[-1] * 300), 300)
    assert (metrics["estimate"]["low"], metrics["estimate"]["high"]) == (low, high)


def test_select_rows_choose_the_epoch_apart_from_the_rows_that_report(sample_competition):
    x, y = load_train(sample_competition / "train.csv")
    config = preset("quick").override(lr=0.03, epochs=6, val_size=300, seed=2, select_size=400, patience=3)
    net, history, (train_idx, val_idx) = train_model(x, y, config)
    (whole_train, same_val), _ = holdout(y, config)
    assert np.array_equal(val_idx, same_val) and len(train_idx) == len(whole_train) - 400
    assert not set(train_idx) & set(val_idx) and set(train_idx) < set(whole_train)
    select = np.setdiff1d(whole_train, train_idx)  # the 400 that choose: neither trained on nor reporting
    accs = history.column("val_acc")
    assert history.best_epoch == 1 + int(np.argmax(accs)) < len(accs)  # chosen on them, not the last epoch
    assert accs[history.best_epoch - 1] == float(np.mean(net.predict(x[select]) == y[select]))
    with pytest.raises(ConfigError, match="patience needs rows to judge the epochs on"):
        preset("quick").override(patience=2)


def test_an_out_of_fold_ensemble_reports_on_every_row(sample_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()
    result = cli.invoke(main, ["train", "--preset", "quick", "--epochs", "2", "--folds", "3", "-p",
                               str(sample_competition), "--name", "oof", "-q"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs" / "oof"
    metrics = json.loads((folder / "metrics.json").read_text())
    x, y = load_train(sample_competition / "train.csv")
    est = metrics["estimate"]
    assert (est["method"], est["n"], metrics["members"]) == ("out-of-fold", len(y), 3)
    assert f"ensemble out-of-fold accuracy {format_estimate(est)}" in result.output
    # Each row predicted by the one member that held it out: the folds partition train.csv.
    predicted, seen = np.full(len(y), -1), np.zeros(len(y), int)
    for member in rundir.members(folder):
        net, config = evaluation.load_model(member / "model.npz")
        (_, idx), _ = holdout(y, config)
        predicted[idx] = net.predict(x[idx])
        seen[idx] += 1
        assert json.loads((member / "metrics.json").read_text())["estimate"]["method"].startswith("fold ")
    assert (seen == 1).all()
    assert est["accuracy"] == float(np.mean(predicted == y))
    evaluated = cli.invoke(main, ["evaluate", "runs/oof"])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"Ensemble out-of-fold accuracy: {format_estimate(est)}" in evaluated.output
    table = json.loads(cli.invoke(main, ["runs", "--json"]).output)
    assert table[0]["estimate"] == est


def test_folds_set_the_members_and_a_fold_goes_with_folds():
    assert TrainConfig(folds=4).members == 4
    assert [m.fold for m in (TrainConfig(folds=3).member(i) for i in range(3))] == [0, 1, 2]
    with pytest.raises(ConfigError, match="fold goes with --folds K"):
        TrainConfig(fold=1).check()
    with pytest.raises(ConfigError, match="members must equal --folds"):
        TrainConfig(folds=3, members=2).check()
