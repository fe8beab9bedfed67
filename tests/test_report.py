"""A run's report.md and plots: the measured numbers, a command that reproduces the config, real PNGs of
the expected sizes, and one line saying how to get the plots when matplotlib is missing."""
import dataclasses
import json
import shlex
import struct

import pytest
from click.testing import CliRunner

from kagglekit import plots, report, runs
from kagglekit.cli import main
from kagglekit.cli.pipeline import train
from kagglekit.config import TrainConfig, preset
from kagglekit.metrics import format_estimate

SIZES = {"loss.png": (640, 400), "accuracy.png": (640, 400), "lr.png": (640, 400),
         "confusion.png": (560, 500), "wrong.png": (800, 260)}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def trained(cli, sample_competition, tmp_path, with_plots):
    """A run of the quick preset for 2 epochs on the bundled sample: runs/q."""
    result = cli("train", "--preset", "quick", "--epochs", "2", "--lr", "0.003", "-p", sample_competition,
                 "--name", "q")
    assert result.exit_code == 0, result.output
    return tmp_path / "runs" / "q"


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_plots_are_pngs_of_the_expected_sizes(trained):
    assert {p.name: png_size(p) for p in (trained / "plots").iterdir()} == SIZES


def test_report_holds_the_measured_numbers(trained, sample_competition):
    metrics = json.loads((trained / "metrics.json").read_text())
    text = (trained / "report.md").read_text()
    assert f"| estimate: holdout (500 rows) | {format_estimate(metrics['estimate'])} |" in text
    assert f"- time: {metrics['train_seconds']:.1f} s" in text
    assert "- rows: 4500 trained on, 500 held out for validation" in text
    assert "| accuracy | " + " | ".join(f"{a:.4f}" for a in metrics["validation"]["per_class"]) + " |" in text
    assert "| lr | 0.003 |" in text
    assert "None yet: `kagglekit submit --run" in text
    assert "![loss](plots/loss.png)" in text and "![most confidently wrong](plots/wrong.png)" in text


def parsed_config(command):
    """The TrainConfig that `kagglekit train` makes of a command line, parsed by its own options."""
    words = shlex.split(command)
    assert words[:2] == ["kagglekit", "train"]
    params = train.make_context("train", words[2:]).params
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    return preset(params["preset_name"]).override(**{n: params[n] for n in names}), params


def test_reproduce_command_gives_the_same_config(trained, sample_competition):
    command = report.reproduce_command(trained)
    assert command == (f"kagglekit train --preset quick --lr 0.003 --epochs 2 -p {sample_competition.resolve()} "
                       f"--name q")
    config, params = parsed_config(command)
    assert config == TrainConfig.from_dict(json.loads((trained / "config.json").read_text()))
    assert params["name"] == "q" and params["path"] == sample_competition.resolve()


def test_reproduce_command_from_a_conv_preset_to_an_mlp_says_hidden(tmp_path):
    config = preset("lenet").override(hidden=(32,), epochs=3)
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    command = report.reproduce_command(tmp_path)
    assert "--hidden 32" in command and "--arch" not in command
    assert parsed_config(command)[0] == config


def test_kfold_goes_into_the_report_and_the_runs_table(cli, trained):
    result = cli("evaluate", "runs/q", "--folds", "2", "-q")
    assert result.exit_code == 0, result.output
    kfold = runs.read_record(trained)["kfold"]
    assert len(kfold["folds"]) == 2
    assert (f"| 2-fold cross-validation | {format_estimate(kfold['estimate'])}; per fold {kfold['mean']:.4f} ± "
            f"{kfold['std']:.4f} |") in (
        trained / "report.md").read_text()
    assert json.loads(cli("runs", "--json").output)[0]["kfold"] == kfold["mean"]


def test_without_matplotlib_one_line_says_how_to_get_the_plots(cli, sample_competition, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    result = cli("train", "--preset", "quick", "--epochs", "1", "-p", sample_competition, "--name", "np")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == (
        "Report: runs/np/report.md. No plots: pip install 'kagglekit[plot]' for the loss, accuracy, learning-rate, "
        "confusion and wrong-digit PNGs (then `kagglekit report runs/np`).")
    assert "None yet: pip install 'kagglekit[plot]', then `kagglekit report runs/np`." in (
        report.write_report("runs/np").read_text())


def test_report_command_makes_plots_on_demand(cli, trained):
    for png in (trained / "plots").iterdir():
        png.unlink()
    result = cli("report", "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "runs/q/report.md\n"
    assert result.stderr == "Report: runs/q/report.md (5 plots in runs/q/plots)\n"
    assert sorted(p.name for p in (trained / "plots").iterdir()) == sorted(SIZES)


def test_an_ensemble_gets_a_report_linking_its_members(cli, sample_competition, tmp_path, with_plots):
    """An ensemble is a run: report.md with its holdout accuracy, its members linked to reports that
    exist, the ensemble's confusion matrix and the members' curves side by side."""
    result = cli("train", "--preset", "quick", "--epochs", "2", "--members", "2", "-p", sample_competition,
                 "--name", "ens")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs" / "ens"
    text = (folder / "report.md").read_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert text.startswith("# Ensemble ens (2 members)\n")
    assert f"| estimate: holdout ({metrics['validation']['n']} rows) | {format_estimate(metrics['estimate'])} |" in text
    for i, acc in enumerate(metrics["member_accuracy"]):
        assert f"| {i} | [members/{i}](members/{i}/report.md) | {acc:.4f} |" in text
        assert (folder / "members" / str(i) / "report.md").is_file()
    assert "--members 2" in text
    assert png_size(folder / "plots" / "members.png") == (1280, 400)
    assert png_size(folder / "plots" / "confusion.png") == SIZES["confusion.png"]
    assert (folder / "plots" / "wrong.png").is_file() and not (folder / "plots" / "loss.png").exists()
