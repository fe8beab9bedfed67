"""Ensembles: members share the holdout, the ensemble predicts the mean of their probabilities, -j 2 and
the Dask and Ray backends train the very models -j 1 does, an interrupted ensemble trains only the missing
members, and bad input gets one line."""
import importlib.util
import json
import sys

import numpy as np
import pytest

from cli_helpers import error_line, run
from competition import tiny_competition  # noqa: F401 (a fixture)
from kagglekit import ensemble, evaluation, rundir
from kagglekit.config import preset
from kagglekit.data import load_test, load_train
from kagglekit.errors import ConfigError, ModelError
from kagglekit.recipe import average_proba, holdout

TINY = preset("quick").override(epochs=1, val_size=20, members=2)


def weights(folder):
    with np.load(folder / rundir.MODEL) as saved:
        return {k: saved[k] for k in saved.files if k != "__header__"}


def assert_same_members(a, b, members):
    for i in range(members):
        wa, wb = weights(a / "members" / str(i)), weights(b / "members" / str(i))
        assert wa.keys() == wb.keys()
        for k in wa:
            assert np.array_equal(wa[k], wb[k]), (i, k)  # bit for bit


def test_members_differ_by_seed_but_share_the_holdout(tiny_competition):
    config = TINY.override(members=3, arch="dense16;dense8")
    members = [config.member(i) for i in range(3)]
    assert [m.seed for m in members] == [0, 1, 2] and [m.members for m in members] == [1, 1, 1]
    assert [m.architecture for m in members] == ["dense16", "dense8", "dense16"]
    assert members[0] == config.override(members=1, arch="dense16")  # member 0: the plain run of the seed
    _, y = load_train(tiny_competition / "train.csv")
    splits = [holdout(y, m)[0][1] for m in members]
    assert all(np.array_equal(splits[0], s) for s in splits[1:])


def test_the_ensemble_predicts_the_mean_of_its_members_probabilities(tiny_competition, tmp_path):
    run_dir, metrics = ensemble.train_ensemble(tiny_competition, TINY, "e", runs=tmp_path / "runs")
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "ensemble.json", "members", "metrics.json"]
    assert metrics["members"] == 2 and len(metrics["member_accuracy"]) == 2
    x = load_test(tiny_competition / "test.csv")
    nets = [evaluation.load_model(run_dir / "members" / str(i) / "model.npz")[0] for i in range(2)]
    one_by_one = (nets[0].predict_proba(x) + nets[1].predict_proba(x)) / 2
    loaded, _ = evaluation.load_runs(rundir.model_files(run_dir))
    assert np.allclose(average_proba(loaded, x), one_by_one, rtol=0, atol=1e-7)
    written = ensemble.predict([run_dir], tiny_competition)
    labels = np.loadtxt(written, delimiter=",", skiprows=1, dtype=int)[:, 1]
    assert np.array_equal(labels, average_proba(loaded, x).argmax(axis=1))
    # Runs named one by one are the same ensemble as their folder.
    members = [run_dir / "members" / "0", run_dir / "members" / "1"]
    report = evaluation.evaluate(rundir.resolve(members)[0], tiny_competition)
    assert report["accuracy"] == metrics["validation"]["accuracy"] == evaluation.evaluate(rundir.model_files(run_dir), tiny_competition)[
        "accuracy"]


def test_two_jobs_train_the_same_models_as_one(tiny_competition, tmp_path):
    # threads 1: each member's steps in one part whatever -j (the parts change results by round-off)
    one, _ = ensemble.train_ensemble(tiny_competition, TINY, "one", runs=tmp_path / "runs", jobs=1, threads=1)
    two, _ = ensemble.train_ensemble(tiny_competition, TINY, "two", runs=tmp_path / "runs", jobs=2, threads=1)
    assert_same_members(one, two, 2)


class Started(Exception):
    pass


@pytest.mark.parametrize("jobs, threads, workers", [(-1, None, 1), (1, None, 2), (2, 4, 2), (1, 1, 1)])
def test_members_trained_at_once_share_the_cores(tiny_competition, tmp_path, monkeypatch, jobs, threads, workers):
    monkeypatch.setattr("kagglekit.parallel.cores", lambda: 2)
    given = []

    def started(fn, tasks, *args, **kwargs):
        given.extend(task[-1] for task in tasks)
        raise Started
    monkeypatch.setattr(ensemble, "run_tasks", started)
    with pytest.raises(Started):
        ensemble.train_ensemble(tiny_competition, TINY, "e", runs=tmp_path / "runs", jobs=jobs, threads=threads)
    assert given == [workers, workers]  # e.g. a 2-member ensemble on 2 cores, both at once: 1 worker each


def test_folds_in_parallel_score_as_in_turn(tiny_competition):
    config = TINY.override(members=1)
    # threads 1 and 2: one worker a fold either way, so that the steps are cut alike
    assert (evaluation.cross_validate(tiny_competition, config, 3, jobs=1, threads=1)
            == evaluation.cross_validate(tiny_competition, config, 3, jobs=2, threads=2))


def test_an_interrupted_ensemble_trains_only_the_missing_members(tiny_competition, tmp_path, monkeypatch):
    real = ensemble.train_member

    def second_fails(data, config, folder, workers):
        if config.seed == 1:
            raise MemoryError("out of memory")
        return real(data, config, folder, workers)
    monkeypatch.setattr(ensemble, "train_member", second_fails)
    config = TINY.override(members=3)
    with pytest.raises(ModelError) as failed:
        ensemble.train_ensemble(tiny_competition, config, "e", runs=tmp_path / "runs")
    run_dir = tmp_path / "runs" / "e"
    assert str(failed.value) == (f"member 1 (seed 1) failed: MemoryError: out of memory. The 2 member(s) that "
                                 f"finished are kept in {run_dir}; `kagglekit train --resume {run_dir}` trains "
                                 f"the missing ones")
    assert ensemble.missing_members(run_dir) == [1] and not (run_dir / "metrics.json").exists()
    kept = {i: (run_dir / "members" / str(i) / "model.npz").stat().st_mtime_ns for i in (0, 2)}

    monkeypatch.setattr(ensemble, "train_member", real)
    trained = []
    metrics = ensemble.finish(run_dir, tiny_competition, on_member=lambda i, m: trained.append(i))
    assert trained == [1] and metrics["members"] == 3
    assert kept == {i: (run_dir / "members" / str(i) / "model.npz").stat().st_mtime_ns for i in (0, 2)}
    whole, _ = ensemble.train_ensemble(tiny_competition, config, "whole", runs=tmp_path / "runs")
    assert_same_members(run_dir, whole, 3)


def test_cli_ensemble_resume_predict_and_evaluate(tiny_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--preset", "quick", "--epochs", "1", "--val-size", "20", "-p", tiny_competition, "-q"]
    result = run("train", *args, "--members", "2", "-j", "2", "--name", "e")
    assert result.exit_code == 0, result.output
    assert "Trained 2 members in " in result.output and "saved in runs/e" in result.output
    pipeline_member = tmp_path / "runs" / "e" / "members" / "1"
    for f in pipeline_member.iterdir():
        f.unlink()
    pipeline_member.rmdir()
    assert error_line(run("predict", "runs/e", "-q")) == (  # a finished ensemble that lost a member
        "Error: member runs/e/members/1 of the ensemble runs/e is missing (no model.npz); "
        "`kagglekit train --resume runs/e` trains it again")
    (tmp_path / "runs" / "e" / "metrics.json").unlink()
    assert error_line(run("predict", "runs/e", "-q")) == (
        "Error: the ensemble runs/e did not finish training; `kagglekit train --resume runs/e` trains the "
        "members it misses")
    result = run("train", "--resume", "runs/e")
    assert result.exit_code == 0, result.output
    assert "Resuming runs/e: 1 of 2 members to train" in result.output
    result = run("predict", "-q")  # the newest run is the ensemble
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Using the newest run: runs/e", "Submission written to "
                                          "runs/e/submission.csv (validated; the average of 2 models)"]
    result = run("evaluate", "runs/e/members/0", "runs/e/members/1", "-q")
    assert result.exit_code == 0, result.output
    assert "Ensemble validation accuracy: " in result.output
    assert run("evaluate", "runs/e", "--folds", "2", "-j", "2", "-q").output.startswith("2-fold out-of-fold accuracy: ")


def test_cli_errors_are_one_line(tiny_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--preset", "quick", "--epochs", "1", "--val-size", "20", "-p", tiny_competition, "-q"]
    assert error_line(run("train", *args, "--backend", "spark")) == (
        "Error: unknown backend 'spark'; choose one of loky, dask, ray")
    assert error_line(run("train", *args, "--members", "0")) == "Error: members must be >= 1, got 0"
    assert error_line(run("train", *args, "-j", "0")) == "Error: jobs must be >= 1, or -1 for every core, got 0"
    result = run("train", *args, "-t", "0")
    assert result.exit_code == 2 and result.output.splitlines()[-1] == (
        "Error: Invalid value for '-t' / '--threads': must be at least 1 (1: one core, no parallel parts), got 0")
    assert error_line(run("train", *args, "--arch", "dense8;dense4")) == (
        "Error: arch gives 2 architectures (separated by ';') for 1 member(s); give --members 2 or more, got 'dense8;dense4'")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    assert error_line(run("train", *args, "--members", "2", "--backend", "dask")) == (
        "Error: --backend dask needs the dask extra: pip install 'kagglekit[dask]'")
    assert run("train", *args, "--name", "a").exit_code == 0
    assert run("train", *args, "--name", "b", "--val-size", "30").exit_code == 0
    assert error_line(run("evaluate", "runs/a", "runs/b", "-q")) == (
        "Error: runs/a and runs/b hold out different rows: their ensemble has no common holdout to be evaluated "
        "on; train members with the same --holdout-seed, --val-size and data, or only predict with them")
    assert error_line(run("predict", "runs/a", "runs/b", "-q")) == (
        "Error: predicting with several runs needs -o FILE: which run folder would hold the submission?")
    assert run("predict", "runs/a", "runs/b", "-o", "ab.csv", "-q").exit_code == 0


def test_threads_reach_the_training_of_train_and_run(tiny_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    given = []

    def train(*args, **kwargs):
        given.append(kwargs["threads"])
        raise ConfigError("stopped here")
    monkeypatch.setattr(ensemble, "train", train)
    args = ["--preset", "quick", "-p", tiny_competition, "-q"]
    for command in ("train", "run"):
        for extra in ([], ["-t", "3"], ["--threads", "1"]):
            assert error_line(run(command, *args, *extra)) == "Error: stopped here"
    assert given == [None, 3, 1] * 2  # None: every core this process may use


def test_a_run_without_a_cluster_address_says_how_to_give_one(tiny_competition, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(ConfigError) as e:
        ensemble.train_ensemble(tiny_competition, TINY, "e", runs=tmp_path / "runs", backend="dask")
    assert str(e.value) == ("--backend dask needs the address of a running cluster: --scheduler ADDRESS or "
                            "DASK_SCHEDULER_ADDRESS")


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="the dask extra is not installed")
def test_dask_backend_trains_the_same_members_on_a_local_cluster(tiny_competition, tmp_path):
    from distributed import LocalCluster
    local, _ = ensemble.train_ensemble(tiny_competition, TINY, "local", runs=tmp_path / "runs", jobs=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote, metrics = ensemble.train_ensemble(tiny_competition, TINY, "dask", runs=tmp_path / "runs", jobs=2,
                                                  backend="dask", scheduler=cluster.scheduler_address)
    assert_same_members(local, remote, 2)
    assert json.loads((remote / "metrics.json").read_text())["validation"] == metrics["validation"]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_backend_trains_the_same_members_on_a_local_cluster(tiny_competition, tmp_path):
    import ray
    local, _ = ensemble.train_ensemble(tiny_competition, TINY, "local", runs=tmp_path / "runs", jobs=2)
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote, _ = ensemble.train_ensemble(tiny_competition, TINY, "ray", runs=tmp_path / "runs", jobs=2,
                                            backend="ray", scheduler=context.address_info["address"])
    finally:
        ray.shutdown()
    assert_same_members(local, remote, 2)


def test_threads_reach_the_folds_of_evaluate(tiny_competition, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("train", "--preset", "quick", "--epochs", "1", "--val-size", "20", "-p", tiny_competition,
               "--name", "a", "-q").exit_code == 0
    given = []

    def cross_validate(*args, **kwargs):
        given.append(kwargs["threads"])
        raise ConfigError("stopped here")
    monkeypatch.setattr(evaluation, "cross_validate", cross_validate)
    for extra in ([], ["-t", "3"]):
        assert error_line(run("evaluate", "runs/a", "--folds", "2", "-q", *extra)) == "Error: stopped here"
    assert given == [None, 3]
    assert run("evaluate", "runs/a", "--folds", "2", "-t", "0").exit_code == 2
