"""Faults of the run folder (issue 19): names that would write outside runs/, files kagglekit wrote into a
run folder coming back damaged, and an ensemble whose start fails. Each: one `Error:` line (or a named
skip for the runs table), no traceback, nothing written elsewhere, earlier files intact."""
import json

import pytest
from click.testing import CliRunner

from cli_helpers import error_line
from kagglekit.cli import main

QUICK = ["--preset", "quick", "--epochs", "1", "--val-size", "20", "-q"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


def files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", "/tmp/abs", ".", " "])
def test_a_name_that_leaves_runs_is_refused_and_writes_nothing(cli, tmp_path, tiny_competition, name):
    before = {p for p in tmp_path.parent.rglob("*") if "escaped" in p.name}
    assert error_line(cli("train", *QUICK, "-p", tiny_competition, "--name", name)) == (
        f"Error: --name {name!r} is not a folder name (it must name one folder inside runs/, without / or ..); "
        f"pick a plain name such as lenet-2")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert {p for p in tmp_path.parent.rglob("*") if "escaped" in p.name} == before


@pytest.mark.parametrize("file, text", [
    ("metrics.json", "{"), ("metrics.json", "[1, 2]"), ("metrics.json", '{"validation": "high"}'),
    ("metrics.json", '{"validation": {"accuracy": "0.9", "n": 20}}'), ("config.json", '{"epochs": "ten"}'),
    ("config.json", "7"), ("record.json", '{"submissions": 5}'),
])
def test_damaged_run_files_are_named_or_skipped_never_a_traceback(cli, tmp_path, tiny_competition, file, text):
    assert cli("train", *QUICK, "-p", tiny_competition, "--name", "good").exit_code == 0
    assert cli("train", *QUICK, "-p", tiny_competition, "--name", "bad").exit_code == 0
    (tmp_path / "runs" / "bad" / file).write_text(text)
    good = files(tmp_path / "runs" / "good")
    table = cli("runs")
    assert table.exit_code == 0 and "Traceback" not in table.output
    if file == "record.json":  # a damaged record only loses its submissions
        assert [line.split()[1] for line in table.stdout.splitlines()[2:]] == ["bad", "good"] or \
               sorted(line.split()[1] for line in table.stdout.splitlines()[2:]) == ["bad", "good"]
        return
    assert table.stderr == ("Skipped runs/bad: its config.json or metrics.json is damaged; train it again or "
                            "remove the folder\n")
    assert [line.split()[1] for line in table.stdout.splitlines()[2:]] == ["good"]
    line = error_line(cli("report", "bad"))
    assert "runs/bad/" in line and ("damaged" in line or "config" in line)
    assert files(tmp_path / "runs" / "good") == good


@pytest.mark.parametrize("members", ['"members": 5', '"members": [{"folder": "../../elsewhere"}]',
                                     '"members": [7]'])
def test_a_damaged_ensemble_json_is_one_line(cli, tmp_path, tiny_competition, members):
    assert cli("train", *QUICK, "-p", tiny_competition, "--members", "2", "-j", "1", "--name", "e").exit_code == 0
    path = tmp_path / "runs" / "e" / "ensemble.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "members": None}).replace('"members": null', members))
    line = error_line(cli("predict", "runs/e", "-q"))
    assert line.startswith("Error: runs/e/ensemble.json ") and "train the ensemble again" in line


def test_an_ensemble_whose_cluster_cannot_be_reached_leaves_no_folder(cli, tmp_path, tiny_competition):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    result = cli("train", *QUICK, "-p", tiny_competition, "--members", "2", "--backend", "dask", "--scheduler",
                 "tcp://127.0.0.1:9", "--name", "e")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "runs" / "e").exists()
